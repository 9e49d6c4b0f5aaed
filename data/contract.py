"""The price table contract: one validator for every source.

Long format, one row per (ticker, session): ``date, ticker, open, high, low, close, volume``
and optionally ``adj_close``. Prices are split-adjusted. ``date`` is a tz-naive session date.

Halt policy: a row whose open, high, low and close are all NaN is a trading halt or a
placeholder; it is dropped and counted (``df.attrs["dropped_halts"]``). A row with only
some prices NaN is an error: we cannot tell a halt from a broken feed.

Every error names the origin (file), ticker, date and the fix, in one line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evbt.errors import InputError

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
    out = out.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    out.attrs["dropped_halts"] = n_halts
    out.attrs["origin"] = origin
    return out


def to_wide(prices: pd.DataFrame, field: str = "close") -> pd.DataFrame:
    """Pivot a validated long table to sessions x tickers for one field."""
    return prices.pivot(index="date", columns="ticker", values=field).sort_index()
