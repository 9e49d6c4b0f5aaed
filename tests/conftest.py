"""Shared fixtures. Real market data lives outside the repo, in ../shared/marketdata."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_PRICES = ROOT.parent / "shared" / "marketdata" / "prices.parquet"
EVENTS_MD = ROOT.parent / "shared" / "reference" / "events.md"


@pytest.fixture(scope="session")
def real_prices() -> pd.DataFrame:
    """The real daily prices (never copied into the repo); skip where absent."""
    if not REAL_PRICES.exists():
        pytest.skip(
            f"real prices not found at {REAL_PRICES} (present on developer machines and CI)"
        )
    return pd.read_parquet(REAL_PRICES)
