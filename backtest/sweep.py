"""Parameter sweeps: ``run_sweep(config)`` runs every combination of a config's ``[sweep]``.

The pandas face of :mod:`evbt.backtest.sweep_nb`. It does, once per sweep, everything that
does not depend on the swept values: load the catalog and prices, pick the events and their
tickers, place every (event, ticker) pair on the NYSE calendar and on the price index for
each ``entry_offset`` value (with the signal layer's point-in-time rules: lookahead guard,
``skip_if_earnings_within``, the next-earnings exit anchor), and cut the daily returns
into time blocks and the events into walk-forward blocks. The kernel then runs the
combinations, chunk by chunk, and each chunk becomes one Parquet part written atomically.

Output (contract C2), in the run folder ``<results root>/<run id>/``::

    manifest.json                 config, data and catalog hashes, code version, grid size,
                                  parts, overfitting figures
    sweep_summary.parquet         one row per combination: Sharpe, deflated Sharpe, ...
    sweep/parts/part-00000.parquet   one row per (combo_id, scope): metrics
    sweep/blocks/part-00000.parquet  one row per combo_id: time- and event-block sums

While it runs, the folder is ``<root>/.partial/<run id>/`` (``evbt.store.begin_run``); a
part is written under a temporary name and renamed, blocks first, so a part file that
exists is complete and ``resume=True`` computes only the chunks whose part is missing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evbt.config import Config
from evbt.errors import InputError
from evbt.grid import SWEEPABLE, SweepSpec, sweep_spec

PART_DIGITS = 5
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
    pre_skip: np.ndarray
    anchor_cal: np.ndarray
    cal2mkt: np.ndarray
    n_cal: int
    anchor_mode: bool
    eo_values: tuple[int, ...]
    ret_blk: np.ndarray
    tb_n: np.ndarray
    n_eblocks: int
    years: float
    combos: pd.DataFrame  # combo_id + one column per swept parameter
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


# ------------------------------------------------------------------------ the grid


def grid_table(config: Config) -> pd.DataFrame:
    """The combinations of ``config``'s ``[sweep]``: ``combo_id`` plus one column per
    parameter. ``combo_id`` is the position in the full Cartesian product (last parameter
    fastest), also when ``method = "random"`` draws a subset. A stop of ``None`` is NaN."""
    spec = sweep_spec(config.sweep)
    names = list(spec.params)
    sizes = [len(spec.params[p]) for p in names]
    total = spec.grid_size
    if spec.method == "random":
        rng = np.random.default_rng(spec.seed)
        k = min(int(spec.samples or total), total)
        ids = np.sort(rng.choice(total, size=k, replace=False)).astype(np.int64)
    else:
        ids = np.arange(total, dtype=np.int64)
    out: dict[str, Any] = {"combo_id": ids}
    stride = 1
    for p, size in reversed(list(zip(names, sizes, strict=True))):
        pos = (ids // stride) % size
        vals = spec.params[p]
        if p in ("stop_loss", "take_profit"):
            arr = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
        elif p in ("entry_offset", "hold", "exit_offset"):
            arr = np.array(vals, dtype=np.int64)
        elif p in ("fees", "slippage"):
            arr = np.array(vals, dtype=np.float64)
        else:
            arr = np.array(vals, dtype=object)
        out[p] = arr[pos]
        stride *= size
    cols = ["combo_id", *names]
    return pd.DataFrame(out)[cols]


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
    if s.overlap != "skip":
        raise InputError(
            f'{where}: [strategy] overlap = "{s.overlap}" cannot be swept (merged windows '
            'change with every combination): use overlap = "skip" in a sweep config'
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


def prepare(
    config: Config, *, prices_path: str | None = None, events_path: str | None = None
) -> SweepInputs:
    """Check the sweep and build its :class:`SweepInputs` (loads catalog and prices)."""
    from evbt.backtest.manifest import manifest_head
    from evbt.backtest.market import load_market
    from evbt.data.catalog import load_catalog
    from evbt.signals.rules import _all_sessions, _earnings_positions
    from evbt.signals.select import select_events, tickers_of
    from evbt.strategies.presets import REPORTER

    spec = sweep_spec(config.sweep)
    _check_spec(config, spec)
    where = config.origin
    params = config.strategy
    try:
        params.check()
    except InputError as e:
        raise InputError(f"{where}: {e}") from None
    catalog_path = events_path or config.data.events
    catalog = load_catalog(catalog_path)
    events = select_events(catalog, params)
    sessions = _all_sessions()
    n_cal = len(sessions)
    eo_values = tuple(spec.params.get("entry_offset", (params.entry_offset,)))
    eo_field = (
        "[sweep] entry_offset" if "entry_offset" in spec.params else "[strategy] entry_offset"
    )

    base: list[dict[str, Any]] = []
    for _, ev in events.iterrows():
        react = ev["reaction_session"]
        if pd.isna(react):
            continue
        targets: list[str] = []
        for t in params.resolved_tickers():
            targets.extend(tickers_of(ev) if t == REPORTER else [t])
        rpos = int(sessions.get_indexer([pd.Timestamp(react)])[0])
        known_at = pd.Timestamp(ev["known_at"]) if pd.notna(ev["known_at"]) else pd.Timestamp(react)
        for t in targets:
            base.append(
                {
                    "event_id": str(ev["id"]),
                    "ticker": t,
                    "rpos": rpos,
                    "react": pd.Timestamp(react),
                    "scheduled": bool(ev["scheduled"]),
                    "known_at": known_at,
                    "earnings": ev["kind"] == "earnings",
                }
            )
    if not base:
        raise InputError(
            f"{where}: [strategy] select matches no event in the catalog: check kind/org/tags "
            "(evbt events list shows what is there)"
        )
    # the lookahead guard, for every entry_offset value, before any work
    lookahead = False
    sess_ts = sessions.tolist()  # Timestamps: indexing a list is cheaper than the index
    sess64 = sessions.to_numpy()
    for eo in eo_values:
        for b in base:
            epos = b["rpos"] + eo
            if epos < 0 or epos >= n_cal:
                continue
            entry = sess_ts[epos]
            early = entry < b["known_at"] if b["scheduled"] else epos < b["rpos"]
            if early:
                if not params.allow_lookahead:
                    what = (
                        f"before its date was known ({b['known_at']:%Y-%m-%d})"
                        if b["scheduled"]
                        else f"before its reaction session {b['react']:%Y-%m-%d} (a surprise "
                        "cannot be traded early)"
                    )
                    raise InputError(
                        f"{where}: {eo_field} = {eo}: event {b['event_id']} would be entered on "
                        f"{entry:%Y-%m-%d}, {what}: use later entry offsets, or set "
                        "allow_lookahead = true for a deliberate study (it is recorded)"
                    )
                lookahead = True

    tickers = list(dict.fromkeys(b["ticker"] for b in base))
    bench_t = config.data.benchmark
    load = tickers + ([bench_t] if bench_t and bench_t not in tickers else [])
    market = load_market(config, load, prices_path=prices_path)
    if bench_t and bench_t not in tickers:
        market = market.select(tickers)
    index = market.index
    col = {t: i for i, t in enumerate(market.tickers)}

    # global order: reaction session, ticker (column), event id (the signal layer's order)
    frame = pd.DataFrame(base)
    frame["col"] = frame["ticker"].map(col)
    frame = frame.sort_values(["rpos", "col", "event_id"], kind="stable").reset_index(drop=True)
    n_base = len(frame)
    n_j = len(eo_values)
    ent_cal = np.zeros((n_j, n_base), dtype=np.int64)
    ent_mkt = np.full((n_j, n_base), -1, dtype=np.int64)
    pre_skip = np.zeros((n_j, n_base), dtype=np.uint8)
    anchor_cal = np.full((n_j, n_base), -1, dtype=np.int64)
    earn_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def earnings(t: str) -> tuple[np.ndarray, np.ndarray]:
        if t not in earn_cache:
            earn_cache[t] = _earnings_positions(catalog, t, sessions)
        return earn_cache[t]

    mkt_pos = index.get_indexer(sessions)  # calendar position -> price index position or -1
    for j, eo in enumerate(eo_values):
        for s, b in enumerate(frame.itertuples(index=False)):
            epos = b.rpos + eo
            if epos < 0 or epos >= n_cal:
                pre_skip[j, s] = 1
                continue
            ent_cal[j, s] = epos
            entry64 = sess64[epos]
            if params.skip_if_earnings_within is not None and not b.earnings:
                epos_t, eknown = earnings(b.ticker)
                near = (np.abs(epos_t - b.rpos) <= params.skip_if_earnings_within) & (
                    eknown <= entry64
                )
                if near.any():
                    pre_skip[j, s] = 1
                    continue
            if params.exit_anchor == "next_earnings":
                epos_t, eknown = earnings(b.ticker)
                nxt = np.flatnonzero((epos_t > epos) & (eknown <= entry64))
                if nxt.size == 0:
                    pre_skip[j, s] = 1
                    continue
                anchor_cal[j, s] = int(epos_t[nxt[0]])
            ent_mkt[j, s] = mkt_pos[epos]
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
        pre_skip=pre_skip,
        anchor_cal=anchor_cal,
        cal2mkt=cal2mkt,
        n_cal=n_cal,
        anchor_mode=params.exit_anchor == "next_earnings",
        eo_values=eo_values,
        ret_blk=ret_blk,
        tb_n=tb_n,
        n_eblocks=w,
        years=float(years),
        combos=grid_table(config),
        head=manifest_head(
            config,
            market,
            kind="sweep",
            catalog=catalog,
            catalog_path=catalog_path,
            prices_path=prices_path,
        ),
        lookahead=lookahead,
    )


# ---------------------------------------------------------------------- one chunk


def _kernel_columns(inp: SweepInputs, combos: pd.DataFrame) -> dict[str, np.ndarray]:
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
        "c_eo": np.array([eo_pos[int(v)] for v in eo], dtype=np.int64),
        "c_hold": col("hold", s.hold, np.int64).astype(np.int64),
        "c_xoff": col("exit_offset", s.exit_offset, np.int64).astype(np.int64),
        "c_sl": np.asarray(sl, dtype=np.float64),
        "c_tp": np.asarray(tp, dtype=np.float64),
        "c_dir": np.where(np.asarray(direction) == "long", 1, -1).astype(np.int64),
        "c_price": np.array([TOML_WORDS["price"][v] for v in price], dtype=np.int64),
        "c_stopon": np.array([TOML_WORDS["stop_on"][v] for v in stop_on], dtype=np.int64),
        "c_fees": np.asarray(col("fees", c.fees, np.float64), dtype=np.float64),
        "c_slip": np.asarray(col("slippage", c.slippage, np.float64), dtype=np.float64),
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
    # prange hands each thread one contiguous slice; neighbours in the grid cost alike
    # (same hold), so interleave the combinations to balance the threads, then undo it.
    n_th = max(1, numba.get_num_threads())
    order = np.concatenate([np.arange(t, n_c, n_th) for t in range(n_th)])
    k = {name: np.ascontiguousarray(v[order]) for name, v in k.items()}
    acc = np.zeros((n_c, 1 + m, N_ACC))
    tb = np.zeros((n_c, len(inp.tb_n), 2))
    eb = np.zeros((n_c, inp.n_eblocks, 2))
    with _KERNEL_LOCK:
        _launch(sweep_nb, inp, k, base, acc, tb, eb)
    out = (np.empty_like(acc), np.empty_like(tb), np.empty_like(eb))
    for dst, src in zip(out, (acc, tb, eb), strict=True):
        dst[order] = src
    return out


def _launch(sweep_nb, inp, k, base, acc, tb, eb) -> None:
    sweep_nb(
        inp.open, inp.high, inp.low, inp.close, inp.real, inp.last_real, inp.b_ticker,
        inp.b_eblk, inp.ent_cal, inp.ent_mkt, inp.pre_skip, inp.anchor_cal, inp.cal2mkt,
        inp.n_cal, inp.anchor_mode, k["c_eo"], k["c_hold"], k["c_xoff"], k["c_sl"], k["c_tp"],
        k["c_dir"], k["c_price"], k["c_stopon"], k["c_fees"], k["c_slip"], base.size_type,
        float(base.size), float(base.init_cash), base.mode, float(base.max_gross),
        float(inp.config.strategy.weight), inp.ret_blk, acc, tb, eb,
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
        "ruined": ruined,
    }


def chunk_frames(inp: SweepInputs, combos: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``combos`` and return ``(part, blocks)`` tables (contract C2)."""
    acc, tb, eb = run_chunk_arrays(inp, combos)
    met = finalise(acc, len(inp.index), inp.years)
    per_ticker = inp.config.portfolio.mode == "per_ticker"
    scopes = ["total", *inp.tickers] if per_ticker else ["total"]
    n_c, n_s = len(combos), len(scopes)
    rep = np.repeat(np.arange(n_c), n_s)
    part = combos.iloc[rep].reset_index(drop=True)
    part["scope"] = np.tile(np.array(scopes, dtype=object), n_c)
    for name in METRIC_COLUMNS:
        part[name] = met[name][:, :n_s].reshape(-1)
    part["ruined"] = met["ruined"][:, :n_s].reshape(-1)
    blocks = pd.DataFrame({"combo_id": combos["combo_id"].to_numpy()})
    blocks["tb_sum"] = list(tb[:, :, 0])
    blocks["tb_sumsq"] = list(tb[:, :, 1])
    blocks["tb_n"] = [inp.tb_n.copy() for _ in range(n_c)]
    blocks["eb_ret"] = list(eb[:, :, 0])
    blocks["eb_n"] = [eb[i, :, 1].astype(np.int64) for i in range(n_c)]
    return part, blocks


# ------------------------------------------------------------------- parts on disk


def part_name(i: int) -> str:
    return f"part-{i:0{PART_DIGITS}d}.parquet"


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{secrets.token_hex(4)}")
    try:
        frame.to_parquet(tmp, index=False)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_part(folder: Path, i: int, part: pd.DataFrame, blocks: pd.DataFrame) -> Path:
    """Write part ``i`` under ``folder/sweep``: blocks first, then the part (the marker)."""
    sweep = Path(folder) / "sweep"
    (sweep / "parts").mkdir(parents=True, exist_ok=True)
    (sweep / "blocks").mkdir(parents=True, exist_ok=True)
    _write_atomic(blocks, sweep / "blocks" / part_name(i))
    out = sweep / "parts" / part_name(i)
    _write_atomic(part, out)
    return out


def done_parts(folder: Path) -> set[int]:
    """Indices of the complete parts in ``folder`` (temporary files are never read)."""
    sweep = Path(folder) / "sweep"
    out = set()
    for p in (sweep / "parts").glob("part-*.parquet"):
        i = int(p.stem.split("-")[1])
        if (sweep / "blocks" / part_name(i)).exists():
            out.add(i)
    return out


def _clean_tmp(folder: Path) -> None:
    for sub in ("parts", "blocks"):
        for p in (Path(folder) / "sweep" / sub).glob(".tmp-*"):
            p.unlink(missing_ok=True)


def compute_part(inp: SweepInputs, i: int, lo: int, hi: int, folder: str) -> str:
    """Compute combinations ``lo:hi`` as part ``i`` into ``folder``; returns the part path.

    Used by both executors (a Dask task returns only this path)."""
    part, blocks = chunk_frames(inp, inp.combos.iloc[lo:hi].reset_index(drop=True))
    return str(write_part(Path(folder), i, part, blocks))


def read_table(run_folder: str | os.PathLike[str], what: str = "parts") -> pd.DataFrame:
    """All parts (``"parts"``) or block sums (``"blocks"``) of a sweep folder, in order."""
    files = sorted((Path(run_folder) / "sweep" / what).glob("part-*.parquet"))
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


# ------------------------------------------------------------------------- the run


@dataclass
class SweepResult:
    """A finished sweep: its folder, manifest, summary table and overfitting figures."""

    run_dir: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    reused: bool = False

    def table(self) -> pd.DataFrame:
        """Every (combo_id, scope) row of the parts."""
        return read_table(self.run_dir, "parts")

    def blocks(self) -> pd.DataFrame:
        return read_table(self.run_dir, "blocks")


def _chunks(n: int, size: int) -> list[tuple[int, int, int]]:
    return [(i, lo, min(lo + size, n)) for i, lo in enumerate(range(0, n, size))]


def _progress(total: int, enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class _Rate(TextColumn):
        def render(self, task):  # combinations per second
            from rich.text import Text

            elapsed = task.finished_time if task.finished else task.elapsed
            done = task.completed - task.fields.get("skipped", 0)
            speed = done / elapsed if elapsed else None
            return Text(f"{speed:,.0f} combos/s" if speed else "-- combos/s")

    return Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(""),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _overfit(
    total: pd.DataFrame, blocks: dict[str, np.ndarray], params: list[str]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``sweep_summary`` (one row per combination: parameters, Sharpe, deflated Sharpe,
    PSR p-value, BH/BY rejections, then the other total-scope metrics) and the manifest's
    ``overfit`` entry, from ``evbt.backtest.overfit.summarize`` (contract C2). Without that
    module the overfitting columns are absent and ``overfit`` says why."""
    try:
        from evbt.backtest.overfit import summarize
    except ImportError:
        return total, {"available": False, "reason": "evbt.backtest.overfit is not importable"}
    table, info = summarize(total, blocks, params=params)
    rest = [c for c in total.columns if c not in table.columns]
    summary = table.merge(total[["combo_id", *rest]], on="combo_id", how="left")
    return summary, {"available": True, **info}


def _part_files(folder: Path, what: str) -> list[Path]:
    return sorted((Path(folder) / "sweep" / what).glob("part-*.parquet"))


def _read_totals(folder: Path) -> pd.DataFrame:
    """The total-scope rows of every part (read with a filter: memory stays small)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [
        pq.read_table(f, filters=[("scope", "==", "total")]) for f in _part_files(folder, "parts")
    ]
    total = pa.concat_tables(tables).to_pandas().drop(columns=["scope"])
    return total.sort_values("combo_id", kind="stable").reset_index(drop=True)


def _read_blocks(folder: Path, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Block sums as 2-D arrays (combinations x blocks) in the order of ``ids``."""
    import pyarrow.parquet as pq

    cols: dict[str, list[np.ndarray]] = {}
    order: list[np.ndarray] = []
    for f in _part_files(folder, "blocks"):
        t = pq.read_table(f)
        n = t.num_rows
        order.append(t.column("combo_id").to_numpy())
        for name in ("tb_sum", "tb_sumsq", "tb_n", "eb_ret", "eb_n"):
            flat = t.column(name).combine_chunks().flatten().to_numpy()
            cols.setdefault(name, []).append(flat.reshape(n, -1))
    have = np.concatenate(order)
    pos = pd.Index(have).get_indexer(ids)
    return {k: np.concatenate(v)[pos] for k, v in cols.items()}


def _any_ruined(folder: Path) -> bool:
    import pyarrow.parquet as pq

    return any(
        bool(pq.read_table(f, columns=["ruined"]).column("ruined").to_numpy().any())
        for f in _part_files(folder, "parts")
    )


def _finish(inp: SweepInputs, folder: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    total = _read_totals(folder)
    blocks = _read_blocks(folder, total["combo_id"].to_numpy())
    return _overfit(total, blocks, inp.params)


def run_sweep(
    config: Config,
    *,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    force: bool = False,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
    chunk_size: int | None = None,
    prices_path: str | None = None,
    events_path: str | None = None,
) -> SweepResult:
    """Run the ``[sweep]`` of ``config``; stream parts; return the finished run.

    ``out``: results root (``evbt.store.results_root``). ``resume``: keep the finished parts
    of an interrupted run of the same id and compute only the missing ones. ``force``:
    recompute even if a finished run of the same id exists. ``workers``: threads (local) or
    threads per worker (a Dask LocalCluster). ``executor``: ``"local"`` or ``"dask"``
    (``scheduler`` = a Dask scheduler address; none starts a LocalCluster in-process).
    ``chunk_size``: combinations per part (default 10,000).
    """
    from evbt import store

    if executor not in ("local", "dask"):
        raise InputError(f"--executor {executor!r}: use local or dask")
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: use a whole number >= 1")
    if chunk_size is not None and chunk_size < 1:
        raise InputError(f"--chunk-size {chunk_size}: use a whole number >= 1")
    inp = prepare(config, prices_path=prices_path, events_path=events_path)
    root = store.results_root(out, config)
    run_id = inp.head["run_id"]
    n = len(inp.combos)
    manifest: dict[str, Any] = {
        **json.loads(json.dumps(inp.head, default=str)),
        "lookahead": inp.lookahead,
        "ruined": False,
        "grid_size": inp.spec.grid_size,
        "n_combos": n,
        "method": inp.spec.method,
        "params": {
            p: [None if v is None else v for v in vals] for p, vals in inp.spec.params.items()
        },
        "blocks": len(inp.tb_n),
        "wf_blocks": inp.n_eblocks,
        "portfolio_mode": config.portfolio.mode,
    }
    if store.run_exists(root, run_id) and not force:
        done = store.open_run(root, run_id)
        summary = pd.read_parquet(done.path / "sweep_summary.parquet")
        return SweepResult(done.path, done.manifest, summary, reused=True)
    partial = store.partial_dir(root, run_id)
    old = None
    if partial.is_dir() and (partial / "sweep").exists():
        if resume and not force:
            pm = partial / store.PARTIAL_MANIFEST
            if pm.exists():
                old = json.loads(pm.read_text())
        elif not force:
            raise InputError(
                f"{partial}: an interrupted sweep of this run exists: add --resume to finish it "
                "or --force to start over"
            )
        else:
            import shutil

            shutil.rmtree(partial / "sweep", ignore_errors=True)
    size = int(old["chunk_size"]) if old and "chunk_size" in old else (chunk_size or DEFAULT_CHUNK)
    manifest["chunk_size"] = size
    chunks = _chunks(n, size)
    manifest["n_parts"] = len(chunks)
    folder = store.begin_run(root, run_id, {**manifest, "parts": []})
    _clean_tmp(folder)
    have = done_parts(folder)
    todo = [c for c in chunks if c[0] not in have]
    started = time.perf_counter()
    with _progress(n, progress) as bar:
        skip = n - sum(hi - lo for _, lo, hi in todo)
        task = bar.add_task("sweep", total=n, completed=skip, start=True)
        bar.update(task, skipped=skip)
        finished = sorted(have)

        def part_done(i: int, lo: int, hi: int) -> None:
            finished.append(i)
            bar.advance(task, hi - lo)
            store.begin_run(
                root, run_id, {**manifest, "parts": [part_name(p) for p in sorted(finished)]}
            )

        if executor == "local":
            import numba

            most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
            threads = min(workers or most, most)
            numba.set_num_threads(max(1, threads))
            for i, lo, hi in todo:
                compute_part(inp, i, lo, hi, str(folder))
                part_done(i, lo, hi)
        else:
            _run_dask(inp, todo, folder, workers, scheduler, part_done)
    elapsed = time.perf_counter() - started
    summary, overfit = _finish(inp, folder)
    ruined = _any_ruined(folder) if n else False
    manifest.update(
        parts=[part_name(i) for i, _, _ in chunks],
        overfit=overfit,
        ruined=ruined,
        executor=executor,
        seconds=round(elapsed, 3),
        resumed=bool(have),
    )
    import datetime as dt

    manifest["created_utc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    final = store.finish_run(root, run_id, manifest=manifest, frames={"sweep_summary": summary})
    return SweepResult(final, manifest, summary)


def _run_dask(inp, todo, folder, workers, scheduler, done) -> None:
    """Each chunk is a task that writes its own part and returns only the path."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - the optional extra
        raise InputError(
            "--executor dask needs dask[distributed]: pip install 'evbt[dask]'"
        ) from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=1, threads_per_worker=workers or 2, processes=False, dashboard_address=None
        )
        client = Client(cluster)
    try:
        data = client.scatter(inp, broadcast=True)
        futs = {}
        for i, lo, hi in todo:
            f = client.submit(compute_part, data, i, lo, hi, str(folder), pure=False)
            futs[f] = (i, lo, hi)
        for f in as_completed(list(futs)):
            f.result()
            done(*futs[f])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
