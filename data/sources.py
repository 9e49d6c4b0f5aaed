"""One entry point for prices from any source: :func:`load_prices`.

Sources:

- ``"sample"``: the bundled SYNTHETIC sample (:mod:`data.sample`), invented prices;
- ``"yfinance"``: Yahoo daily bars through the Parquet cache (:mod:`data.yf`);
- ``"file"``: the user's Parquet or CSV (:mod:`data.files`).

Every frame returned is in the contract's long format (:mod:`data.contract`), validated,
restricted to the tickers and dates asked for, and carries ``attrs["source"]`` (e.g.
``"yfinance"``, ``"file:/abs/path.parquet"``, ``"sample (SYNTHETIC)"``) and
``attrs["synthetic"]``.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from evbt.data import files, yf
from evbt.data.calendar import parse_day
from evbt.data.contract import validate_prices
from evbt.errors import InputError
from evbt.hints import nearest

log = logging.getLogger(__name__)

SOURCES = ("sample", "yfinance", "file")
_LIST_MAX = 20  # tickers named in an "unknown ticker" message


def load_prices(
    tickers: str | Sequence[str] | None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    *,
    source: str = "sample",
    path: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool = False,
) -> pd.DataFrame:
    """Prices for ``tickers`` from ``start`` to ``end`` (inclusive dates) from ``source``.

    ``tickers=None`` means every ticker the sample or file holds (yfinance needs names).
    ``path`` is the file for ``source="file"``; ``cache_dir`` and ``offline`` apply to
    ``source="yfinance"`` (see :func:`data.yf.load`). Raises :class:`InputError` for an
    unknown source or ticker, unreadable dates, or a ticker with no rows in the range.
    """
    src = _source(source)
    names = _tickers(tickers)
    lo, hi = parse_day(start, "start"), parse_day(end, "end")
    if lo is not None and hi is not None and lo > hi:
        raise InputError(f"start {lo:%Y-%m-%d} is after end {hi:%Y-%m-%d}: swap them")
    if path is not None and src != "file":
        raise InputError(
            f"a price file ({path}) is only read with source 'file': drop it or use source 'file'"
        )

    if src == "yfinance":
        if names is None:
            raise InputError("source 'yfinance' needs ticker names (e.g. NVDA SMH)")
        out = yf.load(names, lo, hi, cache_dir=cache_dir, offline=offline)
        _warn_short_coverage(out, str(out.attrs.get("source", "yfinance")))
        return _label(out, str(out.attrs["source"]), bool(out.attrs["synthetic"]))

    if src == "sample":
        sample = importlib.import_module(
            "evbt.data.sample"
        )  # the sample's loader is optional to import
        raw = sample.load_sample()
        synthetic = bool(raw.attrs.get("synthetic", True))
        label = "sample (SYNTHETIC)" if synthetic else "sample"
        if getattr(sample, "VALIDATED", False) is True:
            full = raw  # validated as it was loaded (data.sample.VALIDATED)
        else:
            full = validate_prices(raw, origin=str(raw.attrs.get("origin", label)))
    else:
        if path is None:
            raise InputError("source 'file' needs a price file: pass its path (Parquet or CSV)")
        full = files.read_prices(path)
        synthetic = False
        label = f"file:{Path(path).expanduser().resolve()}"
    out = _restrict(full, names, lo, hi, origin=label)
    _warn_short_coverage(out, label)
    return _label(out, label, synthetic)


def _warn_short_coverage(df: pd.DataFrame, origin: str) -> None:
    """Warn (log, shown by the CLI as a ``warning:`` line) for each ticker with fewer bars
    than the sessions the others span together: aligned for a run, its missing sessions are
    filled from neighbouring closes, so a benchmark would look flat there."""
    if df.empty or df["ticker"].nunique() < 2:
        return
    union = pd.DatetimeIndex(df["date"].unique()).sort_values()
    for t, g in df.groupby("ticker", sort=True):
        n = len(g)
        if n < len(union):
            missing = union.difference(pd.DatetimeIndex(g["date"]))
            log.warning(
                "%s: %s has %d bars of the %d sessions the prices span (%s to %s): its %d "
                "missing sessions, first %s, are filled flat (a benchmark returns 0 there; "
                "no trade fills there): add its bars or narrow [data] start/end",
                origin,
                t,
                n,
                len(union),
                f"{union[0]:%Y-%m-%d}",
                f"{union[-1]:%Y-%m-%d}",
                len(missing),
                f"{missing[0]:%Y-%m-%d}",
            )


def _label(df: pd.DataFrame, source: str, synthetic: bool) -> pd.DataFrame:
    df.attrs["source"] = source
    df.attrs["synthetic"] = synthetic
    return df


def _source(source: str) -> str:
    s = str(source).strip().lower()
    if s in SOURCES:
        return s
    near = nearest(s, SOURCES)
    hint = f" (did you mean {near!r}?)" if near else ""
    raise InputError(f"unknown price source {source!r}{hint}: use one of {', '.join(SOURCES)}")


def _tickers(tickers: str | Sequence[str] | None) -> list[str] | None:
    if tickers is None:
        return None
    names = [tickers] if isinstance(tickers, str) else list(tickers)
    out = list(dict.fromkeys(str(t).strip() for t in names))
    if not out or "" in out:
        raise InputError(
            f"ticker list {names!r} is empty or has a blank name: name tickers like NVDA"
        )
    return out


def _restrict(
    full: pd.DataFrame,
    names: list[str] | None,
    lo: pd.Timestamp | None,
    hi: pd.Timestamp | None,
    *,
    origin: str,
) -> pd.DataFrame:
    """Rows of ``names`` from ``lo`` to ``hi``; unknown tickers and empty ranges are errors."""
    held = sorted(full["ticker"].unique())
    if names is not None:
        known = set(held)
        unknown = [t for t in names if t not in known]
        if unknown:
            raise InputError(
                f"{origin}: unknown ticker(s) {', '.join(unknown)}{_hint(unknown, held)}: it holds {_list(held)}"
            )
    keep = full["ticker"].isin(names) if names is not None else pd.Series(True, index=full.index)
    if lo is not None:
        keep &= full["date"] >= lo
    if hi is not None:
        keep &= full["date"] <= hi
    out = full.loc[keep].reset_index(drop=True)
    for t in names if names is not None else held:
        if not (out["ticker"] == t).any():
            d = full.loc[full["ticker"] == t, "date"]
            raise InputError(
                f"{origin}: no {t} prices from {_fmt(lo, 'the start')} to {_fmt(hi, 'the end')}; it holds {t} from "
                f"{d.min():%Y-%m-%d} to {d.max():%Y-%m-%d}: widen the dates"
            )
    out.attrs = {
        "origin": full.attrs.get("origin", origin),
        "dropped_halts": int(full.attrs.get("dropped_halts", 0)),
    }
    return out


def _hint(unknown: list[str], held: list[str]) -> str:
    by_upper = {h.upper(): h for h in held}
    guesses = []
    for t in unknown:
        g = by_upper.get(t.upper()) or nearest(t, held)
        if g:
            guesses.append(g)
    return f" (did you mean {', '.join(guesses)}?)" if guesses else ""


def _list(held: list[str]) -> str:
    if len(held) <= _LIST_MAX:
        return ", ".join(held)
    return f"{', '.join(held[:_LIST_MAX])} and {len(held) - _LIST_MAX} more"


def _fmt(day: pd.Timestamp | None, unset: str) -> str:
    return f"{day:%Y-%m-%d}" if day is not None else unset
