"""`evbt preearnings`: NVDA into and out of its reports, with what launched before."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evbt.api import pre_earnings
from evbt.backtest.preearnings import NEXT_COLUMNS, REPORT_COLUMNS, TEST_COLUMNS
from evbt.cli import main
from evbt.data.catalog import load_catalog

T = pd.Timestamp
ASOF = "2026-02-10"


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return load_catalog()


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _equal(a, b) -> None:
    for name in ("reports", "tests", "next"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


@pytest.mark.realdata
def test_as_of_2026_02_10_on_real_prices(real_prices: pd.DataFrame, catalog: pd.DataFrame) -> None:
    res = pre_earnings(real_prices, catalog, asof=ASOF, lookback=10)
    nxt = res.next.set_index("role")
    # the next report as known then, and the V4 window expected before it
    rep = nxt.loc["next_report"]
    assert (rep["event_id"], rep["date"], rep["time"], rep["reaction_session"]) == (
        "nvda-q4-fy2026",
        T("2026-02-25"),
        "after_close",
        T("2026-02-26"),
    )
    v4 = nxt.loc["expected_launch"]
    assert (v4["event_id"], v4["window_start"], v4["window_end"]) == (
        "deepseek-v4-expected",
        T("2026-02-09"),
        T("2026-02-20"),
    )
    assert "glm-5" not in set(res.next["event_id"])  # launched 02-11: not known on 02-10
    # past reports: every NVIDIA report whose [-10, +5] window closed by the as-of day
    r = res.reports.set_index("event_id")
    assert r.index[0] == "nvda-q1-fy2021" and r.index[-1] == "nvda-q3-fy2026"
    assert (r["reaction_session"] + pd.Timedelta(days=7) < T(ASOF)).all()
    assert r.loc["nvda-q2-fy2026", "launch_ids"] == "deepseek-v3.1"  # 2025-08-21, 5 sessions
    assert r["launch_before"].sum() == 1
    assert r.loc["nvda-q1-fy2026", "policy_ids"] == "policy-ai-diffusion-rescinded-2025"
    # abnormal returns come from the study, returns from the prices
    assert r[["runup_ar", "react0_ar", "react5_car"]].notna().all().all()
    close = real_prices[real_prices["ticker"] == "NVDA"].set_index("date")["close"]
    close.index = pd.to_datetime(close.index)
    q4 = close.loc["2024-02-21":"2024-02-22"]  # Q4 FY2024: day 0 is 02-22
    assert r.loc["nvda-q4-fy2024", "react0_ret"] == pytest.approx(q4.iloc[1] / q4.iloc[0] - 1)
    assert list(res.reports.columns) == REPORT_COLUMNS
    assert list(res.tests.columns) == TEST_COLUMNS and list(res.next.columns) == NEXT_COLUMNS
    # too few launch reports for a test: said, not faked
    launch = res.tests[res.tests["split"] == "launch"]
    assert launch["pvalue"].isna().all() and launch["test"].str.startswith("too_few").all()


@pytest.mark.realdata
def test_nothing_after_the_as_of_day_is_used(
    real_prices: pd.DataFrame, catalog: pd.DataFrame
) -> None:
    base = pre_earnings(real_prices, catalog, asof=ASOF)
    day = T(ASOF)
    dates = pd.to_datetime(real_prices["date"])
    # prices after the as-of day dropped, or replaced by noise
    _equal(base, pre_earnings(real_prices[dates <= day], catalog, asof=ASOF))
    noisy = real_prices.copy()
    later = (dates > day).to_numpy()
    rng = np.random.default_rng(0)
    for c in ("open", "high", "low", "close"):
        noisy.loc[later, c] = noisy.loc[later, c] * rng.uniform(0.5, 1.5, later.sum())
    _equal(base, pre_earnings(noisy, catalog, asof=ASOF))
    # catalog rows known after the as-of day dropped, or moved
    _equal(base, pre_earnings(real_prices, catalog[catalog["known_at"] <= day], asof=ASOF))
    moved = catalog.copy()
    late = moved["known_at"] > day
    assert late.sum() > 10
    moved.loc[late, "reaction_session"] = T("2026-02-03")  # into the run-up of past reports
    _equal(base, pre_earnings(real_prices, moved, asof=ASOF))


def test_synthetic_run_up_and_flags(catalog: pd.DataFrame) -> None:
    """On the bundled sample: returns compound over the stated windows; a flagged report
    has a launch reacting in the N sessions before its own reaction session."""
    from evbt.data.calendar import sessions
    from evbt.data.sample import load_sample

    px = load_sample()
    res = pre_earnings(px, catalog, asof="2025-12-31", lookback=15)
    close = px[px["ticker"] == "NVDA"].set_index("date")["close"]
    close.index = pd.to_datetime(close.index)
    cal = sessions(T("2019-01-01"), T("2026-03-01"))
    launches = catalog[
        (catalog["kind"] == "model_launch") & catalog["tags"].str.contains("efficiency")
    ]
    for _, r in res.reports.iterrows():
        pos = cal.get_loc(r["reaction_session"])
        lo, prev = cal[pos - 15], cal[pos - 1]
        want = close.loc[prev] / close.loc[cal[pos - 16]] - 1
        assert r["runup_ret"] == pytest.approx(want)
        react = launches["reaction_session"]
        ids = set(
            launches.loc[
                (react >= lo) & (react <= prev) & launches["tags"].str.contains("china"), "id"
            ]
        )
        assert set(filter(None, r["launch_ids"].split(";"))) == ids
    assert res.reports["launch_before"].sum() >= 2
    t = res.tests[(res.tests["split"] == "launch") & (res.tests["test"] == "welch_t")]
    assert len(t) == 3 and t["pvalue"].between(0, 1).all()


def test_benchmark_that_holds_the_ticker_is_warned_about(catalog: pd.DataFrame) -> None:
    """SMH holds NVDA: the notes say so once and name a broad benchmark; SPY does not."""
    from evbt.data.sample import load_sample

    px = load_sample()
    res = pre_earnings(px, catalog, asof="2025-12-31", benchmark="SMH")
    (warn,) = [n for n in res.notes if "holds" in n]
    assert "benchmark SMH holds NVDA" in warn and "SPY" in warn and "--benchmark" in warn
    res = pre_earnings(px, catalog, asof="2025-12-31", benchmark="SPY")
    assert not any("holds" in n for n in res.notes)


def test_cli_writes_the_c4_tables(tmp_path: Path) -> None:
    code, out, err = run(
        "preearnings", "--asof", "2025-12-31", "--out", str(tmp_path), "--lookback", "15", "--json"
    )
    assert code == 0, err
    got = json.loads(out)
    folder = Path(got["run_dir"])
    assert folder.parent == tmp_path and folder.name.startswith("pre-nvda-")
    assert got["synthetic"] is True  # the bundled sample, said so
    for name, cols in (
        ("preearnings_reports", REPORT_COLUMNS),
        ("preearnings_tests", TEST_COLUMNS),
        ("preearnings_next", NEXT_COLUMNS),
    ):
        assert list(pd.read_parquet(folder / f"{name}.parquet").columns) == cols
    man = json.loads((folder / "manifest.json").read_text())
    assert man["kind"] == "pre" and man["run_id"] == folder.name and man["data"]["synthetic"]
    assert man["catalog"]["sha256"] and man["lookahead"] is False


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("--lookback", "0"), "--lookback 0"),
        (("--asof", "1990-01-01"), "outside the NYSE calendar"),
        (("XXXX",), "unknown ticker(s) XXXX"),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], what: str, tmp_path: Path) -> None:
    base = ["preearnings", "--out", str(tmp_path)]
    if "--asof" not in args:
        base += ["--asof", "2025-12-31"]
    code, out, err = run(*base, *args)
    assert code == 2 and err.count("\n") == 1 and what in err, err
    assert not any(tmp_path.iterdir())
