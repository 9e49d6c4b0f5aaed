"""The file source: the user's own prices, Parquet or CSV.

Accepted layouts:

- the contract's long format, ``date, ticker, open, high, low, close, volume`` and
  optionally ``adj_close`` (``.parquet``/``.pq``, ``.csv``/``.csv.gz``);
- the wide table yfinance writes with ``yf.download(...).to_csv(path)`` (header rows
  Price / Ticker / Date) or ``.to_parquet(path)``. It must come from
  ``auto_adjust=False``: the contract wants split-adjusted, not dividend-adjusted, prices.

Every row goes through :func:`data.contract.validate_prices`; every error names the file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from evbt.data.contract import validate_prices
from evbt.data.yf import long_from_download
from evbt.errors import InputError

log = logging.getLogger(__name__)

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz")
# Missing-value spellings in number columns; the ticker column gets none (NA is a ticker).
_NA = ["", "NaN", "nan", "NA", "N/A", "n/a", "null", "NULL", "None", "#N/A", "-"]
_TEXT = ("date", "ticker")


def _key(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_")


def read_prices(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a price file; ``attrs`` carry ``origin`` and ``dropped_halts``."""
    p = Path(path).expanduser()
    origin = str(p)
    if p.is_dir():
        raise InputError(f"{origin}: is a folder: pass a .parquet or .csv file")
    if not p.is_file():
        raise InputError(f"{origin}: no such file: check the path")
    name = p.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        raw = _read_parquet(p, origin)
    elif name.endswith(CSV_SUFFIXES):
        raw = _read_csv(p, origin)
    else:
        raise InputError(
            f"{origin}: unknown file type: use {', '.join(PARQUET_SUFFIXES + CSV_SUFFIXES)}"
        )
    if isinstance(raw.columns, pd.MultiIndex):
        raw = long_from_download(raw, origin=origin)
    elif "date" not in {_key(c) for c in raw.columns} and _key(raw.index.name) == "date":
        raw = raw.reset_index()
    out = validate_prices(raw, origin=origin)
    if out.attrs.get("dropped_halts"):
        log.info(
            "%s: dropped %d halted row(s) (all prices empty)", origin, out.attrs["dropped_halts"]
        )
    return out


def _read_parquet(p: Path, origin: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except Exception as e:  # pyarrow raises several types for a broken file
        why = " ".join(str(e).split())[:160]
        raise InputError(
            f"{origin}: not a readable Parquet file ({type(e).__name__}: {why}): "
            "write it with DataFrame.to_parquet"
        ) from None


def _read_csv(p: Path, origin: str) -> pd.DataFrame:
    try:
        head = pd.read_csv(p, header=None, nrows=2, dtype=str, keep_default_na=False)
        lead = [str(x).strip() for x in head.iloc[:, 0]]
        if lead in (["Price", "Ticker"], ["Ticker", "Price"]):  # yf.download(...).to_csv()
            return pd.read_csv(p, header=[0, 1], index_col=0)
        cols = list(pd.read_csv(p, nrows=0).columns)
        if len(cols) == 1:
            for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
                if sep in str(cols[0]):
                    raise InputError(
                        f"{origin}: columns are separated by {name}, not commas: write a "
                        "comma-separated file (DataFrame.to_csv) with a header row"
                    )
        text = [c for c in cols if _key(c) in _TEXT]
        return pd.read_csv(
            p,
            dtype={c: str for c in text},
            keep_default_na=False,
            na_values={c: _NA for c in cols if c not in text},
        ).pipe(_blank_to_na, text)
    except pd.errors.EmptyDataError:
        raise InputError(
            f"{origin}: the file is empty: write a header row and price rows"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as e:
        why = " ".join(str(e).split())[:160]
        raise InputError(
            f"{origin}: not a readable CSV ({type(e).__name__}: {why}): write a comma-separated "
            "file with a header row"
        ) from None


def _blank_to_na(df: pd.DataFrame, text: list[str]) -> pd.DataFrame:
    """Empty date/ticker cells become missing, so the validator names the row."""
    for c in text:
        s = df[c].str.strip()
        df[c] = s.where(s != "", None)
    return df
