"""Event study speed: 60 events x 12 tickers, 1,000 placebo draws, 2,000 bootstrap resamples.

On the bundled SYNTHETIC sample returns (benchmark: their equal-weighted average), 60 seeded random event sessions,
each hitting all 12 tickers (720 event rows). The first call includes Numba compilation
(or loading the compiled cache); the warm figure is the median of repeats in one process.
There is no vectorbt counterpart (vectorbt has no event study). Measured, never asserted.

    python benchmarks/bench_study.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from evbt.backtest.study import run_study
from evbt.data.sample import load_sample

SEED = 11


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    px = load_sample().pivot(index="date", columns="ticker", values="close")
    rets = px.pct_change().iloc[1:]
    tickers = list(rets.columns)  # all 12 sample tickers
    bench = rets.mean(axis=1)  # equal-weighted market of the 12: a benchmark none of them is
    rng = np.random.default_rng(SEED)
    sessions = rng.choice(np.arange(200, len(rets) - 20), size=60, replace=False)
    events = pd.DataFrame(
        [(f"ev{i}", t, rets.index[s]) for i, s in enumerate(sessions) for t in tickers],
        columns=["event_id", "ticker", "reaction_session"],
    )
    kw = dict(
        window=(-5, 10),
        model="market_model",
        estimation=120,
        gap=10,
        bootstrap=2000,
        placebo=1000,
        seed=0,
    )
    t0 = time.perf_counter()
    res = run_study(rets[tickers], bench, events, **kw)
    first = time.perf_counter() - t0
    warm = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        run_study(rets[tickers], bench, events, **kw)
        warm.append(time.perf_counter() - t0)
    print(
        f"event study, {events['event_id'].nunique()} events x {len(tickers)} tickers = {len(events)} rows, "
        f"1000 placebo, 2000 bootstrap (SYNTHETIC sample)"
    )
    print(f"  first call in process (compile or cache load): {first:.2f} s")
    print(
        f"  warm: median {statistics.median(warm) * 1e3:.1f} ms, min {min(warm) * 1e3:.1f} ms over {len(warm)} runs"
    )
    print(f"  {len(res.summary)} summary rows, {res.n_skipped} rows skipped")


if __name__ == "__main__":
    main()
