"""NYSE sessions (exchange-calendars' XNYS) and the reaction-session rule.

The *reaction session* of an event is the first NYSE session whose traded price can
reflect the news. The rule, stated once:

1. Turn the event's information time into an instant in New York:
   - a clock time ``HH:MM`` in the event's IANA timezone (a Beijing 09:00 announcement is
     the previous evening in New York);
   - ``pre_market`` / ``intraday`` / ``after_close`` name the NYSE's phases on ``date``
     read as a New York date (09:00, 12:00 and 16:30 New York time);
   - ``unknown`` is treated as after the close (conservative): the end of ``date`` in the
     event's timezone, converted to New York, and never earlier than 16:30 New York time
     on that New York date.
2. If that instant falls on a session day before the session's close (early closes
   included), the reaction session is that session; otherwise the next session.

Offsets are counted in sessions, never calendar days.

The table and the rule are computed in plain Python (datetime, bisect) by
:mod:`evbt.data.calendar_core`, which ``evbt events list`` uses without pandas; this module is
their pandas face (a DatetimeIndex of sessions, Timestamps).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import NamedTuple

import numpy as np
import pandas as pd

from evbt.data import calendar_core
from evbt.data.calendar_core import (
    CAL_START,
    NY,
    TIME_LABELS,
    check_time,
    check_tz,
    nyse,
)
from evbt.errors import InputError

__all__ = [
    "CAL_START",
    "NY",
    "TIME_LABELS",
    "Table",
    "bounds",
    "check_in_calendar",
    "check_time",
    "check_tz",
    "info_instant",
    "nyse",
    "parse_asof",
    "parse_day",
    "reaction_session",
    "session_of_instant",
    "session_offset",
    "session_positions",
    "sessions",
    "table",
]


class Table(NamedTuple):
    """The NYSE sessions (tz-naive, as exchange-calendars gives them) and their closes (UTC
    nanoseconds): all the reaction-session rule and :func:`sessions` need."""

    sessions: pd.DatetimeIndex
    closes: np.ndarray  # int64 ns since the epoch, UTC

    @property
    def first(self) -> pd.Timestamp:
        return self.sessions[0]

    @property
    def last(self) -> pd.Timestamp:
        return self.sessions[-1]


@functools.lru_cache(maxsize=1)
def table() -> Table:
    """The NYSE session table (:func:`evbt.data.calendar_core.table`, read from the user
    cache folder without importing exchange-calendars) as a DatetimeIndex and an int64 array."""
    plain = calendar_core.table()
    days = np.asarray(plain.days, dtype="datetime64[D]").astype("datetime64[ns]")
    return Table(pd.DatetimeIndex(days), np.asarray(plain.closes, dtype=np.int64))


def bounds() -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last NYSE session the calendar covers (tz-naive)."""
    t = table()
    return t.first, t.last


def parse_day(value: object, what: str) -> pd.Timestamp | None:
    """A user-given date as a tz-naive midnight Timestamp (None stays None).

    Raises InputError naming ``what`` (e.g. "start") for anything unreadable.
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if pd.isna(ts):
        raise InputError(f"{what}: unreadable date {value!r}: write YYYY-MM-DD")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def parse_asof(value: object, what: str = "--asof") -> pd.Timestamp:
    """An as-of date given by a user: a plain date inside the NYSE calendar.

    Refuses, with one line naming ``what``: an empty or unreadable value, a time of day or
    a time zone (an as-of day is a date, read in New York), and dates the calendar does not
    cover (before 2000-01-03 or more than two years ahead).
    """
    text = str(value).strip() if value is not None else ""
    if not text:
        raise InputError(f"{what}: empty: give a date YYYY-MM-DD")
    day = parse_day(text, what)
    if day is None:  # pragma: no cover - parse_day returns None only for None
        raise InputError(f"{what}: empty: give a date YYYY-MM-DD")
    stamp = pd.Timestamp(text)
    if stamp.tzinfo is not None or stamp != stamp.normalize():
        raise InputError(
            f"{what} {text!r}: has a time of day or a time zone: give a plain date YYYY-MM-DD "
            "(read in New York)"
        )
    return check_in_calendar(day, what)


def check_in_calendar(day: pd.Timestamp, what: str) -> pd.Timestamp:
    """``day`` unchanged if the NYSE calendar covers it, else a one-line InputError."""
    first, last = bounds()
    if not first <= day <= last:
        raise InputError(
            f"{what} {day:%Y-%m-%d}: outside the NYSE calendar ({first:%Y-%m-%d} to "
            f"{last:%Y-%m-%d}): use a date inside it"
        )
    return day


def sessions(start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DatetimeIndex:
    """NYSE sessions from ``start`` to ``end`` inclusive, tz-naive dates."""
    t = table()
    s = max(pd.Timestamp(start), t.first)
    e = min(pd.Timestamp(end), t.last)
    if s > e:
        return pd.DatetimeIndex([], name="date")
    if s != s.normalize() or e != e.normalize():  # exchange-calendars refuses times of day
        idx = nyse().sessions_in_range(s, e)
        return pd.DatetimeIndex(idx.tz_localize(None) if idx.tz else idx, name="date")
    lo, hi = t.sessions.searchsorted(s, "left"), t.sessions.searchsorted(e, "right")
    return pd.DatetimeIndex(t.sessions[lo:hi], name="date")


def info_instant(date: str | dt.date, time: str, tz: str) -> pd.Timestamp:
    """The instant (New York time) at which the event counts as known to the market."""
    return pd.Timestamp(calendar_core.info_instant(pd.Timestamp(date).date(), time, tz))


def session_of_instant(instant: pd.Timestamp) -> pd.Timestamp:
    """First session whose close comes after ``instant`` (tz-aware)."""
    ny = instant.tz_convert(NY) if instant.tzinfo else instant.tz_localize(NY)
    return table().sessions[calendar_core.session_index(ny.date(), ny.value)]


def reaction_session(
    date: str | dt.date, time: str = "unknown", tz: str = "America/New_York"
) -> pd.Timestamp:
    """The first NYSE session whose traded price can reflect news from ``date``/``time``/``tz``."""
    return session_of_instant(info_instant(date, time, tz))


def session_offset(session: pd.Timestamp, n: int) -> pd.Timestamp:
    """The session ``n`` sessions after (n > 0) or before (n < 0) ``session``."""
    t, day = table(), pd.Timestamp(session)
    i = int(t.sessions.searchsorted(day, "left"))
    j = i + int(n)
    if i < len(t.sessions) and t.sessions[i] == day and 0 <= j < len(t.sessions):
        return t.sessions[j]
    return nyse().session_offset(day, int(n))  # not a session or out of range: its error


def session_positions(index: pd.DatetimeIndex, when: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Positions of sessions ``when`` in ``index`` (-1 where absent)."""
    pos = index.get_indexer(pd.DatetimeIndex(when))
    return np.asarray(pos, dtype=np.int64)
