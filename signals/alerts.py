"""The alert view: what each strategy would hold, enter or exit soon, as of a date.

Uses only what the catalog knew at ``asof`` (``build_signals(..., asof=...)``) and shows
expected events (with their window) beside confirmed ones, so a trader sees e.g. as of
2026-02-10 both NVIDIA's 2026-02-25 report and the expected DeepSeek V4 window.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from evbt.data.calendar import nyse
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


def alerts(
    catalog: pd.DataFrame,
    strategies: list[StrategyParams],
    asof: str | pd.Timestamp,
    *,
    horizon: int = 20,
) -> pd.DataFrame:
    """One row per position a strategy holds at ``asof`` or enters/exits within ``horizon``
    sessions after it. ``action``: enter, hold (already in), exit (in, and exits soon), or
    watch: an *expected* event whose window overlaps the horizon; nothing is held for it
    yet; its entry/exit sessions are those it would have if it came on the window's first day."""
    day = pd.Timestamp(asof).normalize()
    cal = nyse()
    start = cal.date_to_session(day, direction="next")
    if start == day:
        start = cal.next_session(day)
    limit = cal.session_offset(start, horizon - 1)
    windows = catalog.set_index("id")[["window_start", "window_end"]]
    out = []
    for params in strategies:
        sel = dataclasses.replace(params.select, status=("confirmed", "expected"))
        sig = build_signals(catalog, params.replace(select=sel), asof=day).table
        for _, r in sig.iterrows():
            entry, exit_ = r["entry_session"], r["exit_session"]
            w0, w1 = (
                windows.loc[r["event_id"]] if r["event_id"] in windows.index else (pd.NaT, pd.NaT)
            )
            if r["status"] == "expected":
                if pd.isna(w1) or w1 < day or w0 > limit:
                    continue
                action = "watch"
            elif exit_ <= day:
                continue
            elif entry <= day:
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
    return df.sort_values(["entry_session", "strategy", "ticker"], kind="stable").reset_index(
        drop=True
    )
