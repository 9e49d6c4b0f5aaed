"""The catalog's schema: columns, vocabularies, one row's checks and the typed table.

Every check raises :class:`~evbt.errors.InputError` with one line:
``FILE: line N, column COL: what is wrong: how to fix it`` (header = line 1).
Reading and writing files is :mod:`evbt.data.catalog_io`; queries are :mod:`evbt.data.catalog`
(tables) and :mod:`evbt.data.catalog_rows` (plain rows).

The checks and the computed columns work on plain rows (str, bool, ``datetime.date`` or
None): no pandas, so ``evbt events list`` reads the catalog without it (issue 17).
:func:`_frame` builds the typed table from the checked rows; it and the other helpers for
tables (:func:`match_lists`, :func:`calendar_range`, ``_session``) import pandas or numpy
when called.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evbt.data import calendar_core
from evbt.data.calendar_core import check_time, check_tz
from evbt.errors import InputError
from evbt.hints import nearest

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DEFAULT_CATALOG = Path(__file__).resolve().parent / "events" / "catalog.csv"

COLUMNS = (
    "id",
    "name",
    "org",
    "kind",
    "tags",
    "date",
    "time",
    "tz",
    "tickers",
    "scheduled",
    "status",
    "window_start",
    "window_end",
    "known_since",
    "fiscal_period",
    "source",
    "confidence",
    "supersedes",
)
REQUIRED = (
    "id",
    "name",
    "org",
    "kind",
    "date",
    "time",
    "tz",
    "scheduled",
    "status",
    "source",
    "confidence",
)
OPTIONAL = tuple(c for c in COLUMNS if c not in REQUIRED)  # filled with "" when absent
DATE_COLUMNS = ("date", "window_start", "window_end", "known_since")
COMPUTED = ("reaction_session", "known_at")
KINDS = ("model_launch", "earnings", "product", "policy", "other")
STATUSES = ("confirmed", "expected")
CONFIDENCES = ("confirmed", "single", "unconfirmed")
DEFAULT_NOTICE_DAYS = 30
NEAR_REPORT_DAYS = 7  # two report dates of one ticker this close are the same report

_ID = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.=^-]*$")
_FISCAL = re.compile(r"^(Q[1-4] )?FY\d{4}$")

Location = int | str  # a 1-based line number, or a label such as "new row"


# ---------------------------------------------------------------- errors


def _err(origin: str, where: Location, column: str, what: str, fix: str) -> InputError:
    loc = f"line {where}" if isinstance(where, int) else where
    msg = f"{origin}: {loc}, column {column}: {what}: {fix}"
    return InputError(" ".join(msg.split("\n")))


def _hint(value: str, choices: Sequence[str]) -> str:
    close = nearest(value.lower(), choices)
    return f"did you mean {close!r}? " if close else ""


def _choices(choices: Sequence[str]) -> str:
    return ", ".join(choices)


# ---------------------------------------------------------------- reading


@dataclass
class _Raw:
    """A catalog as strings: the header and each row with where it came from."""

    origin: str
    header: list[str]
    header_line: Location = 1
    rows: list[tuple[Location, dict[str, str]]] = field(default_factory=list)


def _fill(rec: dict[str, str]) -> dict[str, str]:
    for c in OPTIONAL:
        rec.setdefault(c, "")
    return rec


def _check_header(origin: str, header: list[str], line: Location) -> None:
    seen: set[str] = set()
    for col in header:
        if col in seen:
            raise _err(origin, line, col, "duplicate column", "keep one column of each name")
        seen.add(col)
        if col not in COLUMNS:
            raise _err(
                origin,
                line,
                col or "(empty)",
                "unknown column",
                f"{_hint(col, COLUMNS)}the columns are {','.join(COLUMNS)}",
            )
    for col in REQUIRED:
        if col not in seen:
            raise _err(
                origin,
                line,
                col,
                "missing required column",
                f"add it to the header; required: {','.join(REQUIRED)}",
            )


# ---------------------------------------------------------------- checking


@functools.lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _date(origin: str, where: Location, col: str, v: str) -> dt.date | None:
    if v == "":
        return None
    if not _DATE.match(v):
        raise _err(origin, where, col, f"bad date {v!r}", "write YYYY-MM-DD, e.g. 2025-01-20")
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise _err(
            origin,
            where,
            col,
            f"bad date {v!r} (no such day)",
            "write a real calendar date as YYYY-MM-DD",
        ) from None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_text(value: str, *, where: str) -> str:
    """Refuse control characters (newlines, tabs, NUL, ...) in a text field."""
    m = _CONTROL.search(value)
    if m:
        raise InputError(
            f"{where}: control character {m.group(0)!r} at position {m.start() + 1}: "
            "remove it (text fields are one plain line)"
        )
    return value


@functools.lru_cache(maxsize=1)
def calendar_range() -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day the NYSE calendar maps (event dates must lie inside)."""
    from evbt.data.calendar import bounds

    return bounds()


def _in_calendar(origin: str, where: Location, col: str, v: dt.date | None) -> None:
    if v is None:
        return
    t = calendar_core.table()
    lo, hi = t.first, t.last
    if v < dt.date(lo.year, 1, 1) or v >= hi:
        raise _err(
            origin,
            where,
            col,
            f"date {v:%Y-%m-%d} is outside the NYSE calendar ({lo:%Y-%m-%d} to {hi:%Y-%m-%d}, exclusive)",
            "use a date the calendar can map to a session",
        )


def split_list(value: Any) -> list[str]:
    """A ``;``-separated cell (tags, tickers) as its items; "" / None / NaN give [].

    The one place the catalog's list cells are split (catalog, signals, select, refresh).
    """
    if value is None or isinstance(value, float) and math.isnan(value):
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v).strip() for v in value if str(v).strip()]
    return [t.strip() for t in str(value).split(";") if t.strip()]


def list_matcher(
    *, all_of: Iterable[str] = (), any_of: Iterable[str] = (), lower: bool = True
) -> Callable[[Any], bool]:
    """Whether one ``;``-separated cell carries every ``all_of`` item and at least one
    ``any_of`` item (an empty filter matches all). Case-insensitive by default.

    The one tag/ticker rule: :func:`match_lists` applies it to a column, and
    :func:`evbt.data.catalog_rows.select` to plain rows.
    """

    def norm(v: str) -> str:
        return v.strip().lower() if lower else v.strip()

    need = {norm(v) for v in all_of}
    anyof = {norm(v) for v in any_of}

    def match(cell: Any) -> bool:
        have = {norm(v) for v in split_list(cell)}
        return need <= have and (not anyof or bool(anyof & have))

    return match


def match_lists(
    cells: Iterable[Any],
    *,
    all_of: Iterable[str] = (),
    any_of: Iterable[str] = (),
    lower: bool = True,
) -> np.ndarray:
    """Boolean mask over ``;``-separated cells (:func:`list_matcher` on each).

    The one tag/ticker filter: :func:`evbt.data.catalog.select` (``tag`` = any of,
    ``tags_all`` = all of) and the strategy ``select`` (``tags`` all, ``tags_any`` any).
    """
    import numpy as np

    match = list_matcher(all_of=all_of, any_of=any_of, lower=lower)
    return np.array([match(c) for c in cells], dtype=bool)


def _check_row(origin: str, where: Location, r: dict[str, str]) -> dict[str, Any]:
    """One row's own checks; returns the typed row."""

    def bad(col: str, what: str, fix: str) -> InputError:
        return _err(origin, where, col, what, fix)

    for col, v in r.items():
        m = _CONTROL.search(v)
        if m:
            raise bad(
                col,
                f"control character {m.group(0)!r} at position {m.start() + 1}",
                "remove it (text fields are one plain line)",
            )
    if r["id"] == "":
        raise bad("id", "empty id", "give each event a unique slug such as deepseek-r1")
    if not _ID.match(r["id"]):
        raise bad(
            "id",
            f"bad id {r['id']!r}",
            "use a lowercase slug of letters, digits, '-' and '.', e.g. nvda-q4-fy2026",
        )
    for col in ("name", "org", "source"):
        if r[col] == "":
            fix = {
                "name": "give the event a readable name, e.g. DeepSeek-R1",
                "org": "name the organisation, e.g. DeepSeek or NVIDIA",
                "source": "say where the date was read (site, filing, change log)",
            }[col]
            raise bad(col, f"empty {col}", fix)
    if r["kind"] not in KINDS:
        raise bad(
            "kind",
            f"unknown kind {r['kind']!r}",
            f"{_hint(r['kind'], KINDS)}use one of {_choices(KINDS)}",
        )
    tags = split_list(r["tags"])
    for t in tags:
        if not _TAG.match(t):
            raise bad(
                "tags",
                f"bad tag {t!r}",
                "write lowercase tags of letters, digits and '_', separated by ';' (e.g. china;open_weights)",
            )
    date = _date(origin, where, "date", r["date"])
    t = r["time"]
    check_time(t, where=f"{origin}: {_loc(where)}, column time")
    if r["tz"] not in _zones():  # before check_tz, which lets some bad names through as OSError
        raise bad(
            "tz",
            f"unknown timezone {r['tz']!r}",
            "use an IANA name such as America/New_York or Asia/Shanghai",
        )
    check_tz(r["tz"], where=f"{origin}: {_loc(where)}, column tz")
    tickers = split_list(r["tickers"])
    for tk in tickers:
        if not _TICKER.match(tk):
            raise bad(
                "tickers",
                f"bad ticker {tk!r}",
                "write uppercase symbols separated by ';', e.g. NVDA;AMD",
            )
    if r["kind"] == "earnings" and not tickers:
        raise bad(
            "tickers",
            "earnings event without a ticker",
            "name the reporting company's ticker, e.g. NVDA",
        )
    sched = r["scheduled"].lower()
    if sched not in ("true", "false"):
        raise bad(
            "scheduled",
            f"bad value {r['scheduled']!r}",
            "write true (date public in advance, e.g. earnings) or false (surprise)",
        )
    status = r["status"]
    if status not in STATUSES:
        raise bad(
            "status",
            f"unknown status {status!r}",
            f"{_hint(status, STATUSES)}use one of {_choices(STATUSES)}",
        )
    ws = _date(origin, where, "window_start", r["window_start"])
    we = _date(origin, where, "window_end", r["window_end"])
    known = _date(origin, where, "known_since", r["known_since"])
    for col, day in (("date", date), ("window_start", ws), ("window_end", we)):
        _in_calendar(origin, where, col, day)
    if status == "confirmed":
        if date is None:
            what = (
                "confirmed event with a window but no date"
                if r["window_start"] or r["window_end"]
                else "confirmed event without a date"
            )
            raise bad(
                "date", what, "set the date (YYYY-MM-DD), or set status expected with a window"
            )
        if r["window_start"] or r["window_end"]:
            col = "window_start" if r["window_start"] else "window_end"
            raise bad(
                col,
                "confirmed event with a window",
                "clear window_start/window_end, or set status expected and clear date",
            )
        if known is not None and known > date:
            raise bad(
                "known_since",
                f"known_since {r['known_since']} is after the event date {r['date']}",
                "set known_since on or before date",
            )
    else:
        if date is not None:
            raise bad(
                "date",
                "expected event with a date",
                "clear date and give the window, or set status confirmed",
            )
        for col, day in (("window_start", ws), ("window_end", we)):
            if day is None:
                raise bad(
                    col,
                    f"expected event without {col}",
                    "give window_start and window_end (YYYY-MM-DD)",
                )
    if ws is not None and we is not None and we < ws:
        raise bad(
            "window_end",
            f"window_end {r['window_end']} is before window_start {r['window_start']}",
            "swap them or fix the window",
        )
    if r["fiscal_period"] and not _FISCAL.match(r["fiscal_period"]):
        raise bad(
            "fiscal_period",
            f"bad fiscal period {r['fiscal_period']!r}",
            "write e.g. 'Q4 FY2026' (or 'FY2026')",
        )
    if r["confidence"] not in CONFIDENCES:
        raise bad(
            "confidence",
            f"unknown confidence {r['confidence']!r}",
            f"{_hint(r['confidence'], CONFIDENCES)}use one of {_choices(CONFIDENCES)}",
        )
    if r["supersedes"] == r["id"]:
        raise bad(
            "supersedes",
            "a row cannot supersede itself",
            "name the id of the expected row this one resolves",
        )
    typed = {
        **r,
        "tags": ";".join(tags),
        "tickers": ";".join(tickers),
        "date": date,
        "scheduled": sched == "true",
        "window_start": ws,
        "window_end": we,
        "known_since": known,
    }
    return {c: typed[c] for c in COLUMNS}


def _loc(where: Location) -> str:
    return f"line {where}" if isinstance(where, int) else str(where)


def _check_rows(raw: _Raw) -> list[dict[str, Any]]:
    """All checks (each row, then ids and supersedes across rows); the typed rows, each
    with the columns in :data:`COLUMNS` order (dates as ``datetime.date`` or None)."""
    typed: list[dict[str, Any]] = []
    first_line: dict[str, Location] = {}
    for where, rec in raw.rows:
        row = _check_row(raw.origin, where, rec)
        if row["id"] in first_line:
            raise _err(
                raw.origin,
                where,
                "id",
                f"duplicate id {row['id']!r} (first at {_loc(first_line[row['id']])})",
                "give each event a unique id",
            )
        first_line[row["id"]] = where
        typed.append(row)
    status = {r["id"]: r["status"] for r in typed}
    for (where, _), row in zip(raw.rows, typed, strict=True):
        target = row["supersedes"]
        if not target:
            continue
        if target not in status:
            hint = _hint(target, list(status))
            raise _err(
                raw.origin,
                where,
                "supersedes",
                f"unknown id {target!r}",
                f"{hint}name the id of an expected row in this catalog, or leave it empty",
            )
        if status[target] != "expected":
            raise _err(
                raw.origin,
                where,
                "supersedes",
                f"{target!r} is a confirmed row",
                "only an expected row can be superseded: point at the expected row, or leave it empty",
            )
    return typed


def _check(raw: _Raw) -> pd.DataFrame:
    """All checks (:func:`_check_rows`); the typed frame."""
    return _frame(_check_rows(raw), raw.origin)


def _frame(
    typed: list[dict[str, Any]], origin: str, columns: Sequence[str] = COLUMNS
) -> pd.DataFrame:
    """The typed table of checked rows: dates datetime64[ns] (NaT when empty), ``scheduled``
    bool, text str; ``attrs["origin"]`` names the source."""
    import pandas as pd

    data: dict[str, Any] = {}
    for c in columns:
        values = [r[c] for r in typed]
        if c in DATE_COLUMNS or c in COMPUTED:
            data[c] = pd.Series(
                pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[ns]"
            )
        elif c == "scheduled":
            data[c] = pd.Series(values, dtype=bool)
        else:
            data[c] = pd.Series(values, dtype="str")
    df = pd.DataFrame(data, columns=list(columns))
    df.attrs["origin"] = origin
    return df


def event_day(row: Any) -> Any:
    """The event's day: ``date``, or ``window_start`` for an expected row (None/NaT when
    neither). ``row`` maps column names to values: a plain row or a table's record."""
    return row["window_start"] if missing(row["date"]) else row["date"]


def event_end(row: Any) -> Any:
    """The event's last day: ``date``, or ``window_end`` for an expected row."""
    return row["window_end"] if missing(row["date"]) else row["date"]


def missing(value: Any) -> bool:
    """An empty date: None (plain rows) or NaT/NaN (a table's cells)."""
    return value is None or value != value


def session_day(day: dt.date | None, time: str, tz: str) -> dt.date | None:
    """The reaction session of news on ``day`` (None for no day, or outside the calendar)."""
    if day is None:
        return None
    try:
        return calendar_core.reaction_day(day, time, tz)
    except InputError:  # outside the NYSE calendar
        return None


def _session(day: pd.Timestamp, time: str, tz: str) -> pd.Timestamp:
    """:func:`session_day` for a table's cell (NaT for none)."""
    import pandas as pd

    got = None if pd.isna(day) else session_day(day.date(), time, tz)
    return pd.NaT if got is None else pd.Timestamp(got)


def default_known_at(day: Any, scheduled: bool) -> Any:
    """The default-rule ``known_at`` for a row without ``known_since`` (see module doc):
    ``day`` (a date or Timestamp) less :data:`DEFAULT_NOTICE_DAYS` when scheduled."""
    return day - dt.timedelta(days=DEFAULT_NOTICE_DAYS) if scheduled else day


def _with_computed(typed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checked rows with ``reaction_session`` and ``known_at`` (see the catalog's module doc)."""
    out = []
    for r in typed:
        start = event_day(r)
        known = r["known_since"]
        if known is None and start is not None:
            known = default_known_at(start, r["scheduled"])
        session = session_day(start, r["time"], r["tz"])
        out.append({**r, "reaction_session": session, "known_at": known})
    return out
