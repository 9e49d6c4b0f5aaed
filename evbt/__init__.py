"""evbt: event-driven backtests of AI launches and earnings (NVDA and the semiconductors).

The notebook API, one import::

    import evbt

    cfg = evbt.load_config("examples/launch_shock.toml")  # or evbt.Config(...) in Python
    result = evbt.run(cfg)          # a BacktestResult
    result.stats()                  # strategy beside the benchmark's buy and hold
    result.plot()                   # Plotly: equity with entries, exits and events
    path = result.write("results")  # the run folder: Parquet tables + manifest.json
    evbt.study(cfg).summary()       # the event study alone: CAAR and its tests

Every name is loaded on first use, so ``import evbt`` stays cheap (no pandas, no Numba).

>>> import evbt
>>> sorted(evbt.presets())[:2]
['earnings_runup', 'event_window']
>>> cfg = evbt.Config(strategy=evbt.presets()["launch_shock"].replace(hold=3))
>>> cfg.strategy.direction, cfg.portfolio.mode
('short', 'per_ticker')
>>> evbt.Config(portfolio=evbt.config.PortfolioConfig(size=2))
Traceback (most recent call last):
...
evbt.errors.FieldError: PortfolioConfig: [portfolio] size = 2: use a fraction of equity in (0, 1] (no leverage; size_type = "notional" for cash amounts)
>>> result = evbt.run(cfg, study=False)  # bundled SYNTHETIC sample prices
>>> result.stats().loc[["total_return", "sharpe"]].shape
(2, 2)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evbt.api import pre_earnings, run, study, sweep
    from evbt.errors import InputError
    from evbt.result import BacktestResult, StudyRun, SweepResult
    from evbt.strategies.config import Config, load_config
    from evbt.strategies.presets import StrategyParams

# public name -> (module, attribute); imported on first access (PEP 562)
_LAZY: dict[str, tuple[str, str]] = {
    "Config": ("evbt.strategies.config", "Config"),
    "load_config": ("evbt.strategies.config", "load_config"),
    "InputError": ("evbt.errors", "InputError"),
    "run": ("evbt.api", "run"),
    "study": ("evbt.api", "study"),
    "sweep": ("evbt.api", "sweep"),
    "pre_earnings": ("evbt.api", "pre_earnings"),
    "write_report": ("evbt.report", "write_report"),
    "BacktestResult": ("evbt.result", "BacktestResult"),
    "StudyRun": ("evbt.result", "StudyRun"),
    "SweepResult": ("evbt.result", "SweepResult"),
}
# Subpackages and modules reachable as attributes without an explicit import
# (``evbt.config.PortfolioConfig``, ``evbt.report.write_report``, ...).
_MODULES: tuple[str, ...] = ("api", "backtest", "cli", "config", "data", "errors", "report")
_MODULES += ("result", "signals", "store", "strategies")

__all__ = [
    "BacktestResult",
    "Config",
    "InputError",
    "StudyRun",
    "SweepResult",
    "load_config",
    "pre_earnings",
    "presets",
    "run",
    "study",
    "sweep",
    "write_report",
]


def presets() -> dict[str, StrategyParams]:
    """The named strategies, each a frozen :class:`~evbt.strategies.presets.StrategyParams`
    (change a field with ``.replace(hold=3)``).

    >>> presets()["launch_shock"].direction
    'short'
    """
    from evbt.strategies.presets import PRESETS

    return {name: make() for name, make in PRESETS.items()}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # later look-ups skip this hook
        return value
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "__version__":
        from importlib.metadata import version

        return version("evbt")
    raise AttributeError(f"module 'evbt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *_MODULES, "__version__"})
