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

Every check raises :class:`~evbt.errors.InputError` with one line:
``FILE: line N, column COL: what is wrong: how to fix it`` (header = line 1).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import functools
import io
import os
import re
import stat
import tempfile
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evbt.data.calendar import NY, check_time, check_tz, reaction_session, sessions
from evbt.errors import InputError, OfflineError

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
    close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


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


def _read_raw(path: str | os.PathLike[str]) -> _Raw:
    p = Path(path)
    origin = str(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{origin}: no such catalog file: check the path (or omit --catalog for the bundled one)"
        ) from None
    except IsADirectoryError:
        raise InputError(f"{origin}: is a folder, not a catalog file: pass the CSV file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{origin}: not UTF-8 text (bad byte at offset {e.start}): save the catalog as UTF-8 CSV"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[Location, list[str]]] = []
    prev = 0
    try:
        for fields in reader:
            start, prev = prev + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue  # blank line
            if header is None:
                header, header_line = [f.strip() for f in fields], start
            else:
                rows.append((start, fields))
    except csv.Error as e:
        raise InputError(
            f"{origin}: line {reader.line_num}: malformed CSV ({e}): check the quotes on that line"
        ) from None
    if header is None:
        raise _err(
            origin,
            1,
            "id",
            "empty file, no header",
            f"start the file with the header {','.join(COLUMNS)}",
        )
    _check_header(origin, header, header_line)
    raw = _Raw(origin, header, header_line)
    for line, fields in rows:
        if len(fields) > len(header):
            raise InputError(
                f"{origin}: line {line}, after column {header[-1]}: {len(fields)} fields but the "
                f"header has {len(header)}: quote values that contain commas, or remove extra commas"
            )
        if len(fields) < len(header):
            raise _err(
                origin,
                line,
                header[len(fields)],
                f"missing ({len(fields)} fields but the header has {len(header)})",
                "give every row one field per header column (empty fields are allowed)",
            )
        raw.rows.append((line, _fill(dict(zip(header, (f.strip() for f in fields), strict=True)))))
    return raw


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


def _cell(value: Any) -> str:
    """A typed cell (Timestamp, bool, list, NaN) back to its CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp | dt.date):
        return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(str(v).strip() for v in value)
    with contextlib.suppress(TypeError, ValueError):
        if pd.isna(value):
            return ""
    return str(value).strip()


def _raw_from_frame(df: pd.DataFrame) -> _Raw:
    origin = str(df.attrs.get("origin", "catalog table"))
    header = [str(c) for c in df.columns if str(c) not in COMPUTED]
    _check_header(origin, header, 1)
    raw = _Raw(origin, header, 1)
    for i, rec in enumerate(df[header].to_dict("records")):
        raw.rows.append((i + 2, _fill({k: _cell(v) for k, v in rec.items()})))
    return raw


# ---------------------------------------------------------------- checking


@functools.lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _date(origin: str, where: Location, col: str, v: str) -> pd.Timestamp:
    if v == "":
        return pd.NaT
    if not _DATE.match(v):
        raise _err(origin, where, col, f"bad date {v!r}", "write YYYY-MM-DD, e.g. 2025-01-20")
    try:
        return pd.Timestamp(dt.date.fromisoformat(v))
    except ValueError:
        raise _err(
            origin,
            where,
            col,
            f"bad date {v!r} (no such day)",
            "write a real calendar date as YYYY-MM-DD",
        ) from None


def _split(v: str) -> list[str]:
    return [t.strip() for t in v.split(";") if t.strip()]


def _check_row(origin: str, where: Location, r: dict[str, str]) -> dict[str, Any]:
    """One row's own checks; returns the typed row."""

    def bad(col: str, what: str, fix: str) -> InputError:
        return _err(origin, where, col, what, fix)

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
    tags = _split(r["tags"])
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
    tickers = _split(r["tickers"])
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
    if status == "confirmed":
        if pd.isna(date):
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
        if not pd.isna(known) and known > date:
            raise bad(
                "known_since",
                f"known_since {r['known_since']} is after the event date {r['date']}",
                "set known_since on or before date",
            )
    else:
        if not pd.isna(date):
            raise bad(
                "date",
                "expected event with a date",
                "clear date and give the window, or set status confirmed",
            )
        for col, v in (("window_start", ws), ("window_end", we)):
            if pd.isna(v):
                raise bad(
                    col,
                    f"expected event without {col}",
                    "give window_start and window_end (YYYY-MM-DD)",
                )
    if not pd.isna(ws) and not pd.isna(we) and we < ws:
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
    return {
        **r,
        "tags": ";".join(tags),
        "tickers": ";".join(tickers),
        "date": date,
        "scheduled": sched == "true",
        "window_start": ws,
        "window_end": we,
        "known_since": known,
    }


def _loc(where: Location) -> str:
    return f"line {where}" if isinstance(where, int) else str(where)


def _check(raw: _Raw) -> pd.DataFrame:
    """All checks (each row, then ids and supersedes across rows); the typed frame."""
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
    return _frame(typed, raw.origin)


def _frame(typed: list[dict[str, Any]], origin: str) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for c in COLUMNS:
        values = [r[c] for r in typed]
        if c in DATE_COLUMNS:
            data[c] = pd.Series(
                pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[ns]"
            )
        elif c == "scheduled":
            data[c] = pd.Series(values, dtype=bool)
        else:
            data[c] = pd.Series(values, dtype="str")
    df = pd.DataFrame(data, columns=list(COLUMNS))
    df.attrs["origin"] = origin
    return df


# ---------------------------------------------------------------- public: load and validate


def validate_catalog(
    df_or_path: pd.DataFrame | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Check a catalog file (or table) and return it typed, without computed columns.

    Dates are datetime64 (NaT when empty), ``scheduled`` is bool, text columns are str
    ("" when empty), tags and tickers are ``;``-joined. Raises :class:`InputError` with one
    line naming the file, line (header = 1; for a table: row position + 2), column and fix.
    """
    if isinstance(df_or_path, pd.DataFrame):
        return _check(_raw_from_frame(df_or_path))
    return _check(_read_raw(DEFAULT_CATALOG if df_or_path is None else df_or_path))


def load_catalog(path: str | os.PathLike[str] | pd.DataFrame | None = None) -> pd.DataFrame:
    """The validated catalog (bundled one by default) with ``reaction_session`` and ``known_at``."""
    return _with_computed(validate_catalog(path))


def _start(df: pd.DataFrame) -> pd.Series:
    """The event's day: ``date``, or ``window_start`` for an expected row."""
    return df["date"].fillna(df["window_start"])


def _end(df: pd.DataFrame) -> pd.Series:
    return df["date"].fillna(df["window_end"])


def _session(day: pd.Timestamp, time: str, tz: str) -> pd.Timestamp:
    if pd.isna(day):
        return pd.NaT
    try:
        return reaction_session(day.date(), time, tz)
    except InputError:  # outside the NYSE calendar
        return pd.NaT


def default_known_at(day: pd.Timestamp, scheduled: bool) -> pd.Timestamp:
    """The default-rule ``known_at`` for a row without ``known_since`` (see module doc)."""
    return day - pd.Timedelta(days=DEFAULT_NOTICE_DAYS) if scheduled else day


def _with_computed(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    start = _start(out)
    out["reaction_session"] = pd.Series(
        [_session(d, t, z) for d, t, z in zip(start, out["time"], out["tz"], strict=True)],
        index=out.index,
        dtype="datetime64[ns]",
    )
    default = start - pd.to_timedelta(
        out["scheduled"].astype("int64") * DEFAULT_NOTICE_DAYS, unit="D"
    )
    out["known_at"] = out["known_since"].fillna(default).astype("datetime64[ns]")
    return out


# ---------------------------------------------------------------- public: queries


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
    ids: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    confidence: str | Iterable[str] | None = None,
    since: Any = None,
    until: Any = None,
) -> pd.DataFrame:
    """Rows matching every given filter (each a value or a list of values, any of which match).

    ``kind``, ``org``, ``tag``, ``status`` and ``confidence`` are case-insensitive; ``tag``
    matches a row carrying any of the tags; ``since``/``until`` keep rows whose date (or
    window, for expected rows) overlaps ``[since, until]``.
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
    if (tags := _as_list(tag)) is not None:
        want = {t.strip().lower() for t in tags}
        mask &= catalog["tags"].map(lambda s: bool(want & set(str(s).lower().split(";"))))
    if (wanted := _as_list(ids)) is not None:
        mask &= catalog["id"].isin([i.strip() for i in wanted])
    if since is not None:
        mask &= _end(catalog) >= _day(since, "since")
    if until is not None:
        mask &= _start(catalog) <= _day(until, "until")
    return catalog[mask]


def upcoming(catalog: pd.DataFrame, asof: Any, horizon_sessions: int = 20) -> pd.DataFrame:
    """Events knowable on ``asof`` whose reaction session (or window) falls in the next N sessions.

    The N sessions start at ``asof`` itself when it is a session, else at the next one.
    An expected row counts when its window (reaction sessions of ``window_start`` and
    ``window_end``) overlaps them. Adds ``sessions_ahead``: 0 for the first of the N sessions.
    """
    if (
        isinstance(horizon_sessions, bool)
        or int(horizon_sessions) != horizon_sessions
        or horizon_sessions < 1
    ):
        raise InputError(
            f"horizon: bad number of sessions {horizon_sessions!r}: pass a whole number >= 1"
        )
    n = int(horizon_sessions)
    day = _day(asof, "as-of date")
    known = as_of(catalog, day)
    ahead = sessions(day, day + pd.Timedelta(days=2 * n + 14))[:n]
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


# ---------------------------------------------------------------- public: adding rows


def _record(row: Mapping[str, Any], origin: str, label: str) -> dict[str, str]:
    for key in row:
        if key not in COLUMNS:
            raise _err(
                origin,
                label,
                str(key),
                "unknown field",
                f"{_hint(str(key), COLUMNS)}the fields are {','.join(COLUMNS)}",
            )
    return {c: _cell(row.get(c)) for c in COLUMNS}


def _write(path: Path, header: Sequence[str], records: list[dict[str, str]]) -> None:
    """Write ``records`` sorted (event day, id) through a temp file and ``os.replace``."""

    def key(r: dict[str, str]) -> tuple[str, str]:
        return (r["date"] or r["window_start"], r["id"])

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for r in sorted(records, key=key):
                w.writerow([r[c] for c in header])
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def add_events(
    path: str | os.PathLike[str] | None, rows: Sequence[Mapping[str, Any]]
) -> pd.DataFrame:
    """Add ``rows`` to the catalog file: all or nothing (see :func:`add_event`).

    Returns the added rows, typed. The file is rewritten with every column, in order.
    """
    p = Path(DEFAULT_CATALOG if path is None else path)
    raw = _read_raw(p)
    _check(raw)  # the file as it is: errors name its own lines
    new: list[tuple[Location, dict[str, str]]] = []
    for i, r in enumerate(rows):
        rid = str(r.get("id", ""))
        label = f"new row {i + 1} (id {rid!r})" if len(rows) > 1 else f"new row (id {rid!r})"
        new.append((label, _record(r, raw.origin, label)))
    both = _Raw(raw.origin, list(COLUMNS), raw.header_line, raw.rows + new)
    typed = _check(both)
    _write(p, COLUMNS, [rec for _, rec in both.rows])
    return typed.iloc[len(raw.rows) :].reset_index(drop=True)


def add_event(path: str | os.PathLike[str] | None, row: Mapping[str, Any]) -> None:
    """Add one event to the catalog file at ``path`` (the bundled one when None).

    ``row`` maps column names to values (str; bool for ``scheduled``; dates as
    YYYY-MM-DD, ``date`` or Timestamp; lists allowed for ``tags``/``tickers``). The new
    row is validated with the whole file; the file is then rewritten sorted through a
    temp file in the same folder and ``os.replace``. On any error the file is untouched.
    """
    add_events(path, [row])


# ---------------------------------------------------------------- earnings from yfinance


def fetch_earnings_dates(ticker: str, *, limit: int = 12) -> pd.DataFrame:
    """Report dates from yfinance (the network seam: tests replace this function).

    Returns yfinance's frame: index "Earnings Date" (tz-aware), columns "EPS Estimate",
    "Reported EPS", "Surprise(%)". Raises :class:`OfflineError` when Yahoo cannot be reached.
    """
    try:
        import yfinance as yf
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError(
            "yfinance is not installed: pip install yfinance, or add rows with `evbt events add`"
        ) from None
    try:
        frame = yf.Ticker(ticker).get_earnings_dates(limit=limit)
    except Exception as e:  # any failure to reach or read Yahoo
        detail = (str(e).splitlines() or [""])[0][:160]
        raise OfflineError(
            f"yfinance: could not fetch earnings dates for {ticker} ({type(e).__name__}: {detail}): "
            "check the network connection, or add the rows with `evbt events add`"
        ) from None
    if frame is None or len(frame) == 0:
        raise InputError(
            f"yfinance: no earnings dates for {ticker}: check the ticker symbol, or add the rows with `evbt events add`"
        )
    return frame


def _time_label(ts: pd.Timestamp) -> str:
    minutes = ts.hour * 60 + ts.minute
    if minutes == 0:
        return "unknown"  # Yahoo's placeholder time
    if minutes < 9 * 60 + 30:
        return "pre_market"
    if minutes >= 16 * 60:
        return "after_close"
    return "intraday"


def _report_times(frame: pd.DataFrame) -> list[pd.Timestamp]:
    col = "Earnings Date" in frame.columns
    values = list(frame["Earnings Date"]) if col else list(frame.index)
    out = []
    for v in values:
        ts = pd.Timestamp(v)
        if pd.isna(ts):
            continue
        out.append(ts.tz_convert(NY) if ts.tzinfo is not None else ts.tz_localize(NY))
    return out


@dataclass(frozen=True)
class RefreshResult:
    """What :func:`refresh_earnings` did: ids added, and dates skipped as already present."""

    added: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (date fetched, id of the catalog row that has it)


def earnings_rows(
    catalog: pd.DataFrame, ticker: str, frame: pd.DataFrame, *, fetched: dt.date
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Rows for the report dates in ``frame`` (yfinance's format) not in ``catalog`` (typed).

    A date within :data:`NEAR_REPORT_DAYS` of a confirmed earnings row of the same ticker
    is the same report and is skipped. A date inside the window of an open expected
    earnings row of the ticker supersedes it and takes its fiscal period.
    """
    tk = ticker.strip().upper()
    cat = catalog
    has_tk = cat["tickers"].map(lambda s: tk in str(s).split(";"))
    mine = cat[has_tk & (cat["kind"] == "earnings")]
    confirmed = mine[mine["status"] == "confirmed"]
    resolved = set(cat.loc[cat["supersedes"] != "", "supersedes"])
    expected = mine[(mine["status"] == "expected") & ~mine["id"].isin(resolved)]
    org = str(mine["org"].mode().iloc[0]) if len(mine) else tk
    tags = str(mine["tags"].mode().iloc[0]) if len(mine) else ""
    taken = set(cat["id"])
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    days: dict[pd.Timestamp, pd.Timestamp] = {}
    for ts in _report_times(frame):
        days.setdefault(pd.Timestamp(ts.date()), ts)
    for day, ts in sorted(days.items()):
        near = confirmed[(confirmed["date"] - day).abs() <= pd.Timedelta(days=NEAR_REPORT_DAYS)]
        if len(near):
            skipped.append((f"{day:%Y-%m-%d}", str(near["id"].iloc[0])))
            continue
        if any(
            abs(pd.Timestamp(r["date"]) - day) <= pd.Timedelta(days=NEAR_REPORT_DAYS) for r in rows
        ):
            continue
        inside = expected[(expected["window_start"] <= day) & (expected["window_end"] >= day)]
        supersedes, fiscal = "", ""
        rid = f"{tk.lower()}-earnings-{day:%Y-%m-%d}"
        if len(inside):
            supersedes = str(inside["id"].iloc[0])
            fiscal = str(inside["fiscal_period"].iloc[0])
            expected = expected[expected["id"] != supersedes]
            base = supersedes.removesuffix("-expected")
            if base != supersedes and base not in taken:
                rid = base
        taken.add(rid)
        rows.append(
            {
                "id": rid,
                "name": f"{org} {fiscal} results" if fiscal else f"{org} earnings report",
                "org": org,
                "kind": "earnings",
                "tags": tags,
                "date": f"{day:%Y-%m-%d}",
                "time": _time_label(ts),
                "tz": "America/New_York",
                "tickers": tk,
                "scheduled": True,
                "status": "confirmed",
                "fiscal_period": fiscal,
                "source": f"yfinance get_earnings_dates {fetched:%Y-%m-%d}",
                "confidence": "single",
                "supersedes": supersedes,
            }
        )
    return rows, skipped


def refresh_earnings(
    path: str | os.PathLike[str] | None,
    ticker: str,
    *,
    limit: int = 12,
    today: dt.date | None = None,
) -> RefreshResult:
    """Fetch ``ticker``'s report dates (through :func:`fetch_earnings_dates`) and add new ones.

    All-or-nothing like :func:`add_event`; nothing is fetched if the file is invalid.
    """
    tk = ticker.strip().upper()
    if not _TICKER.match(tk):
        raise InputError(f"ticker: bad symbol {ticker!r}: pass a ticker such as NVDA")
    cat = validate_catalog(DEFAULT_CATALOG if path is None else path)
    frame = fetch_earnings_dates(tk, limit=limit)
    fetched = today or dt.date.today()
    rows, skipped = earnings_rows(cat, tk, frame, fetched=fetched)
    if rows:
        add_events(path, rows)
    return RefreshResult(tuple(r["id"] for r in rows), tuple(skipped))
