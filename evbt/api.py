"""The application: load what a run needs, call the computation, make the manifest.

Orchestration up, computation down: this module loads the event catalog and prices (through
:mod:`evbt.data`), builds the signals (:mod:`evbt.signals`), hands arrays and frames to the
computation (:mod:`evbt.backtest`), and makes the manifest (:mod:`evbt.manifest`); a sweep
streams its parts into the store (:mod:`evbt.store`, :mod:`evbt.parts`). The public names
``evbt.run``, ``evbt.study`` and ``evbt.sweep`` are the functions here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evbt.errors import InputError
from evbt.strategies.config import Config

if TYPE_CHECKING:
    from evbt.backtest.market import Market
    from evbt.backtest.preearnings import PreEarnings
    from evbt.backtest.sweep import SweepInputs
    from evbt.result import BacktestResult, StudyRun, SweepResult


# ----------------------------------------------------------------------------- loading


def load_market(config: Config, tickers: list[str], *, prices_path: str | None = None) -> Market:
    """Load, validate and align prices for ``tickers`` over the config's window."""
    from evbt.backtest.market import align_prices
    from evbt.data.sources import load_prices

    d = config.data
    source = "file" if prices_path else d.source
    path = prices_path or d.prices
    df = load_prices(tickers, d.start, d.end, source=source, path=path)
    if df.empty:
        raise InputError(
            f"no prices for {', '.join(tickers)} between {d.start or 'the start'} and "
            f"{d.end or 'the end'}: widen [data] start/end or check the ticker names"
        )
    return align_prices(
        df,
        tickers,
        source=str(df.attrs.get("source", source)),
        synthetic=bool(df.attrs.get("synthetic", False)),
    )


def _with_benchmark(tickers: list[str], bench_t: str | None) -> list[str]:
    return tickers + ([bench_t] if bench_t and bench_t not in tickers else [])


def _study_benchmark(
    config: Config, market: Market, prices_path: str | None
) -> tuple[pd.Series | None, str | None]:
    """The study benchmark's returns when ``market`` does not hold it (``[study] benchmark``
    may differ from ``[data] benchmark``): loaded from the same source as the market.
    Returns ``(returns, None)``, or ``(None, why)`` when they cannot be had."""
    bench_t = config.study.benchmark or config.data.benchmark
    if not bench_t or bench_t in market.tickers:
        return None, None
    from evbt.data.sources import load_prices

    d = config.data
    path = prices_path
    if path is None and str(market.source).startswith("file:"):
        path = str(market.source)[len("file:") :]  # the file the market came from
    source = "file" if path else d.source
    try:
        df = load_prices(
            [bench_t], market.index[0], market.index[-1], source=source, path=path or d.prices
        )
    except InputError as e:
        return None, str(e)
    close = df.set_index("date")["close"].reindex(market.index)
    return close.pct_change(fill_method=None).iloc[1:].rename(bench_t), None


def study_events(
    config: Config, market: Market, events: pd.DataFrame, *, prices_path: str | None = None
) -> Any:
    """The event study of ``events`` (event_id, ticker, reaction_session, ...) on ``market``,
    with the study benchmark loaded where the market lacks it."""
    from evbt.backtest.study_run import study_for_events

    bench, why = _study_benchmark(config, market, prices_path)
    return study_for_events(config, market, events, bench=bench, bench_error=why)


def _compile_aside(work: Callable[[], Any]) -> int | None:
    """On a cold Numba cache, run ``work`` (compiling the study's kernels) in a forked child
    while this process runs the backtest, so both cores compile; returns the child's pid
    (None: warm cache, no ``os.fork``, or other threads running here: a lock one of them
    holds at the fork, Numba's compiler lock say, would stay held in the child forever).

    The child's only lasting effect is the compiled kernels it writes to Numba's cache (one
    temp file renamed per kernel); its output is dropped, and this process computes the
    study itself after :func:`_join_aside`, loading what the child compiled.
    """
    import threading

    from evbt.backtest import study_nb
    from evbt.backtest.jit import is_cold

    if not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    if not is_cold(study_nb.event_ar_nb):
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: silent, and never back into the caller's code
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (os._exit closes it)
        work()
    finally:
        os._exit(0)


def _join_aside(pid: int | None, *, stop: bool = False) -> None:
    """Wait for the :func:`_compile_aside` child; with ``stop`` (this process is leaving
    with an exception, so its kernels are not needed), end it first."""
    if pid is None:
        return
    if stop:
        import signal

        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


@contextlib.contextmanager
def _study_kernels_beside(enabled: bool = True) -> Iterator[None]:
    """On a cold cache, the study's kernels compile in a forked child from the first one on
    while the body runs, then here from the last one back (``study.compile_kernels``); on
    leaving, wait for the child, or end it when the body raised."""
    pid = None
    if enabled:  # the study's module loads SciPy: not for a backtest without a study
        from evbt.backtest.study import compile_kernels

        pid = _compile_aside(compile_kernels)
    try:
        yield
        if pid is not None:
            compile_kernels(reverse=True)
    except BaseException:
        _join_aside(pid, stop=True)
        raise
    _join_aside(pid)


def _config_arg(config: Any, **counts: Any) -> Config:
    """``config`` as a Config: a Config is taken as it is, a path (str or PathLike) to a
    TOML file is loaded; anything else is an InputError, as are ``counts`` (workers,
    chunk_size, ...) that are not whole numbers >= 1 or None."""
    from evbt.strategies.config import Config as ConfigType
    from evbt.strategies.config import load_config

    for name, value in counts.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            flag = "--" + name.replace("_", "-")
            raise InputError(f"{flag} {value!r}: use a whole number >= 1")
    if isinstance(config, ConfigType):
        return config
    if isinstance(config, str | os.PathLike):
        return load_config(Path(config))
    raise InputError(
        f"config: expected a Config or the path of a TOML config, not {type(config).__name__}: "
        "pass evbt.load_config('run.toml') or the path itself"
    )


# ---------------------------------------------------------------------------- backtest


def run(
    config: Config | str | os.PathLike[str],
    *,
    prices_path: str | None = None,
    events_path: str | None = None,
    study: bool | None = None,
) -> BacktestResult:
    """Run one backtest: load prices and the catalog, build signals, simulate, measure.
    ``config``: a Config or the path of a TOML config."""
    config = _config_arg(config)
    from evbt.backtest.engine import backtest_tables, check_weight, sim_params
    from evbt.data.catalog import load_catalog
    from evbt.manifest import make_manifest
    from evbt.result import BacktestResult
    from evbt.signals.rules import build_signals, no_signal_error

    catalog = load_catalog(events_path or config.data.events)
    signals = build_signals(catalog, config.strategy)
    if signals.table.empty:
        raise no_signal_error(signals, config.origin)
    sim_params(config)  # refuse what the kernel cannot take before loading prices
    check_weight(config)
    tickers = list(dict.fromkeys(signals.table["ticker"]))
    do_study = config.study.enabled if study is None else study
    with _study_kernels_beside(do_study):
        market = load_market(
            config, _with_benchmark(tickers, config.data.benchmark), prices_path=prices_path
        )
        t = backtest_tables(config, market, signals, catalog)
    result = BacktestResult(
        config=config,
        signals=signals,
        trades=t.trades,
        equity=t.equity,
        position=t.position,
        metrics=t.metrics,
        pnl_by_event=t.pnl_by_event,
        skipped=t.skipped,
        manifest={},
        study=study_events(config, market, signals.table) if do_study else None,
        benchmark=t.benchmark,
        market=t.market,
        arrays=t.arrays,
        events=t.events,
    )
    manifest = make_manifest(
        result,
        market,
        catalog=catalog,
        catalog_path=events_path or config.data.events,
        prices_path=prices_path or config.data.prices,
        ruined=t.ruined,
    )
    result = dataclasses.replace(result, manifest=manifest)
    return result


# ------------------------------------------------------------------------- event study


def study(
    config: Config | str | os.PathLike[str],
    *,
    prices_path: str | None = None,
    events_path: str | None = None,
) -> StudyRun:
    """The event study of the events ``[strategy] select`` picks, on ``[strategy] tickers``.

    Day 0 is each event's reaction session; the strategy's entry offset and hold play no
    part. The benchmark is ``[study] benchmark`` or ``[data] benchmark``.
    """
    config = _config_arg(config)
    from evbt.backtest.study_run import study_manifest
    from evbt.data.catalog import load_catalog
    from evbt.manifest import manifest_head
    from evbt.result import StudyRun
    from evbt.signals.rules import study_rows

    catalog = load_catalog(events_path or config.data.events)
    events = study_rows(catalog, config.strategy)
    if events.empty:
        raise InputError(
            f"{config.origin}: [strategy] select matches no event: check kind/org/tags"
        )
    bench_t = config.study.benchmark or config.data.benchmark
    if not bench_t:
        raise InputError(
            f"{config.origin}: the study needs a benchmark: set [study] benchmark or [data] benchmark"
        )
    tickers = list(dict.fromkeys(events["ticker"]))
    if tickers == [bench_t]:
        raise InputError(
            f"{config.origin}: the only ticker, {bench_t}, is the study benchmark: its abnormal "
            "return is zero by construction; set [study] benchmark to another ticker"
        )
    from evbt.backtest import study_nb
    from evbt.backtest.jit import say_if_compiling

    say_if_compiling(["event-study"], [study_nb.event_ar_nb, study_nb.placebo_car_nb])
    with _study_kernels_beside():
        market = load_market(config, _with_benchmark(tickers, bench_t), prices_path=prices_path)
        inside = events["reaction_session"].isin(market.index[1:])
        skipped = events[~inside]
        if not inside.any():
            raise InputError(
                f"no selected event reacts inside the price data ({market.index[0]:%Y-%m-%d} to "
                f"{market.index[-1]:%Y-%m-%d}): widen [data] start/end"
            )
    res = study_events(config, market, events, prices_path=prices_path)
    studied = events[inside & (events["ticker"] != bench_t)].reset_index(drop=True)
    manifest = manifest_head(
        config,
        market,
        benchmark=bench_t,
        kind="study",
        catalog=catalog,
        catalog_path=events_path or config.data.events,
        prices_path=prices_path or config.data.prices,
    )
    manifest |= {
        "events": {
            "n_event_tickers": int(len(studied)),
            "n_outside_data": int(len(skipped)),
            "skipped_outside_data": skipped["event_id"].tolist(),
            "n_skipped_by_study": len(res.skipped),
        },
        "study": study_manifest(res),
    }
    return StudyRun(config=config, study=res, events=studied, manifest=manifest)


# -------------------------------------------------------------------------------- sweep


def sweep_inputs(
    config: Config, *, prices_path: str | None = None, events_path: str | None = None
) -> SweepInputs:
    """Check the sweep, load the catalog and prices, and build its inputs."""
    from evbt.backtest.sweep import prepare_inputs, sweep_events
    from evbt.data.catalog import load_catalog
    from evbt.manifest import manifest_head
    from evbt.strategies.grid import sweep_spec

    catalog_path = events_path or config.data.events
    catalog = load_catalog(catalog_path)
    found = sweep_events(config, catalog)
    bench_t = config.data.benchmark
    market = load_market(config, _with_benchmark(found.tickers, bench_t), prices_path=prices_path)
    if bench_t and bench_t not in found.tickers:
        market = market.select(found.tickers)
    n_ret = len(market.index) - 1
    blocks = sweep_spec(config.sweep).blocks
    if blocks > n_ret:
        raise InputError(
            f"{config.origin}: [sweep] blocks = {blocks}: the prices hold only {n_ret} daily "
            f"returns ({market.index[0]:%Y-%m-%d} to {market.index[-1]:%Y-%m-%d}): use an even "
            "number of blocks no larger, or widen [data] start/end"
        )
    head = manifest_head(
        config,
        market,
        kind="sweep",
        catalog=catalog,
        catalog_path=catalog_path,
        prices_path=prices_path,
    )
    return prepare_inputs(config, catalog, found, market, head)


def _progress(total: int, enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class _Rate(TextColumn):
        def render(self, task):  # combinations per second
            from rich.text import Text

            elapsed = task.finished_time if task.finished else task.elapsed
            done = task.completed - task.fields.get("skipped", 0)
            speed = done / elapsed if elapsed else None
            return Text(f"{speed:,.0f} combos/s" if speed else "-- combos/s")

    return Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(""),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _identity(m: dict[str, Any]) -> dict[str, str]:
    """What a sweep's manifest says decides its result: run id, config (without the data
    paths: their contents are hashed), price data, catalog and code version. A KeyError or
    TypeError when the manifest lacks one (a damaged partial manifest)."""
    import hashlib

    conf = json.loads(json.dumps(m["config"], default=str))
    for k in ("prices", "events"):
        conf["data"][k] = None
    blob = json.dumps(conf, sort_keys=True, default=str, separators=(",", ":"))
    return {
        "run_id": str(m["run_id"]),
        "config": hashlib.sha256(blob.encode()).hexdigest()[:12],
        "data": str(m["data"]["data_hash"]),
        "catalog": str(m["catalog"]["sha256"]),
        "code": str(m["code_version"]),
    }


_CHANGED = {
    "config": "the config changed",
    "data": "the price data changed",
    "catalog": "the catalog changed",
    "code": "the code version changed",
}


def _short(v: str) -> str:
    return v if len(v) <= 16 else v[:12] + ".."


def _differences(old: dict[str, str], new: dict[str, str]) -> list[str]:
    out = []
    for key, what in _CHANGED.items():
        if old[key] != new[key]:
            word = "version" if key == "code" else "hash"
            out.append(
                f"{what} since the interrupted sweep ({word} {_short(old[key])} vs {_short(new[key])})"
            )
    return out


def _read_partial(pm: Path) -> dict[str, Any]:
    """The manifest of an interrupted sweep, or a one-line InputError naming it (missing,
    unreadable, not a JSON object, or lacking what --resume compares)."""
    start_over = "run without --resume and with --force to start over"
    try:
        man = json.loads(pm.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{pm}: missing, so the interrupted sweep cannot be checked: {start_over}"
        ) from None
    except (OSError, ValueError) as e:
        why = getattr(e, "strerror", None) or type(e).__name__
        raise InputError(f"{pm}: damaged ({why}): {start_over}") from None
    if not isinstance(man, dict):
        raise InputError(f"{pm}: damaged (not a JSON object): {start_over}")
    try:
        _identity(man)
    except KeyError as e:
        raise InputError(f"{pm}: damaged (no {e.args[0]!r} entry): {start_over}") from None
    except (TypeError, AttributeError):
        raise InputError(
            f"{pm}: damaged (its run id, config, data, catalog or code entry is malformed): "
            f"{start_over}"
        ) from None
    chunk = man.get("chunk_size")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise InputError(f"{pm}: damaged (chunk_size = {chunk!r}): {start_over}")
    return man


def _check_resume(root: Path, run_id: str, head: dict[str, Any], origin: str) -> dict | None:
    """Before ``--resume`` touches anything: the interrupted sweep's manifest if its folder
    holds this very run (same run id, config, data, catalog and code), else an InputError
    naming what differs; the partial folder is left as it was. None when there is nothing
    to resume. An interrupted sweep of the same config file (or the same config and files)
    under another run id is named too: resuming it would mix two sweeps' tables."""
    from evbt import store

    mine = _identity(head)
    partial = store.partial_dir(root, run_id)
    pm = partial / store.PARTIAL_MANIFEST
    if partial.is_dir() and (os.path.lexists(pm) or (partial / "sweep").exists()):
        old = _read_partial(pm)
        theirs = _identity(old)
        diff = _differences(theirs, mine)
        if not diff and theirs["run_id"] != run_id:
            diff = [f"the folder holds sweep {theirs['run_id']}, not {run_id}"]
        if diff:
            raise InputError(
                f"{partial}: {'; '.join(diff)}: run without --resume and with --force to start over"
            )
        return old
    here = os.path.abspath(origin)
    for other in store.partial_runs(root):
        if other.is_symlink():
            continue
        try:
            old = _read_partial(other / store.PARTIAL_MANIFEST)
        except InputError:
            continue
        same_file = old.get("config_path") == here and os.path.isfile(here)
        if not (same_file or old.get("lineage") == head.get("lineage")):
            continue
        diff = _differences(_identity(old), mine) or [
            f"the interrupted sweep is {old['run_id']}, not {run_id}"
        ]
        raise InputError(
            f"{other}: {'; '.join(diff)}: run without --resume to start afresh "
            "(`evbt runs gc --partial` removes the interrupted one)"
        )
    return None


CALIBRATION_COMBOS = 200
"""Combinations a sweep runs before it starts, to estimate its time and output size."""


def _calibrate(inp: SweepInputs, n_todo: int, n_parts: int) -> dict[str, Any]:
    """Run a few combinations spread over the grid (after one that loads or compiles the
    kernel, not timed) and extrapolate to ``n_todo``: seconds and bytes of the part files,
    sized as :func:`evbt.parts.encode` writes them (pandas' default Parquet settings said
    231 MB for S2's 157 MB of parts; these say 200 MB: a sample spread over the grid
    compresses less well than a part's neighbouring combinations, 2026-12-05)."""
    from evbt import parts
    from evbt.backtest.sweep import chunk_frames

    def size(part: pd.DataFrame, blocks: pd.DataFrame) -> int:
        return sum(len(b) for b in parts.encode(part, blocks))

    chunk_frames(inp, inp.grid.spread(1))
    sample = inp.grid.spread(CALIBRATION_COMBOS)
    k = len(sample)
    start = time.perf_counter()
    part, blocks = chunk_frames(inp, sample)
    took = time.perf_counter() - start
    empty = size(part.iloc[:0], blocks.iloc[:0])
    per_combo = max(0.0, (size(part, blocks) - empty) / k)
    return {
        "calibrated_on": k,
        "seconds": round(took / k * n_todo, 3),
        "bytes": int(per_combo * n_todo + empty * n_parts),
    }


def _human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def _human_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def sweep(
    config: Config | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    force: bool = False,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    connect_timeout: float | None = None,
    progress: bool = True,
    chunk_size: int | None = None,
    prices_path: str | None = None,
    events_path: str | None = None,
    max_combos: int | None = None,
    announce: bool = True,
) -> SweepResult:
    """Run the ``[sweep]`` of ``config``; stream parts; return the finished run.

    ``out``: results root (``evbt.store.results_root``). ``resume``: keep the finished parts
    of an interrupted run of the same id and compute only the missing ones; refused, with
    the partial folder left as it was, when that folder holds another sweep (its run id,
    config, price data, catalog or code version differ) or its manifest is damaged.
    ``force``: recompute even if a finished run of the same id exists. ``workers``: threads
    (local) or threads per worker (a Dask LocalCluster). ``executor``: ``"local"`` or
    ``"dask"`` (``scheduler`` = a Dask scheduler address; none starts a LocalCluster
    in-process). ``connect_timeout``: seconds to wait for the scheduler, and for a worker
    while the cluster has none (default 10); a Dask fault is an InputError that keeps the
    finished parts for ``resume``. ``chunk_size``: combinations per part (default 10,000).
    ``max_combos``: refuse a sweep of more combinations than this (default
    ``evbt.strategies.grid.MAX_COMBOS``, 5,000,000), before anything is loaded.
    ``announce``: before the work, say on stderr (one line) how many combinations run and
    the time and output size a short calibration run predicts (``manifest["estimate"]``);
    on Dask, as the first task returns, from that task's time on its worker over the
    cluster's threads (the client runs no kernel).
    """
    config = _config_arg(config, workers=workers, chunk_size=chunk_size, max_combos=max_combos)
    from evbt import parts, store
    from evbt.backtest.executor import CONNECT_TIMEOUT, check_address, chunks, run_chunks
    from evbt.backtest.sweep import DEFAULT_CHUNK, summarize_sweep
    from evbt.result import SweepResult
    from evbt.strategies.grid import check_size, sweep_spec

    if executor not in ("local", "dask"):
        raise InputError(f"--executor {executor!r}: use local or dask")
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: use a whole number >= 1")
    if connect_timeout is not None and not (
        isinstance(connect_timeout, int | float) and connect_timeout > 0
    ):
        raise InputError(f"--connect-timeout {connect_timeout!r}: use a number of seconds > 0")
    if scheduler is not None and executor != "dask":
        raise InputError("--scheduler needs --executor dask")
    if scheduler is not None:
        check_address(scheduler)
    if chunk_size is not None and chunk_size < 1:
        raise InputError(f"--chunk-size {chunk_size}: use a whole number >= 1")
    # the grid's size before anything is loaded or allocated
    check_size(config.origin, sweep_spec(config.sweep), max_combos=max_combos)
    t0 = time.perf_counter()
    inp = sweep_inputs(config, prices_path=prices_path, events_path=events_path)
    clock: dict[str, float] = {"inputs": time.perf_counter() - t0}
    # absolute, here on the client: nothing relative travels to a Dask worker
    root = Path(os.path.abspath(store.results_root(out, config)))
    run_id = inp.head["run_id"]
    n = inp.n_combos
    origin = Path(str(config.origin))
    manifest: dict[str, Any] = {
        **json.loads(json.dumps(inp.head, default=str)),
        "config_path": os.path.abspath(origin) if origin.is_file() else None,
        "lookahead": inp.lookahead,
        "ruined": False,
        "grid_size": inp.spec.grid_size,
        "n_combos": n,
        "method": inp.spec.method,
        "params": {
            p: [None if v is None else v for v in vals] for p, vals in inp.spec.params.items()
        },
        "blocks": len(inp.tb_n),
        "wf_blocks": inp.n_eblocks,
        "portfolio_mode": config.portfolio.mode,
    }
    if store.run_exists(root, run_id) and not force:
        done = store.open_run(root, run_id)
        summary = pd.read_parquet(done.path / "sweep_summary.parquet")
        return SweepResult(done.path, done.manifest, summary, reused=True)
    partial = store.partial_dir(root, run_id)
    old = None
    if resume and not force:
        old = _check_resume(root, run_id, manifest, str(config.origin))
    elif partial.is_dir() and (partial / "sweep").exists() and not force:
        raise InputError(
            f"{partial}: an interrupted sweep of this run exists: add --resume to finish it "
            "or --force to start over"
        )
    size = int(old["chunk_size"]) if old and "chunk_size" in old else (chunk_size or DEFAULT_CHUNK)
    manifest["chunk_size"] = size
    todo_all = chunks(n, size)
    manifest["n_parts"] = len(todo_all)
    have = parts.done_parts(partial) if old is not None else set()
    todo = [c for c in todo_all if c[0] not in have]
    n_todo = sum(hi - lo for _, lo, hi in todo)
    store.prepare_root(root)  # an unwritable root is said before the calibration run
    done_note = f", {n - n_todo:,} done before" if n_todo < n else ""
    # On a Dask cluster the estimate comes from the first task the workers finish (its
    # own time there, over the cluster's threads): the client runs no kernel, and a
    # calibration on the client would measure the wrong machine while the workers wait.
    later = executor == "dask" and n_todo > 0
    t0 = time.perf_counter()
    est = (
        _calibrate(inp, n_todo, len(todo))
        if n_todo and not later
        else {"calibrated_on": 0, "seconds": 0.0, "bytes": 0}
    )
    clock["estimate"] = time.perf_counter() - t0
    manifest["estimate"] = {"n_combos": n, "n_todo": n_todo, **est}
    if later:
        manifest["estimate"]["on"] = "dask workers, from the first task"
    if announce and not later:
        print(
            f"sweep {run_id}: {n:,} combinations{done_note}; estimated {_human_seconds(est['seconds'])} "
            f"and {_human_bytes(est['bytes'])} of part files on this machine (from "
            f"{est['calibrated_on']} combinations)",
            file=sys.stderr,
            flush=True,
        )
    if force and partial.is_dir():
        shutil.rmtree(partial / "sweep", ignore_errors=True)
    folder = store.begin_run(root, run_id, {**manifest, "parts": []})
    parts.clean_tmp(folder)
    have = parts.done_parts(folder) if old is not None else set()
    todo = [c for c in todo_all if c[0] not in have]
    started = time.perf_counter()
    with _progress(n, progress) as bar:
        skip = n - sum(hi - lo for _, lo, hi in todo)
        task = bar.add_task("sweep", total=n, completed=skip, start=True)
        bar.update(task, skipped=skip)
        finished = sorted(have)

        first: list[tuple[int, float, int]] = []  # the first task: combinations, seconds, threads
        decoded: dict[str, parts.Decoded] = {}  # what the summary reads, by part file name

        def on_task(i: int, lo: int, hi: int, seconds: float, threads: int) -> None:
            if not first:
                first.append((hi - lo, seconds, max(1, threads)))
            clock["tasks"] = clock.get("tasks", 0.0) + seconds

        def sink(
            i: int,
            lo: int,
            hi: int,
            part: bytes,
            blocks: bytes,
            totals: bytes | None = None,
        ) -> None:
            if later and "threads" not in manifest["estimate"]:  # the first task's part
                k, seconds, threads = first[0]
                manifest["estimate"].update(
                    calibrated_on=k,
                    seconds=round(seconds / k * n_todo / threads, 3),
                    bytes=int((len(part) + len(blocks)) / k * n_todo),
                    threads=threads,
                )
                if announce:
                    est = manifest["estimate"]
                    line = (
                        f"sweep {run_id}: {n:,} combinations{done_note}; estimated "
                        f"{_human_seconds(est['seconds'])} and {_human_bytes(est['bytes'])} of "
                        f"part files on {threads} Dask worker thread{'s' if threads > 1 else ''} "
                        f"(from the first task, {k} combinations)"
                    )
                    if progress:
                        bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
                    else:
                        print(line, file=sys.stderr, flush=True)
            parts.write_part(folder, i, part, blocks)
            if totals is not None:  # a chunk computed here: parts.pack's payload
                decoded[parts.part_name(i)] = parts.unpack(blocks, totals)
            finished.append(i)
            bar.advance(task, hi - lo)
            store.begin_run(
                root,
                run_id,
                {**manifest, "parts": [parts.part_name(p) for p in sorted(finished)]},
            )

        run_chunks(
            inp,
            todo,
            sink,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            connect_timeout=CONNECT_TIMEOUT if connect_timeout is None else connect_timeout,
            # a task (a Dask worker's, or the local writer thread's) encodes its tables and
            # streams their total-scope rows: the client writes bytes and reads no part back
            encode=parts.pack,
            on_task=on_task,
            clock=clock,
        )
    elapsed = time.perf_counter() - started
    t0 = time.perf_counter()
    total, blocks = parts.read_summary_inputs(folder, decoded)
    decoded.clear()
    t1 = time.perf_counter()
    summary, overfit = summarize_sweep(total, blocks, inp.params)
    clock.update(summary_inputs=t1 - t0, statistics=time.perf_counter() - t1)
    ruined = parts.any_ruined(folder) if n else False
    manifest.update(
        parts=[parts.part_name(i) for i, _, _ in todo_all],
        overfit=overfit,
        ruined=ruined,
        executor=executor,
        seconds=round(elapsed, 3),
        resumed=bool(have),
        timing={"chunks": round(elapsed, 3), **{k: round(v, 3) for k, v in clock.items()}},
    )
    manifest["created_utc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    final = store.finish_run(root, run_id, manifest=manifest, frames={"sweep_summary": summary})
    return SweepResult(final, manifest, summary)


# ------------------------------------------------------------------------ pre-earnings


def pre_earnings(
    prices: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    ticker: str = "NVDA",
    asof: Any,
    lookback: int = 10,
    benchmark: str = "SMH",
    estimation: int = 120,
    gap: int = 10,
) -> PreEarnings:
    """``ticker`` into and out of its reports as of ``asof`` (see
    :mod:`evbt.backtest.preearnings`): checks ``lookback`` and ``asof``, takes the catalog as
    known on ``asof`` and the NYSE sessions, and computes."""
    from evbt.backtest.preearnings import pre_earnings as compute
    from evbt.data.calendar import sessions
    from evbt.data.catalog import as_of, horizon_sessions

    if isinstance(lookback, bool) or int(lookback) != lookback or not 1 <= lookback <= 60:
        raise InputError(f"--lookback {lookback!r}: use a whole number of sessions from 1 to 60")
    horizon_sessions(asof, 1)  # checks the as-of date (one rule for every command)
    day = pd.Timestamp(asof).normalize()
    first = pd.to_datetime(prices["date"]).min() if len(prices) else day
    return compute(
        prices,
        as_of(catalog, day),
        sessions=sessions(first, day + pd.Timedelta(days=400)),
        ticker=ticker,
        asof=asof,
        lookback=lookback,
        benchmark=benchmark,
        estimation=estimation,
        gap=gap,
    )


__all__ = ["load_market", "pre_earnings", "run", "study", "study_events", "sweep", "sweep_inputs"]
