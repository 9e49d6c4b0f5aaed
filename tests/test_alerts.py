"""`evbt alerts`: the cron view, replayed day by day; state file and calendar output."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from evbt.cli import main
from evbt.data.catalog import COLUMNS, DEFAULT_CATALOG, load_catalog

BJ = "Asia/Shanghai"


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _row(**kw: str) -> dict[str, str]:
    base = dict.fromkeys(COLUMNS, "")
    base.update(org="DeepSeek", kind="model_launch", tags="china;efficiency", tz=BJ)
    base.update(time="unknown", scheduled="false", source="replay fixture", confidence="single")
    base.update(kw)
    return base


@pytest.fixture
def february(tmp_path: Path) -> Path:
    """The bundled catalog where V4's window moves twice and V4 lands on 2026-03-03.

    A what-if for the replay around the bundled rows: the bundled first window (known
    since 01-25, 02-09..02-20) moves on 02-13 to 02-17..02-27 (an added row), then on
    02-27 to the bundled second window 03-02..03-04 (FT, events.md section E), and V4
    lands on 03-03 (an added confirmed row, in place of the bundled April one). The
    rows chain through ``supersedes``.
    """
    with DEFAULT_CATALOG.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rows = [r for r in rows if r["id"] != "deepseek-v4"]
    march = next(r for r in rows if r["id"] == "deepseek-v4-expected-march")
    assert (march["known_since"], march["supersedes"]) == ("2026-02-27", "deepseek-v4-expected")
    march["supersedes"] = "deepseek-v4-expected-2"
    rows.append(
        _row(
            id="deepseek-v4-expected-2",
            name="DeepSeek-V4 (expected late February)",
            status="expected",
            window_start="2026-02-17",
            window_end="2026-02-27",
            known_since="2026-02-13",
            supersedes="deepseek-v4-expected",
        )
    )
    rows.append(
        _row(
            id="deepseek-v4-mar",
            name="DeepSeek-V4",
            status="confirmed",
            date="2026-03-03",
            known_since="2026-03-03",
            supersedes="deepseek-v4-expected-march",
        )
    )
    cat = tmp_path / "catalog.csv"
    with cat.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(COLUMNS), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    load_catalog(cat)  # valid
    cfg = tmp_path / "shock.toml"
    cfg.write_text(
        f'[data]\nsource = "sample"\nevents = "{cat.name}"\n\n[strategy]\nname = "launch_shock"\n',
        encoding="utf-8",
    )
    return cfg


def test_february_replay_watch_appears_once_moves_twice_and_resolves(
    february: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    log: dict[str, list[dict]] = {}
    for day in pd.date_range("2026-01-20", "2026-03-06"):
        d = f"{day:%Y-%m-%d}"
        code, out, err = run(
            "alerts",
            "--asof",
            d,
            "--config",
            str(february),
            "--state",
            str(state),
            "--format",
            "json",
        )
        assert code == 0, err
        if out.strip():
            log[d] = [c for c in json.loads(out)["changes"] if "deepseek-v4" in c["event_id"]]
        else:
            log[d] = []
        assert json.loads(state.read_text())["asof"] == d  # written on every run
    v4 = {d: cs for d, cs in log.items() if cs}
    # appears once: known since 01-25 (section E), the 10-session horizon reaches its
    # window (02-09) on 01-27
    news = [(d, c) for d, cs in v4.items() for c in cs if c["change"] == "new"]
    assert [(d, c["action"], c["window_start"]) for d, c in news] == [
        ("2026-01-27", "watch", "2026-02-09")
    ]
    # moves when each new window is known: 02-13 (the what-if row), 02-27 (the FT window)
    for d, start, end, before in (
        ("2026-02-13", "2026-02-17", "2026-02-27", "2026-02-09"),
        ("2026-02-27", "2026-03-02", "2026-03-04", "2026-02-17"),
    ):
        moved = v4[d]
        assert [(c["change"], c["action"], c["window_start"], c["window_end"]) for c in moved] == [
            ("changed", "watch", start, end)
        ], d
        assert moved[0]["before"]["window_start"] == before
    # resolves when the confirmed row lands: same key, now a position to enter (a Beijing
    # date with unknown time reacts on the next US session)
    res = v4["2026-03-03"]
    assert [(c["change"], c["action"], c["event_id"], c["status"]) for c in res] == [
        ("changed", "enter", "deepseek-v4-mar", "confirmed")
    ]
    assert res[0]["before"]["action"] == "watch" and res[0]["entry_session"] == "2026-03-04"
    # quiet on every other day until the position is in (no repeated watch)
    moves = ("2026-01-27", "2026-02-13", "2026-02-27")
    assert [d for d in v4 if d < "2026-03-03" and d not in moves] == []
    assert all(c["action"] != "watch" for d, cs in v4.items() if d > "2026-03-03" for c in cs)


def test_state_quiet_when_nothing_changed_and_corrupt_state_is_named(
    february: Path, tmp_path: Path
) -> None:
    state = tmp_path / "s.json"
    args = ("alerts", "--asof", "2026-02-10", "--config", str(february), "--state", str(state))
    code, out, _ = run(*args)
    assert code == 0 and "NEW shock: WATCH deepseek-v4-expected" in out
    code, out, err = run(*args)
    assert (code, out, err) == (0, "", "")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.json")]  # no debris
    state.write_text("{not json", encoding="utf-8")
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(state) in err and "corrupt alerts state" in err
    assert state.read_text(encoding="utf-8") == "{not json"  # left as it was


def test_ics_has_the_watch_window(february: Path) -> None:
    code, out, _ = run(
        "alerts", "--asof", "2026-02-10", "--config", str(february), "--format", "ics"
    )
    assert code == 0
    assert out.startswith("BEGIN:VCALENDAR\r\n") and out.endswith("END:VCALENDAR\r\n")
    ev = out.split("BEGIN:VEVENT")[1]
    assert "DTSTART;VALUE=DATE:20260209" in ev and "DTEND;VALUE=DATE:20260221" in ev
    assert "watch deepseek-v4-expected" in ev


def test_default_configs_show_v4_and_the_nvidia_report() -> None:
    code, out, _ = run("alerts", "--asof", "2026-02-10", "--format", "json")
    assert code == 0
    rows = json.loads(out)["alerts"]
    assert ("launch_shock", "watch", "deepseek-v4-expected") in {
        (r["strategy"], r["action"], r["event_id"]) for r in rows
    }
    nv = [r for r in rows if r["strategy"] == "earnings_runup"]
    assert [(r["action"], r["event_id"]) for r in nv] == [("enter", "nvda-q4-fy2026")]


@pytest.mark.parametrize(
    "args",
    [
        ("--asof", ""),
        ("--asof", "1990-01-01"),
        ("--asof", "2100-01-01"),
        ("--asof", "2026-02-10T09:00+01:00"),
        ("--horizon", "100000"),
        ("--horizon", "0"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: tuple[str, str]) -> None:
    full = (
        ("alerts", "--asof", "2026-02-10", *args) if args[0] == "--horizon" else ("alerts", *args)
    )
    code, out, err = run(*full)
    assert code == 2 and out == "" and err.count("\n") == 1, err


def test_asof_day_is_the_same_for_signals_alerts_and_upcoming() -> None:
    """Regression (issue 10.10): `signals --asof` started the horizon the session after the
    as-of day while `events upcoming --asof` started on it."""
    from evbt.data.catalog import upcoming
    from evbt.signals.alerts import alerts
    from evbt.strategies.presets import get_preset

    cat = load_catalog()
    # the report reacts on 2026-02-26: as of that day it is session 0 of the horizon
    up = upcoming(cat, "2026-02-26", 1)
    assert up.set_index("id").loc["nvda-q4-fy2026", "sessions_ahead"] == 0
    # the runup exits at the report day's close: as of that day, still to come
    df = alerts(cat, [get_preset("earnings_runup")], "2026-02-25", horizon=1)
    nv = df[df["event_id"] == "nvda-q4-fy2026"]
    assert nv["action"].tolist() == ["exit"]  # still to come on the as-of session


# ------------------------------------------------- alerts never hide a trade (issue 15.4)

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml"))
REPLAY = pd.bdate_range("2026-01-20", "2026-03-06")


def _horizon_positions(table: pd.DataFrame, first: pd.Timestamp, limit: pd.Timestamp) -> set:
    """What a position alert means, restated: in at the as-of session or entering within
    the horizon, and not out before it."""
    out = set()
    for _, r in table.iterrows():
        e, x = r["entry_session"], r["exit_session"]
        if x < first or e > limit:
            continue
        action = ("exit" if x <= limit else "hold") if e < first else "enter"
        out.add((action, r["event_id"], r["ticker"], e, x))
    return out


# The replay's days, split in two disjoint parts that together are every day: the quick run
# replays every third day (each example still alerts on some), the slow run (CI) the other
# two thirds, so CI replays each day once and the quick suite a third of the work.
REPLAY_PARTS = [
    pytest.param(REPLAY[::3], id="every-third-day"),
    pytest.param(REPLAY.delete(slice(None, None, 3)), id="other-days", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("days", REPLAY_PARTS)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_alerts_positions_are_the_backtest_signals_as_known_each_day(
    example: Path, days: pd.DatetimeIndex
) -> None:
    """Issue 15.4: for every example config and every session from 2026-01-20 to 2026-03-06,
    the ENTER/HOLD/EXIT alerts are exactly the signals ``evbt backtest`` takes (``build_signals``)
    with the catalog as known that day, and every expected row the strategy selects whose
    window overlaps the horizon is watched (an expected window hides nothing). ``days``:
    a part of those sessions (REPLAY_PARTS)."""
    from evbt.data.catalog import as_of, horizon_sessions
    from evbt.signals.alerts import alerts
    from evbt.signals.rules import build_signals
    from evbt.signals.select import select_events
    from evbt.strategies.config import load_config

    cfg = load_config(example)
    p = cfg.strategy
    cat = load_catalog(cfg.data.events)
    expected_sel = p.replace(select=dataclasses.replace(p.select, status=("expected",)))
    no_rules = p.skip_if_earnings_within is None and p.exit_anchor == "none"
    n_pos = n_watch = 0
    for day in days:
        if len(horizon_sessions(day, 10)) == 0 or day not in horizon_sessions(day, 1):
            continue  # sessions only
        ahead = horizon_sessions(day, 10)
        df = alerts(cat, [p], day, horizon=10)
        got = {
            (r["action"], r["event_id"], r["ticker"], r["entry_session"], r["exit_session"])
            for _, r in df[df["action"] != "watch"].iterrows()
        }
        assert len(got) == int((df["action"] != "watch").sum())  # no duplicate
        want = _horizon_positions(build_signals(cat, p, asof=day).table, ahead[0], ahead[-1])
        assert got == want, (example.stem, f"{day:%Y-%m-%d}")
        n_pos += len(got)
        # watches: expected rows known that day whose window overlaps the horizon
        exp = select_events(as_of(cat, day), expected_sel)
        live = exp[(exp["window_end"] >= day) & (exp["window_start"] <= ahead[-1])]
        watched = set(df.loc[df["action"] == "watch", "event_id"])
        assert watched <= set(live["id"])
        if no_rules:
            assert watched == set(live["id"]), (example.stem, f"{day:%Y-%m-%d}")
        n_watch += len(watched)
    # the replay shows something, except where the catalog holds no selected event then
    # (no export-control event and no sourced AMD report from 2026-01-20 to 2026-03-06)
    quiet = example.stem in ("policy_export_shock", "peer_earnings_amd")
    assert (n_pos + n_watch == 0) == quiet


def test_glm5_entry_not_hidden_by_the_v4_watch() -> None:
    """Regression (issue 15.4): the expected DeepSeek V4 window used to occupy NVDA in the
    overlap rule, so ``evbt alerts --asof 2026-02-11`` showed only the V4 watch and no
    ENTER for GLM-5, which ``evbt backtest`` trades (entry 2026-02-12, exit 2026-02-20)."""
    from evbt.signals.alerts import alerts
    from evbt.strategies.presets import Select, StrategyParams

    p = StrategyParams(
        tickers=("NVDA",),
        select=Select(kind=("model_launch",), tags=("china",)),
        direction="short",
        entry_offset=0,
        hold=5,
    )
    cat = load_catalog()
    for day in ("2026-02-11", "2026-02-12"):
        df = alerts(cat, [p], day)
        rows = {(r["action"], r["event_id"]) for _, r in df.iterrows()}
        assert ("watch", "deepseek-v4-expected") in rows
        glm = df[df["event_id"] == "glm-5"]
        assert glm["entry_session"].tolist() == [pd.Timestamp("2026-02-12")]
        assert glm["exit_session"].tolist() == [pd.Timestamp("2026-02-20")]
        assert glm["action"].tolist() == ["enter"]  # an entry on the as-of session is to come


def test_sweep_launch_v4_watch_shown_while_a_position_is_open() -> None:
    """Regression (issue 15.4): an open Claude Opus 4.6 position blocked the V4 watch of
    ``examples/sweep_launch.toml`` on every weekday from 02-05 to 02-20."""
    from evbt.signals.alerts import alerts
    from evbt.strategies.config import load_config

    p = load_config(EXAMPLES[0].parent / "sweep_launch.toml").strategy
    cat = load_catalog()
    for day in pd.bdate_range("2026-02-05", "2026-02-20"):
        if day == pd.Timestamp("2026-02-16"):
            continue  # Presidents' Day
        df = alerts(cat, [p], day)
        watch = df[df["action"] == "watch"]
        assert set(watch["event_id"]) == {"deepseek-v4-expected"}, f"{day:%Y-%m-%d}"
        assert set(watch["ticker"]) >= {"NVDA", "AMD", "TSM"}
