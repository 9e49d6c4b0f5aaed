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
    blocks = 16                           # time blocks for CSCV (probability of overfitting)
    wf_blocks = 5                         # event blocks for the walk-forward

The result is a plain dict: parameter name -> tuple of checked values, and the settings
(``method``, ``samples``, ``seed``, ``blocks``, ``wf_blocks``) as scalars when given.
:func:`sweep_spec` turns it into a :class:`SweepSpec` with the defaults filled in.
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
            else:  # blocks, wf_blocks
                out[key] = _positive_int(where, key, value, 2)
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
                    f"{where}: [sweep] {key}: value {'none' if v is None else v!r} is listed twice: "
                    "list each value once"
                )
            seen.add(v)
        out[key] = checked
    if out.get("method", "grid") == "grid" and "samples" in out:
        raise InputError(f'{where}: [sweep] samples needs method = "random"')
    if out.get("method") == "random" and "samples" not in out:
        raise InputError(f'{where}: [sweep] method = "random" needs samples = N (how many to draw)')
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
