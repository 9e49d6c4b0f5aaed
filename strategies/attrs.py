"""The attribute filter of a strategy's ``select``: ``attrs = { key = value | { min, max } }``.

Pure Python, below the config, so a ``Select`` checks its own spec when it is built; the
attribute *values* live in the data layer (``evbt.data.attributes``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from evbt.errors import InputError

#: An attribute name: lower case, digits and underscores (``active_params_b``).
ATTR_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY = ATTR_KEY


def normalise_attr_spec(spec: Any, *, where: str) -> tuple[tuple[str, str, Any], ...]:
    """TOML ``attrs = { key = true | number | { min = .., max = .. } }`` -> sorted
    ``(key, op, bound)`` triples; a list of triples passes through after the same checks."""
    if isinstance(spec, Mapping):
        items: list[tuple[str, str, Any]] = []
        for key, v in spec.items():
            if isinstance(v, Mapping):
                if not v or any(op not in ("min", "max") for op in v):
                    raise InputError(
                        f"{where}.{key} = {dict(v)!r}: use {{ min = N }}, {{ max = N }} or both"
                    )
                items.extend((str(key), str(op), b) for op, b in v.items())
            else:
                items.append((str(key), "eq", v))
    elif isinstance(spec, list | tuple):
        items = []
        for it in spec:
            if not (isinstance(it, list | tuple) and len(it) == 3):
                raise InputError(
                    f"{where} = {spec!r}: use a table, e.g. {{ active_params_b = {{ max = 40 }} }}"
                )
            items.append((str(it[0]), str(it[1]), it[2]))
    else:
        raise InputError(
            f"{where} = {spec!r}: use a table, e.g. {{ open_weights = true, active_params_b = {{ max = 40 }} }}"
        )
    out = []
    for key, op, b in items:
        if not _KEY.match(key):
            raise InputError(f"{where}: bad attribute name {key!r}: use e.g. active_params_b")
        if op not in ("eq", "min", "max"):
            raise InputError(f"{where}.{key}: unknown bound {op!r}: use min or max")
        if op == "eq":
            ok = isinstance(b, bool) or (isinstance(b, int | float) and math.isfinite(b))
        else:
            ok = isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b)
        if not ok:
            raise InputError(
                f"{where}.{key} = {b!r}: use true/false or a number"
                if op == "eq"
                else f"{where}.{key}.{op} = {b!r}: use a finite number"
            )
        out.append((key, op, b if isinstance(b, bool) else float(b)))
    bounds: dict[str, dict[str, Any]] = {}
    for key, op, b in out:
        bounds.setdefault(key, {})[op] = b
    for key, bd in bounds.items():
        if "min" in bd and "max" in bd and bd["min"] > bd["max"]:
            raise InputError(
                f"{where}.{key} = {{ min = {bd['min']:g}, max = {bd['max']:g} }}: min is above "
                "max, so nothing can match: swap them"
            )
    return tuple(sorted(out, key=lambda t: (t[0], t[1])))
