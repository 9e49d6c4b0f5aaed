"""Time loading 11 tickers x 9 years from the yfinance Parquet cache, offline.

The cache is built in a temp folder from SYNTHETIC random-walk prices through the same
code that writes downloads (``data.yf.write_cache``), then
``load_prices(..., source="yfinance", offline=True)`` is timed over several repeats.
Each load reads and hashes every Parquet, checks it against the contract and the NYSE
calendar coverage, and cuts the range. Measured, never asserted.

    python benchmarks/bench_cache_load.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import pandas as pd

from evbt.data.calendar import sessions
from evbt.data.sources import load_prices
from evbt.data.yf import write_cache

TICKERS = ["NVDA", "AMD", "AVGO", "TSM", "MU", "INTC", "ASML", "SMH", "SOXX", "QQQ", "SPY"]
START, END = "2016-01-04", "2024-12-31"  # 9 years


def synthetic_prices(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = sessions(START, END)
    n = len(days)
    parts = []
    for t in TICKERS:
        close = 50 * np.exp(np.cumsum(rng.normal(0.0004, 0.02, n)))
        open_ = close * np.exp(rng.normal(0, 0.006, n))
        parts.append(
            pd.DataFrame(
                {
                    "date": days,
                    "ticker": t,
                    "open": open_,
                    "high": np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n)),
                    "low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n)),
                    "close": close,
                    "volume": rng.lognormal(16, 0.4, n).round(),
                    "adj_close": close * np.linspace(0.9, 1.0, n),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out.attrs["synthetic"] = True
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    prices = synthetic_prices()
    with tempfile.TemporaryDirectory(prefix="evbt-bench-cache-") as tmp:
        t0 = time.perf_counter()
        write_cache(prices, cache_dir=tmp, origin="benchmark")
        t_write = time.perf_counter() - t0

        def load() -> pd.DataFrame:
            return load_prices(TICKERS, START, END, source="yfinance", cache_dir=tmp, offline=True)

        t0 = time.perf_counter()
        first = load()
        t_first = time.perf_counter() - t0
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            df = load()
            times.append(time.perf_counter() - t0)
    assert len(df) == len(first) == len(prices)
    print(
        f"cache load, {len(TICKERS)} tickers x {START[:4]}-{END[:4]} ({len(df)} rows, SYNTHETIC): "
        f"median {statistics.median(times) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms "
        f"over {args.repeat} repeats (first load {t_first * 1e3:.1f} ms, cache write {t_write * 1e3:.1f} ms)"
    )


if __name__ == "__main__":
    main()
