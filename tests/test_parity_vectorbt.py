"""Parity of the kernel with vectorbt 1.2 ``Portfolio.from_signals`` (per-ticker accounts).

Generated cases (seeded): random OHLC paths with jumps (gaps through stops), fixed-hold
windows that overlap and run past the last session, long / short / mixed directions, fees,
slippage, stop-loss and take-profit on closes or intrabar, all-in and fractional sizes, fills
at the close or the next open. Each case's tickers become vectorbt columns with their own
parameters, so a few ``from_signals`` calls cover hundreds of cases.

What vectorbt gets: every signal's entry, and the time exits of the windows the kernel took.
vectorbt pairs exits with no entry in particular (any exit closes what is open), so the time
exit of a window that was skipped or stopped out would close a later window early; that is a
deliberate difference (pinned below in ``test_difference_*``), not a fill question. Which
entries vectorbt ignores (in a position, on an exit or stop session) it decides itself.

Compared to 1e-9 relative: trade count, entry/exit sessions, entry/exit prices, sizes, fees,
PnL and return of every trade, open/closed status, direction, and per ticker the whole value
and asset paths and the total return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from evbt.backtest.enums import ExitReason, PriceMode, SignalStatus, SimParams, StopOn, sim_params
from evbt.backtest.nb import simulate_nb

RTOL = 1e-9
SEED = 20240611
# (n_sessions, n_cases) per batch; each batch is one vectorbt call.
BATCHES = ((2, 40), (6, 80), (20, 120), (60, 120), (150, 60))


@dataclass
class Case:
    open_: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    ticker: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    direction: np.ndarray
    weight: np.ndarray
    params: SimParams

    def run(self):
        return simulate_nb(
            self.open_, self.high, self.low, self.close, np.ones(self.close.shape, bool),
            self.ticker,
            np.arange(len(self.ticker)), self.entry, self.exit, self.direction, self.weight,
            self.params,
        )  # fmt: skip


def make_prices(rng, n, m):
    """OHLC random walk with occasional jumps, so stops get gapped through."""
    vol = rng.choice([0.01, 0.025])
    jumps = rng.normal(0.0, 0.07, (n, m)) * (rng.random((n, m)) < 0.08)
    gap = rng.normal(0.0, vol / 2, (n, m)) + jumps
    body = rng.normal(0.0, vol, (n, m))
    log_open = np.log(100.0) + np.cumsum(gap + np.vstack([np.zeros((1, m)), body[:-1]]), axis=0)
    open_ = np.exp(log_open)
    close = open_ * np.exp(body)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, vol / 2, (n, m))))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, vol / 2, (n, m))))
    return open_, high, low, close


def make_case(rng, n):
    m = int(rng.integers(1, 4))
    open_, high, low, close = make_prices(rng, n, m)
    hold = int(rng.choice([1, 2, 3, 5, 10]))
    density = rng.choice([0.1, 0.3, 0.6])
    bars, tickers = np.nonzero(rng.random((n, m)) < density)  # sorted by (entry, ticker)
    next_open = rng.random() < 0.25
    if next_open:
        # A next-open entry on the last session (signal n - 2) with its exit falling back to
        # that session's close is an intraday round trip: one vectorbt bar holds one order.
        keep = ~((bars == n - 2) & (bars + hold == n - 1))
        bars, tickers = bars[keep], tickers[keep]
    kind = rng.choice(["long", "short", "mixed"])
    if kind == "long":
        direction = np.ones(len(bars), dtype=np.int64)
    elif kind == "short":
        direction = -np.ones(len(bars), dtype=np.int64)
    else:
        direction = rng.choice(np.array([-1, 1]), len(bars))
    fractional = rng.random() < 0.25
    weight = rng.choice([0.3, 0.6, 1.0], len(bars)) if fractional else np.ones(len(bars))
    stops = not next_open  # next-open with stops differs deliberately (see test below)
    params = sim_params(
        fees=rng.choice([0.0, 0.0005, 0.003]),
        slippage=rng.choice([0.0, 0.0005, 0.005]),
        sl_stop=rng.choice([np.nan, 0.01, 0.03]) if stops else np.nan,
        tp_stop=rng.choice([np.nan, 0.015, 0.05]) if stops else np.nan,
        price_mode=PriceMode.NEXT_OPEN if next_open else PriceMode.CLOSE,
        stop_on=rng.choice([StopOn.CLOSE, StopOn.INTRABAR]),
        init_cash=rng.choice([100.0, 10_000.0]),
    )
    return Case(
        open_, high, low, close, tickers.astype(np.int64), bars.astype(np.int64),
        (bars + hold).astype(np.int64), direction.astype(np.int64), weight, params,
    )  # fmt: skip


def vbt_inputs(cases, results):
    """Stack the cases' tickers as columns of one vectorbt call."""
    import vectorbt as vbt

    n = cases[0].close.shape[0]
    cols = sum(c.close.shape[1] for c in cases)
    keys = ("close", "price", "open", "high", "low", "size")
    arr = {key: np.full((n, cols), np.nan) for key in keys}
    arr["size"][:] = np.inf
    arr["size_type"] = np.zeros((n, cols), dtype=np.int64)
    signals = {k: np.zeros((n, cols), dtype=bool) for k in ("le", "lx", "se", "sx")}
    per_col = {k: np.zeros(cols) for k in ("fees", "slippage", "sl_stop", "tp_stop", "init_cash")}
    c0 = 0
    for case, (trades, *_rest) in zip(cases, results, strict=True):
        p = case.params
        m = case.close.shape[1]
        sl = slice(c0, c0 + m)
        arr["close"][:, sl] = case.close
        if p.stop_on == StopOn.INTRABAR:
            arr["open"][:, sl], arr["high"][:, sl] = case.open_, case.high
            arr["low"][:, sl] = case.low
        lag = 1 if p.price_mode == PriceMode.NEXT_OPEN else 0
        arr["price"][:, sl] = case.open_ if lag else case.close
        for k in range(len(case.ticker)):
            i, col = case.entry[k] + lag, c0 + case.ticker[k]
            if i < n:
                signals["le" if case.direction[k] > 0 else "se"][i, col] = True
                if case.weight[k] < 1.0:
                    arr["size"][i, col] = case.weight[k]
                    arr["size_type"][i, col] = vbt.portfolio.enums.SizeType.Percent
        for tr in trades:
            if tr["exit_reason"] == ExitReason.TIME:
                j, col = tr["exit_idx"], c0 + tr["ticker"]
                signals["lx" if tr["direction"] > 0 else "sx"][j, col] = True
                if lag and case.exit[tr["signal"]] == n - 1:
                    arr["price"][j, col] = case.close[j, tr["ticker"]]
        for key in per_col:
            per_col[key][sl] = getattr(p, key)
        c0 += m
    return arr, signals, per_col


def run_vbt(arr, signals, per_col):
    import vectorbt as vbt

    df = pd.DataFrame
    row = {k: v[None, :] for k, v in per_col.items() if k != "init_cash"}
    return vbt.Portfolio.from_signals(
        df(arr["close"]),
        entries=signals["le"],
        exits=signals["lx"],
        short_entries=signals["se"],
        short_exits=signals["sx"],
        price=arr["price"],
        open=arr["open"],
        high=arr["high"],
        low=arr["low"],
        size=arr["size"],
        size_type=arr["size_type"],
        init_cash=per_col["init_cash"],
        stop_entry_price="price",
        stop_exit_price="stopmarket",
        upon_long_conflict="exit",
        upon_short_conflict="exit",
        upon_opposite_entry="ignore",
        min_size=0.0,
        **row,
    )


def rel_err(a, b, scale=0.0):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    denom = np.maximum(np.maximum(np.abs(a), np.abs(b)), scale)
    diff = np.abs(a - b)
    return float(np.max(np.where(diff == 0, 0.0, diff / np.where(denom == 0, 1.0, denom))))


class Stats:
    def __init__(self):
        self.cases = 0
        self.max_err: dict[str, float] = {}
        self.count = dict.fromkeys(
            (
                "trades", "short", "open_at_end", "stop", "stop_next_bar", "gap_fill",
                "skipped", "entry_on_exit_bar", "next_open", "fractional", "intrabar",
            ),
            0,
        )  # fmt: skip

    def err(self, name, value):
        self.max_err[name] = max(self.max_err.get(name, 0.0), value)


def compare_batch(n, n_cases, rng, stats):
    cases = [make_case(rng, n) for _ in range(n_cases)]
    results = [case.run() for case in cases]
    pf = run_vbt(*vbt_inputs(cases, results))
    vt = pf.trades.values
    value = pf.value().to_numpy()
    assets = pf.assets().to_numpy()
    total_return = pf.total_return().to_numpy()
    c0 = 0
    for case, (trades, equity, position, status) in zip(cases, results, strict=True):
        p = case.params
        stats.cases += 1
        stats.count["skipped"] += int(np.count_nonzero(status))
        stats.count["next_open"] += p.price_mode == PriceMode.NEXT_OPEN
        stats.count["fractional"] += bool(np.any(case.weight < 1.0))
        stats.count["intrabar"] += p.stop_on == StopOn.INTRABAR
        for t in range(case.close.shape[1]):
            col = c0 + t
            ours = np.sort(trades[trades["ticker"] == t], order="entry_idx")
            theirs = vt[vt["col"] == col]
            theirs = theirs[np.argsort(theirs["entry_idx"], kind="stable")]
            where = f"n={n} case={stats.cases - 1} ticker={t} params={p}"
            assert len(ours) == len(theirs), where
            np.testing.assert_array_equal(ours["entry_idx"], theirs["entry_idx"], err_msg=where)
            np.testing.assert_array_equal(ours["exit_idx"], theirs["exit_idx"], err_msg=where)
            np.testing.assert_array_equal(ours["direction"], 1 - 2 * theirs["direction"], where)
            is_open = ours["exit_reason"] == ExitReason.OPEN
            np.testing.assert_array_equal(is_open, theirs["status"] == 0, err_msg=where)
            notional = ours["size"] * ours["entry_price"]
            for name, theirs_name, scale in (
                ("entry_price", "entry_price", 0.0),
                ("exit_price", "exit_price", 0.0),
                ("size", "size", 0.0),
                ("entry_fees", "entry_fees", 0.0),
                ("exit_fees", "exit_fees", 0.0),
                ("pnl", "pnl", notional),  # vectorbt rounds |exit - entry| < 1e-9 to 0
                ("ret", "return", 1.0),
            ):
                e = rel_err(ours[name], theirs[theirs_name], scale)
                stats.err(name, e)
                assert e <= RTOL, f"{name}: {e} {where}"
            for name, a, b in (
                ("value", equity[:, t], value[:, col]),
                ("position", position[:, t], assets[:, col]),
                ("total_return", equity[-1, t] / p.init_cash - 1.0, total_return[col]),
            ):
                e = rel_err(a, b, 1.0 if name == "total_return" else 0.0)
                stats.err(name, e)
                assert e <= RTOL, f"{name}: {e} {where}"
            # Coverage of the scenarios the parity is meant to include.
            stats.count["trades"] += len(ours)
            stats.count["short"] += int(np.sum(ours["direction"] < 0))
            stats.count["open_at_end"] += int(np.sum(is_open))
            stop = (ours["exit_reason"] == ExitReason.STOP_LOSS) | (
                ours["exit_reason"] == ExitReason.TAKE_PROFIT
            )
            stats.count["stop"] += int(np.sum(stop))
            stats.count["stop_next_bar"] += int(
                np.sum(stop & (ours["exit_idx"] == ours["entry_idx"] + 1))
            )
            if p.stop_on == StopOn.INTRABAR:
                side = ours["direction"]  # exits trade against the position
                opened = case.open_[ours["exit_idx"], t] * (1.0 - side * p.slippage)
                stats.count["gap_fill"] += int(np.sum(stop & (ours["exit_price"] == opened)))
            lag = 1 if p.price_mode == PriceMode.NEXT_OPEN else 0
            time_exits = set(ours["exit_idx"][ours["exit_reason"] == ExitReason.TIME] - lag)
            mine = case.ticker == t
            entries = set(case.entry[mine]) - set(ours["entry_idx"] - lag)
            stats.count["entry_on_exit_bar"] += len(entries & time_exits)
        c0 += case.close.shape[1]


def test_parity_with_vectorbt_from_signals():
    rng = np.random.default_rng(SEED)
    stats = Stats()
    for n, n_cases in BATCHES:
        compare_batch(n, n_cases, rng, stats)
    print(f"\nparity cases={stats.cases} max relative error={stats.max_err}\ncounts={stats.count}")
    assert stats.cases >= 300
    # The generator must keep producing the situations the parity is about.
    for name, minimum in (
        ("trades", 2000),
        ("short", 500),
        ("open_at_end", 100),
        ("stop", 300),
        ("stop_next_bar", 100),
        ("gap_fill", 50),
        ("skipped", 500),
        ("entry_on_exit_bar", 50),
        ("next_open", 50),
        ("fractional", 50),
        ("intrabar", 100),
    ):
        assert stats.count[name] >= minimum, (name, stats.count)


# --- Deliberate differences from vectorbt, pinned so the README's list stays true. ---


def _one_ticker(close, entry, exit_, direction=1, **params):
    close = np.asarray(close, dtype=float)[:, None]
    k = len(entry)
    return simulate_nb(
        close, close, close, close, close > 0, np.zeros(k, dtype=np.int64), np.arange(k),
        np.asarray(entry), np.asarray(exit_), np.full(k, direction), np.ones(k),
        sim_params(**params),
    )  # fmt: skip


def _raw_vbt(close, entry, exit_, *, direction="longonly", price=None, **kwargs):
    """vectorbt's ``from_signals`` on one ticker's raw signals, with vectorbt's own defaults
    apart from ``kwargs`` (``price``: the fill prices, the closes when omitted).

    Called with the argument types of a one-ticker :func:`to_vectorbt` (a one-column
    frame, [n, 1] signal/price/size arrays, [1, 1] fees/slippage/stops, open/high/low all
    NaN, one initial cash per column), each the value vectorbt's default stands for, so
    its uncacheable ``simulate_from_signals_nb`` compiles once for this file's one-ticker
    calls and ``to_vectorbt``'s (about 11 s for each other combination of types)."""
    import vectorbt as vbt

    n = len(close)
    close = np.asarray(close, dtype=np.float64)[:, None]
    entries, exits, none = (np.zeros((n, 1), dtype=bool) for _ in range(3))
    entries[list(entry), 0] = True
    exits[[x for x in exit_ if x < n], 0] = True
    short = {"longonly": False, "shortonly": True}[direction]

    def row(key, default):
        return np.full((1, 1), kwargs.pop(key, default), dtype=np.float64)

    return vbt.Portfolio.from_signals(
        pd.DataFrame(close),
        entries=none if short else entries,
        exits=none if short else exits,
        short_entries=entries if short else none,
        short_exits=exits if short else none,
        price=np.array(close if price is None else np.asarray(price, dtype=np.float64)[:, None]),
        size=np.full((n, 1), np.inf),  # vectorbt's defaults, as arrays
        size_type=np.full((n, 1), vbt.portfolio.enums.SizeType.Amount, dtype=np.int64),
        fees=row("fees", 0.0),
        slippage=row("slippage", 0.0),
        sl_stop=row("sl_stop", np.nan),
        tp_stop=row("tp_stop", np.nan),
        init_cash=np.full(1, 100.0),
        open=np.full((n, 1), np.nan),
        high=np.full((n, 1), np.nan),
        low=np.full((n, 1), np.nan),
        **kwargs,
    )


CLOSE = [100.0, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111]


def test_difference_stale_exit_of_skipped_window_closes_later_trade():
    # A=[0, 4] taken, B=[2, 6] skipped (overlaps A), C=[5, 9] taken and held to 9.
    trades = _one_ticker(CLOSE, [0, 2, 5], [4, 6, 9])[0]
    assert list(zip(trades["entry_idx"], trades["exit_idx"], strict=True)) == [(0, 4), (5, 9)]
    # vectorbt on the raw signals: B's exit at 6 closes C.
    vt = _raw_vbt(CLOSE, [0, 2, 5], [4, 6, 9]).trades.values
    assert list(zip(vt["entry_idx"], vt["exit_idx"], strict=True)) == [(0, 4), (5, 6)]


def test_difference_nested_window_exit_closes_outer_trade():
    # A=[0, 8] taken, B=[2, 4] nested inside it and skipped: A is held to 8.
    trades = _one_ticker(CLOSE, [0, 2], [8, 4])[0]
    assert list(zip(trades["entry_idx"], trades["exit_idx"], strict=True)) == [(0, 8)]
    vt = _raw_vbt(CLOSE, [0, 2], [8, 4]).trades.values
    assert list(zip(vt["entry_idx"], vt["exit_idx"], strict=True)) == [(0, 4)]


def test_difference_stale_time_exit_after_stop_closes_later_trade():
    close = [100.0, 90, 91, 92, 93, 94, 95, 96, 97]
    # A=[0, 5] stopped at 1; C=[3, 7] enters after the stop and is held to 7.
    trades = _one_ticker(close, [0, 3], [5, 7], sl_stop=0.05)[0]
    assert list(zip(trades["entry_idx"], trades["exit_idx"], strict=True)) == [(0, 1), (3, 7)]
    vt = _raw_vbt(close, [0, 3], [5, 7], sl_stop=0.05).trades.values
    assert list(zip(vt["entry_idx"], vt["exit_idx"], strict=True)) == [(0, 1), (3, 5)]


def test_difference_entry_on_exit_session_with_default_conflict_mode():
    # A=[0, 3], B=[3, 6]: B enters on A's exit session, so it is skipped and A exits at 3.
    trades = _one_ticker(CLOSE, [0, 3], [3, 6])[0]
    assert list(zip(trades["entry_idx"], trades["exit_idx"], strict=True)) == [(0, 3)]
    # vectorbt's default upon_long_conflict='ignore' drops both signals: A is held to 6.
    vt = _raw_vbt(CLOSE, [0, 3], [3, 6]).trades.values
    assert list(zip(vt["entry_idx"], vt["exit_idx"], strict=True)) == [(0, 6)]


def test_difference_next_open_exit_beats_stop_on_its_fill_session():
    # Entry signal 0 fills at open[1]; time exit signal 2 fills at open[3]. Session 3 opens at
    # 100 and closes at 80, through the 10% stop: the position is already out at the open.
    close = np.array([100.0, 100, 100, 80, 80])[:, None]
    open_ = np.array([100.0, 100, 100, 100, 80])[:, None]
    params = sim_params(price_mode="next_open", sl_stop=0.1)
    one = np.ones(1, dtype=np.int64)
    trades = simulate_nb(
        open_, open_, close, close, close > 0, 0 * one, 0 * one, 0 * one, 2 * one, one,
        np.ones(1), params,
    )[0]  # fmt: skip
    assert (trades["exit_idx"][0], trades["exit_price"][0]) == (3, 100.0)
    assert trades["exit_reason"][0] == ExitReason.TIME
    # vectorbt with the signals shifted to their fill sessions checks the stop first.
    pf = _raw_vbt(close[:, 0], [1], [3], price=open_[:, 0], sl_stop=0.1, stop_entry_price="price")
    assert pf.trades.values["exit_price"][0] == 80.0


def test_difference_short_losing_more_than_equity_is_covered_in_full():
    # An all-in short whose price triples: we cover the whole position (cash goes negative,
    # the account is ruined); vectorbt can only buy back what its cash pays for and leaves
    # the rest open.
    close = [100.0, 150, 300, 300]
    trades, equity, position, status = _one_ticker(close, [0, 3], [2, 4], direction=-1)
    assert trades["exit_reason"][0] == ExitReason.TIME
    assert status.tolist() == [0, SignalStatus.RUINED]
    assert position[2, 0] == 0.0
    assert equity[-1, 0] < 0.0
    pf = _raw_vbt(close, [0], [2], direction="shortonly")
    assert pf.assets().iloc[2, 0] < 0.0  # still short after the exit signal


def test_difference_next_open_exit_on_last_session_falls_back_to_close():
    # Exit signal on the last session has no next open: we close at the last close with
    # fees; vectorbt, given the signal shifted to its fill session, never sees it.
    close = np.array([100.0, 101, 102, 103])[:, None]
    one = np.ones(1, dtype=np.int64)
    trades = simulate_nb(
        close, close, close, close, close > 0, 0 * one, 0 * one, one, 3 * one, one, np.ones(1),
        sim_params(price_mode="next_open", fees=0.01),
    )[0]  # fmt: skip
    assert trades["exit_reason"][0] == ExitReason.TIME
    assert trades["exit_idx"][0] == 3 and trades["exit_fees"][0] > 0.0


@pytest.mark.parametrize("stop_exit_price", ["stoplimit", "stopmarket"])
def test_difference_vectorbt_default_stop_fills_skip_slippage(stop_exit_price):
    close = [100.0, 90.0, 90.0]
    trades = _one_ticker(close, [0], [2], sl_stop=0.05, slippage=0.01)[0]
    assert trades["exit_price"][0] == pytest.approx(90.0 * 0.99, rel=1e-12)
    pf = _raw_vbt(close, [0], [2], sl_stop=0.05, slippage=0.01, stop_exit_price=stop_exit_price)
    expected = 90.0 if stop_exit_price == "stoplimit" else 90.0 * 0.99
    assert pf.trades.values["exit_price"][0] == pytest.approx(expected, rel=1e-12)


# --- to_vectorbt ---


def _market(seed, n=80, m=3):
    rng = np.random.default_rng(seed)
    open_, high, low, close = make_prices(rng, n, m)
    entry, ticker = np.nonzero(rng.random((n, m)) < 0.2)
    k = len(entry)
    signals = dict(
        sig_ticker=ticker.astype(np.int64),
        sig_entry=entry.astype(np.int64),
        sig_exit=(entry + rng.integers(1, 12, k)).astype(np.int64),
        sig_direction=rng.choice(np.array([1, -1]), k).astype(np.int64),
        sig_weight=rng.choice(np.array([0.5, 1.0]), k),
    )
    return dict(open_=open_, high=high, low=low, close=close), signals


@pytest.mark.parametrize(
    "params",
    [
        sim_params(fees=0.002, slippage=0.001, init_cash=1000.0),
        sim_params(fees=0.001, slippage=0.003, sl_stop=0.02, tp_stop=0.03),
        sim_params(fees=0.001, sl_stop=0.02, tp_stop=0.04, stop_on="intrabar", size=0.7),
        sim_params(fees=0.001, slippage=0.002, price_mode="next_open"),
        sim_params(size_type="notional", size=40.0, slippage=0.001),
    ],
    ids=["close", "close-stops", "intrabar-stops-fraction", "next-open", "notional"],
)
def test_to_vectorbt_has_the_kernel_trades(params):
    from evbt.backtest.interop import to_vectorbt

    prices, signals = _market(5)
    sig_event = np.arange(len(signals["sig_ticker"]), dtype=np.int64)
    trades, equity, _, status = simulate_nb(
        *prices.values(), np.ones(prices["close"].shape, bool), signals["sig_ticker"],
        sig_event, signals["sig_entry"], signals["sig_exit"], signals["sig_direction"],
        signals["sig_weight"], params,
    )  # fmt: skip
    assert len(trades) > 20 and np.count_nonzero(status) > 0
    index = pd.date_range("2024-01-01", periods=80, freq="B")
    columns = ["AAA", "BBB", "CCC"]
    pf = to_vectorbt(**prices, **signals, params=params, index=index, columns=columns)
    assert list(pf.wrapper.columns) == columns and pf.wrapper.index.equals(index)
    vt = pf.trades.values
    ours = np.sort(trades, order=["ticker", "entry_idx"])
    theirs = vt[np.lexsort((vt["entry_idx"], vt["col"]))]
    assert len(ours) == len(theirs)
    np.testing.assert_array_equal(ours["ticker"], theirs["col"])
    np.testing.assert_array_equal(ours["entry_idx"], theirs["entry_idx"])
    np.testing.assert_array_equal(ours["exit_idx"], theirs["exit_idx"])
    for name in ("entry_price", "exit_price", "size", "entry_fees", "exit_fees", "pnl"):
        np.testing.assert_allclose(ours[name], theirs[name], rtol=RTOL, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(pf.value().to_numpy(), equity, rtol=RTOL)
    # Passing the trades in gives the same portfolio without re-running the kernel.
    again = to_vectorbt(**prices, **signals, params=params, trades=trades)
    np.testing.assert_allclose(again.value().to_numpy(), equity, rtol=RTOL)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (sim_params(mode="shared"), "per_ticker"),
        (sim_params(price_mode="next_open", sl_stop=0.05), "next_open with stops"),
    ],
)
def test_to_vectorbt_refuses_what_vectorbt_cannot_mirror(params, message):
    from evbt.backtest.interop import to_vectorbt

    prices, signals = _market(1, n=10, m=1)
    with pytest.raises(ValueError, match=message):
        to_vectorbt(**prices, **signals, params=params)


def test_to_vectorbt_checks_shapes():
    from evbt.backtest.interop import to_vectorbt

    prices, signals = _market(1, n=10, m=2)
    prices["high"] = prices["high"][:, :1]
    with pytest.raises(ValueError, match="high has shape"):
        to_vectorbt(**prices, **signals, params=sim_params())
