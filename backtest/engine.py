"""Simulation wiring: market matrices + a signal set -> the kernel -> labelled tables.

The application (:mod:`evbt.api`) loads prices and the catalog and builds the signals; this
layer checks and aligns inputs, calls the kernel, and puts labels back. It loads and writes
nothing and holds no trading logic of its own (that lives in signals/ and backtest/nb.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evbt.backtest.enums import EXIT_REASON_NAMES, STATUS_NAMES, SignalStatus
from evbt.backtest.market import Market
from evbt.errors import InputError
from evbt.signals.rules import (
    SKIP_COLUMNS,
    SignalArrays,
    SignalSet,
    to_arrays,
)
from evbt.strategies.config import Config

EXIT_REASONS = dict(enumerate(EXIT_REASON_NAMES))


def sim_params(config: Config):
    """Config -> the kernel's checked SimParams (TOML words mapped in backtest.enums)."""
    from evbt.backtest.enums import params_from_config

    try:
        return params_from_config(config)
    except ValueError as e:
        raise InputError(f"{config.origin}: {e}") from None


def _kernel_skips(
    status: np.ndarray, arrays: SignalArrays, market: Market, lag: int
) -> pd.DataFrame:
    """One skipped row (event_id, ticker, code, reason) per signal the kernel did not take."""
    idx, n = market.index, len(market.index)
    rows = []
    for k in np.flatnonzero(status != SignalStatus.TRADED):
        code = int(status[k])
        ticker = market.tickers[int(arrays.ticker[k])]
        b = int(arrays.entry[k]) + lag
        x = int(arrays.exit[k])
        xb = x if (lag == 0 or x == n - 1) else x + 1
        if code == SignalStatus.NO_BAR_ENTRY:
            why = (
                f"{ticker} has no price bar on {idx[b]:%Y-%m-%d}, its entry fill session"
                if b < n
                else "its entry fills after the last session of the data"
            )
        elif code == SignalStatus.NO_BAR_EXIT:
            why = f"{ticker} has no price bar on {idx[xb]:%Y-%m-%d}, its exit fill session"
        elif code == SignalStatus.OVERLAP:
            why = f"overlaps a trade taken on {ticker}"
        elif code == SignalStatus.NO_CASH:
            why = "no cash left to fund it"
        elif code == SignalStatus.GROSS_CAP:
            why = "the gross exposure cap (max_gross) left no room"
        elif code == SignalStatus.RUINED:
            why = "its account was ruined (equity <= 0) before the entry"
        else:
            why = "its fill price is not finite and > 0"
        rows.append((arrays.event_ids[int(arrays.event[k])], ticker, STATUS_NAMES[code], why))
    return pd.DataFrame(rows, columns=SKIP_COLUMNS)


def _say_if_compiling(config: Config, kernel: Any) -> None:
    """The first run's one line: the backtest kernel, and the study's when the config
    runs one (the study's kernels compile in a forked process beside the backtest's where
    the system can fork: ``evbt.api.run``)."""
    from evbt.backtest.jit import is_cold, say_if_compiling

    if not is_cold(kernel):
        return
    families, kernels = ["backtest"], [kernel]
    if config.study.enabled:
        from evbt.backtest import study_nb

        if is_cold(study_nb.event_ar_nb):
            families.append("event-study")
    say_if_compiling(families, kernels, side_by_side=hasattr(os, "fork"))


def simulate(config: Config, market: Market, signals: SignalSet):
    """Run the kernel for one config on prepared market data; returns labelled frames.

    Returns ``(trades, equity, position, skipped, arrays)``: ``skipped`` holds the signals
    that could not be placed on the price data and those the kernel refused (C1 codes).
    """
    from evbt.backtest.jit import gate
    from evbt.backtest.nb import simulate_kernel, simulate_nb

    params = sim_params(config)
    arrays, unplaced = to_arrays(signals.table, market.index, market.tickers)
    _say_if_compiling(config, simulate_kernel(params.mode))
    f8, i8 = np.float64, np.int64
    trades_rec, equity, position, status = simulate_nb(
        gate(market.open, f8),
        gate(market.high, f8),
        gate(market.low, f8),
        gate(market.close, f8),
        gate(market.real, np.bool_),
        gate(arrays.ticker, i8),
        gate(arrays.event, i8),
        gate(arrays.entry, i8),
        gate(arrays.exit, i8),
        gate(arrays.direction, i8),
        gate(arrays.weight, f8),
        params,
    )
    idx = market.index
    tr = pd.DataFrame(trades_rec)
    has = len(tr) > 0
    trades = pd.DataFrame(
        {
            "event_id": [arrays.event_ids[e] for e in tr["event"]] if has else [],
            "ticker": [market.tickers[t] for t in tr["ticker"]] if has else [],
            "direction": np.where(tr["direction"].to_numpy() > 0, "long", "short") if has else [],
            "entry_session": idx[tr["entry_idx"].to_numpy()] if has else [],
            "exit_session": idx[tr["exit_idx"].to_numpy()] if has else [],
            "entry_price": tr["entry_price"] if has else [],
            "exit_price": tr["exit_price"] if has else [],
            "size": tr["size"] if has else [],
            "entry_fees": tr["entry_fees"] if has else [],
            "exit_fees": tr["exit_fees"] if has else [],
            "pnl": tr["pnl"] if has else [],
            "ret": tr["ret"] if has else [],
            "exit_reason": [EXIT_REASONS[int(r)] for r in tr["exit_reason"]] if has else [],
            "exit_reason_code": tr["exit_reason"] if has else [],
            "capped": tr["capped"] if has else [],
        }
    )
    trades["lookahead"] = (
        signals.table["lookahead"].to_numpy()[arrays.rows[tr["signal"].to_numpy()]] if has else []
    )
    trades = trades.astype(
        {"lookahead": bool, "capped": bool, "exit_reason_code": np.int64, "size": np.float64}
    )
    cols = market.tickers if config.portfolio.mode == "per_ticker" else ["portfolio"]
    eq = pd.DataFrame(equity, index=idx, columns=cols)
    eq["total"] = eq[cols].sum(axis=1)
    pos = pd.DataFrame(position, index=idx, columns=market.tickers)
    skipped = pd.concat(
        [unplaced, _kernel_skips(status, arrays, market, params.price_mode)], ignore_index=True
    )
    return trades, eq, pos, skipped, arrays


def _coded(trades: pd.DataFrame) -> pd.DataFrame:
    """The metrics layer reads exit reasons as integer codes (3 = still open)."""
    return trades.assign(exit_reason=trades["exit_reason_code"])


def _metrics_table(trades, eq, pos, bench, config: Config) -> pd.DataFrame:
    from evbt.backtest.metrics import compute_metrics

    trades = _coded(trades)
    rows = []
    m = compute_metrics(eq["total"], trades, position=pos, benchmark=bench)
    rows.append(pd.concat([pd.Series({"scope": "total"}), m]))
    if config.portfolio.mode == "per_ticker":
        for t in pos.columns:
            mt = compute_metrics(
                eq[t], trades[trades["ticker"] == t], position=pos[[t]], benchmark=bench
            )
            rows.append(pd.concat([pd.Series({"scope": t}), mt]))
    out = pd.DataFrame(rows).reset_index(drop=True)
    for c in out.columns:
        if c != "scope":
            out[c] = out[c].astype("int64" if c == "n_trades" else "float64")
    return out


def _event_rows(catalog: pd.DataFrame, signals: SignalSet) -> pd.DataFrame:
    """The catalog rows of the events a run signalled (for the folder's ``events`` table)."""
    ids = set(signals.table["event_id"]) | set(signals.skipped.get("event_id", []))
    cols = ["id", "name", "org", "kind", "tags", "date"]
    return catalog.loc[catalog["id"].isin(ids), cols].rename(columns={"id": "event_id"})


@dataclass(frozen=True)
class RunTables:
    """What :func:`backtest_tables` computes: the labelled tables of one backtest."""

    trades: pd.DataFrame
    equity: pd.DataFrame
    position: pd.DataFrame
    metrics: pd.DataFrame
    pnl_by_event: pd.DataFrame
    skipped: pd.DataFrame
    benchmark: pd.Series | None
    market: Market  # the trade tickers only (the benchmark left out unless traded)
    arrays: SignalArrays
    events: pd.DataFrame
    ruined: bool


def check_weight(config: Config) -> None:
    """``[strategy] weight`` is a fraction in (0, 1] (no leverage)."""
    weight = config.strategy.weight
    if not (0.0 < weight <= 1.0):
        raise InputError(
            f"{config.origin}: [strategy] weight = {weight}: use a fraction in (0, 1] "
            "(no leverage: 1 commits the whole size to each signal)"
        )


def backtest_tables(
    config: Config, market: Market, signals: SignalSet, catalog: pd.DataFrame
) -> RunTables:
    """One backtest on prepared inputs: ``market`` holds the signals' tickers and the
    ``[data] benchmark``; ``catalog`` is the frame the signals came from. Loads nothing."""
    from evbt.backtest.metrics import pnl_by_event

    params = sim_params(config)
    tickers = list(dict.fromkeys(signals.table["ticker"]))
    bench_t = config.data.benchmark
    bench = (
        pd.Series(market.close[:, market.tickers.index(bench_t)], index=market.index, name=bench_t)
        if bench_t
        else None
    )
    trade_market = market.select(tickers) if bench_t and bench_t not in tickers else market
    trades, eq, pos, kernel_skipped, arrays = simulate(config, trade_market, signals)
    n_accounts = len(tickers) if config.portfolio.mode == "per_ticker" else 1
    if bench is not None:
        # The benchmark's buy and hold with the strategy's initial capital.
        eq["benchmark"] = bench / bench.iloc[0] * (params.init_cash * n_accounts)
    metrics = _metrics_table(trades, eq, pos, bench, config)
    skipped = pd.concat([signals.skipped, kernel_skipped], ignore_index=True)
    skipped = skipped.astype({c: str for c in SKIP_COLUMNS})
    placed = len(arrays.entry)
    if placed == 0:
        raise InputError(
            f"{config.origin}: no signal falls inside the price data "
            f"({market.index[0]:%Y-%m-%d} to {market.index[-1]:%Y-%m-%d}; "
            f"{len(signals.table)} signal(s) outside it): widen [data] start/end"
        )
    ruined = bool((trades["exit_reason"] == "ruined").any()) or bool(
        (eq.drop(columns=["benchmark"], errors="ignore") <= 0).any().any()
    )
    return RunTables(
        trades=trades,
        equity=eq,
        position=pos,
        metrics=metrics,
        pnl_by_event=pnl_by_event(_coded(trades)),
        skipped=skipped,
        benchmark=bench,
        market=trade_market,
        arrays=arrays,
        events=_event_rows(catalog, signals),
        ruined=ruined,
    )


def _kernel_trades(result: Any) -> np.ndarray:
    """``result.trades`` back as the kernel's ``trade_dt`` records (what to_vectorbt reads)."""
    from evbt.backtest.enums import ExitReason, trade_dt

    t, m, a = result.trades, result.market, result.arrays
    out = np.zeros(len(t), dtype=trade_dt)
    if len(t) == 0:
        return out
    col = {name: i for i, name in enumerate(m.tickers)}
    out["ticker"] = [col[x] for x in t["ticker"]]
    out["direction"] = np.where(t["direction"] == "long", 1, -1)
    out["entry_idx"] = m.index.get_indexer(pd.DatetimeIndex(t["entry_session"]))
    out["exit_idx"] = m.index.get_indexer(pd.DatetimeIndex(t["exit_session"]))
    out["exit_reason"] = t["exit_reason_code"].to_numpy()
    # the signal each trade came from: its ticker's signal entering at (entry - lag)
    lag = 1 if result.config.strategy.price == "next_open" else 0
    key: dict[tuple[int, int], int] = {}
    for k, (tk, e) in enumerate(zip(a.ticker, a.entry, strict=True)):
        key.setdefault((int(tk), int(e)), k)  # a later twin is always OVERLAP (C1 rule 2)
    out["signal"] = [
        key[(int(tk), int(e) - lag)] for tk, e in zip(out["ticker"], out["entry_idx"], strict=True)
    ]
    if (out["exit_reason"] == ExitReason.RUINED).any():
        raise ValueError(
            "to_vectorbt cannot mirror a ruined account: vectorbt covers a losing short only "
            "as far as its cash pays and never closes it"
        )
    return out


def to_vectorbt(result: Any):
    """A ``vectorbt.Portfolio`` holding the same trades as ``result`` (per_ticker mode), so
    vectorbt's analytics and plots work on an evbt run: its ``stats()`` and
    ``sharpe_ratio()``, ``sortino_ratio()``, ``calmar_ratio()`` equal ``result.metrics``'
    per ticker (``group_by=True``: the total), with the same 252-session year and CAGR, its
    benchmark is the run's (``result.benchmark``), and ``.plot()`` works with one ticker and
    with several (it plots the total).
    See README: differences, and ``backtest.interop``."""
    from evbt.backtest.interop import to_vectorbt as _to_vectorbt

    m, a = result.market, result.arrays
    return _to_vectorbt(
        open_=m.open,
        high=m.high,
        low=m.low,
        close=m.close,
        real=m.real,
        sig_ticker=a.ticker,
        sig_entry=a.entry,
        sig_exit=a.exit,
        sig_direction=a.direction,
        sig_weight=a.weight,
        sig_event=a.event,
        params=sim_params(result.config),
        trades=_kernel_trades(result),
        index=m.index,
        columns=m.tickers,
        freq="1D",
        benchmark=result.benchmark,
    )
