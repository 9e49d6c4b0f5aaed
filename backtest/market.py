"""Market alignment: prices for the run's tickers as session x ticker matrices.

Aligns a long price table (loaded by the application through the data layer) on one session
index so the kernels can take plain arrays. Records which cells are real bars (``Market.real``) and
which are fills (a ticker with no bar on a session: forward-filled, back-filled before its
first bar), so that no trade ever fills on a price the market did not print (contract C1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    real: np.ndarray  # bool [sessions, tickers]: True where the ticker has a real bar

    def select(self, tickers: list[str]) -> Market:
        """The same market restricted to ``tickers`` (in that order)."""
        keep = [self.tickers.index(t) for t in tickers]

        def cols(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a[:, keep])

        return Market(
            index=self.index,
            tickers=list(tickers),
            open=cols(self.open),
            high=cols(self.high),
            low=cols(self.low),
            close=cols(self.close),
            source=self.source,
            synthetic=self.synthetic,
            data_hash=self.data_hash,
            filled=int((~self.real[:, keep]).sum()),
            first_bar=self.first_bar[keep],
            last_bar=self.last_bar[keep],
            real=cols(self.real),
        )


def align_prices(
    df: pd.DataFrame, tickers: list[str], *, source: str = "file", synthetic: bool = False
) -> Market:
    """Align a long price table (the data contract) into session x ticker matrices.

    Sessions are the dates any ticker has a bar on. A ticker without a bar on a session gets
    its last close there (its first close before its first bar) in every price field, and
    ``real`` False: such cells mark equity, never fill a trade.
    """
    fields = ["open", "high", "low", "close"]
    both = df.pivot(index="date", columns="ticker", values=fields).sort_index()  # one pivot
    wide = {f: both[f] for f in fields}
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
    # Cells without a bar (before a ticker's first bar: back-filled) hold numbers only so the
    # kernel can mark equity; they are not real, so no trade ever fills there (C1).
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
    h.update(np.packbits(has).tobytes())  # which cells are real bars decides fills too
    return Market(
        index=pd.DatetimeIndex(close.index, name="date"),
        tickers=list(tickers),
        open=np.ascontiguousarray(mats["open"]),
        high=np.ascontiguousarray(mats["high"]),
        low=np.ascontiguousarray(mats["low"]),
        close=c,
        source=source,
        synthetic=synthetic,
        data_hash=h.hexdigest()[:16],
        filled=n_fill,
        first_bar=first_bar,
        last_bar=last_bar,
        real=np.ascontiguousarray(has),
    )
