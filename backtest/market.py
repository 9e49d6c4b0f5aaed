"""Market alignment: prices for the run's tickers as session x ticker matrices.

Loads prices through the data layer, checks them, and aligns them on one session index so
the kernels can take plain arrays. Records which cells are fills (a ticker with no bar on a
session) so that no fill happens on a price that does not exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evbt.config import Config
from evbt.errors import InputError


@dataclass(frozen=True)
class Market:
    """Price matrices (sessions x tickers) cut to the run's window."""

    index: pd.DatetimeIndex
    tickers: list[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    source: str
    synthetic: bool
    data_hash: str
    filled: int  # cells filled because a ticker had no bar on a session
    first_bar: np.ndarray  # per ticker: position of its first real bar (earlier cells are fill)
    last_bar: np.ndarray  # per ticker: position of its last real bar


def load_market(config: Config, tickers: list[str], *, prices_path: str | None = None) -> Market:
    """Load, validate and align prices for ``tickers`` over the config's window."""
    from evbt.data.sources import load_prices

    d = config.data
    source = "file" if prices_path else d.source
    path = prices_path or d.prices
    df = load_prices(tickers, d.start, d.end, source=source, path=path)
    if df.empty:
        raise InputError(
            f"no prices for {', '.join(tickers)} between {d.start or 'the start'} and "
            f"{d.end or 'the end'}: widen [data] start/end or check the ticker names"
        )
    wide = {
        f: df.pivot(index="date", columns="ticker", values=f).sort_index()
        for f in ("open", "high", "low", "close")
    }
    close = wide["close"].reindex(columns=tickers)
    missing = [t for t in tickers if close[t].isna().all()]
    if missing:
        raise InputError(
            f"no prices for {', '.join(missing)} in the window: check [data] start/end or the tickers"
        )
    n_fill = int(close.isna().sum().sum())
    has = close.notna().to_numpy()
    first_bar = np.argmax(has, axis=0).astype(np.int64)
    last_bar = (len(has) - 1 - np.argmax(has[::-1], axis=0)).astype(np.int64)
    # Cells before a ticker's first bar are back-filled only so the kernel sees finite numbers;
    # no entry is allowed there (to_arrays drops it), so no trade sees a future price.
    close = close.ffill().bfill()
    mats = {}
    for f in ("open", "high", "low"):
        m = wide[f].reindex(columns=tickers)
        mats[f] = m.where(m.notna(), close).to_numpy(dtype=np.float64)
    c = np.ascontiguousarray(close.to_numpy(dtype=np.float64))
    h = hashlib.sha256()
    h.update("|".join(tickers).encode())
    h.update(close.index.asi8.tobytes())
    for arr in (mats["open"], mats["high"], mats["low"], c):
        h.update(np.ascontiguousarray(arr).tobytes())
    return Market(
        index=pd.DatetimeIndex(close.index, name="date"),
        tickers=list(tickers),
        open=np.ascontiguousarray(mats["open"]),
        high=np.ascontiguousarray(mats["high"]),
        low=np.ascontiguousarray(mats["low"]),
        close=c,
        source=str(df.attrs.get("source", source)),
        synthetic=bool(df.attrs.get("synthetic", False)),
        data_hash=h.hexdigest()[:16],
        filled=n_fill,
        first_bar=first_bar,
        last_bar=last_bar,
    )
