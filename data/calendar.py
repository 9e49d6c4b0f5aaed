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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import pickle
import re
import warnings
import zoneinfo
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from evbt.errors import InputError
from evbt.fsutil import atomic_writer

if TYPE_CHECKING:
    import exchange_calendars as xcals

NY = zoneinfo.ZoneInfo("America/New_York")
TIME_LABELS = ("pre_market", "intraday", "after_close", "unknown")
_LABEL_NY_TIME = {
    "pre_market": dt.time(9, 0),
    "intraday": dt.time(12, 0),
    "after_close": dt.time(16, 30),
}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
CAL_START = "2000-01-03"


def _calendar_end() -> str:
    """The calendar's last day: two years past today."""
    return (pd.Timestamp.today().normalize() + pd.DateOffset(years=2)).strftime("%Y-%m-%d")


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
    """The NYSE session table, read from the user cache folder (two arrays, a few
    milliseconds) without importing exchange-calendars; built from :func:`nyse` and stored
    when missing or unreadable. Same key as the calendar: its version and range."""
    end = _calendar_end()
    path = _calendar_cache_path(end, ".npz")
    if path is not None:
        with contextlib.suppress(Exception):  # any problem with the copy: rebuild it
            with np.load(path, allow_pickle=False) as z:
                days, closes = z["sessions"], z["closes"]
            if days.dtype.kind == "M" and closes.dtype == np.int64 and len(days) == len(closes):
                return Table(pd.DatetimeIndex(days), closes)
    cal = nyse()
    days = pd.DatetimeIndex(cal.sessions.to_numpy())  # no freq: the same index either way
    # closes are tz-aware (UTC): their int64 nanoseconds, without a tz round trip through numpy
    closes = pd.DatetimeIndex(cal.closes).tz_convert("UTC").as_unit("ns").asi8
    out = Table(days, np.asarray(closes, dtype=np.int64))
    if path is not None:
        with contextlib.suppress(OSError, ValueError):  # a read-only cache is fine
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob("XNYS-*.npz"):
                old.unlink(missing_ok=True)
            with atomic_writer(path) as fh:
                np.savez(fh, sessions=out.sessions.to_numpy(), closes=out.closes)
    return out


def bounds() -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last NYSE session the calendar covers (tz-naive)."""
    t = table()
    return t.first, t.last


@functools.lru_cache(maxsize=1)
def nyse() -> xcals.ExchangeCalendar:
    """The XNYS calendar from 2000 to two years past today (built once per process).

    Building it from the holiday rules takes about half a second, so the built calendar is
    kept in the user cache folder (platformdirs' user cache dir for evbt), keyed by the
    exchange-calendars version and the range; a missing or unreadable copy is rebuilt.
    """
    import exchange_calendars as xcals

    end = _calendar_end()
    path = _calendar_cache_path(end)
    if path is not None:
        with contextlib.suppress(Exception):  # any problem with the copy: rebuild it
            with path.open("rb") as fh:
                cal = pickle.load(fh)
            if isinstance(cal, xcals.ExchangeCalendar):
                return cal
    with warnings.catch_warnings():
        # exchange-calendars 4.13 reads Series.values on tz-aware data while building the
        # calendar, which pandas 3.1 flags (Pandas4Warning). Not ours and harmless here.
        warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning)
        cal = xcals.get_calendar("XNYS", start=CAL_START, end=end)
    if path is not None:
        with contextlib.suppress(OSError, pickle.PicklingError):  # a read-only cache is fine
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob("XNYS-*.pkl"):
                old.unlink(missing_ok=True)
            with atomic_writer(path) as fh:
                pickle.dump(cal, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return cal


def _calendar_cache_path(end: str, suffix: str = ".pkl") -> Path | None:
    """Where the built calendar (``.pkl``) or its session table (``.npz``) is kept, or None
    when no cache folder can be named. The key names the exchange-calendars version (read
    from its metadata, without importing it) and the range."""
    try:
        import importlib.metadata

        import platformdirs

        root = platformdirs.user_cache_dir("evbt")
        version = importlib.metadata.version("exchange-calendars")
    except Exception:  # pragma: no cover - both are dependencies
        return None
    return Path(root) / "calendars" / f"XNYS-{version}-{CAL_START}-{end}{suffix}"


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


def check_tz(tz: str, *, where: str = "tz") -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(str(tz))
    except (
        zoneinfo.ZoneInfoNotFoundError,
        ValueError,
        OSError,
    ):  # OSError: a folder such as 'America'
        raise InputError(
            f"{where}: unknown timezone {tz!r}: use an IANA name such as "
            "America/New_York or Asia/Shanghai"
        ) from None


def check_time(time: str, *, where: str = "time") -> str:
    t = str(time).strip()
    if t in TIME_LABELS or _HHMM.match(t):
        return t
    raise InputError(
        f"{where}: bad time {time!r}: write HH:MM (24h) or one of {', '.join(TIME_LABELS)}"
    )


def info_instant(date: str | dt.date, time: str, tz: str) -> pd.Timestamp:
    """The instant (New York time) at which the event counts as known to the market."""
    day = pd.Timestamp(date).date()
    t = check_time(time)
    zone = check_tz(tz)
    if t in _LABEL_NY_TIME:
        return pd.Timestamp(dt.datetime.combine(day, _LABEL_NY_TIME[t], tzinfo=NY))
    if t == "unknown":
        end_local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone).astimezone(NY)
        floor = dt.datetime.combine(end_local.date(), _LABEL_NY_TIME["after_close"], tzinfo=NY)
        return pd.Timestamp(max(end_local, floor))
    hh, mm = (int(x) for x in t.split(":"))
    local = dt.datetime.combine(day, dt.time(hh, mm), tzinfo=zone)
    return pd.Timestamp(local.astimezone(NY))


def session_of_instant(instant: pd.Timestamp) -> pd.Timestamp:
    """First session whose close comes after ``instant`` (tz-aware)."""
    t = table()
    ny = instant.tz_convert(NY) if instant.tzinfo else instant.tz_localize(NY)
    day = pd.Timestamp(ny.date())
    if day < t.first or day > t.last:
        raise InputError(
            f"date {day:%Y-%m-%d} is outside the NYSE calendar "
            f"({t.first:%Y-%m-%d} to {t.last:%Y-%m-%d}): "
            "use a date inside that range"
        )
    i = int(t.sessions.searchsorted(day, "left"))  # day's session, else the next one
    if t.sessions[i] == day and ny.value >= t.closes[i]:  # closed before the news
        i += 1
    if i >= len(t.sessions):  # after the last close: exchange-calendars' own error
        return nyse().next_session(day)
    return t.sessions[i]


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
