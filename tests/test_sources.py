"""``load_prices``: one interface over the sample, yfinance (through its seam) and files."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from _support import contract_rows, replay

from evbt.data import yf
from evbt.data.contract import REQUIRED, validate_prices
from evbt.data.sources import SOURCES, load_prices
from evbt.errors import InputError, OfflineError


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.parquet"
    contract_rows("NVDA", "AMD", "SPY").to_parquet(path, index=False)
    return path


@pytest.fixture
def seam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv(yf.CACHE_ENV, raising=False)
    monkeypatch.setattr(yf, "_sleep", lambda s: None)
    r = replay.Replay()
    monkeypatch.setattr(yf, "_download", r)
    return r


@pytest.fixture
def fake_sample(monkeypatch: pytest.MonkeyPatch):
    """A stand-in data.sample whose table the test controls."""
    mod = types.ModuleType("evbt.data.sample")
    rows = contract_rows("NVDA", "AMD")
    rows.attrs["synthetic"] = True

    def load_sample() -> pd.DataFrame:
        return mod.rows.copy()

    mod.rows = rows
    mod.load_sample = load_sample
    monkeypatch.setitem(sys.modules, "evbt.data.sample", mod)
    return mod


def load_each(source: str, price_file: Path, tmp_path: Path) -> pd.DataFrame:
    kw = {"path": price_file} if source == "file" else {}
    if source == "yfinance":
        kw["cache_dir"] = tmp_path / "cache"
    return load_prices(["NVDA", "AMD"], "2024-01-10", "2024-02-20", source=source, **kw)


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_returns_the_validated_contract_restricted_and_labelled(
    source, price_file, tmp_path, seam, fake_sample
):
    got = load_each(source, price_file, tmp_path)
    assert list(got.columns[: len(REQUIRED)]) == list(REQUIRED)
    assert set(got["ticker"]) == {"NVDA", "AMD"}
    assert got["date"].min() == pd.Timestamp("2024-01-10")
    assert got["date"].max() == pd.Timestamp("2024-02-20")
    pd.testing.assert_frame_equal(validate_prices(got), got, check_like=True)  # already clean
    assert isinstance(got.attrs["source"], str) and isinstance(got.attrs["synthetic"], bool)


def test_labels(price_file, tmp_path, seam, fake_sample):
    sample = load_each("sample", price_file, tmp_path)
    assert (sample.attrs["source"], sample.attrs["synthetic"]) == ("sample (SYNTHETIC)", True)
    file = load_each("file", price_file, tmp_path)
    assert (file.attrs["source"], file.attrs["synthetic"]) == (
        f"file:{price_file.resolve()}",
        False,
    )
    web = load_each("yfinance", price_file, tmp_path)
    assert (web.attrs["source"], web.attrs["synthetic"]) == ("yfinance", False)
    assert web.attrs["cache_dir"] == str(tmp_path / "cache" / "prices")


def test_bundled_sample_is_marked_synthetic():
    pytest.importorskip("evbt.data.sample", reason="data/sample.py not in this tree")
    got = load_prices(["NVDA"], "2024-01-02", "2024-03-28")  # source defaults to the sample
    assert got.attrs["synthetic"] is True and "SYNTHETIC" in got.attrs["source"]
    assert set(got["ticker"]) == {"NVDA"} and len(got) > 0


def test_sample_output_goes_through_the_validator(fake_sample):
    bad = fake_sample.rows.copy()
    bad.loc[3, "high"] = bad.loc[3, "low"] / 2
    fake_sample.rows = bad
    with pytest.raises(InputError, match="high below open or close"):
        load_prices(["NVDA"], source="sample")


def test_none_tickers_means_everything_the_file_holds(price_file):
    got = load_prices(None, source="file", path=price_file)
    assert set(got["ticker"]) == {"NVDA", "AMD", "SPY"} and len(got) == 3 * 61


def test_single_ticker_string_is_accepted(price_file):
    got = load_prices("SPY", source="file", path=price_file)
    assert set(got["ticker"]) == {"SPY"}


def test_unknown_ticker_names_it_and_lists_what_the_source_holds(price_file):
    with pytest.raises(InputError) as err:
        load_prices(["nvda", "XYZQ"], source="file", path=price_file)
    msg = str(err.value)
    assert str(price_file.resolve()) in msg and "unknown ticker(s) nvda, XYZQ" in msg
    assert "did you mean NVDA?" in msg and "it holds AMD, NVDA, SPY" in msg


def test_ticker_without_rows_in_the_range_says_what_it_holds(price_file):
    with pytest.raises(
        InputError,
        match="no NVDA prices from 2025-01-02 to the end; it holds NVDA from 2024-01-02 to 2024-03-28",
    ):
        load_prices(["NVDA"], "2025-01-02", source="file", path=price_file)


def test_yfinance_offline_errors_pass_through(seam, tmp_path):
    with pytest.raises(OfflineError, match="holds nothing for NVDA"):
        load_prices(
            ["NVDA"],
            "2024-01-02",
            "2024-01-31",
            source="yfinance",
            cache_dir=tmp_path,
            offline=True,
        )
    assert seam.calls == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"source": "yfinanse"}, "did you mean 'yfinance'"),
        ({"source": "file"}, "needs a price file"),
        ({"source": "sample", "path": "x.csv"}, "only read with source 'file'"),
        ({"source": "sample", "start": "2024-02-30"}, "start: unreadable date"),
        ({"source": "sample", "start": "2024-03-01", "end": "2024-02-01"}, "after end"),
    ],
)
def test_bad_arguments_are_input_errors(kwargs, match, fake_sample):
    with pytest.raises(InputError, match=match):
        load_prices(["NVDA"], **kwargs)


def test_yfinance_needs_ticker_names():
    with pytest.raises(InputError, match="needs ticker names"):
        load_prices(None, source="yfinance")
