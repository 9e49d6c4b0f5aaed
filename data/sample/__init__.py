"""The bundled SYNTHETIC sample prices (see scripts/make_sample.py for how they are made):
the package ``evbt.data.sample``, module and data file in one folder, ``data/sample/``.

Real NYSE sessions 2018-01-02 to 2026-09-30, invented prices with no planted event effects.
Every frame loaded from here carries ``attrs["synthetic"] = True`` so that the CLI summary,
the result manifest and the report can say SYNTHETIC.
"""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd

from evbt.data.contract import validate_prices

# The data file is package data of this package (evbt.data.sample), read through
# importlib.resources; SAMPLE_PATH names it in messages and manifests.
SAMPLE_FILE = resources.files(__name__).joinpath("sample_prices.parquet")
SAMPLE_PATH = str(SAMPLE_FILE)
SAMPLE_LABEL = "sample (SYNTHETIC)"
#: :func:`load_sample` hands out copies of a table :func:`validate_prices` made (once a
#: process), so :func:`evbt.data.sources.load_prices` need not check it again; a stand-in
#: module without this flag has its table checked there
VALIDATED = True


@functools.lru_cache(maxsize=1)
def _load() -> pd.DataFrame:
    with SAMPLE_FILE.open("rb") as fh:
        table = pd.read_parquet(fh)
    return validate_prices(table, origin=SAMPLE_PATH)


def load_sample() -> pd.DataFrame:
    """The sample table in the contract format (a fresh copy), marked synthetic."""
    df = _load().copy()
    df.attrs.update({"synthetic": True, "source": SAMPLE_LABEL, "origin": SAMPLE_PATH})
    return df
