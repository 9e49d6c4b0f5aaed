"""Start-up time of the CLI, as whole processes (interpreter start included).

Commands a user types: ``evbt --help``, ``evbt events list``, the README's demo backtest
``evbt backtest examples/launch_shock.toml`` into a fresh results folder each time (report
included, warm Numba cache: one untimed run first fills it), and with ``--cold`` the first
run after install (an empty ``NUMBA_CACHE_DIR`` each time: every kernel compiles). Each is
run several times; the median and the minimum are printed, with the heavy modules the
process loaded (``-X importtime``), so a regression shows where it comes from. Targets
(issue 17): --help < 0.3 s, events list <= 0.5 s, demo <= 2 s warm, first run <= 10 s.
Measured, never asserted.

    python benchmarks/bench_startup.py [--repeat 7] [--cold]
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
    # a fresh results folder per run: a rerun into the same folder reuses the stored run
    # and skips the report, which is not what a user sees when a config changes
    with tempfile.TemporaryDirectory(prefix="evbt-out-") as out:
        argv = [a if a != "{out}" else out for a in args]
        if env.get("NUMBA_CACHE_DIR") == "{cold}":
            env = {**env, "NUMBA_CACHE_DIR": os.path.join(out, "numba-cache")}
        t0 = time.perf_counter()
        proc = subprocess.run(
            _argv(argv), cwd=ROOT, env=env, capture_output=True, text=True, check=False
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
    ap.add_argument("--cold", action="store_true", help="also time the first run (compiles)")
    args = ap.parse_args()
    env = dict(os.environ)
    env.pop("EVBT_RESULTS", None)
    demo = ["backtest", "examples/launch_shock.toml", "--out", "{out}"]
    commands = [
        ("evbt --help", ["--help"], 0.3, env),
        ("evbt events list", ["events", "list"], 0.5, env),
        ("evbt backtest examples/launch_shock.toml (warm, fresh folder)", demo, 2.0, env),
    ]
    if args.cold:
        cold = {**env, "NUMBA_CACHE_DIR": "{cold}"}
        commands.append(("evbt backtest examples/launch_shock.toml (cold cache)", demo, 10.0, cold))
    print(f"evbt start-up, whole processes, median of {args.repeat} runs (min in brackets)")
    for label, argv, target, run_env in commands:
        one_run(argv, run_env)  # untimed: fills the Numba cache and the OS file cache
        times = [one_run(argv, run_env) for _ in range(args.repeat)]
        med = statistics.median(times)
        print(f"  {label:<62} {med:6.2f} s  [{min(times):.2f}]  target <= {target:.1f} s")
        if run_env is env:
            with tempfile.TemporaryDirectory(prefix="evbt-out-") as out:
                probe = [a if a != "{out}" else out for a in argv]
                print(f"    heavy imports: {heavy_imports(probe, env)}")


if __name__ == "__main__":
    main()
