"""Earnings report dates from yfinance into the catalog (``evbt events refresh-earnings``).

:func:`fetch_earnings_dates` is the network seam (tests replace it); :func:`earnings_rows`
turns its frame into catalog rows; :func:`refresh_earnings` adds them, all or nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evbt.data.calendar import NY
from evbt.data.catalog_io import add_events, validate_catalog
from evbt.data.catalog_schema import _TICKER, NEAR_REPORT_DAYS, match_lists
from evbt.errors import InputError, OfflineError


def fetch_earnings_dates(ticker: str, *, limit: int = 12) -> pd.DataFrame:
    """Report dates from yfinance (the network seam: tests replace this function).

    Returns yfinance's frame: index "Earnings Date" (tz-aware), columns "EPS Estimate",
    "Reported EPS", "Surprise(%)". Raises :class:`OfflineError` when Yahoo cannot be reached.
    """
    try:
        import yfinance as yf
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError(
            "yfinance is not installed: pip install yfinance, or add rows with `evbt events add`"
        ) from None
    try:
        frame = yf.Ticker(ticker).get_earnings_dates(limit=limit)
    except Exception as e:  # any failure to reach or read Yahoo
        detail = (str(e).splitlines() or [""])[0][:160]
        raise OfflineError(
            f"yfinance: could not fetch earnings dates for {ticker} ({type(e).__name__}: {detail}): "
            "check the network connection, or add the rows with `evbt events add`"
        ) from None
    if frame is None or len(frame) == 0:
        raise InputError(
            f"yfinance: no earnings dates for {ticker}: check the ticker symbol, or add the rows with `evbt events add`"
        )
    return frame


def _time_label(ts: pd.Timestamp) -> str:
    minutes = ts.hour * 60 + ts.minute
    if minutes == 0:
        return "unknown"  # Yahoo's placeholder time
    if minutes < 9 * 60 + 30:
        return "pre_market"
    if minutes >= 16 * 60:
        return "after_close"
    return "intraday"


def _report_times(frame: pd.DataFrame) -> list[pd.Timestamp]:
    col = "Earnings Date" in frame.columns
    values = list(frame["Earnings Date"]) if col else list(frame.index)
    out = []
    for v in values:
        ts = pd.Timestamp(v)
        if pd.isna(ts):
            continue
        out.append(ts.tz_convert(NY) if ts.tzinfo is not None else ts.tz_localize(NY))
    return out


@dataclass(frozen=True)
class RefreshResult:
    """What :func:`refresh_earnings` did: ids added, and dates skipped as already present."""

    added: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (date fetched, id of the catalog row that has it)


def earnings_rows(
    catalog: pd.DataFrame, ticker: str, frame: pd.DataFrame, *, fetched: dt.date
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Rows for the report dates in ``frame`` (yfinance's format) not in ``catalog`` (typed).

    A date within :data:`NEAR_REPORT_DAYS` of a confirmed earnings row of the same ticker
    is the same report and is skipped. A date inside the window of an open expected
    earnings row of the ticker supersedes it and takes its fiscal period.
    """
    tk = ticker.strip().upper()
    cat = catalog
    has_tk = pd.Series(match_lists(cat["tickers"], any_of=[tk], lower=False), index=cat.index)
    mine = cat[has_tk & (cat["kind"] == "earnings")]
    confirmed = mine[mine["status"] == "confirmed"]
    resolved = set(cat.loc[cat["supersedes"] != "", "supersedes"])
    expected = mine[(mine["status"] == "expected") & ~mine["id"].isin(resolved)]
    org = str(mine["org"].mode().iloc[0]) if len(mine) else tk
    tags = str(mine["tags"].mode().iloc[0]) if len(mine) else ""
    taken = set(cat["id"])
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    days: dict[pd.Timestamp, pd.Timestamp] = {}
    for ts in _report_times(frame):
        days.setdefault(pd.Timestamp(ts.date()), ts)
    for day, ts in sorted(days.items()):
        near = confirmed[(confirmed["date"] - day).abs() <= pd.Timedelta(days=NEAR_REPORT_DAYS)]
        if len(near):
            skipped.append((f"{day:%Y-%m-%d}", str(near["id"].iloc[0])))
            continue
        if any(
            abs(pd.Timestamp(r["date"]) - day) <= pd.Timedelta(days=NEAR_REPORT_DAYS) for r in rows
        ):
            continue
        inside = expected[(expected["window_start"] <= day) & (expected["window_end"] >= day)]
        supersedes, fiscal = "", ""
        rid = f"{tk.lower()}-earnings-{day:%Y-%m-%d}"
        if len(inside):
            supersedes = str(inside["id"].iloc[0])
            fiscal = str(inside["fiscal_period"].iloc[0])
            expected = expected[expected["id"] != supersedes]
            base = supersedes.removesuffix("-expected")
            if base != supersedes and base not in taken:
                rid = base
        taken.add(rid)
        rows.append(
            {
                "id": rid,
                "name": f"{org} {fiscal} results" if fiscal else f"{org} earnings report",
                "org": org,
                "kind": "earnings",
                "tags": tags,
                "date": f"{day:%Y-%m-%d}",
                "time": _time_label(ts),
                "tz": "America/New_York",
                "tickers": tk,
                "scheduled": True,
                "status": "confirmed",
                "fiscal_period": fiscal,
                "source": f"yfinance get_earnings_dates {fetched:%Y-%m-%d}",
                "confidence": "single",
                "supersedes": supersedes,
            }
        )
    return rows, skipped


def refresh_earnings(
    path: str | os.PathLike[str] | None,
    ticker: str,
    *,
    limit: int = 12,
    today: dt.date | None = None,
) -> RefreshResult:
    """Fetch ``ticker``'s report dates (through :func:`fetch_earnings_dates`) and add new ones.

    All-or-nothing like :func:`add_event`; nothing is fetched if the file is invalid.
    """
    tk = ticker.strip().upper()
    if not _TICKER.match(tk):
        raise InputError(f"ticker: bad symbol {ticker!r}: pass a ticker such as NVDA")
    cat = validate_catalog(path)  # None: bundled + user; rows are added to the user file
    frame = fetch_earnings_dates(tk, limit=limit)
    fetched = today or dt.date.today()
    rows, skipped = earnings_rows(cat, tk, frame, fetched=fetched)
    if rows:
        add_events(path, rows)
    return RefreshResult(tuple(r["id"] for r in rows), tuple(skipped))
