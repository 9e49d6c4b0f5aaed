"""Performance metrics of a backtest: NumPy building blocks and one pandas-facing table.

Every metric is defined once, in a NumPy function below; :func:`compute_metrics` only checks
and aligns its pandas inputs, calls those functions and labels the result. :data:`REGISTRY`
holds one :class:`Metric` per metric evbt reports (name, label, format, unit, source), and
:data:`TABLES` which of them each table shows (the backtest's metrics, a sweep's part files,
the sweep summary, ``stats()``, the report), so that a name is spelled in one place.

Conventions shared by every metric:

- ``equity`` is the strategy's account value at the close of each session: finite, > 0 at
  the first session.
- Returns are simple per-session returns of the equity curve,
  ``r_t = E_t / E_{t-1} - 1`` for ``t = 1..n-1``: a curve of ``n`` sessions has ``n - 1``
  returns and a one-session curve has none. Flat sessions (no position) count, as zeros.
- Ruin: a curve that reaches ``E <= 0`` (a short that lost more than its account) is ruined
  at the first such session ``r``; the account is dead from there, so every metric reads the
  curve up to and including ``r``: ``total_return = E_r / E_0 - 1`` is the actual loss, which
  is below -100% when the equity went negative (the account owes money); ``cagr = -1``
  (-100%: nothing is left to compound); returns, volatility, Sharpe and Sortino use the
  returns up to ``r`` (the last one is ``<= -1``); ``max_drawdown`` is ``<= -1``; ``calmar``
  is ``cagr / |max_drawdown|``. :func:`ruin_index` finds ``r``.
- ``ppy`` (periods per year) is 252 sessions unless passed; ratios are annualised by
  ``sqrt(ppy)``.
- The risk-free rate is 0 unless passed. The building blocks take it per period
  (``risk_free``, like vectorbt's); :func:`compute_metrics` takes an annual rate ``R`` and
  uses the per-period rate ``(1 + R) ** (1 / ppy) - 1``, which compounds to ``R`` over a year.
- Standard deviations are sample ones (``ddof=1``).
- A ratio with a zero denominator is stated in its docstring (NaN or +inf); nothing here
  raises or warns on a degenerate curve (flat, one session, no trades, all wins).

The functions do no input checking: they expect finite float arrays. Input checks live in
:func:`compute_metrics` and :func:`pnl_by_event`, which raise :class:`evbt.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evbt.backtest.enums import ExitReason
from evbt.errors import InputError
from evbt.hints import did_you_mean, nearest

PERIODS_PER_YEAR = 252
DAYS_PER_YEAR = 365.25
OPEN = ExitReason.OPEN
"""``exit_reason`` of a trade still open at the end of the backtest (3, from evbt.backtest.enums)."""

# A sample std at or below _STD_TOL * (1 + max|r|) is rounding noise, not risk. Returns that
# are constant in exact arithmetic (a curve compounding at a fixed rate) come out of
# E_t / E_{t-1} - 1 differing by ~1e-16 * (1 + |r|), absolute (the rounding of the ratio
# near 1), and would give a Sharpe of ~1e13 or of random sign. A real daily std is > 1e-8.
_STD_TOL = 1e-12


# ---------------------------------------------------------------------------------------
# NumPy building blocks
# ---------------------------------------------------------------------------------------


def ruin_index(equity: np.ndarray) -> int:
    """Index of the first session with equity <= 0; -1 when the curve never gets there."""
    e = np.asarray(equity, dtype=np.float64)
    hit = np.flatnonzero(e <= 0.0)
    return int(hit[0]) if hit.size else -1


def simple_returns(equity: np.ndarray) -> np.ndarray:
    """Simple per-session returns ``r_t = E_t / E_{t-1} - 1``, length ``len(equity) - 1``."""
    e = np.asarray(equity, dtype=np.float64)
    return e[1:] / e[:-1] - 1.0


def total_return(equity: np.ndarray) -> float:
    """``E_last / E_first - 1``; 0.0 for a one-session curve.

    Only the end points are read, so NaN between them (a benchmark's halt) is harmless.
    """
    e = np.asarray(equity, dtype=np.float64)
    return float(e[-1] / e[0] - 1.0)


def years_between(first: np.datetime64, last: np.datetime64) -> float:
    """Calendar span from ``first`` to ``last`` in years of 365.25 days."""
    return float((last - first) / np.timedelta64(1, "D")) / DAYS_PER_YEAR


def cagr(equity: np.ndarray, dates: np.ndarray) -> float:
    """Compound annual growth rate ``(E_last / E_first) ** (1 / years) - 1``.

    ``years = years_between(dates[0], dates[-1])``: the calendar span from the first to the
    last session in years of 365.25 days, not the session count. NaN when the span is 0
    (one session). Large growth over a short span overflows to +inf, without a warning.
    """
    years = years_between(np.asarray(dates)[0], np.asarray(dates)[-1])
    if not years > 0:
        return np.nan
    e = np.asarray(equity, dtype=np.float64)
    with np.errstate(over="ignore"):
        return float(np.power(e[-1] / e[0], 1.0 / years) - 1.0)


def sample_std(returns: np.ndarray) -> float:
    """Sample standard deviation (``ddof=1``) of ``returns``; NaN with fewer than 2.

    Returns 0.0 when the std is at most ``1e-12 * (1 + max|r|)``: the returns are constant
    up to floating-point rounding (see ``_STD_TOL``).
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return np.nan
    sd = float(np.std(r, ddof=1))
    return 0.0 if sd <= _STD_TOL * (1.0 + float(np.max(np.abs(r)))) else sd


def ann_vol(returns: np.ndarray, ppy: int = PERIODS_PER_YEAR) -> float:
    """Annualised volatility ``sample_std(r) * sqrt(ppy)``; NaN with fewer than 2 returns."""
    return sample_std(returns) * float(np.sqrt(ppy))


def sharpe(returns: np.ndarray, ppy: int = PERIODS_PER_YEAR, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio ``mean(r - rf) / std(r, ddof=1) * sqrt(ppy)``.

    ``risk_free`` is per period. NaN with fewer than 2 returns, and NaN when the volatility
    is 0 (:func:`sample_std`), e.g. a flat curve: without risk the ratio is undefined.
    """
    sd = sample_std(returns)
    if not sd > 0:
        return np.nan
    excess = np.asarray(returns, dtype=np.float64) - risk_free
    return float(np.mean(excess) / sd * np.sqrt(ppy))


def downside_deviation(returns: np.ndarray, risk_free: float = 0.0) -> float:
    """``sqrt(mean(min(r - rf, 0) ** 2))`` over ALL periods (gains count as zeros).

    The mean divides by the number of returns, not by the number of losing ones. NaN with
    no returns.
    """
    excess = np.asarray(returns, dtype=np.float64) - risk_free
    if excess.size == 0:
        return np.nan
    return float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))


def sortino(returns: np.ndarray, ppy: int = PERIODS_PER_YEAR, risk_free: float = 0.0) -> float:
    """Annualised Sortino ratio ``mean(r - rf) / downside_deviation(r, rf) * sqrt(ppy)``.

    ``risk_free`` is per period (it is also the target return). NaN with fewer than 2
    returns (as for Sharpe). With no return below ``rf`` the downside deviation is 0: the
    ratio is +inf when the mean excess return is > 0 and NaN when it is 0 (a flat curve).
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return np.nan
    mean_excess = float(np.mean(r - risk_free))
    dd = downside_deviation(r, risk_free)
    if dd == 0.0:
        return np.inf if mean_excess > 0 else np.nan
    return mean_excess / dd * float(np.sqrt(ppy))


def max_drawdown(equity: np.ndarray) -> float:
    """Largest fall from a running peak, as a negative fraction: ``min(E / cummax(E) - 1)``.

    0.0 when the curve never falls below an earlier value (including one session).
    """
    e = np.asarray(equity, dtype=np.float64)
    return float(np.min(e / np.maximum.accumulate(e) - 1.0))


def calmar(cagr_value: float, max_drawdown_value: float) -> float:
    """Calmar ratio ``CAGR / |max drawdown|``, over the whole backtest (not the last 3 years).

    NaN when the CAGR is NaN (one session). With no drawdown (0.0): +inf when the CAGR is
    > 0, NaN when it is 0 (a curve without drawdown cannot have a negative CAGR).
    """
    if np.isnan(cagr_value):
        return np.nan
    if max_drawdown_value == 0.0:
        return np.inf if cagr_value > 0 else np.nan
    return float(cagr_value / abs(max_drawdown_value))


def hit_rate(pnl: np.ndarray) -> float:
    """Share of trades with ``pnl > 0`` (a zero-pnl trade counts, as a non-win); NaN if none."""
    p = np.asarray(pnl, dtype=np.float64)
    return float(np.mean(p > 0)) if p.size else np.nan


def avg_win(pnl: np.ndarray) -> float:
    """Mean pnl of the trades with ``pnl > 0``; NaN when no trade won."""
    wins = np.asarray(pnl, dtype=np.float64)
    wins = wins[wins > 0]
    return float(np.mean(wins)) if wins.size else np.nan


def avg_loss(pnl: np.ndarray) -> float:
    """Mean pnl of the trades with ``pnl < 0`` (a negative number); NaN when none lost."""
    losses = np.asarray(pnl, dtype=np.float64)
    losses = losses[losses < 0]
    return float(np.mean(losses)) if losses.size else np.nan


def profit_factor(pnl: np.ndarray) -> float:
    """Gross wins over gross losses: ``sum(pnl[pnl > 0]) / |sum(pnl[pnl < 0])|``.

    NaN with no trades; +inf with no losing trade and at least one winner; NaN when every
    trade has pnl 0 (0 / 0).
    """
    p = np.asarray(pnl, dtype=np.float64)
    if p.size == 0:
        return np.nan
    gross_win = float(np.sum(p[p > 0]))
    gross_loss = float(-np.sum(p[p < 0]))
    if gross_loss == 0.0:
        return np.inf if gross_win > 0 else np.nan
    return gross_win / gross_loss


def exposure(position: np.ndarray) -> float:
    """Share of sessions (rows) holding a non-zero position in any column; NaN is flat.

    ``position`` is one row per session, 1-D (one instrument) or 2-D (sessions x tickers).
    NaN with no sessions.
    """
    p = np.asarray(position, dtype=np.float64)
    if p.shape[0] == 0:
        return np.nan
    held = np.nan_to_num(p, nan=0.0) != 0.0
    if held.ndim > 1:
        held = held.reshape(held.shape[0], -1).any(axis=1)
    return float(np.mean(held))


# ---------------------------------------------------------------------------------------
# The metric registry: one entry per metric, read by the tables that show metrics
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One metric: its name, how to say and show it, and where it comes from.

    ``fmt`` is a format name of ``evbt.report.html.FORMATS`` (``pct``: a fraction shown as a
    percentage; ``spct``/``smoney``: the same with a sign; ``num``; ``int``; ``money``: in the account's currency; ``p``: a p-value;
    ``text``). ``unit`` says what a value is in words. ``func`` is the building block above
    that defines it (None when it comes from elsewhere, said by ``source``).
    ``sweep_column`` is its column in a sweep's part files where that name differs.
    """

    name: str
    label: str
    fmt: str
    unit: str
    source: str
    doc: str
    func: Callable[..., float] | None = None
    sweep_column: str | None = None


_SWEEP_SUMS = "the sweep's running sums (evbt.backtest.sweep.finalise)"
_OVERFIT = "evbt.backtest.overfit.summarize"

REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("total_return", "total return", "spct", "fraction", "total_return",
               "E_last / E_first - 1 (to the ruin session when ruined)", total_return),
        Metric("cagr", "CAGR (annual)", "spct", "fraction per year", "cagr",
               "compound annual growth over 365.25-day years; -1 when ruined", cagr),
        Metric("ann_vol", "volatility (annual)", "pct", "fraction per year", "ann_vol",
               "sample std of daily returns times sqrt(252)", ann_vol, "volatility"),
        Metric("sharpe", "Sharpe ratio", "num", "ratio, annualised", "sharpe",
               "mean / std of daily returns times sqrt(252); NaN when the std is 0", sharpe),
        Metric("sortino", "Sortino ratio", "num", "ratio, annualised", "sortino",
               "mean / downside deviation of daily returns times sqrt(252)", sortino),
        Metric("max_drawdown", "max drawdown", "spct", "fraction (<= 0)", "max_drawdown",
               "the deepest fall from a running peak of equity", max_drawdown),
        Metric("calmar", "Calmar ratio", "num", "ratio", "calmar",
               "cagr / |max_drawdown|", calmar),
        Metric("n_trades", "trades", "int", "count", "compute_metrics",
               "trades taken, open ones included"),
        Metric("hit_rate", "hit rate (winning trades)", "pct", "fraction", "hit_rate",
               "share of closed trades with pnl > 0", hit_rate),
        Metric("avg_win", "average winning trade", "smoney", "currency", "avg_win",
               "mean pnl of the winning closed trades", avg_win),
        Metric("avg_loss", "average losing trade", "smoney", "currency", "avg_loss",
               "mean pnl of the losing closed trades (< 0)", avg_loss),
        Metric("profit_factor", "profit factor", "num", "ratio", "profit_factor",
               "gross wins / gross losses of closed trades; inf with no loss", profit_factor),
        Metric("exposure", "exposure (time in a position)", "pct", "fraction of sessions", "exposure",
               "share of sessions holding a position", exposure),
        Metric("benchmark_return", "benchmark return", "pct", "fraction", "total_return",
               "the benchmark's buy-and-hold total return over the same sessions",
               total_return),
        Metric("excess_return", "excess return over the benchmark", "spct", "fraction",
               "compute_metrics", "total_return - benchmark_return"),
        Metric("avg_trade", "average trade return", "pct", "fraction", _SWEEP_SUMS,
               "mean return of the closed trades"),
        Metric("n_signals", "signals", "int", "count", _SWEEP_SUMS,
               "signals of the combination: trades + skipped (contract C1)"),
        Metric("n_skipped", "skipped signals", "int", "count", _SWEEP_SUMS,
               "signals not traded, each with a reason (contract C1)"),
        Metric("n_obs", "daily returns", "int", "count", _SWEEP_SUMS,
               "daily returns counted (to the ruin session when ruined)"),
        Metric("skew", "skewness", "num", "moment", _SWEEP_SUMS,
               "population skewness of the daily returns"),
        Metric("kurt", "kurtosis", "num", "moment (non-excess)", _SWEEP_SUMS,
               "population kurtosis of the daily returns (3 for a normal)"),
        Metric("n_active_days", "non-zero days", "int", "count", _SWEEP_SUMS,
               "daily returns of the equity with |r| > 1e-12 (sessions where it moved)"),
        Metric("n_events", "events traded", "int", "count", _SWEEP_SUMS,
               "catalog events with at least one trade"),
        Metric("event_pnl_mean", "mean P&L per event", "smoney", "currency", _SWEEP_SUMS,
               "mean over traded events of the event's P&L (its trades' pnl summed over tickers)"),
        Metric("event_pnl_sd", "sd of P&L per event", "money", "currency", _SWEEP_SUMS,
               "sample std (ddof 1) of the per-event P&L; NaN with fewer than 2 events"),
        Metric("event_t", "t (events)", "num", "statistic", _SWEEP_SUMS,
               "t statistic of the mean per-event P&L: mean / (sd / sqrt(n_events))"),
        Metric("event_p", "p (events)", "p", "probability", _SWEEP_SUMS,
               "one-sided p-value of H0: mean per-event P&L <= 0, Student t with "
               "n_events - 1 df; NaN with fewer than 2 events"),
        Metric("dsr", "deflated Sharpe", "num3", "probability", _OVERFIT,
               "deflated Sharpe ratio: PSR against the best of the grid's trials by luck"),
        Metric("psr_pvalue", "PSR p-value", "p", "probability", _OVERFIT,
               "one-sided p-value of H0: Sharpe <= 0 (probabilistic Sharpe ratio)"),
        Metric("bh_reject", "BH reject", "text", "flag", _OVERFIT,
               "rejected by Benjamini-Hochberg false-discovery control"),
        Metric("by_reject", "BY reject", "text", "flag", _OVERFIT,
               "rejected by Benjamini-Yekutieli false-discovery control"),
        Metric("event_bh_reject", "BH reject (events)", "text", "flag", _OVERFIT,
               "rejected by Benjamini-Hochberg control over the event_p values"),
        Metric("event_by_reject", "BY reject (events)", "text", "flag", _OVERFIT,
               "rejected by Benjamini-Yekutieli control over the event_p values"),
    )
}  # fmt: skip
"""Every metric evbt reports, by name (the backtest's name: ``ann_vol``, not ``volatility``)."""

TABLES: dict[str, tuple[str, ...]] = {
    # the rows of compute_metrics (metrics.parquet), in order
    "backtest": (
        "total_return", "cagr", "ann_vol", "sharpe", "sortino", "max_drawdown", "calmar",
        "n_trades", "hit_rate", "avg_win", "avg_loss", "profit_factor", "exposure",
        "benchmark_return", "excess_return",
    ),
    # the metric columns of a sweep's part files (contract C2), in order, by their name there
    "sweep": (
        "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar",
        "hit_rate", "profit_factor", "avg_trade", "avg_win", "avg_loss", "exposure",
        "n_trades", "n_signals", "n_skipped", "n_obs", "skew", "kurt", "n_active_days",
        "n_events", "event_pnl_mean", "event_pnl_sd", "event_t", "event_p",
    ),
    # the columns overfit.summarize adds to sweep_summary.parquet (contract C2)
    "summary": (
        "sharpe", "dsr", "psr_pvalue", "bh_reject", "by_reject", "event_bh_reject",
        "event_by_reject",
    ),
    # BacktestResult.stats(): the strategy beside its benchmark
    "stats": (
        "total_return", "cagr", "ann_vol", "sharpe", "sortino", "max_drawdown", "calmar",
        "exposure", "n_trades", "hit_rate", "profit_factor",
    ),
    # the report's summary table (its first seven are the headline cards)
    "report": (
        "total_return", "cagr", "ann_vol", "sharpe", "sortino", "max_drawdown", "calmar",
        "exposure", "n_trades", "hit_rate", "avg_win", "avg_loss", "profit_factor",
        "excess_return",
    ),
}  # fmt: skip
"""Which metrics each table shows, in its order."""

_BY_COLUMN = {m.sweep_column: m for m in REGISTRY.values() if m.sweep_column}


def metric(name: str) -> Metric:
    """The registry entry of ``name`` (a metric's name, or its column name in a sweep)."""
    try:
        return REGISTRY[name] if name in REGISTRY else _BY_COLUMN[name]
    except KeyError:
        fix = did_you_mean(name, [*REGISTRY, *_BY_COLUMN], fallback="see metrics.REGISTRY")
        raise KeyError(f"no metric {name!r}: {fix}") from None


def columns(table: str) -> tuple[str, ...]:
    """The metric names (column names, for ``"sweep"``) that ``table`` shows, in order."""
    return TABLES[table]


def metric_names() -> frozenset[str]:
    """Every name a metric goes by: registry names and sweep column names."""
    return frozenset(REGISTRY) | frozenset(_BY_COLUMN)


for _table, _names in TABLES.items():
    for _name in _names:
        metric(_name)  # every table names registered metrics only (fails at import)

METRICS = TABLES["backtest"]
"""Names of the rows of :func:`compute_metrics`, in order."""


# ---------------------------------------------------------------------------------------
# pandas face: check and align inputs, call the building blocks, label the result
# ---------------------------------------------------------------------------------------


def _day(ts: object) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def _check_sessions(index: pd.Index, what: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise InputError(
            f"{what}: index is {type(index).__name__}, not dates: "
            "index it by session date (a DatetimeIndex)"
        )
    dup = index.duplicated()
    if dup.any():
        raise InputError(
            f"{what} has {int(dup.sum())} duplicate session(s), first {_day(index[dup][0])}: "
            "drop or dedupe them"
        )
    if not index.is_monotonic_increasing:
        back = np.flatnonzero(np.diff(index.asi8) < 0)
        raise InputError(
            f"{what}: sessions not sorted, first out of order {_day(index[back[0] + 1])}: "
            "sort it by date (sort_index())"
        )
    return index


def _check_equity(equity: pd.Series) -> np.ndarray:
    if not isinstance(equity, pd.Series):
        raise InputError(
            f"equity is a {type(equity).__name__}: pass a pandas Series of account value per session"
        )
    if len(equity) == 0:
        raise InputError("equity is empty: run the backtest over at least one session")
    _check_sessions(equity.index, "equity")
    try:
        e = equity.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"equity has dtype {equity.dtype}, not numbers: pass account values as floats"
        ) from None
    bad = ~np.isfinite(e)
    if bad.any():
        raise InputError(
            f"equity must be finite at every session; {int(bad.sum())} session(s) are not, "
            f"first {_day(equity.index[bad][0])} ({e[bad][0]!r}): fill the curve at every session"
        )
    if not e[0] > 0:
        raise InputError(
            f"equity must be > 0 at its first session {_day(equity.index[0])} ({e[0]!r}): "
            "start the curve with the initial capital"
        )
    return e


def _check_columns(df: pd.DataFrame, required: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what} is a {type(df).__name__}: pass a pandas DataFrame")
    have = [str(c) for c in df.columns]
    for col in required:
        if col not in df.columns:
            hint = nearest(col, have, ignore_case=True)
            fix = f"did you mean {hint!r}? rename it" if hint else f"add a {col!r} column"
            raise InputError(f"{what} has no column {col!r} (it has {have}): {fix}")


def _trades_or_empty(trades: pd.DataFrame, required: Sequence[str]) -> pd.DataFrame:
    """Check the trade table; a table with no rows is "no trades", whatever its columns."""
    if isinstance(trades, pd.DataFrame) and len(trades) == 0:
        out = trades.copy()
        for col in required:
            if col not in out.columns:
                out[col] = np.empty(0, dtype=np.float64)
        return out
    _check_columns(trades, required, "trades")
    return trades


def _open_mask(trades: pd.DataFrame, what: str) -> np.ndarray:
    reason = pd.to_numeric(trades["exit_reason"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(reason) | (reason != np.round(reason))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{what}: exit_reason must be an integer code (3 = still open); row {row} has "
            f"{trades['exit_reason'].iloc[row]!r}: fill it"
        )
    return reason == OPEN


def _closed_values(trades: pd.DataFrame, col: str, is_open: np.ndarray, what: str) -> np.ndarray:
    """``col`` of the closed trades as floats; NaN there is an error (open trades may be NaN)."""
    vals = pd.to_numeric(trades[col], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(vals) & ~is_open
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{what}: {int(bad.sum())} closed trade(s) have no finite {col}, first row {row} "
            f"({trades[col].iloc[row]!r}): a closed trade needs its realised {col}"
        )
    return vals[~is_open]


def _align(
    obj: pd.Series | pd.DataFrame, sessions: pd.DatetimeIndex, what: str
) -> pd.Series | pd.DataFrame:
    _check_sessions(obj.index, what)
    missing = sessions.difference(obj.index)
    if len(missing):
        raise InputError(
            f"{what} lacks {len(missing)} of the equity's sessions, first {_day(missing[0])}: "
            "pass it over the same sessions as the equity curve"
        )
    return obj.reindex(sessions)


def compute_metrics(
    equity: pd.Series,
    trades: pd.DataFrame,
    *,
    position: pd.DataFrame | pd.Series | None = None,
    benchmark: pd.Series | None = None,
    periods_per_year: int = PERIODS_PER_YEAR,
    risk_free_rate: float = 0.0,
) -> pd.Series:
    """The performance table of one backtest, as a float64 Series indexed by :data:`METRICS`.

    Args:
        equity: account value at each session's close, indexed by unique, sorted session
            dates; finite, > 0 at the first session (a later value <= 0 is ruin: see the
            module docstring).
        trades: one row per trade with at least ``pnl`` and ``exit_reason`` (int; ``3`` =
            still open); the engine's table also has ``ret``, which only
            :func:`pnl_by_event` reads. Closed trades need a finite ``pnl``; open ones may
            be NaN. A table with no rows (any columns) means no trades.
        position: sessions x tickers (or one Series) of held quantity or weight; it must
            cover every equity session (extra sessions are ignored). NaN counts as flat.
        benchmark: benchmark close prices indexed by date; it needs the equity's first and
            last session (NaN between them is harmless).
        periods_per_year: sessions per year for annualising (252).
        risk_free_rate: annual risk-free rate ``R`` (0); Sharpe and Sortino use the
            per-period rate ``(1 + R) ** (1 / periods_per_year) - 1``.

    Rows (returns ``r`` are :func:`simple_returns` of ``equity``):
        total_return: :func:`total_return` of equity.
        cagr: :func:`cagr`, over the calendar span of the sessions (365.25-day years).
        ann_vol: :func:`ann_vol` of r.
        sharpe: :func:`sharpe` of r (NaN when vol is 0).
        sortino: :func:`sortino` of r.
        max_drawdown: :func:`max_drawdown` of equity (a fraction <= 0).
        calmar: :func:`calmar` = cagr / |max_drawdown|.
        n_trades: number of rows of ``trades``, open trades included.
        hit_rate, avg_win, avg_loss, profit_factor: :func:`hit_rate`, :func:`avg_win`,
            :func:`avg_loss`, :func:`profit_factor` of the ``pnl`` of CLOSED trades only:
            an open trade's pnl is not realised, so it counts in n_trades and nowhere else.
            avg_win / avg_loss are in the pnl's currency; per-trade returns are in
            :func:`pnl_by_event`.
        exposure: :func:`exposure` of ``position`` on the equity's sessions; NaN without it.
        benchmark_return: buy-and-hold :func:`total_return` of the benchmark from the first
            to the last equity session; NaN without a benchmark.
        excess_return: total_return - benchmark_return.

    The Series is named after ``equity`` so tables of several runs concatenate by column.
    Raises :class:`evbt.errors.InputError` naming the input, session or row and the fix.
    """
    e = _check_equity(equity)
    sessions = pd.DatetimeIndex(equity.index)
    trades = _trades_or_empty(trades, ("pnl", "exit_reason"))
    if isinstance(periods_per_year, bool) or not (
        isinstance(periods_per_year, int | np.integer) and periods_per_year > 0
    ):
        raise InputError(
            f"periods_per_year={periods_per_year!r}: pass a positive whole number (252 for daily)"
        )
    if not (np.isfinite(risk_free_rate) and risk_free_rate > -1):
        raise InputError(
            f"risk_free_rate={risk_free_rate!r}: pass an annual rate as a fraction, e.g. 0.04"
        )
    is_open = _open_mask(trades, "trades")
    closed_pnl = _closed_values(trades, "pnl", is_open, "trades")

    ppy = int(periods_per_year)
    rf = float((1.0 + risk_free_rate) ** (1.0 / ppy) - 1.0)
    ruin = ruin_index(e)
    live = e if ruin < 0 else e[: ruin + 1]  # a ruined account is dead after its ruin session
    r = simple_returns(live)
    tr = total_return(live)
    naive = sessions.tz_convert(None) if sessions.tz is not None else sessions
    growth = cagr(e, naive.to_numpy()) if ruin < 0 else -1.0
    mdd = max_drawdown(live)

    expo = np.nan
    if position is not None:
        if not isinstance(position, pd.Series | pd.DataFrame):
            raise InputError(
                f"position is a {type(position).__name__}: pass a DataFrame (sessions x tickers)"
            )
        pos = _align(position, sessions, "position")
        try:
            expo = exposure(pos.to_numpy(dtype=np.float64))
        except (TypeError, ValueError):
            raise InputError(
                "position holds non-numeric values: pass quantities or weights as numbers"
            ) from None

    bench = np.nan
    if benchmark is not None:
        if not isinstance(benchmark, pd.Series):
            raise InputError(
                f"benchmark is a {type(benchmark).__name__}: pass a Series of close prices"
            )
        _check_sessions(benchmark.index, "benchmark")
        ends = pd.to_numeric(benchmark.reindex(sessions[[0, -1]]), errors="coerce")
        ends_arr = ends.to_numpy(dtype=np.float64)
        if not (np.isfinite(ends_arr).all() and (ends_arr > 0).all()):
            raise InputError(
                f"benchmark needs a close > 0 on the equity's first and last sessions "
                f"({_day(sessions[0])}, {_day(sessions[-1])}); it has {ends_arr.tolist()}: "
                "pass the benchmark over the same sessions as the equity curve"
            )
        bench = total_return(ends_arr)

    values = [
        tr,
        growth,
        ann_vol(r, ppy),
        sharpe(r, ppy, rf),
        sortino(r, ppy, rf),
        mdd,
        calmar(growth, mdd),
        float(len(trades)),
        hit_rate(closed_pnl),
        avg_win(closed_pnl),
        avg_loss(closed_pnl),
        profit_factor(closed_pnl),
        expo,
        bench,
        tr - bench,
    ]
    return pd.Series(
        values, index=pd.Index(METRICS, name="metric"), dtype=np.float64, name=equity.name
    )


def pnl_by_event(trades: pd.DataFrame) -> pd.DataFrame:
    """Trades grouped by ``event_id`` (and ``ticker`` when there is that column).

    Columns, per group: ``n_trades`` (all trades, open included, as in
    :func:`compute_metrics`), ``n_open``, ``pnl`` (sum of realised pnl of closed trades;
    0.0 when every trade of the group is open) and ``mean_ret`` (mean ``ret`` of the closed
    trades; NaN when none is closed). Open trades (``exit_reason == 3``) are left out of
    pnl and mean_ret because their result is not realised, so ``pnl.sum()`` equals the
    gross wins minus gross losses behind ``profit_factor``. A missing event_id (NaN) forms
    its own group. Groups are sorted by key; the keys are columns (``event_id`` first, then
    ``ticker``), so the table keeps them when written to Parquet without its index.
    """
    trades = _trades_or_empty(trades, ("event_id", "pnl", "ret", "exit_reason"))
    keys = ["event_id", "ticker"] if "ticker" in trades.columns else ["event_id"]
    is_open = _open_mask(trades, "trades")
    closed = ~is_open
    pnl = np.zeros(len(trades))
    ret = np.full(len(trades), np.nan)
    pnl[closed] = _closed_values(trades, "pnl", is_open, "trades")
    ret[closed] = _closed_values(trades, "ret", is_open, "trades")
    frame = pd.DataFrame(
        {"n_trades": 1, "n_open": is_open.astype(np.int64), "pnl": pnl, "mean_ret": ret}
    )
    for k in keys:
        frame[k] = trades[k].to_numpy()
    grouped = frame.groupby(keys, sort=True, dropna=False)
    out = grouped.agg(
        n_trades=("n_trades", "size"),
        n_open=("n_open", "sum"),
        pnl=("pnl", "sum"),
        mean_ret=("mean_ret", "mean"),
    )
    out = out.astype(
        {"n_trades": np.int64, "n_open": np.int64, "pnl": np.float64, "mean_ret": np.float64}
    )
    return out.reset_index()
