"""Our Numba core against vectorbt 1.2 `Portfolio.from_signals` on the same inputs.

Same close prices, entries, exits, direction, fees, slippage, stop-loss, init_cash and
size=inf (all-in per ticker account). Both are warmed up first (compilation excluded), then
timed over repeats; peak Python-tracked memory (numpy included) via tracemalloc. The ratio
column is vectorbt / evbt from the same run. Measured, never asserted.

    python benchmarks/bench_kernel_vs_vectorbt.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
import warnings

import numpy as np

from evbt.backtest.enums import SimParams
from evbt.backtest.nb import simulate_nb

SEED = 7


def make_case(n_sessions: int, n_tickers: int, n_events: int, hold: int, rng: np.random.Generator):
    r = rng.standard_t(4, size=(n_sessions, n_tickers)) * 0.02 / np.sqrt(2.0)
    close = 100.0 * np.exp(np.cumsum(r, axis=0))
    # windows never touch (as the signal layer guarantees per ticker): gaps of >= hold + 2
    slots = np.sort(rng.choice((n_sessions - 1) // (hold + 2), size=n_events, replace=False))
    starts = slots * (hold + 2)
    ticker, entry, exit_ = [], [], []
    for s in starts:  # every event trades every ticker (a basket), like launch_shock on semis
        for t in range(n_tickers):
            ticker.append(t)
            entry.append(s)
            exit_.append(s + hold)
    order = np.lexsort((np.array(ticker), np.array(entry)))
    sig = {
        "ticker": np.array(ticker, np.int64)[order],
        "entry": np.array(entry, np.int64)[order],
        "exit": np.array(exit_, np.int64)[order],
    }
    sig["event"] = np.arange(len(order), dtype=np.int64)
    sig["direction"] = np.full(len(order), -1, np.int64)
    sig["weight"] = np.ones(len(order))
    sig["real"] = np.ones(close.shape, dtype=np.bool_)  # every bar real (C1 mask)
    return np.ascontiguousarray(close), sig


def run_evbt(close, sig, params):
    return simulate_nb(
        close,
        close,
        close,
        close,
        sig["real"],
        sig["ticker"],
        sig["event"],
        sig["entry"],
        sig["exit"],
        sig["direction"],
        sig["weight"],
        params,
    )


def run_vbt(close, sig, params):
    import vectorbt as vbt

    n, m = close.shape
    entries = np.zeros((n, m), bool)
    exits = np.zeros((n, m), bool)
    entries[sig["entry"], sig["ticker"]] = True
    exits[sig["exit"], sig["ticker"]] = True
    return vbt.Portfolio.from_signals(
        close,
        short_entries=entries,
        short_exits=exits,
        size=np.inf,
        fees=params.fees,
        slippage=params.slippage,
        sl_stop=params.sl_stop,
        init_cash=params.init_cash,
        freq="1D",
        stop_exit_price="stopmarket",  # stops pay slippage, as ours do (README: differences)
    ).total_return()


def measure(fn, repeat):
    fn()  # warm-up: compile / first-call costs excluded
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # vectorbt's own deprecation chatter on pandas 3
    params = SimParams(
        fees=0.0005,
        slippage=0.0005,
        sl_stop=0.10,
        tp_stop=np.nan,
        price_mode=0,
        stop_on=0,
        size_type=0,
        size=1.0,
        init_cash=100_000.0,
        mode=0,
        max_gross=1.0,
    )
    rng = np.random.default_rng(SEED)
    cases = [
        ("sample-sized: 2,200 sessions x 12 tickers x 60 events", 2200, 12, 60),
        ("wide: 5,000 sessions x 500 tickers x 100 events", 5000, 500, 100),
    ]
    print(
        f"{'case':58s} {'evbt':>10s} {'vectorbt':>10s} {'ratio':>7s} {'evbt mem':>10s} {'vbt mem':>10s}"
    )
    for label, n, m, e in cases:
        close, sig = make_case(n, m, e, 5, rng)
        t_e, mem_e = measure(lambda c=close, g=sig: run_evbt(c, g, params), args.repeat)
        t_v, mem_v = measure(lambda c=close, g=sig: run_vbt(c, g, params), args.repeat)
        trades, equity = run_evbt(close, sig, params)[:2]
        ours = equity[-1] / params.init_cash - 1.0
        theirs = np.asarray(run_vbt(close, sig, params))
        agree = np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-12))
        print(
            f"{label:58s} {t_e * 1e3:8.2f}ms {t_v * 1e3:8.2f}ms {t_v / t_e:6.1f}x "
            f"{mem_e / 2**20:8.1f}MB {mem_v / 2**20:8.1f}MB"
        )
        print(
            f"{'':58s} {len(trades)} trades; total return per ticker agrees to {agree:.1e} relative"
        )


if __name__ == "__main__":
    main()
