"""Helpers shared by the price-source tests (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

from evbt.data import yf
from evbt.data.contract import validate_prices

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def import_fixture(name: str):
    """Import tests/fixtures/<name>.py once (the folder is not a package)."""
    key = f"evbt_tests_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, FIXTURES / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod
        spec.loader.exec_module(mod)
    return sys.modules[key]


replay = import_fixture("yf_replay")


def contract_rows(*tickers: str) -> pd.DataFrame:
    """Valid long rows (SYNTHETIC, from the recordings) for ``tickers``."""
    parts = [yf.long_from_download(replay.recorded(t), ticker=t) for t in tickers]
    return validate_prices(pd.concat(parts, ignore_index=True), origin="rows")
