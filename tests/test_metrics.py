"""Tests of backtest.metrics.

Every metric is checked three ways:

1. against a plain pandas computation written here independently (``pct_change``,
   ``cummax``, boolean masks, ``groupby``) on hypothesis-generated equity curves, trade
   tables and positions (derandomized, no deadline);
2. on hand-made curves whose expected value is derived in a comment;
3. against vectorbt 1.2's returns accessor where its conventions agree with ours (see
   ``TestAgainstVectorbt`` for where they do not).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evbt.backtest import metrics as m
from evbt.errors import InputError

PPY = 252
SEARCH = settings(derandomize=True, deadline=None, max_examples=200)
# The module's rule for a std that is rounding noise: std <= 1e-12 * (1 + max|r|) (see
# metrics._STD_TOL); restated here so a change of the rule fails these tests.
STD_TOL = 1e-12
EPS = np.finfo(np.float64).eps


def close(actual, expected, *, rtol=1e-9, atol=1e-12, err_msg=""):
    """Equal within tolerance; NaN equals NaN and +inf equals +inf."""
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=atol, equal_nan=True, err_msg=err_msg
    )


def sessions(days_from_start: list[int], start: str = "2021-01-04") -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(days_from_start, unit="D"))


NO_TRADES = pd.DataFrame({"pnl": [], "ret": [], "exit_reason": []})


# ---------------------------------------------------------------------------------------
# hypothesis strategies
# ---------------------------------------------------------------------------------------


@st.composite
def equity_curves(draw, min_sessions: int = 1, max_sessions: int = 60) -> pd.Series:
    """Positive curves on sorted, unique dates 1-5 calendar days apart.

    Either arbitrary levels in [1, 1e4] (jumps, flat runs, exact repeats) or a curve
    compounded from whole-basis-point returns in [-20%, +20%] (realistic daily moves).
    """
    n = draw(st.integers(min_sessions, max_sessions))
    gaps = draw(st.lists(st.integers(1, 5), min_size=n - 1, max_size=n - 1))
    index = sessions(np.concatenate([[0], np.cumsum(gaps, dtype=np.int64)]).tolist())
    if draw(st.booleans()):
        levels = st.floats(1.0, 1e4, allow_nan=False, allow_infinity=False)
        values = np.array(draw(st.lists(levels, min_size=n, max_size=n)))
    else:
        bps = np.array(draw(st.lists(st.integers(-2000, 2000), min_size=n - 1, max_size=n - 1)))
        values = 100.0 * np.cumprod(np.concatenate([[1.0], 1.0 + bps / 1e4]))
    return pd.Series(values, index=index, name="strategy")


@st.composite
def trade_tables(draw, max_trades: int = 30) -> pd.DataFrame:
    """Trades with wins, losses, exact zeros and open trades (pnl NaN or marked)."""
    n = draw(st.integers(0, max_trades))
    pnl_value = st.one_of(st.just(0.0), st.floats(-1e4, 1e4, allow_nan=False))
    rows = draw(
        st.lists(
            st.tuples(
                pnl_value,
                st.floats(-1.0, 5.0, allow_nan=False),
                st.sampled_from([0, 1, 2, m.OPEN]),
                st.booleans(),  # an open trade's pnl is NaN (True) or marked to market
                st.sampled_from(["launch-a", "launch-b", "earn-c"]),
                st.sampled_from(["NVDA", "MSFT"]),
            ),
            min_size=n,
            max_size=n,
        )
    )
    pnl = [np.nan if (reason == m.OPEN and nan) else p for p, _, reason, nan, _, _ in rows]
    return pd.DataFrame(
        {
            "pnl": pd.Series(pnl, dtype=np.float64),
            "ret": pd.Series([r[1] for r in rows], dtype=np.float64),
            "exit_reason": pd.Series([r[2] for r in rows], dtype=np.int64),
            "event_id": pd.Series([r[4] for r in rows], dtype=object),
            "ticker": pd.Series([r[5] for r in rows], dtype=object),
        }
    )


# ---------------------------------------------------------------------------------------
# independent pandas references
# ---------------------------------------------------------------------------------------


def ref_returns(equity: pd.Series) -> pd.Series:
    return equity.pct_change().iloc[1:]


def ref_std_is_zero(r: pd.Series) -> bool:
    return bool(r.std() <= STD_TOL * (1 + r.abs().max()))


def ratio_atol(excess: np.ndarray, denominator: float) -> float:
    """Absolute tolerance for mean(excess) / denominator * sqrt(252) computed two ways.

    Two implementations sum the mean in different orders (NumPy pairwise, vectorbt's Numba
    loop): their means may differ by up to ~n * eps * max|x|, which matters when the mean is
    near 0 and the denominator tiny (a curve compounding at exactly the risk-free rate).
    """
    x = np.asarray(excess, dtype=np.float64)
    if not (x.size and denominator > 0 and np.isfinite(denominator)):
        return 0.0
    return float(4 * x.size * EPS * np.max(np.abs(x)) / denominator * math.sqrt(PPY))


def ref_cagr(equity: pd.Series) -> float:
    years = (equity.index[-1] - equity.index[0]).days / 365.25
    if years == 0:
        return math.nan
    try:
        return (equity.iloc[-1] / equity.iloc[0]) ** (1 / years) - 1
    except OverflowError:  # Python floats raise where NumPy gives inf
        return math.inf


def ref_max_drawdown(equity: pd.Series) -> float:
    return (equity / equity.cummax() - 1).min()


def ref_sharpe(equity: pd.Series, rf: float = 0.0) -> float:
    r = ref_returns(equity)
    if len(r) < 2 or ref_std_is_zero(r):
        return math.nan
    return (r - rf).mean() / r.std() * math.sqrt(PPY)


def ref_sortino(equity: pd.Series, rf: float = 0.0) -> float:
    x = ref_returns(equity) - rf
    if len(x) < 2:
        return math.nan
    downside = math.sqrt((x.clip(upper=0) ** 2).mean())
    if downside == 0:
        return math.inf if x.mean() > 0 else math.nan
    return x.mean() / downside * math.sqrt(PPY)


def ref_ratio_atols(equity: pd.Series, rf: float = 0.0) -> tuple[float, float]:
    """:func:`ratio_atol` for the Sharpe and the Sortino of ``equity``."""
    x = (ref_returns(equity) - rf).to_numpy()
    if len(x) < 2:
        return 0.0, 0.0
    downside = math.sqrt(float(np.mean(np.minimum(x, 0) ** 2)))
    return ratio_atol(x, float(np.std(x, ddof=1))), ratio_atol(x, downside)


def ref_calmar(equity: pd.Series) -> float:
    growth, mdd = ref_cagr(equity), ref_max_drawdown(equity)
    if math.isnan(growth):
        return math.nan
    if mdd == 0:
        return math.inf if growth > 0 else math.nan
    return growth / abs(mdd)


def ref_trade_stats(trades: pd.DataFrame) -> dict[str, float]:
    closed = trades.loc[trades["exit_reason"] != 3, "pnl"]
    wins, losses = closed[closed > 0], closed[closed < 0]
    if len(closed) == 0:
        pf = math.nan
    elif len(losses) == 0:
        pf = math.inf if len(wins) else math.nan
    else:  # Python floats: a subnormal loss gives inf, as in the module, not a warning
        pf = float(wins.sum()) / abs(float(losses.sum()))
    return {
        "n_trades": float(len(trades)),
        "hit_rate": (closed > 0).mean() if len(closed) else math.nan,
        "avg_win": wins.mean() if len(wins) else math.nan,
        "avg_loss": losses.mean() if len(losses) else math.nan,
        "profit_factor": pf,
    }


# ---------------------------------------------------------------------------------------
# compute_metrics against the pandas references, on generated inputs
# ---------------------------------------------------------------------------------------


@SEARCH
@given(equity=equity_curves())
def test_equity_metrics_match_pandas(equity):
    got = m.compute_metrics(equity, NO_TRADES)
    r = ref_returns(equity)
    close(got["total_return"], equity.iloc[-1] / equity.iloc[0] - 1)
    close(got["cagr"], ref_cagr(equity))
    close(got["ann_vol"], r.std() * math.sqrt(PPY) if len(r) >= 2 else math.nan)
    sharpe_atol, sortino_atol = ref_ratio_atols(equity)
    close(got["sharpe"], ref_sharpe(equity), atol=sharpe_atol)
    close(got["sortino"], ref_sortino(equity), atol=sortino_atol)
    close(got["max_drawdown"], ref_max_drawdown(equity))
    close(got["calmar"], ref_calmar(equity))


@SEARCH
@given(equity=equity_curves(min_sessions=3), rate=st.floats(0.0, 0.2))
def test_risk_free_rate_is_compounded_to_a_per_session_rate(equity, rate):
    got = m.compute_metrics(equity, NO_TRADES, risk_free_rate=rate)
    rf = (1 + rate) ** (1 / PPY) - 1  # the per-session rate that compounds to `rate`
    sharpe_atol, sortino_atol = ref_ratio_atols(equity, rf)
    close(got["sharpe"], ref_sharpe(equity, rf), atol=sharpe_atol)
    close(got["sortino"], ref_sortino(equity, rf), atol=sortino_atol)


@SEARCH
@given(trades=trade_tables())
def test_trade_metrics_match_pandas(trades):
    equity = pd.Series([1.0, 1.0], index=sessions([0, 1]))
    got = m.compute_metrics(equity, trades)
    for name, expected in ref_trade_stats(trades).items():
        close(got[name], expected, err_msg=name)


@SEARCH
@given(data=st.data())
def test_exposure_matches_pandas(data):
    equity = data.draw(equity_curves(max_sessions=30))
    n_tickers = data.draw(st.integers(1, 3))
    cell = st.sampled_from([0.0, 0.0, 1.0, -1.0, 2.5, np.nan])
    cells = data.draw(
        st.lists(st.lists(cell, min_size=n_tickers, max_size=n_tickers), min_size=len(equity))
    )
    # The position may run past the equity's sessions; only the equity's are counted.
    extra = sessions(list(range(len(cells) - len(equity))), start="2030-01-01")
    position = pd.DataFrame(cells, index=equity.index.append(extra))
    got = m.compute_metrics(equity, NO_TRADES, position=position)
    held = position.loc[equity.index].fillna(0).ne(0).any(axis=1)
    close(got["exposure"], held.mean())


@SEARCH
@given(data=st.data())
def test_benchmark_and_excess_return_match_pandas(data):
    equity = data.draw(equity_curves())
    price = st.floats(1.0, 1e3, allow_nan=False)
    closes = data.draw(st.lists(price, min_size=len(equity), max_size=len(equity)))
    benchmark = pd.Series(closes, index=equity.index)
    got = m.compute_metrics(equity, NO_TRADES, benchmark=benchmark)
    bench = benchmark.iloc[-1] / benchmark.iloc[0] - 1
    close(got["benchmark_return"], bench)
    close(got["excess_return"], (equity.iloc[-1] / equity.iloc[0] - 1) - bench)


@SEARCH
@given(trades=trade_tables())
def test_pnl_by_event_matches_pandas_groupby(trades):
    got = m.pnl_by_event(trades)
    closed = trades[trades["exit_reason"] != 3]
    keys = ["event_id", "ticker"]
    expected = pd.DataFrame(
        {
            "n_trades": trades.groupby(keys).size(),
            "n_open": (trades["exit_reason"] == 3).groupby([trades[k] for k in keys]).sum(),
            "pnl": closed.groupby(keys)["pnl"].sum(),
            "mean_ret": closed.groupby(keys)["ret"].mean(),
        }
    )
    expected["pnl"] = expected["pnl"].fillna(0.0)  # a group with only open trades
    assert list(got.columns) == ["event_id", "ticker", "n_trades", "n_open", "pnl", "mean_ret"]
    got = got.set_index(keys)
    assert list(got.index) == list(expected.index)
    np.testing.assert_array_equal(got["n_trades"], expected["n_trades"])
    np.testing.assert_array_equal(got["n_open"], expected["n_open"])
    close(got["pnl"], expected["pnl"], atol=1e-8)
    close(got["mean_ret"], expected["mean_ret"])
    # The realised pnl per event adds up to what profit_factor splits into wins and losses.
    close(got["pnl"].sum(), closed["pnl"].sum(), atol=1e-8)


def test_table_rows_are_named_in_order():
    # Pins the order and names of the table rows (a consumer indexes by them).
    got = m.compute_metrics(pd.Series([1.0], index=sessions([0])), NO_TRADES)
    assert list(got.index) == list(m.METRICS)
    assert got.index.name == "metric"
    assert got.dtype == np.float64


# ---------------------------------------------------------------------------------------
# hand-made cases, expected values derived in comments
# ---------------------------------------------------------------------------------------


def test_hand_made_curve_trades_position_and_benchmark():
    # 2020-01-01 .. 2024-01-01 is 366 + 3 * 365 = 1461 days = exactly 4 years of 365.25 days.
    idx = pd.DatetimeIndex(["2020-01-01", "2021-06-01", "2022-06-01", "2024-01-01"])
    equity = pd.Series([100.0, 110.0, 99.0, 108.9], index=idx, name="hand")
    # returns r = [+0.1, -0.1, +0.1]; mean = 1/30; deviations [1/15, -2/15, 1/15]
    # sample var = (1 + 4 + 1) / 225 / 2 = 1/75, std = 1/sqrt(75) = 0.2/sqrt(3)
    # Sharpe = (1/30) / (0.2/sqrt(3)) * sqrt(252) = sqrt(3)/6 * sqrt(252) = sqrt(756)/6
    # downside = sqrt(mean([0, 0.01, 0])) = 0.1/sqrt(3); Sortino = sqrt(3)/3 * sqrt(252)
    # drawdown: peak 110 -> 99 is -10%; total 108.9/100 - 1 = 0.089; CAGR = 1.089^(1/4) - 1
    trades = pd.DataFrame(
        {
            "pnl": [10.0, -5.0, 0.0, 20.0, np.nan],
            "ret": [0.1, -0.05, 0.0, 0.2, np.nan],
            "exit_reason": [0, 1, 2, 0, 3],
        }
    )
    # closed pnl [10, -5, 0, 20]: hit 2/4, avg win (10+20)/2 = 15, avg loss -5, PF 30/5 = 6
    position = pd.DataFrame({"A": [0, 1, 0, 0], "B": [0, 0, np.nan, -2]}, index=idx)
    # rows held: no, yes, no (NaN is flat), yes -> exposure 2/4
    benchmark = pd.Series([50.0, 60.0, np.nan, 55.0], index=idx)
    # buy and hold 50 -> 55 = +10% (the NaN in between is never read); excess 0.089 - 0.1
    got = m.compute_metrics(equity, trades, position=position, benchmark=benchmark)
    cagr = 1.089**0.25 - 1
    expected = {
        "total_return": 0.089,
        "cagr": cagr,
        "ann_vol": 0.2 / math.sqrt(3) * math.sqrt(252),
        "sharpe": math.sqrt(756) / 6,
        "sortino": math.sqrt(3) / 3 * math.sqrt(252),
        "max_drawdown": -0.1,
        "calmar": cagr / 0.1,
        "n_trades": 5.0,
        "hit_rate": 0.5,
        "avg_win": 15.0,
        "avg_loss": -5.0,
        "profit_factor": 6.0,
        "exposure": 0.5,
        "benchmark_return": 0.1,
        "excess_return": 0.089 - 0.1,
    }
    assert got.name == "hand"
    close(got.to_numpy(), pd.Series(expected)[list(m.METRICS)].to_numpy())


def test_flat_equity_has_zero_vol_and_undefined_ratios():
    # r = [0, 0, 0, 0]: no growth, no risk -> vol 0; Sharpe 0/0, Sortino 0/0, Calmar 0/0 NaN.
    equity = pd.Series(100.0, index=sessions([0, 1, 2, 3, 6]))
    got = m.compute_metrics(equity, NO_TRADES)
    assert got["total_return"] == 0.0
    assert got["cagr"] == 0.0
    assert got["ann_vol"] == 0.0
    assert got["max_drawdown"] == 0.0
    for name in ("sharpe", "sortino", "calmar"):
        assert math.isnan(got[name]), name


def test_one_session_has_no_returns_and_no_span():
    # One value: total return 0 and no drawdown; no returns (vol, Sharpe, Sortino NaN) and
    # a zero calendar span (CAGR, so Calmar, NaN).
    got = m.compute_metrics(pd.Series([250.0], index=sessions([0])), NO_TRADES)
    assert got["total_return"] == 0.0
    assert got["max_drawdown"] == 0.0
    for name in ("cagr", "ann_vol", "sharpe", "sortino", "calmar"):
        assert math.isnan(got[name]), name


def test_two_sessions_give_one_return_too_few_for_ratios():
    # One return has no sample std (ddof=1) -> vol and Sharpe NaN; Sortino also needs two.
    got = m.compute_metrics(pd.Series([100.0, 90.0], index=sessions([0, 1])), NO_TRADES)
    close(got["total_return"], -0.1)
    close(got["max_drawdown"], -0.1)
    for name in ("ann_vol", "sharpe", "sortino"):
        assert math.isnan(got[name]), name


def test_constant_compounding_counts_as_zero_vol():
    # 100 * 1.001^t has r = 0.001 every session in exact arithmetic; the computed returns
    # differ by rounding (~1e-16), which must not become a Sharpe of ~1e15.
    equity = pd.Series(100 * 1.001 ** np.arange(50), index=sessions(list(range(50))))
    got = m.compute_metrics(equity, NO_TRADES)
    assert got["ann_vol"] == 0.0
    assert math.isnan(got["sharpe"])
    # No return below 0 and a positive mean: Sortino +inf; no drawdown and CAGR > 0: Calmar +inf.
    assert got["sortino"] == math.inf
    assert got["calmar"] == math.inf


def test_no_trades_gives_zero_count_and_nan_trade_stats():
    equity = pd.Series([1.0, 1.1], index=sessions([0, 1]))
    for trades in (NO_TRADES, pd.DataFrame()):  # an empty table needs no columns
        got = m.compute_metrics(equity, trades)
        assert got["n_trades"] == 0.0
        for name in ("hit_rate", "avg_win", "avg_loss", "profit_factor"):
            assert math.isnan(got[name]), name


def test_all_wins_give_infinite_profit_factor():
    # Gross losses 0 with gross wins 3 -> PF +inf; hit 3/3; no loss to average -> NaN.
    trades = pd.DataFrame({"pnl": [1.0, 2.0], "ret": [0.01, 0.02], "exit_reason": [0, 0]})
    got = m.compute_metrics(pd.Series([1.0, 1.1], index=sessions([0, 1])), trades)
    assert got["profit_factor"] == math.inf
    assert got["hit_rate"] == 1.0
    assert got["avg_win"] == 1.5
    assert math.isnan(got["avg_loss"])


def test_open_trades_count_in_n_trades_only():
    # Both trades open: n_trades 2, but nothing is realised, so the pnl stats are NaN,
    # even though the second one carries a (marked-to-market) pnl of -7.
    trades = pd.DataFrame({"pnl": [np.nan, -7.0], "ret": [np.nan, -0.1], "exit_reason": [3, 3]})
    got = m.compute_metrics(pd.Series([1.0, 1.1], index=sessions([0, 1])), trades)
    assert got["n_trades"] == 2.0
    for name in ("hit_rate", "avg_win", "avg_loss", "profit_factor"):
        assert math.isnan(got[name]), name


def test_zero_pnl_trades_only_give_zero_hit_rate_and_undefined_profit_factor():
    # Two closed trades with pnl 0: neither wins (hit 0/2) nor loses; PF = 0 / 0 -> NaN.
    trades = pd.DataFrame({"pnl": [0.0, 0.0], "ret": [0.0, 0.0], "exit_reason": [1, 2]})
    got = m.compute_metrics(pd.Series([1.0, 1.0], index=sessions([0, 1])), trades)
    assert got["hit_rate"] == 0.0
    assert math.isnan(got["profit_factor"])


def test_without_position_or_benchmark_those_rows_are_nan():
    got = m.compute_metrics(pd.Series([1.0, 1.2], index=sessions([0, 1])), NO_TRADES)
    for name in ("exposure", "benchmark_return", "excess_return"):
        assert math.isnan(got[name]), name


def test_single_instrument_position_series_is_accepted():
    # Held on 1 of 3 sessions.
    idx = sessions([0, 1, 2])
    got = m.compute_metrics(
        pd.Series([1.0, 1.1, 1.2], index=idx), NO_TRADES, position=pd.Series([0, 5, 0], index=idx)
    )
    close(got["exposure"], 1 / 3)


def test_cagr_of_a_tz_aware_index_uses_its_calendar_span():
    # 2023-01-01 -> 2024-01-01 is 365 days = 365/365.25 years; growth 1.1.
    idx = pd.DatetimeIndex(["2023-01-01", "2024-01-01"]).tz_localize("America/New_York")
    got = m.compute_metrics(pd.Series([1.0, 1.1], index=idx), NO_TRADES)
    close(got["cagr"], 1.1 ** (365.25 / 365) - 1)


def test_cagr_overflow_is_inf_without_warning():
    # x10000 in one day: 1e4 ** 365.25 overflows float64 -> +inf (warnings are errors here).
    got = m.compute_metrics(pd.Series([1.0, 1e4], index=sessions([0, 1])), NO_TRADES)
    assert got["cagr"] == math.inf


def test_building_blocks_on_plain_arrays():
    # The NumPy functions take arrays, not pandas objects.
    e = np.array([100.0, 120.0, 90.0, 108.0])
    # returns [0.2, -0.25, 0.2]; peak 120 -> 90 is -25%; total 108/100 - 1 = 0.08
    close(m.simple_returns(e), [0.2, -0.25, 0.2])
    close(m.total_return(e), 0.08)
    close(m.max_drawdown(e), -0.25)
    # downside over ALL three periods: sqrt(0.25^2 / 3)
    close(m.downside_deviation(m.simple_returns(e)), 0.25 / math.sqrt(3))
    # 2 positions held over 3 sessions in a 1-D array
    close(m.exposure(np.array([0.0, 1.0, -1.0])), 2 / 3)
    assert math.isnan(m.exposure(np.empty((0, 2))))
    # one year of 365.25 days between the dates -> CAGR = total return
    dates = np.array(["2021-01-01T00", "2022-01-01T06"], dtype="datetime64[h]")
    close(m.cagr(np.array([1.0, 1.5]), dates), 0.5)


def test_pnl_by_event_hand_made():
    trades = pd.DataFrame(
        {
            "event_id": ["b", "a", "a", "b", np.nan],
            "ticker": ["NVDA", "NVDA", "NVDA", "MSFT", "NVDA"],
            "pnl": [5.0, 2.0, -1.0, np.nan, 4.0],
            "ret": [0.05, 0.02, -0.01, np.nan, 0.04],
            "exit_reason": [0, 1, 0, 3, 0],
        }
    )
    got = m.pnl_by_event(trades)
    # (a, NVDA): 2 closed, pnl 2 - 1 = 1, mean ret (0.02 - 0.01)/2 = 0.005
    # (b, MSFT): 1 open trade only -> pnl 0.0, mean ret NaN; (b, NVDA): 5, 0.05
    # (NaN, NVDA): kept as its own group, sorted last
    assert list(got.columns[:2]) == ["event_id", "ticker"]
    got = got.set_index(["event_id", "ticker"])
    assert got["n_trades"].tolist() == [2, 1, 1, 1]
    assert got["n_open"].tolist() == [0, 1, 0, 0]
    close(got["pnl"].to_numpy(), [1.0, 0.0, 5.0, 4.0])
    close(got["mean_ret"].to_numpy(), [0.005, np.nan, 0.05, 0.04])
    assert pd.isna(got.index[-1][0])  # the NaN event id


def test_pnl_by_event_without_ticker_and_empty():
    trades = pd.DataFrame(
        {"event_id": [1, 1], "pnl": [1.0, 2.0], "ret": [0.1, 0.3], "exit_reason": [0, 0]}
    )
    got = m.pnl_by_event(trades).set_index("event_id")
    close(got.loc[1, "mean_ret"], 0.2)
    empty = m.pnl_by_event(
        pd.DataFrame(columns=["event_id", "ticker", "pnl", "ret", "exit_reason"])
    )
    assert len(empty) == 0
    assert list(empty.columns) == ["event_id", "ticker", "n_trades", "n_open", "pnl", "mean_ret"]


# ---------------------------------------------------------------------------------------
# input errors: what is wrong, where, and the fix
# ---------------------------------------------------------------------------------------


def _eq(values, days=None):
    return pd.Series(values, index=sessions(days or list(range(len(values)))))


@pytest.mark.parametrize(
    ("equity", "match"),
    [
        (pd.Series([], dtype=float), "equity is empty"),
        (pd.Series([1.0, 2.0]), "not dates"),
        (_eq([1.0, np.nan, 2.0]), r"finite at every session.*first 2021-01-05"),
        (_eq([0.0, 1.0]), "> 0 at its first session"),
        (_eq([1.0, 2.0, 3.0], [0, 1, 1]), r"1 duplicate session\(s\), first 2021-01-05: drop"),
        (_eq([1.0, 2.0, 3.0], [0, 2, 1]), "not sorted, first out of order 2021-01-05"),
        (_eq(["a", "b"]), "not numbers"),
        ([1.0, 2.0], "pass a pandas Series"),
    ],
)
def test_bad_equity_is_an_input_error(equity, match):
    with pytest.raises(InputError, match=match):
        m.compute_metrics(equity, NO_TRADES)


def test_misspelt_trade_column_gets_a_did_you_mean_hint():
    trades = pd.DataFrame({"PnL": [1.0], "exit_reason": [0]})
    with pytest.raises(InputError, match="no column 'pnl'.*did you mean 'PnL'"):
        m.compute_metrics(_eq([1.0, 2.0]), trades)


def test_closed_trade_without_pnl_is_an_input_error():
    trades = pd.DataFrame({"pnl": [1.0, np.nan], "exit_reason": [0, 1]})
    with pytest.raises(InputError, match="closed trade.*first row 1"):
        m.compute_metrics(_eq([1.0, 2.0]), trades)


def test_non_integer_exit_reason_is_an_input_error():
    trades = pd.DataFrame({"pnl": [1.0], "exit_reason": [1.5]})
    with pytest.raises(InputError, match="exit_reason must be an integer code"):
        m.compute_metrics(_eq([1.0, 2.0]), trades)


def test_position_missing_a_session_is_an_input_error():
    position = pd.DataFrame({"A": [1.0]}, index=sessions([0]))
    with pytest.raises(
        InputError, match="position lacks 1 of the equity's sessions, first 2021-01-05"
    ):
        m.compute_metrics(_eq([1.0, 2.0]), NO_TRADES, position=position)


def test_benchmark_without_the_last_session_is_an_input_error():
    benchmark = pd.Series([10.0, 11.0], index=sessions([0, 1]))
    with pytest.raises(InputError, match="first and last sessions"):
        m.compute_metrics(_eq([1.0, 2.0, 3.0]), NO_TRADES, benchmark=benchmark)


@pytest.mark.parametrize("ppy", [0, 252.0, True])
def test_bad_periods_per_year_is_an_input_error(ppy):
    with pytest.raises(InputError, match="periods_per_year"):
        m.compute_metrics(_eq([1.0, 2.0]), NO_TRADES, periods_per_year=ppy)


def test_pnl_by_event_needs_event_id():
    with pytest.raises(InputError, match="no column 'event_id'"):
        m.pnl_by_event(pd.DataFrame({"pnl": [1.0], "ret": [0.1], "exit_reason": [0]}))


# ---------------------------------------------------------------------------------------
# vectorbt 1.2
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _vectorbt_imported():
    # Imported outside the hypothesis-run test bodies: vectorbt's import raises the
    # recursion limit, which hypothesis reports as an error when it happens inside one.
    import vectorbt  # noqa: F401  (registers the .vbt accessor)


@pytest.mark.usefixtures("_vectorbt_imported")
class TestAgainstVectorbt:
    """Sharpe, Sortino, max drawdown, total return and annualised volatility vs vectorbt.

    vectorbt reads ``equity.pct_change()`` (a leading NaN it skips with nan-aware reductions)
    through ``pd.Series.vbt.returns(freq="D", year_freq="252 days")``, so its annualisation
    factor is 252 days / 1 day = 252 sessions, as ours. Where the conventions agree the values
    match to rounding. Where they differ (not compared, or compared after ``assume``):

    - CAGR: vectorbt's ``annualized()`` is ``prod(1 + r) ** (252 / n) - 1`` with ``n`` the
      number of rows, leading NaN included (so the session count); ours uses the calendar
      span in 365.25-day years. Calmar inherits this, and vectorbt's Calmar is NaN with no
      drawdown where ours is +inf when the CAGR is > 0.
    - Zero volatility: vectorbt's Sharpe is +inf (even for a flat curve, 0 / 0); ours is NaN,
      and ours also treats a std at or below 1e-12 * (1 + max|r|) (constant returns up to
      rounding)
      as zero.
    - Zero downside deviation: vectorbt's Sortino is +inf; ours is +inf only when the mean
      return is > 0 and NaN for a flat curve (0 / 0).
    - Short curves: vectorbt's "fewer than 2" checks count the leading NaN row, so for two
      sessions (one return) it gives a Sortino from one observation; ours is NaN. Both give
      NaN for the volatility and Sharpe of one return. We compare curves of >= 3 sessions.
    - The risk-free rate: vectorbt's ``risk_free`` / ``required_return`` are per period; ours
      in :func:`compute_metrics` is annual, converted to ``(1 + R) ** (1/252) - 1``.
    """

    @staticmethod
    def acc(equity: pd.Series):
        import vectorbt  # noqa: F401  (registers the .vbt accessor)

        return equity.pct_change().vbt.returns(freq="D", year_freq="252 days")

    @SEARCH
    @given(equity=equity_curves(min_sessions=3))
    def test_total_return_drawdown_and_vol(self, equity):
        acc = self.acc(equity)
        assert acc.ann_factor == 252
        got = m.compute_metrics(equity, NO_TRADES)
        close(got["total_return"], acc.total(), rtol=1e-9, atol=1e-12)
        close(got["max_drawdown"], acc.max_drawdown(), rtol=1e-9, atol=1e-12)
        close(got["ann_vol"], acc.annualized_volatility(), rtol=1e-9, atol=1e-12)

    @SEARCH
    @given(equity=equity_curves(min_sessions=3), rf=st.sampled_from([0.0, 1e-4]))
    def test_sharpe(self, equity, rf):
        r = m.simple_returns(equity.to_numpy())
        sd = m.sample_std(r)
        assume(sd > 0)  # vectorbt: +inf at zero vol, ours NaN
        expected = self.acc(equity).sharpe_ratio(risk_free=rf)
        close(m.sharpe(r, PPY, rf), expected, atol=ratio_atol(r - rf, sd))

    @SEARCH
    @given(equity=equity_curves(min_sessions=3), rf=st.sampled_from([0.0, 1e-4]))
    def test_sortino(self, equity, rf):
        r = m.simple_returns(equity.to_numpy())
        dd = m.downside_deviation(r, rf)
        assume(dd > 0)  # vectorbt: +inf even when flat, ours NaN
        expected = self.acc(equity).sortino_ratio(required_return=rf)
        close(m.sortino(r, PPY, rf), expected, atol=ratio_atol(r - rf, dd))

    def test_sortino_and_sharpe_of_compute_metrics_use_vectorbt_per_period_rate(self):
        # compute_metrics' annual 5% is (1.05)^(1/252) - 1 per session in vectorbt's terms.
        rng = np.random.default_rng(7)
        equity = pd.Series(
            100 * np.cumprod(1 + rng.normal(0.0005, 0.01, 300)), index=sessions(list(range(300)))
        )
        rf = 1.05 ** (1 / 252) - 1
        got = m.compute_metrics(equity, NO_TRADES, risk_free_rate=0.05)
        acc = self.acc(equity)
        close(got["sharpe"], acc.sharpe_ratio(risk_free=rf))
        close(got["sortino"], acc.sortino_ratio(required_return=rf))


def test_ruined_curve_has_defined_metrics():
    # A short that lost more than its account: 100 -> 120 -> -30 (ruined), then dead at -30.
    equity = _eq([100.0, 120.0, -30.0, -30.0, -30.0])
    got = m.compute_metrics(equity, NO_TRADES)
    # The actual loss, below -100%: the account owes 30 on 100.
    close(got["total_return"], -1.3)
    assert got["cagr"] == -1.0  # nothing left to compound
    # Returns up to the ruin session only: +20%, then -30/120 - 1 = -1.25.
    r = np.array([0.2, -1.25])
    close(got["sharpe"], r.mean() / r.std(ddof=1) * math.sqrt(252))
    close(got["max_drawdown"], -30.0 / 120.0 - 1.0)
    close(got["calmar"], -1.0 / 1.25)
    assert m.ruin_index(equity.to_numpy()) == 2
