"""Numba kernels of the event backtest: NumPy arrays, scalars and :class:`SimParams` in, arrays out.

Entry point: :func:`simulate_nb`. It never imports pandas; the pandas face validates and
labels. The pieces are small so each can be tested alone:

- :func:`order_nb`: one fill (slippage, fees, cash), the step every entry and exit goes through.
- :func:`entry_units_nb`: how many units an entry buys or sells short.
- :func:`stop_exit_nb`: whether a stop-loss / take-profit fires on a bar, and at what price.
- :func:`simulate_1d_nb`: one ticker's account (``CashMode.PER_TICKER``), trade by trade; it
  only visits sessions inside trade windows and fills the flat stretches with cash.
- :func:`simulate_shared_nb`: one account for all tickers (``CashMode.SHARED``), session by
  session, jumping over sessions with nothing open and nothing to enter.

Semantics (the contract; :mod:`backtest.reference` implements the same in plain Python):

- Signal ``k`` on ticker ``t`` enters at session ``e = sig_entry[k]`` and time-exits at
  ``x = sig_exit[k]`` (``x > e``; ``x >= n_sessions`` runs past the data). With
  ``PriceMode.CLOSE`` both fill at the close of ``e`` / ``x``; with ``PriceMode.NEXT_OPEN`` at
  the open of ``e + 1`` / ``x + 1``: an entry at the last session is not taken and an exit at
  the last session fills at its close.
- A signal is skipped when ``e`` is at or before the exit session of the last trade taken on
  its ticker (the time-exit signal session, or the session a stop fired). So a position is
  never added to, and an entry on the session of an exit is skipped, as in vectorbt.
- Stops are checked from the session after the entry fill to ``min(x, last session)``, before
  that session's time exit; the stop-loss is checked before the take-profit (vectorbt order).
  Levels are relative to the entry price before slippage.
- A trade still open after the last session is reported with ``ExitReason.OPEN``, exit price
  the last close, no exit fee (like vectorbt's open trades); equity marks it at each close.
- ``n_skipped = n_signals - n_trades``: overlaps, entries that cannot fill, and entries that
  get no capital (non-finite price, no equity, no cash for a long, gross cap reached).
- Shared cash: within a session, exits (time exits at the open, stops, time exits at the
  close) come before the entries filling at the same price, so freed cash is reused; entries
  go in signal order, each sized on equity marked at its fill price row (the closes, or the
  opens for ``PriceMode.NEXT_OPEN``).
- Prices inside trade windows are assumed finite and positive (the pandas layer checks);
  an entry whose fill price is not is skipped.
"""

from __future__ import annotations

import numpy as np

from evbt.backtest.enums import (
    MIN_ORDER_FRAC,
    CashMode,
    ExitReason,
    PriceMode,
    SimParams,
    SizeType,
    StopOn,
    trade_dt,
)
from evbt.backtest.jit import jit

__all__ = [
    "check_inputs_nb",
    "compact_trades_nb",
    "entry_units_nb",
    "order_nb",
    "simulate_1d_nb",
    "simulate_nb",
    "simulate_shared_nb",
    "stop_exit_nb",
    "ticker_groups_nb",
    "trade_stats_nb",
]


@jit
def check_inputs_nb(
    open_, high, low, close, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params,
):  # fmt: skip
    """Raise ``ValueError`` when the arrays or params break the kernel's preconditions."""
    if open_.shape != close.shape or high.shape != close.shape or low.shape != close.shape:
        raise ValueError("open_, high, low and close must have the same shape")
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
    n_tickers = close.shape[1]
    for k in range(n_sig):
        if sig_ticker[k] < 0 or sig_ticker[k] >= n_tickers:
            raise ValueError("sig_ticker must be a column index of the price arrays")
        if sig_entry[k] < 0:
            raise ValueError("sig_entry must be >= 0")
        if sig_exit[k] <= sig_entry[k]:
            raise ValueError("sig_exit must be after sig_entry")
        if sig_direction[k] != 1 and sig_direction[k] != -1:
            raise ValueError("sig_direction must be +1 (long) or -1 (short)")
        if not (sig_weight[k] > 0.0 and sig_weight[k] < np.inf):
            raise ValueError("sig_weight must be positive and finite")
        if k > 0 and (
            sig_entry[k] < sig_entry[k - 1]
            or (sig_entry[k] == sig_entry[k - 1] and sig_ticker[k] < sig_ticker[k - 1])
        ):
            raise ValueError("signals must be sorted by (sig_entry, sig_ticker)")


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
def entry_units_nb(
    direction: int,
    price: float,
    weight: float,
    equity: float,
    cash: float,
    gross: float,
    params: SimParams,
) -> float:
    """Units an entry at ``price`` gets (0.0 when it cannot be taken).

    ``equity`` is cash plus the marked positions of the account, ``gross`` the sum of their
    absolute values. Longs never spend more than ``cash`` (fees included); per ticker, shorts
    are capped the same way (all-in short = vectorbt ``size=np.inf``); in shared-cash mode the
    gross exposure after the entry is capped at ``max_gross * equity``.
    """
    if not (equity > 0.0):
        return 0.0
    fill_price = price * (1.0 + direction * params.slippage)
    if params.size_type == SizeType.EQUITY_FRACTION:
        units = params.size * weight * equity / ((1.0 + params.fees) * fill_price)
    else:
        units = params.size * weight / price
    if direction > 0 or params.mode == CashMode.PER_TICKER:
        cap = cash / ((1.0 + params.fees) * fill_price)
        if cap < units:
            units = cap
    if params.mode == CashMode.SHARED:
        cap = (params.max_gross * equity - gross) / price
        if cap < units:
            units = cap
    if not (units > 0.0 and units * price > MIN_ORDER_FRAC * equity):
        return 0.0
    return units


@jit
def stop_exit_nb(
    direction: int,
    entry_price: float,
    open_: float,
    high: float,
    low: float,
    close: float,
    params: SimParams,
):
    """Stop check on one bar: ``(fill price before slippage, ExitReason)``, or ``(nan, -1)``.

    Same rules as vectorbt's ``get_stop_price_nb``: the level is ``entry_price * (1 -/+ stop)``;
    when the bar opens through it the stop fills at the open, else when the bar's range
    touches it at the level. ``StopOn.CLOSE`` uses the close as open, high and low.
    """
    if params.stop_on == StopOn.CLOSE:
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
    if not np.isnan(params.sl_stop):
        if direction > 0:
            level = entry_price * (1.0 - params.sl_stop)
            if open_ <= level:
                return open_, ExitReason.STOP_LOSS
            if low <= level <= high:
                return level, ExitReason.STOP_LOSS
        else:
            level = entry_price * (1.0 + params.sl_stop)
            if level <= open_:
                return open_, ExitReason.STOP_LOSS
            if low <= level <= high:
                return level, ExitReason.STOP_LOSS
    if not np.isnan(params.tp_stop):
        if direction > 0:
            level = entry_price * (1.0 + params.tp_stop)
            if level <= open_:
                return open_, ExitReason.TAKE_PROFIT
            if low <= level <= high:
                return level, ExitReason.TAKE_PROFIT
        else:
            level = entry_price * (1.0 - params.tp_stop)
            if open_ <= level:
                return open_, ExitReason.TAKE_PROFIT
            if low <= level <= high:
                return level, ExitReason.TAKE_PROFIT
    return np.nan, -1


@jit
def trade_stats_nb(direction, size, entry_price, exit_price, entry_fees, exit_fees):
    """``(pnl, ret)`` of a trade, as vectorbt's ``get_trade_stats_nb``."""
    entry_value = size * entry_price
    value_diff = (size * exit_price - entry_value) * direction
    pnl = value_diff - entry_fees - exit_fees
    return pnl, pnl / entry_value


@jit
def _write_entry_nb(trades, k, ticker, event, direction, entry_idx, price, size, fees):
    rec = trades[k]
    rec["ticker"] = ticker
    rec["event"] = event
    rec["signal"] = k
    rec["direction"] = direction
    rec["entry_idx"] = entry_idx
    rec["entry_price"] = price
    rec["size"] = size
    rec["entry_fees"] = fees


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
def ticker_groups_nb(sig_ticker, n_tickers):
    """Stable counting sort of signals by ticker: ``(order, starts)``.

    Ticker ``t``'s signals are ``order[starts[t]:starts[t + 1]]``, in their original order.
    """
    starts = np.zeros(n_tickers + 1, dtype=np.int64)
    for k in range(sig_ticker.shape[0]):
        starts[sig_ticker[k] + 1] += 1
    for t in range(n_tickers):
        starts[t + 1] += starts[t]
    nxt = starts[:-1].copy()
    order = np.empty(sig_ticker.shape[0], dtype=np.int64)
    for k in range(sig_ticker.shape[0]):
        t = sig_ticker[k]
        order[nxt[t]] = k
        nxt[t] += 1
    return order, starts


@jit
def simulate_1d_nb(
    open_, high, low, close, signals, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params, ticker, trades, taken, equity, position,
):  # fmt: skip
    """One ticker's own account (``CashMode.PER_TICKER``); returns the number of trades.

    ``open_`` .. ``close``, ``equity`` and ``position`` are this ticker's columns; ``signals``
    holds its signal indices in entry order. Trades go to ``trades[k]`` and ``taken[k]``.
    ``position`` must come zeroed: only sessions inside trades are written.
    """
    n = close.shape[0]
    lag = params.price_mode  # entry/exit fill session minus signal session
    cash = params.init_cash
    busy_until = -1  # exit session of the last trade; later signals must enter after it
    filled = 0  # equity[:filled] is written
    n_trades = 0
    for j in range(signals.shape[0]):
        k = signals[j]
        entry = sig_entry[k]
        if entry <= busy_until:
            continue
        b = entry + lag
        if b >= n:
            continue
        price = close[b] if lag == 0 else open_[b]
        if not (price > 0.0 and price < np.inf):
            continue
        direction = sig_direction[k]
        units = entry_units_nb(direction, price, sig_weight[k], cash, cash, 0.0, params)
        if units == 0.0:
            continue

        equity[filled:b] = cash
        cash, fill_price, fees = order_nb(cash, direction, units, price, params)
        _write_entry_nb(trades, k, ticker, sig_event[k], direction, b, fill_price, units, fees)
        taken[k] = True
        n_trades += 1
        pos = direction * units
        position[b] = pos
        equity[b] = cash + pos * close[b]

        x = sig_exit[k]
        busy_until = x
        stop_hit = False
        for i in range(b + 1, min(x, n - 1) + 1):
            stop_price, reason = stop_exit_nb(
                direction, price, open_[i], high[i], low[i], close[i], params
            )
            if reason >= 0:
                cash = _exit_nb(trades, k, cash, direction, units, stop_price, i, reason, params)
                equity[i] = cash
                filled = i + 1
                busy_until = i
                stop_hit = True
                break
            position[i] = pos
            equity[i] = cash + pos * close[i]
        if stop_hit:
            continue
        if x >= n:
            _write_exit_nb(trades, k, n - 1, close[n - 1], 0.0, ExitReason.OPEN)
            filled = n
        elif lag == 0 or x == n - 1:
            cash = _exit_nb(trades, k, cash, direction, units, close[x], x, ExitReason.TIME, params)
            position[x] = 0.0
            equity[x] = cash
            filled = x + 1
        else:
            cash = _exit_nb(
                trades, k, cash, direction, units, open_[x + 1], x + 1, ExitReason.TIME, params
            )
            equity[x + 1] = cash
            filled = x + 2
    equity[filled:] = cash
    return n_trades


@jit
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
def _try_enter_shared_nb(
    k, i, prices, cash, active, n_active, units, directions, entry_price, entry_idx,
    busy_until, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction, sig_weight,
    params, trades, taken,
):  # fmt: skip
    """Shared-cash entry of signal ``k`` filling at ``prices[ticker]`` in session ``i``.

    Equity and gross exposure are marked at ``prices`` (this fill's price row), summed in
    entry order. Returns ``(cash, n_active)``.
    """
    t = sig_ticker[k]
    if sig_entry[k] <= busy_until[t]:
        return cash, n_active
    price = prices[t]
    if not (price > 0.0 and price < np.inf):
        return cash, n_active
    equity = cash
    gross = 0.0
    for a in range(n_active):
        s = active[a]
        value = directions[s] * units[s] * prices[s]
        equity += value
        gross += abs(value)
    direction = sig_direction[k]
    size = entry_units_nb(direction, price, sig_weight[k], equity, cash, gross, params)
    if size == 0.0:
        return cash, n_active
    cash, fill_price, fees = order_nb(cash, direction, size, price, params)
    _write_entry_nb(trades, k, t, sig_event[k], direction, i, fill_price, size, fees)
    taken[k] = True
    units[t] = size
    directions[t] = direction
    entry_price[t] = price
    entry_idx[t] = i
    busy_until[t] = sig_exit[k]
    active[n_active] = t
    return cash, n_active + 1


@jit
def simulate_shared_nb(
    open_, high, low, close, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params, trades, taken, equity, position,
):  # fmt: skip
    """One account for all tickers (``CashMode.SHARED``), session by session.

    Within a session: (next-open mode) time exits at the open, then entries at the open;
    stops of positions entered before this session; (close mode) time exits at the close,
    then entries at the close, in signal order; (next-open mode, last session) time exits
    that fall back to the close; then marking. ``equity`` is 1-D; ``position`` comes zeroed.
    Returns the number of trades.
    """
    n, m = close.shape
    n_sig = sig_entry.shape[0]
    lag = params.price_mode
    cash = params.init_cash
    units = np.zeros(m)
    directions = np.zeros(m, dtype=np.int64)
    entry_price = np.zeros(m)
    entry_idx = np.zeros(m, dtype=np.int64)
    slot = np.full(m, -1, dtype=np.int64)  # signal index of the open trade
    busy_until = np.full(m, -1, dtype=np.int64)
    active = np.empty(m, dtype=np.int64)  # tickers with an open position, in entry order
    n_active = 0
    n_trades = 0
    k = 0
    i = 0
    while i < n:
        if n_active == 0:
            # Nothing open: jump to the next session where a signal fills.
            if k >= n_sig or sig_entry[k] + lag >= n:
                equity[i:] = cash
                break
            if sig_entry[k] + lag > i:
                equity[i : sig_entry[k] + lag] = cash
                i = sig_entry[k] + lag

        if lag == PriceMode.NEXT_OPEN:
            for a in range(n_active):
                t = active[a]
                if sig_exit[slot[t]] == i - 1:
                    cash = _exit_nb(
                        trades, slot[t], cash, directions[t], units[t], open_[i, t], i,
                        ExitReason.TIME, params,
                    )  # fmt: skip
                    units[t] = 0.0
            n_active = _compact_active_nb(active, n_active, units)
            while k < n_sig and sig_entry[k] + 1 <= i:
                if sig_entry[k] + 1 == i:
                    before = n_active
                    cash, n_active = _try_enter_shared_nb(
                        k, i, open_[i], cash, active, n_active, units, directions, entry_price,
                        entry_idx, busy_until, sig_ticker, sig_event, sig_entry, sig_exit,
                        sig_direction, sig_weight, params, trades, taken,
                    )  # fmt: skip
                    if n_active > before:
                        slot[sig_ticker[k]] = k
                        n_trades += 1
                k += 1

        for a in range(n_active):
            t = active[a]
            if entry_idx[t] < i:
                stop_price, reason = stop_exit_nb(
                    directions[t], entry_price[t], open_[i, t], high[i, t], low[i, t],
                    close[i, t], params,
                )  # fmt: skip
                if reason >= 0:
                    cash = _exit_nb(
                        trades, slot[t], cash, directions[t], units[t], stop_price, i, reason,
                        params,
                    )  # fmt: skip
                    units[t] = 0.0
                    busy_until[t] = i
        n_active = _compact_active_nb(active, n_active, units)

        if lag == PriceMode.CLOSE or i == n - 1:
            exit_signal = i if lag == PriceMode.CLOSE else n - 1
            for a in range(n_active):
                t = active[a]
                if sig_exit[slot[t]] == exit_signal:
                    cash = _exit_nb(
                        trades, slot[t], cash, directions[t], units[t], close[i, t], i,
                        ExitReason.TIME, params,
                    )  # fmt: skip
                    units[t] = 0.0
            n_active = _compact_active_nb(active, n_active, units)
        if lag == PriceMode.CLOSE:
            while k < n_sig and sig_entry[k] <= i:
                if sig_entry[k] == i:
                    before = n_active
                    cash, n_active = _try_enter_shared_nb(
                        k, i, close[i], cash, active, n_active, units, directions, entry_price,
                        entry_idx, busy_until, sig_ticker, sig_event, sig_entry, sig_exit,
                        sig_direction, sig_weight, params, trades, taken,
                    )  # fmt: skip
                    if n_active > before:
                        slot[sig_ticker[k]] = k
                        n_trades += 1
                k += 1

        value = cash
        for a in range(n_active):
            t = active[a]
            pos = directions[t] * units[t]
            position[i, t] = pos
            value += pos * close[i, t]
        equity[i] = value
        i += 1

    for a in range(n_active):
        t = active[a]
        _write_exit_nb(trades, slot[t], n - 1, close[n - 1, t], 0.0, ExitReason.OPEN)
    return n_trades


@jit
def compact_trades_nb(trades, taken):
    """The records of ``trades`` whose ``taken`` flag is set, in signal order."""
    n_taken = 0
    for k in range(taken.shape[0]):
        if taken[k]:
            n_taken += 1
    out = np.empty(n_taken, dtype=trade_dt)
    j = 0
    for k in range(taken.shape[0]):
        if taken[k]:
            out[j] = trades[k]
            j += 1
    return out


@jit
def simulate_nb(
    open_, high, low, close, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params,
):  # fmt: skip
    """Simulate event signals over ``[n_sessions, n_tickers]`` price arrays.

    Returns ``(trades, equity, position, n_skipped)``: ``trades`` a ``trade_dt`` array in
    signal order; ``equity`` ``[n_sessions, n_tickers]`` (per ticker) or
    ``[n_sessions, 1]`` (shared cash), marked at each close; ``position``
    ``[n_sessions, n_tickers]`` signed units held at each close; ``n_skipped`` the number of
    signals not taken. See the module docstring for the semantics.
    """
    check_inputs_nb(
        open_, high, low, close, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
        sig_weight, params,
    )  # fmt: skip
    n, m = close.shape
    n_sig = sig_ticker.shape[0]
    trades = np.empty(n_sig, dtype=trade_dt)
    taken = np.zeros(n_sig, dtype=np.bool_)
    position = np.zeros((n, m))
    if params.mode == CashMode.PER_TICKER:
        equity = np.empty((n, m))
        order, starts = ticker_groups_nb(sig_ticker, m)
        for t in range(m):
            simulate_1d_nb(
                open_[:, t], high[:, t], low[:, t], close[:, t], order[starts[t] : starts[t + 1]],
                sig_event, sig_entry, sig_exit, sig_direction, sig_weight, params, t, trades,
                taken, equity[:, t], position[:, t],
            )  # fmt: skip
    else:
        equity = np.empty((n, 1))
        simulate_shared_nb(
            open_, high, low, close, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
            sig_weight, params, trades, taken, equity[:, 0], position,
        )  # fmt: skip
    out = compact_trades_nb(trades, taken)
    return out, equity, position, n_sig - out.shape[0]
