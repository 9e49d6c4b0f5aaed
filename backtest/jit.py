"""The one place that sets Numba JIT options for every kernel (house style: numba-stats).

``cache=True`` writes compiled code next to the module (or NUMBA_CACHE_DIR), so a warm
process skips compilation; ``nogil=True`` lets Dask threads run kernels in parallel;
``error_model="numpy"`` gives NaN/inf on division instead of raising inside hot loops.
``fastmath`` stays off: it reorders sums and would break 1e-9 parity with vectorbt.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
from numba import njit
from numba.core import types
from numba.core.registry import CPUDispatcher

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


class KernelDispatcher(CPUDispatcher):
    """A dispatcher that compiles a jitted helper once for the types of its arguments, not
    once per constant: Numba types a constant argument inside a kernel (``f(x, 0)``,
    ``g(..., True)``) as a literal and would compile a specialisation per value."""

    def get_call_template(self, args, kws):
        args = tuple(types.unliteral(a) for a in args)
        kws = {k: types.unliteral(v) for k, v in kws.items()}
        return super().get_call_template(args, kws)


def jit(func):
    """Compile ``func`` with the project's JIT options (one signature per argument types)."""
    disp = njit(**JIT_OPTIONS)(func)
    if type(disp) is CPUDispatcher:  # NUMBA_DISABLE_JIT hands back the plain function
        disp.__class__ = KernelDispatcher
    return disp


def inline_jit(func):
    """Compile ``func`` inlined at Numba's IR level into every kernel that calls it.

    For the small helpers called once per session or per position in the session loops:
    Numba does not inline one jitted function into another (the callee is linked after
    optimisation), and a call passes every array as its whole struct (a 2-D array is nine
    words), so such a helper costs more in the call than in its body. An inlined helper
    has no compiled signature of its own; each caller compiles its body.
    """
    return njit(inline="always", **JIT_OPTIONS)(func)


def gate(a: Any, dtype: Any) -> np.ndarray:
    """``a`` as an array Numba compiles once for: C-contiguous, writeable, of ``dtype``.

    Every array enters a kernel through here. pandas 3's copy-on-write ``.to_numpy()``
    hands read-only views, and Numba compiles a new specialisation for each read-only or
    layout combination (``event_ar_nb`` was cached five times); the gate copies only an
    array that does not already qualify, so each kernel keeps exactly one signature.
    """
    return np.require(a, dtype, ["C", "W"])


# ------------------------------------------------------------------ the first run talks
# Numba compiles a kernel on its first call when its cache holds nothing for it (after an
# install, an upgrade or a code change), which takes tens of seconds with no output; the
# first call of each kernel family says so in one line on stderr, once per process.
# EVBT_COMPILE_NOTICE=0 silences it (the test suite does: its one-line-error checks run on
# a cold cache in CI).
# Seconds: what a cold compile adds to each command's wall time on the 2-core development
# machine, idle (2026-12-03: a per-ticker backtest without its study 7.2 s cold vs 2.0 s
# warm; `evbt study`, its kernels compiled from both ends by two processes, 8.5-9.3 vs
# 2.4 s; `evbt sweep examples/sweep_launch.toml` 16.0 vs 2.8 s; the quick start's first
# run, the study's kernels compiled beside the backtest's, 10.2-10.6 vs 1.9 s).
# 2026-12-04, after the backtest's and the study's bookkeeping moved from kernels to NumPy
# (a loaded machine, so CPU seconds of the process that waits, cold minus warm, min of 2):
# a per-ticker backtest without its study 3.5 s; `evbt study` 3.4-5.1 s and the quick
# start 5.1-6.2 s, each beside a child compiling the study's kernels from the other end.
COMPILE_SECONDS: dict[str, float] = {"backtest": 3.5, "event-study": 5.0, "sweep": 13.0}
_told = False


def is_cold(kernel: Any) -> bool:
    """True when ``kernel`` has neither a compiled signature in this process nor an entry
    for this machine in Numba's on-disk cache index (a small pickle: cheap to read)."""
    if not isinstance(kernel, CPUDispatcher) or kernel.signatures:
        return False  # NUMBA_DISABLE_JIT, or compiled (or loaded) already
    try:
        # Numba internals (no public API says whether a kernel is in the cache): read
        # through getattr, and any surprise counts as "not cold"
        index = getattr(kernel, "_cache")._cache_file._load_index()  # noqa: B009
        here = getattr(kernel.targetctx, "codegen")().magic_tuple()  # noqa: B009
    except Exception:  # a Numba without these internals: stay silent rather than guess
        return False
    return not any(key[1] == here for key in index)


def say_if_compiling(
    families: Iterable[str], kernels: Iterable[Any], *, side_by_side: bool = False
) -> None:
    """One line on stderr when any of ``kernels`` must be compiled, with the time that the
    ``families`` (``COMPILE_SECONDS`` keys) usually take, one after the other or, with
    ``side_by_side`` (each in its own process), the longest; at most once per process."""
    global _told
    if _told or os.environ.get("EVBT_COMPILE_NOTICE") == "0":
        return
    if not any(is_cold(k) for k in kernels):
        return
    _told = True
    names = list(families)
    each = [COMPILE_SECONDS[f] for f in names]
    seconds = max(each) if side_by_side else sum(each)
    what = " and ".join(names)
    print(
        f"compiling the {what} kernels once (first run after install), about {seconds:.0f} s",
        file=sys.stderr,
        flush=True,
    )
