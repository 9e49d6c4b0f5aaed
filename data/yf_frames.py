"""yfinance's frames -> the price contract's long table (no network, no cache).

``yf.download`` returns wide frames: MultiIndex columns (Price, Ticker) or (Ticker, Price),
or flat ``Ticker.history`` columns, indexed by midnight stamps in exchange time (tz-aware or
naive), or strings as ``to_csv`` wrote them. :func:`long_from_download` turns any of them
into the contract's columns; :func:`from_raw` also validates and cuts a download to the
sessions asked for. Used by the yfinance source (:mod:`evbt.data.yf`) and by the file source
for the wide CSV ``yf.download(...).to_csv()`` writes (:mod:`evbt.data.files`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from evbt.data.contract import OPTIONAL, PRICE_COLS, REQUIRED, validate_prices
from evbt.errors import InputError

COLUMNS = (*REQUIRED, *OPTIONAL)


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

    dates = index_dates(raw.index)
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


def index_dates(index: pd.Index) -> np.ndarray:
    """Session dates of a yfinance index: the exchange-local date of midnight stamps."""
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            index = index.tz_localize(None)  # wall time in the exchange's zone
        return index.to_numpy()
    text = pd.Series(index, dtype=object).astype(str).str.strip()
    day = text.str.extract(_DAY, expand=False)
    return day.where(day.notna(), text).to_numpy()  # unmatched text: the validator names it


def empty_frame() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    out["date"] = out["date"].astype("datetime64[ns]")
    out["ticker"] = out["ticker"].astype(str)
    return out


def from_raw(raw: pd.DataFrame, ticker: str, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """A downloaded frame, checked against the contract and cut to ``lo``..``hi``."""
    origin = f"yfinance download of {ticker} {lo:%Y-%m-%d} to {hi:%Y-%m-%d}"
    if len(raw) == 0:
        out = empty_frame()
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
