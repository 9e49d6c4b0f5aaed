"""Scheduling a sweep's chunks: here, or as tasks on a Dask cluster. No file I/O.

:func:`chunks` cuts the combinations of a sweep into parts; :func:`run_chunks` computes each
part (:func:`evbt.backtest.sweep.chunk_frames`) locally or as a Dask task and hands its
``(part, blocks)`` tables to a sink in the calling process: the application's sink writes
the part files (:mod:`evbt.parts`). Dask tasks return their tables to the client; workers
write nothing, so a cluster needs no storage shared with the client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from evbt.backtest.sweep import SweepInputs, chunk_frames, chunk_tables, run_chunk_arrays
from evbt.errors import InputError


def chunks(n: int, size: int) -> list[tuple[int, int, int]]:
    """``(part index, lo, hi)`` of ``n`` combinations in parts of ``size``."""
    return [(i, lo, min(lo + size, n)) for i, lo in enumerate(range(0, n, size))]


Encode = Callable[[pd.DataFrame, pd.DataFrame], tuple[Any, ...]]


def chunk_task(inp: SweepInputs, lo: int, hi: int, encode: Encode | None = None) -> tuple[Any, ...]:
    """Combinations ``lo:hi`` of ``inp.grid`` as ``(part, blocks)`` (what a task returns),
    or what ``encode(part, blocks)`` makes of them when one is given."""
    part, blocks = chunk_frames(inp, inp.grid.rows(lo, hi))
    return (part, blocks) if encode is None else encode(part, blocks)


def timed_chunk_task(
    inp: SweepInputs, lo: int, hi: int, encode: Encode | None = None
) -> tuple[tuple[Any, ...], float]:
    """:func:`chunk_task` and the seconds it took where it ran (a Dask task's own time)."""
    import time

    start = time.perf_counter()
    payload = chunk_task(inp, lo, hi, encode)
    return payload, time.perf_counter() - start


Sink = Callable[..., None]
"""``sink(i, lo, hi, *payload)``: chunk ``i`` (combinations ``lo:hi``) and its payload,
``(part, blocks)`` or what ``encode`` made of them."""

OnTask = Callable[[int, int, int, float, int], None]
"""``on_task(i, lo, hi, seconds, threads)``: a Dask task's chunk, the seconds it computed on
its worker and the cluster's worker threads when its round of tasks was submitted; called
before ``sink`` gets the chunk."""


CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler to answer, and for a worker while the cluster has none."""


def run_chunks(
    inp: SweepInputs,
    todo: list[tuple[int, int, int]],
    sink: Sink,
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    encode: Encode | None = None,
    on_task: OnTask | None = None,
    clock: dict[str, float] | None = None,
) -> None:
    """Compute every chunk ``(i, lo, hi)`` of ``todo`` and hand ``sink(i, lo, hi, part,
    blocks)`` each result, in this process: the application's sink writes the part. With
    ``encode``, the sink gets ``sink(i, lo, hi, *encode(part, blocks))`` instead (on a Dask
    cluster the encoding runs on the worker, beside the computation, not on the client). With
    ``executor="dask"`` each chunk is a task on the cluster (``scheduler``, or an in-process
    LocalCluster) that returns its tables; workers write nothing, and ``on_task`` (if given)
    hears how long each task computed. ``clock`` (if given) gathers seconds per phase: here
    ``kernel``, ``metrics`` and ``encode`` (the local executor; on a cluster they run inside
    the tasks, which ``on_task`` hears) and ``write`` (the sink). A scheduler that does not
    answer within ``connect_timeout`` seconds, a bad address, or a cluster without a worker
    for that long is an :class:`InputError`; a worker lost mid-sweep is Dask's to retry."""
    if executor == "local":
        import numba

        most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        threads = min(workers or most, most)
        numba.set_num_threads(max(1, threads))
        _run_local(inp, todo, _timed_sink(sink, clock), encode, clock)
    else:
        _run_dask(
            inp, todo, _timed_sink(sink, clock), workers, scheduler, connect_timeout, encode,
            on_task,
        )  # fmt: skip


def _tick(clock: dict[str, float] | None, phase: str, since: float) -> float:
    """Add the seconds since ``since`` to ``clock[phase]``; returns now."""
    now = time.perf_counter()
    if clock is not None:
        clock[phase] = clock.get(phase, 0.0) + now - since
    return now


def _timed_sink(sink: Sink, clock: dict[str, float] | None) -> Sink:
    if clock is None:
        return sink

    def timed(*args: Any) -> None:
        t0 = time.perf_counter()
        try:
            sink(*args)
        finally:
            _tick(clock, "write", t0)

    return timed


def _deliver(
    sink: Sink, encode: Encode | None, inp: SweepInputs, i: int, lo: int, hi: int, combos, arrays,
    clock: dict[str, float] | None = None,
) -> None:  # fmt: skip
    t0 = time.perf_counter()
    part, blocks = chunk_tables(inp, combos, *arrays)
    t0 = _tick(clock, "metrics", t0)
    payload = (part, blocks) if encode is None else encode(part, blocks)
    _tick(clock, "encode", t0)
    sink(i, lo, hi, *payload)


def _run_local(
    inp: SweepInputs, todo, sink: Sink, encode: Encode | None, clock: dict[str, float] | None
) -> None:
    """Each chunk's kernel run here; its tables made, encoded and handed to ``sink`` on one
    writer thread while the next chunk's kernel runs (the kernel releases the GIL, and so
    does most of NumPy's and the Parquet encoding's work): the cores never wait for the
    tables (0.14 s per chunk of 10,000 combinations of S2, 2026-12-04). The sink sees the
    chunks in order, one at a time. At most one chunk waits to be written (memory: two
    chunks' arrays and tables), and an error in the tables or the sink stops the sweep
    before the next chunk is handed over; on any exit the chunk being written is written
    before this returns or raises, so a part that was computed is not lost."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evbt-parts") as writer:
        pending = None
        for i, lo, hi in todo:
            combos = inp.grid.rows(lo, hi)
            t0 = time.perf_counter()
            arrays = run_chunk_arrays(inp, combos)
            _tick(clock, "kernel", t0)
            if pending is not None:
                pending.result()  # the previous chunk is written (or its error raised here)
            pending = writer.submit(_deliver, sink, encode, inp, i, lo, hi, combos, arrays, clock)
        if pending is not None:
            pending.result()


_RESUME = "the finished parts are kept: rerun with --resume once it is fixed"


def check_address(scheduler: str) -> None:
    """Refuse what is not a Dask scheduler address (before any work)."""
    try:
        from distributed.comm import parse_address, parse_host_port
    except ImportError:  # pragma: no cover - the optional extra
        raise InputError(
            "--executor dask needs dask[distributed]: pip install 'evbt[dask]'"
        ) from None
    try:
        parse_host_port(parse_address(scheduler)[1])
    except ValueError as e:
        raise InputError(
            f"--scheduler {scheduler}: not a Dask scheduler address ({e}): use the address "
            "`dask scheduler` prints, e.g. tcp://10.0.0.5:8786"
        ) from None


def _connect(scheduler: str, timeout: float):
    """A Client of the scheduler at ``scheduler``, or a one-line InputError naming it."""
    from dask.distributed import Client

    check_address(scheduler)
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as e:
        reason = " ".join(str(e).split())[:160] or type(e).__name__
        raise InputError(
            f"Dask scheduler {scheduler} did not answer within {timeout:g} s ({reason}): start "
            f"it with `dask scheduler`, check the address and port, or wait longer with "
            f"--connect-timeout"
        ) from None


def _no_workers(scheduler: str, timeout: float) -> InputError:
    return InputError(
        f"Dask scheduler {scheduler} has had no worker for {timeout:g} s (all lost or none "
        f"started): start workers with `dask worker {scheduler}`; {_RESUME}"
    )


def _run_dask(
    inp, todo, sink, workers, scheduler, connect_timeout, encode=None, on_task=None
) -> None:
    """Each chunk is a task that returns its (part, blocks) tables, or what ``encode`` makes
    of them, to the client; the inputs travel once to each worker (a broadcast scatter). A
    worker lost mid-sweep: Dask reruns
    its tasks elsewhere. All workers lost: the scattered inputs are gone with them and Dask
    cancels the tasks; once a worker is back (within ``connect_timeout``) the inputs are
    scattered again and the unfinished chunks resubmitted, else an InputError."""
    import contextlib
    import logging

    try:
        from dask.distributed import LocalCluster
        from distributed import Client
    except ImportError:  # pragma: no cover - the optional extra
        raise InputError(
            "--executor dask needs dask[distributed]: pip install 'evbt[dask]'"
        ) from None
    timeout = float(connect_timeout)
    if not timeout > 0:
        raise InputError(f"--connect-timeout {connect_timeout!r}: use a number of seconds > 0")
    # the client's own warnings (a lost worker, a rescheduled key) are Dask's to handle:
    # what the user must act on comes as one InputError line
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    cluster = None
    try:
        if scheduler:
            client = _connect(scheduler, timeout)
        else:
            cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=workers or 2,
                processes=False,
                dashboard_address=":0",  # any free port: never a clash with another cluster
            )
            client = Client(cluster)
            scheduler = str(cluster.scheduler_address)
        try:
            _drive(client, inp, todo, sink, scheduler, timeout, encode, on_task)
        finally:
            with contextlib.suppress(Exception):
                client.close()
            if cluster is not None:
                cluster.close()
    finally:
        for lg, lv in zip(quiet, levels, strict=True):
            lg.setLevel(lv)


_MAX_RESTARTS = 3


def _drive(
    client, inp, todo, sink, scheduler: str, timeout: float, encode=None, on_task=None
) -> None:
    """Submit the chunks of ``todo``, hand each result to ``sink``; see :func:`_run_dask`."""
    import contextlib
    import time
    from concurrent.futures import CancelledError

    from dask.distributed import wait
    from distributed.scheduler import KilledWorker

    def n_workers() -> int:
        try:
            return len(client.nthreads())
        except (OSError, TimeoutError):
            raise InputError(
                f"Dask scheduler {scheduler}: the connection was lost: check that the "
                f"scheduler is running; {_RESUME}"
            ) from None

    def n_threads() -> int:
        try:
            return int(sum(client.nthreads().values()))
        except (OSError, TimeoutError):
            return 0

    def await_worker() -> None:
        start = time.monotonic()
        while not n_workers():
            if time.monotonic() - start > timeout:
                raise _no_workers(scheduler, timeout)
            time.sleep(0.2)

    left = {c[0]: c for c in todo}
    for _restart in range(_MAX_RESTARTS + 1):
        try:
            data = client.scatter(inp, broadcast=True, timeout=timeout)
        except TimeoutError:
            raise _no_workers(scheduler, timeout) from None
        threads = n_threads() if on_task is not None else 0  # once per submission round
        futs = {
            client.submit(timed_chunk_task, data, lo, hi, encode, pure=False): (i, lo, hi)
            for i, lo, hi in left.values()
        }
        pending = set(futs)
        idle_since: float | None = None
        lost = False
        while pending and not lost:
            try:
                done, pending = wait(pending, timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            except CancelledError:
                # wait() raises once any future was cancelled (the scattered inputs went
                # with the last worker): keep what finished, resubmit the rest
                done = {f for f in pending if f.status == "finished"}
                pending -= done
                lost = True
            for f in done:
                try:
                    payload, seconds = f.result()
                except KilledWorker as e:
                    raise InputError(
                        f"Dask scheduler {scheduler}: a chunk's task killed its workers ({e}): "
                        f"give the workers more memory or use a smaller --chunk-size; {_RESUME}"
                    ) from None
                except CancelledError:
                    lost = True  # the scattered inputs went with the last worker
                    continue
                i, lo, hi = futs[f]
                if on_task is not None:
                    on_task(i, lo, hi, seconds, threads)
                sink(i, lo, hi, *payload)
                left.pop(i, None)
            if done or lost:
                idle_since = None
                continue
            if n_workers():
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > timeout:
                raise _no_workers(scheduler, timeout)
        if not left:
            return
        with contextlib.suppress(Exception):
            client.cancel(list(pending))
        await_worker()
    raise InputError(
        f"Dask scheduler {scheduler}: every worker was lost {_MAX_RESTARTS + 1} times: check "
        f"the workers' logs (memory?); {_RESUME}"
    )
