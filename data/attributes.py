"""Launch attributes beside the catalog: ``data/events/attributes.csv``.

One row per (event, key): ``event_id, key, value, unit, source``. Values are numbers
(``total_params_b``, ``active_params_b``, ``training_gpu_hours_m``, ``training_cost_usd_m``
...) or ``true``/``false`` (``open_weights``). Every row names its source; a fact without
one stays out of the file, so a missing attribute means "not sourced", never "false".

A strategy filters on them with ``[strategy] select.attrs`` and can scale its weight by one
with ``select.weight_by`` (see :func:`attr_mask` and :func:`weight_values`).
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evbt.data.catalog_schema import check_text
from evbt.errors import InputError
from evbt.strategies.attrs import ATTR_KEY

DEFAULT_ATTRIBUTES = Path(__file__).resolve().parent / "events" / "attributes.csv"
ATTR_COLUMNS = ("event_id", "key", "value", "unit", "source")


def _parse_value(text: str) -> float | bool | None:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        v = float(low)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def load_attributes(
    path: str | os.PathLike[str] | None = None, *, event_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """The attributes table, checked; ``value`` holds floats or bools (object column).

    With ``event_ids`` (the catalog's ids) every ``event_id`` must be one of them.
    Raises :class:`InputError` naming the file, line and column.
    """
    p = Path(DEFAULT_ATTRIBUTES if path is None else path)
    return _load(str(p), frozenset(event_ids) if event_ids is not None else None).copy()


@functools.lru_cache(maxsize=8)
def _load(origin: str, ids: frozenset[str] | None) -> pd.DataFrame:
    try:
        text = Path(origin).read_text(encoding="utf-8-sig")
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(f"{origin}: no such attributes file: check the path") from None
    except UnicodeDecodeError:
        raise InputError(f"{origin}: not UTF-8 text: save the attributes as UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = [r for r in reader if any(f.strip() for f in r)]
    if not rows or tuple(c.strip() for c in rows[0]) != ATTR_COLUMNS:
        raise InputError(f"{origin}: line 1: bad header: write {','.join(ATTR_COLUMNS)}")
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(ATTR_COLUMNS):
            raise InputError(
                f"{origin}: line {n}: {len(r)} fields, expected {len(ATTR_COLUMNS)}: "
                "quote values that contain commas"
            )
        rec = dict(zip(ATTR_COLUMNS, (f.strip() for f in r), strict=True))
        for col in ATTR_COLUMNS:
            check_text(rec[col], where=f"{origin}: line {n}, column {col}")
        if ids is not None and rec["event_id"] not in ids:
            raise InputError(
                f"{origin}: line {n}, column event_id: unknown event {rec['event_id']!r}: "
                "use an id of the catalog"
            )
        if not ATTR_KEY.match(rec["key"]):
            raise InputError(
                f"{origin}: line {n}, column key: bad key {rec['key']!r}: "
                "use lowercase letters, digits and '_' (e.g. active_params_b)"
            )
        value = _parse_value(rec["value"])
        if value is None:
            raise InputError(
                f"{origin}: line {n}, column value: bad value {rec['value']!r}: "
                "write a finite number or true/false"
            )
        if not rec["source"]:
            raise InputError(
                f"{origin}: line {n}, column source: empty source: "
                "say where the value was read, or leave the row out"
            )
        k = (rec["event_id"], rec["key"])
        if k in seen:
            raise InputError(
                f"{origin}: line {n}, column key: duplicate {k[1]!r} for {k[0]!r} "
                f"(first at line {seen[k]}): keep one row"
            )
        seen[k] = n
        out.append({**rec, "value": value})
    df = pd.DataFrame(out, columns=list(ATTR_COLUMNS))
    df["value"] = df["value"].astype(object)
    return df


def attribute(attrs: pd.DataFrame, key: str) -> pd.Series:
    """``key``'s value per event id (events without it are absent)."""
    hit = attrs[attrs["key"] == key]
    return pd.Series(
        list(hit["value"]), index=pd.Index(hit["event_id"], name="event_id"), dtype=object
    )


def attr_mask(
    event_ids: Iterable[str], attrs: pd.DataFrame, spec: Iterable[tuple[str, str, Any]]
) -> np.ndarray:
    """True for events whose attributes meet every ``(key, op, bound)`` of ``spec``.

    ``op`` is ``eq`` (a bool or number equal to ``bound``), ``min`` or ``max`` (a number
    ``>=`` / ``<=`` ``bound``). An event without the key never matches (not sourced is
    not "false").
    """
    ids = list(event_ids)
    keep = np.ones(len(ids), dtype=bool)
    for key, op, bound in spec:
        vals = attribute(attrs, key)
        got = [vals.get(i) for i in ids]
        if op == "eq":
            ok = [
                v is not None and isinstance(v, bool) == isinstance(bound, bool) and v == bound
                for v in got
            ]
        else:
            ok = [
                v is not None
                and not isinstance(v, bool)
                and (v >= bound if op == "min" else v <= bound)
                for v in got
            ]
        keep &= np.array(ok, dtype=bool)
    return keep


def weight_values(event_ids: Iterable[str], attrs: pd.DataFrame, key: str) -> np.ndarray:
    """Per event, ``key``'s value as a float; NaN for events without a positive numeric value
    (a ``weight_by`` strategy does not select them). The scale made of it is point in time:
    :func:`evbt.signals.base.point_in_time_scale`."""
    vals = attribute(attrs, key)
    return np.array(
        [
            float(v) if v is not None and not isinstance(v, bool) and float(v) > 0 else np.nan
            for v in (vals.get(i) for i in event_ids)
        ],
        dtype=np.float64,
    )
