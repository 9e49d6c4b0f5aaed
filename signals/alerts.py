"""The alert view: what each strategy would watch, enter, hold or exit soon, as of a date.

Uses only what the catalog knew at ``asof`` (``build_signals(..., asof=...)``) and shows
expected events (with their window) beside confirmed ones, so a trader sees e.g. as of
2026-02-10 both NVIDIA's 2026-02-25 report and the expected DeepSeek V4 window.

The horizon is the one of ``evbt events upcoming``: ``horizon`` sessions starting at the
as-of day itself when it is a session (else the next one). Anything whose entry or exit is
on the as-of session counts as still to come (a cron job runs before the open).

For cron (``evbt alerts --state FILE``): :func:`alert_keys` names each alert by
(strategy, root event, ticker), where the root follows ``supersedes`` back to the first
expected row, so a watch whose window moves (a new expected row superseding the old one)
or resolves (the confirmed row) keeps its key; :func:`diff_alerts` compares two runs;
:func:`read_state` / :func:`write_state` keep the last run in a JSON file (atomic write).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from evbt.errors import InputError
from evbt.signals.rules import build_signals
from evbt.strategies.presets import StrategyParams

ALERT_COLUMNS = [
    "strategy",
    "action",
    "event_id",
    "status",
    "ticker",
    "direction",
    "entry_session",
    "exit_session",
    "reaction_session",
    "window_start",
    "window_end",
    "lookahead",
]
STATE_VERSION = 1


def horizon_sessions(asof: Any, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` sessions from ``asof`` (itself when a session, else the next one)."""
    from evbt.data.catalog import horizon_sessions as h

    return h(asof, horizon)


def alerts(
    catalog: pd.DataFrame,
    strategies: list[StrategyParams],
    asof: str | pd.Timestamp,
    *,
    horizon: int = 20,
) -> pd.DataFrame:
    """One row per position a strategy holds at ``asof`` or enters/exits within the
    ``horizon`` sessions from it. ``action``: enter (entry still to come), hold (already
    in), exit (in, and the exit is in the horizon), or watch: an *expected* event whose
    window overlaps the horizon; nothing is held for it yet; its entry/exit sessions are
    those it would have if it came on the window's first day.

    Positions are the signals ``evbt backtest`` takes with the catalog as known at ``asof``:
    :func:`build_signals` on the confirmed rows, overlap rule included, so an expected
    event's hypothetical window never occupies a ticker and hides a trade. Watches come
    apart, one per expected row the strategy selects whose window overlaps the horizon and
    which the strategy's rules would trade (the overlap rule left out: it only
    decides between confirmed trades)."""
    day = pd.Timestamp(asof).normalize()
    ahead = horizon_sessions(day, horizon)
    if len(ahead) == 0:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    first, limit = ahead[0], ahead[-1]
    windows = catalog.set_index("id")[["window_start", "window_end"]]
    out = []
    for params in strategies:
        for status in ("confirmed", "expected"):
            sel = dataclasses.replace(params.select, status=(status,))
            sig = build_signals(
                catalog, params.replace(select=sel), asof=day, apply_overlap=status == "confirmed"
            ).table
            for _, r in sig.iterrows():
                entry, exit_ = r["entry_session"], r["exit_session"]
                w0, w1 = (
                    windows.loc[r["event_id"]]
                    if r["event_id"] in windows.index
                    else (pd.NaT, pd.NaT)
                )
                if status == "expected":
                    if pd.isna(w1) or w1 < day or w0 > limit:
                        continue
                    action = "watch"
                elif exit_ < first:
                    continue
                elif entry < first:
                    action = "exit" if exit_ <= limit else "hold"
                elif entry <= limit:
                    action = "enter"
                else:
                    continue
                out.append(
                    {
                        "strategy": params.name,
                        "action": action,
                        "event_id": r["event_id"],
                        "status": r["status"],
                        "ticker": r["ticker"],
                        "direction": "long" if r["direction"] > 0 else "short",
                        "entry_session": entry,
                        "exit_session": exit_,
                        "reaction_session": r["reaction_session"],
                        "window_start": w0,
                        "window_end": w1,
                        "lookahead": bool(r["lookahead"]),
                    }
                )
    df = pd.DataFrame(out, columns=ALERT_COLUMNS)
    return df.sort_values(
        ["entry_session", "strategy", "ticker", "event_id"], kind="stable"
    ).reset_index(drop=True)


# ---------------------------------------------------------------- keys, state, changes


def root_ids(catalog: pd.DataFrame) -> dict[str, str]:
    """Each id -> the first row of its ``supersedes`` chain (itself when none)."""
    parent = dict(zip(catalog["id"], catalog["supersedes"], strict=True))
    out: dict[str, str] = {}
    for rid in parent:
        cur, seen = rid, {rid}
        while parent.get(cur) and parent[cur] not in seen:
            cur = parent[cur]
            seen.add(cur)
        out[rid] = cur
    return out


def _day(v: Any) -> str | None:
    return None if pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d}"


def alert_keys(df: pd.DataFrame, catalog: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``{key: what the alert says}``; key = ``strategy|root event|ticker``."""
    roots = root_ids(catalog)
    out: dict[str, dict[str, Any]] = {}
    for _, r in df.iterrows():
        key = f"{r['strategy']}|{roots.get(r['event_id'], r['event_id'])}|{r['ticker']}"
        out[key] = {
            "strategy": r["strategy"],
            "action": r["action"],
            "event_id": r["event_id"],
            "status": r["status"],
            "ticker": r["ticker"],
            "direction": r["direction"],
            "entry_session": _day(r["entry_session"]),
            "exit_session": _day(r["exit_session"]),
            "window_start": _day(r["window_start"]),
            "window_end": _day(r["window_end"]),
        }
    return out


def diff_alerts(
    old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Changes from ``old`` to ``new``: ``change`` is new, changed (with ``before``) or gone."""
    out: list[dict[str, Any]] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            out.append({"change": "new", "key": key, **new[key]})
        elif key not in new:
            out.append({"change": "gone", "key": key, **old[key]})
        elif old[key] != new[key]:
            before = {k: v for k, v in old[key].items() if new[key].get(k) != v}
            out.append({"change": "changed", "key": key, **new[key], "before": before})
    return out


def read_state(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The alerts of the last run ({} when the file does not exist yet)."""
    p = Path(path)
    if not p.exists():
        return {}
    if p.is_dir():
        raise InputError(f"{p}: state file is a folder: pass a file path for --state")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(
            f"{p}: corrupt alerts state file ({type(e).__name__}): delete it to start afresh "
            "(the next run then reports every alert as new)"
        ) from None
    except OSError as e:
        raise InputError(f"{p}: cannot read the alerts state file ({e.strerror})") from None
    items = raw.get("items") if isinstance(raw, dict) else None
    if (
        not isinstance(raw, dict)
        or raw.get("version") != STATE_VERSION
        or not isinstance(items, dict)
    ):
        raise InputError(
            f"{p}: corrupt alerts state file (not an evbt alerts state, version {STATE_VERSION}): "
            "delete it to start afresh"
        )
    for key, item in items.items():
        problem = _state_entry_problem(item)
        if problem:
            raise InputError(
                f"{p}: corrupt alerts state file: entry {key!r} {problem}: delete it to start "
                "afresh (the next run then reports every alert as new)"
            )
    return items


STATE_FIELDS = (
    "strategy",
    "action",
    "event_id",
    "status",
    "ticker",
    "direction",
    "entry_session",
    "exit_session",
    "window_start",
    "window_end",
)


def _state_entry_problem(item: Any) -> str | None:
    """Why a state entry is not one :func:`alert_keys` writes (None when it is)."""
    if not isinstance(item, dict):
        return f"is {type(item).__name__}, not an object"
    missing = [f for f in STATE_FIELDS if f not in item]
    if missing:
        return f"lacks {', '.join(missing)}"
    bad = [f for f in STATE_FIELDS if not (item[f] is None or isinstance(item[f], str))]
    if bad:
        return f"has non-text {', '.join(bad)}"
    if not all(isinstance(item[f], str) for f in STATE_FIELDS[:6]):
        return "has no strategy, action, event_id, status, ticker or direction"
    return None


def write_state(path: str | os.PathLike[str], items: dict[str, dict[str, Any]], asof: Any) -> None:
    """Write the state atomically: a temp file in the same folder, then ``os.replace``."""
    p = Path(path)
    if not p.parent.is_dir():
        raise InputError(
            f"{p}: the folder {p.parent} does not exist: create it or pick another --state"
        )
    blob = json.dumps(
        {"version": STATE_VERSION, "asof": _day(asof), "items": items}, indent=1, sort_keys=True
    )
    from evbt.fsutil import atomic_write

    try:
        atomic_write(p, blob)
    except OSError as e:
        raise InputError(f"{p}: cannot write the alerts state file ({e.strerror})") from None


# ---------------------------------------------------------------- calendar file


def _ics_escape(text: str) -> str:
    """TEXT value escaping of RFC 5545 (3.3.11): backslash, semicolon, comma, newline."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _ics_fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1): CRLF plus one space before each
    continuation, never inside a UTF-8 character."""
    out: list[str] = []
    cur, size, limit = "", 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(cur)
            cur, size, limit = " ", 1, 75
        cur += ch
        size += n
    out.append(cur)
    return "\r\n".join(out)


def to_ics(items: dict[str, dict[str, Any]], *, stamp: Any = None) -> str:
    """An iCalendar file (RFC 5545) with one all-day event per alert: entry to exit for a
    position, the window for a watch. ``DTSTAMP`` is ``stamp`` (default: now), in UTC."""
    now = pd.Timestamp.now(tz="UTC") if stamp is None else pd.Timestamp(stamp)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//evbt//alerts//EN", "CALSCALE:GREGORIAN"]
    for key, it in sorted(items.items()):
        if it["action"] == "watch":
            start, end = it["window_start"], it["window_end"]
        else:
            start, end = it["entry_session"], it["exit_session"]
        if start is None or end is None:
            continue
        end_excl = pd.Timestamp(end) + pd.Timedelta(days=1)
        what = (
            f"{it['strategy']}: watch {it['event_id']} ({it['direction']} {it['ticker']} if it comes)"
            if it["action"] == "watch"
            else f"{it['strategy']}: {it['action']} {it['direction']} {it['ticker']} ({it['event_id']})"
        )
        desc = (
            f"entry session {it['entry_session']}, exit session {it['exit_session']}; "
            f"status {it['status']}"
        )
        uid = hashlib.sha256(key.encode()).hexdigest()[:20]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}@evbt",
            f"DTSTAMP:{now:%Y%m%dT%H%M%SZ}",
            f"DTSTART;VALUE=DATE:{pd.Timestamp(start):%Y%m%d}",
            f"DTEND;VALUE=DATE:{end_excl:%Y%m%d}",
            f"SUMMARY:{_ics_escape(what)}",
            f"DESCRIPTION:{_ics_escape(desc)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_ics_fold(ln) for ln in lines) + "\r\n"
