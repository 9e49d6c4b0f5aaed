"""Issue 17's target table from one run: every row measured here, vectorbt's figures
from the same run, written to benchmarks/results.md (machine, date and load in it) for the
README to include.

python benchmarks/run_all.py [--skip-suite] [--skip-s2] [--skip-dask] [--out benchmarks/results.md]

Rows: the first ``evbt backtest`` after install (cold Numba cache and a cold evbt user
cache: compiles), the demo backtest into a fresh results folder with its report (warm),
``evbt events list``, S1 whole process and in-process against vectorbt, S2 (a million
backtests to Parquet) time and peak memory, S2's twin on a Dask LocalCluster with 2 worker
processes against 1 (``bench_dask.py``, which also prints a scheduler with worker
processes), and the quick suite from a cold Numba cache. Each figure is one whole process
started here (medians where repeated). Measured, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO = "examples/launch_shock.toml"

# (what, before (issue 17), target, goal)
ROWS = {
    "first": (
        "first `evbt backtest` after install (cold cache), whole process",
        "43.6 s",
        "<= 10 s",
        "<= 5 s",
    ),
    "demo": (
        "demo backtest, fresh results folder, report included, warm cache",
        "7.4-7.7 s",
        "<= 2.0 s",
        "1.5 s",
    ),
    "events": ("`evbt events list`", "1.42 s", "<= 0.5 s", "0.3 s"),
    "s1_whole": ("S1 whole process vs vectorbt", "6.3x", ">= 10x", "20x"),
    "s1_in": ("S1 in-process vs vectorbt", "26x", ">= 50x", "100x"),
    "s2": ("S2, 1M backtests to Parquet, whole process", "53.5 s", "<= 15 s", "10 s"),
    "s2_mem": ("S2 peak memory", "555 MB", "<= 1 GB", "500 MB"),
    "dask": (
        "S2 on a Dask LocalCluster, 2 workers vs 1 (2 cores)",
        "unmeasured",
        ">= 1.7x (85% efficiency)",
        "1.9x",
    ),
    "suite": ("quick suite, cold Numba cache, 2 cores", "~400 s", "<= 180 s", "120 s"),
}
# numeric targets: (value must be <=, or >=)
TARGET = {
    "first": ("<=", 10.0),
    "demo": ("<=", 2.0),
    "events": ("<=", 0.5),
    "s1_whole": (">=", 10.0),
    "s1_in": (">=", 50.0),
    "s2": ("<=", 15.0),
    "s2_mem": ("<=", 1024.0),
    "dask": (">=", 1.7),
    "suite": ("<=", 180.0),
}


def timed(cmd: list[str], env: dict[str, str] | None = None, **kw) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False, **kw)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall


def evbt_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "evbt.cli", *args]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-suite", action="store_true", help="Skip the cold quick suite.")
    ap.add_argument("--skip-s2", action="store_true", help="Skip the million-backtest run.")
    ap.add_argument("--skip-dask", action="store_true", help="Skip the Dask scaling run.")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    a = ap.parse_args()

    started = dt.datetime.now(dt.UTC)
    load0 = os.getloadavg()
    got: dict[str, tuple[float, str]] = {}  # key -> (value, shown)
    notes: list[str] = []
    print(
        f"evbt benchmarks, {started:%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, load average {load0[0]:.1f}",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="evbt-bench-") as d:
        tmp = Path(d)
        # 1. first backtest after install: cold Numba cache, cold evbt user cache
        cold = dict(
            os.environ, NUMBA_CACHE_DIR=str(tmp / "numba-cold"), XDG_CACHE_HOME=str(tmp / "xdg")
        )
        t = timed(evbt_cmd("backtest", DEMO, "--out", str(tmp / "first")), cold)
        got["first"] = (t, f"{t:.1f} s")
        print(f"first backtest, cold: {t:.2f} s", flush=True)

        # 2. demo backtest, warm caches, a fresh results folder each time, report included
        warm = dict(
            os.environ, NUMBA_CACHE_DIR=str(tmp / "numba-cold"), XDG_CACHE_HOME=str(tmp / "xdg")
        )
        runs = [
            timed(evbt_cmd("backtest", DEMO, "--out", str(tmp / f"demo{i}")), warm)
            for i in range(3)
        ]
        t = statistics.median(runs)
        got["demo"] = (t, f"{t:.2f} s")
        print(
            f"demo backtest, fresh folder, report: {', '.join(f'{x:.2f}' for x in runs)} s",
            flush=True,
        )

        # 3. events list (warm calendar cache)
        runs = [timed(evbt_cmd("events", "list"), warm) for _ in range(5)]
        t = statistics.median(runs)
        got["events"] = (t, f"{t:.2f} s")
        print(f"events list: {', '.join(f'{x:.2f}' for x in runs)} s", flush=True)

        # 4. S1 and S2 against vectorbt (bench_sweep.py)
        sweep_json = tmp / "sweep.json"
        cmd = [sys.executable, str(HERE / "bench_sweep.py"), "--json", str(sweep_json)]
        if a.skip_s2:
            cmd.append("--skip-s2")
        print("== bench_sweep.py", flush=True)
        subprocess.run(cmd, cwd=ROOT, check=False)
        sw = json.loads(sweep_json.read_text()) if sweep_json.exists() else {}
        if "s1_vbt_whole_s" in sw:
            r = sw["s1_vbt_whole_s"] / sw["s1_evbt_whole_s"]
            got["s1_whole"] = (
                r,
                f"{r:.1f}x ({sw['s1_evbt_whole_s']:.2f} s vs vectorbt {sw['s1_vbt_whole_s']:.2f} s)",
            )
            r = sw["s1_vbt_inprocess_s"] / sw["s1_evbt_inprocess_s"]
            got["s1_in"] = (
                r,
                f"{r:.1f}x ({sw['s1_evbt_inprocess_s']:.3f} s vs {sw['s1_vbt_inprocess_s']:.2f} s)",
            )
        if "s2_whole_s" in sw:
            got["s2"] = (
                sw["s2_whole_s"],
                f"{sw['s2_whole_s']:.1f} s ({sw['s2_backtests']:,} backtests)",
            )
            got["s2_mem"] = (sw["s2_rss_mb"], f"{sw['s2_rss_mb']:.0f} MB")

        # 5. Dask scaling (bench_dask.py)
        if not a.skip_dask:
            dask_json = tmp / "dask.json"
            print("== bench_dask.py", flush=True)
            subprocess.run(
                [sys.executable, str(HERE / "bench_dask.py"), "--json", str(dask_json)],
                cwd=ROOT,
                check=False,
            )
            if dask_json.exists():
                rows = json.loads(dask_json.read_text())
                by = {r["setup"]: r for r in rows}
                two = next((r for r in rows if r["setup"].startswith("LocalCluster, 2")), None)
                one = next((r for r in rows if r["setup"].startswith("LocalCluster, 1")), None)
                if two and one:
                    s = one["seconds"] / two["seconds"]
                    got["dask"] = (
                        s,
                        f"{s:.2f}x ({100 * s / 2:.0f}% efficiency; S2 twin, 126,720 backtests: {one['seconds']:.1f} s -> {two['seconds']:.1f} s)",
                    )
                notes.append(
                    "Dask scaling (S2 twin): "
                    + "; ".join(f"{k}: {v['seconds']:.1f} s" for k, v in by.items())
                )

        # 6. the quick suite, cold Numba cache
        if not a.skip_suite:
            env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba-suite"))
            print("== quick suite (cold Numba cache)", flush=True)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            t = time.perf_counter() - t0
            tail = [ln for ln in proc.stdout.splitlines() if " passed" in ln or " failed" in ln]
            got["suite"] = (t, f"{t:.0f} s ({tail[-1].strip('= ') if tail else 'no summary'})")
            print(f"quick suite: {t:.1f} s: {tail[-1] if tail else proc.stdout[-500:]}", flush=True)

    load1 = os.getloadavg()
    lines = [
        "| what | before (issue 17) | now | target | goal | target met |",
        "|---|---|---|---|---|---|",
    ]
    for key, (what, before, target, goal) in ROWS.items():
        if key in got:
            value, shown = got[key]
            op, limit = TARGET[key]
            met = "yes" if (value <= limit if op == "<=" else value >= limit) else "no"
        else:
            shown, met = "not run", "-"
        lines.append(f"| {what} | {before} | {shown} | {target} | {goal} | {met} |")
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()})"
    md = [
        f"<!-- generated by benchmarks/run_all.py on {started:%Y-%m-%d %H:%M} UTC -->",
        f"Measured {started:%Y-%m-%d} on {machine}; load average {load0[0]:.1f} at the start, "
        f"{load1[0]:.1f} at the end (a shared machine inflates every time).",
        "",
        *lines,
        "",
        *(f"- {n}" for n in notes),
    ]
    a.out.write_text("\n".join(md).rstrip() + "\n")
    print("\n" + "\n".join(md))
    print(f"\nwritten to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
