"""Hand a simulation to vectorbt: :func:`to_vectorbt` returns an equivalent ``vbt.Portfolio``.

vectorbt 1.2 (``Portfolio.from_signals``) has no notion of an exit belonging to an entry: any
exit signal closes whatever position is open. So the portfolio is built from the trades the
kernel took: their entry sessions become entries, their time exits become exits, and
vectorbt's own stop machinery re-creates the stop exits. The settings that make vectorbt fill
the way :func:`backtest.nb.simulate_nb` does:

- ``stop_entry_price='price'``: stop levels relative to the entry price before slippage;
- ``stop_exit_price='stopmarket'``: stop fills pay slippage like every other fill;
- ``upon_*_conflict='exit'``, ``upon_opposite_entry='ignore'``: an exit wins over an entry
  on the same session, and a position is never reversed or added to;
- size ``np.inf`` for all-in, ``size_type='percent'`` for fractions of equity (equity is cash
  while flat), ``'value'`` for notional amounts; ``min_size=0``;
- ``open``/``high``/``low`` only for ``StopOn.INTRABAR``; for ``PriceMode.NEXT_OPEN`` the
  order price is the next open (the last close where an exit falls back to it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from evbt.backtest.enums import CashMode, ExitReason, PriceMode, SimParams, SizeType, StopOn
from evbt.backtest.nb import simulate_nb

if TYPE_CHECKING:
    import vectorbt as vbt

__all__ = ["to_vectorbt"]


def _as_2d(name: str, a: Any, shape: tuple[int, int] | None = None) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D [n_sessions, n_tickers], got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape} but close has {shape}: align them first")
    return arr


def to_vectorbt(
    *,
    open_: Any,
    high: Any,
    low: Any,
    close: Any,
    sig_ticker: Any,
    sig_entry: Any,
    sig_exit: Any,
    sig_direction: Any,
    sig_weight: Any,
    params: SimParams,
    sig_event: Any = None,
    trades: np.ndarray | None = None,
    index: Any = None,
    columns: Any = None,
    freq: Any = None,
) -> vbt.Portfolio:
    """Return a ``vectorbt.Portfolio`` with the same trades as :func:`simulate_nb`.

    Arguments are those of :func:`backtest.nb.simulate_nb` (``sig_event`` optional);
    ``trades`` may pass the kernel's trades to skip re-running it. ``index``/``columns``
    label the portfolio's sessions/tickers, ``freq`` is passed to vectorbt.

    Supported: ``CashMode.PER_TICKER`` (vectorbt's cash sharing has no gross cap), any
    ``SizeType`` and ``StopOn``; ``PriceMode.NEXT_OPEN`` only without stops (vectorbt checks
    stops on the session an exit fills at its open, before that fill). Known gaps, where the
    portfolio will not match: a short that loses more than its account (vectorbt covers only
    what its cash pays for), a notional short larger than the account (we cap it at the
    account, vectorbt does not), and a next-open entry on the last session whose exit falls
    back to that close (one vectorbt bar holds one order).
    """
    import pandas as pd
    import vectorbt as vbt

    if params.mode != CashMode.PER_TICKER:
        raise ValueError(
            "to_vectorbt needs params.mode=per_ticker: vectorbt's cash sharing has no gross "
            "exposure cap, so a shared_cash run has no vectorbt twin"
        )
    stops = not (np.isnan(params.sl_stop) and np.isnan(params.tp_stop))
    if params.price_mode == PriceMode.NEXT_OPEN and stops:
        raise ValueError(
            "to_vectorbt cannot mirror price_mode=next_open with stops: vectorbt checks stops "
            "on the session a time exit fills at its open, before that fill; use "
            "price_mode=close or switch the stops off"
        )
    close_a = _as_2d("close", close)
    shape = close_a.shape
    open_a = _as_2d("open_", open_, shape)
    high_a = _as_2d("high", high, shape)
    low_a = _as_2d("low", low, shape)
    sig_ticker = np.asarray(sig_ticker, dtype=np.int64)
    sig_entry = np.asarray(sig_entry, dtype=np.int64)
    sig_exit = np.asarray(sig_exit, dtype=np.int64)
    sig_direction = np.asarray(sig_direction, dtype=np.int64)
    sig_weight = np.asarray(sig_weight, dtype=np.float64)
    if sig_event is None:
        sig_event = np.arange(len(sig_ticker), dtype=np.int64)
    sig_event = np.asarray(sig_event, dtype=np.int64)
    if trades is None:
        trades = simulate_nb(
            open_a, high_a, low_a, close_a, sig_ticker, sig_event, sig_entry, sig_exit,
            sig_direction, sig_weight, params,
        )[0]  # fmt: skip

    n, _ = shape
    long_entries = np.zeros(shape, dtype=bool)
    long_exits = np.zeros(shape, dtype=bool)
    short_entries = np.zeros(shape, dtype=bool)
    short_exits = np.zeros(shape, dtype=bool)
    size = np.full(shape, np.inf)
    vbt_size_type = vbt.portfolio.enums.SizeType
    size_type = np.full(shape, vbt_size_type.Amount, dtype=np.int64)
    price = open_a.copy() if params.price_mode == PriceMode.NEXT_OPEN else close_a
    for tr in trades:
        t, i = int(tr["ticker"]), int(tr["entry_idx"])
        long = tr["direction"] > 0
        (long_entries if long else short_entries)[i, t] = True
        amount = params.size * sig_weight[tr["signal"]]
        if params.size_type == SizeType.NOTIONAL:
            size[i, t], size_type[i, t] = amount, vbt_size_type.Value
        elif amount < 1.0:
            size[i, t], size_type[i, t] = amount, vbt_size_type.Percent
        if tr["exit_reason"] == ExitReason.TIME:
            j = int(tr["exit_idx"])
            (long_exits if long else short_exits)[j, t] = True
            if params.price_mode == PriceMode.NEXT_OPEN and sig_exit[tr["signal"]] == n - 1:
                price[j, t] = close_a[j, t]  # no next open: the exit falls back to the close

    def frame(a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=index, columns=columns)

    ohlc: dict[str, Any] = {}
    if params.stop_on == StopOn.INTRABAR:
        ohlc = {"open": frame(open_a), "high": frame(high_a), "low": frame(low_a)}
    return vbt.Portfolio.from_signals(
        frame(close_a),
        entries=frame(long_entries),
        exits=frame(long_exits),
        short_entries=frame(short_entries),
        short_exits=frame(short_exits),
        price=frame(price),
        size=frame(size),
        size_type=frame(size_type),
        fees=params.fees,
        slippage=params.slippage,
        sl_stop=params.sl_stop,
        tp_stop=params.tp_stop,
        stop_entry_price="price",
        stop_exit_price="stopmarket",
        upon_long_conflict="exit",
        upon_short_conflict="exit",
        upon_dir_conflict="ignore",
        upon_opposite_entry="ignore",
        accumulate=False,
        min_size=0.0,
        init_cash=params.init_cash,
        cash_sharing=False,
        freq=freq,
        **ohlc,
    )
