"""Catalog files: read (CSV -> rows with line numbers), validate, load, and add rows atomically.

The bundled catalog (:data:`DEFAULT_CATALOG`) ships with the package; a user catalog
(:func:`user_catalog_path`) overlays it (see :func:`load_catalog`).

Reading and checking need no pandas: :func:`load_rows` gives the checked rows as plain
dicts (``evbt events list`` prints them), and :func:`load_catalog` builds its table from the
same rows.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evbt.data.catalog_schema import (
    COLUMNS,
    COMPUTED,
    DEFAULT_CATALOG,
    Location,
    _check,
    _check_header,
    _check_rows,
    _err,
    _fill,
    _frame,
    _hint,
    _Raw,
    _with_computed,
)
from evbt.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


def _cell(value: Any) -> str:
    """A typed cell (Timestamp, bool, list, NaN) back to its CSV text."""
    import numpy as np
    import pandas as pd

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


# ---------------------------------------------------------------- public: load and validate


def _raw(source: pd.DataFrame | str | os.PathLike[str] | None) -> _Raw:
    """The catalog's cells: the overlay (None), a file, or a table."""
    if source is None:
        return _overlay_raw()
    if not isinstance(source, str | os.PathLike):
        import pandas as pd  # only a table needs it

        if isinstance(source, pd.DataFrame):
            return _raw_from_frame(source)
    return _read_raw(source)


def validate_catalog(
    df_or_path: pd.DataFrame | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Check a catalog file (or table) and return it typed, without computed columns.

    Dates are datetime64 (NaT when empty), ``scheduled`` is bool, text columns are str
    ("" when empty), tags and tickers are ``;``-joined. Raises :class:`InputError` with one
    line naming the file, line (header = 1; for a table: row position + 2), column and fix.
    """
    return _check(_raw(df_or_path))


def load_rows(path: str | os.PathLike[str] | pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """The validated catalog as plain rows, with ``reaction_session`` and ``known_at``: one
    dict per row (keys :data:`COLUMNS` then the computed columns; dates ``datetime.date``
    or None), in :func:`load_catalog`'s order. Reads and checks without pandas."""
    return _with_computed(_check_rows(_raw(path)))


def load_catalog(path: str | os.PathLike[str] | pd.DataFrame | None = None) -> pd.DataFrame:
    """The validated catalog with ``reaction_session`` and ``known_at``.

    ``path`` None: the bundled catalog overlaid by the user catalog
    (:func:`user_catalog_path`) when that file exists; a file or table: that alone.
    The table of :func:`load_rows`.
    """
    raw = _raw(path)
    return _frame(_with_computed(_check_rows(raw)), raw.origin, (*COLUMNS, *COMPUTED))


# ---------------------------------------------------------------- the user catalog


def user_catalog_path() -> Path:
    """The user's own catalog: ``$EVBT_CATALOG``, else ``catalog.csv`` in the platform's
    user data folder (``platformdirs.user_data_dir("evbt")``, e.g.
    ``~/.local/share/evbt/catalog.csv``). It need not exist."""
    env = os.environ.get("EVBT_CATALOG")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("evbt")) / "catalog.csv"


def _overlay_raw() -> _Raw:
    """The bundled rows, then the user's (a user row replaces a bundled row of the same id).

    The user file is checked on its own first (errors name its lines); rows of the
    combination are labelled ``line N of FILE``."""
    bundled = _read_raw(DEFAULT_CATALOG)
    user = user_catalog_path()
    if not user.is_file():
        if user.exists():
            raise InputError(
                f"{user}: the user catalog is not a file: remove it or set EVBT_CATALOG"
            )
        return bundled
    mine = _read_raw(user)
    _check_rows(mine)
    ids = {rec["id"] for _, rec in mine.rows}

    def at(raw: _Raw, where: Location) -> Location:
        return f"line {where} of {raw.origin}" if isinstance(where, int) else where

    rows = [(at(bundled, w), r) for w, r in bundled.rows if r["id"] not in ids]
    rows += [(at(mine, w), r) for w, r in mine.rows]
    return _Raw("catalog (bundled + user)", list(COLUMNS), 1, rows)


def catalog_sources() -> list[tuple[str, Path, int]]:
    """What ``load_catalog()`` reads: ``[("bundled", path, rows), ("user", path, rows)]``
    (the user entry only when its file exists)."""
    out = [("bundled", DEFAULT_CATALOG, len(_read_raw(DEFAULT_CATALOG).rows))]
    user = user_catalog_path()
    if user.is_file():
        out.append(("user", user, len(_read_raw(user).rows)))
    return out


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
    from evbt.fsutil import atomic_writer

    def key(r: dict[str, str]) -> tuple[str, str]:
        return (r["date"] or r["window_start"], r["id"])

    with atomic_writer(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in sorted(records, key=key):
            w.writerow([r[c] for c in header])


def add_events(
    path: str | os.PathLike[str] | None, rows: Sequence[Mapping[str, Any]]
) -> pd.DataFrame:
    """Add ``rows`` to the catalog file: all or nothing (see :func:`add_event`).

    Returns the added rows, typed. The file is rewritten with every column, in order.
    """
    user = path is None
    p = user_catalog_path() if user else Path(path)  # type: ignore[arg-type]
    # the user file is created on the first add
    raw = _Raw(str(p), list(COLUMNS), 1) if user and not p.exists() else _read_raw(p)
    _check_rows(raw)  # the file as it is: errors name its own lines
    new: list[tuple[Location, dict[str, str]]] = []
    for i, r in enumerate(rows):
        rid = str(r.get("id", ""))
        label = f"new row {i + 1} (id {rid!r})" if len(rows) > 1 else f"new row (id {rid!r})"
        new.append((label, _record(r, raw.origin, label)))
    both = _Raw(raw.origin, list(COLUMNS), raw.header_line, raw.rows + new)
    typed = _check(both)
    if user:  # the overlay must hold together with the bundled rows (supersedes, ids)
        bundled = _read_raw(DEFAULT_CATALOG)
        ids = {rec["id"] for _, rec in both.rows}
        keep = [(w, r) for w, r in bundled.rows if r["id"] not in ids]
        _check_rows(_Raw(raw.origin, list(COLUMNS), 1, keep + both.rows))
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(
                f"{p.parent}: cannot create the user catalog folder ({e.strerror}): "
                "set EVBT_CATALOG to a writable file, or pass --catalog"
            ) from None
    _write(p, COLUMNS, [rec for _, rec in both.rows])
    return typed.iloc[len(raw.rows) :].reset_index(drop=True)


def add_event(path: str | os.PathLike[str] | None, row: Mapping[str, Any]) -> None:
    """Add one event to the catalog file at ``path`` (the user catalog when None, created on
    first use; never the bundled file, which an install may overwrite).

    ``row`` maps column names to values (str; bool for ``scheduled``; dates as
    YYYY-MM-DD, ``date`` or Timestamp; lists allowed for ``tags``/``tickers``). The new
    row is validated with the whole file; the file is then rewritten sorted through a
    temp file in the same folder and ``os.replace``. On any error the file is untouched.
    """
    add_events(path, [row])
