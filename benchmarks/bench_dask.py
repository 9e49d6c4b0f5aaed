"""Dask scaling of the sweep: the same job locally, on a LocalCluster of 1 and 2 worker
processes, and on a ``dask scheduler`` plus ``dask worker`` processes started as commands.

python benchmarks/bench_dask.py [--workers 1 2] [--repeat 3] [--skip-commands] [--json FILE]

The job (``--grid``): ``s2``, the default, is S2 itself (bench_sweep's S2_GRID on its
SYNTHETIC market: 101,376 combinations x 10 tickers = 1,013,760 backtests) in 16 tasks of
6,336 combinations, about 1.3 s each on one worker at 2026-12-06's kernel speed: the
README's rule keeps tasks at 1-10 s, and 16 tasks share evenly between 1 and 2 workers.
(Tasks of 3,168 lasted 1.2 s at 2026-12-04's speed and 0.65 s two days later, below the
rule; in four paired sweeps each, 2026-12-06, 2 workers against 1 gave 1.69, 1.61, 1.59
and 1.83x with them, 1.77, 1.80, 1.76 and 1.73x with tasks of 6,336: the tasks' compute
time grew by 4-16% on two busy cores against 7-9%.)
``twin`` is an eighth of that grid (one fee level, one slippage level, fills at the close:
126,720 backtests) in 16 tasks of 792, the job of the earlier runs: since the kernel got
2.5 times faster its tasks last 0.3 s, below the 1-10 s rule, and the client's fixed work
(inputs, the overfitting statistics, the run folder) weighs more than the workers' share.
Every setup runs ``evbt.sweep(cfg, executor="dask", scheduler=ADDRESS)`` as a user would,
into a fresh folder, after every worker has loaded the compiled kernels (one small chunk
each, untimed); its table must equal the local run's.

The command setup is what the README describes for a real cluster: ``dask scheduler`` and
``dask worker`` are separate processes, each in a working folder of its own (nothing shared
with the client but the scheduler file), on free ports (port 0, the address read from
``--scheduler-file``), without dashboards. Worker processes run 1 thread and Numba with one
thread (``NUMBA_NUM_THREADS=1``), so N workers use N cores; the local row runs in this
process with every core.

Each setup runs the sweep ``--repeat`` times (a fresh folder each) and reports the median:
on a 2-core machine one run's wall time moves by 10-20% from run to run. The local run and
the LocalClusters (started together) take turns, one sweep each per round, the order turning
each round, so the machine's drift within the hour falls on every setup alike; the command
setup runs after them.

Printed per setup: wall time (the median), speed-up over the 1-worker LocalCluster, efficiency (speed-up /
workers), the inputs each worker received (one broadcast scatter: the pickled
``SweepInputs``) and the results each worker sent back to the client (distributed's own
transfer log: ``transfer_outgoing_bytes_total`` and the number of transfers), the share of
the wall time the workers spent computing tasks (the scheduler's task stream), then the
figures the README's projection uses: combinations per second per worker and result bytes
per combination. Measured, never asserted. Needs dask[distributed].
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_sweep import N_TICKERS, S2_GRID, make_data, write_config  # noqa: E402

TWIN_GRID = """entry_offset = { start = -5, stop = 5 }
hold = [1, 2, 3, 5, 8, 13, 21, 34, 55]
stop_loss = ["none", 0.02, 0.03, 0.05, 0.075, 0.10, 0.15, 0.20]
take_profit = ["none", 0.05, 0.10, 0.20]
direction = ["long", "short"]
stop_on = ["close", "high_low"]"""
GRIDS = {  # name: (grid, combinations per task)
    "s2": (S2_GRID, 6336),
    "twin": (TWIN_GRID, 792),
}
CHUNK = GRIDS["s2"][1]  # set by --grid in main()


def _counters(dask_worker) -> tuple[int, int]:
    """(bytes, transfers) of task results this worker has sent (to the client or a worker)."""
    return int(dask_worker.transfer_outgoing_bytes_total), int(
        dask_worker.transfer_outgoing_count_total
    )


def _warm(inp) -> int:
    """Load (or compile) the sweep kernels in this worker: one small chunk, untimed."""
    from evbt.backtest.executor import chunk_task

    part, _ = chunk_task(inp, 0, 2)
    return len(part)


def _sweep(cfg: Path, out: Path, **kw) -> tuple[float, object]:
    import evbt
    from evbt.strategies.config import load_config

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = evbt.sweep(load_config(cfg), out=out, progress=False, chunk_size=CHUNK, **kw)
    return time.perf_counter() - t0, res


class _Setup:
    """One cluster a sweep runs on, warmed: every worker has loaded the compiled kernels
    (one small chunk each, untimed) and the scheduler records the task stream. ``once()``
    times one sweep; the results each worker sent are those of the last sweep, the tasks'
    compute time is kept per sweep."""

    def __init__(self, cfg: Path, inp, folder: Path, address: str, tag: str) -> None:
        from dask.distributed import Client

        self.cfg, self.folder, self.address, self.tag = cfg, folder, address, tag
        self.client = Client(address, timeout=60)
        self.workers = len(self.client.scheduler_info()["workers"])
        self.client.run(_warm, inp)  # every worker loads the kernels (untimed)
        self.client.get_task_stream(count=1)  # the scheduler starts recording the task stream
        self.walls: list[float] = []
        self.computes: list[float] = []  # the tasks' compute seconds, per sweep

    def once(self) -> None:
        c = self.client
        before = c.run(_counters)
        t0 = time.time()
        wall, self.res = _sweep(
            self.cfg, self.folder / self.tag, executor="dask", scheduler=self.address
        )
        self.walls.append(wall)
        after = c.run(_counters)
        self.sent = {w: (after[w][0] - before[w][0], after[w][1] - before[w][1]) for w in after}
        self.computes.append(
            sum(
                ss["stop"] - ss["start"]
                for rec in c.get_task_stream(start=t0)
                for ss in rec.get("startstops", ())
                if ss.get("action") == "compute"
            )
        )

    def row(self) -> dict:
        return {
            "workers": self.workers,
            "seconds": statistics.median(self.walls),
            "runs": self.walls,
            "sent": self.sent,
            "compute": self.computes[-1],
            # over every sweep of this setup: each sweep's compute against its own wall time
            "busy": sum(self.computes) / (sum(self.walls) * self.workers),
            "table": self.res.table(),
        }

    def close(self) -> None:
        self.client.close()


def _on_cluster(cfg: Path, inp, folder: Path, address: str, tag: str, repeat: int = 1) -> dict:
    """Warm every worker, then time ``repeat`` sweeps (the median) and the results each
    worker sent in the last one."""
    setup = _Setup(cfg, inp, folder, address, tag)
    try:
        for _ in range(repeat):
            setup.once()
        return setup.row()
    finally:
        setup.close()


def _runs(walls: list[float]) -> str:
    """``median s (run, run, run)``."""
    return f"{statistics.median(walls):.2f} s ({', '.join(f'{w:.2f}' for w in walls)})"


def _dask_exe() -> str:
    """The `dask` command of this environment (its bin folder), else the one on PATH."""
    here = Path(sys.executable).parent / "dask"
    return str(here) if here.exists() else (shutil.which("dask") or "dask")


def _commands(cfg: Path, inp, folder: Path, n_workers: int, repeat: int = 1) -> dict:
    """A `dask scheduler` and ``n_workers`` `dask worker` processes, each started in its own
    working folder; the scheduler on a free port (0), its address read from the scheduler
    file; no dashboards. Stopped (SIGTERM) at the end; their logs stay in their folders."""
    dask = _dask_exe()
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "NUMBA_NUM_THREADS": "1"}
    sched_dir = folder / "scheduler"
    sched_dir.mkdir()
    sched_file = sched_dir / "scheduler.json"
    procs: list[tuple[subprocess.Popen, object]] = []

    def start(argv: list[str], cwd: Path) -> None:
        log = open(cwd / "log.txt", "w")  # noqa: SIM115 - closed below, after the process
        procs.append((subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=log, env=env), log))

    try:
        start(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(sched_file)],
            sched_dir,
        )
        deadline = time.monotonic() + 120
        while not sched_file.exists():
            if time.monotonic() > deadline or procs[0][0].poll() is not None:
                raise RuntimeError(f"dask scheduler did not start: see {sched_dir / 'log.txt'}")
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written in one go, but give it a moment
        address = json.loads(sched_file.read_text())["address"]
        for i in range(n_workers):
            wdir = folder / f"worker{i}"
            wdir.mkdir()
            start(
                [dask, "worker", "--scheduler-file", str(sched_file), "--nthreads", "1"]
                + ["--nworkers", "1", "--no-dashboard", "--local-directory", str(wdir)],
                wdir,
            )
        from dask.distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(n_workers, timeout=180)
        r = _on_cluster(cfg, inp, folder, address, "cmd", repeat)
        r["address"] = address
        return r
    finally:
        for p, _ in reversed(procs):
            p.terminate()
        for p, log in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()  # type: ignore[attr-defined]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="LocalCluster sizes (worker processes of 1 thread); the first is the baseline",
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="Sweeps per setup; the median is reported."
    )
    ap.add_argument(
        "--skip-commands", action="store_true", help="No `dask scheduler` + `dask worker` run."
    )
    ap.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    ap.add_argument(
        "--grid", choices=sorted(GRIDS), default="s2", help="S2 itself (default) or its twin."
    )
    a = ap.parse_args()
    global CHUNK
    grid, CHUNK = GRIDS[a.grid]
    label = "S2" if a.grid == "s2" else "S2 twin"
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        print("dask[distributed] is not installed: pip install 'evbt[dask]'")
        return 1
    import pandas as pd

    from evbt import api
    from evbt.strategies.config import load_config

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="evbt-bench-dask-") as d:
        folder = Path(d)
        data = make_data(folder / "data")
        cfg = write_config(folder, data, a.grid, grid)
        inp = api.sweep_inputs(load_config(cfg))
        n_combos = inp.n_combos
        n_tasks = -(-n_combos // CHUNK)
        in_bytes = len(pickle.dumps(inp, protocol=5))
        print(
            f"{label}: {n_combos:,} combinations x {N_TICKERS} tickers = "
            f"{n_combos * N_TICKERS:,} backtests in {n_tasks} tasks of {CHUNK}; inputs "
            f"{in_bytes / 2**20:.2f} MB pickled; {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
        _warm(inp)
        # The local run and every LocalCluster take turns, one sweep each per round (the
        # clusters started together, idle while another runs), the order turning by one
        # each round: a 2-core machine's speed drifts by 10-15% within the hour, and runs
        # of one setup after another's would put that drift into the speed-up.
        # NUMBA_NUM_THREADS=1 for the worker processes spawned here, and only for them:
        # this process launched its Numba threads with every core, and Numba refuses to
        # compile a kernel (here, the overfitting statistics on a cold cache) once the
        # variable it reads again disagrees with them
        before = os.environ.get("NUMBA_NUM_THREADS")
        os.environ["NUMBA_NUM_THREADS"] = "1"
        try:
            clusters = [
                LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
                )
                for n in a.workers
            ]
        finally:
            if before is None:
                del os.environ["NUMBA_NUM_THREADS"]
            else:
                os.environ["NUMBA_NUM_THREADS"] = before
        setups: list[_Setup] = []
        try:
            setups = [
                _Setup(cfg, inp, folder, cl.scheduler_address, f"lc{n}")
                for n, cl in zip(a.workers, clusters, strict=True)
            ]
            local_walls: list[float] = []
            last: dict = {}

            def run_local() -> None:
                wall, last["local"] = _sweep(cfg, folder / "local")
                local_walls.append(wall)

            turns = [run_local, *(s.once for s in setups)]
            for r in range(a.repeat):
                for k in range(len(turns)):
                    turns[(r + k) % len(turns)]()
                print(
                    f"  round {r + 1}: local {local_walls[-1]:.2f} s, "
                    + ", ".join(f"{s.workers} worker(s) {s.walls[-1]:.2f} s" for s in setups),
                    flush=True,
                )
            ref = last["local"].table()
            rows.append({"setup": "local executor (this process, all cores)", "workers": 1})
            rows[-1].update(seconds=statistics.median(local_walls), runs=local_walls)
            for n, st in zip(a.workers, setups, strict=True):
                r = st.row()
                r["setup"] = f"LocalCluster, {n} worker process{'es' if n > 1 else ''}"
                rows.append(r)
        finally:
            for st in setups:
                st.close()
            # newest first: each LocalCluster quiets distributed's loggers while it is open
            # and restores the level it found when it closes, so closing the oldest first
            # let the next one's shutdown print a dozen INFO lines into the benchmark output
            for cl in reversed(clusters):
                cl.close()
        for r in rows:
            print(f"  {r['setup']}: {_runs(r['runs'])}", flush=True)
        if not a.skip_commands:
            n = max(a.workers)
            r = _commands(cfg, inp, folder, n, a.repeat)
            r["setup"] = f"dask scheduler + {n} dask worker commands"
            rows.append(r)
            print(f"  {r['setup']}: {_runs(r['runs'])}", flush=True)

    base = next((r for r in rows if r["setup"].startswith("LocalCluster")), rows[0])
    print(
        f"\n{'setup':42} {'workers':>7} {'seconds':>8} {'speed-up':>8} {'effic.':>7} "
        f"{'busy':>5} {'in MB/worker':>12}  results sent per worker (MB in transfers)"
    )
    out = []
    for r in rows:
        same = "table" not in r or r["table"].equals(ref)
        if "table" in r and not same:
            pd.testing.assert_frame_equal(r["table"], ref)  # shows the difference
        speed = base["seconds"] / r["seconds"]
        eff = speed * base["workers"] / r["workers"] if "sent" in r else None
        sent = r.get("sent", {})
        shown = ", ".join(f"{b / 2**20:.1f} ({k})" for b, k in sent.values()) or "-"
        inb = f"{in_bytes / 2**20:.2f}" if sent else "-"
        busy = r.get("busy")
        print(
            f"{r['setup']:42} {r['workers']:>7} {r['seconds']:>8.2f} {speed:>7.2f}x "
            f"{'-' if eff is None else f'{100 * eff:.0f}%':>7} "
            f"{'-' if busy is None else f'{100 * busy:.0f}%':>5} {inb:>12}  {shown}"
        )
        total_sent = sum(b for b, _ in sent.values())
        out.append(
            {
                "setup": r["setup"],
                "workers": r["workers"],
                "seconds": r["seconds"],
                "runs": r.get("runs"),
                "speedup_vs_1_worker": speed,
                "efficiency": eff,
                "input_bytes_per_worker": in_bytes if sent else 0,
                "result_bytes_per_worker": [b for b, _ in sent.values()],
                "result_transfers_per_worker": [k for _, k in sent.values()],
                "combos_per_s_per_worker": n_combos / r["seconds"] / r["workers"],
                "task_compute_seconds": r.get("compute"),
                "busy": busy,
                "result_bytes_per_combo": total_sent / n_combos if sent else None,
                "equal_to_local": same,
            }
        )
    print(
        f"(speed-up: against the LocalCluster with {base['workers']} worker process; "
        f"efficiency = speed-up x {base['workers']} / workers; busy = the tasks' compute "
        "time (the scheduler's task stream) / (seconds x workers) over every sweep of the "
        "setup, the rest is loading, scheduling, transfers and writing; every table equal to "
        "the local run's)"
    )
    one = next((o for o in out if o["setup"].startswith("LocalCluster")), None)
    if one:
        per_task = one["seconds"] / n_tasks
        print(
            f"per worker: {one['combos_per_s_per_worker']:,.0f} combinations/s "
            f"({N_TICKERS} tickers each), {per_task:.2f} s per task of {CHUNK}; results "
            f"{one['result_bytes_per_combo']:,.0f} bytes per combination"
        )
    if a.json:
        a.json.write_text(
            json.dumps(
                {"grid": a.grid, "n_combos": n_combos, "chunk": CHUNK, "rows": out}, indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
