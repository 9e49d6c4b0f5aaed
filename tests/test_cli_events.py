"""``evbt events``: every malformed catalog fails on one line naming line and column, and
no failing command changes the file.

The group is invoked with ``standalone_mode=False`` so :class:`InputError` reaches the test
as it reaches ``evbt.cli.main`` (which prints it on one line and exits 2).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from evbt.cli.events import events
from evbt.data import earnings_refresh
from evbt.data.catalog import DEFAULT_CATALOG, load_catalog
from evbt.errors import InputError, OfflineError

CORPUS = Path(__file__).resolve().parent / "malformed_catalogs"

# file stem -> (line of the error, column the message names). Header = line 1.
EXPECTED: dict[str, tuple[int, str]] = {
    "bad_date": (2, "date"),
    "bad_date_format": (3, "date"),
    "bad_fiscal_period": (3, "fiscal_period"),
    "bad_id": (2, "id"),
    "bad_known_since": (2, "known_since"),
    "bad_scheduled": (3, "scheduled"),
    "bad_tags": (2, "tags"),
    "bad_time": (3, "time"),
    "bad_time_label": (3, "time"),
    "bad_window_date": (4, "window_start"),
    "blank_line_then_bad_time": (4, "time"),
    "confirmed_window_only": (2, "date"),
    "confirmed_with_window": (2, "window_start"),
    "crlf_bad_status": (3, "status"),
    "duplicate_column": (1, "source"),
    "duplicate_id": (3, "id"),
    "earnings_without_ticker": (3, "tickers"),
    "empty_file": (1, "id"),
    "empty_id": (3, "id"),
    "empty_name": (2, "name"),
    "empty_org": (3, "org"),
    "empty_source": (2, "source"),
    "expected_no_window": (4, "window_start"),
    "expected_with_date": (4, "date"),
    "extra_field": (3, "supersedes"),
    "known_since_after_date": (2, "known_since"),
    "lowercase_ticker": (3, "tickers"),
    "missing_column": (1, "tz"),
    # issue 10.10: a newline inside a quoted field is now refused where it is
    "quoted_newline_then_bad_kind": (2, "name"),
    "short_row": (3, "confidence"),
    "supersedes_confirmed": (5, "supersedes"),
    "supersedes_itself": (5, "supersedes"),
    "supersedes_unknown": (5, "supersedes"),
    "tz_is_a_folder": (2, "tz"),
    "unknown_column": (1, "tag"),
    "unknown_confidence": (3, "confidence"),
    "unknown_kind": (2, "kind"),
    "unknown_status": (5, "status"),
    "unknown_tz": (2, "tz"),
    "window_reversed": (4, "window_end"),
    # issue 10.10: dates the NYSE calendar cannot map, control characters
    "date_before_2000": (3, "date"),
    "date_far_future": (2, "date"),
    "control_char_in_source": (2, "source"),
}

GOOD_ADD = [
    "--id", "test-launch", "--name", "Test launch", "--org", "TestLab",
    "--kind", "model_launch", "--date", "2026-03-10", "--tz", "Asia/Shanghai",
    "--tags", "China;Efficiency", "--unscheduled", "--source", "test fixture",
    "--confidence", "single",
]  # fmt: skip


def run(*args: str):
    """Invoke the group as main() does: exceptions propagate, the result on success."""
    return CliRunner().invoke(events, list(args), standalone_mode=False, catch_exceptions=False)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    p = tmp_path / "catalog.csv"
    shutil.copyfile(DEFAULT_CATALOG, p)
    return p


def assert_names(msg: str, path: Path, line: int, column: str) -> None:
    assert "\n" not in msg, msg
    assert msg.startswith(f"{path}: "), msg
    assert re.search(rf"\bline {line}\b", msg), msg
    assert re.search(rf"\bcolumn {re.escape(column)}\b", msg), msg


# ---------------------------------------------------------------- validate


def test_validate_bundled_catalog() -> None:
    res = run("validate")
    cat = load_catalog()
    n_exp = int((cat["status"] == "expected").sum())
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[0] == f"ok: {len(cat)} events ({len(cat) - n_exp} confirmed, {n_exp} expected)"
    assert lines[1] == f"  bundled: {len(cat)} rows in {DEFAULT_CATALOG}"
    assert lines[2].startswith("  user: none yet (")
    # issue 12: the new rows counted by kind and reporter
    # issue 15 E: 19 attribute rows for Kimi K2.5, GLM-5, Qwen3.5 and others, and the
    # second expected DeepSeek-V4 window (events.md section E)
    assert lines[3].startswith("  attributes: 60 rows for 22 events in ")
    assert lines[4] == "  by kind: model_launch 52, earnings 146, policy 21, other 5"
    assert lines[5] == (
        "  earnings by reporter: AMD 24, ASML 9, AVGO 24, INTC 23, MU 23, NVDA 27, TSM 16"
    )
    one = run("validate", str(DEFAULT_CATALOG))
    assert one.output.splitlines()[0].endswith(f"expected) in {DEFAULT_CATALOG}")


def test_user_catalog_overlays_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (issue 10.10): `events add` without --catalog wrote into the installed
    package. It now writes the user catalog, which load_catalog() lays over the bundled."""
    user = tmp_path / "sub" / "mine.csv"
    monkeypatch.setenv("EVBT_CATALOG", str(user))
    bundled = sha(DEFAULT_CATALOG)
    res = run("add", *GOOD_ADD)
    assert res.output == f"added test-launch to {user}\n"
    assert sha(DEFAULT_CATALOG) == bundled and user.exists()
    cat = load_catalog()
    assert "test-launch" in set(cat["id"]) and len(cat) == len(load_catalog(DEFAULT_CATALOG)) + 1
    # a user row with a bundled id replaces it (here: a corrected time)
    extra = [*GOOD_ADD]
    extra[extra.index("test-launch")] = "deepseek-r1"
    extra[extra.index("2026-03-10")] = "2025-01-20"
    with pytest.raises(InputError, match="--id deepseek-r1: a bundled event has this id"):
        run("add", *extra, "--time", "20:00")  # issue 19: never silently
    res = run("add", *extra, "--time", "20:00", "--replace")
    assert "overrides the bundled event" in res.output
    r1 = load_catalog().set_index("id").loc["deepseek-r1"]
    assert r1["time"] == "20:00" and r1["source"] == "test fixture"
    out = run("validate").output.splitlines()
    assert out[1].startswith("  bundled: ") and out[2] == f"  user: 2 rows in {user}"
    assert out[3] == "  the user catalog overrides 1 bundled rows: deepseek-r1"
    assert out[4].startswith("  attributes: ")
    # an error in the user file names the user file and line
    user.write_text(user.read_text().replace("model_launch", "model-launch", 1))
    with pytest.raises(InputError, match=rf"^{re.escape(str(user))}: line 2, column kind"):
        load_catalog()


def test_corpus_and_table_agree() -> None:
    assert {p.stem for p in CORPUS.glob("*.csv")} == set(EXPECTED)
    assert len(EXPECTED) >= 20


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_malformed_catalog_fails_on_one_line(stem: str, tmp_path: Path) -> None:
    line, column = EXPECTED[stem]
    path = tmp_path / f"{stem}.csv"
    shutil.copyfile(CORPUS / f"{stem}.csv", path)
    before = sha(path)
    for args in (
        ["validate", str(path)],
        ["list", "--catalog", str(path)],
        ["upcoming", "--asof", "2026-01-05", "--catalog", str(path)],
        ["add", *GOOD_ADD, "--catalog", str(path)],
    ):
        with pytest.raises(InputError) as err:
            run(*args)
        assert_names(str(err.value), path, line, column)
        assert sha(path) == before, args


# ---------------------------------------------------------------- add


def test_add_good_row(copy: Path) -> None:
    res = run("add", *GOOD_ADD, "--catalog", str(copy))
    assert res.exit_code == 0 and res.output == f"added test-launch to {copy}\n"
    r = load_catalog(copy).set_index("id").loc["test-launch"]
    assert (r["tags"], r["time"], bool(r["scheduled"])) == ("china;efficiency", "unknown", False)
    assert r["reaction_session"] == pd.Timestamp("2026-03-11")  # 'unknown' counts as after close


@pytest.mark.parametrize(
    ("override", "column"),
    [
        (["--date", "2026-02-30"], "date"),
        (["--id", "deepseek-r1"], "id"),
        (["--kind", "launch"], "kind"),
        (["--tz", "Asia/Beijing"], "tz"),
        (["--time", "9am"], "time"),
        (["--status", "expected"], "date"),
        (["--status", "expected", "--date", "", "--window-start", "2026-03-10"], "window_end"),
        (["--window-start", "2026-03-01", "--window-end", "2026-03-20"], "window_start"),
        (["--supersedes", "deepseek-v4-expectd"], "supersedes"),
        (["--confidence", "high"], "confidence"),
        (["--known-since", "2026-04-01"], "known_since"),
        (["--kind", "earnings"], "tickers"),
    ],
)
def test_add_bad_row_leaves_file_byte_identical(
    copy: Path, override: list[str], column: str
) -> None:
    before = sha(copy)
    with pytest.raises(InputError) as err:
        run("add", *GOOD_ADD, *override, "--catalog", str(copy))
    msg = str(err.value)
    assert "\n" not in msg and "new row" in msg and f"column {column}:" in msg, msg
    assert sha(copy) == before


def test_add_without_scheduled_flag(copy: Path) -> None:
    before = sha(copy)
    args = [a for a in GOOD_ADD if a != "--unscheduled"]
    with pytest.raises(InputError, match="--scheduled/--unscheduled"):
        run("add", *args, "--catalog", str(copy))
    assert sha(copy) == before


# ---------------------------------------------------------------- list and upcoming


def test_list_json_has_iso_dates() -> None:
    out = json.loads(run("list", "--org", "NVIDIA", "--kind", "earnings", "--json").output)
    cat = load_catalog()
    assert len(out) == int(((cat["org"] == "NVIDIA") & (cat["kind"] == "earnings")).sum())
    first = out[0]
    assert first["id"] == "nvda-q1-fy2021"
    assert (first["date"], first["reaction_session"], first["known_at"]) == (
        "2020-05-21",
        "2020-05-22",
        "2020-04-21",
    )
    assert first["scheduled"] is True and first["known_since"] is None
    assert out[-1]["date"] is None and out[-1]["window_start"] == "2026-11-19"


def test_list_asof_shows_what_was_known() -> None:
    early = {r["id"] for r in json.loads(run("list", "--asof", "2026-02-10", "--json").output)}
    assert "deepseek-v4-expected" in early and "deepseek-v4" not in early
    late = {r["id"] for r in json.loads(run("list", "--asof", "2026-05-01", "--json").output)}
    assert "deepseek-v4" in late and "deepseek-v4-expected" not in late


def test_list_table() -> None:
    res = run("list", "--tag", "video", "--tag", "image")
    assert res.exit_code == 0
    assert res.output.startswith("2 events")
    assert "seedance-2.0" in res.output and "seedream-5.0-lite" in res.output


def test_list_bad_since() -> None:
    with pytest.raises(InputError, match="since: bad date '2026-1-5'"):
        run("list", "--since", "2026-1-5")


def test_upcoming_json() -> None:
    out = json.loads(run("upcoming", "--asof", "2026-05-01", "--json").output)
    assert [(r["id"], r["reaction_session"], r["sessions_ahead"]) for r in out] == [
        ("nvda-q1-fy2027", "2026-05-21", 14)
    ]


def test_upcoming_table() -> None:
    res = run("upcoming", "--asof", "2026-11-02")
    assert res.exit_code == 0 and "nvda-q3-fy2027-expected" in res.output


# ---------------------------------------------------------------- refresh-earnings


def recorded_frame() -> pd.DataFrame:
    """Shaped like yfinance 1.x ``get_earnings_dates``: tz-aware "Earnings Date" index."""
    stamps = ["2026-11-19 16:00", "2026-08-26 16:00", "2026-05-20 16:00", "2019-11-14 16:00"]
    idx = pd.DatetimeIndex([pd.Timestamp(s) for s in stamps], name="Earnings Date")
    return pd.DataFrame(
        {"EPS Estimate": [1.2, 1.0, 0.9, 0.37], "Reported EPS": [None, 1.05, 0.95, 0.39]},
        index=idx.tz_localize("America/New_York"),
    )


def test_refresh_earnings_replays_a_recorded_frame(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        earnings_refresh, "fetch_earnings_dates", lambda ticker, *, limit: recorded_frame()
    )
    res = run("refresh-earnings", "nvda", "--catalog", str(copy))
    lines = res.output.splitlines()
    assert lines[:2] == [
        f"added 2 report dates to {copy}: nvda-earnings-2019-11-14, nvda-q3-fy2027",
        "kept 2 rows already in the catalog (not overwritten):",
    ]
    assert lines[2].startswith("  nvda-q1-fy2027 2026-05-20 (NVIDIA report-date list")
    assert "yfinance says" not in res.output  # same dates: nothing to check
    cat = load_catalog(copy).set_index("id")
    old = cat.loc["nvda-earnings-2019-11-14"]
    assert (old["org"], old["time"], old["confidence"]) == ("NVIDIA", "after_close", "single")
    assert re.fullmatch(r"yfinance get_earnings_dates \d{4}-\d{2}-\d{2}", old["source"])
    assert cat.loc["nvda-q3-fy2027", "supersedes"] == "nvda-q3-fy2027-expected"
    before = sha(copy)
    again = run("refresh-earnings", "NVDA", "--catalog", str(copy))
    assert again.output.startswith("no new report dates for NVDA")
    assert sha(copy) == before


def test_refresh_earnings_offline(copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Ticker:
        def __init__(self, symbol: str) -> None:
            pass

        def get_earnings_dates(self, limit: int = 12) -> pd.DataFrame:
            raise OSError("Failed to perform, curl: (6) Could not resolve host")

    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(Ticker=Ticker))
    before = sha(copy)
    with pytest.raises(OfflineError) as err:
        run("refresh-earnings", "NVDA", "--catalog", str(copy))
    assert "\n" not in str(err.value) and "NVDA" in str(err.value)
    assert sha(copy) == before


# ---------------------------------------------------------------- through evbt.cli.main


def test_main_exits_2_on_a_malformed_catalog(capsys: pytest.CaptureFixture[str]) -> None:

    from evbt.cli import main

    bad = CORPUS / "unknown_kind.csv"
    assert main(["events", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 2, column kind" in err


def test_refresh_never_overwrites_a_sourced_row_silently(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """yfinance one day off a sourced row: the row is kept, and the output says so."""
    frame = pd.DataFrame(
        {"EPS Estimate": [0.9]},
        index=pd.DatetimeIndex(
            [pd.Timestamp("2026-05-21 16:00")], name="Earnings Date"
        ).tz_localize("America/New_York"),
    )
    monkeypatch.setattr(earnings_refresh, "fetch_earnings_dates", lambda ticker, *, limit: frame)
    before = sha(copy)
    res = run("refresh-earnings", "NVDA", "--catalog", str(copy))
    assert sha(copy) == before
    assert "nvda-q1-fy2027 2026-05-20" in res.output
    assert "[yfinance says 2026-05-21: check the source]" in res.output
