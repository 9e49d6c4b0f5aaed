"""Signals: reaction anchoring, the lookahead guard, point-in-time invariance, policies."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evbt.data.catalog import DEFAULT_CATALOG, load_catalog
from evbt.errors import InputError
from evbt.signals.rules import build_signals, to_arrays
from evbt.strategies.presets import Select, StrategyParams, get_preset

T = pd.Timestamp


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return load_catalog()


@pytest.fixture(scope="module")
def raw_catalog() -> pd.DataFrame:
    """The bundled catalog as raw strings, for mutation in property tests."""
    return pd.read_csv(DEFAULT_CATALOG, dtype=str, keep_default_na=False)


def test_calendar_cases_through_signals(catalog):
    p = StrategyParams(
        select=Select(ids=("deepseek-r1", "qwen3.5", "nvda-q4-fy2026")), tickers=("NVDA",), hold=1
    )
    t = build_signals(catalog, p).table.set_index("event_id")
    assert t.loc["deepseek-r1", "entry_session"] == T("2025-01-21")  # 2025-01-20 BJT, MLK Day
    assert t.loc["qwen3.5", "entry_session"] == T("2026-02-17")  # Presidents' Day
    assert T("2026-02-25").day_name() == "Wednesday"
    assert t.loc["nvda-q4-fy2026", "entry_session"] == T("2026-02-26")  # after close -> Thursday


def test_unscheduled_entry_before_reaction_is_refused(catalog):
    p = get_preset("launch_shock").replace(entry_offset=-1)
    with pytest.raises(InputError, match=r"allow_lookahead = true") as e:
        build_signals(catalog, p)
    assert "\n" not in str(e.value)


def test_allow_lookahead_is_recorded(catalog):
    p = get_preset("launch_shock").replace(entry_offset=-1, allow_lookahead=True)
    s = build_signals(catalog, p)
    assert s.allow_lookahead
    assert s.table["lookahead"].all()
    assert s.n_lookahead == len(s.table) > 0


def test_scheduled_event_may_be_entered_before(catalog):
    s = build_signals(catalog, get_preset("earnings_runup"))
    assert len(s.table) > 0
    assert (s.table["entry_session"] < s.table["reaction_session"]).all()
    assert not s.table["lookahead"].any()


def test_scheduled_event_not_before_it_was_known(catalog):
    # 60 sessions before a report is before its date was announced (known_at default)
    p = get_preset("earnings_runup").replace(entry_offset=-60, hold=2)
    with pytest.raises(InputError, match="before its date was known"):
        build_signals(catalog, p)


def _expected_as_of(raw: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    cat = load_catalog(raw)
    return cat


@settings(
    max_examples=25, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    day=st.dates(
        min_value=pd.Timestamp("2021-01-01").date(), max_value=pd.Timestamp("2026-10-01").date()
    ),
    action=st.sampled_from(["drop", "shift", "add"]),
    preset=st.sampled_from(["launch_shock", "launch_rebound", "earnings_runup", "post_earnings"]),
    pick=st.integers(min_value=0, max_value=10_000),
)
def test_signals_as_of_ignore_what_was_known_later(raw_catalog, day, action, preset, pick):
    """Signals as of D are unchanged when any event known after D is added, removed or altered."""
    d = T(day)
    base_cat = load_catalog(raw_catalog)
    params = get_preset(preset)
    before = build_signals(base_cat, params, asof=d).table
    later = base_cat.index[base_cat["known_at"] > d]
    raw = raw_catalog.copy()
    if action == "add" or len(later) == 0:
        src = raw.iloc[pick % len(raw)].copy()
        src["id"] = f"zz-added-{pick}"
        src["supersedes"] = ""
        known = d + pd.Timedelta(days=1 + pick % 30)
        src["known_since"] = f"{known:%Y-%m-%d}"
        if src["status"] == "confirmed":
            src["date"] = f"{max(known, T(src['date']) if src['date'] else known):%Y-%m-%d}"
        raw = pd.concat([raw, src.to_frame().T], ignore_index=True)
    else:
        i = later[pick % len(later)]
        row_id = base_cat.loc[i, "id"]
        j = raw.index[raw["id"] == row_id][0]
        if action == "drop":
            if (raw["supersedes"] == row_id).any():
                raw.loc[raw["supersedes"] == row_id, "supersedes"] = ""
            raw = raw.drop(index=j)
        elif raw.at[j, "date"]:
            moved = T(raw.at[j, "date"]) + pd.Timedelta(days=3)
            raw.at[j, "date"] = f"{moved:%Y-%m-%d}"
            if raw.at[j, "known_since"]:
                raw.at[j, "known_since"] = (
                    f"{max(T(raw.at[j, 'known_since']), moved - pd.Timedelta(days=60)):%Y-%m-%d}"
                )
                if T(raw.at[j, "known_since"]) <= d:
                    return  # the alteration would make the row known by D: not this property
    after = build_signals(load_catalog(raw.reset_index(drop=True)), params, asof=d).table
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True))


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    offset=st.integers(min_value=-6, max_value=6),
    hold=st.integers(min_value=1, max_value=15),
    allow=st.booleans(),
    kind=st.sampled_from(["model_launch", "earnings", "other"]),
)
def test_no_unscheduled_entry_before_reaction(catalog, offset, hold, allow, kind):
    p = StrategyParams(
        tickers=("NVDA",),
        select=Select(kind=(kind,)),
        entry_offset=offset,
        hold=hold,
        allow_lookahead=allow,
    )
    try:
        s = build_signals(catalog, p)
    except InputError:
        assert not allow  # refused only when lookahead is not allowed
        return
    t = s.table
    early = (~t["scheduled"]) & (t["entry_session"] < t["reaction_session"])
    assert allow or not early.any()
    assert (t["lookahead"] == (early | (t["scheduled"] & t["lookahead"]))).all()


def test_overlap_skip_and_merge(catalog):
    p = StrategyParams(
        tickers=("NVDA",), select=Select(kind=("model_launch",), tags=("china",)), hold=15
    )
    skip = build_signals(catalog, p)
    merge = build_signals(catalog, p.replace(overlap="merge"))
    assert (skip.skipped["code"] == "overlap").sum() > 0
    # merging lengthens windows, so at least as many later signals fall inside one
    assert (merge.skipped["code"] == "merged").sum() >= (skip.skipped["code"] == "overlap").sum()
    for s in (skip, merge):
        t = s.table.sort_values("entry_session")
        assert (t["entry_session"].to_numpy()[1:] > t["exit_session"].to_numpy()[:-1]).all()
    # every candidate window is either kept or reported, under both policies
    assert len(skip.table) + len(skip.skipped) == len(merge.table) + len(merge.skipped)
    assert len(merge.table) <= len(skip.table)


def test_skip_launch_near_earnings(catalog):
    p = StrategyParams(
        tickers=("NVDA",), select=Select(kind=("model_launch",)), hold=1, skip_if_earnings_within=40
    )
    s = build_signals(catalog, p)
    assert (s.skipped["code"] == "earnings_nearby").sum() > 0
    base = build_signals(catalog, p.replace(skip_if_earnings_within=None))
    assert (
        len(s.table) + (s.skipped["code"] == "earnings_nearby").sum()
        == len(base.table)
        + (base.skipped["code"] == "overlap").sum()
        - (s.skipped["code"] == "overlap").sum()
    )


def test_exit_before_next_earnings_known_at_entry(catalog):
    p = StrategyParams(
        tickers=("NVDA",),
        select=Select(ids=("deepseek-r1", "qwen2.5-max")),
        exit_anchor="next_earnings",
        exit_offset=-1,
    )
    s = build_signals(catalog, p)
    # NVDA reported 2025-02-26 after the close (reaction 2025-02-27). With the catalog's
    # default notice (date known 30 calendar days ahead, from 2025-01-27), Qwen2.5-Max
    # (entered 2025-01-29) can anchor on it and exits the session before, 2025-02-26;
    # DeepSeek-R1 (entered 2025-01-21) could not know that date yet, so it is skipped.
    assert s.table.set_index("event_id")["exit_session"].to_dict() == {
        "qwen2.5-max": T("2025-02-26")
    }
    assert s.skipped.set_index("event_id")["code"].to_dict() == {"deepseek-r1": "no_next_earnings"}


def test_to_arrays_maps_sessions_and_reports_outside(catalog):
    s = build_signals(catalog, get_preset("launch_shock"))
    index = pd.DatetimeIndex(pd.bdate_range("2025-01-01", "2025-12-31"))
    arr, bad = to_arrays(s.table, index, ["NVDA"])
    assert len(arr.entry) + len(bad) == len(s.table)
    assert (index[arr.entry] == s.table["entry_session"].to_numpy()[arr.rows]).all()
    assert set(bad["code"]) <= {"outside_data"}
    assert np.all(np.diff(arr.entry) >= 0)


def test_cli_signals_asof_lists_nvda_entry_before_report():
    from evbt.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["signals", "--asof", "2026-02-10", "--strategy", "earnings_runup", "--json"])
    assert code == 0
    rows = json.loads(buf.getvalue())
    nv = [r for r in rows if r["event_id"] == "nvda-q4-fy2026"]
    assert len(nv) == 1
    assert nv[0]["action"] == "enter" and nv[0]["ticker"] == "NVDA"
    assert nv[0]["entry_session"] < "2026-02-25" and nv[0]["exit_session"] <= "2026-02-25"


def test_alerts_show_expected_v4_window_not_the_april_date(catalog):
    from evbt.signals.alerts import alerts

    df = alerts(catalog, [get_preset("launch_shock")], "2026-02-10")
    v4 = df[df["event_id"].str.startswith("deepseek-v4")]
    assert v4["event_id"].tolist() == ["deepseek-v4-expected"]
    assert v4["action"].tolist() == ["watch"]
    assert (df["entry_session"] != T("2026-04-24")).all()


def _weight_by_sweep(weight_by: str, invert: bool):
    from evbt.strategies.config import from_dict

    return from_dict(
        {
            "data": {"source": "sample", "start": "2019-01-02", "end": "2026-06-30"},
            "strategy": {
                "tickers": ["NVDA", "AMD", "TSM"],
                "select": {
                    "kind": ["model_launch"],
                    "weight_by": weight_by,
                    "weight_invert": invert,
                },
                "weight": 0.6,
                "direction": "short",
            },
            "portfolio": {"mode": "shared_cash", "init_cash": 10_000},
            "study": {"enabled": False},
            "sweep": {"entry_offset": [0, 1, 3], "hold": [1, 4]},
        }
    )


@pytest.mark.parametrize(
    ("weight_by", "invert"), [("active_params_b", True), ("total_params_b", False)]
)
def test_sweep_b_weight_is_the_weight_build_signals_gives(catalog, weight_by, invert):
    """Issue 15.1 (data side): the sweep's per-signal weight scale ``b_weight`` is the weight
    ``build_signals`` puts on the same (event, ticker, entry offset), so a sweep and a
    backtest of one combination size every trade alike (the kernel multiplies it in)."""
    from evbt import api

    cfg = _weight_by_sweep(weight_by, invert)
    inp = api.sweep_inputs(cfg)
    from evbt.backtest.sweep import sweep_events

    base = sweep_events(cfg, catalog).base
    pair = base.sweep_order({t: i for i, t in enumerate(inp.tickers)})
    assert inp.b_weight.shape == inp.ent_cal.shape == (3, len(pair))
    assert inp.b_weight.dtype == np.float64
    assert [inp.tickers[c] for c in inp.b_ticker] == base.ticker[pair].tolist()
    checked = 0
    for j, eo in enumerate(inp.eo_values):
        for hold in (1, 4):
            p = cfg.strategy.replace(entry_offset=eo, hold=hold)
            table = build_signals(catalog, p).table
            assert len(table) > 5
            got = {
                (base.event_id[b], base.ticker[b]): cfg.strategy.weight * inp.b_weight[j, k]
                for k, b in enumerate(pair)
                if not inp.pre_skip[j, k]
            }
            for _, r in table.iterrows():
                assert got[(r["event_id"], r["ticker"])] == r["weight"]  # exactly
                checked += 1
    # the scale varies (a test of weight_by, not of ones)
    assert len(np.unique(inp.b_weight)) > 3
    assert ((inp.b_weight > 0) & (inp.b_weight <= 1)).all()
    assert checked > 30


def test_sweep_b_weight_is_one_without_weight_by(catalog):
    from evbt import api
    from evbt.strategies.config import load_config

    inp = api.sweep_inputs(load_config("examples/sweep_launch.toml"))
    assert inp.b_weight.shape == inp.ent_cal.shape
    assert (inp.b_weight == 1.0).all()
