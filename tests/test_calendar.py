"""The reaction-session rule on the cases the issue names, and the XNYS calendar itself."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evbt.data.calendar import info_instant, reaction_session, session_offset, sessions
from evbt.errors import InputError

T = pd.Timestamp


@pytest.mark.parametrize(
    ("date", "time", "tz", "expected", "why"),
    [
        (
            "2025-01-20",
            "unknown",
            "Asia/Shanghai",
            "2025-01-21",
            "DeepSeek-R1: MLK Day, market closed",
        ),
        (
            "2025-01-20",
            "09:00",
            "Asia/Shanghai",
            "2025-01-21",
            "Beijing 09:00 Mon = Sun 20:00 NY; Mon is MLK Day",
        ),
        (
            "2025-03-24",
            "09:00",
            "Asia/Shanghai",
            "2025-03-24",
            "Beijing 09:00 Mon = Sun 20:00 NY -> Mon session",
        ),
        (
            "2025-03-25",
            "22:00",
            "Asia/Shanghai",
            "2025-03-25",
            "Beijing 22:00 = 10:00 NY, intraday",
        ),
        (
            "2025-01-24",
            "after_close",
            "America/New_York",
            "2025-01-27",
            "Friday after close -> Monday",
        ),
        (
            "2026-02-25",
            "after_close",
            "America/New_York",
            "2026-02-26",
            "NVDA Wednesday report -> Thursday",
        ),
        ("2026-02-16", "unknown", "Asia/Shanghai", "2026-02-17", "Qwen3.5: Presidents' Day"),
        ("2026-04-03", "intraday", "America/New_York", "2026-04-06", "Good Friday 2026: closed"),
        ("2025-04-18", "pre_market", "America/New_York", "2025-04-21", "Good Friday 2025: closed"),
        (
            "2025-01-09",
            "intraday",
            "America/New_York",
            "2025-01-10",
            "2025-01-09 national day of mourning closure",
        ),
        (
            "2025-01-08",
            "after_close",
            "America/New_York",
            "2025-01-10",
            "after close the day before the closure",
        ),
        ("2024-11-29", "14:00", "America/New_York", "2024-12-02", "after the 13:00 early close"),
        ("2024-11-29", "12:00", "America/New_York", "2024-11-29", "before the 13:00 early close"),
        (
            "2025-01-21",
            "pre_market",
            "America/New_York",
            "2025-01-21",
            "pre-market news reacts that session",
        ),
        (
            "2025-01-21",
            "unknown",
            "America/New_York",
            "2025-01-22",
            "unknown time is treated as after close",
        ),
        (
            "2025-01-21",
            "16:00",
            "America/New_York",
            "2025-01-22",
            "at the close is too late for that session",
        ),
    ],
)
def test_reaction_session_cases(date, time, tz, expected, why):
    assert reaction_session(date, time, tz) == T(expected), why


def test_beijing_time_converts_to_new_york():
    assert info_instant("2025-01-29", "07:00", "Asia/Shanghai") == T(
        "2025-01-28 18:00", tz="America/New_York"
    )


@pytest.mark.parametrize(
    ("tz", "time"),
    [("Mars/Olympus", "unknown"), ("America", "unknown"), ("UTC", "25:00"), ("UTC", "noon")],
)
def test_bad_time_or_zone_is_input_error(tz, time):
    with pytest.raises(InputError, match="time|timezone"):
        reaction_session("2025-01-21", time, tz)


def test_offsets_count_sessions_not_days():
    # 2025-01-17 (Fri) + 1 session skips the weekend and MLK Day
    assert session_offset(T("2025-01-17"), 1) == T("2025-01-21")
    assert session_offset(T("2025-01-21"), -1) == T("2025-01-17")


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    day=st.dates(
        min_value=pd.Timestamp("2016-01-01").date(), max_value=pd.Timestamp("2026-12-31").date()
    ),
    label=st.sampled_from(
        ["pre_market", "intraday", "after_close", "unknown", "00:00", "09:29", "15:59", "23:59"]
    ),
    tz=st.sampled_from(
        ["America/New_York", "Asia/Shanghai", "Europe/London", "America/Los_Angeles"]
    ),
)
def test_reaction_is_a_session_never_before_the_news(day, label, tz):
    r = reaction_session(day, label, tz)
    sess = sessions(r - pd.Timedelta(days=10), r + pd.Timedelta(days=10))
    assert r in sess
    news = info_instant(day, label, tz)
    # the reaction session's close is after the news, and the session before closed before it
    from evbt.data.calendar import nyse

    cal = nyse()
    assert cal.session_close(r) > news
    assert cal.session_close(cal.previous_session(r)) <= news


@pytest.mark.realdata
def test_calendar_matches_real_prices_from_2020(real_prices):
    for ticker, g in real_prices.groupby("ticker"):
        dates = pd.DatetimeIndex(pd.to_datetime(g["date"])).normalize()
        dates = dates[dates >= "2020-01-02"]
        cal = sessions("2020-01-02", dates.max())
        missing = cal.difference(dates)
        extra = dates.difference(cal)
        assert len(missing) == 0, (
            f"{ticker}: {len(missing)} NYSE sessions missing, first {missing[:3]}"
        )
        assert len(extra) == 0, f"{ticker}: {len(extra)} non-sessions present, first {extra[:3]}"


# ---------------------------------------------------------------- as-of dates from users


@pytest.mark.parametrize(
    "value, says",
    [
        ("", "empty"),
        ("  ", "empty"),
        ("soon", "unreadable date"),
        ("1990-01-01", "outside the NYSE calendar"),
        ("2100-01-01", "outside the NYSE calendar"),
        ("2025-01-01T00:00+02:00", "time zone"),
        ("2025-01-01 15:30", "time of day"),
    ],
)
def test_parse_asof_refuses_in_one_line(value, says):
    from evbt.data.calendar import parse_asof

    with pytest.raises(InputError, match=says) as e:
        parse_asof(value, "--asof")
    assert "\n" not in str(e.value) and "--asof" in str(e.value)


def test_parse_asof_accepts_plain_dates_also_off_session():
    from evbt.data.calendar import parse_asof

    assert parse_asof("2025-01-20") == pd.Timestamp("2025-01-20")  # MLK Day: a date, fine
    assert parse_asof(" 2026-02-10 ") == pd.Timestamp("2026-02-10")


def test_session_table_builds_from_a_cold_cache_and_reads_back_the_same(tmp_path, monkeypatch):
    """A fresh machine has no cached session table: building it from exchange-calendars must
    not warn (CI failed here once: numpy has no tz, pandas warned on the UTC closes), and the
    copy read back must equal what was built. The 16:00 New York close of 2000-01-03 is
    21:00 UTC (EST), the first session of the calendar."""
    import platformdirs

    from evbt.data import calendar, calendar_core

    def clear() -> None:
        calendar.table.cache_clear()
        calendar_core.table.cache_clear()

    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda *a, **k: str(tmp_path))
    clear()
    try:
        built = calendar.table()
        assert list((tmp_path / "calendars").glob("XNYS-*.json"))
        clear()
        read = calendar.table()
    finally:
        clear()
    assert built.closes.dtype == read.closes.dtype == "int64"
    assert (built.closes == read.closes).all() and built.sessions.equals(read.sessions)
    assert pd.Timestamp(built.closes[0], tz="UTC") == T("2000-01-03 21:00", tz="UTC")
