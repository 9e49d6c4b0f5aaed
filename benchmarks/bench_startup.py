"""Start-up time of the CLI, as whole processes (interpreter start included).

Three commands a user types: ``evbt --help``, ``evbt events list`` and the README's demo
backtest ``evbt backtest examples/launch_shock.toml`` (warm: one untimed run first fills
the Numba cache). Each is run several times; the median and the minimum are printed, with
the heavy modules the process loaded (``-X importtime``), so a regression shows where it
comes from. Targets (issue 11): --help < 0.3 s, events list < 1 s, demo < 2 s warm.
Measured, never asserted.

    python benchmarks/bench_startup.py [--repeat 7]
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
HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "scipy.stats",
    "scipy.special",
    "scipy.linalg",
    "vectorbt",
    "exchange_calendars",
    "numba",
    "pyarrow",
)


def _argv(args: list[str]) -> list[str]:
    # the console script is what a user runs; fall back to the module in a bare checkout
    exe = shutil.which("evbt")
    return [exe, *args] if exe else [sys.executable, "-m", "evbt.cli", *args]


def one_run(args: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        _argv(args), cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"evbt {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return dt


def heavy_imports(args: list[str], env: dict[str, str]) -> str:
    """Which heavy modules the command loads, with their cumulative import time."""
    code = "import sys; from evbt.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-c", code, *args],  # -P: not the checkout
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return f"(probe failed: {proc.stderr.strip().splitlines()[-1:]})"
    seen: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = (p.strip() for p in line[len("import time:") :].split("|"))
        if name in HEAVY and cum.isdigit():
            seen[name] = max(seen.get(name, 0), int(cum))
    if not seen:
        return "none"
    return ", ".join(f"{k} {v / 1e6:.2f} s" for k, v in sorted(seen.items(), key=lambda x: -x[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    out = tempfile.mkdtemp(prefix="evbt-out-")
    env = dict(os.environ)
    env.pop("EVBT_RESULTS", None)
    commands = [
        ("evbt --help", ["--help"], 0.3),
        ("evbt events list", ["events", "list"], 1.0),
        (
            "evbt backtest examples/launch_shock.toml (warm)",
            ["backtest", "examples/launch_shock.toml", "--out", out],
            2.0,
        ),
    ]
    print(f"evbt start-up, whole processes, median of {args.repeat} runs (min in brackets)")
    try:
        for label, argv, target in commands:
            one_run(argv, env)  # untimed: fills the Numba cache and the OS file cache
            times = [one_run(argv, env) for _ in range(args.repeat)]
            med = statistics.median(times)
            print(f"  {label:<50} {med:6.2f} s  [{min(times):.2f}]  target < {target:.1f} s")
            print(f"    heavy imports: {heavy_imports(argv, env)}")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
