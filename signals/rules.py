"""Events -> reaction sessions -> a point-in-time signal table and the kernel's arrays.

Knowledge-time discipline:

* ``asof``: only catalog rows knowable at that date are used (``data.catalog.as_of``), for
  selection *and* for every look-up (next earnings, interaction rules), so that signals
  as of D never change when something known after D changes. Signals never read prices.
* Lookahead guard: an unscheduled event (a surprise launch) cannot be entered before its
  reaction session; a scheduled event (earnings) can, but never before its date was known
  (``known_at``). A violation is an error unless ``allow_lookahead = true``, and every
  signal made under that flag is marked ``lookahead = True``.
* Overlap: per ticker, a window that starts at or before the end of a kept window is
  skipped and reported (default), or merged into it (``overlap = "merge"``).
* Interaction: ``skip_if_earnings_within = N`` drops a non-earnings signal when the ticker's
  own earnings reaction session (known at the time) lies within N sessions of the event's.
* Weights: ``select.weight_by`` scales ``weight`` point in time (the normaliser runs over the
  events known at each entry: :func:`evbt.signals.base.point_in_time_scale`).

The rules that do not depend on the hold live once, in :mod:`evbt.signals.base`, which the
sweep reads too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evbt.errors import InputError
from evbt.signals.base import (
    SKIP_CODES,
    all_sessions,
    base_signals,
    check_lookahead,
    earnings_positions,
)
from evbt.signals.select import select_events, tickers_of
from evbt.strategies.presets import REPORTER, StrategyParams

SIGNAL_COLUMNS = [
    "event_id",
    "ticker",
    "reaction_session",
    "entry_session",
    "exit_session",
    "direction",
    "weight",
    "scheduled",
    "status",
    "lookahead",
]
SKIP_COLUMNS = ["event_id", "ticker", "code", "reason"]
__all__ = [
    "SIGNAL_COLUMNS",
    "SKIP_COLUMNS",
    "SignalArrays",
    "SignalSet",
    "all_sessions",
    "build_signals",
    "earnings_positions",
    "no_signal_error",
    "study_rows",
    "to_arrays",
]
#: skip codes: outside_calendar, earnings_nearby, no_next_earnings, anchor_before_entry,
#: overlap, merged, no_prices, outside_data; and the kernel's (backtest.enums.STATUS_NAMES):
#: no_cash, gross_cap, no_bar_entry, no_bar_exit, ruined, bad_price


@dataclass(frozen=True)
class SignalSet:
    """A signal table plus what was skipped and under which knowledge rules."""

    table: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIP_COLUMNS))
    allow_lookahead: bool = False
    asof: pd.Timestamp | None = None

    @property
    def n_lookahead(self) -> int:
        return int(self.table["lookahead"].sum()) if len(self.table) else 0


def build_signals(
    catalog: pd.DataFrame,
    params: StrategyParams,
    *,
    asof: str | pd.Timestamp | None = None,
    apply_overlap: bool = True,
) -> SignalSet:
    """Turn catalog events into the signal table of ``params`` (see the module docstring).

    The rules that do not depend on the hold (entry, lookahead, ``skip_if_earnings_within``,
    the next-earnings anchor, the ``weight_by`` scale) come from
    :func:`evbt.signals.base.base_signals`, which the sweep reads too; here the exit and the
    overlap rule are added for this one combination. ``apply_overlap=False`` leaves the
    overlap rule out (every candidate window, as ``evbt alerts`` shows expected events)."""
    from evbt.data.catalog import as_of as catalog_as_of  # the catalog layer owns "as of"

    params.check()
    cutoff = pd.Timestamp(asof) if asof is not None else None
    known = catalog_as_of(catalog, cutoff) if cutoff is not None else catalog
    base = base_signals(known, params, universe=catalog)
    check_lookahead(base, params)
    sessions = base.sessions
    n_cal = len(sessions)
    direction = 1 if params.direction == "long" else -1
    anchored = params.exit_anchor == "next_earnings"
    ev = base.events
    ev_react = [pd.Timestamp(v) for v in ev["reaction_session"]]
    ev_sched = [bool(v) for v in ev["scheduled"]]
    ev_status = [str(v) for v in ev["status"]]

    rows: list[dict] = []
    skipped: list[tuple[str, str, str, str]] = []
    for b in range(base.n_pairs):
        eid, t, e = str(base.event_id[b]), str(base.ticker[b]), int(base.event[b])
        code = int(base.skip[0, b])
        if code:
            name, reason = SKIP_CODES[code]
            skipped.append(
                (eid, t, name, reason.format(ticker=t, n=params.skip_if_earnings_within))
            )
            continue
        epos = int(base.ent_cal[0, b])
        if anchored:
            xpos = int(base.anchor_cal[0, b]) + params.exit_offset
            if xpos <= epos:
                skipped.append(
                    (
                        eid,
                        t,
                        "anchor_before_entry",
                        "next earnings anchor falls at or before the entry",
                    )
                )
                continue
        else:
            xpos = epos + params.hold
        if xpos >= n_cal:
            skipped.append((eid, t, "outside_calendar", "exit outside the NYSE calendar"))
            continue
        rows.append(
            {
                "event_id": eid,
                "ticker": t,
                "reaction_session": ev_react[e],
                "entry_session": sessions[epos],
                "exit_session": sessions[xpos],
                "direction": direction,
                "weight": float(params.weight) * float(base.weight[0, b]),
                "scheduled": ev_sched[e],
                "status": ev_status[e],
                "lookahead": bool(base.lookahead[0, b]),
            }
        )
    table = pd.DataFrame(rows, columns=SIGNAL_COLUMNS)
    if apply_overlap:
        table, overlap_skips = _apply_overlap(table, params.overlap)
        skipped.extend(overlap_skips)
    table = table.astype(
        {"direction": "int64", "weight": "float64", "scheduled": bool, "lookahead": bool}
    )
    for c in ("reaction_session", "entry_session", "exit_session"):
        table[c] = pd.to_datetime(table[c]).astype("datetime64[ns]")
    return SignalSet(
        table=table,
        skipped=pd.DataFrame(skipped, columns=SKIP_COLUMNS),
        allow_lookahead=params.allow_lookahead,
        asof=cutoff,
    )


_EMPTY_FIXES = {
    "outside_calendar": "their dates or windows fall outside the NYSE calendar: check the "
    "event dates, entry_offset and hold",
    "no_next_earnings": "no next earnings report was known at entry: add it to the catalog, "
    'or use a fixed hold instead of exit_anchor = "next_earnings"',
    "anchor_before_entry": "the next earnings anchor falls at or before the entry: raise "
    "exit_offset or lower entry_offset",
    "earnings_nearby": "every signal is near an earnings report: lower or drop "
    "skip_if_earnings_within",
}


def no_signal_error(signals: SignalSet, where: str) -> InputError:
    """The one-line error for a signal set without a signal, saying what happened.

    When ``select`` matched nothing it says so; when it matched events that all were dropped
    (outside the calendar, no next earnings, ...) it names the counts per reason and the fix.
    """
    sk = signals.skipped
    if sk.empty:
        return InputError(
            f"{where}: [strategy] select matches no event in the catalog: "
            "check kind/org/tags (evbt events list shows what is there)"
        )
    counts = sk["code"].value_counts()
    why = ", ".join(f"{code}: {int(n)}" for code, n in counts.items())
    top = str(counts.index[0])
    fix = _EMPTY_FIXES.get(top, "check the [strategy] table")
    return InputError(
        f"{where}: [strategy] select matches {sk['event_id'].nunique()} event(s) but none "
        f"gives a signal ({len(sk)} skipped: {why}): {fix}"
    )


def _apply_overlap(
    table: pd.DataFrame, policy: str
) -> tuple[pd.DataFrame, list[tuple[str, str, str, str]]]:
    if table.empty:
        return table, []
    table = table.sort_values(["entry_session", "ticker", "event_id"], kind="stable").reset_index(
        drop=True
    )
    keep: list[int] = []
    skipped: list[tuple[str, str, str, str]] = []
    last: dict[str, int] = {}
    # plain lists, read and updated in step with the table (a merge writes both)
    tickers = table["ticker"].tolist()
    entry = table["entry_session"].tolist()
    exit_ = table["exit_session"].tolist()
    event = table["event_id"].tolist()
    for i, t in enumerate(tickers):
        j = last.get(t)
        if j is not None and entry[i] <= exit_[j]:
            if policy == "merge":
                exit_[j] = max(exit_[j], exit_[i])
                event[j] = f"{event[j]}+{event[i]}"
                table.at[j, "exit_session"] = exit_[j]
                table.at[j, "event_id"] = event[j]
                skipped.append((event[i], t, "merged", f"merged into {event[j]}"))
            else:
                skipped.append((event[i], t, "overlap", f"overlaps {event[j]} on {t}"))
            continue
        keep.append(i)
        last[t] = i
    return table.loc[keep].reset_index(drop=True), skipped


@dataclass(frozen=True)
class SignalArrays:
    """The plain arrays the Numba core takes (see backtest.nb.simulate_nb)."""

    ticker: np.ndarray
    event: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    direction: np.ndarray
    weight: np.ndarray
    event_ids: tuple[str, ...]
    rows: np.ndarray  # row of the signal table each array entry came from


def to_arrays(
    table: pd.DataFrame,
    index: pd.DatetimeIndex,
    tickers: list[str],
    *,
    bars: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[SignalArrays, pd.DataFrame]:
    """Map a signal table onto a price matrix's sessions and columns.

    Returns the arrays (sorted by entry, ticker) and the rows that could not be placed
    (entry session not in the price data, or ticker without prices), with a reason.
    An exit past the last price session is kept: the position stays open at the end.
    ``bars`` gives, per ticker, the positions of its first and last real bar: an entry
    outside them (where the matrix holds only filled values) is dropped as outside_data.
    """
    n = len(index)
    col = {t: i for i, t in enumerate(tickers)}
    ent = index.get_indexer(pd.DatetimeIndex(table["entry_session"]))
    ext = index.searchsorted(pd.DatetimeIndex(table["exit_session"]), side="left")
    # an exit session missing from the data (beyond the end) runs past the last session
    beyond = pd.DatetimeIndex(table["exit_session"]) > index[-1] if n else np.ones(len(table), bool)
    ext = np.where(beyond, n, ext)
    tk = np.array([col.get(t, -1) for t in table["ticker"]], dtype=np.int64)
    ok = (ent >= 0) & (tk >= 0) & (ext > ent)
    if bars is not None:
        first, last = bars
        safe = np.where(tk >= 0, tk, 0)
        ok &= (ent >= first[safe]) & (ent <= last[safe])
    codes = np.where(tk < 0, "no_prices", "outside_data")
    reasons = np.where(tk < 0, "no prices for ticker", "entry session outside the price data")
    bad = pd.DataFrame(
        {
            "event_id": table["event_id"].to_numpy()[~ok],
            "ticker": table["ticker"].to_numpy()[~ok],
            "code": codes[~ok],
            "reason": reasons[~ok],
        },
        columns=SKIP_COLUMNS,
    )
    rows = np.flatnonzero(ok)
    order = np.lexsort((tk[rows], ent[rows]))
    rows = rows[order]
    ids = tuple(dict.fromkeys(table["event_id"].to_numpy()[rows].tolist()))
    id_pos = {e: i for i, e in enumerate(ids)}
    arrays = SignalArrays(
        ticker=tk[rows].astype(np.int64),
        event=np.array([id_pos[e] for e in table["event_id"].to_numpy()[rows]], dtype=np.int64),
        entry=ent[rows].astype(np.int64),
        exit=ext[rows].astype(np.int64),
        direction=table["direction"].to_numpy()[rows].astype(np.int64),
        weight=table["weight"].to_numpy()[rows].astype(np.float64),
        event_ids=ids,
        rows=rows.astype(np.int64),
    )
    return arrays, bad


STUDY_COLUMNS = ["event_id", "ticker", "reaction_session", "kind", "org", "tags"]


def study_rows(catalog: pd.DataFrame, params: StrategyParams) -> pd.DataFrame:
    """The (event, ticker) rows an event study of ``params`` studies: every event ``select``
    picks, on ``tickers`` (``"reporter"``: the event's own tickers), with its reaction session
    as day 0. Entry offset and hold play no part."""
    chosen = select_events(catalog, params)
    rows = []
    for _, ev in chosen.iterrows():
        own = tickers_of(ev)
        for t in params.resolved_tickers():
            for tt in own if t == REPORTER else [t]:
                rows.append(
                    {
                        "event_id": ev["id"],
                        "ticker": tt,
                        "reaction_session": ev["reaction_session"],
                        "kind": ev["kind"],
                        "org": ev["org"],
                        "tags": ev["tags"],
                    }
                )
    return pd.DataFrame(rows, columns=STUDY_COLUMNS)
