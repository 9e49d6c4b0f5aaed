"""The signal layer's rules, computed once: base signals per (event, ticker) pair and entry
offset, which :func:`evbt.signals.rules.build_signals` and the sweep
(:func:`evbt.backtest.sweep.sweep_events`, :func:`~evbt.backtest.sweep.prepare_inputs`)
both read (zipline's "indexer once": one index, every consumer).

For each selected event, each of its target tickers (``[strategy] tickers``; ``"reporter"``
expands to the event's own tickers) and each ``entry_offset`` value ``j``:

* ``ent_cal[j, b]``: the entry's position on the NYSE calendar (reaction + entry offset);
* ``anchor_cal[j, b]``: with ``exit_anchor = "next_earnings"``, the calendar position of the
  ticker's next earnings reaction session after the entry whose date was known at the entry;
* ``skip[j, b]``: why the pair gives no signal before the hold or exit offset is known
  (:data:`SKIP_CODES`: no reaction session, entry outside the calendar,
  ``skip_if_earnings_within``, no next earnings report known at entry), 0 when it does;
* ``weight[j, b]``: the ``select.weight_by`` scale, point in time (:func:`point_in_time_scale`);
  1.0 without ``weight_by``;
* ``lookahead[j, b]``: the entry is before the event could be known (a scheduled event before
  its ``known_at``; an unscheduled one before its reaction session). :func:`check_lookahead`
  refuses it unless ``allow_lookahead = true``.

What depends on the hold or exit offset (the exit, the overlap rule) stays with each consumer:
``build_signals`` for one combination, the sweep kernel for many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evbt.data.calendar import table
from evbt.data.catalog_schema import split_list
from evbt.errors import InputError
from evbt.signals.select import select_events, tickers_of
from evbt.strategies.presets import REPORTER, StrategyParams

#: ``skip`` codes of :class:`BaseSignals` -> (signal-table skip code, reason).
SKIP_NONE, SKIP_NO_REACTION, SKIP_ENTRY_OUTSIDE, SKIP_EARNINGS_NEARBY, SKIP_NO_NEXT = range(5)
SKIP_CODES: dict[int, tuple[str, str]] = {
    SKIP_NO_REACTION: ("outside_calendar", "no reaction session (outside the NYSE calendar)"),
    SKIP_ENTRY_OUTSIDE: ("outside_calendar", "entry outside the NYSE calendar"),
    SKIP_EARNINGS_NEARBY: ("earnings_nearby", "{ticker} reports earnings within {n} sessions"),
    SKIP_NO_NEXT: ("no_next_earnings", "no next earnings report known at entry"),
}


def all_sessions() -> pd.DatetimeIndex:
    """Every NYSE session of the calendar (tz-naive), the positions the base arrays use:
    the cached session table (no exchange-calendars import, about 0.4 s, on a warm run)."""
    return pd.DatetimeIndex(table().sessions)


def earnings_positions(
    known: pd.DataFrame, ticker: str, sessions: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray]:
    """Reaction-session positions and known_at dates of ``ticker``'s earnings rows."""
    rows = known[(known["kind"] == "earnings") & known["reaction_session"].notna()]
    rows = rows[[ticker in split_list(v) for v in rows["tickers"]]]  # as tickers_of, per row
    pos = sessions.get_indexer(pd.DatetimeIndex(rows["reaction_session"]))
    order = np.argsort(pos, kind="stable")
    return pos[order], pd.DatetimeIndex(rows["known_at"]).to_numpy()[order]


def point_in_time_scale(
    values: np.ndarray,
    at: np.ndarray,
    pool_values: np.ndarray,
    pool_known_at: np.ndarray,
    *,
    invert: bool = False,
) -> np.ndarray:
    """The ``weight_by`` scale of signals with attribute ``values`` entered on days ``at``.

    An expanding normaliser: the scale of a signal entered on day D is ``value / max`` (or
    ``min / value`` with ``invert``) over its own event and every pool event (the selected,
    *confirmed* events, ``pool_values`` / ``pool_known_at``) known on or before D. So an event
    known later never changes an earlier trade's weight, and a backtest, a sweep and
    ``evbt alerts`` (which sees the catalog as known on its day) give a trade one weight.
    Expected rows never set the normaliser (their attributes are not facts yet).

    ``values`` and ``at`` (``datetime64[ns]``) have one shape; the result has it too, in
    (0, 1]: the largest value known so far (the smallest with ``invert``) gets 1.
    """
    x = np.asarray(values, dtype=np.float64)
    when = np.asarray(at).astype("datetime64[ns]")
    k = np.asarray(pool_known_at).astype("datetime64[ns]")
    order = np.argsort(k, kind="stable")
    k, v = k[order], np.asarray(pool_values, dtype=np.float64)[order]
    if len(v):
        run = np.minimum.accumulate(v) if invert else np.maximum.accumulate(v)
        idx = np.searchsorted(k, when, side="right") - 1
        norm = np.where(idx >= 0, run[np.maximum(idx, 0)], x)
    else:
        norm = x.copy()
    norm = np.fmin(norm, x) if invert else np.fmax(norm, x)
    return norm / x if invert else x / norm


@dataclass(frozen=True)
class BaseSignals:
    """The base signal arrays of one strategy on one catalog (see the module docstring).

    Pairs ``b`` are (event, target ticker) in selection order (the catalog's row order, then
    the order of ``[strategy] tickers``); ``j`` indexes ``eo_values``.
    """

    sessions: pd.DatetimeIndex
    eo_values: tuple[int, ...]
    events: pd.DataFrame  # the selected catalog rows (``weight_value`` with weight_by)
    event: np.ndarray  # (B,) int64: row of ``events``
    event_id: np.ndarray  # (B,) str
    ticker: np.ndarray  # (B,) str
    rpos: np.ndarray  # (B,) int64: reaction session's calendar position, -1 without
    ent_cal: np.ndarray  # (J, B) int64: entry's calendar position, -1 outside
    anchor_cal: np.ndarray  # (J, B) int64: next-earnings anchor's position, -1 without
    skip: np.ndarray  # (J, B) uint8: SKIP_* code, 0 = a signal (given hold/exit)
    weight: np.ndarray  # (J, B) float64: the weight_by scale (1.0 without)
    lookahead: np.ndarray  # (J, B) bool
    early: np.ndarray  # (J, E) bool: per selected event, entered before it could be known

    @property
    def n_pairs(self) -> int:
        return len(self.event_id)

    def sweep_order(self, columns: dict[str, int]) -> np.ndarray:
        """The pairs with a reaction session in the sweep kernel's order: reaction session,
        ticker column (``columns``: ticker -> column of the price matrix), event id."""
        frame = pd.DataFrame(
            {
                "pair": np.arange(self.n_pairs),
                "event_id": self.event_id,
                "col": [columns.get(t) for t in self.ticker],
                "rpos": self.rpos,
            }
        )
        frame = frame[frame["rpos"] >= 0]
        frame = frame.sort_values(["rpos", "col", "event_id"], kind="stable")
        return frame["pair"].to_numpy(dtype=np.int64)


def base_signals(
    known: pd.DataFrame,
    params: StrategyParams,
    eo_values: Sequence[int] | None = None,
    *,
    universe: pd.DataFrame | None = None,
) -> BaseSignals:
    """Select ``params``' events from ``known`` (the catalog as known at the time) and
    compute the base arrays for every value of ``eo_values`` (default: the strategy's own
    ``entry_offset``). Earnings look-ups (``skip_if_earnings_within``, the next-earnings
    anchor) read ``known`` too; ``universe`` is the whole catalog when ``known`` is a view of
    it as known on a day (``select.ids`` are checked against it). Raises nothing for
    lookahead: see :func:`check_lookahead`."""
    eos = tuple(int(e) for e in (eo_values if eo_values is not None else (params.entry_offset,)))
    events = select_events(known, params, universe=universe)
    sessions = all_sessions()
    n_cal = len(sessions)
    sess64 = sessions.to_numpy()
    tickers = params.resolved_tickers()
    n_ev = len(events)

    # per event: reaction position, known_at, scheduled, kind
    react = pd.DatetimeIndex(events["reaction_session"])
    ev_rpos = np.where(react.isna(), -1, sessions.get_indexer(react)).astype(np.int64)
    known_at = pd.DatetimeIndex(events["known_at"])
    known_at = known_at.where(known_at.notna(), react)  # unknown: the reaction session
    ev_known = known_at.to_numpy().astype("datetime64[ns]")
    ev_sched = events["scheduled"].astype(bool).to_numpy()
    ev_earn = (events["kind"] == "earnings").to_numpy()

    # pairs
    p_event: list[int] = []
    p_ticker: list[str] = []
    for e, (_, ev) in enumerate(events.iterrows()):
        for t in tickers:
            for tt in tickers_of(ev) if t == REPORTER else [t]:
                p_event.append(e)
                p_ticker.append(tt)
    event = np.array(p_event, dtype=np.int64)
    n_b, n_j = len(event), len(eos)
    rpos = ev_rpos[event] if n_b else np.zeros(0, dtype=np.int64)

    # entries and the lookahead flag, per event
    early = np.zeros((n_j, n_ev), dtype=bool)
    ev_ent = np.full((n_j, n_ev), -1, dtype=np.int64)
    for j, eo in enumerate(eos):
        epos = ev_rpos + eo
        inside = (ev_rpos >= 0) & (epos >= 0) & (epos < n_cal)
        ev_ent[j] = np.where(inside, epos, -1)
        entry64 = sess64[np.where(inside, epos, 0)]
        early[j] = inside & np.where(ev_sched, entry64 < ev_known, epos < ev_rpos)

    ent_cal = ev_ent[:, event] if n_b else np.zeros((n_j, 0), dtype=np.int64)
    skip = np.zeros((n_j, n_b), dtype=np.uint8)
    skip[:, rpos < 0] = SKIP_NO_REACTION
    skip[(ent_cal < 0) & (rpos >= 0)[None, :]] = SKIP_ENTRY_OUTSIDE
    anchor_cal = np.full((n_j, n_b), -1, dtype=np.int64)
    lookahead = early[:, event] if n_b else np.zeros((n_j, 0), dtype=bool)

    earn_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    earn_rows: list[pd.DataFrame] = []  # the catalog's earnings rows, filtered once

    def earnings(t: str) -> tuple[np.ndarray, np.ndarray]:
        if t not in earn_cache:
            if not earn_rows:
                earn_rows.append(known[known["kind"] == "earnings"])
            earn_cache[t] = earnings_positions(earn_rows[0], t, sessions)
        return earn_cache[t]

    within = params.skip_if_earnings_within
    anchored = params.exit_anchor == "next_earnings"
    if within is not None or anchored:
        for j in range(n_j):
            for b in range(n_b):
                if skip[j, b]:
                    continue
                pos = int(ent_cal[j, b])
                entry64 = sess64[pos]
                if within is not None and not ev_earn[event[b]]:
                    epos_t, eknown = earnings(p_ticker[b])
                    near = (np.abs(epos_t - rpos[b]) <= within) & (eknown <= entry64)
                    if near.any():
                        skip[j, b] = SKIP_EARNINGS_NEARBY
                        continue
                if anchored:
                    epos_t, eknown = earnings(p_ticker[b])
                    nxt = np.flatnonzero((epos_t > pos) & (eknown <= entry64))
                    if nxt.size == 0:
                        skip[j, b] = SKIP_NO_NEXT
                        continue
                    anchor_cal[j, b] = int(epos_t[nxt[0]])

    weight = np.ones((n_j, n_b), dtype=np.float64)
    if params.select.weight_by and n_b:
        val = events["weight_value"].to_numpy(dtype=np.float64)
        pool = (events["status"] == "confirmed").to_numpy()
        # the entry day; a pair without one (no signal) is scaled as of its reaction session
        day = np.where(ent_cal >= 0, ent_cal, np.clip(rpos, 0, n_cal - 1)[None, :])
        weight = point_in_time_scale(
            np.broadcast_to(val[event], (n_j, n_b)),
            sess64[day],
            val[pool],
            ev_known[pool],
            invert=params.select.weight_invert,
        )
    ids = events["id"].astype(str).to_numpy()
    return BaseSignals(
        sessions=sessions,
        eo_values=eos,
        events=events,
        event=event,
        event_id=ids[event] if n_b else np.zeros(0, dtype=object),
        ticker=np.array(p_ticker, dtype=object),
        rpos=rpos.astype(np.int64),
        ent_cal=ent_cal.astype(np.int64),
        anchor_cal=anchor_cal,
        skip=skip,
        weight=np.ascontiguousarray(weight, dtype=np.float64),
        lookahead=lookahead,
        early=early,
    )


def check_lookahead(
    base: BaseSignals,
    params: StrategyParams,
    *,
    field: str = "[strategy] entry_offset",
    fix: str = "use a later entry_offset",
    recorded: str = "it is recorded in every output",
    where: str = "",
) -> bool:
    """The lookahead guard: raise :class:`InputError` for the first event (per entry offset,
    in selection order) entered before it could be known, unless ``allow_lookahead``.
    Returns whether any entry looks ahead (allowed and recorded)."""
    if not base.early.any():
        return False
    if params.allow_lookahead:
        return True
    j, e = (int(v[0]) for v in np.nonzero(base.early))
    ev = base.events.iloc[e]
    eo = base.eo_values[j]
    react = pd.Timestamp(ev["reaction_session"])
    entry = base.sessions[int(base.sessions.get_indexer([react])[0]) + eo]
    known_at = pd.Timestamp(ev["known_at"]) if pd.notna(ev["known_at"]) else react
    what = (
        f"before its date was known ({known_at:%Y-%m-%d})"
        if bool(ev["scheduled"])
        else f"before its reaction session {react:%Y-%m-%d} (a surprise cannot be traded early)"
    )
    prefix = f"{where}: " if where else ""
    raise InputError(
        f"{prefix}{field} = {eo}: event {ev['id']} would be entered on {entry:%Y-%m-%d}, "
        f"{what}: {fix}, or set allow_lookahead = true for a deliberate study ({recorded})"
    )
