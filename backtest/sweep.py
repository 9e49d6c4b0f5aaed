"""Parameter sweeps: every combination of a config's ``[sweep]`` on prepared inputs.

The pandas face of :mod:`evbt.backtest.sweep_nb`. Once per sweep, :func:`sweep_events` and
:func:`prepare_inputs` do everything that does not depend on the swept values: pick the
events and their tickers from a loaded catalog, place every (event, ticker) pair on the NYSE
calendar and on the price index for each ``entry_offset`` value (with the signal layer's
point-in-time rules: lookahead guard, ``skip_if_earnings_within``, the next-earnings exit
anchor), and cut the daily returns into time blocks and the events into walk-forward blocks.
:func:`chunk_frames` runs a chunk of combinations and returns its ``(part, blocks)``
tables; :mod:`evbt.backtest.executor` schedules the chunks (here or on a Dask cluster).

Loading the catalog and prices, the run folder and its part files belong to the application
(:func:`evbt.api.sweep`, :mod:`evbt.parts`; contract C2 in docs/contracts.md).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evbt.backtest.market import Market
from evbt.errors import InputError
from evbt.signals.base import BaseSignals
from evbt.strategies.config import Config
from evbt.strategies.grid import SWEEPABLE, Grid, SweepSpec, sweep_spec

DEFAULT_CHUNK = 10_000
METRIC_COLUMNS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "hit_rate",
    "profit_factor",
    "avg_trade",
    "avg_win",
    "avg_loss",
    "exposure",
    "n_trades",
    "n_signals",
    "n_skipped",
    "n_obs",
    "skew",
    "kurt",
    "n_active_days",
    "n_events",
    "event_pnl_mean",
    "event_pnl_sd",
    "event_t",
    "event_p",
)
_PPY = 252
# One parallel kernel launch per process at a time: Numba's threading layers are not all
# safe for concurrent launches (Dask runs tasks in threads); the kernel uses every core.
_KERNEL_LOCK = threading.Lock()
_STD_TOL = 1e-12  # as evbt.backtest.metrics.sample_std


@dataclass
class SweepInputs:
    """Everything a chunk of combinations needs; picklable (Dask ships it to workers)."""

    config: Config
    spec: SweepSpec
    tickers: list[str]
    index: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    real: np.ndarray
    last_real: np.ndarray
    b_ticker: np.ndarray
    b_eblk: np.ndarray
    ent_cal: np.ndarray
    ent_mkt: np.ndarray
    b_weight: np.ndarray
    b_event: np.ndarray  # base signal -> event index (0..n_events-1), for per-event P&L
    n_events: int
    pre_skip: np.ndarray
    anchor_cal: np.ndarray
    cal2mkt: np.ndarray
    n_cal: int
    anchor_mode: bool
    merge: bool  # [strategy] overlap = "merge"
    eo_values: tuple[int, ...]
    ret_blk: np.ndarray
    tb_n: np.ndarray
    n_eblocks: int
    years: float
    grid: Grid  # the combinations, made a chunk at a time (never all at once)
    head: dict[str, Any] = field(default_factory=dict)  # manifest head (run id, data, catalog)
    lookahead: bool = False

    @property
    def data(self) -> dict[str, Any]:
        return self.head["data"]

    @property
    def catalog(self) -> dict[str, Any]:
        return self.head["catalog"]

    @property
    def params(self) -> list[str]:
        return list(self.spec.params)

    @property
    def n_combos(self) -> int:
        return len(self.grid)

    @property
    def combos(self) -> pd.DataFrame:
        """Every combination as one table (``combo_id`` + one column per swept parameter).
        Made on each call and sized by the grid: for tests and small grids; a sweep reads
        ``grid.rows(lo, hi)`` one chunk at a time."""
        return self.grid.rows()


# ------------------------------------------------------------------------ the grid


def grid_table(config: Config) -> pd.DataFrame:
    """The combinations of ``config``'s ``[sweep]``: ``combo_id`` plus one column per
    parameter. ``combo_id`` is the position in the full Cartesian product (last parameter
    fastest), also when ``method = "random"`` draws a subset. A stop of ``None`` is NaN.
    Sized by the grid: a sweep reads :class:`evbt.strategies.grid.Grid` a chunk at a time."""
    return Grid(sweep_spec(config.sweep)).rows()


def combo_config(config: Config, row: dict[str, Any] | pd.Series) -> Config:
    """The plain backtest config of one combination (``evbt backtest`` would run this)."""
    strat: dict[str, Any] = {}
    costs: dict[str, Any] = {}
    for p, table in SWEEPABLE.items():
        if p not in row:
            continue
        v = row[p]
        if p in ("stop_loss", "take_profit"):
            v = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        elif p in ("entry_offset", "hold", "exit_offset"):
            v = int(v)
        elif p in ("fees", "slippage"):
            v = float(v)
        (strat if table == "strategy" else costs)[p] = v
    return dataclasses.replace(
        config,
        strategy=dataclasses.replace(config.strategy, **strat),
        costs=dataclasses.replace(config.costs, **costs),
        sweep={},
    )


# ------------------------------------------------------------------ preparation (once)


def _check_spec(config: Config, spec: SweepSpec) -> None:
    where = config.origin
    s = config.strategy
    if not spec.params:
        raise InputError(
            f"{where}: [sweep] names no parameter to vary: add e.g. hold = [3, 5, 10] "
            "(or run evbt backtest for a single backtest)"
        )
    anchored = s.exit_anchor == "next_earnings"
    if anchored and "hold" in spec.params:
        raise InputError(
            f'{where}: [sweep] hold has no effect with exit_anchor = "next_earnings": sweep '
            "exit_offset instead, or drop the anchor"
        )
    if not anchored and "exit_offset" in spec.params:
        raise InputError(
            f'{where}: [sweep] exit_offset only matters with exit_anchor = "next_earnings": '
            "sweep hold instead, or set the anchor"
        )
    # the kernel's own checks (no leverage etc.) on the base config
    from evbt.backtest.enums import params_from_config

    try:
        params_from_config(config)
    except ValueError as e:
        raise InputError(f"{where}: {e}") from None


@dataclass(frozen=True)
class SweepEvents:
    """What :func:`sweep_events` found: the signal layer's base arrays for every
    ``entry_offset`` value (:class:`evbt.signals.base.BaseSignals`), the trade tickers and
    whether any entry looks ahead (allowed by the config)."""

    spec: SweepSpec
    base: BaseSignals
    tickers: list[str]
    eo_values: tuple[int, ...]
    lookahead: bool


def sweep_events(config: Config, catalog: pd.DataFrame) -> SweepEvents:
    """Check the sweep and place the events it selects from ``catalog`` on the calendar, with
    the lookahead guard for every ``entry_offset`` value, before any price is loaded. The
    rules are the signal layer's (:func:`evbt.signals.base.base_signals`), computed once."""
    from evbt.signals.base import base_signals, check_lookahead

    spec = sweep_spec(config.sweep)
    _check_spec(config, spec)
    where = config.origin
    params = config.strategy
    try:
        params.check()
    except InputError as e:
        raise InputError(f"{where}: {e}") from None
    eo_values = tuple(spec.params.get("entry_offset", (params.entry_offset,)))
    base = base_signals(catalog, params, eo_values)
    if not (base.rpos >= 0).any():
        raise InputError(
            f"{where}: [strategy] select matches no event in the catalog: check kind/org/tags "
            "(evbt events list shows what is there)"
        )
    # the lookahead guard, for every entry_offset value, before any work
    lookahead = check_lookahead(
        base,
        params,
        field="[sweep] entry_offset"
        if "entry_offset" in spec.params
        else "[strategy] entry_offset",
        fix="use later entry offsets",
        recorded="it is recorded",
        where=where,
    )
    tickers = list(dict.fromkeys(base.ticker[base.rpos >= 0].tolist()))
    return SweepEvents(
        spec=spec, base=base, tickers=tickers, eo_values=eo_values, lookahead=lookahead
    )


def prepare_inputs(
    config: Config,
    catalog: pd.DataFrame,
    found: SweepEvents,
    market: Market,
    head: dict[str, Any],
) -> SweepInputs:
    """Build the sweep's :class:`SweepInputs` from the base signals :func:`sweep_events`
    found and the market (the trade tickers); ``head`` is the manifest head the application
    made. Loads nothing. ``catalog`` is the one ``found`` was made from."""
    spec, base, eo_values = found.spec, found.base, found.eo_values
    params = config.strategy
    sessions = base.sessions
    n_cal = len(sessions)
    index = market.index
    col = {t: i for i, t in enumerate(market.tickers)}

    # pairs with a reaction session, in the global order: reaction session, ticker (column),
    # event id (the signal layer's order)
    pair = base.sweep_order(col)
    frame = pd.DataFrame(
        {
            "event_id": base.event_id[pair],
            "col": [col[t] for t in base.ticker[pair]],
            "rpos": base.rpos[pair],
        }
    )
    ent_cal = np.ascontiguousarray(np.maximum(base.ent_cal[:, pair], 0))
    pre_skip = np.ascontiguousarray((base.skip[:, pair] != 0).astype(np.uint8))
    anchor_cal = np.ascontiguousarray(base.anchor_cal[:, pair])
    # the weight_by scale per base signal (1.0 without weight_by): the kernel multiplies it
    # into [strategy] weight, as build_signals does
    b_weight = np.ascontiguousarray(base.weight[:, pair], dtype=np.float64)
    mkt_pos = index.get_indexer(sessions)  # calendar position -> price index position or -1
    ent_mkt = np.where(pre_skip == 0, mkt_pos[ent_cal], -1).astype(np.int64)
    # calendar position of an exit -> price index position (past the end: n), as to_arrays
    cal2mkt = index.searchsorted(sessions, side="left").astype(np.int64)
    cal2mkt[np.asarray(sessions > index[-1])] = len(index)

    # walk-forward event blocks: events sorted by reaction session, W contiguous blocks
    ev_order = frame.drop_duplicates("event_id")[["event_id", "rpos"]]
    ev_order = ev_order.sort_values(["rpos", "event_id"], kind="stable")["event_id"].tolist()
    w = max(1, min(spec.wf_blocks, len(ev_order)))
    ev_blk = {}
    for bi, chunk in enumerate(np.array_split(np.arange(len(ev_order)), w)):
        for k in chunk:
            ev_blk[ev_order[int(k)]] = bi
    b_eblk = frame["event_id"].map(ev_blk).to_numpy(dtype=np.int64)
    # catalog event of each base signal (its tickers' trades sum to the event's P&L)
    b_event, ev_ids = pd.factorize(frame["event_id"])

    # CSCV time blocks of the n - 1 daily returns
    n = len(index)
    n_ret = max(n - 1, 0)
    s_blocks = max(1, min(spec.blocks, n_ret)) if n_ret else 1
    ret_blk = np.zeros(n, dtype=np.int64)
    tb_n = np.zeros(s_blocks, dtype=np.int64)
    for bi, chunk in enumerate(np.array_split(np.arange(1, n), s_blocks)):
        ret_blk[chunk] = bi
        tb_n[bi] = len(chunk)

    from evbt.backtest.metrics import years_between

    years = years_between(index.to_numpy()[0], index.to_numpy()[-1]) if n else 0.0
    real = np.ascontiguousarray(market.real.astype(np.bool_))
    last_real = np.array(
        [
            int(np.flatnonzero(real[:, t])[-1]) if real[:, t].any() else -1
            for t in range(real.shape[1])
        ],
        dtype=np.int64,
    )
    return SweepInputs(
        config=config,
        spec=spec,
        tickers=list(market.tickers),
        index=index,
        open=market.open,
        high=market.high,
        low=market.low,
        close=market.close,
        real=real,
        last_real=last_real,
        b_ticker=frame["col"].to_numpy(dtype=np.int64),
        b_eblk=b_eblk,
        ent_cal=ent_cal,
        ent_mkt=ent_mkt,
        b_weight=b_weight,
        b_event=np.ascontiguousarray(b_event, dtype=np.int64),
        n_events=len(ev_ids),
        pre_skip=pre_skip,
        anchor_cal=anchor_cal,
        cal2mkt=cal2mkt,
        n_cal=n_cal,
        anchor_mode=params.exit_anchor == "next_earnings",
        merge=params.overlap == "merge",
        eo_values=eo_values,
        ret_blk=ret_blk,
        tb_n=tb_n,
        n_eblocks=w,
        years=float(years),
        grid=Grid(spec),
        head=head,
        lookahead=found.lookahead,
    )


# ---------------------------------------------------------------------- one chunk


def _kernel_columns(inp: SweepInputs, combos: pd.DataFrame) -> dict[str, np.ndarray]:
    """The combinations as the kernel's codes, keyed by :class:`~evbt.backtest.enums.Combos`'s
    fields."""
    from evbt.backtest.enums import TOML_WORDS

    cfg = inp.config
    s, c = cfg.strategy, cfg.costs
    n = len(combos)

    def col(name: str, default: Any, dtype: Any) -> np.ndarray:
        if name in combos.columns:
            return combos[name].to_numpy()
        return np.full(n, default, dtype=dtype)

    eo = col("entry_offset", s.entry_offset, np.int64).astype(np.int64)
    eo_pos = {v: i for i, v in enumerate(inp.eo_values)}
    direction = col("direction", s.direction, object)
    price = col("price", s.price, object)
    stop_on = col("stop_on", s.stop_on, object)
    sl = col("stop_loss", np.nan if s.stop_loss is None else s.stop_loss, np.float64)
    tp = col("take_profit", np.nan if s.take_profit is None else s.take_profit, np.float64)
    return {
        "eo": np.array([eo_pos[int(v)] for v in eo], dtype=np.int64),
        "hold": col("hold", s.hold, np.int64).astype(np.int64),
        "xoff": col("exit_offset", s.exit_offset, np.int64).astype(np.int64),
        "sl": np.asarray(sl, dtype=np.float64),
        "tp": np.asarray(tp, dtype=np.float64),
        "direction": np.where(np.asarray(direction) == "long", 1, -1).astype(np.int64),
        "price": np.array([TOML_WORDS["price"][v] for v in price], dtype=np.int64),
        "stop_on": np.array([TOML_WORDS["stop_on"][v] for v in stop_on], dtype=np.int64),
        "fees": np.asarray(col("fees", c.fees, np.float64), dtype=np.float64),
        "slip": np.asarray(col("slippage", c.slippage, np.float64), dtype=np.float64),
    }


def run_chunk_arrays(inp: SweepInputs, combos: pd.DataFrame):
    """Run the kernel on ``combos``: ``(acc, tb, eb)`` arrays (see ``sweep_nb``)."""
    import numba

    from evbt.backtest.enums import params_from_config
    from evbt.backtest.sweep_nb import N_ACC, sweep_nb

    base = params_from_config(inp.config)
    k = _kernel_columns(inp, combos)
    n_c = len(combos)
    m = len(inp.tickers)
    # sweep_nb runs one contiguous slice per thread; neighbours in the grid cost alike
    # (same hold), so interleave the combinations to balance the threads, then undo it.
    n_th = max(1, numba.get_num_threads())
    order = np.concatenate([np.arange(t, n_c, n_th) for t in range(n_th)])
    k = {name: np.ascontiguousarray(v[order]) for name, v in k.items()}
    acc = np.zeros((n_c, 1 + m, N_ACC))
    tb = np.zeros((n_c, len(inp.tb_n), 2))
    eb = np.zeros((n_c, inp.n_eblocks, 2))
    with _KERNEL_LOCK:
        _launch(sweep_nb, inp, k, base, acc, tb, eb, n_th)
    out = (np.empty_like(acc), np.empty_like(tb), np.empty_like(eb))
    for dst, src in zip(out, (acc, tb, eb), strict=True):
        dst[order] = src
    return out


def _launch(sweep_nb, inp, k, base, acc, tb, eb, n_threads: int) -> None:
    # Every array through the gate (evbt.backtest.jit): Dask may unpickle read-only arrays
    # and pandas 3 hands read-only views, either of which would compile sweep_nb again.
    from evbt.backtest import overfit_nb
    from evbt.backtest.enums import Combos, SweepBase
    from evbt.backtest.jit import gate, say_if_compiling

    say_if_compiling(["sweep"], [sweep_nb, overfit_nb.cscv_best_nb])

    f8, i8, u1 = np.float64, np.int64, np.uint8
    sweep_base = SweepBase(
        ticker=gate(inp.b_ticker, i8), eblk=gate(inp.b_eblk, i8), event=gate(inp.b_event, i8),
        ent_cal=gate(inp.ent_cal, i8), ent_mkt=gate(inp.ent_mkt, i8),
        pre_skip=gate(inp.pre_skip, u1), anchor_cal=gate(inp.anchor_cal, i8),
        scale=gate(inp.b_weight, f8), cal2mkt=gate(inp.cal2mkt, i8),
        last_real=gate(inp.last_real, i8), n_cal=int(inp.n_cal), n_events=int(inp.n_events),
        anchor_mode=bool(inp.anchor_mode), merge=bool(inp.merge),
        weight=float(inp.config.strategy.weight),
    )  # fmt: skip
    floats = ("sl", "tp", "fees", "slip")
    combos = Combos(**{name: gate(v, f8 if name in floats else i8) for name, v in k.items()})
    sweep_nb(
        gate(inp.open, f8), gate(inp.high, f8), gate(inp.low, f8), gate(inp.close, f8),
        gate(inp.real, np.bool_), sweep_base, combos, base, gate(inp.ret_blk, i8),
        acc, tb, eb,  # outputs: made here by np.zeros, already C and writeable
        n_threads,
    )  # fmt: skip


def finalise(acc: np.ndarray, n_sessions: int, years: float) -> dict[str, np.ndarray]:
    """Running sums ``acc[..., N_ACC]`` -> the metrics (as ``metrics.compute_metrics``)."""
    from evbt.backtest import sweep_nb as K

    a = acc
    ruin = a[..., K.A_RUIN]
    ruined = ruin >= 0
    n_obs = np.where(ruined, ruin, max(n_sessions - 1, 0)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s1, s2 = a[..., K.A_SUM], a[..., K.A_SUMSQ]
        mean = s1 / n_obs
        var = (s2 - s1 * mean) / (n_obs - 1.0)
        sd = np.sqrt(np.maximum(var, 0.0))
        sd = np.where(sd <= _STD_TOL * (1.0 + a[..., K.A_MAXABS]), 0.0, sd)
        sd = np.where(n_obs < 2, np.nan, sd)
        vol = sd * math.sqrt(_PPY)
        sharpe = np.where(sd > 0, mean / sd * math.sqrt(_PPY), np.nan)
        dd = np.sqrt(a[..., K.A_NEGSQ] / n_obs)
        sortino = np.where(
            dd == 0.0, np.where(mean > 0, np.inf, np.nan), mean / dd * math.sqrt(_PPY)
        )
        sortino = np.where(n_obs < 2, np.nan, sortino)
        growth = a[..., K.A_ELAST] / a[..., K.A_E0]
        total = growth - 1.0
        cagr = np.power(growth, 1.0 / years) - 1.0 if years > 0 else np.full_like(total, np.nan)
        cagr = np.where(ruined, -1.0, cagr)
        mdd = a[..., K.A_MDD]
        calmar = np.where(
            np.isnan(cagr),
            np.nan,
            np.where(mdd == 0.0, np.where(cagr > 0, np.inf, np.nan), cagr / np.abs(mdd)),
        )
        closed = a[..., K.A_CLOSED]
        gw, gl = a[..., K.A_GWIN], a[..., K.A_GLOSS]
        hit = np.where(closed > 0, a[..., K.A_WIN] / closed, np.nan)
        pf = np.where(
            closed > 0, np.where(gl == 0.0, np.where(gw > 0, np.inf, np.nan), gw / gl), np.nan
        )
        avg_trade = np.where(closed > 0, a[..., K.A_RETSUM] / closed, np.nan)
        avg_win = np.where(a[..., K.A_WIN] > 0, gw / a[..., K.A_WIN], np.nan)
        avg_loss = np.where(a[..., K.A_LOSS] > 0, -gl / a[..., K.A_LOSS], np.nan)
        exposure = a[..., K.A_HELD] / n_sessions
        # population moments of the daily returns (flat days included): skew, kurt (non-excess)
        m2 = s2 / n_obs - mean**2
        m3 = a[..., K.A_SUM3] / n_obs - 3 * mean * s2 / n_obs + 2 * mean**3
        m4 = (
            a[..., K.A_SUM4] / n_obs
            - 4 * mean * a[..., K.A_SUM3] / n_obs
            + 6 * mean**2 * s2 / n_obs
            - 3 * mean**4
        )
        skew = np.where(m2 > 0, m3 / m2**1.5, np.nan)
        kurt = np.where(m2 > 0, m4 / m2**2, np.nan)
    n_trades = a[..., K.A_TRADES]
    n_signals = a[..., K.A_SIGNALS]
    ev = event_stats(a[..., K.A_EVN], a[..., K.A_EVSUM], a[..., K.A_EVSQ])
    return {
        "total_return": total,
        "cagr": cagr,
        "volatility": vol,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": mdd,
        "calmar": calmar,
        "hit_rate": hit,
        "profit_factor": pf,
        "avg_trade": avg_trade,
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "exposure": exposure,
        "n_trades": n_trades.astype(np.int64),
        "n_signals": n_signals.astype(np.int64),
        "n_skipped": (n_signals - n_trades).astype(np.int64),
        "n_obs": n_obs.astype(np.int64),
        "skew": skew,
        "kurt": kurt,
        "n_active_days": a[..., K.A_NZ].astype(np.int64),
        **ev,
        "ruined": ruined,
    }


def event_stats(n, total, sumsq) -> dict[str, np.ndarray]:
    """Event-level significance from the per-event P&L sums of a scope: ``n`` events with
    at least one trade, the sum and the sum of squares of their P&Ls (an event's P&L is the
    sum of its trades' pnl over tickers).

    ``event_pnl_mean`` and ``event_pnl_sd`` (sample, ``ddof=1``) of the per-event P&L;
    ``event_t = mean / (sd / sqrt(n))`` and ``event_p``, the one-sided p-value of
    ``H0: mean event P&L <= 0`` from Student t with ``n - 1`` degrees of freedom. NaN with
    fewer than two events or when every event has the same P&L (sd 0: no test). The events
    are the sample: a strategy that trades six events has six observations, however many
    sessions it spans.
    """
    from scipy import special  # not scipy.stats: start-up time

    n = np.asarray(n, dtype=np.float64)
    s1 = np.asarray(total, dtype=np.float64)
    s2 = np.asarray(sumsq, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n >= 1, s1 / n, np.nan)
        var = (s2 - s1 * mean) / (n - 1.0)
        # rounding of the power-sum formula: a variance this small next to the mean square
        # is zero (equal P&Ls)
        var = np.where(var <= 1e-13 * np.where(n >= 1, s2 / n, np.nan), 0.0, var)
        sd = np.where(n >= 2, np.sqrt(np.maximum(var, 0.0)), np.nan)
        t = np.where(sd > 0, mean / (sd / np.sqrt(n)), np.nan)
        p = np.full(t.shape, np.nan)
        ok = np.isfinite(t)
        p[ok] = special.stdtr(n[ok] - 1.0, -t[ok])
    return {
        "n_events": n.astype(np.int64),
        "event_pnl_mean": mean,
        "event_pnl_sd": sd,
        "event_t": t,
        "event_p": p,
    }


def chunk_frames(inp: SweepInputs, combos: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``combos`` and return ``(part, blocks)`` tables (contract C2)."""
    return chunk_tables(inp, combos, *run_chunk_arrays(inp, combos))


def chunk_tables(
    inp: SweepInputs, combos: pd.DataFrame, acc: np.ndarray, tb: np.ndarray, eb: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``(part, blocks)`` tables of ``combos`` from the kernel's arrays
    (:func:`run_chunk_arrays`)."""
    met = finalise(acc, len(inp.index), inp.years)
    per_ticker = inp.config.portfolio.mode == "per_ticker"
    scopes = ["total", *inp.tickers] if per_ticker else ["total"]
    n_c, n_s = len(combos), len(scopes)
    rep = np.repeat(np.arange(n_c), n_s)
    # the columns are made first and joined once: one insert per column was 30 inserts per
    # chunk, most of a small chunk's time
    made: dict[str, Any] = {"scope": np.tile(np.array(scopes, dtype=object), n_c)}
    for name in (*METRIC_COLUMNS, "ruined"):
        made[name] = met[name][:, :n_s].reshape(-1)
    part = pd.concat([combos.iloc[rep].reset_index(drop=True), pd.DataFrame(made)], axis=1)
    blocks = pd.DataFrame(
        {
            "combo_id": combos["combo_id"].to_numpy(),
            "tb_sum": list(tb[:, :, 0]),
            "tb_sumsq": list(tb[:, :, 1]),
            "tb_n": [inp.tb_n.copy() for _ in range(n_c)],
            "eb_ret": list(eb[:, :, 0]),
            "eb_n": [eb[i, :, 1].astype(np.int64) for i in range(n_c)],
        }
    )
    return part, blocks


# ------------------------------------------------------------------- the summary


def summarize_sweep(
    total: pd.DataFrame, blocks: dict[str, np.ndarray], params: list[str]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``sweep_summary`` (one row per combination: parameters, Sharpe, deflated Sharpe,
    PSR p-value, BH/BY rejections, then the other total-scope metrics) and the manifest's
    ``overfit`` entry, from ``evbt.backtest.overfit.summarize`` (contract C2)."""
    from evbt.backtest.overfit import summarize

    table, info = summarize(total, blocks, params=params)
    rest = [c for c in total.columns if c not in table.columns]
    summary = table.merge(total[["combo_id", *rest]], on="combo_id", how="left")
    return summary, {"available": True, **info}
