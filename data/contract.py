"""The price table contract: one validator for every source.

Long format, one row per (ticker, session): ``date, ticker, open, high, low, close, volume``
and optionally ``adj_close``. Prices are split-adjusted. ``date`` is a tz-naive session date.

Halt policy: a row whose open, high, low and close are all NaN is a trading halt or a
placeholder; it is dropped and counted (``df.attrs["dropped_halts"]``). A row with only
some prices NaN is an error: we cannot tell a halt from a broken feed.

Every error names the origin (file), ticker, date and the fix, in one line.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from evbt.errors import InputError

log = logging.getLogger(__name__)

REQUIRED = ("date", "ticker", "open", "high", "low", "close", "volume")
OPTIONAL = ("adj_close",)
PRICE_COLS = ("open", "high", "low", "close")


def _fail(origin: str, what: str, fix: str) -> InputError:
    return InputError(f"{origin}: {what}: {fix}")


def _first(df: pd.DataFrame, mask: pd.Series | np.ndarray) -> tuple[str, str, int]:
    rows = df.loc[np.asarray(mask)]
    row = rows.iloc[0]
    return str(row["ticker"]), pd.Timestamp(row["date"]).strftime("%Y-%m-%d"), len(rows)


def validate_prices(df: pd.DataFrame, *, origin: str = "price table") -> pd.DataFrame:
    """Check ``df`` against the contract and return a clean copy.

    The copy has ``date`` as datetime64 (tz-naive, midnight), ``ticker`` as str, prices and
    volume as float64, rows sorted by (ticker, date), halted rows dropped and counted in
    ``attrs["dropped_halts"]``. Raises :class:`InputError` naming origin, ticker and date.
    """
    if not isinstance(df, pd.DataFrame):
        raise _fail(origin, "not a table", "pass a pandas DataFrame in the contract format")
    cols = {str(c).strip().lower().replace(" ", "_"): c for c in df.columns}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise _fail(
            origin,
            f"missing column(s) {', '.join(missing)}",
            f"the file needs columns {', '.join(REQUIRED)} (optional adj_close)",
        )
    keep = [c for c in REQUIRED + OPTIONAL if c in cols]
    out = df[[cols[c] for c in keep]].copy()
    out.columns = keep
    if len(out) == 0:
        raise _fail(origin, "no rows", "the file must hold at least one price row")

    tick = out["ticker"]
    if tick.isna().any():
        idx = int(np.flatnonzero(tick.isna().to_numpy())[0])
        raise _fail(origin, f"row {idx + 1} has no ticker", "fill the ticker column")
    out["ticker"] = tick.astype(str).str.strip()
    _check_ticker_case(out["ticker"], origin)

    _check_date_form(out, origin)
    dates = pd.to_datetime(out["date"], errors="coerce", utc=False, format="mixed")
    if dates.isna().any():
        bad = out.loc[dates.isna()].iloc[0]
        raise _fail(
            origin,
            f"ticker {bad['ticker']}: unreadable date {bad['date']!r}",
            "write dates as YYYY-MM-DD",
        )
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    if (dates != dates.dt.normalize()).any():
        t, d, n = _first(out, (dates != dates.dt.normalize()).to_numpy())
        raise _fail(
            origin,
            f"ticker {t}: {n} row(s) carry a time of day, first {d}",
            "daily bars need plain dates (YYYY-MM-DD)",
        )
    out["date"] = dates.astype("datetime64[ns]")

    for c in PRICE_COLS + ("volume",) + tuple(c for c in OPTIONAL if c in out):
        vals = pd.to_numeric(out[c], errors="coerce")
        bad = vals.isna() & out[c].notna()
        if bad.any():
            t, d, n = _first(out, bad.to_numpy())
            raise _fail(
                origin,
                f"ticker {t} {d}: column {c} is not a number ({n} row(s))",
                "write plain decimal numbers",
            )
        out[c] = vals.astype("float64")

    allnan = out[list(PRICE_COLS)].isna().all(axis=1)
    n_halts = int(allnan.sum())
    out = out.loc[~allnan]
    somenan = out[list(PRICE_COLS)].isna().any(axis=1)
    if somenan.any():
        t, d, n = _first(out, somenan.to_numpy())
        raise _fail(
            origin,
            f"ticker {t} {d}: some of open/high/low/close missing ({n} row(s))",
            "fill all four prices, or leave all four empty to mark a halt",
        )

    px = out[list(PRICE_COLS)].to_numpy()
    bad = ~np.isfinite(px).all(axis=1) | (px <= 0).any(axis=1)
    if bad.any():
        t, d, n = _first(out, bad)
        raise _fail(
            origin,
            f"ticker {t} {d}: prices must be finite and > 0 ({n} row(s))",
            "remove or correct those rows",
        )
    o, h, lo, c = px.T
    bad = h < np.maximum(o, c)
    if bad.any():
        t, d, n = _first(out, bad)
        raise _fail(
            origin,
            f"ticker {t} {d}: high below open or close ({n} row(s))",
            "check the column order (open, high, low, close) or correct the bar",
        )
    bad = lo > np.minimum(o, c)
    if bad.any():
        t, d, n = _first(out, bad)
        raise _fail(
            origin,
            f"ticker {t} {d}: low above open or close ({n} row(s))",
            "check the column order (open, high, low, close) or correct the bar",
        )
    vol = out["volume"].to_numpy()
    bad = (vol < 0) | np.isinf(vol)
    if bad.any():
        t, d, n = _first(out, bad)
        raise _fail(origin, f"ticker {t} {d}: negative or infinite volume", "correct the volume")

    # Sorted and unique per ticker, checked in the order the rows came in.
    for t, g in out.groupby("ticker", sort=True):
        d = g["date"].to_numpy()
        if len(d) > 1:
            step = np.diff(d).astype("int64")
            dup = np.flatnonzero(step == 0)
            if dup.size:
                first = pd.Timestamp(d[dup[0]]).strftime("%Y-%m-%d")
                raise _fail(
                    origin,
                    f"ticker {t} has {dup.size} duplicate date(s), first {first}",
                    "drop or dedupe them",
                )
            back = np.flatnonzero(step < 0)
            if back.size:
                first = pd.Timestamp(d[back[0] + 1]).strftime("%Y-%m-%d")
                raise _fail(
                    origin,
                    f"ticker {t} dates not sorted, first out of order {first}",
                    "sort the rows by ticker, date",
                )
    _check_sessions(out, origin)
    out = out.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    jumps = split_like_jumps(out)
    for t, d, ratio in jumps[:_JUMPS_LOGGED]:
        log.warning(
            "%s: ticker %s %s: close moved x%.3g in one session, like an unadjusted split: "
            "check that the prices are split-adjusted",
            origin,
            t,
            d,
            ratio,
        )
    if len(jumps) > _JUMPS_LOGGED:
        log.warning("%s: %d more split-like jumps", origin, len(jumps) - _JUMPS_LOGGED)
    out.attrs["split_like_jumps"] = [f"{t} {d} x{r:.3g}" for t, d, r in jumps]
    out.attrs["dropped_halts"] = n_halts
    out.attrs["origin"] = origin
    return out


# One-day close ratios that look like a split not adjusted for: a move beyond 40% whose
# ratio is within 4% of k or 1/k for a usual split factor k.
SPLIT_FACTORS = (2.0, 3.0, 4.0, 5.0, 8.0, 10.0, 20.0, 1.5)
SPLIT_MIN_MOVE = 0.4
SPLIT_TOL = 0.04
_JUMPS_LOGGED = 5
_INT = re.compile(r"^\s*\d+\s*$")
_DAY_FIRST = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\s*$")


def _check_date_form(out: pd.DataFrame, origin: str) -> None:
    """Dates that pandas would misread: integers (20240125 or Unix time) and
    DD/MM/YYYY-like text (day-first or month-first cannot be told apart)."""
    col = out["date"]
    if pd.api.types.is_bool_dtype(col):
        raise _fail(origin, "the date column holds true/false", "write dates as YYYY-MM-DD")
    if pd.api.types.is_numeric_dtype(col):
        v = pd.to_numeric(col, errors="coerce")
        first = v.dropna().iloc[0] if v.notna().any() else None
        if first is not None and float(first).is_integer():
            kind = "(YYYYMMDD)" if 19000101 <= first <= 21001231 else "(Unix time?)"
            what = f"dates are integers like {int(first)} {kind}"
        else:
            what = f"dates are numbers like {first!r}"
        raise _fail(origin, what, "write dates as text YYYY-MM-DD")
    if pd.api.types.is_datetime64_any_dtype(col):
        return
    # Unique values only (a few thousand sessions, not every row), in row order.
    text = [v for v in pd.unique(col.dropna()) if isinstance(v, str)]
    ints = [v.strip() for v in text if _INT.match(v)]
    if ints:
        kind = " (YYYYMMDD)" if len(ints[0]) == 8 else " (Unix time?)"
        raise _fail(origin, f"dates are integers like {ints[0]}{kind}", "write dates as YYYY-MM-DD")
    hits = [m for m in map(_DAY_FIRST.match, text) if m]
    if hits:
        order = (
            "day-first"
            if any(int(m.group(1)) > 12 for m in hits)
            else "day- or month-first (ambiguous)"
        )
        raise _fail(
            origin,
            f"dates like {hits[0].group(0).strip()!r} are {order}",
            "write dates as YYYY-MM-DD",
        )


def _check_ticker_case(tick: pd.Series, origin: str) -> None:
    names = pd.Series(tick.unique())
    up = names.str.upper()
    dup = up.duplicated(keep=False)
    if dup.any():
        clash = sorted(names[dup])
        raise _fail(
            origin,
            f"tickers {', '.join(repr(c) for c in clash[:4])} differ only in case",
            "write each ticker in one spelling (upper case, e.g. NVDA)",
        )


def _check_sessions(out: pd.DataFrame, origin: str) -> None:
    """Every bar on an NYSE session (dates the calendar covers, 2000 on, are checked)."""
    from evbt.data.calendar import bounds, sessions

    d = out["date"]
    first, last = bounds()  # the cached session table: no exchange-calendars import
    covered = (d >= first) & (d <= last)
    if not covered.any():
        return
    sess = sessions(d[covered].min(), d[covered].max())
    bad = covered & ~d.isin(sess)
    if bad.any():
        t, day, n = _first(out, bad.to_numpy())
        raise _fail(
            origin,
            f"ticker {t} has a bar on {day}, which is not an NYSE session ({n} such row(s))",
            "drop bars on weekends and exchange holidays",
        )


def split_like_jumps(prices: pd.DataFrame) -> list[tuple[str, str, float]]:
    """``(ticker, date, ratio)`` for each one-session close ratio (close / previous close)
    that looks like an unadjusted split: beyond a 40% move and within 4% of a usual split
    factor or its inverse (2, 3, 4, 5, 8, 10, 20, 3/2). ``prices`` sorted by ticker, date."""
    c = prices["close"].to_numpy()
    if len(c) < 2:
        return []
    same = prices["ticker"].to_numpy()[1:] == prices["ticker"].to_numpy()[:-1]
    ratio = c[1:] / c[:-1]
    big = same & ((ratio > 1 + SPLIT_MIN_MOVE) | (ratio < 1 / (1 + SPLIT_MIN_MOVE)))
    out = []
    for k in np.flatnonzero(big):
        r = float(ratio[k])
        x = r if r > 1 else 1 / r
        if any(abs(x / f - 1) <= SPLIT_TOL for f in SPLIT_FACTORS):
            row = prices.iloc[k + 1]
            out.append((str(row["ticker"]), f"{pd.Timestamp(row['date']):%Y-%m-%d}", r))
    return out


def to_wide(prices: pd.DataFrame, field: str = "close") -> pd.DataFrame:
    """Pivot a validated long table to sessions x tickers for one field."""
    return prices.pivot(index="date", columns="ticker", values=field).sort_index()
