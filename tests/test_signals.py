"""Signals: reaction anchoring, the lookahead guard, point-in-time invariance, policies."""

from __future__ import annotations

import io
import json
import warnings
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
    # (entered 2025-01-30; its time is unknown, events.md section E) can anchor on it and exits the session before, 2025-02-26;
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


# ------------------------------------------------------------- point-in-time weight_by

LEAN = Select(
    kind=("model_launch",),
    tags=("china", "efficiency"),
    weight_by="active_params_b",
    weight_invert=True,
)


def _with_appended_launch(
    raw: pd.DataFrame, tmp_path, monkeypatch, *, day: str, active: float
) -> pd.DataFrame:
    """The bundled catalog plus one China efficiency launch on ``day`` with ``active``
    billion active parameters (the attributes file patched beside it)."""
    import evbt.data.attributes as A

    row = {c: "" for c in raw.columns}
    row.update(
        id="zz-lean-launch",
        name="A lean launch",
        org="ZZ Lab",
        kind="model_launch",
        tags="china;efficiency",
        date=day,
        time="unknown",
        tz="Asia/Shanghai",
        scheduled="false",
        status="confirmed",
        source="test fixture",
        confidence="single",
    )
    cat = load_catalog(pd.concat([raw, pd.DataFrame([row])], ignore_index=True))
    attrs = A.DEFAULT_ATTRIBUTES.read_text(encoding="utf-8").rstrip("\n")
    path = tmp_path / f"attributes-{day}-{active}.csv"
    path.write_text(
        attrs + f"\nzz-lean-launch,active_params_b,{active},billion parameters,test\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(A, "DEFAULT_ATTRIBUTES", path)
    return cat


def test_weight_by_appending_a_later_launch_never_changes_an_earlier_trade(
    catalog, raw_catalog, tmp_path, monkeypatch
):
    """Issue 15.2: the normaliser of ``weight_by`` is point in time (expanding over the
    confirmed selected events known at each entry): a July-2026 launch with fewer active
    parameters than any before changes the weights after it, never one before it."""
    p = StrategyParams(tickers=("NVDA", "AMD"), select=LEAN, weight=0.8)
    before = build_signals(catalog, p).table
    cat = _with_appended_launch(raw_catalog, tmp_path, monkeypatch, day="2026-07-06", active=2.0)
    after = build_signals(cat, p).table
    cut = T("2026-07-06")
    early_b = before[before["entry_session"] < cut].reset_index(drop=True)
    early_a = after[after["entry_session"] < cut].reset_index(drop=True)
    pd.testing.assert_frame_equal(early_b, early_a)
    assert len(early_b) >= 8  # four launches x two tickers
    # ... and it does act from its own entry on: it is the leanest, later ones scale down
    late = after[after["entry_session"] >= cut].set_index(["event_id", "ticker"])["weight"]
    assert late.loc[("zz-lean-launch", "NVDA")] == 0.8
    assert (late.drop("zz-lean-launch", level=0) < 0.8 * 2.0 / 13 + 1e-12).all()


@settings(max_examples=12, derandomize=True, deadline=None)
@given(
    day=st.dates(
        min_value=pd.Timestamp("2023-01-02").date(), max_value=pd.Timestamp("2026-09-30").date()
    ),
    active=st.sampled_from([1.0, 13.0, 30.0, 500.0]),
    invert=st.booleans(),
)
def test_weight_by_is_point_in_time_for_any_appended_launch(
    catalog, raw_catalog, tmp_path_factory, day, active, invert
):
    """Any launch appended on any day leaves every trade entered before that day as it was,
    weights included (both directions of ``weight_invert``)."""
    mp = pytest.MonkeyPatch()
    try:
        cat = _with_appended_launch(
            raw_catalog, tmp_path_factory.mktemp("attrs"), mp, day=f"{day:%Y-%m-%d}", active=active
        )
        p = StrategyParams(
            tickers=("NVDA",),
            select=Select(
                kind=("model_launch",), weight_by="active_params_b", weight_invert=invert
            ),
        )
        after = build_signals(cat, p).table
    finally:
        mp.undo()
    before = build_signals(catalog, p).table
    known = cat.set_index("id").at["zz-lean-launch", "known_at"]
    pd.testing.assert_frame_equal(
        before[before["entry_session"] < known].reset_index(drop=True),
        after[after["entry_session"] < known].reset_index(drop=True),
    )


def test_weight_by_deepseek_v2_same_with_the_catalog_cut_at_2025_end(catalog, raw_catalog):
    """Issue 15.2: the May-2024 DeepSeek-V2 trade of the issue's run (launch_shock, China
    efficiency launches, weight by fewest active parameters) has one weight whether the
    catalog is the bundled one or the one known on 2025-12-31 (it was 13/21 of it with the
    bundled catalog, because DeepSeek-V4-Flash, 13B active, launched in July 2026)."""
    p = get_preset("launch_shock").replace(select=LEAN)
    cut = load_catalog(
        raw_catalog[raw_catalog["id"].isin(catalog["id"][catalog["known_at"] <= T("2025-12-31")])]
    )
    assert "deepseek-v4-flash" in set(catalog["id"]) and "deepseek-v4-flash" not in set(cut["id"])
    full = build_signals(catalog, p).table
    mine = build_signals(cut, p).table
    end = full["entry_session"] <= T("2025-12-31")
    pd.testing.assert_frame_equal(full[end].reset_index(drop=True), mine)
    w = full.set_index("event_id")["weight"]
    assert w["deepseek-v2"] == p.weight  # 21B active: the leanest known in May 2024
    assert w["deepseek-v4-flash"] == p.weight  # 13B: the leanest known in July 2026


def test_weight_by_deepseek_v2_trade_size_on_real_prices(raw_catalog, tmp_path):
    """The issue's figure on real prices: the DeepSeek-V2 trade's size (shares) is the
    same with the bundled catalog and with the catalog cut at 2025-12-31."""
    from pathlib import Path

    from evbt import api
    from evbt.strategies.config import from_dict

    prices = Path("/work/shared/marketdata/prices.parquet")
    if not prices.exists():
        pytest.skip("real prices not present (../shared/marketdata)")
    cat = load_catalog(raw_catalog)
    cut_path = tmp_path / "cut.csv"
    raw_catalog[raw_catalog["id"].isin(cat["id"][cat["known_at"] <= T("2025-12-31")])].to_csv(
        cut_path, index=False
    )
    sizes = []
    for events in (None, str(cut_path)):
        data = {"source": "file", "prices": str(prices), "end": "2025-12-31"}
        if events:
            data["events"] = events
        cfg = from_dict(
            {
                "data": data,
                "strategy": {
                    "name": "launch_shock",
                    "tickers": ["NVDA"],
                    "select": {
                        "kind": ["model_launch"],
                        "tags": ["china", "efficiency"],
                        "weight_by": "active_params_b",
                        "weight_invert": True,
                    },
                },
                "study": {"enabled": False},
            }
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = api.run(cfg, study=False)
        sizes.append(float(res.trades.set_index("event_id").at["deepseek-v2", "size"]))
    assert sizes[0] == sizes[1] > 0


# ------------------------------------------------- selection says what it did (issue 19.9)


@pytest.mark.parametrize(
    ("select", "needle"),
    [
        (
            {"ids": ("deepseek-r1", "deepsek-v3")},
            "select.ids: unknown event 'deepsek-v3' (did you mean 'deepseek-v3'?)",
        ),
        (
            {"kind": ("model_launch",), "attrs": {"parms": {"max": 40}}},
            "select.attrs.parms: unknown attribute 'parms': use one of active_params_b",
        ),
        (
            {"kind": ("model_launch",), "attrs": {"open_weight": True}},
            "unknown attribute 'open_weight' (did you mean 'open_weights'?)",
        ),
        (
            {"kind": ("model_launch",), "weight_by": "active_param_b"},
            "select.weight_by: unknown attribute 'active_param_b' (did you mean 'active_params_b'?)",
        ),
    ],
)
def test_select_naming_what_does_not_exist_is_an_error(catalog, select, needle):
    """Regression (issue 19.9): a misspelt id traded one event without a word; an unknown
    attribute key got "check kind/org/tags"."""
    p = StrategyParams(select=Select(**select))
    for call in (
        lambda: build_signals(catalog, p),
        lambda: build_signals(catalog, p, asof="2025-06-30"),
    ):
        with pytest.raises(InputError) as e:
            call()
        assert needle in str(e.value) and "\n" not in str(e.value)


def test_select_id_known_later_is_not_an_error_as_of_an_earlier_day(catalog):
    """An id of the catalog that was not yet known on the as-of day selects nothing then
    (point in time), without an error: ids are checked against the whole catalog."""
    p = StrategyParams(select=Select(ids=("deepseek-v4",)), tickers=("NVDA",))
    assert build_signals(catalog, p, asof="2026-02-10").table.empty
    assert build_signals(catalog, p).table["event_id"].tolist() == ["deepseek-v4"]


def test_select_min_above_max_is_an_error():
    from evbt.errors import FieldError

    with pytest.raises(FieldError, match=r"attrs.active_params_b = \{ min = 50, max = 40 \}"):
        Select(attrs={"active_params_b": {"min": 50, "max": 40}})


def test_sweep_refuses_an_unknown_select_id(catalog):
    from evbt.backtest.sweep import sweep_events
    from evbt.strategies.config import from_dict

    cfg = from_dict(
        {
            "strategy": {"select": {"ids": ["deepseek-r1", "qwen-3"]}},
            "sweep": {"hold": [1, 2]},
        }
    )
    with pytest.raises(InputError, match=r"unknown event 'qwen-3' \(did you mean 'qwen3'\?\)"):
        sweep_events(cfg, catalog)
