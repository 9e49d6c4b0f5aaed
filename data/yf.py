"""The yfinance source: split-adjusted daily bars, cached per ticker as Parquet.

What is downloaded
    ``yf.download(ticker, auto_adjust=False, actions=False, ignore_tz=False, ...)``, one
    ticker per call. With ``auto_adjust=False`` Yahoo's Open/High/Low/Close/Volume are
    split-adjusted and not dividend-adjusted (the contract's prices); ``Adj Close`` is
    split- and dividend-adjusted and is kept as ``adj_close``. yfinance's default
    (``auto_adjust=True``) rescales all four prices for dividends and drops Adj Close, so a
    frame without Adj Close is refused. The raw frame has MultiIndex columns
    (Price, Ticker), prices as float64, Volume as int64, and a ``Date`` index at midnight
    exchange time (tz-aware with ``ignore_tz=False``, tz-naive with yfinance's daily
    default); the session date is the exchange-local date, never a UTC conversion.

Frames
    :mod:`evbt.data.yf_frames` turns the wide frame into the contract's long table.

Cache
    :mod:`evbt.data.cache` (the Parquet files and their metadata; no network). Covered
    ranges, not rows, decide what is missing, so sessions Yahoo has no bar for (before a
    listing) are not asked for again; sessions in the last week that came back empty are
    (Yahoo may not have published them yet). A corrupt entry is fetched again, never used.

Incremental fetch
    Missing = NYSE sessions in the request (up to the last completed session) that are
    not covered. Each run of missing sessions is downloaded together with the adjacent
    session on either side when the cache holds a bar for it (the overlap). If Yahoo's
    close or adj_close for an overlap session changed, a split or dividend since the cache
    was written has re-based the history: the whole cached range is fetched again rather
    than stitching two adjustment bases together. (A run that is not next to a cached bar
    is fetched alone; filling the gap later brings the check.)

Network
    ``_download`` is the only function that touches the network (tests replace it). It
    raises :class:`FetchError` (an ``OSError``) when the download failed, and returns an
    empty frame when Yahoo answered with no bars. ``OSError`` is retried with exponential
    backoff (1, 2, 4 s); after the last try the error is an :class:`OfflineError` saying
    what the cache holds and how to go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from evbt.data.cache import (
    CACHE_ENV,
    Entry,
    cache_info,
    covered_mask,
    holds_text,
    read_entry,
    resolve_cache_dir,
    runs,
    universe,
    write_cache,
    write_entry,
    yf_version,
)
from evbt.data.calendar import nyse, parse_day
from evbt.data.contract import validate_prices
from evbt.data.yf_frames import empty_frame, from_raw, long_from_download
from evbt.errors import InputError, OfflineError

# The cache's and the frame parser's public names stay importable from here.
__all__ = [
    "CACHE_ENV",
    "FetchError",
    "cache_info",
    "load",
    "long_from_download",
    "resolve_cache_dir",
    "write_cache",
]

log = logging.getLogger(__name__)

TRIES = 4  # one try and three retries
BASE_DELAY = 1.0  # seconds before the first retry; doubled each time
TIMEOUT = 30.0  # seconds per HTTP request inside yfinance
RECENT_DAYS = 7  # empty answers this close to today are not recorded as covered
FALLBACK = "or use --source sample (SYNTHETIC prices) or --source file with your own price file"
_RTOL = 1e-6  # overlap check: Yahoo's stored history is stable far below this
_NO_DATA = re.compile(
    r"YFPricesMissingError|YFTzMissingError|no price data found|no timezone found", re.I
)
_PANDAS4 = getattr(pd.errors, "Pandas4Warning", DeprecationWarning)

_sleep: Callable[[float], None] = time.sleep  # tests replace this (or pass sleep=)


class FetchError(ConnectionError):
    """A download failed in a way worth retrying (network, rate limit, server)."""


# ---------------------------------------------------------------- the network seam


def _download(ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """yfinance's raw daily frame for ``ticker``, sessions ``start`` to ``end`` inclusive.

    Raises :class:`FetchError` when the download failed; returns an empty frame when
    Yahoo answered with no bars for the range.
    """
    import yfinance

    with _yf_errors() as errors, warnings.catch_warnings():
        # yfinance 1.7's download() calls DataFrame.rename/sort_index(inplace=True), which
        # pandas 3.1 deprecates (Pandas4Warning). The call is yfinance's, not ours.
        warnings.filterwarnings("ignore", category=_PANDAS4, module=r"yfinance(\.|$)")
        raw = yfinance.download(
            ticker,
            start=start.strftime("%Y-%m-%d"),
            end=(end + pd.Timedelta(days=1)).strftime("%Y-%m-%d"),  # yfinance's end is exclusive
            interval="1d",
            auto_adjust=False,
            back_adjust=False,
            actions=False,
            repair=False,
            keepna=False,
            rounding=False,
            ignore_tz=False,
            group_by="column",
            multi_level_index=True,
            threads=False,
            progress=False,
            timeout=TIMEOUT,
        )
    if raw is None:
        raise FetchError(f"yfinance returned nothing for {ticker}")
    if len(raw.dropna(how="all")) > 0:
        return raw
    reason = "; ".join(errors)
    if not errors or _NO_DATA.search(reason):
        return raw  # Yahoo answered: no bars for this ticker in this range
    raise FetchError(reason)


@contextlib.contextmanager
def _yf_errors() -> Iterator[list[str]]:
    """Collect the per-ticker errors yf.download logs (it never raises them).

    yfinance's own switch ``config.debug.hide_exceptions`` is turned off for the call so
    that a network failure is reported as itself, not as "possibly delisted; no price
    data found". Its error lines are kept out of the user's log; ours say what happened.
    """
    import yfinance

    messages: list[str] = []

    class _Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            msg = " ".join(record.getMessage().split())
            if (
                record.levelno >= logging.ERROR
                and msg
                and not re.match(r"\d+ Failed download", msg)
            ):
                messages.append(msg)

    ylog = logging.getLogger("yfinance")
    grab = _Grab()
    old_propagate, old_hide = ylog.propagate, yfinance.config.debug.hide_exceptions
    ylog.addHandler(grab)
    ylog.propagate = False
    yfinance.config.debug.hide_exceptions = False
    try:
        yield messages
    finally:
        yfinance.config.debug.hide_exceptions = old_hide
        ylog.propagate = old_propagate
        ylog.removeHandler(grab)


# ---------------------------------------------------------------- fetching


def _fetch(
    ticker: str,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    *,
    tries: int,
    sleep: Callable[[float], None],
    holds: str,
    folder: Path,
) -> pd.DataFrame:
    """Download ``lo``..``hi`` with retries; validated contract rows (maybe none)."""
    for attempt in range(1, tries + 1):
        try:
            raw = _download(ticker, lo, hi)
            break
        except OSError as e:
            why = " ".join(f"{type(e).__name__}: {e}".split())[:200]
            if attempt == tries:
                raise OfflineError(
                    f"yfinance {ticker}: download of {lo:%Y-%m-%d} to {hi:%Y-%m-%d} failed after "
                    f"{tries} tries ({why}); the cache ({folder}) holds {holds}: check the network "
                    f"and the ticker symbol, pick dates inside the cache, {FALLBACK}"
                ) from None
            delay = BASE_DELAY * 2 ** (attempt - 1)
            log.info(
                "yfinance %s: download failed (%s); try %d of %d in %.0f s",
                ticker,
                why,
                attempt + 1,
                tries,
                delay,
            )
            sleep(delay)
    return from_raw(raw, ticker, lo, hi)


def _rebased(cached: pd.DataFrame, fresh: pd.DataFrame, days: Sequence[pd.Timestamp]) -> str:
    """Why the overlap sessions say Yahoo's adjustment basis changed ('' when it did not)."""
    for d in days:
        c = cached.loc[cached["date"] == d]
        f = fresh.loc[fresh["date"] == d]
        if c.empty or f.empty:
            continue
        for col in ("close", "adj_close"):
            if col in c and col in f:
                x, y = float(c[col].iloc[0]), float(f[col].iloc[0])
                if np.isfinite(x) and np.isfinite(y) and not np.isclose(x, y, rtol=_RTOL, atol=0):
                    return (
                        f"{col} for {d:%Y-%m-%d} is {y:.6g} now, {x:.6g} in the cache "
                        "(a split or dividend re-based Yahoo's history)"
                    )
    return ""


def _covers(
    lo: pd.Timestamp, hi: pd.Timestamp, fresh: pd.DataFrame, recent: pd.Timestamp
) -> np.ndarray:
    """Sessions a download of ``lo``..``hi`` settled: all of them, except recent sessions
    after the last bar (Yahoo may publish them later)."""
    end = hi
    if hi > recent:
        last = fresh["date"].max() if len(fresh) else recent
        end = min(hi, max(recent, last))
    return covered_mask([(lo, end)]) if end >= lo else covered_mask()


def _update(
    ticker: str,
    entry: Entry | None,
    missing: np.ndarray,
    *,
    folder: Path,
    tries: int,
    sleep: Callable[[float], None],
    now: pd.Timestamp,
) -> tuple[Entry | None, int]:
    """Fetch the ``missing`` sessions, merge with the cache and write it back."""
    u = universe()
    recent = now.tz_convert("America/New_York").tz_localize(None).normalize()
    recent -= pd.Timedelta(days=RECENT_DAYS)
    holds = holds_text(entry, ticker)
    cached = entry.frame if entry is not None else None
    covered = entry.covered() if entry is not None else covered_mask()
    parts: list[pd.DataFrame] = []
    fetches: list[dict] = []
    halts = 0

    def fetch(lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
        nonlocal halts
        fresh = _fetch(ticker, lo, hi, tries=tries, sleep=sleep, holds=holds, folder=folder)
        halts += int(fresh.attrs.get("dropped_halts", 0))
        fetches.append(
            {
                "at": now.isoformat(),
                "start": f"{lo:%Y-%m-%d}",
                "end": f"{hi:%Y-%m-%d}",
                "rows": len(fresh),
                "yfinance_version": yf_version(),
            }
        )
        return fresh

    rows = set(cached["date"]) if cached is not None else set()
    for a, b in runs(missing):
        lo, hi, overlap = a, b, []
        i, j = u.get_loc(a), u.get_loc(b)
        if i > 0 and u[i - 1] in rows:  # the cached session just before the run
            lo = u[i - 1]
            overlap.append(lo)
        if j + 1 < len(u) and u[j + 1] in rows:  # and just after it
            hi = u[j + 1]
            overlap.append(hi)
        fresh = fetch(lo, hi)
        why = _rebased(cached, fresh, overlap) if cached is not None else ""
        if why:
            span = np.flatnonzero(covered | missing)
            lo, hi = u[span[0]], u[span[-1]]
            log.info(
                "yfinance %s: %s; fetching %s to %s again",
                ticker,
                why,
                f"{lo:%Y-%m-%d}",
                f"{hi:%Y-%m-%d}",
            )
            fresh = fetch(lo, hi)
            cached, parts, covered = None, [fresh], _covers(lo, hi, fresh, recent)
            break
        parts.append(fresh)
        covered |= _covers(lo, hi, fresh, recent)

    frames = [f for f in ([cached] if cached is not None else []) + parts if len(f)]
    if not frames:
        return None, halts
    origin, synthetic = "yfinance", False
    if cached is not None and entry is not None:  # keep saying where the cached rows came from
        before = str(entry.meta.get("origin", "yfinance"))
        origin = before if before.endswith("yfinance") else f"{before} + yfinance"
        synthetic = bool(entry.meta.get("synthetic", False))
    merged = pd.concat(frames, ignore_index=True)
    merged = merged.drop_duplicates(subset="date", keep="last")  # fresh rows win
    merged = validate_prices(
        merged.sort_values("date", kind="stable"), origin=f"price cache for {ticker}"
    )
    new = write_entry(
        folder,
        ticker,
        merged,
        covered,
        fetches=fetches,
        previous=entry.meta if entry is not None else None,
        origin=origin,
        synthetic=synthetic,
        now=now,
    )
    return new, halts


# ---------------------------------------------------------------- loading


def _last_complete_session(now: pd.Timestamp) -> pd.Timestamp:
    """The last NYSE session that closed (plus half an hour for Yahoo) before ``now``."""
    cal = nyse()
    today = now.tz_convert("America/New_York").tz_localize(None).normalize()
    s = cal.date_to_session(min(today, cal.last_session), direction="previous")
    if cal.session_close(s) + pd.Timedelta(minutes=30) > now:
        s = cal.previous_session(s)
    return pd.Timestamp(s)


def load(
    tickers: str | Sequence[str],
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool = False,
    tries: int = TRIES,
    sleep: Callable[[float], None] | None = None,
    now: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Daily prices for ``tickers`` from the cache, downloading only missing sessions.

    ``start=None``: from the first session the cache covers for the ticker (from
    2000-01-03, the whole Yahoo history, when nothing is cached). ``end=None``: the last
    completed session online; offline, the last session the cache covers. With
    ``offline=True`` nothing is downloaded and any missing session is an
    :class:`OfflineError`. ``sleep`` and ``now`` are for tests.
    """
    names = [tickers] if isinstance(tickers, str) else list(tickers)
    syms = list(dict.fromkeys(str(t).strip().upper() for t in names))
    if not syms or "" in syms:
        raise InputError("yfinance: name at least one ticker (e.g. NVDA)")
    lo_req, hi_req = parse_day(start, "start"), parse_day(end, "end")
    first = universe()[0]
    if lo_req is not None and lo_req < first:
        raise InputError(
            f"start {lo_req:%Y-%m-%d}: the yfinance source covers NYSE sessions from "
            f"{first:%Y-%m-%d}: use a later start"
        )
    if lo_req is not None and hi_req is not None and lo_req > hi_req:
        raise InputError(f"start {lo_req:%Y-%m-%d} is after end {hi_req:%Y-%m-%d}: swap them")
    now_ts = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if now_ts.tzinfo is None:
        now_ts = now_ts.tz_localize("UTC")
    folder = resolve_cache_dir(cache_dir)
    done = _last_complete_session(now_ts)
    u = universe()

    frames, halts, synthetic = [], 0, False
    for t in syms:
        entry = read_entry(folder, t)
        covered = entry.covered() if entry is not None else covered_mask()
        have = np.flatnonzero(covered)
        lo = lo_req if lo_req is not None else (u[have[0]] if have.size else first)
        if hi_req is not None:
            hi = hi_req
        elif offline and have.size:
            hi = u[have[-1]]
        else:
            hi = done
        want = covered_mask([(lo, min(hi, done))]) if lo <= min(hi, done) else covered_mask()
        missing = want & ~covered
        if missing.any():
            gap = runs(missing)
            if offline:
                raise OfflineError(
                    f"yfinance {t}: offline, and {int(missing.sum())} session(s) from "
                    f"{gap[0][0]:%Y-%m-%d} to {gap[-1][1]:%Y-%m-%d} are not cached; the cache "
                    f"({folder}) holds {holds_text(entry, t)}: pick dates inside the cache, go online, "
                    f"{FALLBACK}"
                )
            entry, n = _update(
                t, entry, missing, folder=folder, tries=tries, sleep=sleep or _sleep, now=now_ts
            )
            halts += n
        rows = entry.frame if entry is not None else empty_frame()
        sel = rows.loc[(rows["date"] >= lo) & (rows["date"] <= hi)]
        if sel.empty:
            cached = sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []
            raise InputError(
                f"yfinance: no prices for {t} from {lo:%Y-%m-%d} to {hi:%Y-%m-%d} (the cache holds "
                f"{holds_text(entry, t)}): check the symbol (Yahoo spells them like BRK-B, ^SOX) and "
                f"the dates; cached tickers: {', '.join(urllib.parse.unquote(c) for c in cached) or 'none'}"
            )
        frames.append(sel)
        synthetic |= bool(entry is not None and entry.meta.get("synthetic", False))

    out = (
        pd.concat(frames, ignore_index=True)
        if len(frames) > 1
        else frames[0].reset_index(drop=True)
    )
    out = out.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    out.attrs = {
        "source": "yfinance (cache seeded with SYNTHETIC prices)" if synthetic else "yfinance",
        "synthetic": synthetic,
        "cache_dir": str(folder),
        "dropped_halts": halts,
        "origin": f"yfinance cache {folder}",
    }
    return out
