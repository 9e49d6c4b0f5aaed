"""The ``[sweep]`` table: which parameters vary and over which values."""

from __future__ import annotations

import dataclasses
from typing import Any

from evbt.errors import InputError, unknown_key
from evbt.strategies.presets import StrategyParams


def decode_sweep(where: str, raw: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    known = [f.name for f in dataclasses.fields(StrategyParams)] + ["fees", "slippage"]
    out: dict[str, tuple[Any, ...]] = {}
    for key, value in raw.items():
        if key not in known:
            raise unknown_key(where, "sweep", key, known)
        if isinstance(value, dict):
            try:
                start, stop = value["start"], value["stop"]
                step = value.get("step", 1)
            except KeyError:
                raise InputError(
                    f"{where}: [sweep] {key}: a range needs start and stop (and optional step)"
                ) from None
            if not step or (stop - start) / step < 0:
                raise InputError(f"{where}: [sweep] {key}: step must move start toward stop")
            n = int(round((stop - start) / step)) + 1
            vals = [start + i * step for i in range(n)]
            if all(isinstance(v, int) for v in (start, stop, step)):
                vals = [int(v) for v in vals]
            else:
                vals = [round(float(v), 12) for v in vals]
            out[key] = tuple(vals)
        elif isinstance(value, list) and value:
            out[key] = tuple(value)
        else:
            raise InputError(
                f"{where}: [sweep] {key}: use a non-empty list or {{start, stop, step}}"
            )
    return out
