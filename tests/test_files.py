"""The file source: the user's Parquet or CSV, long contract format or yfinance's wide CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _support import contract_rows, replay

from evbt.data.calendar import sessions
from evbt.data.files import read_prices
from evbt.data.sources import load_prices
from evbt.errors import InputError

REAL_PRICES = Path(__file__).resolve().parents[1].parent / "shared/marketdata/prices.parquet"


def write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_like=True
    )


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".csv.gz"])
def test_long_format_round_trip(tmp_path, suffix):
    rows = contract_rows("NVDA", "SPY")
    path = tmp_path / f"prices{suffix}"
    if suffix == ".csv.gz":
        rows.to_csv(path, index=False)
    else:
        write(rows, path)
    got = read_prices(path)
    same(got, rows)
    assert got.attrs["origin"] == str(path) and got.attrs["dropped_halts"] == 0


def test_long_csv_with_date_strings_and_capitalised_headers(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "Date,Ticker,Open,High,Low,Close,Volume\n"
        "2024-01-02,NVDA,10,11,9,10.5,100\n"
        "2024-01-03,NVDA,10.5,12,10,11,\n"
    )
    got = read_prices(path)
    assert list(got["date"]) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert np.isnan(got["volume"].iloc[1])  # volume may be missing (indices)


def test_ticker_named_na_is_a_ticker_not_a_missing_value(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,ticker,open,high,low,close,volume\n2024-01-02,NA,10,11,9,10.5,NA\n")
    got = read_prices(path)
    assert list(got["ticker"]) == ["NA"] and np.isnan(got["volume"].iloc[0])


def test_date_as_parquet_index_is_accepted(tmp_path):
    rows = contract_rows("AMD")
    path = tmp_path / "p.parquet"
    rows.set_index("date").to_parquet(path)
    same(read_prices(path), rows)


# ---------------------------------------------------------------- yfinance's wide layout


def test_yfinance_download_csv_is_read(tmp_path):
    got = read_prices(replay.csv_path("NVDA"))  # the recording is yf.download(...).to_csv()
    same(got, contract_rows("NVDA"))
    assert got["date"].iloc[0] == pd.Timestamp("2024-01-02")  # -05:00 stamp, not shifted
    assert got["date"].iloc[-1] == pd.Timestamp("2024-03-28")  # -04:00 after the DST change


def test_yfinance_multi_ticker_and_tz_naive_csv_is_read(tmp_path):
    both = pd.concat([replay.recorded("NVDA"), replay.recorded("AMD")], axis=1).sort_index(
        axis=1, level=0
    )
    path = tmp_path / "download.csv"
    replay.naive(both).to_csv(path)  # yfinance's daily default writes plain dates
    assert path.read_text().splitlines()[3].startswith("2024-01-02,")
    same(read_prices(path), contract_rows("AMD", "NVDA"))


def test_yfinance_group_by_ticker_parquet_is_read(tmp_path):
    frame = replay.recorded("SPY").swaplevel(axis=1)  # group_by="ticker": (Ticker, Price)
    path = tmp_path / "download.parquet"
    frame.to_parquet(path)
    same(read_prices(path), contract_rows("SPY"))


def test_yfinance_csv_without_adj_close_is_refused(tmp_path):
    path = tmp_path / "auto_adjusted.csv"
    replay.recorded("NVDA").drop(columns="Adj Close", level="Price").to_csv(path)
    with pytest.raises(InputError, match="auto_adjust=False") as err:
        read_prices(path)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------- every validator error


def _drop_low(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns="low")


def _duplicate(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df.iloc[:4], df.iloc[3:]], ignore_index=True)  # 2024-01-05 twice


def _unsorted(df: pd.DataFrame) -> pd.DataFrame:
    order = list(range(len(df)))
    order[3], order[4] = 4, 3  # 2024-01-08 before 2024-01-05
    return df.iloc[order].reset_index(drop=True)


def _high_low(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "high"] = df.loc[3, "close"] * 0.5
    return df


def _low_high(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "low"] = df.loc[3, "open"] * 2 + df.loc[3, "close"]
    df.loc[3, "high"] = df.loc[3, "low"] * 2
    return df


def _non_positive(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "low"] = 0.0
    return df


def _partial_nan(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "open"] = np.nan
    return df


def _bad_date(df: pd.DataFrame) -> pd.DataFrame:
    df["date"] = df["date"].dt.strftime("%Y-%m-%d")
    df.loc[3, "date"] = "2024-13-45"
    return df


ERRORS = [
    (_drop_low, "missing column(s) low", None),
    (_duplicate, "1 duplicate date(s), first 2024-01-05", "NVDA"),
    (_unsorted, "not sorted, first out of order 2024-01-05", "NVDA"),
    (_high_low, "NVDA 2024-01-05: high below open or close", "NVDA"),
    (_low_high, "NVDA 2024-01-05: low above open or close", "NVDA"),
    (_non_positive, "NVDA 2024-01-05: prices must be finite and > 0", "NVDA"),
    (_partial_nan, "NVDA 2024-01-05: some of open/high/low/close missing", "NVDA"),
    (_bad_date, "ticker NVDA: unreadable date '2024-13-45'", "NVDA"),
]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(
    ("breaker", "says", "ticker"), ERRORS, ids=[e[0].__name__[1:] for e in ERRORS]
)
def test_validator_errors_name_file_ticker_and_date(tmp_path, suffix, breaker, says, ticker):
    rows = contract_rows("NVDA")
    rows["date"] = rows["date"].astype("datetime64[ns]")
    path = write(breaker(rows.copy()), tmp_path / f"bad{suffix}")
    with pytest.raises(InputError) as err:
        read_prices(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and says in msg and "\n" not in msg
    if ticker:
        assert ticker in msg


def test_halts_are_dropped_and_counted(tmp_path, caplog):
    rows = contract_rows("NVDA").astype({"date": "datetime64[ns]"})
    rows.loc[[5, 9], ["open", "high", "low", "close"]] = np.nan
    path = write(rows, tmp_path / "halts.csv")
    with caplog.at_level("INFO", logger="evbt.data.files"):
        got = read_prices(path)
    assert got.attrs["dropped_halts"] == 2 and len(got) == len(rows) - 2
    assert "dropped 2 halted row(s)" in caplog.text


# ---------------------------------------------------------------- files that are not price files


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        read_prices(tmp_path / "nope.csv")


def test_unknown_suffix_is_named(tmp_path):
    path = tmp_path / "prices.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(InputError, match=r"prices\.xlsx: unknown file type"):
        read_prices(path)


def test_empty_csv_is_named(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        read_prices(path)


def test_garbage_parquet_is_named(tmp_path):
    path = tmp_path / "garbage.parquet"
    path.write_bytes(b"not a parquet file at all")
    with pytest.raises(InputError, match=r"garbage\.parquet: not a readable Parquet file"):
        read_prices(path)


def test_header_only_csv_is_named(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("date,ticker,open,high,low,close,volume\n")
    with pytest.raises(InputError, match=r"header\.csv: no rows"):
        read_prices(path)


# ---------------------------------------------------------------- real prices (outside the repo)

needs_real = pytest.mark.skipif(
    not REAL_PRICES.exists(),
    reason=f"real prices not found at {REAL_PRICES} (present on developer machines and CI only)",
)


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return read_prices(REAL_PRICES)


@pytest.mark.realdata
@needs_real
def test_real_prices_pass_the_contract_through_the_file_source(real):
    assert real.attrs["origin"] == str(REAL_PRICES)
    assert {"NVDA", "SPY", "SMH", "^SOX"} <= set(real["ticker"])
    via = load_prices(["NVDA", "SMH"], "2020-01-02", "2024-12-31", source="file", path=REAL_PRICES)
    assert (
        via.attrs["source"] == f"file:{REAL_PRICES.resolve()}" and via.attrs["synthetic"] is False
    )
    assert set(via["ticker"]) == {"NVDA", "SMH"}


@pytest.mark.realdata
@needs_real
def test_real_prices_have_every_nyse_session_from_2020(real):
    gaps = {}
    for t, g in real.groupby("ticker"):
        want = sessions("2020-01-02", g["date"].max())
        have = pd.DatetimeIndex(g["date"])
        missing = want.difference(have)
        if len(missing):
            gaps[t] = (len(missing), f"{missing[0]:%Y-%m-%d}")
    assert gaps == {}, f"tickers missing NYSE sessions (count, first): {gaps}"


@pytest.mark.realdata
@pytest.mark.skipif(
    not REAL_PRICES.with_name("prices.csv.gz").exists(),
    reason=f"real prices CSV not found beside {REAL_PRICES} (developer machines and CI only)",
)
def test_real_prices_csv_and_parquet_agree(real):
    same(read_prices(REAL_PRICES.with_name("prices.csv.gz")), real)


# ---------------------------------------------------------------- data that cannot be right


def _dated(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return out


def test_bar_on_a_non_session_is_refused_naming_ticker_and_date(tmp_path):
    rows = _dated(contract_rows("NVDA"))
    sat = rows.iloc[[0]].assign(date="2024-01-06")  # a Saturday
    bad = pd.concat([rows, sat]).sort_values("date")
    with pytest.raises(InputError, match=r"NVDA has a bar on 2024-01-06, which is not an NYSE"):
        read_prices(write(bad, tmp_path / "p.csv"))


def test_bar_on_a_holiday_is_refused(tmp_path):
    rows = _dated(contract_rows("NVDA"))
    hol = rows.iloc[[0]].assign(date="2024-12-25")
    bad = pd.concat([rows, hol]).sort_values("date")
    with pytest.raises(InputError, match=r"2024-12-25, which is not an NYSE session"):
        read_prices(write(bad, tmp_path / "p.parquet"))


def test_tickers_that_differ_only_in_case_are_refused(tmp_path):
    """Regression: `nvda` rows beside `NVDA` were silently ignored."""
    rows = contract_rows("NVDA")
    low = rows.assign(ticker="nvda")
    with pytest.raises(InputError, match=r"'NVDA', 'nvda' differ only in case"):
        read_prices(write(pd.concat([rows, low]), tmp_path / "p.csv"))


@pytest.mark.parametrize(
    "fmt, says",
    [
        (lambda d: d.dt.strftime("%d/%m/%Y"), r"dates like '\d\d/\d\d/\d{4}' are day"),
        (lambda d: d.dt.strftime("%Y%m%d"), r"dates are integers like \d{8} \(YYYYMMDD\)"),
        (lambda d: d.dt.strftime("%Y%m%d").astype(int), r"dates are integers like \d{8}"),
        (lambda d: d.astype("int64") // 10**9, r"dates are integers like \d+ \(Unix time\?\)"),
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_date_forms_that_would_be_misread_name_the_cause(tmp_path, fmt, says, suffix):
    """Regression: these got "not sorted" or "missing columns" instead of the cause."""
    rows = contract_rows("NVDA")
    rows["date"] = fmt(rows["date"])
    with pytest.raises(InputError, match=says):
        read_prices(write(rows, tmp_path / f"p{suffix}"))


@pytest.mark.parametrize("sep, name", [(";", "semicolons"), ("\t", "tabs")])
def test_other_separators_are_named(tmp_path, sep, name):
    p = tmp_path / "p.csv"
    contract_rows("NVDA").to_csv(p, sep=sep, index=False)
    with pytest.raises(InputError, match=rf"separated by {name}, not commas"):
        read_prices(p)


def test_split_like_jump_warns_naming_ticker_and_date(tmp_path, caplog):
    rows = contract_rows("NVDA", "SPY")
    day = rows.loc[rows["ticker"] == "NVDA", "date"].iloc[20]
    m = (rows["ticker"] == "NVDA") & (rows["date"] >= day)
    rows.loc[m, ["open", "high", "low", "close"]] /= 4  # a 4:1 split not adjusted for
    with caplog.at_level("WARNING", logger="evbt"):
        df = read_prices(write(rows, tmp_path / "p.parquet"))
    want = f"NVDA {day:%Y-%m-%d}"
    assert any(
        want in r.getMessage() and "unadjusted split" in r.getMessage() for r in caplog.records
    )
    (only,) = df.attrs["split_like_jumps"]
    assert only.startswith(f"{want} x0.2")  # the day's own move on top of the 1/4


def test_split_like_jumps_finds_ratios_near_split_factors_only():
    from evbt.data.contract import split_like_jumps

    close = [100, 50.2, 50, 25.0, 24, 96.5, 173.7, 225.8]
    df = pd.DataFrame(
        {"ticker": ["A"] * len(close), "date": sessions("2024-01-02", "2024-01-31")[: len(close)]}
    ).assign(close=close)
    got = [(d, round(r, 3)) for _, d, r in split_like_jumps(df)]
    # ratios 0.502, 0.996, 0.5, 0.96, 4.021, 1.8, 1.3: the halvings and the x4.02 are
    # within 4% of a split factor; x1.8 is a big move near none (10% off 2, 20% off 3/2);
    # x1.3 is under the 40% threshold
    assert [r for _, r in got] == [0.502, 0.5, 4.021]


@pytest.mark.realdata
def test_real_prices_have_no_split_like_jumps(real_prices):
    from evbt.data.contract import split_like_jumps, validate_prices

    assert split_like_jumps(validate_prices(real_prices, origin="real")) == []


def test_short_ticker_warns_that_its_missing_sessions_are_filled(tmp_path, caplog):
    """Regression: a benchmark with fewer bars than the run was filled flat ("+0.00%")."""
    rows = contract_rows("NVDA", "SPY")
    late = rows["date"].sort_values().unique()[30]
    rows = rows[(rows["ticker"] != "SPY") | (rows["date"] >= late)]
    with caplog.at_level("WARNING", logger="evbt"):
        load_prices(["NVDA", "SPY"], source="file", path=write(rows, tmp_path / "p.csv"))
    msgs = [r.getMessage() for r in caplog.records]
    assert any("SPY has" in m and "missing sessions" in m and "filled" in m for m in msgs), msgs
    assert not any("NVDA has" in m for m in msgs)
