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

Cache
    ``<cache>/prices/<TICKER>.parquet`` (contract long format, one ticker) and
    ``<TICKER>.json`` beside it: covered session ranges, rows, the Parquet's sha256, the
    yfinance version, and a log of fetches. ``<cache>`` is ``cache_dir``, else
    ``$EVBT_CACHE``, else ``platformdirs.user_cache_dir("evbt")``. Covered ranges, not
    rows, decide what is missing, so sessions Yahoo has no bar for (before a listing) are
    not asked for again; sessions in the last week that came back empty are (Yahoo may not
    have published them yet). Writes are atomic (temp file + ``os.replace``). A cache file
    that cannot be read, whose hash disagrees with its metadata, or that fails the contract
    is logged, deleted and fetched again, never used.

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
import functools
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import re
import tempfile
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs

from evbt.data.calendar import CAL_START, nyse, parse_day, sessions
from evbt.data.contract import OPTIONAL, PRICE_COLS, REQUIRED, validate_prices
from evbt.errors import InputError, OfflineError

log = logging.getLogger(__name__)

CACHE_ENV = "EVBT_CACHE"
TRIES = 4  # one try and three retries
BASE_DELAY = 1.0  # seconds before the first retry; doubled each time
TIMEOUT = 30.0  # seconds per HTTP request inside yfinance
RECENT_DAYS = 7  # empty answers this close to today are not recorded as covered
SCHEMA = 1
ADJUSTMENT = (
    "open/high/low/close/volume split-adjusted (yfinance auto_adjust=False); "
    "adj_close split- and dividend-adjusted"
)
FALLBACK = "or use --source sample (SYNTHETIC prices) or --source file with your own price file"
_RTOL = 1e-6  # overlap check: Yahoo's stored history is stable far below this
_MAX_LOG = 50  # fetch-log entries kept in the metadata
_NO_DATA = re.compile(
    r"YFPricesMissingError|YFTzMissingError|no price data found|no timezone found", re.I
)
_PANDAS4 = getattr(pd.errors, "Pandas4Warning", DeprecationWarning)
_COLUMNS = (*REQUIRED, *OPTIONAL)

_sleep: Callable[[float], None] = time.sleep  # tests replace this (or pass sleep=)


class FetchError(ConnectionError):
    """A download failed in a way worth retrying (network, rate limit, server)."""


class _Corrupt(Exception):
    """A cache file that must not be used."""


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


# ---------------------------------------------------------------- raw frame -> contract


def long_from_download(
    raw: pd.DataFrame, *, ticker: str | None = None, origin: str = "yfinance frame"
) -> pd.DataFrame:
    """yfinance's wide frame -> the contract's long columns (not yet validated).

    Takes ``yf.download`` output (MultiIndex columns (Price, Ticker) or (Ticker, Price)),
    or a flat ``Ticker.history``-style frame when ``ticker`` is given. The index may be
    tz-aware (its local date is the session) or naive, or strings as ``to_csv`` writes.
    """
    cols = raw.columns
    if isinstance(cols, pd.MultiIndex):
        if cols.nlevels != 2:
            raise InputError(
                f"{origin}: expected 2 column levels (Price, Ticker), found {cols.nlevels}"
            )
        names = list(cols.names)
        if "Ticker" in names:
            tlev = names.index("Ticker")
        else:  # unnamed levels: the Price level is the one holding "Close"
            tlev = 0 if "Close" in set(cols.get_level_values(1)) else 1
        present = [str(t) for t in dict.fromkeys(cols.get_level_values(tlev))]
        if ticker is None:
            want = present
        elif ticker in present:
            want = [ticker]
        elif len(present) == 1:
            want = present
        else:
            raise InputError(
                f"{origin}: no columns for {ticker}; the frame holds {', '.join(present)}"
            )
        parts = [(t, raw.xs(t, axis=1, level=tlev)) for t in want]
    else:
        if ticker is None:
            raise InputError(f"{origin}: flat yfinance columns carry no ticker: pass the ticker")
        parts = [(ticker, raw)]

    dates = _index_dates(raw.index)
    out = []
    for t, sub in parts:
        named = {str(c).strip().lower().replace(" ", "_"): c for c in sub.columns}
        if "close" in named and "adj_close" not in named:
            raise InputError(
                f"{origin}: ticker {t} has no 'Adj Close', so its prices are dividend-adjusted "
                "(yfinance's default auto_adjust=True): download with auto_adjust=False"
            )
        missing = [c for c in (*PRICE_COLS, "volume", "adj_close") if c not in named]
        if missing:
            raise InputError(
                f"{origin}: ticker {t} lacks column(s) {', '.join(missing)}: expected yfinance's "
                "Open, High, Low, Close, Adj Close, Volume"
            )
        cols_out = {"date": dates, "ticker": np.full(len(sub), t, dtype=object)}
        for c in (*PRICE_COLS, "volume", "adj_close"):
            cols_out[c] = sub[named[c]].to_numpy()
        out.append(pd.DataFrame(cols_out))
    return pd.concat(out, ignore_index=True) if len(out) > 1 else out[0]


_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]00:00:00)?(?:[+-]\d{2}:?\d{2}|Z)?$")


def _index_dates(index: pd.Index) -> np.ndarray:
    """Session dates of a yfinance index: the exchange-local date of midnight stamps."""
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            index = index.tz_localize(None)  # wall time in the exchange's zone
        return index.to_numpy()
    text = pd.Series(index, dtype=object).astype(str).str.strip()
    day = text.str.extract(_DAY, expand=False)
    return day.where(day.notna(), text).to_numpy()  # unmatched text: the validator names it


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="float64") for c in _COLUMNS})
    out["date"] = out["date"].astype("datetime64[ns]")
    out["ticker"] = out["ticker"].astype(str)
    return out


def _from_raw(raw: pd.DataFrame, ticker: str, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """A downloaded frame, checked against the contract and cut to ``lo``..``hi``."""
    origin = f"yfinance download of {ticker} {lo:%Y-%m-%d} to {hi:%Y-%m-%d}"
    if len(raw) == 0:
        out = _empty()
        out.attrs["dropped_halts"] = 0
        return out
    long = long_from_download(raw, ticker=ticker, origin=origin)
    long["ticker"] = ticker
    try:
        out = validate_prices(long, origin=origin)
    except InputError as e:
        raise InputError(f"{e} (a bad bar from Yahoo; nothing was cached)") from None
    halts = out.attrs.get("dropped_halts", 0)
    out = out.loc[(out["date"] >= lo) & (out["date"] <= hi)].reset_index(drop=True)
    out.attrs["dropped_halts"] = halts
    return out


# ---------------------------------------------------------------- cache files


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The price cache folder: ``<cache_dir or $EVBT_CACHE or user cache dir>/prices``."""
    if cache_dir:
        root = Path(cache_dir).expanduser()
    elif os.environ.get(CACHE_ENV):
        root = Path(os.environ[CACHE_ENV]).expanduser()
    else:
        root = Path(platformdirs.user_cache_dir("evbt"))
    return root / "prices"


def _paths(folder: Path, ticker: str) -> tuple[Path, Path]:
    stem = urllib.parse.quote(ticker, safe="-_.")  # ^SOX -> %5ESOX
    return folder / f"{stem}.parquet", folder / f"{stem}.json"


@functools.lru_cache(maxsize=1)
def _universe() -> pd.DatetimeIndex:
    """Every NYSE session the calendar knows; coverage masks index into it."""
    return sessions(CAL_START, nyse().last_session)


def _mask(ranges: Sequence[Sequence[object]] = ()) -> np.ndarray:
    u = _universe()
    m = np.zeros(len(u), dtype=bool)
    for a, b in ranges:
        m[u.searchsorted(pd.Timestamp(a), "left") : u.searchsorted(pd.Timestamp(b), "right")] = True
    return m


def _runs(m: np.ndarray) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Contiguous runs of sessions set in ``m`` as (first, last)."""
    u = _universe()
    idx = np.flatnonzero(m)
    if idx.size == 0:
        return []
    cut = np.flatnonzero(np.diff(idx) != 1)
    firsts, lasts = np.r_[idx[0], idx[cut + 1]], np.r_[idx[cut], idx[-1]]
    return [(u[a], u[b]) for a, b in zip(firsts, lasts, strict=True)]


@dataclass
class _Entry:
    """One ticker's cached rows (validated) and metadata."""

    ticker: str
    frame: pd.DataFrame
    meta: dict
    path: Path

    def covered(self) -> np.ndarray:
        m = _mask(self.meta.get("covered", []))
        pos = _universe().get_indexer(pd.DatetimeIndex(self.frame["date"]))
        m[pos[pos >= 0]] = True
        return m

    def holds(self) -> str:
        d = self.frame["date"]
        return f"{self.ticker} {d.iloc[0]:%Y-%m-%d} to {d.iloc[-1]:%Y-%m-%d} ({len(d)} rows)"


def _holds(entry: _Entry | None, ticker: str) -> str:
    return entry.holds() if entry is not None else f"nothing for {ticker}"


def _read_entry(folder: Path, ticker: str) -> _Entry | None:
    """The cached entry, or None when absent or corrupt (corrupt files are deleted)."""
    pq, js = _paths(folder, ticker)
    if not pq.exists() and not js.exists():
        return None
    try:
        return _check_entry(ticker, pq, js)
    except _Corrupt as e:
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


def _check_entry(ticker: str, pq: Path, js: Path) -> _Entry:
    if not js.exists():
        raise _Corrupt("its metadata file is missing")
    if not pq.exists():
        raise _Corrupt("its Parquet file is missing")
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
        raise _Corrupt(f"unreadable metadata ({type(e).__name__})") from None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise _Corrupt(f"metadata is not schema {SCHEMA}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        raise _Corrupt(
            f"sha256 {digest[:12]} of the Parquet does not match {str(meta.get('sha256'))[:12]} "
            "in the metadata"
        )
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as e:  # pyarrow raises several types for a broken file
        raise _Corrupt(f"unreadable Parquet ({type(e).__name__})") from None
    try:
        frame = validate_prices(frame, origin=str(pq))
    except InputError as e:
        raise _Corrupt(f"fails the price contract: {e}") from None
    held = {str(t) for t in frame["ticker"].unique()}
    if held != {ticker}:
        raise _Corrupt(f"holds ticker(s) {', '.join(sorted(held))}, not {ticker}")
    try:
        _mask(meta.get("covered", []))
    except (TypeError, ValueError) as e:
        raise _Corrupt(f"malformed covered ranges ({type(e).__name__})") from None
    return _Entry(ticker, frame, meta, pq)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _yf_version() -> str:
    try:
        return importlib.metadata.version("yfinance")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "not installed"


def _write_entry(
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
) -> _Entry:
    """Write one ticker's rows and metadata atomically (Parquet first, then metadata)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(
            f"cannot create the price cache {folder} ({type(e).__name__}): set {CACHE_ENV} "
            "or pass --cache-dir with a writable folder"
        ) from None
    pq, js = _paths(folder, ticker)
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
        "covered": [[f"{a:%Y-%m-%d}", f"{b:%Y-%m-%d}"] for a, b in _runs(covered)],
        "sha256": hashlib.sha256(data).hexdigest(),
        "columns": [str(c) for c in clean.columns],
        "adjustment": ADJUSTMENT,
        "origin": origin,
        "synthetic": bool(synthetic),
        "yfinance_version": _yf_version(),
        "updated_at": now.isoformat(),
        "fetches": log_entries[-_MAX_LOG:],
    }
    _atomic_write(pq, data)
    _atomic_write(js, (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
    return _Entry(ticker, clean, meta, pq)


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
        e = _write_entry(
            folder,
            str(t),
            g,
            _mask([(d.iloc[0], d.iloc[-1])]),
            origin=origin,
            synthetic=synthetic,
            now=now,
        )
        written.append(e.path)
    return written


def cache_info(ticker: str, *, cache_dir: str | os.PathLike[str] | None = None) -> dict | None:
    """The metadata of a ticker's cache entry (not checked), or None."""
    js = _paths(resolve_cache_dir(cache_dir), ticker.strip().upper())[1]
    try:
        return json.loads(js.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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
    return _from_raw(raw, ticker, lo, hi)


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
    return _mask([(lo, end)]) if end >= lo else _mask()


def _update(
    ticker: str,
    entry: _Entry | None,
    missing: np.ndarray,
    *,
    folder: Path,
    tries: int,
    sleep: Callable[[float], None],
    now: pd.Timestamp,
) -> tuple[_Entry | None, int]:
    """Fetch the ``missing`` sessions, merge with the cache and write it back."""
    u = _universe()
    recent = now.tz_convert("America/New_York").tz_localize(None).normalize()
    recent -= pd.Timedelta(days=RECENT_DAYS)
    holds = _holds(entry, ticker)
    cached = entry.frame if entry is not None else None
    covered = entry.covered() if entry is not None else _mask()
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
                "yfinance_version": _yf_version(),
            }
        )
        return fresh

    rows = set(cached["date"]) if cached is not None else set()
    for a, b in _runs(missing):
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
    new = _write_entry(
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
    first = _universe()[0]
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
    u = _universe()

    frames, halts, synthetic = [], 0, False
    for t in syms:
        entry = _read_entry(folder, t)
        covered = entry.covered() if entry is not None else _mask()
        have = np.flatnonzero(covered)
        lo = lo_req if lo_req is not None else (u[have[0]] if have.size else first)
        if hi_req is not None:
            hi = hi_req
        elif offline and have.size:
            hi = u[have[-1]]
        else:
            hi = done
        want = _mask([(lo, min(hi, done))]) if lo <= min(hi, done) else _mask()
        missing = want & ~covered
        if missing.any():
            gap = _runs(missing)
            if offline:
                raise OfflineError(
                    f"yfinance {t}: offline, and {int(missing.sum())} session(s) from "
                    f"{gap[0][0]:%Y-%m-%d} to {gap[-1][1]:%Y-%m-%d} are not cached; the cache "
                    f"({folder}) holds {_holds(entry, t)}: pick dates inside the cache, go online, "
                    f"{FALLBACK}"
                )
            entry, n = _update(
                t, entry, missing, folder=folder, tries=tries, sleep=sleep or _sleep, now=now_ts
            )
            halts += n
        rows = entry.frame if entry is not None else _empty()
        sel = rows.loc[(rows["date"] >= lo) & (rows["date"] <= hi)]
        if sel.empty:
            cached = sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []
            raise InputError(
                f"yfinance: no prices for {t} from {lo:%Y-%m-%d} to {hi:%Y-%m-%d} (the cache holds "
                f"{_holds(entry, t)}): check the symbol (Yahoo spells them like BRK-B, ^SOX) and "
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
