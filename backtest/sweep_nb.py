"""Numba sweep kernel: many parameter combinations of one event strategy, metrics only.

Entry point: :func:`sweep_nb`. Combinations run in parallel (``prange``) and each is a
complete backtest with the semantics of :func:`evbt.backtest.nb.simulate_nb` (contract C1:
real bars, signal statuses, shared-cash batches, ruin); the pieces that fill, size, stop and
close trades are the same jitted functions from :mod:`evbt.backtest.nb`, so the arithmetic is
the same operation for operation. What differs is the bookkeeping:

- No sessions x combinations array exists. Each combination derives its signal sessions
  here from the events' calendar positions (precomputed once per sweep by the pandas layer,
  per value of ``entry_offset``) and its own offsets: entry ``= reaction + entry_offset``,
  exit ``= entry + hold`` (or ``= next earnings anchor + exit_offset``), then the signal
  layer's overlap rule (``overlap = "skip"``: a window starting at or before the end of the
  last kept window of its ticker is dropped) and the placement on the price index
  (``signals.rules.to_arrays``).
- The session loop visits only sessions where a position is open or an entry fills (as
  ``simulate_shared_nb`` does), for both portfolio modes. Equity is constant in between,
  so the skipped sessions are daily returns of exactly zero: they enter the metrics as a
  count (``n_obs = n_sessions - 1``) and never as work.
- Metrics are kept as running sums per scope (the total, and each ticker in per-ticker
  mode): return moments, downside squares, first/last equity, running peak and maximum
  drawdown, sessions held, trade counts and P&L sums. :func:`evbt.backtest.sweep` turns
  them into the metrics of :func:`evbt.backtest.metrics.compute_metrics`.
- For the overfitting statistics (contract C2) the total scope also sums its daily
  returns by time block (``tb``) and its closed trades' returns by event block (``eb``).
- For event-level significance each combination sums its trades' P&L per catalog event
  (``b_event``: base signal -> event index) in a scratch array of the number of events,
  and keeps the count, sum and sum of squares of the per-event P&Ls of the events it
  traded (``ev_*``), and the number of non-zero daily returns (``n_nonzero``, ``|r| >
  NZ_TOL``). Trades
  still open at the end count with their valuation at the last real bar.

Memory is a few arrays of the number of signals per combination (per thread), plus the
outputs, whose size is the chunk's.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from evbt.backtest.enums import CashMode, ExitReason, PriceMode, SimParams, trade_dt
from evbt.backtest.jit import JIT_OPTIONS, inline_jit, jit
from evbt.backtest.nb import (
    _compact_active_nb,
    _mark_exit_nb,
    _write_entry_nb,
    _write_exit_nb,
    enter_shared_nb,
    entry_status_nb,
    entry_units_nb,
    exit_fill_bar_nb,
    order_nb,
    stop_exits_nb,
    stop_levels_nb,
    time_exits_nb,
)

__all__ = ["ACC_FIELDS", "N_ACC", "derive_signals_nb", "sweep_combo_nb", "sweep_nb"]

#: Running sums per (combination, scope); index names of the last axis of ``acc``.
ACC_FIELDS = (
    "sum",  # sum of daily returns
    "sumsq",
    "sum3",
    "sum4",
    "maxabs",  # max |r|
    "negsq",  # sum of min(r, 0) ** 2
    "e0",  # equity at the first session
    "elast",  # equity at the last live session
    "peak",
    "mdd",  # min(E / peak - 1)
    "held",  # sessions with a position at the close
    "n_trades",  # trades taken, open ones included
    "n_closed",
    "n_win",  # closed trades with pnl > 0
    "gross_win",
    "gross_loss",  # sum of -pnl over closed trades with pnl < 0
    "ret_sum",  # sum of closed trades' ret
    "n_loss",
    "n_signals",  # signals in the signal table (after the signal layer's rules)
    "prev",  # scratch: equity at the last visited session
    "in_total",  # per-ticker mode: the ticker has signals, so its account is in the total
    "ruin",  # session at which the scope's equity first reached <= 0 (-1: never)
    "n_nonzero",  # daily returns with |r| > NZ_TOL (sessions where equity moved)
    "ev_n",  # events with at least one trade (in a ticker scope: that ticker's trades)
    "ev_sum",  # sum over those events of the event's P&L (sum of its trades' pnl)
    "ev_sumsq",  # sum of squared event P&Ls
)
N_ACC = len(ACC_FIELDS)
A_SUM, A_SUMSQ, A_SUM3, A_SUM4, A_MAXABS, A_NEGSQ, A_E0, A_ELAST, A_PEAK, A_MDD = range(10)
A_HELD, A_TRADES, A_CLOSED, A_WIN, A_GWIN, A_GLOSS, A_RETSUM, A_LOSS, A_SIGNALS = range(10, 19)
A_PREV, A_INTOTAL, A_RUIN = 19, 20, 21
A_NZ, A_EVN, A_EVSUM, A_EVSQ = 22, 23, 24, 25
#: A daily return of at most this size is rounding (a fill at the close with no cost leaves
#: equity equal up to 1 ulp), not a move: ``n_nonzero`` counts returns with ``|r| > NZ_TOL``.
NZ_TOL = 1e-12
#: ``next_x`` of a combination without an open position: later than any session.
NO_EXIT = 1 << 62


@jit
def derive_signals_nb(j, hold, exit_offset, base, sig_t, sig_e, sig_x, sig_s, n_sig_table):
    """One combination's signals: ``(n_placed)``; placed ones go to ``sig_*`` in entry order.

    ``j`` is the combination's ``entry_offset`` index into the ``[J, B]`` tables of base
    signals of ``base`` (:class:`~evbt.backtest.enums.SweepBase`). Mirrors
    ``signals.rules.build_signals`` (exit, calendar bound, overlap "skip" or, with
    ``merge``, "merge": a signal entering while its ticker's window is open extends that
    window's exit) and ``to_arrays`` (placement: an entry on a price bar, an exit after
    it). ``n_sig_table[t]`` counts ticker ``t``'s signal-table rows.
    """
    b_ticker, ent_cal, ent_mkt, pre_skip = base.ticker, base.ent_cal, base.ent_mkt, base.pre_skip
    anchor_cal, cal2mkt, n_cal = base.anchor_cal, base.cal2mkt, base.n_cal
    anchor_mode, merge = base.anchor_mode, base.merge
    m = n_sig_table.shape[0]
    last_x = np.full(m, -1, dtype=np.int64)
    slot = np.full(m, -1, dtype=np.int64)  # the open window's placed signal, or -1
    nk = 0
    for s in range(b_ticker.shape[0]):
        if pre_skip[j, s]:
            continue
        t = b_ticker[s]
        ecal = ent_cal[j, s]
        if anchor_mode:
            xcal = anchor_cal[j, s] + exit_offset
            if xcal <= ecal:
                continue
        else:
            xcal = ecal + hold
        if xcal >= n_cal:
            continue
        if ecal <= last_x[t]:
            if merge and xcal > last_x[t]:
                last_x[t] = xcal
                if slot[t] >= 0:
                    sig_x[slot[t]] = cal2mkt[xcal]
            continue
        last_x[t] = xcal
        n_sig_table[t] += 1
        e = ent_mkt[j, s]
        slot[t] = -1
        if e < 0:
            continue
        slot[t] = nk
        sig_t[nk] = t
        sig_e[nk] = e
        sig_x[nk] = cal2mkt[xcal]
        sig_s[nk] = s
        nk += 1
    # placement needs an exit after the entry bar (known only once windows are merged)
    kept = 0
    for k in range(nk):
        if sig_x[k] > sig_e[k]:
            sig_t[kept] = sig_t[k]
            sig_e[kept] = sig_e[k]
            sig_x[kept] = sig_x[k]
            sig_s[kept] = sig_s[k]
            kept += 1
    return kept


@inline_jit
def _event_pnl_nb(trades, k, t, ev, acc, per_ticker, ev_pnl, ev_cnt):
    """Add trade ``k``'s pnl to its event ``ev`` (and, per ticker, to its ticker's events:
    one trade per event and ticker, so the trade's pnl is that event's pnl there)."""
    pnl = trades[k]["pnl"]
    ev_pnl[ev] += pnl
    ev_cnt[ev] += 1
    if per_ticker:
        a = acc[1 + t]
        a[A_EVN] += 1.0
        a[A_EVSUM] += pnl
        a[A_EVSQ] += pnl * pnl


@inline_jit
def _close_stats_nb(trades, k, t, blk, acc, eb, per_ticker, ev, ev_pnl, ev_cnt):
    """Count closed trade ``k`` (ticker ``t``) in the total, its ticker, its event block and
    its event ``ev``."""
    _event_pnl_nb(trades, k, t, ev, acc, per_ticker, ev_pnl, ev_cnt)
    pnl = trades[k]["pnl"]
    ret = trades[k]["ret"]
    scopes = 2 if per_ticker else 1
    for q in range(scopes):
        a = acc[0] if q == 0 else acc[1 + t]
        a[A_CLOSED] += 1.0
        if pnl > 0.0:
            a[A_WIN] += 1.0
            a[A_GWIN] += pnl
        elif pnl < 0.0:
            a[A_LOSS] += 1.0
            a[A_GLOSS] -= pnl
        a[A_RETSUM] += ret
    eb[blk, 0] += ret
    eb[blk, 1] += 1.0


@inline_jit
def _count_closed_nb(
    closed, n_closed, i, slot, sig_s, cash, ruined_at, per_ticker, trades, b_eblk, b_event, acc,
    eb, ev_pnl, ev_cnt,
):  # fmt: skip
    """Count the trades of tickers ``closed[:n_closed]``, closed at session ``i`` by
    :func:`~evbt.backtest.nb.time_exits_nb` or :func:`~evbt.backtest.nb.stop_exits_nb`
    (:func:`_close_stats_nb`); per ticker, an exit that leaves the account's cash <= 0
    ruins it (nothing is left to close)."""
    for q in range(n_closed):
        t = closed[q]
        k = slot[t]
        if per_ticker and not (cash[t] > 0.0):
            ruined_at[t] = i
        s = sig_s[k]
        _close_stats_nb(trades, k, t, b_eblk[s], acc, eb, per_ticker, b_event[s], ev_pnl, ev_cnt)


@inline_jit
def _observe_nb(acc, q, i, e, blk, tb):
    """Equity ``e`` of scope ``q`` (a row of ``acc``) at visited session ``i``: update its running sums.

    Written without data-dependent branches where the result allows it (daily returns
    change sign at random): adding ``0.0`` to a sum that is never ``-0.0`` leaves its bits
    as they were, so ``negsq += r2 if r < 0 else 0.0`` is the sum of the negative days'
    squares exactly. The drawdown is divided at every session and kept by selection, not
    by branches (a new peak or a new drawdown comes at random, and a mispredicted branch
    costs more than the division, which runs beside the other sums): at or above the
    running peak the peak moves and ``mdd`` stays (the drawdown there, ``e / e - 1 ==
    0.0``, cannot lower it); below it ``mdd`` takes ``e / peak - 1`` when lower.
    """
    if not (acc[q, A_RUIN] >= 0.0):  # a ruined scope's sums stay as they were
        if i == 0:
            acc[q, A_E0] = e
            acc[q, A_PEAK] = e
        else:
            r = e / acc[q, A_PREV] - 1.0
            r2 = r * r
            acc[q, A_SUM] += r
            acc[q, A_SUMSQ] += r2
            acc[q, A_SUM3] += r2 * r
            acc[q, A_SUM4] += r2 * r2
            ar = abs(r)
            mx = acc[q, A_MAXABS]
            acc[q, A_MAXABS] = ar if ar > mx else mx
            acc[q, A_NEGSQ] += r2 if r < 0.0 else 0.0
            acc[q, A_NZ] += 1.0 if ar > NZ_TOL else 0.0
            if blk >= 0:
                tb[blk, 0] += r
                tb[blk, 1] += r2
        peak = acc[q, A_PEAK]
        mdd = acc[q, A_MDD]
        dd = e / peak - 1.0
        up = e >= peak
        lower = dd < mdd and not up
        acc[q, A_PEAK] = e if up else peak
        acc[q, A_MDD] = dd if lower else mdd
        acc[q, A_PREV] = e
        acc[q, A_ELAST] = e
        if not (e > 0.0):
            acc[q, A_RUIN] = i


@inline_jit
def _next_exit_nb(active, n_active, slot, sig_x) -> int:
    """The least time-exit signal session of the open positions (``NO_EXIT``: none)."""
    x = NO_EXIT
    for a in range(n_active):
        x = min(x, sig_x[slot[active[a]]])
    return x


@jit
def sweep_combo_nb(
    open_, high, low, close, real, sig_t, sig_e, sig_x, sig_s, sig_w, direction, base, params,
    ret_blk, acc, tb, eb, ev_pnl, ev_cnt, trades, taken, status, sig_ev, sig_dir, cand, want,
):  # fmt: skip
    """Simulate one combination's placed signals ``sig_*`` and fill ``acc``, ``tb``, ``eb``.

    ``sig_s[k]`` is placed signal ``k``'s base signal in ``base``
    (:class:`~evbt.backtest.enums.SweepBase`); ``ev_pnl`` and ``ev_cnt`` (one entry per
    event) are scratch and come zeroed.

    ``sig_w[k]`` is signal ``k``'s weight: ``[strategy] weight`` times its ``weight_by``
    scale, as ``build_signals`` writes it. The ``sig_*`` arrays hold exactly the placed
    signals (the shared entry phase reads the signal count from their length).

    ``acc`` is ``[1 + n_tickers, N_ACC]`` (scope 0 the total) with ``A_INTOTAL`` and
    ``A_SIGNALS`` already set; ``tb`` ``[S, 2]`` and ``eb`` ``[W, 2]`` come zeroed.

    ``trades`` (``trade_dt``), ``taken``, ``status``, ``sig_ev``, ``sig_dir``, ``cand`` and
    ``want`` are scratch of at least ``max(n_signals, 1)`` elements, in any state: the
    calling thread's, reused for every combination it runs (set here where they must
    start set).
    """
    n, m = close.shape
    nk = sig_e.shape[0]
    last_real, b_eblk, b_event = base.last_real, base.eblk, base.event
    lag = params.price_mode
    shared = params.mode == CashMode.SHARED
    per_ticker = not shared
    init = params.init_cash

    # scope set-up: base equity, peak, previous value
    base_total = init
    has_total = True
    # per ticker, eqv[t] is the equity at the last visited session of ticker t's account
    # when it is in the total, else 0.0: the total is their sum in ticker order (adding
    # 0.0 to a sum that is never -0.0 leaves its bits as they were)
    eqv = np.zeros(m)
    if per_ticker:
        base_total = 0.0
        for t in range(m):
            if acc[1 + t, A_INTOTAL] > 0.0:
                base_total += init
                eqv[t] = init
        if base_total == 0.0:
            base_total = init  # no account has a signal: a flat curve
            has_total = False
    for q in range(1 + m):
        e0 = base_total if q == 0 else init
        acc[q, A_E0] = e0
        acc[q, A_ELAST] = e0
        acc[q, A_PEAK] = e0
        acc[q, A_PREV] = e0
        acc[q, A_RUIN] = -1.0

    n1 = max(nk, 1)
    trades, cand, want = trades[:n1], cand[:n1], want[:n1]
    taken, status, sig_ev, sig_dir = taken[:n1], status[:n1], sig_ev[:n1], sig_dir[:n1]
    for q in range(n1):
        taken[q] = False
        status[q] = -1
        sig_ev[q] = 0
        sig_dir[q] = direction

    # the account that pays for ticker t is acct[t]: its own, or the one shared account
    cash = np.full(1 if shared else m, init)
    acct = np.zeros(m, dtype=np.int64) if shared else np.arange(m)
    units = np.zeros(m)
    dirs = np.zeros(m, dtype=np.int64)
    pos = np.zeros(m)  # dirs * units of the open positions, set at their entry
    sl_lv = np.zeros(m)  # the open positions' stop levels (stop_levels_nb)
    tp_lv = np.zeros(m)
    eidx = np.zeros(m, dtype=np.int64)
    slot = np.full(m, -1, dtype=np.int64)
    runs_open = np.zeros(m, dtype=np.bool_)
    busy = np.full(m, -1, dtype=np.int64)
    ruined_at = np.full(m, n, dtype=np.int64)
    active = np.empty(m, dtype=np.int64)
    touched = np.zeros(m, dtype=np.bool_)
    closed = np.empty(m, dtype=np.int64)
    n_active = 0
    k = 0
    i = 0
    # fast paths: a session without a due time exit, or a combination without stops, skips
    # the exit helpers' calls (each passes a dozen arrays; once per session they cost)
    has_stops = not (np.isnan(params.sl_stop) and np.isnan(params.tp_stop))
    # no open position has a time-exit signal before next_x (the least over the open ones,
    # or lower: a close can leave it low, which only costs a time_exits_nb that closes
    # nothing); it replaces a scan of the open positions every session
    next_x = NO_EXIT
    while i < n:
        if n_active == 0:
            if k >= nk or sig_e[k] + lag >= n:
                break
            if sig_e[k] + lag > i:
                i = sig_e[k] + lag
        for a in range(n_active):
            touched[active[a]] = True

        if lag == PriceMode.NEXT_OPEN:
            n_closed = 0
            if next_x <= i - 1:
                n_closed = time_exits_nb(
                    i - 1, i, open_[i], active, n_active, runs_open, slot, sig_x, dirs, units,
                    cash, acct, params, trades, closed,
                )  # fmt: skip
            if n_closed > 0:
                _count_closed_nb(
                    closed, n_closed, i, slot, sig_s, cash, ruined_at, per_ticker, trades,
                    b_eblk, b_event, acc, eb, ev_pnl, ev_cnt,
                )  # fmt: skip
                n_active = _compact_active_nb(active, n_active, units)
                next_x = _next_exit_nb(active, n_active, slot, sig_x)
            if shared:
                if k < nk and sig_e[k] + lag <= i:  # else it would return at once
                    before = n_active
                    k, n_active, n_new = enter_shared_nb(
                        k, i, open_[i], real, last_real, cash, active, n_active, units, dirs,
                        sl_lv, tp_lv, eidx, busy, slot, runs_open, sig_t, sig_ev, sig_e, sig_x,
                        sig_dir, sig_w, params, trades, taken, status, cand, want,
                    )  # fmt: skip
                    for a in range(before, n_active):
                        t = active[a]
                        touched[t] = True
                        pos[t] = dirs[t] * units[t]
                        next_x = min(next_x, sig_x[slot[t]])
                    acc[0, A_TRADES] += n_new
            else:
                k1 = k
                while k1 < nk and sig_e[k1] + 1 <= i:
                    k1 += 1
                if k1 > k:
                    before = n_active
                    n_active = _enter_pt_nb(
                        k, k1, i, open_[i], real, last_real, cash, acct, active, n_active, units,
                        dirs, sl_lv, tp_lv, eidx, busy, slot, runs_open, ruined_at, touched, sig_t,
                        sig_e, sig_x, direction, sig_w, params, trades, acc,
                    )  # fmt: skip
                    for a in range(before, n_active):
                        t = active[a]
                        pos[t] = dirs[t] * units[t]
                        next_x = min(next_x, sig_x[slot[t]])
                    k = k1

        n_closed = 0
        if has_stops:
            n_closed = stop_exits_nb(
                i, open_, high, low, close, real, active, n_active, dirs, units, sl_lv, tp_lv,
                eidx, slot, busy, cash, acct, params, trades, closed,
            )  # fmt: skip
        if n_closed > 0:
            _count_closed_nb(
                closed, n_closed, i, slot, sig_s, cash, ruined_at, per_ticker, trades, b_eblk,
                b_event, acc, eb, ev_pnl, ev_cnt,
            )  # fmt: skip
            n_active = _compact_active_nb(active, n_active, units)
            next_x = _next_exit_nb(active, n_active, slot, sig_x)

        if lag == PriceMode.CLOSE or i == n - 1:
            exit_signal = i if lag == PriceMode.CLOSE else n - 1
            n_closed = 0
            if next_x <= exit_signal:
                n_closed = time_exits_nb(
                    exit_signal, i, close[i], active, n_active, runs_open, slot, sig_x, dirs,
                    units, cash, acct, params, trades, closed,
                )  # fmt: skip
            if n_closed > 0:
                _count_closed_nb(
                    closed, n_closed, i, slot, sig_s, cash, ruined_at, per_ticker, trades,
                    b_eblk, b_event, acc, eb, ev_pnl, ev_cnt,
                )  # fmt: skip
                n_active = _compact_active_nb(active, n_active, units)
                next_x = _next_exit_nb(active, n_active, slot, sig_x)
        if lag == PriceMode.CLOSE:
            if shared:
                if k < nk and sig_e[k] + lag <= i:  # else it would return at once
                    before = n_active
                    k, n_active, n_new = enter_shared_nb(
                        k, i, close[i], real, last_real, cash, active, n_active, units, dirs,
                        sl_lv, tp_lv, eidx, busy, slot, runs_open, sig_t, sig_ev, sig_e, sig_x,
                        sig_dir, sig_w, params, trades, taken, status, cand, want,
                    )  # fmt: skip
                    for a in range(before, n_active):
                        t = active[a]
                        touched[t] = True
                        pos[t] = dirs[t] * units[t]
                        next_x = min(next_x, sig_x[slot[t]])
                    acc[0, A_TRADES] += n_new
            else:
                k1 = k
                while k1 < nk and sig_e[k1] <= i:
                    k1 += 1
                if k1 > k:
                    before = n_active
                    n_active = _enter_pt_nb(
                        k, k1, i, close[i], real, last_real, cash, acct, active, n_active, units,
                        dirs, sl_lv, tp_lv, eidx, busy, slot, runs_open, ruined_at, touched, sig_t,
                        sig_e, sig_x, direction, sig_w, params, trades, acc,
                    )  # fmt: skip
                    for a in range(before, n_active):
                        t = active[a]
                        pos[t] = dirs[t] * units[t]
                        next_x = min(next_x, sig_x[slot[t]])
                    k = k1

        # marking at the close
        if shared:
            value = cash[0]
            for a in range(n_active):
                t = active[a]
                value += pos[t] * close[i, t]
            if n_active > 0:
                acc[0, A_HELD] += 1.0
            if not (value > 0.0):
                for a in range(n_active):
                    t = active[a]
                    cash[0] = _mark_exit_nb(
                        trades, slot[t], cash[0], dirs[t], units[t], close[i, t], i,
                        ExitReason.RUINED,
                    )  # fmt: skip
                    units[t] = 0.0
                    _close_stats_nb(
                        trades, slot[t], t, b_eblk[sig_s[slot[t]]], acc, eb, False,
                        b_event[sig_s[slot[t]]], ev_pnl, ev_cnt,
                    )  # fmt: skip
                n_active = 0
                value = cash[0]
                _observe_nb(acc, 0, i, value, ret_blk[i], tb)
                k = nk  # ruined: nothing more is entered
                break
            _observe_nb(acc, 0, i, value, ret_blk[i], tb)
        else:
            any_held = False
            any_ruined = False
            for t in range(m):
                if not touched[t]:
                    continue
                touched[t] = False
                if units[t] != 0.0:
                    any_held = True
                    acc[1 + t, A_HELD] += 1.0
                    e = cash[t] + pos[t] * close[i, t]
                    if not (e > 0.0):
                        cash[t] = _mark_exit_nb(
                            trades, slot[t], cash[t], dirs[t], units[t], close[i, t], i,
                            ExitReason.RUINED,
                        )  # fmt: skip
                        units[t] = 0.0
                        ruined_at[t] = i
                        any_ruined = True
                        _close_stats_nb(
                            trades, slot[t], t, b_eblk[sig_s[slot[t]]], acc, eb, True,
                            b_event[sig_s[slot[t]]], ev_pnl, ev_cnt,
                        )  # fmt: skip
                        e = cash[t]
                else:
                    e = cash[t]
                    if not (e > 0.0) and ruined_at[t] > i:
                        ruined_at[t] = i
                _observe_nb(acc, 1 + t, i, e, -1, tb)
                if acc[1 + t, A_INTOTAL] > 0.0:
                    eqv[t] = acc[1 + t, A_PREV]
            if any_ruined:
                n_active = _compact_active_nb(active, n_active, units)
            if any_held:
                acc[0, A_HELD] += 1.0
            total = 0.0
            for t in range(m):  # in ticker order, as the sum always was
                total += eqv[t]
            if has_total:
                _observe_nb(acc, 0, i, total, ret_blk[i], tb)
        i += 1

    # positions still open at the end are valued at their ticker's last real bar
    for a in range(n_active):
        t = active[a]
        j = last_real[t]
        _write_exit_nb(trades, slot[t], j, close[j, t], 0.0, ExitReason.OPEN)
        _event_pnl_nb(trades, slot[t], t, b_event[sig_s[slot[t]]], acc, per_ticker, ev_pnl, ev_cnt)

    # per-event P&L of the total scope: the events with at least one trade
    a0 = acc[0]
    for e in range(ev_cnt.shape[0]):
        if ev_cnt[e] > 0:
            x = ev_pnl[e]
            a0[A_EVN] += 1.0
            a0[A_EVSUM] += x
            a0[A_EVSQ] += x * x


@inline_jit
def _enter_pt_nb(
    k0, k1, i, prices, real, last_real, cash, acct, active, n_active, units, dirs, sl_lv, tp_lv,
    eidx, busy, slot, runs_open, ruined_at, touched, sig_t, sig_e, sig_x, direction, sig_w,
    params, trades, acc,
):  # fmt: skip
    """Per-ticker entries of the signals ``k0 .. k1 - 1`` whose entry fills at session ``i``
    (as ``simulate_1d_nb``); returns ``n_active``. One call per session with entries, the
    loop over the signals inside: an inlined call binds each array argument (a reference
    count taken and dropped, an atomic operation), two dozen of them per call."""
    n = real.shape[0]
    lag = params.price_mode
    for kk in range(k0, k1):
        if sig_e[kk] + lag != i:
            continue
        t = sig_t[kk]
        same = kk > 0 and sig_e[kk - 1] == sig_e[kk] and sig_t[kk - 1] == t
        xb = exit_fill_bar_nb(sig_x[kk], n, lag)
        price = prices[t]
        code = entry_status_nb(
            sig_e[kk], same, busy[t], ruined_at[t], i, n, real[i, t], xb, last_real[t],
            real[min(xb, n - 1), t], price,
        )  # fmt: skip
        if code >= 0:
            continue  # refused (the sweep keeps no statuses)
        ro = xb > last_real[t]
        c = acct[t]
        u, capped = entry_units_nb(direction, price, sig_w[kk], cash[c], cash[c], params)
        if u == 0.0:
            continue  # NO_CASH
        cash[c], fill_price, fees = order_nb(cash[c], direction, u, price, params)
        _write_entry_nb(trades, kk, t, 0, direction, i, fill_price, u, fees, capped)
        units[t] = u
        dirs[t] = direction
        sl_lv[t], tp_lv[t] = stop_levels_nb(direction, price, params)
        eidx[t] = i
        busy[t] = sig_x[kk]
        slot[t] = kk
        runs_open[t] = ro
        active[n_active] = t
        touched[t] = True
        acc[0, A_TRADES] += 1.0
        acc[1 + t, A_TRADES] += 1.0
        n_active += 1
    return n_active


@njit(parallel=True, **JIT_OPTIONS)
def sweep_nb(open_, high, low, close, real, base, combos, params, ret_blk, acc, tb, eb, n_threads):
    """Run every combination ``c`` of ``combos`` and write ``acc[c]``, ``tb[c]``, ``eb[c]``.

    ``base`` (:class:`~evbt.backtest.enums.SweepBase`) and ``combos``
    (:class:`~evbt.backtest.enums.Combos`: ``eo`` indexes the ``[J, B]`` tables' rows,
    ``sl``/``tp`` NaN mean no stop) come from the pandas layer. ``params``
    (:class:`SimParams`) holds the settings no combination changes (size type, size, initial
    cash, portfolio mode, gross cap); each combination's fees, slippage, stops, price and
    stop-on replace its other fields. A signal's weight is ``base.weight * base.scale[j, s]``
    (base signal ``s`` at entry offset ``j``). ``acc``, ``tb`` and ``eb`` must come zeroed.
    Combinations run in parallel in ``n_threads`` contiguous slices (Numba's thread count:
    the caller passes it, since reading it here would keep the kernel out of the cache);
    each slice allocates its scratch arrays (the size of the signal list and of the number
    of events) once.
    """
    n_combo = combos.eo.shape[0]
    m = close.shape[1]
    n_base = base.ticker.shape[0]
    n_events = base.n_events
    # One iteration per thread, each running a contiguous slice of the combinations (the
    # slices prange's static schedule would give; run_chunk_arrays interleaves the grid for
    # them) with scratch allocated once per thread, not once per combination: an array of
    # 128 KiB or more (a combination's trades, 120 bytes per signal) is a fresh mmap each
    # time where malloc's threshold is fixed, as in a Dask worker (MALLOC_TRIM_THRESHOLD_),
    # which made S2's tasks 15-30% slower there (2026-12-05).
    n_th = max(1, min(n_threads, n_combo))
    per, extra = n_combo // n_th, n_combo % n_th
    nb1 = max(n_base, 1)
    for th in prange(n_th):
        lo = th * per + min(th, extra)
        hi = lo + per + (1 if th < extra else 0)
        sig_t = np.empty(n_base, dtype=np.int64)
        sig_e = np.empty(n_base, dtype=np.int64)
        sig_x = np.empty(n_base, dtype=np.int64)
        sig_s = np.empty(n_base, dtype=np.int64)
        sig_w = np.empty(nb1)
        n_tab = np.zeros(m, dtype=np.int64)
        ev_pnl = np.zeros(max(n_events, 1))
        ev_cnt = np.zeros(max(n_events, 1), dtype=np.int64)
        trades = np.empty(nb1, dtype=trade_dt)
        taken = np.empty(nb1, dtype=np.bool_)
        status = np.empty(nb1, dtype=np.int8)
        sig_ev = np.empty(nb1, dtype=np.int64)
        sig_dir = np.empty(nb1, dtype=np.int64)
        cand = np.empty(nb1, dtype=np.int64)
        want = np.empty(nb1)
        for c in range(lo, hi):
            p = SimParams(
                fees=combos.fees[c], slippage=combos.slip[c], sl_stop=combos.sl[c],
                tp_stop=combos.tp[c], price_mode=combos.price[c], stop_on=combos.stop_on[c],
                size_type=params.size_type, size=params.size, init_cash=params.init_cash,
                mode=params.mode, max_gross=params.max_gross,
            )  # fmt: skip
            j = combos.eo[c]
            n_tab[:] = 0
            ev_pnl[:] = 0.0
            ev_cnt[:] = 0
            nk = derive_signals_nb(
                j, combos.hold[c], combos.xoff[c], base, sig_t, sig_e, sig_x, sig_s, n_tab
            )
            for q in range(nk):
                sig_w[q] = base.weight * base.scale[j, sig_s[q]]
            a = acc[c]
            for t in range(m):
                a[1 + t, A_SIGNALS] = n_tab[t]
                a[0, A_SIGNALS] += n_tab[t]
                a[1 + t, A_INTOTAL] = 1.0 if n_tab[t] > 0 else 0.0
            sweep_combo_nb(
                open_, high, low, close, real, sig_t[:nk], sig_e[:nk], sig_x[:nk], sig_s[:nk],
                sig_w[:nk], combos.direction[c], base, p, ret_blk, a, tb[c], eb[c], ev_pnl,
                ev_cnt, trades, taken, status, sig_ev, sig_dir, cand, want,
            )  # fmt: skip
