"""What every command module shares: JSON output and the common options."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
from collections.abc import Iterator
from typing import Any

import click

# True in the evbt process itself (``evbt.cli.main()`` called with no arguments, as the
# console script and ``python -m evbt.cli`` call it); False when Python code calls
# ``main([...])`` (tests, notebooks): only the command's own interpreter has its cyclic
# collector tuned (:func:`loading`, :func:`leaving`).
_own_process = False


#: where OpenBLAS reads its thread count, first found wins
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def own_process() -> None:
    """Say that this interpreter runs one evbt command and exits (``evbt.cli.main()``).

    Before NumPy loads, OpenBLAS is asked for one thread unless the environment says how
    many: evbt computes nothing through BLAS, and each OpenBLAS (NumPy and SciPy ship one
    each) starts a thread per extra core that spins, waiting for work, before it sleeps:
    about 0.1 s of CPU of a demo backtest on the 2-core machine, for nothing (Dask's nanny
    sets the same for its workers). Child processes inherit it."""
    global _own_process
    _own_process = True
    if not any(os.environ.get(name) for name in _BLAS_THREADS):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """A command's imports (pandas, pyarrow, ...). In the evbt process the cyclic collector
    pauses while they run and what they made is frozen after (``gc.freeze``): modules,
    classes and functions live as long as the process, and every full collection would
    walk them again (the collector took about 0.28 s of a 2.4 s demo backtest, 0.11 s with
    this). Anywhere else it does nothing."""
    if not _own_process or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@contextlib.contextmanager
def working() -> Iterator[None]:
    """A command's run (a backtest, a study or a sweep, its tables, summary and report). In
    the evbt process the cyclic collector stays paused throughout, and what the run made is
    frozen after, as the process is about to exit: a run's garbage is freed by reference
    counting, and what cycles it leaves go back with the process (the collector walked the
    kernels Numba loads and pandas' objects again and again: about 0.1 s of a demo
    backtest, 0.1-0.2 s of CPU of the 17,600-backtest sweep S1). A sweep leaves about 40
    cyclic objects per chunk (749 after 18 chunks, 2026-12-04): some 20,000 for the largest
    sweep at the default chunk size (5 million combinations, 500 chunks). Numba compiling (a cold cache) is the exception: its compiler makes
    cycles by the million, so the collector runs while a kernel compiles
    (:func:`_collect_while_compiling`). Anywhere else it does nothing."""
    if not _own_process or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        from numba.core import event  # the command loads Numba anyway, for its kernels

        _numba_without_scipy()
        with event.install_listener("numba:compile", _collect_while_compiling(event)):
            yield
    finally:
        gc.freeze()  # else the first collection after would walk all the run made
        gc.enable()


_BLAS_PROBE = "scipy.linalg.cython_blas"


def _numba_without_scipy() -> None:
    """Load Numba's implementations (what its first kernel load or compilation does, in the
    same order) without SciPy's linear algebra: Numba imports ``scipy.linalg`` there only to
    learn whether BLAS is at hand for ``np.dot`` and ``np.linalg`` (about 0.04 s, and all
    of SciPy for a backtest without an event study), and no evbt kernel uses them.

    The probe is told "not there" while the implementations load (``None`` in
    ``sys.modules`` fails that one import), then what it would have found is set back:
    SciPy is installed, so Numba's BLAS flag is on, and a kernel calling ``np.dot``
    imports ``scipy.linalg`` as it compiles, as it always did; compiled code is the same.
    Nothing is done once Numba's implementations or ``scipy.linalg`` are loaded, or with a
    Numba that keeps its flag elsewhere."""
    import importlib.util
    import sys

    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules[_BLAS_PROBE] = None  # type: ignore[assignment]
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
    finally:
        if _BLAS_PROBE in sys.modules and sys.modules[_BLAS_PROBE] is None:
            del sys.modules[_BLAS_PROBE]
    from numba.np import arraymath

    if getattr(arraymath, "_HAVE_BLAS", None) is False:
        arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None


def _collect_while_compiling(event: Any) -> Any:
    """A listener of ``numba.core.event`` for ``"numba:compile"``: the cyclic collector on
    from the start of the outermost compilation to its end (compilations nest: a kernel
    compiles the helpers it calls), paused again after. Loading a kernel from the cache is
    not a compilation and sends no such event."""

    class CollectWhileCompiling(event.Listener):
        depth = 0

        def on_start(self, event: Any) -> None:
            self.depth += 1
            if self.depth == 1:
                gc.enable()

        def on_end(self, event: Any) -> None:
            self.depth -= 1
            if self.depth == 0:
                gc.disable()

    return CollectWhileCompiling()


def leaving() -> None:
    """The evbt process is about to exit: freeze every object, so that the interpreter's
    last collections do not walk pandas, Numba and the loaded kernels (150,000 objects;
    about 0.4 s of a demo backtest's exit). Atexit handlers and ``weakref.finalize`` run as
    before; the memory goes back with the process."""
    if _own_process:
        gc.freeze()


def json_safe(obj: Any) -> Any:
    """``obj`` with non-finite floats spelled out: ``inf`` -> ``"inf"``, ``-inf`` ->
    ``"-inf"``, NaN -> ``None`` (JSON has no such numbers; ``null`` always means "not
    defined", never an infinite value). NumPy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()  # NumPy scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON. Convention: infinities are the strings ``"inf"`` and
    ``"-inf"``, NaN is ``null`` (:func:`json_safe`); output is always strict JSON."""
    click.echo(json.dumps(json_safe(obj), indent=2, default=str, allow_nan=False))


def frame_records(df) -> list[dict[str, Any]]:
    """DataFrame -> JSON-ready records with ISO dates, NaN as None, infinities as "inf"."""
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    # to_json writes inf as null; keep infinities as "inf"/"-inf" (see emit_json).
    inf = out.select_dtypes("number").columns
    records = json.loads(out.to_json(orient="records", date_format="iso"))
    for c in inf:
        vals = out[c].to_numpy()
        for rec, v in zip(records, vals, strict=True):
            if isinstance(v, float) and math.isinf(v):
                rec[c] = "inf" if v > 0 else "-inf"
    return records


_COMMON = {
    "prices": click.option(
        "--prices", default=None, help="Price file (contract format); overrides [data]."
    ),
    "events": click.option(
        "--events", default=None, help="Event catalog CSV; overrides [data] events."
    ),
    "out": click.option("--out", default=None, help="Results root (default [output] dir)."),
    "json": click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables."),
}


def common_options(*names: str):
    """Decorator adding the shared options by name: prices, events, out, json."""

    def wrap(f):
        for name in reversed(names):
            f = _COMMON[name](f)
        return f

    return wrap


no_report_option = click.option(
    "--no-report", is_flag=True, help="Do not write the HTML tearsheet (report.html)."
)


def write_report_for(run_dir, *, quiet: bool = False):
    """Write the run folder's tearsheet unless it is there already (same run id, same
    content); print its path unless ``quiet``. Returns the path."""
    from pathlib import Path

    from evbt.report import write_report

    path = Path(run_dir) / "report.html"
    if not path.exists():
        path = write_report(run_dir)
    if not quiet:
        click.echo(f"report: {path}")
    return path


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


def text(value: Any):
    """A table cell that is text, never markup: ``[bold]``, ``[/x]`` and ``:x:`` print as
    written; control characters print as visible escapes (``\\x1b``), so data can neither
    drop characters nor drive the terminal."""
    from rich.text import Text

    return Text("" if value is None else str(value).translate(_CONTROL))


def console(**kw: Any):
    """A Rich console that prints data as data: no markup, no emoji codes, no highlighting
    (every command prints its tables through it)."""
    from rich.console import Console

    return Console(emoji=False, markup=False, highlight=False, **kw)


def escape(value: Any) -> str:
    """``value`` for a string Rich reads as markup: brackets escaped, control characters as
    visible escapes (used where a line mixes evbt's own markup with data)."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(value).translate(_CONTROL))
