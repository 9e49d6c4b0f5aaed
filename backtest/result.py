"""What a run returns: ``BacktestResult`` (a backtest) and ``StudyRun`` (an event study)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from evbt.backtest.market import Market
from evbt.config import Config
from evbt.signals.rules import SignalArrays, SignalSet


@dataclass
class BacktestResult:
    config: Config
    signals: SignalSet
    trades: pd.DataFrame
    equity: pd.DataFrame  # per account (ticker or "portfolio") plus "total"
    position: pd.DataFrame
    metrics: pd.DataFrame  # one row per scope: total, each ticker
    pnl_by_event: pd.DataFrame
    skipped: pd.DataFrame
    manifest: dict[str, Any]
    study: Any = None
    benchmark: pd.Series | None = None
    market: Market | None = None  # the aligned prices the kernel saw (trade tickers only)
    arrays: SignalArrays | None = None  # the signal arrays the kernel saw
    bench_metrics: pd.Series | None = None  # the benchmark's buy and hold, same metrics

    def summary(self) -> pd.Series:
        return self.metrics.set_index("scope").loc["total"]


@dataclass
class StudyRun:
    config: Config
    study: Any
    events: pd.DataFrame
    manifest: dict[str, Any]
