"""The bundled SYNTHETIC sample prices (see scripts/make_sample.py for how they are made).

Real NYSE sessions 2018-01-02 to 2026-09-30, invented prices with no planted event effects.
Every frame loaded from here carries ``attrs["synthetic"] = True`` so that the CLI summary,
the result manifest and the report can say SYNTHETIC.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from evbt.data.contract import validate_prices

SAMPLE_PATH = Path(__file__).resolve().parent / "sample" / "sample_prices.parquet"
SAMPLE_LABEL = "sample (SYNTHETIC)"


@functools.lru_cache(maxsize=1)
def _load() -> pd.DataFrame:
    return validate_prices(pd.read_parquet(SAMPLE_PATH), origin=str(SAMPLE_PATH))


def load_sample() -> pd.DataFrame:
    """The sample table in the contract format (a fresh copy), marked synthetic."""
    df = _load().copy()
    df.attrs.update({"synthetic": True, "source": SAMPLE_LABEL, "origin": str(SAMPLE_PATH)})
    return df
