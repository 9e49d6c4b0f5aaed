"""The catalog's queries on rows: as known on a day, and the filters. No pandas.

The one home of the rules of :func:`evbt.data.catalog.as_of` and
:func:`evbt.data.catalog.select`: those apply them to a table's records, and ``evbt events
list`` to the plain rows of :func:`evbt.data.catalog_io.load_rows` (issue 17: it prints the
catalog without importing pandas). A row maps column names to values; an empty date is None
in a plain row and NaT in a table's record (:func:`~evbt.data.catalog_schema.missing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from evbt.data.catalog_schema import (
    _DATE,
    CONFIDENCES,
    KINDS,
    STATUSES,
    _choices,
    _hint,
    event_day,
    event_end,
    list_matcher,
    missing,
)
from evbt.errors import InputError

Row = Mapping[str, Any]
R = TypeVar("R", bound=Row)


def parse_day(value: str, what: str) -> dt.date:
    """A user's ``YYYY-MM-DD`` (blanks around it ignored) as a date; a one-line
    InputError naming ``what`` otherwise."""
    if not _DATE.match(value.strip()):
        raise InputError(f"{what}: bad date {value!r}: write YYYY-MM-DD, e.g. 2026-02-10")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            f"{what}: bad date {value!r} (no such day): write a real date as YYYY-MM-DD"
        ) from None


def known_on(rows: Sequence[Row], day: Any) -> list[int]:
    """Positions of the rows the market knew on ``day`` (``known_at`` on or before it), minus
    expected rows that a known row supersedes; ordered by event day, then id (stable).

    Rows not yet known play no part, so adding, removing or changing them never changes
    the result. ``day`` is of the rows' date type (a date, or a Timestamp for a table).
    """
    known = [i for i, r in enumerate(rows) if not missing(r["known_at"]) and r["known_at"] <= day]
    resolved = {rows[i]["supersedes"] for i in known if rows[i]["supersedes"] != ""}
    keep = [i for i in known if not (rows[i]["id"] in resolved and rows[i]["status"] == "expected")]
    return sorted(keep, key=lambda i: _order(rows[i]))


def _order(row: Row) -> tuple[Any, ...]:
    """Event day, then id; rows without a day last (by id)."""
    day = event_day(row)
    return (1, row["id"]) if missing(day) else (0, day, row["id"])


def as_of(rows: Sequence[R], date: str) -> list[R]:
    """The plain rows the market knew on ``date`` (YYYY-MM-DD), as :func:`known_on` orders
    them: :func:`evbt.data.catalog.as_of` for plain rows."""
    day = parse_day(date, "as-of date")
    return [rows[i] for i in known_on(rows, day)]


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    out = [str(v) for v in value]
    return out or None


def _vocab(values: list[str], choices: Sequence[str], what: str) -> set[str]:
    out = set()
    for v in values:
        low = v.strip().lower()
        if low not in choices:
            raise InputError(
                f"{what}: unknown value {v!r}: {_hint(low, choices)}use one of {_choices(choices)}"
            )
        out.add(low)
    return out


def _low(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def selector(
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
    day: Callable[[Any, str], Any] = parse_day,
) -> Callable[[Row], bool]:
    """Whether a row matches every given filter (each a value or a list of values, any of
    which match); checks the filters first (one-line InputErrors, "did you mean" hints).

    ``kind``, ``org``, ``tag``, ``status`` and ``confidence`` are case-insensitive; ``tag``
    matches a row carrying any of the tags, ``tags_all`` one carrying all of them, ``ticker``
    one naming any of the tickers (all through
    :func:`~evbt.data.catalog_schema.list_matcher`); ``since``/``until`` (read by ``day``)
    keep rows whose date (or window, for expected rows) overlaps ``[since, until]``
    (``since`` after ``until`` is an error: the range would be empty).
    """
    tests: list[Callable[[Row], bool]] = []
    if (kinds := _as_list(kind)) is not None:
        want_kind = _vocab(kinds, KINDS, "kind")
        tests.append(lambda r: _low(r["kind"]) in want_kind)
    if (sts := _as_list(status)) is not None:
        want_status = _vocab(sts, STATUSES, "status")
        tests.append(lambda r: _low(r["status"]) in want_status)
    if (confs := _as_list(confidence)) is not None:
        want_conf = _vocab(confs, CONFIDENCES, "confidence")
        tests.append(lambda r: _low(r["confidence"]) in want_conf)
    if (orgs := _as_list(org)) is not None:
        want_org = {o.strip().lower() for o in orgs}
        tests.append(lambda r: _low(r["org"]) in want_org)
    tags_any, tags_every = _as_list(tag), _as_list(tags_all)
    if tags_any is not None or tags_every is not None:
        tags_match = list_matcher(all_of=tags_every or (), any_of=tags_any or ())
        tests.append(lambda r: tags_match(r["tags"]))
    if (tks := _as_list(ticker)) is not None:
        tickers_match = list_matcher(any_of=tks)
        tests.append(lambda r: tickers_match(r["tickers"]))
    if (wanted := _as_list(ids)) is not None:
        want_ids = {i.strip() for i in wanted}
        tests.append(lambda r: r["id"] in want_ids)
    lo = day(since, "since") if since is not None else None
    hi = day(until, "until") if until is not None else None
    if lo is not None and hi is not None and lo > hi:
        raise InputError(
            f"since {lo:%Y-%m-%d} is after until {hi:%Y-%m-%d}: the range is empty; swap them"
        )
    if lo is not None:
        tests.append(lambda r: not missing(end := event_end(r)) and end >= lo)
    if hi is not None:
        tests.append(lambda r: not missing(start := event_day(r)) and start <= hi)
    return lambda r: all(test(r) for test in tests)


def select(rows: Sequence[R], **filters: Any) -> list[R]:
    """The plain rows matching every given filter (the keywords of :func:`selector`;
    ``since``/``until`` as YYYY-MM-DD): :func:`evbt.data.catalog.select` for plain rows."""
    keep = selector(**filters)
    return [r for r in rows if keep(r)]
