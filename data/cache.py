"""The Parquet price cache of the yfinance source: one entry per ticker, checked on read.

``<cache>/prices/<TICKER>.parquet`` (contract long format, one ticker) and ``<TICKER>.json``
beside it: covered session ranges, rows, the Parquet's sha256, the yfinance version, and a
log of fetches. ``<cache>`` is ``cache_dir``, else ``$EVBT_CACHE``, else
``platformdirs.user_cache_dir("evbt")``. Covered ranges, not rows, decide what is missing
(:mod:`evbt.data.yf` asks only for the rest). Writes are atomic (temp file + ``os.replace``,
Parquet first, then metadata). An entry that cannot be read, whose hash disagrees with its
metadata, or that fails the price contract is :class:`Corrupt`: :func:`read_entry` logs and
deletes it and returns None, so it is fetched again, never used.

No network here: downloading and retries live in :mod:`evbt.data.yf`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs

from evbt.data.calendar import CAL_START, bounds, sessions
from evbt.data.contract import validate_prices
from evbt.errors import InputError
from evbt.fsutil import atomic_write

log = logging.getLogger("evbt.data.yf")  # one logger for the yfinance source and its cache

CACHE_ENV = "EVBT_CACHE"
SCHEMA = 1
ADJUSTMENT = (
    "open/high/low/close/volume split-adjusted (yfinance auto_adjust=False); "
    "adj_close split- and dividend-adjusted"
)
_MAX_LOG = 50  # fetch-log entries kept in the metadata


class Corrupt(Exception):
    """A cache file that must not be used."""


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The price cache folder: ``<cache_dir or $EVBT_CACHE or user cache dir>/prices``."""
    if cache_dir:
        root = Path(cache_dir).expanduser()
    elif os.environ.get(CACHE_ENV):
        root = Path(os.environ[CACHE_ENV]).expanduser()
    else:
        root = Path(platformdirs.user_cache_dir("evbt"))
    return root / "prices"


def paths(folder: Path, ticker: str) -> tuple[Path, Path]:
    stem = urllib.parse.quote(ticker, safe="-_.")  # ^SOX -> %5ESOX
    return folder / f"{stem}.parquet", folder / f"{stem}.json"


@functools.lru_cache(maxsize=1)
def universe() -> pd.DatetimeIndex:
    """Every NYSE session the calendar knows; coverage masks index into it."""
    return sessions(CAL_START, bounds()[1])


def covered_mask(ranges: Sequence[Sequence[object]] = ()) -> np.ndarray:
    u = universe()
    m = np.zeros(len(u), dtype=bool)
    for a, b in ranges:
        m[u.searchsorted(pd.Timestamp(a), "left") : u.searchsorted(pd.Timestamp(b), "right")] = True
    return m


def runs(m: np.ndarray) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Contiguous runs of sessions set in ``m`` as (first, last)."""
    u = universe()
    idx = np.flatnonzero(m)
    if idx.size == 0:
        return []
    cut = np.flatnonzero(np.diff(idx) != 1)
    firsts, lasts = np.r_[idx[0], idx[cut + 1]], np.r_[idx[cut], idx[-1]]
    return [(u[a], u[b]) for a, b in zip(firsts, lasts, strict=True)]


@dataclass
class Entry:
    """One ticker's cached rows (validated) and metadata."""

    ticker: str
    frame: pd.DataFrame
    meta: dict
    path: Path

    def covered(self) -> np.ndarray:
        m = covered_mask(self.meta.get("covered", []))
        pos = universe().get_indexer(pd.DatetimeIndex(self.frame["date"]))
        m[pos[pos >= 0]] = True
        return m

    def holds(self) -> str:
        d = self.frame["date"]
        return f"{self.ticker} {d.iloc[0]:%Y-%m-%d} to {d.iloc[-1]:%Y-%m-%d} ({len(d)} rows)"


def holds_text(entry: Entry | None, ticker: str) -> str:
    return entry.holds() if entry is not None else f"nothing for {ticker}"


def read_entry(folder: Path, ticker: str) -> Entry | None:
    """The cached entry, or None when absent or corrupt (corrupt files are deleted)."""
    pq, js = paths(folder, ticker)
    if not pq.exists() and not js.exists():
        return None
    try:
        return _check_entry(ticker, pq, js)
    except Corrupt as e:
        log.warning(
            "price cache for %s at %s is corrupt (%s): deleted it; fetching %s again",
            ticker,
            pq,
            " ".join(str(e).split()),
            ticker,
        )
        for p in (pq, js):
            with contextlib.suppress(OSError):  # if it stays, the next write replaces it
                p.unlink(missing_ok=True)
        return None


def _check_entry(ticker: str, pq: Path, js: Path) -> Entry:
    if not js.exists():
        raise Corrupt("its metadata file is missing")
    if not pq.exists():
        raise Corrupt("its Parquet file is missing")
    try:
        text, data = js.read_bytes(), pq.read_bytes()
    except OSError as e:  # a permission problem is not corruption: say so, delete nothing
        raise InputError(
            f"cannot read the price cache for {ticker} in {pq.parent} ({type(e).__name__}): fix "
            f"its permissions, or set {CACHE_ENV} or pass --cache-dir with another folder"
        ) from None
    try:
        meta = json.loads(text.decode("utf-8"))
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise Corrupt(f"unreadable metadata ({type(e).__name__})") from None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise Corrupt(f"metadata is not schema {SCHEMA}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        raise Corrupt(
            f"sha256 {digest[:12]} of the Parquet does not match {str(meta.get('sha256'))[:12]} "
            "in the metadata"
        )
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as e:  # pyarrow raises several types for a broken file
        raise Corrupt(f"unreadable Parquet ({type(e).__name__})") from None
    try:
        frame = validate_prices(frame, origin=str(pq))
    except InputError as e:
        raise Corrupt(f"fails the price contract: {e}") from None
    held = {str(t) for t in frame["ticker"].unique()}
    if held != {ticker}:
        raise Corrupt(f"holds ticker(s) {', '.join(sorted(held))}, not {ticker}")
    try:
        covered_mask(meta.get("covered", []))
    except (TypeError, ValueError) as e:
        raise Corrupt(f"malformed covered ranges ({type(e).__name__})") from None
    return Entry(ticker, frame, meta, pq)


def yf_version() -> str:
    try:
        return importlib.metadata.version("yfinance")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "not installed"


def write_entry(
    folder: Path,
    ticker: str,
    frame: pd.DataFrame,
    covered: np.ndarray,
    *,
    fetches: Sequence[dict] = (),
    previous: dict | None = None,
    origin: str = "yfinance",
    synthetic: bool = False,
    now: pd.Timestamp,
) -> Entry:
    """Write one ticker's rows and metadata atomically (Parquet first, then metadata)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(
            f"cannot create the price cache {folder} ({type(e).__name__}): set {CACHE_ENV} "
            "or pass --cache-dir with a writable folder"
        ) from None
    pq, js = paths(folder, ticker)
    clean = frame.reset_index(drop=True)
    clean.attrs = {}
    buf = io.BytesIO()
    clean.to_parquet(buf, index=False)
    data = buf.getvalue()
    log_entries = list((previous or {}).get("fetches", [])) + list(fetches)
    d = clean["date"]
    meta = {
        "schema": SCHEMA,
        "ticker": ticker,
        "file": pq.name,
        "rows": len(clean),
        "first": f"{d.iloc[0]:%Y-%m-%d}",
        "last": f"{d.iloc[-1]:%Y-%m-%d}",
        "covered": [[f"{a:%Y-%m-%d}", f"{b:%Y-%m-%d}"] for a, b in runs(covered)],
        "sha256": hashlib.sha256(data).hexdigest(),
        "columns": [str(c) for c in clean.columns],
        "adjustment": ADJUSTMENT,
        "origin": origin,
        "synthetic": bool(synthetic),
        "yfinance_version": yf_version(),
        "updated_at": now.isoformat(),
        "fetches": log_entries[-_MAX_LOG:],
    }
    atomic_write(pq, data)
    atomic_write(js, (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
    return Entry(ticker, clean, meta, pq)


def write_cache(
    prices: pd.DataFrame,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    origin: str = "seeded",
) -> list[Path]:
    """Put a contract price table into the cache, one entry per ticker (replacing any).

    Each ticker's entry covers the sessions from its first to its last row. The metadata
    records ``origin`` and whether ``prices.attrs["synthetic"]`` was set, and loads from
    such an entry say so. For benchmarks and tests; real data comes in through :func:`load`.
    """
    synthetic = bool(prices.attrs.get("synthetic", False))
    checked = validate_prices(prices, origin=f"{origin} prices for the cache")
    folder = resolve_cache_dir(cache_dir)
    now = pd.Timestamp.now(tz="UTC")
    written = []
    for t, g in checked.groupby("ticker", sort=True):
        d = g["date"]
        e = write_entry(
            folder,
            str(t),
            g,
            covered_mask([(d.iloc[0], d.iloc[-1])]),
            origin=origin,
            synthetic=synthetic,
            now=now,
        )
        written.append(e.path)
    return written


def cache_info(ticker: str, *, cache_dir: str | os.PathLike[str] | None = None) -> dict | None:
    """The metadata of a ticker's cache entry (not checked), or None."""
    js = paths(resolve_cache_dir(cache_dir), ticker.strip().upper())[1]
    try:
        return json.loads(js.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
