"""Slow, obvious plain-Python reference of :func:`backtest.nb.simulate_nb`.

Same inputs, same outputs, same semantics (see :mod:`backtest.nb`), written differently on
purpose: one session-by-session loop for both cash modes, positions in a dict, signals looked
up by the session they fill in. Tests compare the kernel with it on random inputs; keep it
simple rather than fast.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

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

__all__ = ["simulate_reference"]


@dataclass
class _Position:
    signal: int
    ticker: int
    direction: int
    units: float
    entry_price: float  # before slippage: the stop levels' base
    entry_idx: int
    exit_signal: int
    runs_open: bool  # its time exit lies past the ticker's last real bar


def _stop(direction, base, o, h, lo, c, params):
    """(price, reason) if a stop fires on this bar, else None."""
    if params.stop_on == StopOn.CLOSE:
        o = h = lo = c
    else:
        o = c if np.isnan(o) else o
        lo = min(o, c) if np.isnan(lo) else lo
        h = max(o, c) if np.isnan(h) else h
    checks = []
    if not np.isnan(params.sl_stop):
        checks.append((ExitReason.STOP_LOSS, -direction * params.sl_stop))
    if not np.isnan(params.tp_stop):
        checks.append((ExitReason.TAKE_PROFIT, direction * params.tp_stop))
    for reason, move in checks:
        level = base * (1.0 + move)
        # The stop waits on the side of the level the position came from; a bar that opens
        # beyond it fills at the open, a bar whose range reaches it fills at the level.
        opened_beyond = o <= level if move < 0 else level <= o
        if opened_beyond:
            return o, reason
        if lo <= level <= h:
            return level, reason
    return None


def simulate_reference(
    open_, high, low, close, real, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params: SimParams,
):  # fmt: skip
    """Plain-Python twin of :func:`backtest.nb.simulate_nb`; same return values."""
    n, m = close.shape
    real = np.asarray(real, dtype=bool)
    n_sig = len(sig_ticker)
    shared = params.mode == CashMode.SHARED
    lag = 1 if params.price_mode == PriceMode.NEXT_OPEN else 0
    n_accounts = 1 if shared else m
    cash = [float(params.init_cash)] * n_accounts
    ruined_at: list[int | None] = [None] * n_accounts  # session each account was ruined at
    positions: dict[int, _Position] = {}  # ticker -> open position, in entry order
    last_exit: dict[int, int] = {}  # ticker -> exit session of its last trade
    last_real = [int(np.flatnonzero(real[:, t])[-1]) if real[:, t].any() else -1 for t in range(m)]
    records: dict[int, dict] = {}
    status = np.full(n_sig, -1, dtype=np.int8)
    equity = np.zeros((n, n_accounts))
    position = np.zeros((n, m))

    fills_at = defaultdict(list)  # session -> signals whose entry fills there
    for k in range(n_sig):
        fills_at[int(sig_entry[k]) + lag].append(k)

    def account(ticker):
        return 0 if shared else ticker

    def exit_bar(x):
        if x >= n:
            return n
        return x if lag == 0 or x == n - 1 else x + 1

    def trade(a, side, units, price):
        """Cash moves of one fill on account a; returns (fill price, fees)."""
        fill_price = (
            price * (1.0 + params.slippage) if side > 0 else price * (1.0 - params.slippage)
        )
        value = units * fill_price
        fees = value * params.fees
        cash[a] += -value - fees if side > 0 else value - fees
        return fill_price, fees

    def finish(pos, idx, exit_price, exit_fees, reason):
        rec = records[pos.signal]
        entry_value = rec["size"] * rec["entry_price"]
        gain = rec["size"] * exit_price - entry_value
        pnl = gain * pos.direction - rec["entry_fees"] - exit_fees
        rec.update(
            exit_idx=idx,
            exit_price=exit_price,
            exit_fees=exit_fees,
            pnl=pnl,
            ret=pnl / entry_value,
            exit_reason=reason,
        )

    def exit_position(pos, price, idx, reason):
        fill_price, fees = trade(account(pos.ticker), -pos.direction, pos.units, price)
        finish(pos, idx, fill_price, fees, reason)
        del positions[pos.ticker]

    def screen(k, i, prices):
        """Status rules 2-5 for signal k filling at session i; None if it may be sized."""
        t = int(sig_ticker[k])
        same = k > 0 and sig_entry[k - 1] == sig_entry[k] and sig_ticker[k - 1] == sig_ticker[k]
        if int(sig_entry[k]) <= last_exit.get(t, -1) or same:
            return SignalStatus.OVERLAP
        if not real[i, t]:
            return SignalStatus.NO_BAR_ENTRY
        xb = exit_bar(int(sig_exit[k]))
        if xb <= last_real[t] and not real[xb, t]:
            return SignalStatus.NO_BAR_EXIT
        if not (np.isfinite(prices[t]) and prices[t] > 0):
            return SignalStatus.BAD_PRICE
        return None

    def open_position(k, i, units, price, capped):
        t = int(sig_ticker[k])
        direction = int(sig_direction[k])
        fill_price, fees = trade(account(t), direction, units, price)
        records[k] = dict(
            ticker=t,
            event=int(sig_event[k]),
            signal=k,
            direction=direction,
            entry_idx=i,
            entry_price=fill_price,
            size=units,
            entry_fees=fees,
            capped=capped,
        )
        x = int(sig_exit[k])
        positions[t] = _Position(k, t, direction, units, price, i, x, exit_bar(x) > last_real[t])
        last_exit[t] = x
        status[k] = SignalStatus.TRADED

    def desired(k, price, equity_now):
        direction = int(sig_direction[k])
        amount = params.size * float(sig_weight[k])
        if params.size_type == SizeType.EQUITY_FRACTION:
            fill_price = price * (1.0 + direction * params.slippage)
            return amount * equity_now / ((1.0 + params.fees) * fill_price)
        return amount / price

    def enter_all(ks, i, prices):
        """Entries of signals ks, all filling at session i at prices (one batch per account)."""
        for a in range(n_accounts):
            batch = [k for k in ks if account(int(sig_ticker[k])) == a]
            if not batch:
                continue
            if ruined_at[a] is not None:
                for k in batch:
                    status[k] = SignalStatus.RUINED
                continue
            ready = []
            for k in batch:
                why = screen(k, i, prices)
                if why is None:
                    ready.append(k)
                else:
                    status[k] = why
            if not ready:
                continue
            held = [p for p in positions.values() if account(p.ticker) == a]
            values = [p.direction * p.units * prices[p.ticker] for p in held]
            equity_now = cash[a]
            for value in values:
                equity_now += value
            gross = sum(abs(value) for value in values)
            if not equity_now > 0:
                for k in ready:
                    status[k] = SignalStatus.NO_CASH
                continue
            if not shared:
                (k,) = ready  # one signal per ticker account and session
                t, direction = int(sig_ticker[k]), int(sig_direction[k])
                want = desired(k, prices[t], equity_now)
                fill_price = prices[t] * (1.0 + direction * params.slippage)
                cap = cash[a] / ((1.0 + params.fees) * fill_price)
                units = min(want, cap)
                if units > 0 and units * prices[t] > MIN_ORDER_FRAC * equity_now:
                    open_position(k, i, units, prices[t], cap < want * (1.0 - CAP_TOL))
                else:
                    status[k] = SignalStatus.NO_CASH
                continue
            wants = [desired(k, prices[int(sig_ticker[k])], equity_now) for k in ready]
            need_cash = sum(
                w * (1.0 + params.fees) * prices[int(sig_ticker[k])] * (1.0 + params.slippage)
                for k, w in zip(ready, wants, strict=True)
                if sig_direction[k] > 0
            )
            need_gross = sum(
                w * prices[int(sig_ticker[k])] for k, w in zip(ready, wants, strict=True)
            )
            room = params.max_gross * equity_now - gross
            f_cash = (
                1.0
                if need_cash <= max(cash[a], 0.0) or need_cash == 0
                else max(cash[a], 0.0) / need_cash
            )
            f_gross = 1.0 if need_gross <= room else max(room, 0.0) / need_gross
            f = min(f_cash, f_gross)
            refused = SignalStatus.NO_CASH if f_cash <= f_gross else SignalStatus.GROSS_CAP
            for k, w in zip(ready, wants, strict=True):
                price = prices[int(sig_ticker[k])]
                units = w * f if f < 1.0 else w
                if units > 0 and units * price > MIN_ORDER_FRAC * equity_now:
                    open_position(k, i, units, price, f < 1.0 - CAP_TOL)
                else:
                    status[k] = refused

    for i in range(n):
        if lag == 1:
            for pos in list(positions.values()):
                if not pos.runs_open and pos.exit_signal == i - 1:
                    exit_position(pos, open_[i, pos.ticker], i, ExitReason.TIME)
            enter_all(fills_at[i], i, open_[i])
        for pos in list(positions.values()):
            t = pos.ticker
            if pos.entry_idx < i and real[i, t]:
                hit = _stop(
                    pos.direction, pos.entry_price, open_[i, t], high[i, t], low[i, t],
                    close[i, t], params,
                )  # fmt: skip
                if hit is not None:
                    exit_position(pos, hit[0], i, hit[1])
                    last_exit[t] = i
        if lag == 0 or i == n - 1:
            for pos in list(positions.values()):
                if not pos.runs_open and pos.exit_signal == i:
                    exit_position(pos, close[i, pos.ticker], i, ExitReason.TIME)
        if lag == 0:
            enter_all(fills_at[i], i, close[i])
        for a in range(n_accounts):
            equity[i, a] = cash[a]
        for t, pos in positions.items():
            units = pos.direction * pos.units
            position[i, t] = units
            equity[i, account(t)] += units * close[i, t]
        for a in range(n_accounts):
            if ruined_at[a] is None and not equity[i, a] > 0:
                ruined_at[a] = i
                for pos in [p for p in positions.values() if account(p.ticker) == a]:
                    cash[a] += pos.direction * pos.units * close[i, pos.ticker]
                    finish(pos, i, close[i, pos.ticker], 0.0, ExitReason.RUINED)
                    del positions[pos.ticker]
                equity[i, a] = cash[a]

    for k in range(n_sig):
        if status[k] < 0:  # its fill session lies past the data
            t = int(sig_ticker[k])
            same = k > 0 and sig_entry[k - 1] == sig_entry[k] and sig_ticker[k - 1] == t
            if ruined_at[account(t)] is not None:
                status[k] = SignalStatus.RUINED
            elif int(sig_entry[k]) <= last_exit.get(t, -1) or same:
                status[k] = SignalStatus.OVERLAP
            else:
                status[k] = SignalStatus.NO_BAR_ENTRY

    for pos in positions.values():
        j = last_real[pos.ticker]
        finish(pos, j, close[j, pos.ticker], 0.0, ExitReason.OPEN)

    trades = np.zeros(len(records), dtype=trade_dt)
    for j, k in enumerate(sorted(records)):
        for name, value in records[k].items():
            trades[j][name] = value
    return trades, equity, position, status
