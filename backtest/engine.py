"""Simulation wiring: ``run(config) -> BacktestResult`` and ``study(config) -> StudyRun``.

Data flows one way: prices + catalog -> signals -> kernel -> labelled tables -> Parquet.
This layer checks and aligns inputs, calls the kernel, and puts labels back; it holds no
trading logic of its own (that lives in signals/ and backtest/nb.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evbt.backtest.manifest import make_manifest
from evbt.backtest.market import Market, load_market
from evbt.backtest.result import BacktestResult
from evbt.backtest.study_run import run_study_for
from evbt.config import Config
from evbt.errors import InputError
from evbt.signals.rules import SignalSet, build_signals, to_arrays

EXIT_REASONS = {0: "time", 1: "stop_loss", 2: "take_profit", 3: "open"}


def sim_params(config: Config):
    """Config -> the kernel's SimParams NamedTuple."""
    from evbt.backtest.enums import SimParams

    s, p, c = config.strategy, config.portfolio, config.costs
    return SimParams(
        fees=float(c.fees),
        slippage=float(c.slippage),
        sl_stop=float(s.stop_loss) if s.stop_loss is not None else np.nan,
        tp_stop=float(s.take_profit) if s.take_profit is not None else np.nan,
        price_mode=0 if s.price == "close" else 1,
        stop_on=0 if s.stop_on == "close" else 1,
        size_type=0 if p.size_type == "fraction" else 1,
        size=float(p.size),
        init_cash=float(p.init_cash),
        mode=0 if p.mode == "per_ticker" else 1,
        max_gross=float(p.max_gross),
    )


def simulate(config: Config, market: Market, signals: SignalSet):
    """Run the kernel for one config on prepared market data; returns labelled frames."""
    from evbt.backtest.nb import simulate_nb

    arrays, unplaced = to_arrays(
        signals.table, market.index, market.tickers, bars=(market.first_bar, market.last_bar)
    )
    trades_rec, equity, position, n_skipped = simulate_nb(
        market.open,
        market.high,
        market.low,
        market.close,
        arrays.ticker,
        arrays.event,
        arrays.entry,
        arrays.exit,
        arrays.direction,
        arrays.weight,
        sim_params(config),
    )
    idx = market.index
    n = len(idx)
    tr = pd.DataFrame(trades_rec)
    trades = pd.DataFrame(
        {
            "event_id": [arrays.event_ids[e] for e in tr["event"]] if len(tr) else [],
            "ticker": [market.tickers[t] for t in tr["ticker"]] if len(tr) else [],
            "direction": np.where(tr["direction"].to_numpy() > 0, "long", "short")
            if len(tr)
            else [],
            "entry_session": idx[tr["entry_idx"].to_numpy()] if len(tr) else [],
            "exit_session": idx[np.minimum(tr["exit_idx"].to_numpy(), n - 1)] if len(tr) else [],
            "entry_price": tr["entry_price"] if len(tr) else [],
            "exit_price": tr["exit_price"] if len(tr) else [],
            "size": tr["size"] if len(tr) else [],
            "entry_fees": tr["entry_fees"] if len(tr) else [],
            "exit_fees": tr["exit_fees"] if len(tr) else [],
            "pnl": tr["pnl"] if len(tr) else [],
            "ret": tr["ret"] if len(tr) else [],
            "exit_reason": [EXIT_REASONS[int(r)] for r in tr["exit_reason"]] if len(tr) else [],
            "exit_reason_code": tr["exit_reason"] if len(tr) else [],
        }
    )
    trades["lookahead"] = (
        signals.table["lookahead"].to_numpy()[arrays.rows[tr["signal"].to_numpy()]]
        if len(tr)
        else []
    )
    trades = trades.astype({"lookahead": bool})
    cols = market.tickers if config.portfolio.mode == "per_ticker" else ["portfolio"]
    eq = pd.DataFrame(equity, index=idx, columns=cols)
    eq["total"] = eq[cols].sum(axis=1)
    pos = pd.DataFrame(position, index=idx, columns=market.tickers)
    overlap_skips = int(n_skipped)
    return trades, eq, pos, unplaced, overlap_skips, arrays


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
            out[c] = out[c].astype("float64")
    return out


def run(
    config: Config,
    *,
    prices_path: str | None = None,
    events_path: str | None = None,
    study: bool | None = None,
) -> BacktestResult:
    """Run one backtest: load prices and the catalog, build signals, simulate, measure."""
    from evbt.backtest.metrics import pnl_by_event
    from evbt.data.catalog import load_catalog

    catalog = load_catalog(events_path or config.data.events)
    signals = build_signals(catalog, config.strategy)
    if signals.table.empty:
        raise InputError(
            f"{config.origin}: [strategy] select matches no event in the catalog: "
            "check kind/org/tags (evbt events list shows what is there)"
        )
    tickers = list(dict.fromkeys(signals.table["ticker"]))
    bench_t = config.data.benchmark
    load = tickers + ([bench_t] if bench_t and bench_t not in tickers else [])
    market = load_market(config, load, prices_path=prices_path)
    bench = (
        pd.Series(market.close[:, market.tickers.index(bench_t)], index=market.index, name=bench_t)
        if bench_t
        else None
    )
    trade_market = market
    if bench_t and bench_t not in tickers:
        keep = [market.tickers.index(t) for t in tickers]
        trade_market = Market(
            index=market.index,
            tickers=tickers,
            open=np.ascontiguousarray(market.open[:, keep]),
            high=np.ascontiguousarray(market.high[:, keep]),
            low=np.ascontiguousarray(market.low[:, keep]),
            close=np.ascontiguousarray(market.close[:, keep]),
            source=market.source,
            synthetic=market.synthetic,
            data_hash=market.data_hash,
            filled=market.filled,
            first_bar=market.first_bar[keep],
            last_bar=market.last_bar[keep],
        )
    trades, eq, pos, unplaced, n_overlap, arrays = simulate(config, trade_market, signals)
    metrics = _metrics_table(trades, eq, pos, bench, config)
    skipped = pd.concat([signals.skipped, unplaced], ignore_index=True)
    placed = len(signals.table) - len(unplaced)
    if placed == 0:
        raise InputError(
            f"no signal falls inside the price data ({market.index[0]:%Y-%m-%d} to "
            f"{market.index[-1]:%Y-%m-%d}; {len(unplaced)} skipped): widen [data] start/end"
        )
    result = BacktestResult(
        config=config,
        signals=signals,
        trades=trades,
        equity=eq,
        position=pos,
        metrics=metrics,
        pnl_by_event=pnl_by_event(_coded(trades)),
        skipped=skipped,
        manifest={},
        benchmark=bench,
        market=trade_market,
        arrays=arrays,
    )
    do_study = config.study.enabled if study is None else study
    if do_study:
        result.study = run_study_for(config, market, signals.table)
    result.manifest = make_manifest(result, market, n_kernel_skips=n_overlap)
    return result


def to_vectorbt(result: BacktestResult):
    """A ``vectorbt.Portfolio`` holding the same trades as ``result`` (per_ticker mode), so
    vectorbt's analytics and plots work on an evbt run. See README: differences."""
    from evbt.backtest.interop import to_vectorbt as _to_vectorbt

    m, a = result.market, result.arrays
    return _to_vectorbt(
        open_=m.open,
        high=m.high,
        low=m.low,
        close=m.close,
        sig_ticker=a.ticker,
        sig_entry=a.entry,
        sig_exit=a.exit,
        sig_direction=a.direction,
        sig_weight=a.weight,
        sig_event=a.event,
        params=sim_params(result.config),
        index=m.index,
        columns=m.tickers,
        freq="1D",
    )
