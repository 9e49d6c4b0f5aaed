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

The portfolio is an :class:`EvbtPortfolio`: a ``vbt.Portfolio`` whose returns statistics use
evbt's conventions (:mod:`backtest.metrics`), so ``pf.stats()`` and ``pf.sharpe_ratio()``,
``sortino_ratio()``, ``calmar_ratio()`` equal evbt's per ticker (``group_by=True``: the
total's):

- a 252-session year (``freq`` one day, ``year_freq`` 252 days) for Sharpe and Sortino;
- returns from one close to the next: the first session, where vectorbt counts a return
  against the initial cash, has none (NaN, which vectorbt's statistics skip), so the
  drawdown is measured from the first session's equity, as ours;
- the annualised return (and so Calmar) compounds over the calendar span in years of 365.25
  days (evbt's CAGR), not over ``n_returns / 252`` years;
- the benchmark is the run's benchmark (``benchmark``: its closes, e.g. SMH), bought with the
  initial cash at the first session's close, not each ticker's own buy and hold.

``pf.plot()`` works with one ticker and with several (then it plots the total: value,
cumulative returns against the benchmark, drawdowns); ``pf.plot(column="NVDA")`` one
ticker's orders and trades as vectorbt does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from evbt.backtest.enums import CashMode, ExitReason, PriceMode, SimParams, SizeType, StopOn
from evbt.backtest.nb import simulate_nb

if TYPE_CHECKING:
    import vectorbt as vbt

__all__ = ["EvbtPortfolio", "to_vectorbt"]

YEAR_FREQ = "252 days"
"""With a daily ``freq``, vectorbt annualises by ``year_freq / freq`` = 252 (evbt's year)."""

GROUP_SUBPLOTS = ("value", "cum_returns", "drawdowns")
"""What ``EvbtPortfolio.plot()`` shows for several tickers (subplots that support groups)."""


#: ``Portfolio.from_signals`` settings that give vectorbt evbt's fill semantics: stops from
#: the entry price paying slippage, an exit signal beats an entry on the same bar, no
#: reversal or adding to a position (README: deliberate differences from vectorbt).
VBT_SEMANTICS: dict[str, Any] = {
    "stop_entry_price": "price",
    "stop_exit_price": "stopmarket",
    "upon_long_conflict": "exit",
    "upon_short_conflict": "exit",
    "upon_dir_conflict": "ignore",
    "upon_opposite_entry": "ignore",
    "accumulate": False,
    "min_size": 0.0,
}


def _portfolio_class() -> Any:
    """:class:`EvbtPortfolio`, built on first use so importing this module stays light."""
    global EvbtPortfolio
    if EvbtPortfolio is not None:
        return EvbtPortfolio
    import pandas as pd
    import vectorbt as vbt
    from vectorbt.base.reshape_fns import to_1d_array
    from vectorbt.returns.accessors import ReturnsDFAccessor, ReturnsSRAccessor
    from vectorbt.utils.config import Configured, merge_dicts

    from evbt.backtest import metrics

    class _EvbtReturns:
        """vectorbt's returns accessor with evbt's CAGR and Calmar (module docstring)."""

        @property
        def sr_accessor_cls(self) -> Any:
            return _EvbtReturnsSR

        @property
        def df_accessor_cls(self) -> Any:
            return _EvbtReturnsDF

        def _cagr(self) -> np.ndarray:
            acc: Any = self  # a vectorbt returns accessor (the classes below)
            idx = pd.DatetimeIndex(acc.wrapper.index)
            if idx.tz is not None:
                idx = idx.tz_convert(None)
            ends = idx[[0, -1]].to_numpy()
            r = acc.to_2d_array()
            growth = np.nanprod(r + 1.0, axis=0)
            return np.array(
                [-1.0 if g <= 0 else metrics.cagr(np.array([1.0, g]), ends) for g in growth]
            )

        def annualized(self, engine: Any = None, wrap_kwargs: Any = None) -> Any:
            """evbt's CAGR: growth over the calendar span in years of 365.25 days."""
            acc: Any = self
            wrap_kwargs = merge_dicts({"name_or_index": "annualized_return"}, wrap_kwargs)
            return acc.wrapper.wrap_reduced(self._cagr(), group_by=False, **wrap_kwargs)

        def calmar_ratio(self, engine: Any = None, wrap_kwargs: Any = None) -> Any:
            """evbt's Calmar: :func:`backtest.metrics.calmar` of the CAGR and max drawdown."""
            acc: Any = self
            mdd = np.ravel(np.asarray(acc.max_drawdown(engine=engine), dtype=np.float64))
            out = np.array([metrics.calmar(c, d) for c, d in zip(self._cagr(), mdd, strict=True)])
            wrap_kwargs = merge_dicts({"name_or_index": "calmar_ratio"}, wrap_kwargs)
            return acc.wrapper.wrap_reduced(out, group_by=False, **wrap_kwargs)

    class _EvbtReturnsSR(_EvbtReturns, ReturnsSRAccessor):
        pass

    class _EvbtReturnsDF(_EvbtReturns, ReturnsDFAccessor):
        pass

    class _EvbtPortfolio(vbt.Portfolio):
        """A ``vbt.Portfolio`` with evbt's return conventions (see the module docstring)."""

        def __init__(self, *args: Any, benchmark_close: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # kept in the config, so copies and selections (pf["NVDA"]) keep the benchmark
            Configured.__init__(self, **dict(self.config), benchmark_close=benchmark_close)
            self._benchmark_close = benchmark_close

        def benchmark_value(
            self, group_by: Any = None, wrap_kwargs: Any = None, engine: Any = None
        ) -> Any:
            """The run's benchmark bought with the initial cash (of each column or group) at
            the first session's close; vectorbt's own (each ticker's buy and hold) without."""
            if self._benchmark_close is None:
                return super().benchmark_value(
                    group_by=group_by, wrap_kwargs=wrap_kwargs, engine=engine
                )
            b = self._benchmark_close.reindex(self.wrapper.index).ffill().to_numpy(dtype=float)
            cash = to_1d_array(self.get_init_cash(group_by=group_by))
            value = (b / b[0])[:, None] * cash[None, :]
            return self.wrapper.wrap(value, group_by=group_by, **merge_dicts({}, wrap_kwargs))

        def get_returns_acc(
            self,
            group_by: Any = None,
            benchmark_rets: Any = None,
            freq: Any = None,
            year_freq: Any = None,
            use_asset_returns: bool = False,
            defaults: Any = None,
            **kwargs: Any,
        ) -> Any:
            if use_asset_returns:
                returns = self.asset_returns(group_by=group_by)
            else:
                returns = self.returns(group_by=group_by)
            if benchmark_rets is None:
                benchmark_rets = self.benchmark_returns(group_by=group_by)
            # evbt: no return on the first session (vectorbt's is against the initial cash).
            # NaN, not dropped: the statistics skip it and the drawdown starts from there.
            returns = _no_first_return(returns)
            benchmark_rets = _no_first_return(pd.DataFrame(benchmark_rets))
            if isinstance(returns, pd.Series):
                benchmark_rets = benchmark_rets.iloc[:, 0]
            cls = _EvbtReturnsSR if isinstance(returns, pd.Series) else _EvbtReturnsDF
            return cls(
                returns,
                benchmark_rets=benchmark_rets,
                freq=self.wrapper.freq if freq is None else freq,
                year_freq=YEAR_FREQ if year_freq is None else year_freq,
                defaults=defaults,
                **kwargs,
            )

        @property
        def stats_defaults(self) -> dict:
            # vectorbt's stats() passes its global year (365 days) explicitly: evbt's is 252
            from vectorbt.utils.config import merge_dicts

            return merge_dicts(super().stats_defaults, {"settings": {"year_freq": YEAR_FREQ}})

        def stats(self, *args: Any, **kwargs: Any) -> Any:
            if len(self.wrapper.columns) == 1 and kwargs.get("column") is None and not args:
                kwargs = {"column": self.wrapper.columns[0], **kwargs}
            return super().stats(*args, **kwargs)

        def plot(self, *args: Any, **kwargs: Any) -> Any:
            if len(self.wrapper.columns) == 1 and kwargs.get("column") is None and not args:
                # one ticker: vectorbt's plot refuses a one-column frame unless it is named
                kwargs = {"column": self.wrapper.columns[0], **kwargs}
            several = len(self.wrapper.columns) > 1
            if (
                several
                and kwargs.get("column") is None
                and kwargs.get("group_by") is None
                and not args
            ):
                kwargs = {"group_by": True, "subplots": list(GROUP_SUBPLOTS), **kwargs}
            return super().plot(*args, **kwargs)

    _EvbtPortfolio.__name__ = _EvbtPortfolio.__qualname__ = "EvbtPortfolio"
    EvbtPortfolio = _EvbtPortfolio
    return EvbtPortfolio


EvbtPortfolio: Any = None


def _no_first_return(obj: Any) -> Any:
    """A copy of ``obj`` (a Series or frame of returns) as float64 with no return on the
    first session (NaN), its values one C-ordered array.

    vectorbt's Numba kernels are not cached and compile once per process for each array
    layout: a frame's own copy is Fortran-ordered when it has several columns and C-ordered
    when it has one, so the returns statistics (Sharpe, Sortino, drawdown, ...) would
    compile twice; C-ordered values give one layout for one ticker and several."""
    import pandas as pd

    values = np.array(obj, dtype=np.float64, order="C")
    values[0] = np.nan
    if values.ndim == 1:
        return pd.Series(values, index=obj.index, name=obj.name, copy=False)
    return pd.DataFrame(values, index=obj.index, columns=obj.columns, copy=False)


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
    real: Any = None,
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
    benchmark: Any = None,
) -> vbt.Portfolio:
    """Return a ``vectorbt.Portfolio`` with the same trades as :func:`simulate_nb`.

    Arguments are those of :func:`backtest.nb.simulate_nb` (``sig_event`` optional, ``real``
    all True when omitted); ``trades`` may pass the kernel's trades to skip re-running it. ``index``/``columns``
    label the portfolio's sessions/tickers, ``freq`` is passed to vectorbt. ``benchmark``:
    the benchmark's closes on the same sessions (1-D, or a Series on ``index``), the
    portfolio's benchmark; without it vectorbt's own (each ticker's buy and hold).

    Supported: ``CashMode.PER_TICKER`` (vectorbt's cash sharing has no gross cap), any
    ``SizeType`` and ``StopOn``; ``PriceMode.NEXT_OPEN`` only without stops (vectorbt checks
    stops on the session an exit fills at its open, before that fill). Known gaps, where the
    portfolio will not match: a ruined account (a short that loses more than its account:
    vectorbt covers only what its cash pays for and never closes it), a notional short
    larger than the account (we cap it at the account, vectorbt does not), and a next-open
    entry on the last session whose exit falls back to that close (one vectorbt bar holds
    one order). Missing bars (``real`` False) need nothing: the trades come from the kernel,
    which never fills on them, and vectorbt marks them at the same forward-filled closes.
    """
    import pandas as pd
    import vectorbt as vbt

    portfolio_cls = _portfolio_class()
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
    real_a = np.ones(shape, dtype=bool) if real is None else np.asarray(real, dtype=bool)
    if trades is None:
        trades = simulate_nb(
            open_a, high_a, low_a, close_a, real_a, sig_ticker, sig_event, sig_entry, sig_exit,
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

    bench = None
    if benchmark is not None:
        bench = (
            benchmark.reindex(frame(close_a).index)
            if isinstance(benchmark, pd.Series)
            else pd.Series(np.asarray(benchmark, dtype=np.float64), index=frame(close_a).index)
        )
        if len(bench) != n:
            raise ValueError(f"benchmark has {len(bench)} closes but close has {n} sessions")
        bench = bench.astype(np.float64).rename("benchmark")
    # vectorbt's simulate_from_signals_nb takes functions, so Numba cannot cache it: it
    # compiles (several seconds) once per process for each combination of argument types.
    # Every call here therefore passes the same types, whatever the inputs and settings:
    # close as the labelled frame, every other 2-D input as a C-contiguous writable array,
    # the per-ticker settings as [1, n_tickers] rows and the cash as one value per ticker
    # (vectorbt broadcasts all of these to the same values a scalar gives), and open, high
    # and low always (all NaN unless stops are checked intrabar: vectorbt's own default).
    m = shape[1]

    def row(value: float) -> np.ndarray:
        return np.full((1, m), value, dtype=np.float64)

    intrabar = params.stop_on == StopOn.INTRABAR
    no_bar = np.full(shape, np.nan)
    pf = portfolio_cls.from_signals(
        frame(close_a),
        entries=long_entries,
        exits=long_exits,
        short_entries=short_entries,
        short_exits=short_exits,
        price=np.require(price, np.float64, ["C", "W"]),
        size=size,
        size_type=size_type,
        fees=row(params.fees),
        slippage=row(params.slippage),
        sl_stop=row(params.sl_stop),
        tp_stop=row(params.tp_stop),
        **VBT_SEMANTICS,
        init_cash=np.full(m, params.init_cash, dtype=np.float64),
        cash_sharing=False,
        freq=freq,
        open=open_a.copy() if intrabar else no_bar,
        high=high_a.copy() if intrabar else no_bar,
        low=low_a.copy() if intrabar else no_bar,
    )
    return pf if bench is None else pf.replace(benchmark_close=bench)
