"""The yfinance source through its network seam (``data.yf._download``): no network.

Recorded frames (tests/fixtures/yf_download_*.csv, SYNTHETIC prices in yfinance 1.7's
exact shape) are replayed. The real ``_download`` is run too, against the real
``yf.download`` with yfinance's ``Ticker`` replaced by an offline stand-in.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import warnings
from pathlib import Path

import pandas as pd
import platformdirs
import pytest
from _support import replay

from evbt.data import yf
from evbt.data.cache import paths
from evbt.data.calendar import sessions
from evbt.data.contract import REQUIRED, validate_prices
from evbt.errors import InputError, OfflineError

PANDAS4 = getattr(pd.errors, "Pandas4Warning", DeprecationWarning)


def expected(ticker: str, start: str, end: str, *, label: str | None = None) -> pd.DataFrame:
    """The contract rows the recording holds for ``ticker`` in ``start``..``end``."""
    raw = replay.between(replay.recorded(ticker), start, end)
    long = yf.long_from_download(raw, ticker=ticker)
    long["ticker"] = label or ticker
    return validate_prices(long, origin="expected")


def same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_like=True
    )


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(yf.CACHE_ENV, raising=False)
    return tmp_path / "evbt-cache"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    got: list[float] = []
    monkeypatch.setattr(yf, "_sleep", got.append)
    return got


@pytest.fixture
def seam(monkeypatch: pytest.MonkeyPatch, sleeps: list[float]):
    r = replay.Replay()
    monkeypatch.setattr(yf, "_download", r)
    return r


def use(monkeypatch: pytest.MonkeyPatch, r):
    monkeypatch.setattr(yf, "_download", r)
    return r


def files(cache: Path, ticker: str = "NVDA") -> tuple[Path, Path]:
    return paths(cache / "prices", ticker)


# ---------------------------------------------------------------- the real download call


class OfflineTicker:
    """yfinance.Ticker stand-in: serves recorded Ticker.history frames, logs the kwargs."""

    calls: list[dict] = []
    error: Exception | None = None

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self._price_history = None

    def history(self, **kw):
        OfflineTicker.calls.append(kw)
        if OfflineTicker.error is not None:
            raise OfflineTicker.error
        frame = replay.history(self.ticker)
        end = pd.Timestamp(kw["end"]) - pd.Timedelta(days=1)  # yfinance's end is exclusive
        return replay.between(frame, kw["start"], end)


@pytest.fixture
def offline_yfinance(monkeypatch: pytest.MonkeyPatch):
    import yfinance.multi

    OfflineTicker.calls, OfflineTicker.error = [], None
    monkeypatch.setattr(yfinance.multi, "Ticker", OfflineTicker)
    return OfflineTicker


def test_recorded_frame_is_what_yf_download_returns(offline_yfinance):
    import yfinance

    got = yf._download("NVDA", pd.Timestamp("2024-03-06"), pd.Timestamp("2024-03-13"))
    want = replay.between(replay.recorded("NVDA"), "2024-03-06", "2024-03-13")
    pd.testing.assert_frame_equal(got, want)  # MultiIndex (Price, Ticker), tz, dtypes, order
    assert list(got.columns.names) == ["Price", "Ticker"]
    assert str(got.index.dtype) == "datetime64[s, America/New_York]"
    (kw,) = offline_yfinance.calls
    assert kw["start"] == "2024-03-06" and kw["end"] == "2024-03-14"  # inclusive end + 1 day
    assert kw["auto_adjust"] is False and kw["back_adjust"] is False
    assert kw["actions"] is False and kw["repair"] is False and kw["interval"] == "1d"
    assert yfinance.config.debug.hide_exceptions is True  # put back after the call
    assert logging.getLogger("yfinance").propagate is True


def test_yfinance_daily_default_is_tz_naive_and_gives_the_same_sessions(offline_yfinance):
    import yfinance

    with warnings.catch_warnings():
        # yfinance 1.7 calls DataFrame.rename/sort_index(inplace=True) (pandas 3.1 Pandas4Warning)
        warnings.filterwarnings("ignore", category=PANDAS4, module=r"yfinance(\.|$)")
        default = yfinance.download(
            "AMD",
            start="2024-03-06",
            end="2024-03-14",
            auto_adjust=False,
            progress=False,
            threads=False,
        )
    want = replay.between(replay.recorded("AMD"), "2024-03-06", "2024-03-13")
    pd.testing.assert_frame_equal(default, replay.naive(want))
    # Across the DST change (2024-03-10) both shapes give the same session dates.
    same_rows(
        yf.long_from_download(default, ticker="AMD"), yf.long_from_download(want, ticker="AMD")
    )


def test_download_failure_is_retryable_fetch_error(offline_yfinance):
    import yfinance

    offline_yfinance.error = ConnectionError("connection refused by query2.finance.yahoo.com")
    with pytest.raises(yf.FetchError, match="ConnectionError") as err:
        yf._download("NVDA", pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-05"))
    assert isinstance(err.value, OSError)
    assert yfinance.config.debug.hide_exceptions is True


def test_yahoo_no_data_answer_is_an_empty_frame(offline_yfinance, caplog):
    from yfinance.exceptions import YFPricesMissingError

    offline_yfinance.error = YFPricesMissingError("NVDA", "(1d 1990-01-02 -> 1990-01-05)")
    with caplog.at_level(logging.DEBUG):
        got = yf._download("NVDA", pd.Timestamp("1990-01-02"), pd.Timestamp("1990-01-05"))
    assert len(got) == 0
    assert not [r for r in caplog.records if r.name.startswith("yfinance")]  # kept out of the log


# ---------------------------------------------------------------- frame -> contract


def test_download_frame_maps_to_split_adjusted_contract_with_adj_close():
    raw = replay.recorded("SPY")
    long = yf.long_from_download(raw, ticker="SPY")
    assert list(long.columns) == [
        *REQUIRED[:2],
        "open",
        "high",
        "low",
        "close",
        "volume",
        "adj_close",
    ]
    assert (long["close"].to_numpy() == raw[("Close", "SPY")].to_numpy()).all()
    assert (long["adj_close"].to_numpy() == raw[("Adj Close", "SPY")].to_numpy()).all()
    assert (long["adj_close"] < long["close"]).all()  # dividends: Adj Close is lower
    days = pd.DatetimeIndex(long["date"])
    assert days.equals(sessions("2024-01-02", "2024-03-28").rename(None))
    assert (days == days.normalize()).all()


def test_frame_without_adj_close_is_refused_as_dividend_adjusted():
    raw = replay.recorded("NVDA").drop(columns="Adj Close", level="Price")
    with pytest.raises(InputError, match="auto_adjust=False"):
        yf.long_from_download(raw, ticker="NVDA")


# ---------------------------------------------------------------- cache and incremental fetch


def test_first_load_downloads_once_and_writes_parquet_and_metadata(cache, seam):
    got = yf.load(["nvda"], "2024-01-02", "2024-02-15", cache_dir=cache)
    assert seam.calls == [("NVDA", "2024-01-02", "2024-02-15")]
    same_rows(got, expected("NVDA", "2024-01-02", "2024-02-15"))
    assert got.attrs["source"] == "yfinance" and got.attrs["synthetic"] is False
    pq, js = files(cache)
    meta = json.loads(js.read_text())
    assert meta["ticker"] == "NVDA" and meta["rows"] == len(got) == 32
    assert meta["covered"] == [["2024-01-02", "2024-02-15"]]
    assert meta["first"] == "2024-01-02" and meta["last"] == "2024-02-15"
    assert meta["sha256"] == hashlib.sha256(pq.read_bytes()).hexdigest()
    assert meta["yfinance_version"] == importlib.metadata.version("yfinance")
    assert meta["fetches"][0]["start"] == "2024-01-02" and meta["fetches"][0]["rows"] == 32
    assert pd.Timestamp(meta["updated_at"]).tzinfo is not None
    assert not list((cache / "prices").glob("*.tmp"))


def test_longer_range_downloads_only_the_missing_span_then_nothing(cache, seam):
    yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache)
    got = yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache)
    # Missing: 2024-02-16..03-28; 2024-02-15 is the cached overlap session for the check.
    assert seam.calls[1:] == [("NVDA", "2024-02-15", "2024-03-28")]
    same_rows(got, expected("NVDA", "2024-01-02", "2024-03-28"))
    inside = yf.load("NVDA", "2024-01-10", "2024-03-01", cache_dir=cache)
    assert len(seam.calls) == 2  # covered: no download at all
    same_rows(inside, expected("NVDA", "2024-01-10", "2024-03-01"))
    meta = yf.cache_info("NVDA", cache_dir=cache)
    assert meta["covered"] == [["2024-01-02", "2024-03-28"]] and meta["rows"] == 61
    assert [f["start"] for f in meta["fetches"]] == ["2024-01-02", "2024-02-15"]


def test_earlier_range_downloads_only_the_earlier_span(cache, seam):
    yf.load("NVDA", "2024-02-01", "2024-03-28", cache_dir=cache)
    yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache)
    assert seam.calls[1:] == [("NVDA", "2024-01-02", "2024-02-01")]


def test_far_later_range_does_not_download_the_gap(cache, seam):
    yf.load("NVDA", "2024-01-02", "2024-01-12", cache_dir=cache)
    got = yf.load("NVDA", "2024-03-01", "2024-03-28", cache_dir=cache)
    assert seam.calls[1:] == [("NVDA", "2024-03-01", "2024-03-28")]
    same_rows(got, expected("NVDA", "2024-03-01", "2024-03-28"))
    assert yf.cache_info("NVDA", cache_dir=cache)["covered"] == [
        ["2024-01-02", "2024-01-12"],
        ["2024-03-01", "2024-03-28"],
    ]


def test_sessions_yahoo_has_no_bar_for_are_not_asked_again(cache, monkeypatch, sleeps):
    late = replay.between(replay.recorded("NVDA"), "2024-02-01", "2024-03-28")  # "listed" Feb 1
    r = use(monkeypatch, replay.Replay({"NVDA": late}))
    got = yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache)
    assert got["date"].min() == pd.Timestamp("2024-02-01")
    yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache)
    assert len(r.calls) == 1


def test_recent_sessions_missing_from_yahoo_are_asked_again(cache, monkeypatch, sleeps):
    lagging = replay.between(replay.recorded("NVDA"), "2024-01-02", "2024-03-26")
    r = use(monkeypatch, replay.Replay({"NVDA": lagging}))
    now = "2024-03-29 12:00"
    yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache, now=now)
    yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache, now=now)
    assert r.calls == [("NVDA", "2024-01-02", "2024-03-28"), ("NVDA", "2024-03-26", "2024-03-28")]


def test_session_not_yet_closed_is_not_fetched(cache, seam):
    got = yf.load("NVDA", "2024-03-20", "2024-03-28", cache_dir=cache, now="2024-03-28 15:00")
    assert seam.calls == [("NVDA", "2024-03-20", "2024-03-27")]
    assert got["date"].max() == pd.Timestamp("2024-03-27")


def test_rebased_history_is_fetched_again_not_stitched(cache, seam, caplog):
    pre_split = expected("NVDA", "2024-01-02", "2024-02-15")
    pre_split[["open", "high", "low", "close", "adj_close"]] *= 10  # cached before a 10:1 split
    yf.write_cache(pre_split, cache_dir=cache)
    with caplog.at_level(logging.INFO, logger="evbt.data.yf"):
        got = yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache)
    assert seam.calls == [
        ("NVDA", "2024-02-15", "2024-03-28"),
        ("NVDA", "2024-01-02", "2024-03-28"),
    ]
    assert "re-based" in caplog.text and "2024-02-15" in caplog.text
    same_rows(got, expected("NVDA", "2024-01-02", "2024-03-28"))


def test_new_dividend_rescaling_adj_close_triggers_refetch(cache, seam):
    old = expected("SPY", "2024-01-02", "2024-02-15")
    old["adj_close"] /= 0.9712  # cached before the later dividends lowered Adj Close
    yf.write_cache(old, cache_dir=cache)
    got = yf.load("SPY", "2024-01-02", "2024-03-28", cache_dir=cache)
    assert len(seam.calls) == 2
    same_rows(got, expected("SPY", "2024-01-02", "2024-03-28"))


# ---------------------------------------------------------------- retries and offline


def test_retry_with_growing_backoff_then_success(cache, monkeypatch, sleeps):
    r = use(monkeypatch, replay.Replay(fail=2))
    got = yf.load("NVDA", "2024-01-02", "2024-01-31", cache_dir=cache)
    assert sleeps == [1.0, 2.0]
    assert r.calls == [("NVDA", "2024-01-02", "2024-01-31")] * 3
    same_rows(got, expected("NVDA", "2024-01-02", "2024-01-31"))


def test_sleep_can_be_passed_in(cache, monkeypatch):
    use(monkeypatch, replay.Replay(fail=1))
    waited: list[float] = []
    yf.load("NVDA", "2024-01-02", "2024-01-31", cache_dir=cache, sleep=waited.append)
    assert waited == [1.0]


def test_network_down_after_retries_is_one_line_offline_error(cache, monkeypatch, sleeps):
    use(monkeypatch, replay.Replay())
    yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache)
    before = files(cache)[0].read_bytes()
    use(monkeypatch, replay.Replay(fail=replay.ALWAYS))
    with pytest.raises(OfflineError) as err:
        yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache)
    msg = str(err.value)
    assert "\n" not in msg
    assert "NVDA" in msg and "after 4 tries" in msg and "ConnectionError" in msg
    assert "holds NVDA 2024-01-02 to 2024-02-15 (32 rows)" in msg
    assert "--source sample" in msg and "--source file" in msg
    assert sleeps == [1.0, 2.0, 4.0]
    assert files(cache)[0].read_bytes() == before  # the cache is left as it was


def test_offline_with_missing_sessions_says_what_the_cache_holds(cache, seam):
    yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache)
    with pytest.raises(OfflineError) as err:
        yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache, offline=True)
    msg = str(err.value)
    assert "\n" not in msg and len(seam.calls) == 1
    assert "29 session(s) from 2024-02-16 to 2024-03-28 are not cached" in msg
    assert "holds NVDA 2024-01-02 to 2024-02-15 (32 rows)" in msg
    assert "--source sample" in msg and "--source file" in msg


def test_offline_with_empty_cache_says_it_holds_nothing(cache, seam):
    with pytest.raises(OfflineError, match="holds nothing for AMD"):
        yf.load("AMD", "2024-01-02", "2024-01-31", cache_dir=cache, offline=True)
    assert seam.calls == []


def test_offline_inside_the_cache_and_open_ended_dates_need_no_network(cache, seam):
    yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache)
    got = yf.load("NVDA", None, None, cache_dir=cache, offline=True)
    assert len(seam.calls) == 1
    same_rows(got, expected("NVDA", "2024-01-02", "2024-02-15"))


# ---------------------------------------------------------------- corrupt cache


def _truncate(pq: Path, js: Path) -> None:
    pq.write_bytes(pq.read_bytes()[:200])


def _flip(pq: Path, js: Path) -> None:
    data = bytearray(pq.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pq.write_bytes(bytes(data))


def _meta_hash(pq: Path, js: Path) -> None:
    meta = json.loads(js.read_text())
    meta["sha256"] = "0" * 64
    js.write_text(json.dumps(meta))


def _meta_missing(pq: Path, js: Path) -> None:
    js.unlink()


def _meta_garbage(pq: Path, js: Path) -> None:
    js.write_text("{not json")


def _meta_ranges(pq: Path, js: Path) -> None:
    meta = json.loads(js.read_text())
    meta["covered"] = [["2024-01-02"]]
    js.write_text(json.dumps(meta))


def _rehash(pq: Path, js: Path, data: bytes) -> None:
    pq.write_bytes(data)
    meta = json.loads(js.read_text())
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    js.write_text(json.dumps(meta))


def _unreadable_parquet(pq: Path, js: Path) -> None:
    _rehash(pq, js, b"PAR1 this is not parquet PAR1")


def _breaks_contract(pq: Path, js: Path) -> None:
    bad = pd.read_parquet(pq)
    bad.loc[5, "high"] = bad.loc[5, "low"] / 2  # high below open/close
    import io

    buf = io.BytesIO()
    bad.to_parquet(buf, index=False)
    _rehash(pq, js, buf.getvalue())


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_truncate, "does not match"),
        (_flip, "does not match"),
        (_meta_hash, "does not match"),
        (_meta_missing, "metadata file is missing"),
        (_meta_garbage, "unreadable metadata"),
        (_meta_ranges, "malformed covered ranges"),
        (_unreadable_parquet, "unreadable Parquet"),
        (_breaks_contract, "high below open or close"),
    ],
)
def test_corrupt_cache_is_logged_deleted_and_fetched_again(cache, seam, caplog, damage, reason):
    yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache)
    pq, js = files(cache)
    damage(pq, js)
    with caplog.at_level(logging.WARNING, logger="evbt.data.yf"):
        got = yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache)
    (rec,) = [r for r in caplog.records if r.name == "evbt.data.yf"]
    assert rec.levelno == logging.WARNING and "\n" not in rec.getMessage()
    assert (
        "NVDA" in rec.getMessage() and "corrupt" in rec.getMessage() and reason in rec.getMessage()
    )
    assert seam.calls == [("NVDA", "2024-01-02", "2024-02-15")] * 2  # fetched again, in full
    same_rows(got, expected("NVDA", "2024-01-02", "2024-02-15"))
    meta = json.loads(js.read_text())
    assert meta["sha256"] == hashlib.sha256(pq.read_bytes()).hexdigest()


def test_corrupt_cache_offline_is_deleted_and_reported_as_empty(cache, seam, caplog):
    yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache)
    pq, js = files(cache)
    _flip(pq, js)
    with pytest.raises(OfflineError, match="holds nothing for NVDA"):
        yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache, offline=True)
    assert not pq.exists() and not js.exists()
    assert "corrupt" in caplog.text


def test_interrupted_write_leaves_the_old_cache_usable(cache, seam, monkeypatch, caplog):
    yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache)

    def crash(src, dst):
        raise OSError("disk full")

    real_replace = yf.os.replace
    monkeypatch.setattr(yf.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        yf.load("NVDA", "2024-01-02", "2024-03-28", cache_dir=cache)
    monkeypatch.setattr(yf.os, "replace", real_replace)
    assert not list((cache / "prices").glob(".*.tmp"))
    got = yf.load("NVDA", "2024-01-02", "2024-02-15", cache_dir=cache, offline=True)
    assert len(got) == 32 and "corrupt" not in caplog.text


# ---------------------------------------------------------------- where the cache lives


def test_cache_dir_from_evbt_cache_env_and_explicit_argument(tmp_path, monkeypatch, seam):
    monkeypatch.setenv("EVBT_CACHE", str(tmp_path / "from-env"))
    assert yf.resolve_cache_dir() == tmp_path / "from-env" / "prices"
    got = yf.load("AMD", "2024-01-02", "2024-01-12")
    assert (tmp_path / "from-env" / "prices" / "AMD.parquet").is_file()
    assert got.attrs["cache_dir"] == str(tmp_path / "from-env" / "prices")
    yf.load("AMD", "2024-01-02", "2024-01-12", cache_dir=tmp_path / "explicit")
    assert (tmp_path / "explicit" / "prices" / "AMD.json").is_file()
    monkeypatch.delenv("EVBT_CACHE")
    assert yf.resolve_cache_dir() == Path(platformdirs.user_cache_dir("evbt")) / "prices"


def test_symbols_with_caret_get_a_safe_file_name(cache, monkeypatch, sleeps):
    use(monkeypatch, replay.Replay({"^SOX": replay.recorded("SPY")}))
    got = yf.load("^sox", "2024-01-02", "2024-01-31", cache_dir=cache)
    assert set(got["ticker"]) == {"^SOX"}
    assert (cache / "prices" / "%5ESOX.parquet").is_file()
    assert yf.cache_info("^SOX", cache_dir=cache)["ticker"] == "^SOX"


# ---------------------------------------------------------------- bad answers


def test_bad_downloaded_bar_names_ticker_and_date_and_caches_nothing(cache, monkeypatch, sleeps):
    bad = replay.recorded("NVDA").copy()
    day = bad.index[6]  # 2024-01-10
    bad.loc[day, ("High", "NVDA")] = bad.loc[day, ("Close", "NVDA")] * 0.9
    use(monkeypatch, replay.Replay({"NVDA": bad}))
    with pytest.raises(InputError) as err:
        yf.load("NVDA", "2024-01-02", "2024-01-31", cache_dir=cache)
    msg = str(err.value)
    assert "NVDA" in msg and "2024-01-10" in msg and "high below open or close" in msg
    assert not files(cache)[0].exists()


def test_halted_rows_in_a_download_are_dropped_and_counted(cache, monkeypatch, sleeps):
    raw = replay.recorded("NVDA").copy()
    raw.loc[raw.index[3], ["Open", "High", "Low", "Close", "Adj Close"]] = float("nan")
    use(monkeypatch, replay.Replay({"NVDA": raw}))
    got = yf.load("NVDA", "2024-01-02", "2024-01-31", cache_dir=cache)
    assert got.attrs["dropped_halts"] == 1
    assert pd.Timestamp("2024-01-05") not in set(got["date"])


def test_unknown_ticker_names_it_and_lists_cached_tickers(cache, seam):
    yf.load("NVDA", "2024-01-02", "2024-01-12", cache_dir=cache)
    with pytest.raises(InputError) as err:
        yf.load("NVDAX", "2024-01-02", "2024-01-12", cache_dir=cache)
    msg = str(err.value)
    assert "no prices for NVDAX" in msg and "cached tickers: NVDA" in msg
    assert not isinstance(err.value, OfflineError)


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        ("1999-06-01", "2024-01-05", "from 2000-01-03"),
        ("2024-02-01", "2024-01-05", "after end"),
        ("2024-02-30", None, "unreadable date"),
    ],
)
def test_bad_dates_are_input_errors(cache, seam, start, end, match):
    with pytest.raises(InputError, match=match):
        yf.load("NVDA", start, end, cache_dir=cache)
    assert seam.calls == []


def test_seeded_synthetic_cache_is_labelled_synthetic(cache, seam):
    fake = expected("AMD", "2024-01-02", "2024-01-31")
    fake.attrs["synthetic"] = True
    yf.write_cache(fake, cache_dir=cache)
    got = yf.load("AMD", "2024-01-02", "2024-01-31", cache_dir=cache, offline=True)
    assert got.attrs["synthetic"] is True and "SYNTHETIC" in got.attrs["source"]
    yf.load("AMD", "2024-01-02", "2024-02-29", cache_dir=cache)  # extended from Yahoo
    meta = yf.cache_info("AMD", cache_dir=cache)
    assert meta["synthetic"] is True and meta["origin"] == "seeded + yfinance"
