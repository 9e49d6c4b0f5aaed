"""The one place that sets Numba JIT options for every kernel (house style: numba-stats).

``cache=True`` writes compiled code next to the module (or NUMBA_CACHE_DIR), so a warm
process skips compilation; ``nogil=True`` lets Dask threads run kernels in parallel;
``error_model="numpy"`` gives NaN/inf on division instead of raising inside hot loops.
``fastmath`` stays off: it reorders sums and would break 1e-9 parity with vectorbt.
"""

from __future__ import annotations

from typing import Any

from numba import njit

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


def jit(func):
    """Compile ``func`` with the project's JIT options."""
    return njit(**JIT_OPTIONS)(func)
