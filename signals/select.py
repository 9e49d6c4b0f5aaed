"""Which catalog rows a strategy's ``select`` picks, and the tickers a row names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from evbt.data.catalog_schema import match_lists, split_list
from evbt.errors import InputError
from evbt.hints import nearest
from evbt.strategies.presets import StrategyParams


def tickers_of(row: pd.Series) -> list[str]:
    return split_list(row.get("tickers"))


def tag_mask(catalog: pd.DataFrame, *, all_of: tuple[str, ...] = ()) -> pd.Series:
    """Rows of ``catalog`` whose tags hold every one of ``all_of`` (case-insensitive)."""
    return pd.Series(match_lists(catalog["tags"], all_of=all_of), index=catalog.index)


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = nearest(value, sorted(set(choices)))
    return f" (did you mean {close!r}?)" if close else ""


def check_select(
    params: StrategyParams, catalog: pd.DataFrame, attrs: pd.DataFrame | None = None
) -> None:
    """Refuse a ``select`` that names what does not exist, instead of silently selecting
    less: an id of ``select.ids`` not in ``catalog`` (the whole catalog, not only what was
    known on an as-of day), an attribute key of ``select.attrs`` or ``select.weight_by`` not
    in the attributes table ``attrs``. Each :class:`InputError` names the value, with a
    did-you-mean (:func:`evbt.hints.nearest`)."""
    s = params.select
    have = set(catalog["id"].astype(str))
    for i in s.ids:
        if i not in have:
            raise InputError(
                f"[strategy] select.ids: unknown event {i!r}{_did_you_mean(i, have)}: "
                "use an id of the catalog (evbt events list shows them)"
            )
    if attrs is None:
        return
    keys = set(attrs["key"].astype(str))
    named = [(f"select.attrs.{k}", k) for k, _, _ in s.attrs]
    if s.weight_by:
        named.append(("select.weight_by", s.weight_by))
    for where, k in named:
        if k not in keys:
            raise InputError(
                f"[strategy] {where}: unknown attribute {k!r}{_did_you_mean(k, keys)}: "
                f"use one of {', '.join(sorted(keys))}"
            )


def select_events(
    catalog: pd.DataFrame,
    params: StrategyParams,
    *,
    attributes: Any = None,
    universe: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Catalog rows matching ``params.select`` (case-insensitive; tags AND, tags_any OR).

    ``select.ids`` and the attribute keys must exist (:func:`check_select`): ids in
    ``universe`` (default ``catalog``; pass the whole catalog when ``catalog`` is a view of
    it as known on a day), keys in the attributes table.

    With ``select.attrs`` / ``select.weight_by`` the launch attributes are read
    (``attributes``: a table from :func:`evbt.data.attributes.load_attributes`, a path, or
    None for the bundled file); ``weight_by`` keeps the events with a positive numeric value of
    that attribute and adds it as a ``weight_value`` column (the point-in-time scale is
    :func:`evbt.signals.base.point_in_time_scale`).
    """
    s = params.select
    df = catalog
    check_select(params, catalog if universe is None else universe)
    keep = np.ones(len(df), dtype=bool)

    def isin(col: str, vals: tuple[str, ...]) -> np.ndarray:
        have = df[col].fillna("").astype(str).str.lower()
        return have.isin([v.lower() for v in vals]).to_numpy()

    if s.kind:
        keep &= isin("kind", s.kind)
    if s.org:
        keep &= isin("org", s.org)
    if s.status:
        keep &= isin("status", s.status)
    if s.confidence:
        keep &= isin("confidence", s.confidence)
    if s.ids:
        keep &= df["id"].isin(s.ids).to_numpy()
    if s.tickers:
        keep &= match_lists(df["tickers"], any_of=s.tickers)
    if s.tags or s.tags_any:
        keep &= match_lists(df["tags"], all_of=s.tags, any_of=s.tags_any)
    if not (s.attrs or s.weight_by):
        return df.loc[keep]
    from evbt.data.attributes import attr_mask, load_attributes, weight_values

    attrs = load_attributes(attributes) if not isinstance(attributes, pd.DataFrame) else attributes
    check_select(params, catalog if universe is None else universe, attrs)
    ids = df["id"].astype(str).tolist()
    if s.attrs:
        keep &= attr_mask(ids, attrs, s.attrs)
    out = df.loc[keep].copy()
    if s.weight_by:
        value = weight_values(out["id"].astype(str), attrs, s.weight_by)
        out["weight_value"] = value
        out = out[np.isfinite(value)]
    return out
