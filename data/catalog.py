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

The catalog lives in four modules; this one holds the queries and re-exports the rest:
:mod:`evbt.data.catalog_schema` (columns, vocabularies, row checks, :func:`split_list` and
:func:`match_lists`, the one list splitter and tag/ticker filter), :mod:`evbt.data.catalog_io`
(reading, validating, the user catalog overlay, adding rows atomically) and
:mod:`evbt.data.earnings_refresh` (report dates from yfinance).

Every check raises :class:`~evbt.errors.InputError` with one line:
``FILE: line N, column COL: what is wrong: how to fix it`` (header = line 1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
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
from evbt.data.catalog_schema import (
    _DATE,
    COLUMNS,
    COMPUTED,
    CONFIDENCES,
    DEFAULT_CATALOG,
    DEFAULT_NOTICE_DAYS,
    KINDS,
    NEAR_REPORT_DAYS,
    STATUSES,
    _choices,
    _end,
    _hint,
    _session,
    _start,
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
        if not _DATE.match(value.strip()):
            raise InputError(f"{what}: bad date {value!r}: write YYYY-MM-DD, e.g. 2026-02-10")
        try:
            return pd.Timestamp(dt.date.fromisoformat(value.strip()))
        except ValueError:
            raise InputError(
                f"{what}: bad date {value!r} (no such day): write a real date as YYYY-MM-DD"
            ) from None
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


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    key = pd.DataFrame({"k": _start(df), "id": df["id"]}, index=df.index)
    order = key.sort_values(["k", "id"], kind="mergesort").index
    return df.loc[order]


def as_of(catalog: pd.DataFrame, date: Any) -> pd.DataFrame:
    """The catalog as the market knew it on ``date`` (rows known on or before it).

    An expected row is hidden once a row superseding it is known. Sorted by event day
    then id, index reset; rows not yet known play no part, so adding, removing or
    changing them never changes the result.
    """
    cat = _loaded(catalog)
    day = _day(date, "as-of date")
    known = cat[cat["known_at"] <= day]
    resolved = set(known.loc[known["supersedes"] != "", "supersedes"])
    keep = ~(known["id"].isin(resolved) & (known["status"] == "expected"))
    return _sorted(known[keep]).reset_index(drop=True)


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    out = [str(v) for v in value]
    return out or None


def _vocab(values: list[str], choices: Sequence[str], what: str) -> list[str]:
    out = []
    for v in values:
        low = v.strip().lower()
        if low not in choices:
            raise InputError(
                f"{what}: unknown value {v!r}: {_hint(low, choices)}use one of {_choices(choices)}"
            )
        out.append(low)
    return out


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
    any of the tickers (all through :func:`~evbt.data.catalog_schema.match_lists`); ``since``/``until`` keep rows whose date (or
    window, for expected rows) overlaps ``[since, until]`` (``since`` after ``until`` is an
    error: the range would be empty).
    """
    if not isinstance(catalog, pd.DataFrame) or any(c not in catalog.columns for c in COLUMNS):
        raise InputError("catalog: not a catalog table: pass the result of load_catalog()")
    mask = pd.Series(True, index=catalog.index)
    if (kinds := _as_list(kind)) is not None:
        mask &= catalog["kind"].str.lower().isin(_vocab(kinds, KINDS, "kind"))
    if (sts := _as_list(status)) is not None:
        mask &= catalog["status"].str.lower().isin(_vocab(sts, STATUSES, "status"))
    if (confs := _as_list(confidence)) is not None:
        mask &= catalog["confidence"].str.lower().isin(_vocab(confs, CONFIDENCES, "confidence"))
    if (orgs := _as_list(org)) is not None:
        mask &= catalog["org"].str.lower().isin([o.strip().lower() for o in orgs])
    tags_any, tags_every = _as_list(tag), _as_list(tags_all)
    if tags_any is not None or tags_every is not None:
        mask &= match_lists(catalog["tags"], all_of=tags_every or (), any_of=tags_any or ())
    if (tks := _as_list(ticker)) is not None:
        mask &= match_lists(catalog["tickers"], any_of=tks)
    if (wanted := _as_list(ids)) is not None:
        mask &= catalog["id"].isin([i.strip() for i in wanted])
    lo = _day(since, "since") if since is not None else None
    hi = _day(until, "until") if until is not None else None
    if lo is not None and hi is not None and lo > hi:
        raise InputError(
            f"since {lo:%Y-%m-%d} is after until {hi:%Y-%m-%d}: the range is empty; swap them"
        )
    if lo is not None:
        mask &= _end(catalog) >= lo
    if hi is not None:
        mask &= _start(catalog) <= hi
    return catalog[mask]


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
