"""The Numba kernels against the plain-Python reference, plus the pieces on their own.

Hypothesis draws prices on an integer grid (so stop levels land exactly on highs, lows and
closes), missing bars (forward-filled as ``backtest.market`` does, flagged in ``real``),
wide moves that can ruin an account, overlapping signals on several tickers, and every
option of ``SimParams``; the kernel
and :func:`backtest.reference.simulate_reference` must agree on every trade field, equity and
position to 1e-9 relative. A subprocess runs the kernels with ``NUMBA_DISABLE_JIT=1`` so
coverage sees their lines and the interpreted run matches the compiled one.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evbt.backtest.enums import (
    CashMode,
    ExitReason,
    PriceMode,
    SignalStatus,
    SimParams,
    SizeType,
    StopOn,
    sim_params,
    trade_dt,
)
from evbt.backtest.jit import gate
from evbt.backtest.nb import entry_units_nb, order_nb, simulate_nb, stop_exit_nb, ticker_groups
from evbt.backtest.reference import simulate_reference

RTOL = 1e-9


def fill_gaps(open_, high, low, close, real):
    """Forward-fill (back-fill before the first bar) the cells that are not real, as
    ``evbt.api.load_market`` does (through ``backtest.market.align_prices``): close carried, open/high/low set to that close."""
    import pandas as pd

    c = pd.DataFrame(np.where(real, close, np.nan)).ffill().bfill().fillna(100.0).to_numpy()
    c = gate(c, np.float64)  # writeable, as the engine passes it (pandas' view is read-only)
    o, h, lo = (np.where(real, a, c) for a in (open_, high, low))
    return o, h, lo, c, real


@st.composite
def markets(draw, max_sessions=25, max_tickers=4):
    n = draw(st.integers(1, max_sessions))
    m = draw(st.integers(1, max_tickers))
    wide = draw(st.booleans())  # wide moves: shorts can lose more than their account
    grid = (st.integers(40, 260) if wide else st.integers(85, 115)).map(float)
    close = np.array(draw(st.lists(grid, min_size=n * m, max_size=n * m))).reshape(n, m)
    open_ = np.array(draw(st.lists(grid, min_size=n * m, max_size=n * m))).reshape(n, m)
    wick = st.integers(0, 4).map(float)
    up = np.array(draw(st.lists(wick, min_size=n * m, max_size=n * m))).reshape(n, m)
    down = np.array(draw(st.lists(wick, min_size=n * m, max_size=n * m))).reshape(n, m)
    high = np.maximum(open_, close) + up
    low = np.minimum(open_, close) - down
    gaps = draw(st.sampled_from([0.0, 0.0, 0.15, 0.4]))
    holes = np.array(draw(st.lists(st.floats(0, 1), min_size=n * m, max_size=n * m)))
    real = holes.reshape(n, m) >= gaps
    return fill_gaps(open_, high, low, close, real)


@st.composite
def signal_sets(draw, n, m):
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),  # entry
                st.integers(0, m - 1),  # ticker
                st.integers(1, n + 2),  # hold; may run past the last session
                st.sampled_from([1, -1]),
                st.sampled_from([0.25, 0.5, 1.0]),
            ),
            max_size=14,
        )
    )
    rows.sort(key=lambda r: (r[0], r[1]))
    k = len(rows)
    col = [np.array([r[i] for r in rows]) for i in range(5)]
    entry = col[0].astype(np.int64).reshape(k)
    return dict(
        sig_ticker=col[1].astype(np.int64).reshape(k),
        sig_event=np.arange(100, 100 + k, dtype=np.int64),
        sig_entry=entry,
        sig_exit=(entry + col[2].astype(np.int64).reshape(k)),
        sig_direction=col[3].astype(np.int64).reshape(k),
        sig_weight=col[4].astype(np.float64).reshape(k),
    )


stops = st.sampled_from([math.nan, 0.01, 0.02, 0.05, 0.1])


@st.composite
def params_strategy(draw):
    size_type = draw(st.sampled_from([0, 1]))
    sizes = [0.3, 1.0] if size_type == 0 else [40.0, 300.0, 5000.0]
    return sim_params(
        fees=draw(st.sampled_from([0.0, 0.001, 0.01])),
        slippage=draw(st.sampled_from([0.0, 0.002, 0.01])),
        sl_stop=draw(stops),
        tp_stop=draw(stops),
        price_mode=draw(st.sampled_from([0, 1])),
        stop_on=draw(st.sampled_from([0, 1])),
        size_type=size_type,
        size=draw(st.sampled_from(sizes)),
        init_cash=draw(st.sampled_from([100.0, 1000.0])),
        mode=draw(st.sampled_from([0, 1])),
        max_gross=draw(st.sampled_from([0.5, 1.0])),
    )


@st.composite
def cases(draw):
    prices = draw(markets())
    signals = draw(signal_sets(*prices[3].shape))
    return (*prices, signals, draw(params_strategy()))


def assert_same(kernel, reference):
    trades, equity, position, status = kernel
    ref_trades, ref_equity, ref_position, ref_status = reference
    assert trades.dtype == trade_dt
    assert status.dtype == np.int8
    assert status.tolist() == ref_status.tolist()
    assert len(trades) == len(ref_trades)
    for name in trade_dt.names:
        np.testing.assert_allclose(trades[name], ref_trades[name], rtol=RTOL, atol=0, err_msg=name)
    np.testing.assert_allclose(equity, ref_equity, rtol=RTOL, atol=0)
    np.testing.assert_allclose(position, ref_position, rtol=RTOL, atol=0)


def run_both(open_, high, low, close, real, signals, params):
    args = (open_, high, low, close, real, *signals.values(), params)
    return simulate_nb(*args), simulate_reference(*args)


@settings(
    derandomize=True,
    max_examples=600,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_kernel_matches_reference(case):
    *prices, signals, params = case
    kernel, reference = run_both(*prices, signals, params)
    assert_same(kernel, reference)
    trades, equity, position, status = kernel
    n, m = prices[3].shape
    # Every signal accounted for: one status each, TRADED exactly for the trade records.
    assert status.min(initial=0) >= 0 and status.max(initial=0) < len(SignalStatus)
    assert np.flatnonzero(status == SignalStatus.TRADED).tolist() == trades["signal"].tolist()
    assert equity.shape == (n, m if params.mode == CashMode.PER_TICKER else 1)
    assert position.shape == (n, m)
    assert np.all(trades["size"] > 0)
    assert np.all(trades["exit_idx"] >= trades["entry_idx"])
    open_ = trades["exit_reason"] == ExitReason.OPEN
    assert np.all(trades["exit_fees"][open_] == 0.0)
    # C1: no fill on a cell that is not a real bar (a ruin close is a valuation, not a fill).
    real = prices[4]
    assert real[trades["entry_idx"], trades["ticker"]].all()
    filled_exit = trades["exit_reason"] != ExitReason.RUINED
    assert real[trades["exit_idx"][filled_exit], trades["ticker"][filled_exit]].all()


def make_market(seed=7, n=60, m=4, gaps=0.0):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, m)), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.01, (n, m)))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, (n, m))))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, (n, m))))
    entry, ticker = np.nonzero(rng.random((n, m)) < 0.15)
    k = len(entry)
    signals = dict(
        sig_ticker=ticker.astype(np.int64),
        sig_event=np.arange(k, dtype=np.int64),
        sig_entry=entry.astype(np.int64),
        sig_exit=(entry + rng.integers(1, 8, k)).astype(np.int64),
        sig_direction=rng.choice(np.array([1, -1]), k).astype(np.int64),
        sig_weight=rng.choice(np.array([0.5, 1.0]), k),
    )
    real = rng.random((n, m)) >= gaps
    return fill_gaps(open_, high, low, close, real), signals


ALL_OPTIONS = [
    sim_params(
        fees=0.001,
        slippage=0.002,
        sl_stop=0.03,
        tp_stop=0.04,
        price_mode=pm,
        stop_on=so,
        size_type=st_,
        size=0.5 if st_ == 0 else 30.0,
        mode=mode,
        max_gross=0.9,
    )
    for pm in (0, 1)
    for so in (0, 1)
    for st_ in (0, 1)
    for mode in (0, 1)
]


@pytest.mark.parametrize("params", ALL_OPTIONS, ids=lambda p: "-".join(map(str, p[4:7] + p[9:10])))
@pytest.mark.parametrize("gaps", [0.0, 0.1])
def test_kernel_matches_reference_on_a_longer_market(params, gaps):
    prices, signals = make_market(gaps=gaps)
    kernel, reference = run_both(*prices, signals, params)
    assert_same(kernel, reference)
    assert len(kernel[0]) > 10


# --- The pieces on their own ---


def test_order_nb_slippage_and_fees_against_the_trader():
    p = sim_params(fees=0.01, slippage=0.02)
    cash, price, fees = order_nb(1000.0, 1, 2.0, 100.0, p)
    assert (price, fees) == pytest.approx((102.0, 2.04))
    assert cash == pytest.approx(1000.0 - 204.0 - 2.04)
    cash, price, fees = order_nb(0.0, -1, 2.0, 100.0, p)
    assert (price, fees, cash) == pytest.approx((98.0, 1.96, 196.0 - 1.96))


def test_entry_units_all_in_spends_cash_with_fees():
    p = sim_params(fees=0.01, slippage=0.02)
    units, capped = entry_units_nb(1, 100.0, 1.0, 1000.0, 1000.0, p)
    assert units * 102.0 * 1.01 == pytest.approx(1000.0) and not capped
    short, capped = entry_units_nb(-1, 100.0, 1.0, 1000.0, 1000.0, p)
    assert short * 98.0 * 1.01 == pytest.approx(1000.0) and not capped


def test_entry_units_caps():
    # Notional sizing: 200 of value at the unslipped price, not capped.
    notional = sim_params(size_type="notional", size=200.0, slippage=0.01)
    assert entry_units_nb(1, 10.0, 1.0, 1000.0, 1000.0, notional) == pytest.approx((20.0, False))
    # A notional larger than the cash is cut to the cash and flagged.
    big = sim_params(size_type="notional", size=5000.0)
    assert entry_units_nb(-1, 10.0, 1.0, 1000.0, 1000.0, big) == pytest.approx((100.0, True))
    # No equity, or only dust: not taken.
    p = sim_params()
    assert entry_units_nb(1, 10.0, 1.0, -5.0, 100.0, p) == (0.0, False)
    assert entry_units_nb(1, 10.0, 1.0, 100.0, 1e-14, p) == (0.0, False)


@pytest.mark.parametrize(
    ("direction", "bar", "expected"),
    [
        (1, (96.0, 99.0, 95.0, 98.0), (96.0, ExitReason.STOP_LOSS)),  # gapped through: open
        (1, (99.0, 99.5, 95.0, 98.0), (97.0, ExitReason.STOP_LOSS)),  # touched: the level
        (1, (99.0, 99.5, 97.5, 98.0), (None, -1)),  # not reached
        (1, (105.0, 106.0, 104.0, 105.0), (105.0, ExitReason.TAKE_PROFIT)),  # gap up
        (1, (101.0, 104.0, 96.5, 103.0), (97.0, ExitReason.STOP_LOSS)),  # both: stop-loss first
        (-1, (102.0, 104.0, 101.0, 103.0), (103.0, ExitReason.STOP_LOSS)),
        (-1, (99.0, 99.5, 96.0, 97.0), (97.0, ExitReason.TAKE_PROFIT)),
    ],
)
def test_stop_exit_intrabar(direction, bar, expected):
    p = sim_params(sl_stop=0.03, tp_stop=0.03, stop_on="intrabar")
    price, reason = stop_exit_nb(direction, 100.0, *bar, p)
    assert reason == expected[1]
    if expected[0] is None:
        assert math.isnan(price)
    else:
        assert price == pytest.approx(expected[0], rel=1e-12)


def test_stop_exit_on_close_ignores_the_range():
    p = sim_params(sl_stop=0.03, stop_on="close")
    assert stop_exit_nb(1, 100.0, 99.0, 99.5, 90.0, 98.0, p)[1] == -1
    assert stop_exit_nb(1, 100.0, 99.0, 99.5, 90.0, 96.0, p) == (96.0, ExitReason.STOP_LOSS)


def test_ticker_groups_is_a_stable_sort():
    order, starts = ticker_groups(np.array([2, 0, 2, 1, 0], dtype=np.int64), 4)
    assert order.tolist() == [1, 4, 3, 0, 2]
    assert starts.tolist() == [0, 2, 3, 5, 5]


# --- Semantics pinned on small hand-made cases ---


def one_ticker(close, entry, exit_, direction=1, open_=None, real=None, **params):
    close = np.asarray(close, dtype=float)[:, None]
    open_ = close if open_ is None else np.asarray(open_, dtype=float)[:, None]
    real = np.ones(close.shape, bool) if real is None else np.asarray(real, bool)[:, None]
    k = len(entry)
    return simulate_nb(
        open_, np.maximum(open_, close), np.minimum(open_, close), close, real,
        np.zeros(k, dtype=np.int64), np.arange(k, dtype=np.int64),
        np.asarray(entry, dtype=np.int64), np.asarray(exit_, dtype=np.int64),
        np.full(k, direction, dtype=np.int64), np.ones(k), sim_params(**params),
    )  # fmt: skip


def spans(trades):
    return [(int(a), int(b)) for a, b in zip(trades["entry_idx"], trades["exit_idx"], strict=True)]


def test_overlapping_and_same_session_entries_are_skipped():
    close = [100.0 + i for i in range(10)]
    trades, equity, position, status = one_ticker(close, [0, 2, 4, 5], [4, 6, 6, 8])
    # [2, 6] overlaps [0, 4]; [4, 6] enters on the session [0, 4] exits; [5, 8] is taken.
    assert spans(trades) == [(0, 4), (5, 8)]
    assert trades["signal"].tolist() == [0, 3]
    assert status.tolist() == [0, SignalStatus.OVERLAP, SignalStatus.OVERLAP, 0]
    assert position[4, 0] == 0.0 and position[5, 0] > 0.0
    assert equity[4, 0] == pytest.approx(104.0)  # all-in from 100 to 104, no fees
    assert np.all(equity[9:, 0] == equity[8, 0])


def test_next_open_fills_and_edges():
    close = [100.0, 101, 102, 103, 104]
    open_ = [99.0, 100.5, 101.5, 102.5, 103.5]
    trades, _, position, status = one_ticker(
        close, [0, 3, 4], [2, 4, 6], open_=open_, price_mode="next_open"
    )
    # Signal 0 fills at open[1] and exits at open[3]; signal [3, 4] enters at open[4] and its
    # exit (last session) falls back to close[4]; signal 4 overlaps it (and has no next open).
    assert spans(trades) == [(1, 3), (4, 4)]
    assert trades["entry_price"].tolist() == [100.5, 103.5]
    assert trades["exit_price"].tolist() == [102.5, 104.0]
    assert status.tolist() == [0, 0, SignalStatus.OVERLAP]
    assert position[:, 0].tolist() == [0.0, trades["size"][0], trades["size"][0], 0.0, 0.0]


def test_open_trade_at_the_end_is_marked_at_the_last_close():
    trades, equity, position, _ = one_ticker([100.0, 110.0, 120.0], [1], [9], fees=0.01)
    assert trades["exit_reason"][0] == ExitReason.OPEN
    assert (trades["exit_idx"][0], trades["exit_price"][0], trades["exit_fees"][0]) == (2, 120, 0)
    assert equity[2, 0] == pytest.approx(trades["size"][0] * 120.0)
    assert trades["pnl"][0] == pytest.approx(equity[2, 0] - 100.0)


def test_stop_checks_start_the_bar_after_the_entry():
    # The entry bar itself falls 20% intrabar: no stop until the next bar.
    close = np.array([[100.0], [100.0], [100.0]])
    low = np.array([[80.0], [99.0], [89.0]])
    one = np.ones(1, dtype=np.int64)
    trades = simulate_nb(
        close, close, low, close, close > 0, 0 * one, 0 * one, 0 * one, 2 * one, one, np.ones(1),
        sim_params(sl_stop=0.1, stop_on="intrabar"),
    )[0]  # fmt: skip
    assert (trades["exit_idx"][0], trades["exit_reason"][0]) == (2, ExitReason.STOP_LOSS)
    assert trades["exit_price"][0] == pytest.approx(90.0)


def test_shared_cash_caps_gross_exposure_and_shares_equity():
    close = np.full((4, 3), 10.0)
    signals = dict(
        sig_ticker=np.array([0, 1, 2], dtype=np.int64),
        sig_event=np.arange(3, dtype=np.int64),
        sig_entry=np.array([0, 0, 1], dtype=np.int64),
        sig_exit=np.array([3, 3, 3], dtype=np.int64),
        sig_direction=np.array([1, -1, 1], dtype=np.int64),
        sig_weight=np.ones(3),
    )
    params = sim_params(mode="shared", size=0.6, max_gross=1.0)
    trades, equity, position, status = simulate_nb(
        close, close, close, close, close > 0, *signals.values(), params
    )
    # Both session-0 entries ask for 60 of 100 of room: each gets the same 5/6, capped;
    # then nothing is left for the session-1 entry.
    assert (trades["size"] * 10.0).tolist() == pytest.approx([50.0, 50.0])
    assert trades["capped"].tolist() == [True, True]
    assert status.tolist() == [0, 0, SignalStatus.GROSS_CAP]
    assert equity.shape == (4, 1)
    np.testing.assert_allclose(equity, 100.0, rtol=1e-12)
    assert position[1].tolist() == pytest.approx([5.0, -5.0, 0.0])


def test_per_ticker_accounts_are_independent():
    prices, signals = make_market(seed=3)
    params = sim_params(fees=0.001, sl_stop=0.05)
    trades, equity, _, _ = simulate_nb(*prices, *signals.values(), params)
    for t in range(prices[3].shape[1]):
        mine = signals["sig_ticker"] == t
        sub = {k: v[mine] for k, v in signals.items()}
        sub["sig_ticker"] = np.zeros(mine.sum(), dtype=np.int64)
        alone = simulate_nb(*(p[:, t : t + 1].copy() for p in prices), *sub.values(), params)
        np.testing.assert_allclose(alone[1][:, 0], equity[:, t], rtol=1e-12)
        np.testing.assert_allclose(
            alone[0]["pnl"], trades["pnl"][trades["ticker"] == t], rtol=1e-12
        )


# --- Input checks ---


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(sig_exit=np.array([0, 5])), "after sig_entry"),
        (dict(sig_ticker=np.array([0, 9])), "column index"),
        (dict(sig_direction=np.array([1, 0])), r"\+1 \(long\)"),
        (dict(sig_weight=np.array([1.0, -1.0])), r"\(0, 1\]"),
        (dict(sig_weight=np.array([1.0, 1e9])), r"\(0, 1\]"),
        (dict(sig_entry=np.array([3, 1]), sig_exit=np.array([5, 5])), "sorted"),
        (dict(sig_event=np.arange(3)), "same length"),
    ],
)
def test_bad_signals_raise(change, message):
    close = np.full((6, 2), 10.0)
    signals = dict(
        sig_ticker=np.array([0, 1]),
        sig_event=np.arange(2),
        sig_entry=np.array([0, 1]),
        sig_exit=np.array([2, 3]),
        sig_direction=np.array([1, 1]),
        sig_weight=np.ones(2),
    )
    signals.update(change)
    signals = {k: v if k == "sig_weight" else v.astype(np.int64) for k, v in signals.items()}
    with pytest.raises(ValueError, match=message):
        simulate_nb(close, close, close, close, close > 0, *signals.values(), sim_params())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # the first signal that breaks a rule decides, whatever rule a later one breaks
        (dict(sig_weight=np.array([1.0, 1.0, -1.0]), sig_ticker=np.array([0, 9, 1])), "column"),
        (dict(sig_exit=np.array([2, 3, 1]), sig_direction=np.array([1, 0, 1])), r"\+1 \(long\)"),
        # and of its rules, the first in the kernel's order (ticker, entry, exit, ...)
        (dict(sig_exit=np.array([2, 1, 4]), sig_weight=np.array([1.0, 0.0, 1.0])), "after"),
        (dict(sig_entry=np.array([1, 0, 2]), sig_weight=np.array([1.0, 1.0, 0.0])), "sorted"),
    ],
)
def test_bad_signals_name_the_first_broken_rule(change, message):
    close = np.full((6, 2), 10.0)
    signals = dict(
        sig_ticker=np.array([0, 1, 1]),
        sig_event=np.arange(3),
        sig_entry=np.array([0, 1, 2]),
        sig_exit=np.array([2, 3, 4]),
        sig_direction=np.array([1, 1, 1]),
        sig_weight=np.ones(3),
    )
    signals.update(change)
    signals = {k: v if k == "sig_weight" else v.astype(np.int64) for k, v in signals.items()}
    with pytest.raises(ValueError, match=message):
        simulate_nb(close, close, close, close, close > 0, *signals.values(), sim_params())


def test_sim_params_checks_and_hints():
    assert sim_params(price_mode="NEXT_OPEN", stop_on="intrabar", mode="shared") == SimParams(
        price_mode=PriceMode.NEXT_OPEN, stop_on=StopOn.INTRABAR, mode=CashMode.SHARED
    )
    assert isinstance(sim_params(fees=0).fees, float)
    assert sim_params(size_type=1).size_type == SizeType.NOTIONAL
    with pytest.raises(TypeError, match="did you mean 'slippage'"):
        sim_params(slipage=0.01)
    with pytest.raises(ValueError, match="did you mean 'next_open'"):
        sim_params(price_mode="next_opn")
    with pytest.raises(ValueError, match="fees"):
        sim_params(fees=-0.1)
    with pytest.raises(ValueError, match="sl_stop"):
        sim_params(sl_stop=0.0)
    with pytest.raises(ValueError, match="mode"):
        sim_params(mode=2)
    # No leverage, and a finite account (C1).
    with pytest.raises(ValueError, match="leverage"):
        sim_params(size=5.0)
    assert sim_params(size_type="notional", size=5.0).size == 5.0
    with pytest.raises(ValueError, match="max_gross"):
        sim_params(max_gross=3.0)
    with pytest.raises(ValueError, match="init_cash"):
        sim_params(init_cash=math.inf)


# --- Interpreted run, so coverage sees the kernels ---

NO_JIT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from numba.core import config
    from evbt.backtest.nb import simulate_nb
    from evbt.backtest.enums import sim_params
    from tests.test_kernel_reference import ALL_OPTIONS, make_market

    assert config.DISABLE_JIT and not hasattr(simulate_nb, "signatures")
    prices, signals = make_market(seed=11, n=25, m=3, gaps=0.1)
    out = []
    for params in ALL_OPTIONS:
        trades, equity, position, status = simulate_nb(*prices, *signals.values(), params)
        out.append(dict(
            trades={name: trades[name].tolist() for name in trades.dtype.names},
            equity=equity.tolist(), position=position.tolist(), status=status.tolist(),
        ))
    json.dump(out, sys.stdout)
    """
)


def test_kernels_without_jit_match_the_compiled_run():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", NO_JIT_SCRIPT],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    interpreted = json.loads(proc.stdout)
    prices, signals = make_market(seed=11, n=25, m=3, gaps=0.1)
    assert len(interpreted) == len(ALL_OPTIONS)
    for params, got in zip(ALL_OPTIONS, interpreted, strict=True):
        trades, equity, position, status = simulate_nb(*prices, *signals.values(), params)
        assert got["status"] == status.tolist()
        for name in trade_dt.names:
            np.testing.assert_allclose(got["trades"][name], trades[name], rtol=1e-12, atol=0)
        np.testing.assert_allclose(got["equity"], equity, rtol=1e-12, atol=0)
        np.testing.assert_allclose(got["position"], position, rtol=1e-12, atol=0)


@settings(
    derandomize=True,
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases(), st.randoms(use_true_random=False))
def test_shared_cash_sizes_do_not_depend_on_ticker_order(case, rnd):
    """C1 fairness: renumbering the tickers (their names' order) changes no trade."""
    *prices, signals, params = case
    params = params._replace(mode=CashMode.SHARED)
    m = prices[3].shape[1]
    perm = list(range(m))
    rnd.shuffle(perm)
    new_of = np.argsort(perm)  # column perm[j] of the old market is column j of the new
    moved = [np.ascontiguousarray(p[:, perm]) for p in prices]
    tick = new_of[signals["sig_ticker"]].astype(np.int64)
    order = np.lexsort((tick, signals["sig_entry"]))
    sig2 = {k: v[order] for k, v in signals.items()}
    sig2["sig_ticker"] = tick[order]
    a = simulate_nb(*prices, *signals.values(), params)
    b = simulate_nb(*moved, *sig2.values(), params)
    ta = a[0][np.argsort(a[0]["event"])]
    tb = b[0][np.argsort(b[0]["event"])]
    assert ta["event"].tolist() == tb["event"].tolist()
    for name in ("entry_idx", "exit_idx", "exit_reason", "capped"):
        assert ta[name].tolist() == tb[name].tolist(), name
    for name in ("size", "entry_price", "exit_price", "pnl"):
        np.testing.assert_allclose(ta[name], tb[name], rtol=1e-9, atol=1e-9, err_msg=name)
    assert sorted(a[3].tolist()) == sorted(b[3].tolist())
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-9)


def _observe_branchy(a, i, e, blk, tb, K):
    """The sweep's running sums as first written (one branch per statistic, the drawdown
    divided at every session): the reference the faster ``_observe_nb`` must match."""
    if a[K.A_RUIN] >= 0.0:
        return
    if i == 0:
        a[K.A_E0] = e
        a[K.A_PEAK] = e
    else:
        r = e / a[K.A_PREV] - 1.0
        r2 = r * r
        a[K.A_SUM] += r
        a[K.A_SUMSQ] += r2
        a[K.A_SUM3] += r2 * r
        a[K.A_SUM4] += r2 * r2
        if abs(r) > a[K.A_MAXABS]:
            a[K.A_MAXABS] = abs(r)
        if r < 0.0:
            a[K.A_NEGSQ] += r2
        if abs(r) > K.NZ_TOL:
            a[K.A_NZ] += 1.0
        if blk >= 0:
            tb[blk, 0] += r
            tb[blk, 1] += r2
    if e > a[K.A_PEAK]:
        a[K.A_PEAK] = e
    dd = e / a[K.A_PEAK] - 1.0
    if dd < a[K.A_MDD]:
        a[K.A_MDD] = dd
    a[K.A_PREV] = e
    a[K.A_ELAST] = e
    if not (e > 0.0):
        a[K.A_RUIN] = i


@pytest.mark.parametrize("seed", range(6))
def test_observe_equals_the_branchy_running_sums_bit_for_bit(seed):
    """``_observe_nb`` sums and keeps the peak and drawdown without branches; on random
    paths with equities placed within a few ulps of ``peak * (1 + mdd)`` (a new drawdown
    or not) and of the peak, every field is bit-identical to the plain version (regression
    test for the sweep's exactness)."""
    from evbt.backtest import sweep_nb as K

    rng = np.random.default_rng(seed)
    n = 3000
    a = np.zeros((1, K.N_ACC))
    ref = np.zeros(K.N_ACC)
    init = float(rng.uniform(50.0, 1e6))
    for row in (a[0], ref):
        row[K.A_E0] = row[K.A_ELAST] = row[K.A_PEAK] = row[K.A_PREV] = init
        row[K.A_RUIN] = -1.0
    tb, tb_ref = np.zeros((4, 2)), np.zeros((4, 2))
    fields = list(range(K.N_ACC))
    e = init
    for i in range(n):
        u = rng.random()
        if u < 0.15:  # a few ulps around the equity that would set a new drawdown
            e = ref[K.A_PEAK] * (1.0 + ref[K.A_MDD])
            e = float(e + rng.integers(-4, 5) * np.spacing(e))
        elif u < 0.25:  # at, just above or just below the peak
            e = float(ref[K.A_PEAK] + rng.integers(-2, 3) * np.spacing(ref[K.A_PEAK]))
        elif u < 0.3:
            e = float(ref[K.A_PREV])  # unchanged
        else:
            e = float(e * np.exp(rng.normal(0.0, 0.02)))
        blk = int(rng.integers(-1, 4))
        K._observe_nb(a, 0, i, e, blk, tb)
        _observe_branchy(ref, i, e, blk, tb_ref, K)
        # at every session: a later, deeper drawdown would hide a missed one in the end
        assert np.array_equal(a[0, fields].view(np.uint64), ref[fields].view(np.uint64)), i
    assert np.array_equal(tb.view(np.uint64), tb_ref.view(np.uint64))
    assert ref[K.A_MDD] < 0.0  # the paths did draw down
