"""Make the bundled SYNTHETIC sample prices: data/sample/sample_prices.parquet.

Deterministic (fixed seed). Real NYSE sessions 2018-01-02 to 2026-09-30 from
exchange-calendars; prices are invented: a two-factor model (a broad market factor and a
semiconductor factor) plus idiosyncratic noise, all Student-t (df=4) innovations scaled to
realistic annual volatilities, with an overnight gap and intraday range. No event effects
are planted: any "edge" a strategy shows on this data is noise by construction.

Run:  python scripts/make_sample.py    (rewrites the file; the same bytes every run)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evbt.data.calendar import sessions  # noqa: E402

SEED = 20260223
START, END = "2018-01-02", "2026-09-30"
OUT = ROOT / "data" / "sample" / "sample_prices.parquet"

# ticker: (start price, annual drift, beta to market, beta to semis, idio annual vol, avg volume)
SPEC = {
    "SPY": (268.0, 0.09, 1.00, 0.00, 0.02, 80e6),
    "QQQ": (157.0, 0.13, 1.15, 0.25, 0.05, 45e6),
    "SMH": (50.0, 0.18, 1.15, 1.00, 0.04, 8e6),
    "SOXX": (60.0, 0.17, 1.15, 1.00, 0.05, 3e6),
    "^SOX": (1290.0, 0.17, 1.15, 1.00, 0.03, 0.0),
    "NVDA": (5.0, 0.40, 1.30, 1.40, 0.30, 400e6),
    "AMD": (11.0, 0.30, 1.30, 1.30, 0.35, 60e6),
    "AVGO": (25.0, 0.28, 1.10, 1.10, 0.22, 25e6),
    "TSM": (40.0, 0.20, 1.05, 1.00, 0.20, 12e6),
    "MU": (41.0, 0.15, 1.20, 1.30, 0.30, 20e6),
    "INTC": (46.0, -0.02, 1.00, 0.80, 0.28, 35e6),
    "ASML": (175.0, 0.18, 1.05, 1.00, 0.22, 1.2e6),
}
MARKET_VOL, SEMIS_VOL, DF = 0.17, 0.22, 4.0


def student_t(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance (fat tails, realistic kurtosis)."""
    return rng.standard_t(DF, size=size) / np.sqrt(DF / (DF - 2.0))


def make() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    idx = sessions(START, END)
    n = len(idx)
    day = 1.0 / np.sqrt(252.0)
    mkt = MARKET_VOL * day * student_t(rng, (n,))
    semi = SEMIS_VOL * day * student_t(rng, (n,))
    frames = []
    for ticker, (p0, mu, b_m, b_s, idio, vol0) in SPEC.items():
        eps = idio * day * student_t(rng, (n,))
        r = mu / 252.0 + b_m * mkt + b_s * semi + eps
        sigma = np.sqrt((b_m * MARKET_VOL) ** 2 + (b_s * SEMIS_VOL) ** 2 + idio**2) * day
        r -= 0.5 * sigma**2  # log returns with the stated drift in expectation
        close = p0 * np.exp(np.cumsum(r))
        gap = 0.35 * r + 0.25 * sigma * student_t(rng, (n,))  # part of the move happens overnight
        prev = np.concatenate([[p0], close[:-1]])
        open_ = prev * np.exp(gap)
        span = np.abs(rng.normal(0.0, 0.6 * sigma, size=(2, n)))
        high = np.maximum(open_, close) * np.exp(span[0])
        low = np.minimum(open_, close) * np.exp(-span[1])
        vol = 0.0 if vol0 == 0 else np.round(vol0 * np.exp(rng.normal(0, 0.35, n)))
        f = pd.DataFrame(
            {
                "date": idx,
                "ticker": ticker,
                "open": np.round(open_, 4),
                "high": np.round(high, 4),
                "low": np.round(low, 4),
                "close": np.round(close, 4),
                "volume": vol,
            }
        )
        f["high"] = f[["open", "high", "close"]].max(axis=1)
        f["low"] = f[["open", "low", "close"]].min(axis=1)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["volume"] = out["volume"].astype("float64")
    return out


def main() -> None:
    df = make()
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"evbt.synthetic"] = b"true"
    meta[b"evbt.generator"] = f"scripts/make_sample.py seed={SEED}".encode()
    table = table.replace_schema_metadata(meta)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, OUT, compression="zstd", compression_level=9)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(df)} rows, {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
