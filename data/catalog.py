"""The event catalog: AI launches and earnings reports as dated, point-in-time rows.

One CSV row per event (``data/events/catalog.csv`` is the bundled one). Columns, in order::

    id, name, org, kind, tags, date, time, tz, tickers, scheduled, status,
    window_start, window_end, known_since, fiscal_period, source, confidence, supersedes

Two states of an event:

- ``confirmed``: it has a ``date`` (in ``tz``) and no window;
- ``expected``: known only by a window ``window_start``..``window_end``, no date. When
  it resolves, a confirmed row names it in ``supersedes``; both rows stay in the file.

Point in time. ``known_at`` (computed) is the day from which the market could know the
row: ``known_since`` when given, otherwise the default rule
(:data:`DEFAULT_NOTICE_DAYS`):

- scheduled rows (``scheduled`` true, e.g. earnings): ``DEFAULT_NOTICE_DAYS`` (30)
  calendar days before ``date`` (or ``window_start`` for an expected row);
- unscheduled rows (surprise launches): ``date`` itself (or ``window_start``).

:func:`as_of` shows the catalog as it was known on a day: rows with ``known_at`` on or
before it, minus expected rows that a known row supersedes.

``reaction_session`` (computed) is the first NYSE session that can reflect the event
(:func:`data.calendar.reaction_session` of ``date``/``time``/``tz``; of ``window_start``
for an expected row; NaT outside the calendar).

The catalog lives in five modules; this one holds the queries on tables and re-exports the
rest: :mod:`evbt.data.catalog_schema` (columns, vocabularies, row checks, the computed
columns, :func:`split_list` and :func:`match_lists`, the one list splitter and tag/ticker
filter), :mod:`evbt.data.catalog_io` (reading, validating, the user catalog overlay, adding
rows atomically), :mod:`evbt.data.catalog_rows` (the rules of :func:`as_of` and
:func:`select`, on rows) and :mod:`evbt.data.earnings_refresh` (report dates from yfinance).
Reading, checking and the query rules need no pandas (``evbt events list`` prints the plain
rows of :func:`~evbt.data.catalog_io.load_rows`); the functions here apply them to tables.

Every check raises :class:`~evbt.errors.InputError` with one line:
``FILE: line N, column COL: what is wrong: how to fix it`` (header = line 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from evbt.data.calendar import NY, sessions
from evbt.data.catalog_io import (
    add_event,
    add_events,
    catalog_sources,
    load_catalog,
    user_catalog_path,
    validate_catalog,
)
from evbt.data.catalog_rows import known_on, parse_day, selector
from evbt.data.catalog_schema import (
    COLUMNS,
    COMPUTED,
    CONFIDENCES,
    DEFAULT_CATALOG,
    DEFAULT_NOTICE_DAYS,
    KINDS,
    NEAR_REPORT_DAYS,
    STATUSES,
    _session,
    calendar_range,
    default_known_at,
    match_lists,
    split_list,
)
from evbt.data.earnings_refresh import (
    RefreshResult,
    earnings_rows,
    fetch_earnings_dates,
    refresh_earnings,
)
from evbt.errors import InputError

__all__ = [
    "COLUMNS",
    "CONFIDENCES",
    "DEFAULT_CATALOG",
    "DEFAULT_NOTICE_DAYS",
    "KINDS",
    "NEAR_REPORT_DAYS",
    "STATUSES",
    "RefreshResult",
    "add_event",
    "add_events",
    "as_of",
    "default_known_at",
    "earnings_rows",
    "fetch_earnings_dates",
    "horizon_sessions",
    "load_catalog",
    "match_lists",
    "refresh_earnings",
    "select",
    "split_list",
    "upcoming",
    "user_catalog_path",
    "catalog_sources",
    "validate_catalog",
]


def _day(value: Any, what: str) -> pd.Timestamp:
    if isinstance(value, str):
        return pd.Timestamp(parse_day(value, what))
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InputError(f"{what}: bad date {value!r}: pass YYYY-MM-DD or a date") from None
    if pd.isna(ts):
        raise InputError(f"{what}: missing date: pass YYYY-MM-DD")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(NY).tz_localize(None)
    return ts.normalize()


def _loaded(catalog: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(catalog, pd.DataFrame) or any(
        c not in catalog.columns for c in COLUMNS + COMPUTED
    ):
        raise InputError("catalog: not a loaded catalog table: pass the result of load_catalog()")
    return catalog


#: The fields :func:`~evbt.data.catalog_rows.known_on` reads (with ``event_day``'s two).
_KNOWN_ON_FIELDS = ("id", "status", "known_at", "supersedes", "date", "window_start")


def as_of(catalog: pd.DataFrame, date: Any) -> pd.DataFrame:
    """The catalog as the market knew it on ``date`` (rows known on or before it).

    An expected row is hidden once a row superseding it is known. Sorted by event day
    then id, index reset; rows not yet known play no part, so adding, removing or
    changing them never changes the result (the rule: :func:`evbt.data.catalog_rows.known_on`).
    """
    cat = _loaded(catalog)
    day = _day(date, "as-of date")
    # the rule reads these six fields: records of them alone, not of all twenty columns
    # (a replay calls this once per day; the whole table's records were most of its time)
    rows = cat[list(_KNOWN_ON_FIELDS)].to_dict("records")
    return cat.iloc[known_on(rows, day)].reset_index(drop=True)


def select(
    catalog: pd.DataFrame,
    *,
    kind: str | Iterable[str] | None = None,
    org: str | Iterable[str] | None = None,
    tag: str | Iterable[str] | None = None,
    tags_all: str | Iterable[str] | None = None,
    ticker: str | Iterable[str] | None = None,
    ids: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    confidence: str | Iterable[str] | None = None,
    since: Any = None,
    until: Any = None,
) -> pd.DataFrame:
    """Rows matching every given filter (each a value or a list of values, any of which match).

    ``kind``, ``org``, ``tag``, ``status`` and ``confidence`` are case-insensitive; ``tag``
    matches a row carrying any of the tags, ``tags_all`` one carrying all of them (the
    strategy ``select`` has the same two: ``tags_any`` and ``tags``), ``ticker`` one naming
    any of the tickers (all through :func:`~evbt.data.catalog_schema.match_lists`'s rule);
    ``since``/``until`` keep rows whose date (or window, for expected rows) overlaps
    ``[since, until]`` (``since`` after ``until`` is an error: the range would be empty).
    The rule: :func:`evbt.data.catalog_rows.selector`.
    """
    if not isinstance(catalog, pd.DataFrame) or any(c not in catalog.columns for c in COLUMNS):
        raise InputError("catalog: not a catalog table: pass the result of load_catalog()")
    keep = selector(
        kind=kind,
        org=org,
        tag=tag,
        tags_all=tags_all,
        ticker=ticker,
        ids=ids,
        status=status,
        confidence=confidence,
        since=since,
        until=until,
        day=_day,
    )
    mask = [keep(r) for r in catalog.to_dict("records")]
    return catalog[pd.Series(mask, index=catalog.index, dtype=bool)]


MAX_HORIZON = 2520  # sessions (about ten years)


def horizon_sessions(asof: Any, horizon: int, *, what: str = "as-of date") -> pd.DatetimeIndex:
    """The ``horizon`` NYSE sessions from ``asof``: the as-of day itself when it is a
    session, else the next one (fewer near the calendar's end). One rule for ``evbt events
    upcoming``, ``evbt signals`` and ``evbt alerts``."""
    if isinstance(horizon, bool) or int(horizon) != horizon or not 1 <= horizon <= MAX_HORIZON:
        raise InputError(
            f"horizon: bad number of sessions {horizon!r}: pass a whole number from 1 to {MAX_HORIZON}"
        )
    n = int(horizon)
    day = _day(asof, what)
    lo, hi = calendar_range()
    if not lo - pd.Timedelta(days=7) <= day <= hi:
        raise InputError(
            f"{what} {day:%Y-%m-%d} is outside the NYSE calendar "
            f"({lo:%Y-%m-%d} to {hi:%Y-%m-%d}): pass a date inside it"
        )
    return sessions(day, day + pd.Timedelta(days=2 * n + 14))[:n]


_horizon = horizon_sessions  # the parameter below shadows the name


def upcoming(catalog: pd.DataFrame, asof: Any, horizon_sessions: int = 20) -> pd.DataFrame:
    """Events knowable on ``asof`` whose reaction session (or window) falls in the next N sessions.

    The N sessions start at ``asof`` itself when it is a session, else at the next one.
    An expected row counts when its window (reaction sessions of ``window_start`` and
    ``window_end``) overlaps them. Adds ``sessions_ahead``: 0 for the first of the N sessions.
    """
    ahead = _horizon(asof, horizon_sessions)
    day = _day(asof, "as-of date")
    known = as_of(catalog, day)
    if len(ahead) == 0:
        return known.iloc[0:0].assign(sessions_ahead=pd.Series(dtype="int64"))
    first, last = ahead[0], ahead[-1]
    start = known["reaction_session"]
    end = pd.Series(
        [
            _session(we, t, z) if s == "expected" else rs
            for we, t, z, s, rs in zip(
                known["window_end"], known["time"], known["tz"], known["status"], start, strict=True
            )
        ],
        index=known.index,
        dtype="datetime64[ns]",
    )
    end = end.fillna(pd.Timestamp.max.normalize())  # a window running past the calendar
    hit = start.notna() & (start <= last) & (end >= first)
    out = known[hit].copy()
    out["sessions_ahead"] = ahead.get_indexer(out["reaction_session"].clip(lower=first)).astype(
        "int64"
    )
    return out.reset_index(drop=True)
