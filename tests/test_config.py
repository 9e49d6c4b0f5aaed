"""TOML config decoding: defaults from presets, did-you-mean, one-line errors, stable ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evbt.errors import InputError
from evbt.strategies.config import from_dict, load_config
from evbt.strategies.presets import BASKETS, PRESETS, get_preset

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_config_loads(path):
    cfg = load_config(path)
    assert cfg.origin == str(path)
    assert cfg.strategy.name in PRESETS


def test_preset_defaults_then_overrides():
    cfg = from_dict({"strategy": {"name": "launch_shock", "hold": 3}})
    assert cfg.strategy.hold == 3
    assert cfg.strategy.direction == get_preset("launch_shock").direction == "short"


def test_config_id_is_canonical_and_sensitive():
    a = from_dict({"strategy": {"name": "launch_shock", "hold": 3}, "output": {"dir": "x"}})
    b = from_dict({"output": {"dir": "y"}, "strategy": {"hold": 3, "name": "launch_shock"}})
    c = from_dict({"strategy": {"name": "launch_shock", "hold": 4}})
    assert a.id == b.id  # key order and output folder do not change the work
    assert a.id != c.id


#: Every bad config the TOML path refuses (tests/test_config_api.py builds each in Python).
BAD_CONFIGS = [
    ({"strategy": {"hodl": 3}}, "did you mean 'hold'"),
    ({"stratgy": {}}, "did you mean [strategy]"),
    ({"strategy": {"name": "launch_shok"}}, "did you mean 'launch_shock'"),
    ({"costs": {"fees": 1.0}}, "[costs] fees"),
    ({"costs": {"slippage": -0.1}}, "[costs] slippage"),
    ({"portfolio": {"init_cash": 0}}, "[portfolio] init_cash"),
    ({"portfolio": {"mode": "both"}}, "[portfolio] mode"),
    ({"strategy": {"stop_loss": 0}}, "[strategy] stop_loss"),
    ({"strategy": {"stop_loss": -0.1}}, "[strategy] stop_loss"),
    ({"strategy": {"hold": 0}}, "[strategy] hold"),
    ({"strategy": {"hold": "5"}}, "[strategy] hold"),
    ({"strategy": {"direction": "up"}}, "[strategy] direction"),
    ({"strategy": {"price": "vwap"}}, "[strategy] price"),
    ({"strategy": {"select": {"knd": ["earnings"]}}}, "did you mean 'kind'"),
    ({"data": {"source": "bloomberg"}}, "[data] source"),
    ({"data": {"source": "file"}}, "needs prices"),
    ({"study": {"window": [3, 5]}}, "[study] window"),
    ({"sweep": {"hold": {"start": 5, "stop": 1}}}, "[sweep] hold"),
    ({"sweep": {"hodl": [1, 2]}}, "did you mean 'hold'"),
    # no leverage (contract C1), finite amounts, the TOML words and documented bounds
    ({"portfolio": {"size": 5}}, "[portfolio] size = 5: use a fraction of equity in (0, 1]"),
    ({"portfolio": {"size_type": "notional", "size": -1}}, "[portfolio] size = -1"),
    ({"portfolio": {"size_type": "equity_fraction"}}, '"fraction" or "notional"'),
    ({"portfolio": {"mode": "shared"}}, '"per_ticker" or "shared_cash"'),
    ({"portfolio": {"max_gross": 1.5}}, "[portfolio] max_gross"),
    ({"portfolio": {"init_cash": float("inf")}}, "use a finite number"),
    ({"costs": {"fees": float("nan")}}, "[costs] fees = nan"),
    ({"costs": {"fees": "0.001"}}, "[costs] fees"),
    ({"strategy": {"weight": 2}}, "[strategy] weight"),
    ({"strategy": {"take_profit": 0}}, "[strategy] take_profit"),
    ({"strategy": {"stop_on": "intrabar"}}, '"close" or "high_low"'),
    ({"strategy": {"tickers": []}}, "[strategy] tickers"),
    ({"strategy": {"allow_lookahead": "yes"}}, "use true or false"),
    ({"strategy": {"select": {"kind": ["earning"]}}}, "[strategy.select] kind"),
    ({"data": {"start": "2024-02-30"}}, "[data] start"),
    ({"study": {"model": "capm"}}, "[study] model"),
    ({"study": {"estimation": 10}}, "[study] estimation"),
    ({"study": {"placebo": -1}}, "[study] placebo"),
    ({"sweep": {"hold": [1, 0]}}, "[sweep] hold = 0"),
    ({"sweep": {"fees": [0.0, 0.5]}}, "[sweep] fees = 0.5"),
]


@pytest.mark.parametrize(("raw", "needle"), BAD_CONFIGS)
def test_bad_config_one_line_error(raw, needle):
    with pytest.raises(InputError) as e:
        from_dict(raw, origin="cfg.toml")
    msg = str(e.value)
    assert needle in msg
    assert msg.startswith("cfg.toml:")
    assert "\n" not in msg


def test_toml_syntax_error_names_file_and_line(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[strategy]\nname = "launch_shock"\nhold = \n')
    with pytest.raises(InputError, match=r"bad.toml: not valid TOML.*line 3"):
        load_config(p)


def test_missing_config_file(tmp_path):
    with pytest.raises(InputError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_sweep_ranges_expand():
    cfg = from_dict({"sweep": {"hold": {"start": 1, "stop": 9, "step": 2}, "fees": [0.0, 0.001]}})
    assert cfg.sweep == {"hold": (1, 3, 5, 7, 9), "fees": (0.0, 0.001)}


def test_baskets_expand_in_order_without_duplicates():
    p = get_preset("launch_shock").replace(tickers=("NVDA", "semis"))
    assert p.resolved_tickers() == BASKETS["semis"]


# ------------------------------------------- "none" for no stop in a plain config (issue 15)


def _stops(name: str, **extra) -> dict:
    return {"data": {"source": "sample"}, "strategy": {"name": name, **extra}}


@pytest.mark.parametrize("word", ["none", "None", " NONE "])
def test_stop_none_in_strategy_is_no_stop(word):
    cfg = from_dict(_stops("launch_shock", stop_loss=word, take_profit=word))
    assert cfg.strategy.stop_loss is None and cfg.strategy.take_profit is None
    # the same config as a preset without a stop: the same id, so the same run
    plain = from_dict(_stops("launch_rebound"))
    assert from_dict(_stops("launch_rebound", stop_loss=word)).id == plain.id


@pytest.mark.parametrize("value", ["nope", "0.05", "no", ""])
def test_other_words_for_a_stop_are_refused(value):
    with pytest.raises(InputError, match=r'\[strategy\] stop_loss = .*or "none"'):
        from_dict(_stops("launch_shock", stop_loss=value))


def test_stop_none_matches_a_sweep_combination_with_none():
    """A sweep's "none" is a value a plain config can now write (combo_config's output)."""
    from evbt.backtest.sweep import combo_config, grid_table

    cfg = from_dict({**_stops("launch_shock"), "sweep": {"stop_loss": ["none", 0.05]}})
    row = grid_table(cfg).iloc[0]
    as_written = from_dict(_stops("launch_shock", stop_loss="none"))
    assert combo_config(cfg, row).strategy == as_written.strategy


def test_backtest_with_stop_none_equals_no_field_without_a_stop_and_differs_with_one():
    """launch_rebound has no stop: "none" changes nothing. launch_shock has a 10% stop;
    held 20 sessions on the sample (SYNTHETIC) prices it stops out of five trades, so
    "none" must give other trades and another return."""
    import evbt

    def run(name, **extra):
        raw = _stops(name, **extra)
        raw["study"] = {"enabled": False}
        return evbt.run(from_dict(raw), study=False)

    a, b = run("launch_rebound"), run("launch_rebound", stop_loss="none", take_profit="none")
    pd.testing.assert_frame_equal(a.trades, b.trades)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    assert a.manifest["run_id"] == b.manifest["run_id"]
    with_stop, no_stop = (
        run("launch_shock", hold=20),
        run("launch_shock", hold=20, stop_loss="none"),
    )
    assert (with_stop.trades["exit_reason"] == "stop_loss").any()
    assert not (no_stop.trades["exit_reason"] == "stop_loss").any()
    assert with_stop.metrics.loc[0, "total_return"] != no_stop.metrics.loc[0, "total_return"]


# A swept numeric list is checked at its smallest and largest value (every numeric rule is
# an interval); the property: the shortcut refuses exactly the lists in which some single
# value is refused, and the message names one of those values.
_SWEPT = {
    "hold": st.integers(-3, 40),
    "entry_offset": st.integers(-50, 50),
    "stop_loss": st.floats(-0.5, 12.0, allow_nan=False),
    "fees": st.floats(-0.01, 0.2, allow_nan=False),
    "slippage": st.floats(-0.01, 0.2, allow_nan=False),
}


def _alone_ok(key: str, v) -> bool:
    try:
        from_dict({"sweep": {key: [v]}})
    except InputError:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(data=st.data(), key=st.sampled_from(sorted(_SWEPT)))
def test_swept_values_checked_at_the_ends_refuse_what_one_by_one_refuses(data, key):
    values = data.draw(st.lists(_SWEPT[key], min_size=3, max_size=8, unique=True))
    bad = [v for v in values if not _alone_ok(key, v)]
    try:
        from_dict({"sweep": {key: values}})
    except InputError as e:
        assert bad, (values, str(e))
        assert any(f"[sweep] {key} = {b!r}:" in str(e) for b in bad), (bad, str(e))
    else:
        assert not bad, values


def test_a_range_of_a_million_holds_is_checked_at_its_ends():
    """The config of a 10^9 grid is read without building a table per value (issue 19)."""
    cfg = from_dict({"sweep": {"hold": {"start": 1, "stop": 1_000_000}}})
    assert len(cfg.sweep["hold"]) == 1_000_000
    with pytest.raises(InputError, match=r"\[sweep\] hold = 0"):
        from_dict({"sweep": {"hold": {"start": 0, "stop": 999_999}}})
