"""Clustered events and studies that leave something out.

- The Kolari-Pynnonen (2010) adjustment of BMP and Patell, against a plain pandas/NumPy
  computation written from the paper's formulas (correlation matrix of the estimation-window
  abnormal returns, pairs on one date only).
- Groups with fewer than two distinct events: NaN bootstrap interval and a reason.
- The study is never dropped silently: a study benchmark other than the data's, a traded
  ticker that is the benchmark, and `evbt study` with the benchmark among the tickers.
- Start-up: importing the study does not import scipy.stats.
The calibration of the adjusted test on simulated clustered data is in
tests/test_study_calibration.py (slow).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evbt.backtest import study_nb as nb
from evbt.backtest.study import (
    SUMMARY_COLUMNS,
    empty_study,
    run_study,
    with_notes,
)

HYP = settings(derandomize=True, deadline=None, database=None, max_examples=40)


def clustered_data(seed=0, n_ses=600, n_tick=6, n_events=8, per_event=3, rho=0.5):
    """Returns with a sector factor outside the benchmark (residual correlation ~rho) and
    events that each hit ``per_event`` tickers on one date."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2021-01-04", periods=n_ses)
    m = rng.normal(0.0004, 0.011, n_ses)
    s = rng.standard_normal(n_ses)
    e = rng.standard_normal((n_ses, n_tick))
    beta = np.linspace(0.7, 1.4, n_tick)
    r = beta[None, :] * m[:, None] + 0.02 * (np.sqrt(rho) * s[:, None] + np.sqrt(1 - rho) * e)
    tickers = [f"T{k}" for k in range(n_tick)]
    rets = pd.DataFrame(r, index=idx, columns=tickers)
    bench = pd.Series(m, index=idx, name="BENCH")
    rows = []
    day0 = np.linspace(150, n_ses - 20, n_events).astype(int)
    for k, p in enumerate(day0):
        for t in rng.choice(tickers, per_event, replace=False):
            rows.append(
                {
                    "event_id": f"E{k}",
                    "ticker": t,
                    "reaction_session": idx[p],
                    "kind": "solo" if k == 0 else "many",
                }
            )
    return rets, bench, pd.DataFrame(rows)


def plain_kp(rets, bench, events, window=(-5, 10), estimation=120, gap=10):
    """KP from the formulas, with pandas: refit each row's market model by least squares
    (leaving out estimation sessions in the event windows of the ticker's other rows),
    correlate the estimation residuals of rows that share a day 0 over the sessions both
    keep, adjust the BMP t."""
    lo, hi = window
    day0 = {
        (e, t): rets.index.get_loc(s)
        for e, t, s in events[["event_id", "ticker", "reaction_session"]].itertuples(index=False)
    }
    resid = {}
    for (eid, tick), p in day0.items():
        sl = slice(p + lo - gap - estimation, p + lo - gap)
        days = np.arange(sl.start, sl.stop)
        keep = np.ones(estimation, dtype=bool)
        for (e2, t2), q in day0.items():
            if t2 == tick and e2 != eid:
                keep &= ~((days >= q + lo) & (days <= q + hi))
        y, x = rets[tick].iloc[sl].to_numpy(), bench.iloc[sl].to_numpy()
        b, a = np.polyfit(x[keep], y[keep], 1)
        resid[(eid, tick)] = (p, np.where(keep, y - a - b * x, np.nan))
    keys = list(resid)
    n = len(keys)
    total = 0.0
    for i in keys:
        for j in keys:
            if i != j and resid[i][0] == resid[j][0]:
                both = np.isfinite(resid[i][1]) & np.isfinite(resid[j][1])
                total += np.corrcoef(resid[i][1][both], resid[j][1][both])[0, 1]
    return total / (n * (n - 1))


def test_kp_rbar_and_adjusted_bmp_match_plain_computation():
    rets, bench, events = clustered_data()
    res = run_study(rets, bench, events, bootstrap=0, placebo=0)
    assert len(res.events) == len(events)
    rbar = plain_kp(rets, bench, events)
    all_rows = res.summary[res.summary["group_type"] == "all"]
    np.testing.assert_allclose(all_rows["rbar"], rbar, rtol=1e-9)
    # 8 events x 3 tickers: 48 of the 24 x 23 ordered pairs share a date, each with residual
    # correlation about rho = 0.5, so rbar should be near 0.5 * 48 / 552 = 0.043.
    assert 0.02 < rbar < 0.07
    n = len(events)
    factor = np.sqrt((1 - rbar) / (1 + (n - 1) * rbar))
    np.testing.assert_allclose(all_rows["bmp_kp_z"], all_rows["bmp_z"] * factor, rtol=1e-12)
    np.testing.assert_allclose(
        all_rows["patell_kp_z"], all_rows["patell_z"] / np.sqrt(1 + (n - 1) * rbar), rtol=1e-12
    )
    want_p = 2 * stats.t.sf(np.abs(all_rows["bmp_kp_z"]), n - 1)
    np.testing.assert_allclose(all_rows["p_bmp_kp"], want_p, rtol=1e-10)
    want_p = 2 * stats.norm.sf(np.abs(all_rows["patell_kp_z"]))
    np.testing.assert_allclose(all_rows["p_patell_kp"], want_p, rtol=1e-10)
    # rows share dates: the adjusted test is the headline, and it is less sure than BMP
    assert (all_rows["headline"] == "bmp_kp").all()
    assert (all_rows["n_shared"] == n).all()
    np.testing.assert_array_equal(all_rows["p_headline"], all_rows["p_bmp_kp"])
    assert (all_rows["p_bmp_kp"] >= all_rows["p_bmp"]).all()


def test_no_shared_dates_gives_rbar_zero_and_bmp_headline():
    rets, bench, events = clustered_data(per_event=1)
    res = run_study(rets, bench, events, bootstrap=0, placebo=0)
    s = res.summary[res.summary["group_type"] == "all"]
    assert (s["rbar"] == 0).all() and (s["n_shared"] == 0).all()
    assert (s["headline"] == "bmp").all()
    np.testing.assert_array_equal(s["bmp_kp_z"], s["bmp_z"])
    np.testing.assert_array_equal(s["p_headline"], s["p_bmp"])


def ref_rbar(est_ar, pos, members, min_obs):
    out = []
    for g in members:
        n = len(g)
        if n < 2:
            out.append((np.nan, 0))
            continue
        tot, shared = 0.0, 0
        for i in g:
            mates = [j for j in g if j != i and pos[j] == pos[i]]
            shared += bool(mates)
            for j in mates:
                ok = np.isfinite(est_ar[i]) & np.isfinite(est_ar[j])
                if ok.sum() < max(min_obs, 3):
                    continue
                a, b = est_ar[i, ok], est_ar[j, ok]
                if a.std() > 0 and b.std() > 0:
                    tot += pd.Series(a).corr(pd.Series(b))
        out.append((tot / (n * (n - 1)), shared))
    return out


@HYP
@given(
    seed=st.integers(0, 2**32 - 1),
    n_rows=st.integers(1, 14),
    n_days=st.integers(3, 25),
    p_nan=st.sampled_from([0.0, 0.2]),
)
def test_shared_date_rbar_matches_reference(seed, n_rows, n_days, p_nan):
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n_days)
    est = 0.6 * common[None, :] + rng.normal(size=(n_rows, n_days))
    est[rng.random(est.shape) < p_nan] = np.nan
    pos = rng.integers(0, 4, n_rows)
    members = [np.sort(rng.choice(n_rows, rng.integers(0, n_rows + 1), replace=False))]
    members.append(np.arange(n_rows))
    ptr = np.zeros(len(members) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(m) for m in members])
    # each group's rows in the stable order of their day 0, as study_arrays passes them
    day0_idx = np.concatenate([m[np.argsort(pos[m], kind="stable")] for m in members])
    rbar, shared = nb.shared_date_rbar(est, pos.astype(np.int64), ptr, day0_idx, 3)
    for g, (want_r, want_s) in enumerate(ref_rbar(est, pos, members, 3)):
        assert shared[g] == want_s
        np.testing.assert_allclose(rbar[g], want_r, rtol=1e-9, atol=1e-12)


def test_kp_adjust_is_nan_for_impossible_factors():
    bmp = np.array([[2.0], [2.0]])
    got_b, got_p = nb.kp_adjust(np.array([5, 5]), np.array([np.nan, 1.0]), bmp, bmp.copy())
    assert np.isnan(got_b).all() and np.isnan(got_p).all()  # NaN rbar; 1 - r = 0


@pytest.mark.parametrize("rbar", [-0.1, -0.5, -0.9])
def test_kp_adjust_never_inflates_a_negative_rbar_leaves_the_statistics(rbar):
    """Regression (issue 15 item 6): against SMH, same-date residuals of the semis it holds
    correlate negatively (mean -0.10), and KP's factor sqrt((1 - r) / (1 + (N - 1) r)) was
    1.43: the "adjusted" BMP t grew from 0.331 to 0.472. The adjustment corrects for
    positive correlation only, so a negative estimate is floored at 0: the statistics stay
    BMP's and Patell's (before, -0.5 with N = 5 gave NaN: 1 + 4r < 0)."""
    bmp = np.array([[0.331, -2.0]])
    patell = np.array([[1.5, -0.7]])
    got_b, got_p = nb.kp_adjust(np.array([6]), np.array([rbar]), bmp, patell)
    np.testing.assert_array_equal(got_b, bmp)
    np.testing.assert_array_equal(got_p, patell)


def test_negative_rbar_keeps_bmp_as_headline_and_reports_the_estimate():
    """Residuals with a common factor of opposite sign for two halves of the tickers make
    the same-date correlation negative; the summary reports the raw rbar, uses 0
    (``rbar_kp``), and its headline is BMP with BMP's p-value."""
    rng = np.random.default_rng(5)
    n_ses, n_tick = 600, 6
    idx = pd.bdate_range("2021-01-04", periods=n_ses)
    m = rng.normal(0.0004, 0.011, n_ses)
    s = rng.standard_normal(n_ses)
    sign = np.array([1, -1, 1, -1, 1, -1])
    e = rng.standard_normal((n_ses, n_tick))
    r = m[:, None] + 0.02 * (0.7 * sign[None, :] * s[:, None] + 0.7 * e)
    rets = pd.DataFrame(r, index=idx, columns=[f"T{k}" for k in range(n_tick)])
    bench = pd.Series(m, index=idx)
    events = pd.DataFrame(
        [
            {"event_id": f"E{k}", "ticker": t, "reaction_session": idx[p]}
            for k, p in enumerate(range(150, 590, 40))
            for t in ("T0", "T1")
        ]
    )
    res = run_study(rets, bench, events, bootstrap=0, placebo=0)
    s_all = res.summary[res.summary["group_type"] == "all"]
    assert (s_all["rbar"] < 0).all() and (s_all["n_shared"] == len(events)).all()
    assert (s_all["rbar_kp"] == 0).all()
    assert (s_all["headline"] == "bmp").all()
    np.testing.assert_array_equal(s_all["bmp_kp_z"], s_all["bmp_z"])
    np.testing.assert_array_equal(s_all["p_headline"], s_all["p_bmp"])


def test_one_event_group_has_nan_bootstrap_and_a_reason():
    """Regression: a one-event group showed a zero-width 95% interval."""
    rets, bench, events = clustered_data()
    res = run_study(rets, bench, events, bootstrap=200, placebo=50, seed=1)
    solo = res.summary[res.summary["group"] == "solo"]
    assert len(solo) and (solo["n_events"] == 1).all() and (solo["n"] == 3).all()
    assert solo["boot_lo"].isna().all() and solo["boot_hi"].isna().all()
    assert solo["note"].str.contains("1 distinct event").all()
    many = res.summary[res.summary["group"] == "many"]
    assert many["boot_lo"].notna().all() and (many["note"] == "").all()
    assert (many["boot_lo"] < many["boot_hi"]).all()


def test_empty_study_says_why_and_has_the_summary_columns():
    res = empty_study("no benchmark: set one", window=(-2, 3), bootstrap=10)
    assert list(res.summary.columns) == SUMMARY_COLUMNS
    assert (res.summary["n"] == 0).all() and res.panel.empty
    assert set(res.summary["car_window"]) == {"[0,0]", "[0,+1]", "[-2,+3]"}
    assert (res.summary["note"] == "no benchmark: set one").all()
    assert res.notes == ("no benchmark: set one",)


def test_with_notes_marks_the_all_rows_only():
    rets, bench, events = clustered_data()
    res = with_notes(run_study(rets, bench, events, bootstrap=0, placebo=0), ["left X out"])
    s = res.summary
    assert s.loc[s["group_type"] == "all", "note"].str.startswith("left X out").all()
    assert not s.loc[s["group_type"] != "all", "note"].str.contains("left X out").any()
    assert res.notes == ("left X out",)


def test_importing_the_study_does_not_import_scipy_stats():
    code = (
        "import sys, evbt.backtest.study, evbt.backtest.study_run; "
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


# --------------------------------------------------------------------------------------
# Wiring: never dropped silently
# --------------------------------------------------------------------------------------


def _cfg(tmp_path, body):
    p = tmp_path / "run.toml"
    p.write_text(body)
    return p


STUDY_BODY = """\
[data]
benchmark = "SMH"
[strategy]
name = "launch_shock"
tickers = {tickers}
[study]
bootstrap = 50
placebo = 20
{extra}
"""


def _run_for(tmp_path, tickers, extra=""):
    from evbt.api import load_market, study_events
    from evbt.data.catalog import load_catalog
    from evbt.signals.select import select_events
    from evbt.strategies.config import load_config

    cfg = load_config(_cfg(tmp_path, STUDY_BODY.format(tickers=json.dumps(tickers), extra=extra)))
    chosen = select_events(load_catalog(None), cfg.strategy)
    events = pd.DataFrame(
        [
            {"event_id": e, "ticker": t, "reaction_session": s}
            for e, s in zip(chosen["id"], chosen["reaction_session"], strict=True)
            for t in tickers
        ]
    )
    load = list(dict.fromkeys([*tickers, "SMH"]))
    return study_events(cfg, load_market(cfg, load), events)


def test_study_benchmark_other_than_data_benchmark_runs(tmp_path):
    """Regression: with [study] benchmark != [data] benchmark the study disappeared."""
    res = _run_for(tmp_path, ["NVDA"], 'benchmark = "SPY"')
    assert res is not None and len(res.events) > 0
    assert res.notes == ()
    # its benchmark is SPY: the panel's benchmark returns are SPY's, not SMH's
    from evbt.data.sources import load_prices

    spy = load_prices(["SPY"], source="sample").set_index("date")["close"].pct_change()
    row = res.panel.iloc[0]
    np.testing.assert_allclose(row["bench_ret"], spy.loc[row["session"]], rtol=1e-12)


def test_traded_ticker_that_is_the_benchmark_is_left_out_with_a_note(tmp_path):
    """Regression: a backtest of SMH with benchmark SMH had no study and no word why."""
    res = _run_for(tmp_path, ["NVDA", "SMH"])
    assert set(res.events["ticker"]) == {"NVDA"}
    left_out = [n for n in res.notes if "left out" in n]
    assert len(left_out) == 1 and "SMH" in left_out[0] and "benchmark" in left_out[0]
    all_rows = res.summary[res.summary["group_type"] == "all"]
    assert all_rows["note"].str.contains("SMH").all()


def test_benchmark_that_holds_the_studied_tickers_is_warned_about(tmp_path):
    """Issue 15 item 6: SMH holds NVDA and AMD, so their residuals against it are partly
    their own move (same-date correlation -0.10 where SPY gives +0.24). The study says so
    in one line naming a broad benchmark; against SPY it says nothing."""
    res = _run_for(tmp_path, ["NVDA", "AMD"])
    (warn,) = [n for n in res.notes if n.startswith("warning: benchmark")]
    assert "SMH holds NVDA, AMD" in warn and "SPY" in warn and "[study] benchmark" in warn
    assert "\n" not in warn
    all_rows = res.summary[res.summary["group_type"] == "all"]
    assert all_rows["note"].str.contains("SMH holds NVDA").all()
    from evbt.backtest.study_run import study_manifest

    assert warn in study_manifest(res)["notes"]
    res = _run_for(tmp_path, ["NVDA", "AMD"], 'benchmark = "SPY"')
    assert not any("holds" in n for n in res.notes)


def test_cli_study_prints_the_benchmark_warning(tmp_path, capsys):
    from evbt.cli import main

    cfg = _cfg(tmp_path, STUDY_BODY.format(tickers='["NVDA"]', extra=""))
    assert main(["study", str(cfg), "--out", str(tmp_path / "res")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "benchmark SMH holds NVDA" in out and "SPY" in out


def test_only_the_benchmark_gives_an_empty_study_with_its_reason(tmp_path):
    res = _run_for(tmp_path, ["SMH"])
    assert res.events.empty and (res.summary["n"] == 0).all()
    assert "SMH" in res.notes[0] and res.summary["note"].str.contains("study benchmark").all()


def test_unknown_study_benchmark_is_said_not_raised(tmp_path):
    res = _run_for(tmp_path, ["NVDA"], 'benchmark = "NOPE"')
    assert res.events.empty and "NOPE" in res.notes[0]


def test_cli_study_with_the_benchmark_among_tickers(tmp_path, capsys):
    """Regression: `evbt study` failed with "ticker 'SMH' is not a column of returns"."""
    from evbt.cli import main

    cfg = _cfg(tmp_path, STUDY_BODY.format(tickers='["NVDA", "SMH"]', extra=""))
    code = main(["study", str(cfg), "--out", str(tmp_path / "res"), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc = json.loads(out.out)
    assert doc["manifest"]["study"]["ran"] is True
    assert any("SMH" in n for n in doc["manifest"]["study"]["notes"])
    assert any("benchmark SMH holds NVDA" in n for n in doc["manifest"]["study"]["notes"])
    assert {r["headline"] for r in doc["summary"]} <= {"bmp", "bmp_kp"}


@pytest.mark.parametrize("tickers", [["SMH"]])
def test_cli_study_of_the_benchmark_alone_is_a_one_line_error(tmp_path, capsys, tickers):
    from evbt.cli import main

    cfg = _cfg(tmp_path, STUDY_BODY.format(tickers=json.dumps(tickers), extra=""))
    code = main(["study", str(cfg), "--out", str(tmp_path / "res")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "study benchmark" in err
    assert not (tmp_path / "res").exists()


def test_missing_bars_are_missing_returns_not_flat_days(tmp_path):
    """Regression: a gap in a ticker's bars was forward-filled and studied as zero returns.
    With NVDA's bars of 2025-01-17..02-07 removed, the DeepSeek-R1 row (day 0 2025-01-21) is
    skipped because a return is missing in its window, never given a flat one."""
    from evbt.api import load_market, study_events
    from evbt.data.sources import load_prices
    from evbt.strategies.config import load_config

    px = load_prices(["NVDA", "SMH"], source="sample")
    gap = (px["ticker"] == "NVDA") & px["date"].between("2025-01-17", "2025-02-07")
    px[~gap].to_parquet(tmp_path / "p.parquet", index=False)
    body = STUDY_BODY.format(tickers='["NVDA"]', extra="")
    body = body.replace("[data]\n", '[data]\nsource = "file"\nprices = "p.parquet"\n')
    cfg = load_config(_cfg(tmp_path, body))
    events = pd.DataFrame(
        {
            "event_id": ["deepseek-r1", "later"],
            "ticker": ["NVDA", "NVDA"],
            "reaction_session": pd.to_datetime(["2025-01-21", "2025-06-02"]),
        }
    )
    res = study_events(cfg, load_market(cfg, ["NVDA", "SMH"]), events)
    assert list(res.events["event_id"]) == ["later"]
    (skip,) = res.skipped
    assert skip[0] == "deepseek-r1" and "missing" in skip[2]


def test_study_benchmark_comes_from_the_prices_the_run_read(tmp_path):
    """With --prices FILE, the study benchmark is read from that file, not the sample."""
    from evbt.api import run
    from evbt.data.sources import load_prices
    from evbt.strategies.config import load_config

    px = load_prices(["NVDA", "SMH", "SPY"], source="sample")
    spy_rows = px["ticker"] == "SPY"
    # a SPY unlike the sample's: each bar scaled by its own factor (OHLC order kept)
    factor = np.exp(np.random.default_rng(3).normal(0, 0.01, spy_rows.sum()).cumsum())
    px.loc[spy_rows, ["open", "high", "low", "close"]] *= factor[:, None]
    path = tmp_path / "p.parquet"
    px.to_parquet(path, index=False)
    cfg = load_config(
        _cfg(tmp_path, STUDY_BODY.format(tickers='["NVDA"]', extra='benchmark = "SPY"'))
    )
    res = run(cfg, prices_path=str(path))
    spy = px[px["ticker"] == "SPY"].set_index("date")["close"].pct_change()
    row = res.study.panel.iloc[3]
    np.testing.assert_allclose(row["bench_ret"], spy.loc[row["session"]], rtol=1e-12)
