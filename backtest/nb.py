"""Numba kernels of the event backtest: NumPy arrays, scalars and :class:`SimParams` in, arrays out.

Entry point: :func:`simulate_nb`, a plain function that checks the inputs, allocates the
outputs with NumPy and runs one of two kernels, :func:`simulate_per_ticker_nb` or
:func:`simulate_shared_nb`, by portfolio mode (a run compiles only the one it needs). It
never imports pandas; the pandas face validates and labels. The pieces are small so each can be tested alone:

- :func:`order_nb`: one fill (slippage, fees, cash), the step every entry and exit goes through.
- :func:`entry_units_nb`: how many units a per-ticker entry buys or sells short.
- :func:`stop_exit_nb`: whether a stop-loss / take-profit fires on a bar, and at what price
  (:func:`stop_levels_nb`, once per position, and :func:`stop_hit_nb`, once per bar).
- :func:`exit_fill_bar_nb`: the session a time exit fills in.
- :func:`simulate_1d_nb`: one ticker's account (``CashMode.PER_TICKER``), trade by trade; it
  only visits sessions inside trade windows and fills the flat stretches with cash.
- :func:`simulate_shared_nb`: one account for all tickers (``CashMode.SHARED``), session by
  session, jumping over sessions with nothing open and nothing to enter.

Semantics (contract C1; :mod:`backtest.reference` implements the same in plain Python, and
``backtest.sweep_nb`` mirrors it):

- Inputs are ``[n_sessions, n_tickers]`` price arrays and ``real``, True where the ticker
  has a real bar (a row in the price data). Cells that are not real hold forward-filled
  prices (back-filled before the first bar): they are used to mark equity, never to fill.
  ``last_real[t]`` is ticker ``t``'s last real bar.
- Signal ``k`` on ticker ``t`` enters at session ``e = sig_entry[k]`` and time-exits at
  ``x = sig_exit[k]`` (``x > e``; ``x >= n_sessions`` runs past the data). With
  ``PriceMode.CLOSE`` both fill at the close of ``e`` / ``x``; with ``PriceMode.NEXT_OPEN`` at
  the open of ``b = e + 1`` / ``x + 1``, except that an exit at the last session fills at its
  close. The entry fill bar is ``b = e + lag`` (lag 0 or 1), the exit fill bar ``xb``
  (:func:`exit_fill_bar_nb`; ``n_sessions`` when it lies past the data).
- Each signal gets one status (:data:`SignalStatus`), decided at its entry fill session by
  the first rule that applies, in this order:
  1. ``RUINED``: its account was ruined at a session before ``b``.
  2. ``OVERLAP``: ``e`` is at or before the exit session of the last trade taken on its
     ticker (the time-exit signal session ``x``, or the session a stop fired), or the
     previous signal (in the sorted order) has the same ticker and entry session. So a
     position is never added to, and an entry on the session of an exit is skipped.
  3. ``NO_BAR_ENTRY``: ``b >= n_sessions`` or ``real[b, t]`` is False.
  4. ``NO_BAR_EXIT``: ``xb <= last_real[t]`` and ``real[xb, t]`` is False (a window that
     needs a missing bar inside the ticker's data is not taken).
  5. ``BAD_PRICE``: the fill price is not finite and > 0.
  6. ``NO_CASH`` / ``GROSS_CAP``: sizing (below) leaves no more than dust
     (``units * price <= MIN_ORDER_FRAC * equity``), or the equity to size from is <= 0.
  7. ``TRADED`` otherwise.
- A trade whose exit fill bar lies past its ticker's last real bar (``xb > last_real[t]``,
  including ``x >= n_sessions``) has no time exit: it is reported ``ExitReason.OPEN`` at
  ``last_real[t]``, exit price that close, no exit fee; equity keeps marking it at the
  (forward-filled) close to the end, so the account's value is that close.
- Stops are checked on real bars only, from the bar after the entry fill to
  ``min(x, last session)``, before that session's time exit; the stop-loss is checked before
  the take-profit (vectorbt order). Levels are relative to the entry price before slippage.
- Sizing, no leverage (``size`` of equity and ``weight`` in (0, 1], ``max_gross`` in (0, 1]):
  desired units are ``size * weight * E / ((1 + fees) * fill_price)`` (equity fraction, ``E``
  the account's equity marked at the fill price row) or ``size * weight / price``
  (notional). Per ticker, an entry never costs more than the account's cash (fees
  included), for longs and shorts alike: ``units = min(desired, cash / ((1 + fees) *
  fill_price))``. Shared cash: all entries filling on the same session are sized together
  from one snapshot (cash ``C``, equity ``E`` and gross exposure ``G`` marked at the fill
  price row after that phase's exits; only signals past rules 1-5 count). With
  ``L = sum(desired * (1 + fees) * price * (1 + slippage))`` over the long entries and
  ``D = sum(desired * price)`` over all of them, each gets ``f * desired`` units where
  ``f = min(f_cash, f_gross)``, ``f_cash = 1`` if ``L <= C`` (or ``L == 0``) else
  ``max(C, 0) / L``, and ``f_gross = 1`` if ``D <= max_gross * E - G`` else
  ``max(max_gross * E - G, 0) / D`` (units are ``desired`` itself when ``f == 1``). Entries
  that end as dust get ``NO_CASH`` when ``f_cash <= f_gross``, else ``GROSS_CAP``; with
  ``E <= 0`` all of them get ``NO_CASH``. Then they fill in signal order, each paying from
  the cash the previous left. The result does not depend on the signals' or tickers'
  order. An entry cut by more than ``CAP_TOL`` (``f < 1 - CAP_TOL``; per ticker
  ``cap < desired * (1 - CAP_TOL)``) has ``trade_dt["capped"]`` set.
- Within a session (both modes): time exits at the open (next-open mode), entries at the
  open (next-open mode), stops, time exits at the close, entries at the close (close mode),
  then marking at the close. Freed cash is reused by entries later in the session.
- Ruin: when an account's equity marked at a close is <= 0 (after that session's exits
  and entries), it is ruined at that session: its open positions are closed there, valued
  at that close with no fee or slippage (``ExitReason.RUINED``; per ticker, the position
  still counts in ``position`` at that session), its equity stays at that (possibly
  negative) cash value, and its later signals get ``RUINED``. A time exit or a stop that
  leaves the cash <= 0 ruins the account the same way (nothing is left to close); a time
  exit at a close comes before that close's ruin check.
- Prices of real bars are assumed finite and positive (the pandas layer checks); an entry
  whose fill price is not is ``BAD_PRICE``.
"""

from __future__ import annotations

import numpy as np

from evbt.backtest.enums import (
    CAP_TOL,
    MIN_ORDER_FRAC,
    CashMode,
    ExitReason,
    PriceMode,
    SignalStatus,
    SimParams,
    SizeType,
    StopOn,
    trade_dt,
)
from evbt.backtest.jit import inline_jit, jit

__all__ = [
    "check_inputs",
    "enter_shared_nb",
    "entry_status_nb",
    "entry_units_nb",
    "exit_fill_bar_nb",
    "last_real_nb",
    "order_nb",
    "simulate_1d_nb",
    "simulate_kernel",
    "simulate_nb",
    "simulate_per_ticker_nb",
    "simulate_shared_nb",
    "stop_exit_nb",
    "stop_exits_nb",
    "stop_hit_nb",
    "stop_levels_nb",
    "ticker_groups",
    "time_exits_nb",
    "trade_stats_nb",
]


@jit
def order_nb(cash: float, side: int, units: float, price: float, params: SimParams):
    """Fill ``units`` at ``price`` on ``side`` (+1 buy, -1 sell): ``(cash, fill_price, fees)``.

    The fill price carries slippage against the trader; fees are ``params.fees`` of the
    traded value at the fill price, as in vectorbt.
    """
    fill_price = price * (1.0 + side * params.slippage)
    value = units * fill_price
    fees = value * params.fees
    return cash - side * value - fees, fill_price, fees


@jit
def desired_units_nb(direction: int, price: float, weight: float, equity: float, params):
    """Units an entry asks for before any cap (see the module docstring: sizing)."""
    if params.size_type == SizeType.EQUITY_FRACTION:
        fill_price = price * (1.0 + direction * params.slippage)
        return params.size * weight * equity / ((1.0 + params.fees) * fill_price)
    return params.size * weight / price


@jit
def entry_units_nb(
    direction: int, price: float, weight: float, equity: float, cash: float, params: SimParams
):
    """Per-ticker entry at ``price``: ``(units, capped)``; units 0.0 when it cannot be taken.

    The entry never costs more than ``cash``, fees included, long or short (an all-in short
    is vectorbt's ``size=np.inf``); ``capped`` is True when that cut it by more than
    ``CAP_TOL``.
    """
    if not (equity > 0.0):
        return 0.0, False
    units = desired_units_nb(direction, price, weight, equity, params)
    fill_price = price * (1.0 + direction * params.slippage)
    cap = cash / ((1.0 + params.fees) * fill_price)
    capped = cap < units * (1.0 - CAP_TOL)
    if cap < units:
        units = cap
    if not (units > 0.0 and units * price > MIN_ORDER_FRAC * equity):
        return 0.0, False
    return units, capped


@inline_jit
def stop_levels_nb(direction: int, entry_price: float, params: SimParams):
    """A position's stop levels: ``(stop-loss level, take-profit level)``, NaN for no stop.

    The level is ``entry_price * (1 -/+ stop)`` (vectorbt's ``get_stop_price_nb``); a
    position's levels never change, so a kernel computes them once, at the entry, and
    :func:`stop_hit_nb` compares each bar with them.
    """
    if direction > 0:
        return entry_price * (1.0 - params.sl_stop), entry_price * (1.0 + params.tp_stop)
    return entry_price * (1.0 + params.sl_stop), entry_price * (1.0 - params.tp_stop)


@inline_jit
def stop_hit_nb(
    direction: int,
    sl_level: float,
    tp_level: float,
    open_: float,
    high: float,
    low: float,
    close: float,
    stop_on: int,
):
    """Stop check on one bar against the levels of :func:`stop_levels_nb`: ``(fill price
    before slippage, ExitReason)``, or ``(nan, -1)``.

    Same rules as vectorbt's ``get_stop_price_nb``: when the bar opens through a level the
    stop fills at the open, else when the bar's range touches it at the level; the
    stop-loss is checked before the take-profit. ``StopOn.CLOSE`` uses the close as open,
    high and low. A NaN level (no stop) compares False and never fires.
    """
    if stop_on == StopOn.CLOSE:
        open_ = close
        high = close
        low = close
    else:
        if np.isnan(open_):
            open_ = close
        if np.isnan(low):
            low = min(open_, close)
        if np.isnan(high):
            high = max(open_, close)
    if direction > 0:
        if open_ <= sl_level:
            return open_, ExitReason.STOP_LOSS
        if low <= sl_level <= high:
            return sl_level, ExitReason.STOP_LOSS
        if tp_level <= open_:
            return open_, ExitReason.TAKE_PROFIT
        if low <= tp_level <= high:
            return tp_level, ExitReason.TAKE_PROFIT
    else:
        if sl_level <= open_:
            return open_, ExitReason.STOP_LOSS
        if low <= sl_level <= high:
            return sl_level, ExitReason.STOP_LOSS
        if open_ <= tp_level:
            return open_, ExitReason.TAKE_PROFIT
        if low <= tp_level <= high:
            return tp_level, ExitReason.TAKE_PROFIT
    return np.nan, -1


@inline_jit
def stop_exit_nb(
    direction: int,
    entry_price: float,
    open_: float,
    high: float,
    low: float,
    close: float,
    params: SimParams,
):
    """Stop check on one bar of a position entered at ``entry_price``: ``(fill price before
    slippage, ExitReason)``, or ``(nan, -1)`` (:func:`stop_levels_nb`, :func:`stop_hit_nb`)."""
    sl_level, tp_level = stop_levels_nb(direction, entry_price, params)
    return stop_hit_nb(direction, sl_level, tp_level, open_, high, low, close, params.stop_on)


@jit
def exit_fill_bar_nb(x: int, n: int, lag: int) -> int:
    """Session a time exit signalled at ``x`` fills in; ``n`` when it lies past the data.

    Close mode: ``x``. Next-open mode: ``x + 1``, or ``x`` itself when ``x`` is the last
    session (no next open: the exit falls back to the close).
    """
    if x >= n:
        return n
    if lag == 0 or x == n - 1:
        return x
    return x + 1


@jit
def entry_status_nb(
    entry: int, same: bool, busy_until: int, ruined_at: int, b: int, n: int, real_b: bool,
    xb: int, last_real: int, real_xb: bool, price: float,
) -> int:  # fmt: skip
    """Rules 1-5 of the module docstring for one signal: the first that refuses it, or -1.

    The signal enters at session ``entry``; its entry fills at bar ``b`` and its time exit
    at bar ``xb`` (:func:`exit_fill_bar_nb`), either ``>= n`` when past the data. ``same``:
    the previous signal has its ticker and entry session. ``busy_until``, ``ruined_at``
    (``n``: never) and ``last_real`` are its ticker's and its account's. ``real_b``,
    ``real_xb`` and ``price`` are the ticker's ``real`` at ``b`` and at ``xb`` and its fill
    price at ``b``; a caller may read them at any bar when ``b`` or ``xb`` lies past the data
    (``b >= n``, ``xb > last_real``): they are not consulted then. The one home of these
    rules: the per-ticker and shared-cash entries of the backtest and of the sweep call it.
    """
    if b > ruined_at:
        return SignalStatus.RUINED
    if entry <= busy_until or same:
        return SignalStatus.OVERLAP
    if b >= n or not real_b:
        return SignalStatus.NO_BAR_ENTRY
    if xb <= last_real and not real_xb:
        return SignalStatus.NO_BAR_EXIT
    if not (price > 0.0 and price < np.inf):
        return SignalStatus.BAD_PRICE
    return -1


@jit
def last_real_nb(real_col) -> int:
    """Position of the last True in ``real_col``; -1 when there is none."""
    for i in range(real_col.shape[0] - 1, -1, -1):
        if real_col[i]:
            return i
    return -1


@jit
def trade_stats_nb(direction, size, entry_price, exit_price, entry_fees, exit_fees):
    """``(pnl, ret)`` of a trade, as vectorbt's ``get_trade_stats_nb``."""
    entry_value = size * entry_price
    value_diff = (size * exit_price - entry_value) * direction
    pnl = value_diff - entry_fees - exit_fees
    return pnl, pnl / entry_value


@jit
def _write_entry_nb(trades, k, ticker, event, direction, entry_idx, price, size, fees, capped):
    rec = trades[k]
    rec["ticker"] = ticker
    rec["event"] = event
    rec["signal"] = k
    rec["direction"] = direction
    rec["entry_idx"] = entry_idx
    rec["entry_price"] = price
    rec["size"] = size
    rec["entry_fees"] = fees
    rec["capped"] = capped


@jit
def _write_exit_nb(trades, k, exit_idx, price, fees, reason):
    rec = trades[k]
    rec["exit_idx"] = exit_idx
    rec["exit_price"] = price
    rec["exit_fees"] = fees
    rec["exit_reason"] = reason
    pnl, ret = trade_stats_nb(
        rec["direction"], rec["size"], rec["entry_price"], price, rec["entry_fees"], fees
    )
    rec["pnl"] = pnl
    rec["ret"] = ret


@jit
def _exit_nb(trades, k, cash, direction, size, price, exit_idx, reason, params):
    """Close trade ``k`` at ``price`` (before slippage) and return the new cash."""
    cash, fill_price, fees = order_nb(cash, -direction, size, price, params)
    _write_exit_nb(trades, k, exit_idx, fill_price, fees, reason)
    return cash


@jit
def _mark_exit_nb(trades, k, cash, direction, size, price, exit_idx, reason):
    """Close trade ``k`` as a valuation at ``price`` (open at the end, ruin): no fee, no slip."""
    _write_exit_nb(trades, k, exit_idx, price, 0.0, reason)
    return cash + direction * size * price


@jit
def simulate_1d_nb(
    open_, high, low, close, real, signals, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params, ticker, trades, taken, status, equity, position,
):  # fmt: skip
    """One ticker's own account (``CashMode.PER_TICKER``); returns the number of trades.

    ``open_`` .. ``close``, ``real``, ``equity`` and ``position`` are this ticker's columns;
    ``signals`` holds its signal indices in entry order. Trades go to ``trades[k]`` and
    ``taken[k]``, every signal's status to ``status[k]``. ``position`` must come zeroed:
    only sessions inside trades are written.
    """
    n = close.shape[0]
    lag = params.price_mode  # entry/exit fill session minus signal session
    last_real = last_real_nb(real)
    cash = params.init_cash
    busy_until = -1  # exit session of the last trade; later signals must enter after it
    prev_entry = -1
    ruined_at = n  # session the account was ruined at (n: not ruined)
    filled = 0  # equity[:filled] is written
    n_trades = 0
    for j in range(signals.shape[0]):
        k = signals[j]
        entry = sig_entry[k]
        same = entry == prev_entry
        prev_entry = entry
        b = entry + lag
        x = sig_exit[k]
        xb = exit_fill_bar_nb(x, n, lag)
        bb = min(b, n - 1)  # reads past the data are not consulted
        price = close[bb] if lag == 0 else open_[bb]
        code = entry_status_nb(
            entry, same, busy_until, ruined_at, b, n, real[bb], xb, last_real,
            real[min(xb, n - 1)], price,
        )  # fmt: skip
        if code >= 0:
            status[k] = code
            continue
        runs_open = xb > last_real
        direction = sig_direction[k]
        units, capped = entry_units_nb(direction, price, sig_weight[k], cash, cash, params)
        if units == 0.0:
            status[k] = SignalStatus.NO_CASH
            continue

        equity[filled:b] = cash
        cash, fill_price, fees = order_nb(cash, direction, units, price, params)
        _write_entry_nb(
            trades, k, ticker, sig_event[k], direction, b, fill_price, units, fees, capped
        )
        taken[k] = True
        status[k] = SignalStatus.TRADED
        n_trades += 1
        pos = direction * units
        sl_level, tp_level = stop_levels_nb(direction, price, params)
        busy_until = x
        done = False
        end = n - 1 if runs_open else min(x, n - 1)
        for i in range(b, end + 1):
            if i > b and real[i]:
                stop_price, reason = stop_hit_nb(
                    direction, sl_level, tp_level, open_[i], high[i], low[i], close[i],
                    params.stop_on,
                )  # fmt: skip
                if reason >= 0:
                    cash = _exit_nb(
                        trades, k, cash, direction, units, stop_price, i, reason, params
                    )
                    equity[i] = cash
                    filled = i + 1
                    busy_until = i
                    done = True
                    if not (cash > 0.0):
                        ruined_at = i
                    break
            position[i] = pos
            equity[i] = cash + pos * close[i]
            if not runs_open and i == xb and xb == x:
                break  # the time exit at this close comes before the ruin check
            if not (equity[i] > 0.0):
                cash = _mark_exit_nb(
                    trades, k, cash, direction, units, close[i], i, ExitReason.RUINED
                )
                equity[i] = cash
                filled = i + 1
                ruined_at = i
                done = True
                break
        if done:
            continue
        if runs_open:
            _write_exit_nb(trades, k, last_real, close[last_real], 0.0, ExitReason.OPEN)
            filled = n
        else:
            cash = _exit_nb(
                trades, k, cash, direction, units, close[xb] if xb == x else open_[xb], xb,
                ExitReason.TIME, params,
            )  # fmt: skip
            position[xb] = 0.0
            equity[xb] = cash
            filled = xb + 1
            if not (cash > 0.0):
                ruined_at = xb
    equity[filled:] = cash
    return n_trades


@inline_jit
def _compact_active_nb(active, n_active, units):
    """Drop closed positions (``units == 0``) from ``active``, keeping entry order."""
    m = 0
    for a in range(n_active):
        t = active[a]
        if units[t] != 0.0:
            active[m] = t
            m += 1
    return m


@jit
def enter_shared_nb(
    k0, i, prices, real, last_real, cash, active, n_active, units, directions, sl_level,
    tp_level, entry_idx, busy_until, slot, runs_open, sig_ticker, sig_event, sig_entry,
    sig_exit, sig_direction, sig_weight, params, trades, taken, status, cand, want,
):  # fmt: skip
    """The shared-cash entry phase at session ``i``: signals ``k0 ..`` whose entry fills
    at ``i`` (``sig_entry + lag <= i``; earlier ones are done), paid by the one account,
    ``cash[0]``. Returns ``(k1, n_active, n_new_trades)``: ``k1`` is the first signal left.

    They are sized together from one snapshot (module docstring: sizing). ``prices`` is the
    fill price row (closes or opens), which also marks the open positions. A new position's
    stop levels (:func:`stop_levels_nb`) go to ``sl_level`` and ``tp_level``. ``cand`` and
    ``want`` are scratch arrays. Shared by the backtest and the sweep.
    """
    n = real.shape[0]
    n_sig = sig_entry.shape[0]
    lag = params.price_mode
    k1 = k0
    while k1 < n_sig and sig_entry[k1] + lag <= i:
        k1 += 1
    n_cand = 0
    for k in range(k0, k1):
        t = sig_ticker[k]
        same = k > 0 and sig_entry[k - 1] == sig_entry[k] and sig_ticker[k - 1] == t
        xb = exit_fill_bar_nb(sig_exit[k], n, lag)
        code = entry_status_nb(
            sig_entry[k], same, busy_until[t], n, i, n, real[i, t], xb, last_real[t],
            real[min(xb, n - 1), t], prices[t],
        )  # fmt: skip
        if code >= 0:
            status[k] = code
            continue
        cand[n_cand] = k
        n_cand += 1
    if n_cand == 0:
        return k1, n_active, 0

    equity = cash[0]
    gross = 0.0
    for a in range(n_active):
        s = active[a]
        value = directions[s] * units[s] * prices[s]
        equity += value
        gross += abs(value)
    if not (equity > 0.0):
        for c in range(n_cand):
            status[cand[c]] = SignalStatus.NO_CASH
        return k1, n_active, 0
    long_need = 0.0
    gross_need = 0.0
    for c in range(n_cand):
        k = cand[c]
        t = sig_ticker[k]
        d = sig_direction[k]
        want[c] = desired_units_nb(d, prices[t], sig_weight[k], equity, params)
        gross_need += want[c] * prices[t]
        if d > 0:
            long_need += want[c] * (1.0 + params.fees) * prices[t] * (1.0 + params.slippage)
    f_cash = 1.0
    if long_need > 0.0 and long_need > cash[0]:
        f_cash = cash[0] / long_need if cash[0] > 0.0 else 0.0
    room = params.max_gross * equity - gross
    f_gross = 1.0
    if gross_need > room:
        f_gross = room / gross_need if room > 0.0 else 0.0
    f = min(f_cash, f_gross)
    refused = SignalStatus.NO_CASH if f_cash <= f_gross else SignalStatus.GROSS_CAP
    capped = f < 1.0 - CAP_TOL
    n_new = 0
    for c in range(n_cand):
        k = cand[c]
        t = sig_ticker[k]
        size = want[c] * f if f < 1.0 else want[c]
        price = prices[t]
        if not (size > 0.0 and size * price > MIN_ORDER_FRAC * equity):
            status[k] = refused
            continue
        direction = sig_direction[k]
        cash[0], fill_price, fees = order_nb(cash[0], direction, size, price, params)
        _write_entry_nb(trades, k, t, sig_event[k], direction, i, fill_price, size, fees, capped)
        taken[k] = True
        status[k] = SignalStatus.TRADED
        units[t] = size
        directions[t] = direction
        sl_level[t], tp_level[t] = stop_levels_nb(direction, price, params)
        entry_idx[t] = i
        busy_until[t] = sig_exit[k]
        slot[t] = k
        runs_open[t] = exit_fill_bar_nb(sig_exit[k], n, lag) > last_real[t]
        active[n_active] = t
        n_active += 1
        n_new += 1
    return k1, n_active, n_new


@inline_jit
def time_exits_nb(
    x_sig, i, prices, active, n_active, runs_open, slot, sig_exit, dirs, units, cash, acct,
    params, trades, closed,
):  # fmt: skip
    """Time exits at session ``i`` of the open positions (tickers ``active[:n_active]``)
    whose trade's time-exit signal session is ``x_sig``, at ``prices[t]`` (before slippage).

    Trades that run past their ticker's data (``runs_open``) have no time exit. Each is paid
    to its account, ``cash[acct[t]]``, and its ``units`` become 0. The tickers closed go to
    ``closed`` in entry order; returns how many. Shared by the backtest and the sweep.
    """
    n_closed = 0
    for a in range(n_active):
        t = active[a]
        k = slot[t]
        if not runs_open[t] and sig_exit[k] == x_sig:
            c = acct[t]
            cash[c] = _exit_nb(
                trades, k, cash[c], dirs[t], units[t], prices[t], i, ExitReason.TIME, params
            )
            units[t] = 0.0
            closed[n_closed] = t
            n_closed += 1
    return n_closed


@inline_jit
def stop_exits_nb(
    i, open_, high, low, close, real, active, n_active, dirs, units, sl_level, tp_level,
    entry_idx, slot, busy_until, cash, acct, params, trades, closed,
):  # fmt: skip
    """Stop exits at session ``i`` (:func:`stop_hit_nb`, against the levels the entry set in
    ``sl_level`` and ``tp_level``) of the open positions entered before it, on real bars; as
    :func:`time_exits_nb`, and a stopped ticker is busy until ``i``. Shared by the backtest
    and the sweep."""
    n_closed = 0
    for a in range(n_active):
        t = active[a]
        if entry_idx[t] < i and real[i, t]:
            if params.stop_on == StopOn.CLOSE:  # the close alone: no other price is read
                c = close[i, t]
                stop_price, reason = stop_hit_nb(
                    dirs[t], sl_level[t], tp_level[t], c, c, c, c, StopOn.CLOSE
                )
            else:
                stop_price, reason = stop_hit_nb(
                    dirs[t], sl_level[t], tp_level[t], open_[i, t], high[i, t], low[i, t],
                    close[i, t], StopOn.INTRABAR,
                )  # fmt: skip
            if reason >= 0:
                c = acct[t]
                cash[c] = _exit_nb(
                    trades, slot[t], cash[c], dirs[t], units[t], stop_price, i, reason, params
                )
                units[t] = 0.0
                busy_until[t] = i
                closed[n_closed] = t
                n_closed += 1
    return n_closed


@jit
def simulate_shared_nb(
    open_, high, low, close, real, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params, trades, taken, status, equity, position, last_real, cash, book, reals,
    runs_open, cand, want,
):  # fmt: skip
    """One account for all tickers (``CashMode.SHARED``), session by session.

    Within a session: (next-open mode) time exits at the open, then entries at the open;
    stops of positions entered before this session, on real bars; (close mode) time exits
    at the close, then entries at the close; (next-open mode, last session) time exits that
    fall back to the close; then marking and the ruin check. ``equity`` is 1-D;
    ``position`` comes zeroed. Returns the number of trades.

    The state comes allocated (:func:`simulate_nb`; an allocation in the kernel compiles
    NumPy's allocator into it): ``last_real`` (:func:`last_reals`); ``book`` ``(7,
    n_tickers)`` int64, rows account (0: the one account), direction, entry session, slot
    (the open trade's signal, -1), busy until (-1), and the scratch lists of active and
    closed tickers; ``cash`` ``(1,)``, the account's (``params.init_cash``); ``reals`` ``(3,
    n_tickers)``: units and the stop-loss and take-profit levels (0.0); ``runs_open`` (False, bool); ``cand`` and
    ``want`` (``n_signals``) are scratch.
    """
    n, m = close.shape
    n_sig = sig_entry.shape[0]
    lag = params.price_mode
    acct = book[0]
    directions = book[1]
    entry_idx = book[2]
    slot = book[3]  # signal index of the open trade
    busy_until = book[4]
    active = book[5]  # tickers with an open position, in entry order
    closed = book[6]
    units = reals[0]
    sl_level = reals[1]  # stop levels of the open positions (stop_levels_nb)
    tp_level = reals[2]
    n_active = 0
    n_trades = 0
    ruined_at = n  # session the account was ruined at (n: not ruined)
    k = 0
    i = 0
    while i < n:
        if n_active == 0:
            # Nothing open: jump to the next session where a signal fills.
            if k >= n_sig or sig_entry[k] + lag >= n:
                equity[i:] = cash[0]
                break
            if sig_entry[k] + lag > i:
                equity[i : sig_entry[k] + lag] = cash[0]
                i = sig_entry[k] + lag

        if lag == PriceMode.NEXT_OPEN:
            time_exits_nb(
                i - 1, i, open_[i], active, n_active, runs_open, slot, sig_exit, directions,
                units, cash, acct, params, trades, closed,
            )  # fmt: skip
            n_active = _compact_active_nb(active, n_active, units)
            k, n_active, n_new = enter_shared_nb(
                k, i, open_[i], real, last_real, cash, active, n_active, units, directions,
                sl_level, tp_level, entry_idx, busy_until, slot, runs_open, sig_ticker, sig_event,
                sig_entry, sig_exit, sig_direction, sig_weight, params, trades, taken, status,
                cand, want,
            )  # fmt: skip
            n_trades += n_new

        stop_exits_nb(
            i, open_, high, low, close, real, active, n_active, directions, units, sl_level,
            tp_level, entry_idx, slot, busy_until, cash, acct, params, trades, closed,
        )  # fmt: skip
        n_active = _compact_active_nb(active, n_active, units)

        if lag == PriceMode.CLOSE or i == n - 1:
            exit_signal = i if lag == PriceMode.CLOSE else n - 1
            time_exits_nb(
                exit_signal, i, close[i], active, n_active, runs_open, slot, sig_exit,
                directions, units, cash, acct, params, trades, closed,
            )  # fmt: skip
            n_active = _compact_active_nb(active, n_active, units)
        if lag == PriceMode.CLOSE:
            k, n_active, n_new = enter_shared_nb(
                k, i, close[i], real, last_real, cash, active, n_active, units, directions,
                sl_level, tp_level, entry_idx, busy_until, slot, runs_open, sig_ticker, sig_event,
                sig_entry, sig_exit, sig_direction, sig_weight, params, trades, taken, status,
                cand, want,
            )  # fmt: skip
            n_trades += n_new

        value = cash[0]
        for a in range(n_active):
            t = active[a]
            pos = directions[t] * units[t]
            position[i, t] = pos
            value += pos * close[i, t]
        equity[i] = value
        if not (value > 0.0):
            for a in range(n_active):
                t = active[a]
                cash[0] = _mark_exit_nb(
                    trades, slot[t], cash[0], directions[t], units[t], close[i, t], i,
                    ExitReason.RUINED,
                )  # fmt: skip
                units[t] = 0.0
            n_active = 0
            equity[i:] = cash[0]
            ruined_at = i
            break
        i += 1

    # signals never reached: their fill bar lies past the data or after the ruin
    for kk in range(k, n_sig):
        t = sig_ticker[kk]
        same = kk > 0 and sig_entry[kk - 1] == sig_entry[kk] and sig_ticker[kk - 1] == t
        status[kk] = entry_status_nb(
            sig_entry[kk], same, busy_until[t], ruined_at, sig_entry[kk] + lag, n, False, n,
            last_real[t], False, np.nan,
        )  # fmt: skip
    for a in range(n_active):
        t = active[a]
        j = last_real[t]
        _write_exit_nb(trades, slot[t], j, close[j, t], 0.0, ExitReason.OPEN)
    return n_trades


@jit
def simulate_per_ticker_nb(
    open_, high, low, close, real, order, starts, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params, trades, taken, status, equity, position,
):  # fmt: skip
    """:func:`simulate_nb` for ``CashMode.PER_TICKER``: each ticker its own account
    (:func:`simulate_1d_nb`). Ticker ``t``'s signals are ``order[starts[t]:starts[t + 1]]``
    (:func:`ticker_groups`); ``equity`` is ``[n_sessions, n_tickers]``, ``position`` comes
    zeroed, and the outputs are written in place."""
    for t in range(close.shape[1]):
        simulate_1d_nb(
            open_[:, t], high[:, t], low[:, t], close[:, t], real[:, t],
            order[starts[t] : starts[t + 1]], sig_event, sig_entry, sig_exit, sig_direction,
            sig_weight, params, t, trades, taken, status, equity[:, t], position[:, t],
        )  # fmt: skip


# ------------------------------------------------------------------ the plain-NumPy face
# Input checks, output allocation, the grouping of signals by ticker and the compaction of
# the trade records are NumPy here, not kernels: each would be one more kernel to compile
# on a cold cache (together more than the simulation loops themselves) for work that
# NumPy does in microseconds.


def check_inputs(
    open_, high, low, close, real, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params,
) -> None:  # fmt: skip
    """Raise ``ValueError`` when the arrays or params break the kernels' preconditions
    (for the first signal that breaks one, the first rule it breaks)."""
    if (
        open_.shape != close.shape
        or high.shape != close.shape
        or low.shape != close.shape
        or real.shape != close.shape
    ):
        raise ValueError("open_, high, low, close and real must have the same shape")
    n_sig = sig_ticker.shape[0]
    if (
        sig_event.shape[0] != n_sig
        or sig_entry.shape[0] != n_sig
        or sig_exit.shape[0] != n_sig
        or sig_direction.shape[0] != n_sig
        or sig_weight.shape[0] != n_sig
    ):
        raise ValueError("all signal arrays must have the same length")
    if params.mode != CashMode.PER_TICKER and params.mode != CashMode.SHARED:
        raise ValueError("params.mode must be 0 (per_ticker) or 1 (shared_cash)")
    if params.price_mode != PriceMode.CLOSE and params.price_mode != PriceMode.NEXT_OPEN:
        raise ValueError("params.price_mode must be 0 (close) or 1 (next open)")
    if params.stop_on != StopOn.CLOSE and params.stop_on != StopOn.INTRABAR:
        raise ValueError("params.stop_on must be 0 (close) or 1 (intrabar)")
    if params.size_type != SizeType.EQUITY_FRACTION and params.size_type != SizeType.NOTIONAL:
        raise ValueError("params.size_type must be 0 (equity fraction) or 1 (notional)")
    if not (params.init_cash > 0.0 and params.init_cash < np.inf):
        raise ValueError("params.init_cash must be positive and finite")
    if not (params.size > 0.0 and params.size < np.inf):
        raise ValueError("params.size must be positive and finite")
    if params.size_type == SizeType.EQUITY_FRACTION and params.size > 1.0:
        raise ValueError("params.size must be in (0, 1] for equity fractions (no leverage)")
    if not (params.max_gross > 0.0 and params.max_gross <= 1.0):
        raise ValueError("params.max_gross must be in (0, 1] (no leverage)")
    e, t = sig_entry, sig_ticker
    unsorted = np.zeros(n_sig, dtype=np.bool_)
    unsorted[1:] = (e[1:] < e[:-1]) | ((e[1:] == e[:-1]) & (t[1:] < t[:-1]))
    rules = (
        ((t < 0) | (t >= close.shape[1]), "sig_ticker must be a column index of the price arrays"),
        (e < 0, "sig_entry must be >= 0"),
        (sig_exit <= e, "sig_exit must be after sig_entry"),
        ((sig_direction != 1) & (sig_direction != -1), "sig_direction must be +1 (long) or -1 (short)"),
        (~((sig_weight > 0.0) & (sig_weight <= 1.0)), "sig_weight must be in (0, 1] (no leverage)"),
        (unsorted, "signals must be sorted by (sig_entry, sig_ticker)"),
    )  # fmt: skip
    broken = np.logical_or.reduce([bad for bad, _ in rules])
    if broken.any():
        k = int(np.argmax(broken))
        raise ValueError(next(message for bad, message in rules if bad[k]))


def ticker_groups(sig_ticker: np.ndarray, n_tickers: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable sort of signals by ticker: ``(order, starts)``, both int64.

    Ticker ``t``'s signals are ``order[starts[t]:starts[t + 1]]``, in their original order.
    """
    order = np.argsort(sig_ticker, kind="stable").astype(np.int64, copy=False)
    starts = np.zeros(n_tickers + 1, dtype=np.int64)
    np.cumsum(np.bincount(sig_ticker, minlength=n_tickers), out=starts[1:])
    return order, starts


def last_reals(real: np.ndarray) -> np.ndarray:
    """Each ticker's last real bar (the last True of each column of ``real``; -1: none)."""
    n = real.shape[0]
    if n == 0:
        return np.full(real.shape[1], -1, dtype=np.int64)
    last = n - 1 - np.argmax(real[::-1], axis=0).astype(np.int64)
    return np.where(real.any(axis=0), last, -1).astype(np.int64)


def simulate_nb(
    open_, high, low, close, real, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params,
):  # fmt: skip
    """Simulate event signals over ``[n_sessions, n_tickers]`` price arrays.

    ``real`` (bool, same shape) is True where the ticker has a real bar. Returns
    ``(trades, equity, position, status)``: ``trades`` a ``trade_dt`` array in signal order;
    ``equity`` ``[n_sessions, n_tickers]`` (per ticker) or ``[n_sessions, 1]`` (shared cash),
    marked at each close; ``position`` ``[n_sessions, n_tickers]`` signed units held at each
    close; ``status`` int8, one :data:`SignalStatus` code per signal. See the module
    docstring for the semantics.

    A plain function: it checks the inputs (:func:`check_inputs`), allocates the outputs and
    calls the kernel of ``params.mode`` (:func:`simulate_kernel`), so a run compiles only
    the kernel of its portfolio mode, and no kernel for the bookkeeping around it.
    """
    check_inputs(
        open_, high, low, close, real, sig_ticker, sig_event, sig_entry, sig_exit,
        sig_direction, sig_weight, params,
    )  # fmt: skip
    n, m = close.shape
    n_sig = sig_ticker.shape[0]
    trades = np.empty(n_sig, dtype=trade_dt)  # record k is written when signal k is taken
    taken = np.zeros(n_sig, dtype=np.bool_)
    status = np.full(n_sig, -1, dtype=np.int8)
    position = np.zeros((n, m))
    if params.mode == CashMode.SHARED:
        equity = np.empty(n)
        book = np.zeros((7, m), dtype=np.int64)
        book[3:5] = -1  # no open trade, never busy
        simulate_shared_nb(
            open_, high, low, close, real, sig_ticker, sig_event, sig_entry, sig_exit,
            sig_direction, sig_weight, params, trades, taken, status, equity, position,
            last_reals(real), np.full(1, params.init_cash), book, np.zeros((3, m)),
            np.zeros(m, dtype=np.bool_),
            np.empty(n_sig, dtype=np.int64), np.empty(n_sig),
        )  # fmt: skip
        equity = equity.reshape(n, 1)
    else:
        equity = np.empty((n, m))
        order, starts = ticker_groups(sig_ticker, m)
        simulate_per_ticker_nb(
            open_, high, low, close, real, order, starts, sig_event, sig_entry, sig_exit,
            sig_direction, sig_weight, params, trades, taken, status, equity, position,
        )  # fmt: skip
    return trades[taken], equity, position, status


def simulate_kernel(mode: int):
    """The kernel :func:`simulate_nb` runs for portfolio mode ``mode`` (a ``CashMode``)."""
    return simulate_shared_nb if mode == CashMode.SHARED else simulate_per_ticker_nb
