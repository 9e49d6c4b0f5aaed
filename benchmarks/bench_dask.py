"""Dask scaling of the sweep: the same job locally, on a LocalCluster of 1 and 2 worker
processes, and on a scheduler plus worker processes started as commands.

python benchmarks/bench_dask.py [--json FILE]

The job: S2's twin, an eighth of its grid (one fee level, one slippage level, fills at the
close) on bench_sweep's SYNTHETIC market: 12,672 combinations x 10 tickers = 126,720
backtests, in 16 parts of 792 combinations (tasks of about a second here). Each setup runs
``evbt.sweep`` once after a warm-up (every worker has loaded the compiled kernels), into a
fresh folder, and its summary must equal the local run's.

Printed per setup: wall time, speed-up over the LocalCluster with 1 worker process,
efficiency (speed-up / workers), and the bytes of results each worker sent back
(distributed's ``transfer_outgoing_bytes_total``; the inputs are scattered once to every
worker). Worker processes run Numba with one thread each (``NUMBA_NUM_THREADS=1``), so N
workers use N cores; the local row runs in this process with every core.
Measured, never asserted. Needs dask[distributed].
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_sweep import N_TICKERS, make_data, write_config  # noqa: E402

TWIN_GRID = """entry_offset = { start = -5, stop = 5 }
hold = [1, 2, 3, 5, 8, 13, 21, 34, 55]
stop_loss = ["none", 0.02, 0.03, 0.05, 0.075, 0.10, 0.15, 0.20]
take_profit = ["none", 0.05, 0.10, 0.20]
direction = ["long", "short"]
stop_on = ["close", "high_low"]"""
N_COMBOS = 11 * 9 * 8 * 4 * 2 * 2
CHUNK = 792


def _sent(dask_worker) -> int:
    """Bytes of task results this worker has sent (to the client or other workers)."""
    return int(dask_worker.transfer_outgoing_bytes_total)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cfg: Path, out: Path, **kw) -> tuple[float, object]:
    import evbt
    from evbt.strategies.config import load_config

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = evbt.sweep(load_config(cfg), out=out, progress=False, chunk_size=CHUNK, **kw)
    return time.perf_counter() - t0, res


def _on_cluster(cfg: Path, folder: Path, address: str, tag: str) -> dict:
    """Warm every worker, then time one sweep and the bytes each worker moved."""
    from dask.distributed import Client

    with Client(address) as client:
        n = len(client.scheduler_info()["workers"])
        _run(
            cfg, folder / f"{tag}-warm", executor="dask", scheduler=address
        )  # every worker loads the kernels
        before = client.run(_sent)
        wall, res = _run(cfg, folder / tag, executor="dask", scheduler=address)
        after = client.run(_sent)
    moved = {w: after[w] - before[w] for w in after}
    return {"workers": n, "seconds": wall, "bytes": moved, "table": res.table()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    a = ap.parse_args()
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        print("dask[distributed] is not installed: pip install 'evbt[dask]'")
        return 1
    import pandas as pd

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="evbt-bench-dask-") as d:
        folder = Path(d)
        data = make_data(folder)
        cfg = write_config(folder, data, "twin", TWIN_GRID)
        print(
            f"S2 twin: {N_COMBOS:,} combinations x {N_TICKERS} tickers = "
            f"{N_COMBOS * N_TICKERS:,} backtests in {N_COMBOS // CHUNK} tasks; "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        _run(cfg, folder / "local-warm")
        wall, local = _run(cfg, folder / "local")
        ref = local.table()
        rows.append({"setup": "local (this process)", "workers": 1, "seconds": wall})

        os.environ["NUMBA_NUM_THREADS"] = "1"  # for the worker processes started from here
        for n in (1, 2):
            with LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster:
                r = _on_cluster(cfg, folder, cluster.scheduler_address, f"lc{n}")
            r["setup"] = f"LocalCluster, {n} worker process{'es' if n > 1 else ''}"
            rows.append(r)

        port = _free_port()
        address = f"tcp://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        procs = [
            subprocess.Popen(
                ["dask", "scheduler", "--port", str(port), "--dashboard-address", ":0"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        ]
        try:
            for _ in range(2):
                procs.append(
                    subprocess.Popen(
                        ["dask", "worker", address, "--nthreads", "1", "--nworkers", "1"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        env=env,
                    )
                )
            from dask.distributed import Client

            with Client(address, timeout=60) as c:
                c.wait_for_workers(2, timeout=120)
            r = _on_cluster(cfg, folder, address, "cmd")
            r["setup"] = "dask scheduler + 2 dask worker processes"
            rows.append(r)
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                p.wait(timeout=30)

    base = {1: rows[0]["seconds"]}
    one_lc = next(
        r["seconds"] for r in rows if r.get("workers") == 1 and "LocalCluster" in r["setup"]
    )
    print(
        f"{'setup':44} {'workers':>7} {'seconds':>8} {'speed-up':>8} {'efficiency':>10}  MB of results sent per worker"
    )
    out = []
    for r in rows:
        same = "table" not in r or r["table"].equals(ref)
        if "table" in r and not same:
            pd.testing.assert_frame_equal(r["table"], ref)  # shows the difference
        vs = one_lc if "bytes" in r else base[1]
        speed = vs / r["seconds"]
        eff = speed / r["workers"]
        moved = r.get("bytes", {})
        mb = ", ".join(f"{b / 2**20:.1f}" for b in moved.values()) or "-"
        print(
            f"{r['setup']:44} {r['workers']:>7} {r['seconds']:>8.2f} {speed:>7.2f}x "
            f"{100 * eff:>9.0f}%  {mb}"
        )
        out.append(
            {
                "setup": r["setup"],
                "workers": r["workers"],
                "seconds": r["seconds"],
                "speedup_vs_1_worker": speed,
                "efficiency": eff,
                "result_bytes_per_worker": list(moved.values()),
                "equal_to_local": same,
            }
        )
    print("(speed-up of a cluster setup: against the LocalCluster with 1 worker process)")
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
