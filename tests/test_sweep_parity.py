"""Sweep = backtest for every option (issue 15, item 1).

The cases are generated from the config dataclasses: every field of ``[strategy]`` (and of
its ``select`` table), ``[costs]`` and ``[portfolio]`` must have a case here that sets it to a
value other than its default, or an entry in ``NOT_A_CASE`` saying why no case can show
it. A field added later that has neither fails :func:`test_every_config_field_has_a_case`,
so a new option the sweep would ignore cannot slip past the parity check.

Each case sweeps a small grid in both portfolio modes and compares every combination with
one ``evbt backtest`` of that combination's own config (``test_sweep._compare``: every
metric to 1e-9, signals, event blocks). Before the sweep kernel read ``weight_by``, the
``weight_by`` cases failed here (the sweep sized every signal at ``[strategy] weight``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import test_sweep

from evbt.strategies.config import CostsConfig, PortfolioConfig, from_dict
from evbt.strategies.presets import Select, StrategyParams

_compare = test_sweep._compare
fast_loads = test_sweep.fast_loads  # the fixture that caches catalog and prices

# The common base: three semis on the bundled sample, launches, a grid of four.
BASE: dict[str, Any] = {
    "data": {"source": "sample", "start": "2019-01-02", "end": "2026-06-30"},
    "strategy": {"tickers": ["NVDA", "AMD", "TSM"], "select": {"kind": ["model_launch"]}},
    "portfolio": {"init_cash": 10_000},
    "study": {"enabled": False},
}
GRID = {"entry_offset": [0, 1], "hold": [3, 5]}
GRID_ANCHORED = {"entry_offset": [-4, -1], "exit_offset": [-1, 1]}
GRID_OTHER = {"stop_loss": ["none", 0.05], "direction": ["long", "short"]}

# field -> (table overrides, grid): each sets the field to a non-default value
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "strategy.name": ({"strategy": {"name": "launch_shock"}}, GRID),
    "strategy.direction": ({"strategy": {"direction": "short"}}, GRID),
    "strategy.entry_offset": ({"strategy": {"entry_offset": 2}}, GRID_OTHER),
    "strategy.hold": ({"strategy": {"hold": 12}}, GRID_OTHER),
    "strategy.exit_anchor": (
        {"strategy": {"exit_anchor": "next_earnings", "select": {"kind": ["earnings"]}}},
        GRID_ANCHORED,
    ),
    "strategy.exit_offset": (
        {
            "strategy": {
                "exit_anchor": "next_earnings",
                "exit_offset": 2,
                "select": {"kind": ["earnings"]},
            }
        },
        {"entry_offset": [-6, -2], "stop_loss": ["none", 0.04]},
    ),
    "strategy.stop_loss": ({"strategy": {"stop_loss": 0.03}}, GRID),
    "strategy.take_profit": ({"strategy": {"take_profit": 0.04}}, GRID),
    "strategy.price": ({"strategy": {"price": "next_open", "stop_loss": 0.04}}, GRID),
    "strategy.stop_on": ({"strategy": {"stop_on": "high_low", "stop_loss": 0.03}}, GRID),
    "strategy.weight": ({"strategy": {"weight": 0.45}}, GRID),
    "strategy.overlap": (
        {"strategy": {"overlap": "merge"}},
        {"entry_offset": [0, 1], "hold": [10, 30]},
    ),
    "strategy.skip_if_earnings_within": ({"strategy": {"skip_if_earnings_within": 3}}, GRID),
    "strategy.allow_lookahead": (
        {"strategy": {"allow_lookahead": True}},
        {"entry_offset": [-3, 0], "hold": [3, 5]},
    ),
    "select.kind": ({"strategy": {"select": {"kind": ["policy"]}}}, GRID),
    "select.org": ({"strategy": {"select": {"kind": ["model_launch"], "org": ["DeepSeek"]}}}, GRID),
    "select.tags": ({"strategy": {"select": {"kind": ["model_launch"], "tags": ["china"]}}}, GRID),
    "select.tags_any": (
        {"strategy": {"select": {"kind": ["model_launch"], "tags_any": ["china", "efficiency"]}}},
        GRID,
    ),
    "select.ids": (
        {"strategy": {"select": {"ids": ["deepseek-r1", "deepseek-v3", "qwen2.5-max"]}}},
        GRID,
    ),
    "select.tickers": (
        {"strategy": {"select": {"kind": ["policy", "model_launch"], "tickers": ["NVDA"]}}},
        GRID,
    ),
    "select.confidence": (
        {"strategy": {"select": {"kind": ["model_launch"], "confidence": ["confirmed"]}}},
        GRID,
    ),
    "select.attrs": (
        {"strategy": {"select": {"kind": ["model_launch"], "attrs": {"open_weights": True}}}},
        GRID,
    ),
    "select.weight_by": (
        {"strategy": {"select": {"kind": ["model_launch"], "weight_by": "active_params_b"}}},
        GRID,
    ),
    "select.weight_invert": (
        {
            "strategy": {
                "select": {
                    "kind": ["model_launch"],
                    "tags": ["china"],
                    "weight_by": "active_params_b",
                    "weight_invert": True,
                }
            }
        },
        GRID,
    ),
    "costs.fees": ({"costs": {"fees": 0.002}}, GRID),
    "costs.slippage": ({"costs": {"slippage": 0.003}}, GRID),
    "portfolio.init_cash": ({"portfolio": {"init_cash": 25_000}}, GRID),
    "portfolio.size_type": ({"portfolio": {"size_type": "notional", "size": 4_000}}, GRID),
    "portfolio.size": ({"portfolio": {"size": 0.5}}, GRID),
    "portfolio.max_gross": ({"portfolio": {"max_gross": 0.6, "size": 0.4}}, GRID),
}
# fields no single case can show, with the reason
NOT_A_CASE = {
    "strategy.tickers": "every case trades three tickers (NVDA, AMD, TSM)",
    "strategy.select": "a table: its own fields are the select.* cases",
    "select.status": "a sweep, like a backtest, trades confirmed rows only; expected rows "
    "are refused for both (tests/test_signals.py)",
    "portfolio.mode": "every case runs in both modes",
}


def _fields() -> list[str]:
    out = []
    for prefix, cls in (
        ("strategy", StrategyParams),
        ("select", Select),
        ("costs", CostsConfig),
        ("portfolio", PortfolioConfig),
    ):
        out += [f"{prefix}.{f.name}" for f in dataclasses.fields(cls)]
    return out


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(a[k], v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
    return out


def test_every_config_field_has_a_case():
    fields = _fields()
    missing = [f for f in fields if f not in CASES and f not in NOT_A_CASE]
    assert not missing, f"add a parity case (or a reason in NOT_A_CASE) for {missing}"
    assert not (set(CASES) | set(NOT_A_CASE)) - set(fields), "a case names no field"


@pytest.mark.parametrize("field", sorted(CASES))
def test_case_sets_its_field_off_default(field):
    """A case that leaves its field at the default would show nothing."""
    table, name = field.split(".")
    over, _ = CASES[field]
    raw = _merge(BASE, over)
    cfg = from_dict({**raw, "sweep": {}})
    section = cfg.strategy.select if table == "select" else getattr(cfg, table)
    default = {
        "strategy": StrategyParams(),
        "select": Select(),
        "costs": CostsConfig(),
        "portfolio": PortfolioConfig(),
    }[table]
    assert getattr(section, name) != getattr(default, name), field


# Each field runs in one portfolio mode, alternating down the sorted list (CI time); the
# fields that change how a signal is sized or placed run in both.
BOTH_MODES = {"select.weight_by", "select.weight_invert", "strategy.overlap", "portfolio.max_gross"}
RUNS = [
    (f, mode)
    for i, f in enumerate(sorted(CASES))
    for mode in ("per_ticker", "shared_cash")
    if f in BOTH_MODES or mode == ("per_ticker", "shared_cash")[i % 2]
]


def test_both_modes_are_covered():
    modes = {m for _, m in RUNS}
    assert modes == {"per_ticker", "shared_cash"} and {f for f, _ in RUNS} == set(CASES)


@pytest.mark.slow  # about 35 runs of 4 combinations, one backtest each
@pytest.mark.parametrize(("field", "mode"), RUNS)
def test_sweep_equals_backtests_for_every_field(field, mode, fast_loads):
    over, grid = CASES[field]
    raw = _merge(_merge(BASE, {"portfolio": {"mode": mode}}), over)
    raw["sweep"] = dict(grid)
    _compare(from_dict(raw), 1)
