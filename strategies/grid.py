"""The ``[sweep]`` table: which parameters vary, over which values, and how they are drawn.

Decoded by :func:`decode_sweep` (called from ``evbt.strategies.config.from_dict``), so every value is
checked when the config is read, before any work starts. Parameters take a non-empty list
or a ``{start, stop, step}`` range (both ends included)::

    [sweep]
    entry_offset = { start = -5, stop = 5 }
    hold = [1, 3, 5, 10]
    stop_loss = ["none", 0.05, 0.10]     # "none": no stop
    direction = ["long", "short"]
    method = "random"                     # "grid" (default: the Cartesian product) or "random"
    samples = 500                         # random: how many combinations to draw
    seed = 7                              # random: the draw's seed
    blocks = 16                           # time blocks for CSCV: even, 2 to 20
    wf_blocks = 5                         # event blocks for the walk-forward: 2 to 100

The result is a plain dict: parameter name -> tuple of checked values, and the settings
(``method``, ``samples``, ``seed``, ``blocks``, ``wf_blocks``) as scalars when given.
:func:`sweep_spec` turns it into a :class:`SweepSpec` with the defaults filled in.

Every fault is found here, when the config is read: wrong types, empty lists, duplicates,
holds < 1, stops outside (0, 10), ranges that do not reach their stop, ``blocks`` that CSCV
cannot split (odd, or outside 2..20), ``samples`` larger than the grid, settings without a
parameter to vary, and grids too large to number (over 2**62 combinations). The size of a
grid that can run is checked when the sweep starts (:func:`check_size`: at most
:data:`MAX_COMBOS` combinations unless the caller raises the limit).

:class:`Grid` numbers the combinations and makes any slice of them on demand, so no array
sized by the grid is ever built: a sweep asks for one chunk at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evbt.errors import InputError, unknown_key

#: Parameters a sweep may vary, and which table of the config holds each.
SWEEPABLE: dict[str, str] = {
    "entry_offset": "strategy",
    "hold": "strategy",
    "exit_offset": "strategy",
    "stop_loss": "strategy",
    "take_profit": "strategy",
    "direction": "strategy",
    "price": "strategy",
    "stop_on": "strategy",
    "fees": "costs",
    "slippage": "costs",
}
SETTINGS = ("method", "samples", "seed", "blocks", "wf_blocks")
_CHOICES = {
    "direction": ("long", "short"),
    "price": ("close", "next_open"),
    "stop_on": ("close", "high_low"),
}
DEFAULT_BLOCKS = 16
DEFAULT_WF_BLOCKS = 5
MAX_BLOCKS = 20  # CSCV splits C(S, S/2) ways: 184,756 at S = 20 (backtest.overfit)
MAX_WF_BLOCKS = 100
#: The documented limit: a sweep of more combinations is refused unless the caller raises
#: the limit (``evbt sweep --max-combos N`` or ``--yes``).
MAX_COMBOS = 5_000_000
#: No grid may have more combinations than this: combination ids are 64-bit integers.
MAX_GRID = 2**62


@dataclass(frozen=True)
class SweepSpec:
    """A decoded ``[sweep]`` table: the swept values and how combinations are drawn."""

    params: dict[str, tuple[Any, ...]]
    method: str = "grid"
    samples: int | None = None
    seed: int = 0
    blocks: int = DEFAULT_BLOCKS
    wf_blocks: int = DEFAULT_WF_BLOCKS

    @property
    def grid_size(self) -> int:
        """Size of the full Cartesian product (before any random draw)."""
        return math.prod(len(v) for v in self.params.values()) if self.params else 1

    @property
    def n_combos(self) -> int:
        """How many combinations run: the grid, or the random draw's ``samples``."""
        if self.method == "random":
            return min(int(self.samples or self.grid_size), self.grid_size)
        return self.grid_size


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _check_value(where: str, key: str, v: Any) -> Any:
    """One swept value, checked like the config field it stands for; returns it normalised."""

    def bad(fix: str) -> InputError:
        return InputError(f"{where}: [sweep] {key} = {v!r}: {fix}")

    if key in ("entry_offset", "exit_offset"):
        if not _is_int(v):
            raise bad("use whole numbers of sessions")
        return v
    if key == "hold":
        if not _is_int(v) or v < 1:
            raise bad("use whole numbers of sessions >= 1")
        return v
    if key in ("stop_loss", "take_profit"):
        if v is None or (isinstance(v, str) and v.lower() == "none"):
            return None
        if not _is_num(v) or not (0 < v < 10):
            raise bad('use fractions > 0 (e.g. 0.05 for 5%), or "none" for no stop')
        return float(v)
    if key in _CHOICES:
        if v not in _CHOICES[key]:
            raise bad("use " + " or ".join(f'"{c}"' for c in _CHOICES[key]))
        return v
    # fees, slippage
    if not _is_num(v) or not (0 <= v < 1):
        raise bad("use fractions in [0, 1), e.g. 0.0005")
    return float(v)


def _expand_range(where: str, key: str, value: dict[str, Any]) -> list[Any]:
    extra = sorted(set(value) - {"start", "stop", "step"})
    if extra:
        raise InputError(
            f"{where}: [sweep] {key}: unknown range key {extra[0]!r}: use start, stop and step"
        )
    if "start" not in value or "stop" not in value:
        raise InputError(
            f"{where}: [sweep] {key}: a range needs start and stop (and optional step)"
        )
    start, stop, step = value["start"], value["stop"], value.get("step", 1)
    if not all(_is_num(x) for x in (start, stop, step)):
        raise InputError(
            f"{where}: [sweep] {key} = {value!r}: start, stop and step must be numbers"
        )
    if not step or (stop - start) / step < 0:
        raise InputError(f"{where}: [sweep] {key}: step must move start toward stop")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    if n > 1_000_000:
        raise InputError(f"{where}: [sweep] {key}: the range has {n} values: use a larger step")
    if all(_is_int(x) for x in (start, stop, step)):
        return [int(start + i * step) for i in range(n)]
    return [round(float(start + i * step), 12) for i in range(n)]


def _positive_int(where: str, key: str, v: Any, minimum: int) -> int:
    if not _is_int(v) or v < minimum:
        raise InputError(f"{where}: [sweep] {key} = {v!r}: use a whole number >= {minimum}")
    return v


def _bounded_int(where: str, key: str, v: Any, lo: int, hi: int) -> int:
    if not _is_int(v) or not lo <= v <= hi:
        raise InputError(f"{where}: [sweep] {key} = {v!r}: use a whole number from {lo} to {hi}")
    return v


def decode_sweep(where: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Check the ``[sweep]`` table; parameter -> tuple of values, settings -> scalars.

    Raises :class:`InputError` (one line naming ``[sweep] FIELD`` and the bad value).
    """
    known = list(SWEEPABLE) + list(SETTINGS)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise unknown_key(where, "sweep", key, known)
        if key in SETTINGS:
            if key == "method":
                if value not in ("grid", "random"):
                    raise InputError(f'{where}: [sweep] method = {value!r}: use "grid" or "random"')
                out[key] = value
            elif key == "seed":
                out[key] = _positive_int(where, key, value, 0)
            elif key == "samples":
                out[key] = _positive_int(where, key, value, 1)
            elif key == "blocks":
                v = _bounded_int(where, key, value, 2, MAX_BLOCKS)
                if v % 2:
                    raise InputError(
                        f"{where}: [sweep] blocks = {v}: CSCV splits the time blocks in halves: "
                        f"use an even number from 2 to {MAX_BLOCKS}, e.g. {DEFAULT_BLOCKS}"
                    )
                out[key] = v
            else:  # wf_blocks
                out[key] = _bounded_int(where, key, value, 2, MAX_WF_BLOCKS)
            continue
        if isinstance(value, dict):
            vals = _expand_range(where, key, value)
        elif isinstance(value, list) and value:
            vals = list(value)
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            vals = [value]
        else:
            raise InputError(
                f"{where}: [sweep] {key} = {value!r}: use a non-empty list or {{start, stop, step}}"
            )
        checked = tuple(_check_value(where, key, v) for v in vals)
        seen: set[Any] = set()
        for v in checked:
            if v in seen:
                raise InputError(
                    f"{where}: [sweep] {key}: value {'none' if v is None else repr(v)} is listed twice: "
                    "list each value once"
                )
            seen.add(v)
        out[key] = checked
    if out.get("method", "grid") == "grid" and "samples" in out:
        raise InputError(f'{where}: [sweep] samples needs method = "random"')
    if out.get("method") == "random" and "samples" not in out:
        raise InputError(f'{where}: [sweep] method = "random" needs samples = N (how many to draw)')
    params = [k for k in out if k in SWEEPABLE]
    if out and not params:
        raise InputError(
            f"{where}: [sweep] names no parameter to vary (only {', '.join(out)}): add e.g. "
            "hold = [3, 5, 10]"
        )
    size = math.prod(len(out[k]) for k in params) if params else 1
    if size > MAX_GRID:
        raise InputError(
            f"{where}: [sweep] the grid has {size:.3g} combinations, more than any sweep can "
            f"number (2**62): use fewer values per parameter"
        )
    if "samples" in out and out["samples"] > size:
        raise InputError(
            f"{where}: [sweep] samples = {out['samples']}: the grid has only {size:,} "
            f'combinations: use samples <= {size:,}, or method = "grid" to run them all'
        )
    return out


def sweep_spec(sweep: dict[str, Any]) -> SweepSpec:
    """The :class:`SweepSpec` of a decoded ``[sweep]`` table (``Config.sweep``)."""
    params = {k: tuple(v) for k, v in sweep.items() if k in SWEEPABLE}
    return SweepSpec(
        params=params,
        method=sweep.get("method", "grid"),
        samples=sweep.get("samples"),
        seed=sweep.get("seed", 0),
        blocks=sweep.get("blocks", DEFAULT_BLOCKS),
        wf_blocks=sweep.get("wf_blocks", DEFAULT_WF_BLOCKS),
    )


def check_size(where: str, spec: SweepSpec, *, max_combos: int | None = None) -> int:
    """The number of combinations ``spec`` runs, refused in one line when it is above
    ``max_combos`` (default :data:`MAX_COMBOS`). Computes nothing but a product."""
    limit = MAX_COMBOS if max_combos is None else max_combos
    n = spec.n_combos
    if n > limit:
        shown = f"{n:,}" if n < 10**15 else f"{n:.3g}"
        raise InputError(
            f"{where}: [sweep] has {shown} combinations, above the limit of {limit:,}: use "
            f'fewer values, method = "random" with samples = N, or raise the limit with '
            f"--max-combos {n} (or --yes)"
        )
    return n


#: Grid size above which the random draw avoids NumPy's whole-grid shuffle.
_DRAW_DIRECT = 50 * (1 << 20)


def _draw(total: int, k: int, seed: int):
    """``k`` distinct combination ids of ``range(total)``, sorted, drawn with ``seed``.

    Up to :data:`_DRAW_DIRECT` combinations this is NumPy's ``choice`` without replacement
    (as evbt always drew). Above, NumPy's draw can hold an array of the whole grid (when
    ``k > total / 50``), so ids are drawn uniformly and duplicates redrawn until ``k``
    distinct ones are found (for ``k > total / 2`` the ids left out are drawn instead): a
    uniform sample of ``k`` ids as well, in memory O(k).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    if total <= _DRAW_DIRECT:
        return np.sort(rng.choice(total, size=k, replace=False)).astype(np.int64)
    want = min(k, total - k)  # draw the smaller of the kept and the left-out sets
    got = np.empty(0, dtype=np.int64)
    while got.size < want:
        more = rng.integers(0, total, size=want - got.size, dtype=np.int64)
        got = np.union1d(got, more)  # sorted, distinct
    if want == k:
        return got
    keep = np.ones(total, dtype=np.bool_)  # k > total / 2: total <= 2k
    keep[got] = False
    return np.flatnonzero(keep).astype(np.int64)


class Grid:
    """The combinations of a :class:`SweepSpec`, numbered and made on demand.

    ``combo_id`` is the position in the full Cartesian product (last parameter fastest),
    also when ``method = "random"`` draws a subset (then only the drawn ids, sorted, are
    held: ``samples`` integers). :meth:`rows` makes the combinations at positions
    ``lo:hi`` as a table; nothing sized by the grid is built, so a sweep's memory is set by
    its chunk size. A stop of ``None`` is NaN in the table.

    >>> g = Grid(sweep_spec({"hold": (1, 2, 3), "direction": ("long", "short")}))
    >>> len(g), g.rows(1, 3)["hold"].tolist(), g.rows(1, 3)["direction"].tolist()
    (6, [1, 2], ['short', 'long'])
    """

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec
        self.names = list(spec.params)
        self._ids: Any = None  # random: the drawn ids, once asked for

    def __len__(self) -> int:
        return self.spec.n_combos

    def __getstate__(self) -> dict[str, Any]:  # pickled for Dask: the draw is redone there
        return {"spec": self.spec, "names": self.names, "_ids": None}

    def ids(self, lo: int = 0, hi: int | None = None):
        """The combination ids at positions ``lo:hi`` (int64)."""
        import numpy as np

        n = len(self)
        hi = n if hi is None else min(hi, n)
        lo = max(0, min(lo, hi))
        if self.spec.method != "random":
            return np.arange(lo, hi, dtype=np.int64)
        if self._ids is None:
            self._ids = _draw(self.spec.grid_size, n, self.spec.seed)
        return self._ids[lo:hi]

    def rows(self, lo: int = 0, hi: int | None = None):
        """``combo_id`` plus one column per parameter for positions ``lo:hi`` (a DataFrame
        with a fresh index)."""
        return self.frame(self.ids(lo, hi))

    def frame(self, ids):
        """``combo_id`` plus one column per parameter for the combination ids ``ids``."""
        import numpy as np
        import pandas as pd

        ids = np.asarray(ids, dtype=np.int64)
        out: dict[str, Any] = {"combo_id": ids}
        stride = 1
        for p in reversed(self.names):
            vals = self.spec.params[p]
            pos = (ids // stride) % len(vals)
            if p in ("stop_loss", "take_profit"):
                arr = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
            elif p in ("entry_offset", "hold", "exit_offset"):
                arr = np.array(vals, dtype=np.int64)
            elif p in ("fees", "slippage"):
                arr = np.array(vals, dtype=np.float64)
            else:
                arr = np.array(vals, dtype=object)
            out[p] = arr[pos]
            stride *= len(vals)
        return pd.DataFrame(out)[["combo_id", *self.names]]

    def spread(self, k: int):
        """The rows of ``k`` combinations spread evenly over the grid (for a calibration
        run: neighbours cost alike, so a spread sample costs like the whole)."""
        import numpy as np

        n = len(self)
        k = max(0, min(k, n))
        pos = np.unique(np.linspace(0, n - 1, k).astype(np.int64))
        if self.spec.method != "random":
            return self.frame(pos)
        return self.frame(self.ids()[pos])
