"""Scheduling a sweep's chunks: here, or as tasks on a Dask cluster. No file I/O.

:func:`chunks` cuts the combinations of a sweep into parts; :func:`run_chunks` computes each
part (:func:`evbt.backtest.sweep.chunk_frames`) locally or as a Dask task and hands its
``(part, blocks)`` tables to a sink in the calling process: the application's sink writes
the part files (:mod:`evbt.parts`). Dask tasks return their tables to the client; workers
write nothing, so a cluster needs no storage shared with the client.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from evbt.backtest.sweep import SweepInputs, chunk_frames
from evbt.errors import InputError


def chunks(n: int, size: int) -> list[tuple[int, int, int]]:
    """``(part index, lo, hi)`` of ``n`` combinations in parts of ``size``."""
    return [(i, lo, min(lo + size, n)) for i, lo in enumerate(range(0, n, size))]


def chunk_task(inp: SweepInputs, lo: int, hi: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Combinations ``lo:hi`` of ``inp.combos`` as ``(part, blocks)`` (what a task returns)."""
    return chunk_frames(inp, inp.combos.iloc[lo:hi].reset_index(drop=True))


Sink = Callable[[int, int, int, pd.DataFrame, pd.DataFrame], None]


def run_chunks(
    inp: SweepInputs,
    todo: list[tuple[int, int, int]],
    sink: Sink,
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
) -> None:
    """Compute every chunk ``(i, lo, hi)`` of ``todo`` and hand ``sink(i, lo, hi, part,
    blocks)`` each result, in this process: the application's sink writes the part. With
    ``executor="dask"`` each chunk is a task on the cluster (``scheduler``, or an in-process
    LocalCluster) that returns its tables; workers write nothing."""
    if executor == "local":
        import numba

        most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        threads = min(workers or most, most)
        numba.set_num_threads(max(1, threads))
        for i, lo, hi in todo:
            part, blocks = chunk_task(inp, lo, hi)
            sink(i, lo, hi, part, blocks)
    else:
        _run_dask(inp, todo, sink, workers, scheduler)


def _run_dask(inp, todo, sink, workers, scheduler) -> None:
    """Each chunk is a task that returns its (part, blocks) tables to the client."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - the optional extra
        raise InputError(
            "--executor dask needs dask[distributed]: pip install 'evbt[dask]'"
        ) from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=1, threads_per_worker=workers or 2, processes=False, dashboard_address=None
        )
        client = Client(cluster)
    try:
        data = client.scatter(inp, broadcast=True)
        futs = {}
        for i, lo, hi in todo:
            f = client.submit(chunk_task, data, lo, hi, pure=False)
            futs[f] = (i, lo, hi)
        for f in as_completed(list(futs)):
            part, blocks = f.result()
            sink(*futs[f], part, blocks)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
