"""The NYSE session table and the reaction-session rule in plain Python (datetime, bisect).

No pandas, no numpy at import or in the rule: ``evbt events list`` reads the catalog with this
module alone (issue 17). :mod:`evbt.data.calendar` states the rule and is its pandas face
(a DatetimeIndex of sessions, Timestamps); both read the one table and the one rule here.

The table: every XNYS session (a date) and its close (UTC nanoseconds), from 2000-01-03
to two years past today. It is kept in the user cache folder as JSON (a few milliseconds
to read), keyed by the exchange-calendars version and the range; a missing or unreadable
copy is rebuilt from exchange-calendars (:func:`nyse`, which imports pandas) and stored.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import json
import re
import zoneinfo
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from evbt.errors import InputError

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
EPOCH = dt.date(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_TABLE_FORMAT = 1  # bump when the JSON layout changes


def calendar_end(today: dt.date | None = None) -> str:
    """The calendar's last day: two years past today (29 February gives 28 February, as
    pandas' ``DateOffset(years=2)`` does)."""
    day = dt.date.today() if today is None else today
    try:
        end = day.replace(year=day.year + 2)
    except ValueError:  # 29 February
        end = day.replace(year=day.year + 2, day=28)
    return end.isoformat()


def cache_path(end: str, suffix: str) -> Path | None:
    """Where the built calendar (``.pkl``) or its session table (``.json``) is kept, or None
    when no cache folder can be named. The key names the exchange-calendars version (read
    without importing it) and the range."""
    try:
        import platformdirs

        root = platformdirs.user_cache_dir("evbt")
        version = _xcals_version()
    except Exception:  # pragma: no cover - both are dependencies
        return None
    return Path(root) / "calendars" / f"XNYS-{version}-{CAL_START}-{end}{suffix}"


def _xcals_version() -> str:
    """exchange-calendars' version, without importing it: the name of its ``.dist-info``
    folder beside the package (a wheel names it ``exchange_calendars-<version>.dist-info``),
    else its metadata (importlib.metadata, whose email parser costs ~30 ms at import)."""
    import importlib.util

    spec = importlib.util.find_spec("exchange_calendars")
    if spec is not None and spec.origin is not None:
        prefix, suffix = "exchange_calendars-", ".dist-info"
        found = list(Path(spec.origin).parent.parent.glob(f"{prefix}*{suffix}"))
        if len(found) == 1:
            return found[0].name[len(prefix) : -len(suffix)]
    import importlib.metadata

    return importlib.metadata.version("exchange-calendars")


@functools.lru_cache(maxsize=1)
def nyse() -> xcals.ExchangeCalendar:
    """The XNYS calendar from 2000 to two years past today (built once per process).

    Building it from the holiday rules takes about half a second, so the built calendar is
    kept in the user cache folder (platformdirs' user cache dir for evbt), keyed by the
    exchange-calendars version and the range; a missing or unreadable copy is rebuilt.
    """
    import pickle
    import warnings

    import exchange_calendars as xcals
    import pandas as pd

    from evbt.fsutil import atomic_writer

    end = calendar_end()
    path = cache_path(end, ".pkl")
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


class Sessions(NamedTuple):
    """The NYSE sessions as days since 1970-01-01 and their closes as UTC nanoseconds
    (ascending, one close per session): all the reaction-session rule needs."""

    days: list[int]
    closes: list[int]

    def day(self, i: int) -> dt.date:
        """The date of session ``i``."""
        return EPOCH + dt.timedelta(days=self.days[i])

    @property
    def first(self) -> dt.date:
        return self.day(0)

    @property
    def last(self) -> dt.date:
        return self.day(-1)


def _read(path: Path) -> Sessions | None:
    with contextlib.suppress(Exception):  # any problem with the copy: rebuild it
        data = json.loads(path.read_text(encoding="utf-8"))
        days, closes = data["sessions"], data["closes"]
        ok = (
            data["format"] == _TABLE_FORMAT
            and isinstance(days, list)
            and isinstance(closes, list)
            and 0 < len(days) == len(closes)
            and all(type(v) is int for v in days)
            and all(type(v) is int for v in closes)
        )
        if ok:
            return Sessions(days, closes)
    return None


def _build() -> Sessions:
    """The table from exchange-calendars (imports pandas; only on a cold cache)."""
    import numpy as np
    import pandas as pd

    cal = nyse()
    days = cal.sessions.to_numpy().astype("datetime64[D]").astype(np.int64)
    # closes are tz-aware (UTC): their int64 nanoseconds, without a tz round trip through numpy
    closes = pd.DatetimeIndex(cal.closes).tz_convert("UTC").as_unit("ns").asi8
    return Sessions([int(d) for d in days], [int(c) for c in closes])


@functools.lru_cache(maxsize=1)
def table() -> Sessions:
    """The NYSE session table, read from the user cache folder without importing pandas or
    exchange-calendars; built from :func:`nyse` and stored when missing or unreadable. Same
    key as the calendar: its version and range."""
    path = cache_path(calendar_end(), ".json")
    if path is not None and (found := _read(path)) is not None:
        return found
    out = _build()
    if path is not None:
        from evbt.fsutil import atomic_writer

        with contextlib.suppress(OSError, ValueError):  # a read-only cache is fine
            path.parent.mkdir(parents=True, exist_ok=True)
            for pattern in ("XNYS-*.json", "XNYS-*.npz"):  # .npz: the layout before issue 17
                for old in path.parent.glob(pattern):
                    old.unlink(missing_ok=True)
            data = {"format": _TABLE_FORMAT, "sessions": out.days, "closes": out.closes}
            with atomic_writer(path, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
    return out


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


def info_instant(day: dt.date, time: str, tz: str) -> dt.datetime:
    """The instant (aware, New York time) at which the event counts as known to the market
    (rule 1 of :mod:`evbt.data.calendar`)."""
    t = check_time(time)
    zone = check_tz(tz)
    if t in _LABEL_NY_TIME:
        return dt.datetime.combine(day, _LABEL_NY_TIME[t], tzinfo=NY)
    if t == "unknown":
        end_local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone).astimezone(NY)
        floor = dt.datetime.combine(end_local.date(), _LABEL_NY_TIME["after_close"], tzinfo=NY)
        return max(end_local, floor)
    hh, mm = (int(x) for x in t.split(":"))
    local = dt.datetime.combine(day, dt.time(hh, mm), tzinfo=zone)
    return local.astimezone(NY)


def nanoseconds(instant: dt.datetime) -> int:
    """An aware datetime as UTC nanoseconds since the epoch (exact integer arithmetic)."""
    d = instant - _EPOCH_UTC
    return (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1_000


def session_index(day: dt.date, ns: int) -> int:
    """Position in :func:`table` of the first session whose close comes after the instant
    ``ns`` (UTC nanoseconds) whose New York date is ``day`` (rule 2 of
    :mod:`evbt.data.calendar`). A day outside the table is an InputError."""
    t = table()
    first, last = t.first, t.last
    if day < first or day > last:
        raise InputError(
            f"date {day:%Y-%m-%d} is outside the NYSE calendar "
            f"({first:%Y-%m-%d} to {last:%Y-%m-%d}): "
            "use a date inside that range"
        )
    n = (day - EPOCH).days
    i = bisect.bisect_left(t.days, n)  # day's session, else the next one
    if t.days[i] == n and ns >= t.closes[i]:  # closed before the news
        i += 1
    if i >= len(t.days):  # after the last close: exchange-calendars' own error
        nyse().next_session(day)
    return i


def reaction_day(day: dt.date, time: str = "unknown", tz: str = "America/New_York") -> dt.date:
    """The first NYSE session whose traded price can reflect news from ``day``/``time``/``tz``
    (the plain twin of :func:`evbt.data.calendar.reaction_session`)."""
    instant = info_instant(day, time, tz)
    return table().day(session_index(instant.date(), nanoseconds(instant)))
