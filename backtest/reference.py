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
    MIN_ORDER_FRAC,
    CashMode,
    ExitReason,
    PriceMode,
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
    open_, high, low, close, sig_ticker, sig_event, sig_entry, sig_exit, sig_direction,
    sig_weight, params: SimParams,
):  # fmt: skip
    """Plain-Python twin of :func:`backtest.nb.simulate_nb`; same return values."""
    n, m = close.shape
    n_sig = len(sig_ticker)
    shared = params.mode == CashMode.SHARED
    lag = 1 if params.price_mode == PriceMode.NEXT_OPEN else 0
    n_accounts = 1 if shared else m
    cash = [float(params.init_cash)] * n_accounts
    positions: dict[int, _Position] = {}  # ticker -> open position, in entry order
    last_exit: dict[int, int] = {}  # ticker -> exit session of its last trade
    records: dict[int, dict] = {}
    equity = np.zeros((n, n_accounts))
    position = np.zeros((n, m))

    fills_at = defaultdict(list)  # session -> signals whose entry fills there
    for k in range(n_sig):
        fills_at[int(sig_entry[k]) + lag].append(k)

    def account(ticker):
        return 0 if shared else ticker

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

    def enter(k, i, prices):
        t = int(sig_ticker[k])
        if t in positions or int(sig_entry[k]) <= last_exit.get(t, -1):
            return
        price = prices[t]
        if not (np.isfinite(price) and price > 0):
            return
        a = account(t)
        held = [p for p in positions.values() if account(p.ticker) == a]
        values = [p.direction * p.units * prices[p.ticker] for p in held]
        equity_now = cash[a]
        for value in values:
            equity_now += value
        gross = sum(abs(value) for value in values)
        if not equity_now > 0:
            return
        direction = int(sig_direction[k])
        fill_price = price * (1.0 + params.slippage if direction > 0 else 1.0 - params.slippage)
        amount = params.size * float(sig_weight[k])
        if params.size_type == SizeType.EQUITY_FRACTION:
            units = amount * equity_now / ((1.0 + params.fees) * fill_price)
        else:
            units = amount / price
        if direction > 0 or not shared:
            units = min(units, cash[a] / ((1.0 + params.fees) * fill_price))
        if shared:
            units = min(units, (params.max_gross * equity_now - gross) / price)
        if not (units > 0 and units * price > MIN_ORDER_FRAC * equity_now):
            return
        fill_price, fees = trade(a, direction, units, price)
        records[k] = dict(
            ticker=t,
            event=int(sig_event[k]),
            signal=k,
            direction=direction,
            entry_idx=i,
            entry_price=fill_price,
            size=units,
            entry_fees=fees,
        )
        positions[t] = _Position(k, t, direction, units, price, i, int(sig_exit[k]))
        last_exit[t] = int(sig_exit[k])

    for i in range(n):
        if lag == 1:
            for pos in list(positions.values()):
                if pos.exit_signal == i - 1:
                    exit_position(pos, open_[i, pos.ticker], i, ExitReason.TIME)
            for k in fills_at[i]:
                enter(k, i, open_[i])
        for pos in list(positions.values()):
            if pos.entry_idx < i:
                t = pos.ticker
                hit = _stop(
                    pos.direction, pos.entry_price, open_[i, t], high[i, t], low[i, t],
                    close[i, t], params,
                )  # fmt: skip
                if hit is not None:
                    exit_position(pos, hit[0], i, hit[1])
                    last_exit[t] = i
        if lag == 0 or i == n - 1:
            for pos in list(positions.values()):
                if pos.exit_signal == i:
                    exit_position(pos, close[i, pos.ticker], i, ExitReason.TIME)
        if lag == 0:
            for k in fills_at[i]:
                enter(k, i, close[i])
        for a in range(n_accounts):
            equity[i, a] = cash[a]
        for t, pos in positions.items():
            units = pos.direction * pos.units
            position[i, t] = units
            equity[i, account(t)] += units * close[i, t]

    for pos in positions.values():
        finish(pos, n - 1, close[n - 1, pos.ticker], 0.0, ExitReason.OPEN)

    trades = np.zeros(len(records), dtype=trade_dt)
    for j, k in enumerate(sorted(records)):
        for name, value in records[k].items():
            trades[j][name] = value
    return trades, equity, position, n_sig - len(records)
