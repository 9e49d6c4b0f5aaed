"""Whole-process time of `evbt backtest examples/launch_shock.toml` on the bundled sample.

Cold: a fresh NUMBA_CACHE_DIR, so Numba compiles every kernel (a user's first run).
Warm: the same cache again (every later run). Each run is a new Python process, so the
figure includes interpreter start, imports (vectorbt is not imported by a backtest),
loading data, signals, the kernel, metrics, the event study and writing Parquet.
Measured, never asserted.

    python benchmarks/bench_backtest_cli.py [--repeat 5] [--config examples/launch_shock.toml]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(config: str, env: dict[str, str], out: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "evbt.cli", "backtest", config, "--out", out],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"backtest failed ({proc.returncode}): {proc.stderr.strip()}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="examples/launch_shock.toml")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="evbt-numba-")
    out = tempfile.mkdtemp(prefix="evbt-out-")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    try:
        cold = one_run(args.config, env, out)
        warm = [one_run(args.config, env, out) for _ in range(args.repeat)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    print(f"evbt backtest {args.config} (whole process, sample data)")
    print(f"  first run (cold Numba cache, compiles): {cold:.2f} s")
    print(
        f"  warm cache: median {statistics.median(warm):.2f} s, min {min(warm):.2f} s over {len(warm)} runs"
    )


if __name__ == "__main__":
    main()
