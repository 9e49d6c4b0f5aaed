"""Parameter sweeps: the sweep kernel against one backtest per combination, the grid, the CLI.

The acceptance test (item 2 of issue 8): for random combinations of every sweepable
parameter, in both portfolio modes, each metric of the sweep equals what
``evbt.backtest.engine.run`` reports for that combination's own config, to 1e-9.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evbt import api, parts
from evbt.backtest import sweep as S
from evbt.backtest import sweep_nb
from evbt.errors import InputError
from evbt.strategies.config import from_dict, load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sweep_launch.toml"

# engine metric name -> sweep column
METRICS = {
    "total_return": "total_return",
    "cagr": "cagr",
    "ann_vol": "volatility",
    "sharpe": "sharpe",
    "sortino": "sortino",
    "max_drawdown": "max_drawdown",
    "calmar": "calmar",
    "hit_rate": "hit_rate",
    "profit_factor": "profit_factor",
    "avg_win": "avg_win",
    "avg_loss": "avg_loss",
    "exposure": "exposure",
    "n_trades": "n_trades",
}


def _same(a: float, b: float) -> bool:
    if np.isnan(a) or np.isnan(b):
        return bool(np.isnan(a) and np.isnan(b))
    if np.isinf(a) or np.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a))


@pytest.fixture
def fast_loads(monkeypatch):
    """The engine reloads catalog and prices per run; cache them (same frames, less time)."""
    import evbt.data.catalog as cat
    import evbt.data.sources as src

    cat_cached = functools.lru_cache(maxsize=4)(cat.load_catalog)
    src_orig = src.load_prices
    memo: dict = {}

    def load_catalog(path=None, *a, **k):
        return cat_cached(path, *a, **k).copy()

    def load_prices(tickers, start, end, **k):
        key = (tuple(tickers), start, end, tuple(sorted(k.items())))
        if key not in memo:
            memo[key] = src_orig(tickers, start, end, **k)
        return memo[key].copy()

    monkeypatch.setattr(cat, "load_catalog", load_catalog)
    monkeypatch.setattr(src, "load_prices", load_prices)


def _compare(config, n_expect_min: int) -> int:
    """Sweep every combination of ``config`` and compare with one engine run each."""
    from evbt.api import run

    inp = api.sweep_inputs(config)
    part, blocks = S.chunk_frames(inp, inp.combos)
    checked = 0
    for _, row in inp.combos.iterrows():
        cfg = S.combo_config(config, row)
        try:
            res = run(cfg, study=False)
        except InputError as e:
            # the engine refuses a run where no signal is left; the sweep reports it flat
            assert "signal" in str(e) or "matches no event" in str(e)
            mine = part[(part.combo_id == row.combo_id) & (part.scope == "total")]
            assert (mine["n_trades"] == 0).all()
            continue
        got = part[part.combo_id == row.combo_id].set_index("scope")
        want = res.metrics.set_index("scope")
        assert set(want.index) <= set(got.index)
        for scope in want.index:
            for em, sm in METRICS.items():
                a, b = float(want.loc[scope, em]), float(got.loc[scope, sm])
                assert _same(a, b), (dict(row), scope, em, a, b)
        tr = res.trades
        closed = tr[tr["exit_reason"] != "open"]
        b = got.loc["total", "avg_trade"]
        assert _same(float(closed["ret"].mean()) if len(closed) else np.nan, float(b))
        # signals = trades + skipped; the signal table's rows
        assert got.loc["total", "n_signals"] == len(res.signals.table)
        # event-level columns: per-event P&L from the backtest's trades (open ones valued as
        # the engine values them), non-zero daily returns from its equity curve
        for scope in want.index:
            mine = tr if scope == "total" else tr[tr["ticker"] == scope]
            ev_pnl = mine.groupby("event_id")["pnl"].sum()
            assert got.loc[scope, "n_events"] == len(ev_pnl), (dict(row), scope)
            mean = float(ev_pnl.mean()) if len(ev_pnl) else np.nan
            sd = float(ev_pnl.std(ddof=1)) if len(ev_pnl) >= 2 else np.nan
            assert _same(mean, float(got.loc[scope, "event_pnl_mean"])), (dict(row), scope)
            assert abs(sd - got.loc[scope, "event_pnl_sd"]) <= 1e-7 * max(1.0, abs(sd)) or (
                np.isnan(sd) and np.isnan(got.loc[scope, "event_pnl_sd"])
            ), (dict(row), scope, sd, got.loc[scope, "event_pnl_sd"])
            n_obs = int(got.loc[scope, "n_obs"])
            eq = res.equity[scope].to_numpy()
            r = eq[1 : 1 + n_obs] / eq[:n_obs] - 1.0  # 1e-16 returns are rounding: NZ_TOL
            moved = int(np.count_nonzero(np.abs(r) > sweep_nb.NZ_TOL))
            assert got.loc[scope, "n_active_days"] == moved, (dict(row), scope)
        # event blocks hold every closed trade's return
        eb = blocks.set_index("combo_id").loc[row.combo_id]
        assert int(np.sum(eb["eb_n"])) == len(closed)
        assert _same(float(np.sum(eb["eb_ret"])), float(closed["ret"].sum()))
        checked += 1
    assert checked >= n_expect_min
    return checked


def _launch_config(mode: str, samples: int, seed: int):
    raw = {
        "data": {"source": "sample", "start": "2019-01-02", "end": "2026-06-30"},
        "strategy": {
            "tickers": ["NVDA", "AMD", "TSM"],
            "select": {"kind": ["model_launch"]},
            "skip_if_earnings_within": 2,
            "weight": 0.45,
        },
        "portfolio": {"mode": mode, "init_cash": 10_000, "size": 1.0},
        "study": {"enabled": False},
        "sweep": {
            "entry_offset": {"start": 0, "stop": 4},
            "hold": [1, 2, 5, 12, 30],
            "stop_loss": ["none", 0.03, 0.08],
            "take_profit": ["none", 0.05, 0.15],
            "direction": ["long", "short"],
            "price": ["close", "next_open"],
            "stop_on": ["close", "high_low"],
            "fees": [0.0, 0.001],
            "slippage": [0.0, 0.002],
            "method": "random",
            "samples": samples,
            "seed": seed,
        },
    }
    return from_dict(raw)


# slow: 300 single backtests through the engine (about 50 s); CI runs it with -m slow
@pytest.mark.slow
@pytest.mark.parametrize("mode,seed", [("per_ticker", 11), ("shared_cash", 12)])
def test_sweep_equals_one_backtest_per_combination(mode, seed, fast_loads):
    """150 random combinations per mode (300 in all), every metric to 1e-9."""
    config = _launch_config(mode, 150, seed)
    _compare(config, 140)


@pytest.mark.parametrize("mode", ["per_ticker", "shared_cash"])
def test_sweep_next_earnings_anchor_equals_backtests(mode, fast_loads):
    """Scheduled events entered early, exits anchored on the next known report."""
    raw = {
        "data": {"source": "sample"},
        "strategy": {
            "name": "earnings_runup",
            "tickers": ["reporter", "AMD"],
            "exit_anchor": "next_earnings",
        },
        "portfolio": {"mode": mode, "init_cash": 50_000},
        "study": {"enabled": False},
        "sweep": {
            "entry_offset": [-6, -4, -2, -1],
            "exit_offset": [-1, 0, 1, 3],
            "price": ["close", "next_open"],
        },
    }
    _compare(from_dict(raw), 24)


@pytest.mark.parametrize("mode,seed", [("per_ticker", 21), ("shared_cash", 22)])
def test_a_combination_is_the_same_alone_or_after_others_on_its_thread(mode, seed):
    """sweep_nb reuses each thread's scratch (the trades, statuses, candidates, signal
    arrays, event sums) for every combination of its slice: nothing one combination leaves
    there may reach the next. On one thread, 40 random combinations (stops, both price
    modes, costs) run in one slice; each must equal its own run alone, bit for bit."""
    import numba

    from evbt.backtest.sweep_nb import A_TRADES

    inp = api.sweep_inputs(_launch_config(mode, 40, seed))
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        together = S.run_chunk_arrays(inp, inp.combos)
        alone = [S.run_chunk_arrays(inp, inp.combos.iloc[[i]]) for i in range(len(inp.combos))]
    finally:
        numba.set_num_threads(before)
    assert len(inp.combos) == 40
    assert together[0][:, 0, A_TRADES].sum() > 0  # the combinations trade
    for k, name in enumerate(("acc", "tb", "eb")):
        np.testing.assert_array_equal(together[k], np.concatenate([a[k] for a in alone]), name)


def test_sweep_without_flat_days_work_scales_with_windows():
    """The kernel visits window sessions only: a chunk's output does not depend on how
    the flat stretches are cut into time blocks beyond their counts."""
    config = _launch_config("per_ticker", 20, 3)
    inp = api.sweep_inputs(config)
    _, blocks = S.chunk_frames(inp, inp.combos)
    tb_n = np.stack(blocks["tb_n"].to_numpy())
    assert (tb_n.sum(axis=1) == len(inp.index) - 1).all()
    part, _ = S.chunk_frames(inp, inp.combos)
    tot = part[part.scope == "total"]
    assert (tot["n_obs"] == len(inp.index) - 1).all()


# ------------------------------------------------------------------------------ the grid


def test_grid_is_the_cartesian_product_and_random_draws_a_subset():
    raw = {"sweep": {"hold": [1, 2, 3], "stop_loss": ["none", 0.05], "direction": ["long"]}}
    cfg = from_dict(raw)
    g = S.grid_table(cfg)
    assert len(g) == 6 and list(g["combo_id"]) == list(range(6))
    assert g[["hold", "stop_loss"]].drop_duplicates().shape[0] == 6
    assert g["stop_loss"].isna().sum() == 3
    raw["sweep"] |= {"method": "random", "samples": 4, "seed": 5}
    r = S.grid_table(from_dict(raw))
    assert len(r) == 4 and r["combo_id"].is_unique
    full = g.set_index("combo_id")
    for _, row in r.iterrows():  # a drawn combo_id names the same parameters as in the grid
        assert full.loc[row.combo_id, "hold"] == row.hold


@pytest.mark.parametrize(
    "sweep,needle",
    [
        ({"hold": [0, 1]}, "[sweep] hold = 0"),
        ({"hold": {"start": 5, "stop": 1}}, "[sweep] hold"),
        ({"stop_loss": ["none", -0.1]}, "[sweep] stop_loss = -0.1"),
        ({"direction": ["long", "up"]}, "[sweep] direction = 'up'"),
        ({"price": ["close", "open"]}, "[sweep] price = 'open'"),
        ({"fees": [0.001, 2]}, "[sweep] fees = 2"),
        ({"entry_offset": [0, 1.5]}, "[sweep] entry_offset = 1.5"),
        ({"weight": [0.5, 1.0]}, "[sweep] weight"),
        ({"method": "random"}, "[sweep] method"),
        ({"hold": [1, 1]}, "[sweep] hold"),
        ({"blocks": 1}, "[sweep] blocks = 1"),
    ],
)
def test_bad_sweep_value_is_one_line_naming_the_field(sweep, needle):
    with pytest.raises(InputError) as e:
        from_dict({"sweep": sweep}, origin="cfg.toml")
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


def _write_cfg(
    tmp_path: Path, sweep: str, strategy: str = "", replace: dict[str, str] | None = None
) -> Path:
    text = EXAMPLE.read_text().split("[sweep]")[0]
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    if strategy:
        text = text.replace("[strategy]\n", "[strategy]\n" + strategy)
    p = tmp_path / "cfg.toml"
    p.write_text(text + "[sweep]\n" + sweep + "\n")
    return p


@pytest.mark.parametrize(
    "sweep,needle",
    [
        ("hold = [0, 5]", "[sweep] hold = 0"),
        ('stop_loss = ["none", "5%"]', "[sweep] stop_loss = '5%'"),
        ("entry_offset = [-1, 0]", "[sweep] entry_offset = -1"),  # lookahead on surprises
    ],
)
def test_cli_refuses_bad_grid_before_any_work(tmp_path, sweep, needle):
    cfg = _write_cfg(tmp_path, sweep)
    out = tmp_path / "results"
    p = subprocess.run(
        [sys.executable, "-m", "evbt.cli", "sweep", str(cfg), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], p.stderr
    assert not out.exists()


def test_backtest_refuses_a_sweep_config():
    p = subprocess.run(
        [sys.executable, "-m", "evbt.cli", "backtest", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2 and "evbt sweep" in p.stderr


# ----------------------------------------------------------- output, resume, executors


def _small(tmp_path: Path) -> Path:
    return _write_cfg(
        tmp_path,
        "entry_offset = { start = 0, stop = 9 }\nhold = [1, 2, 3, 5, 8, 13, 21]\n"
        'stop_loss = ["none", 0.04, 0.08]\ndirection = ["long", "short"]\nblocks = 8\n'
        "wf_blocks = 4",
    )


def test_example_config_runs_end_to_end(tmp_path):
    out = tmp_path / "results"
    p = subprocess.run(
        [sys.executable, "-m", "evbt.cli", "sweep", str(EXAMPLE), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    run = Path(info["results"])
    man = json.loads((run / "manifest.json").read_text())
    assert man["kind"] == "sweep" and man["n_combos"] == man["grid_size"] == 396
    assert man["parts"] == ["part-00000.parquet"]
    for key in ("data_hash",):
        assert man["data"][key]
    assert man["catalog"]["sha256"] and man["code_version"] and man["config_id"]
    assert 0.0 <= man["overfit"]["pbo"] <= 1.0
    parts = pd.read_parquet(run / "sweep" / "parts" / "part-00000.parquet")
    assert set(parts["scope"]) == {"total", "NVDA", "AMD", "AVGO", "TSM", "MU", "INTC", "ASML"}
    summ = pd.read_parquet(run / "sweep_summary.parquet")
    assert len(summ) == 396 and {"dsr", "psr_pvalue", "bh_reject", "by_reject"} <= set(summ)
    # event-level significance beside the PSR (issue 15 item 5): counts and the t-test
    event_cols = ["n_events", "n_active_days", "event_pnl_mean", "event_pnl_sd", "event_t"]
    assert {*event_cols, "event_p", "event_bh_reject", "event_by_reject"} <= set(summ)
    assert (summ["n_events"] <= summ["n_trades"]).all()
    assert (summ["n_active_days"] <= summ["n_obs"]).all()
    few = summ["n_events"] < 2
    assert summ.loc[few, "event_p"].isna().all() and summ.loc[~few, "event_p"].between(0, 1).all()
    ov = man["overfit"]
    assert ov["n_bh_events"] == int(summ["event_bh_reject"].sum())
    best = summ.loc[summ["sharpe"].idxmax()]
    assert ov["best_combo"] == int(best["combo_id"])
    assert ov["best_n_active_days"] == int(best["n_active_days"])
    assert len(info["top"]) == 10
    assert not any(q.name.startswith(".tmp") for q in run.rglob("*"))


def test_second_run_reuses_and_force_recomputes(tmp_path):
    cfg = load_config(_small(tmp_path))
    a = api.sweep(cfg, out=tmp_path / "r", progress=False, chunk_size=100)
    b = api.sweep(cfg, out=tmp_path / "r", progress=False, chunk_size=100)
    assert b.reused and b.run_dir == a.run_dir
    c = api.sweep(cfg, out=tmp_path / "r", progress=False, force=True, chunk_size=100)
    assert not c.reused
    pd.testing.assert_frame_equal(a.table(), c.table())
    assert len(a.manifest["parts"]) == 5  # 420 combinations in parts of 100


@pytest.mark.slow  # a sweep killed in a subprocess and resumed (about 15 s)
def test_kill_minus_nine_then_resume_gives_the_same_table(tmp_path):
    """kill -9 at a seeded moment after the first part exists; --resume finishes it."""
    import os
    import signal
    import time

    cfg_path = _small(tmp_path)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "evbt.cli", "sweep", str(cfg_path), "--out", str(out)]
    cmd += ["--chunk-size", "3"]
    log = tmp_path / "killed.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([*cmd, "--json"], stdout=subprocess.DEVNULL, stderr=fh)
    pattern = ".partial/*/sweep/parts/part-*.parquet"
    while not list(out.glob(pattern)) and proc.poll() is None:
        time.sleep(0.005)
    time.sleep(float(np.random.default_rng(8).uniform(0.0, 0.05)))
    assert proc.poll() is None, f"the sweep ended before the kill: {log.read_text()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_done = len(list(out.glob(pattern)))
    assert n_done >= 1
    p = subprocess.run([*cmd, "--resume", "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["manifest"]["resumed"] is True
    assert n_done < len(info["manifest"]["parts"])
    run = Path(info["results"])
    ref = api.sweep(load_config(cfg_path), out=tmp_path / "ref", progress=False, chunk_size=3)
    assert ref.run_dir.name == run.name
    pd.testing.assert_frame_equal(parts.read_table(run, "parts"), ref.table())
    pd.testing.assert_frame_equal(parts.read_table(run, "blocks"), ref.blocks())
    pd.testing.assert_frame_equal(
        pd.read_parquet(run / "sweep_summary.parquet"), ref.summary.reset_index(drop=True)
    )
    assert not list(out.glob(".partial/*"))


def test_partial_run_needs_resume_or_force(tmp_path):
    from evbt import store

    cfg = load_config(_small(tmp_path))
    inp = api.sweep_inputs(cfg)
    root = tmp_path / "r"
    rid = inp.head["run_id"]
    assert rid.startswith("sweep-event_window-")
    (store.partial_dir(root, rid) / "sweep" / "parts").mkdir(parents=True)
    with pytest.raises(InputError, match="--resume"):
        api.sweep(cfg, out=root, progress=False)


def test_dask_local_cluster_equals_local(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    cfg = load_config(_small(tmp_path))
    local = api.sweep(cfg, out=tmp_path / "a", progress=False, chunk_size=60)
    capsys.readouterr()
    dask = api.sweep(
        cfg, out=tmp_path / "b", progress=False, chunk_size=60, executor="dask", workers=2
    )
    # the estimate comes from the first task the cluster finished (60 combinations, its
    # time on the worker over the cluster's 2 threads), said once, as it returned
    est = dask.manifest["estimate"]
    n = local.manifest["n_combos"]
    assert est["n_todo"] == n and est["calibrated_on"] == 60 and est["threads"] == 2
    assert est["on"] == "dask workers, from the first task" and est["seconds"] > 0
    sizes = [
        p.stat().st_size
        for sub in ("parts", "blocks")
        for p in (dask.run_dir / "sweep" / sub).iterdir()
    ]
    assert 0.5 * sum(sizes) < est["bytes"] < 2 * sum(sizes)  # the first part's bytes, scaled
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("sweep ")]
    assert len(err) == 1, err
    assert f"{n:,} combinations; estimated" in err[0]
    assert err[0].endswith("on 2 Dask worker threads (from the first task, 60 combinations)")
    pd.testing.assert_frame_equal(local.table(), dask.table())
    pd.testing.assert_frame_equal(local.blocks(), dask.blocks())
    assert dask.manifest["executor"] == "dask"
    assert dask.manifest["parts"] == local.manifest["parts"]
    # each run's clock: the local one timed its kernel, tables and encoding; the client of
    # the cluster heard each task's compute time, and ran none of those itself
    outside = {"inputs", "estimate", "chunks", "write", "summary_inputs", "statistics"}
    assert set(local.manifest["timing"]) == outside | {"kernel", "metrics", "encode"}
    assert set(dask.manifest["timing"]) == outside | {"tasks"}
    for m in (local.manifest, dask.manifest):
        assert m["timing"]["chunks"] == m["seconds"]
        assert all(v >= 0 for v in m["timing"].values()) and m["timing"]["write"] > 0
    assert local.manifest["timing"]["kernel"] > 0 and dask.manifest["timing"]["tasks"] > 0
    # the workers encoded their tables; the client wrote those bytes: the same files
    for sub in ("parts", "blocks"):
        a = sorted((local.run_dir / "sweep" / sub).iterdir())
        b = sorted((dask.run_dir / "sweep" / sub).iterdir())
        assert [p.name for p in a] == [p.name for p in b] and len(a) > 1
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def _local_chunks(tmp_path, monkeypatch, sink, fail_at=None):
    """run_chunks' local path over 4 chunks of a small sweep; ``fail_at``: the chunk whose
    computation raises."""
    import threading

    from evbt.backtest import executor as ex

    inp = api.sweep_inputs(load_config(_small(tmp_path)))
    todo = ex.chunks(inp.n_combos, -(-inp.n_combos // 4))
    real = ex.run_chunk_arrays
    computed = []

    def kernel(inp, combos):
        lo = int(combos["combo_id"].iloc[0])
        if lo == todo[fail_at or 0][1] and fail_at is not None:
            raise RuntimeError("computation failed")
        computed.append((lo, threading.current_thread() is threading.main_thread()))
        return real(inp, combos)

    tables = ex.chunk_tables

    def made(inp, combos, *arrays):
        computed.append(("tables", threading.current_thread().name))
        return tables(inp, combos, *arrays)

    monkeypatch.setattr(ex, "run_chunk_arrays", kernel)
    monkeypatch.setattr(ex, "chunk_tables", made)
    ex.run_chunks(inp, todo, sink, encode=parts.encode)
    return (
        todo,
        [c for c in computed if c[0] != "tables"],
        [c for c in computed if c[0] == "tables"],
    )


def test_local_parts_are_written_in_order_on_one_thread_while_the_next_computes(
    tmp_path, monkeypatch
):
    import threading

    seen = []

    def sink(i, lo, hi, part, blocks):
        # tables made and encoded off the main thread
        assert isinstance(part, bytes) and isinstance(blocks, bytes)
        seen.append((i, threading.current_thread().name))

    todo, computed, tables = _local_chunks(tmp_path, monkeypatch, sink)
    assert [i for i, _ in seen] == [i for i, _, _ in todo] and len(todo) == 4
    assert all(name.startswith("evbt-parts") for _, name in seen)  # one writer thread
    assert all(main for _, main in computed) and len(computed) == 4  # the kernels: here
    assert len(tables) == 4 and all(name.startswith("evbt-parts") for _, name in tables)


def test_a_local_sink_error_stops_the_sweep_before_the_next_chunk_is_handed_over(
    tmp_path, monkeypatch
):
    seen = []

    def sink(i, lo, hi, part, blocks):
        seen.append(i)
        if i == 1:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _local_chunks(tmp_path, monkeypatch, sink)
    assert seen == [0, 1]  # chunk 2 was computed, never handed to the sink


def test_a_chunk_that_fails_to_compute_leaves_every_earlier_part_written(tmp_path, monkeypatch):
    import time

    seen = []

    def sink(i, lo, hi, part, blocks):
        time.sleep(0.2)  # the writer is still busy when the next computation fails
        seen.append(i)

    with pytest.raises(RuntimeError, match="computation failed"):
        _local_chunks(tmp_path, monkeypatch, sink, fail_at=2)
    assert seen == [0, 1]


def test_unpacked_chunk_is_what_decoding_its_files_reads(tmp_path):
    """The sink reads the summary's inputs of a chunk it computed from the blocks bytes and
    the total-scope rows ``parts.pack`` streamed (``parts.unpack``); a resumed sweep decodes
    the files of the parts it finds (``parts.decode``): the two must agree value for value,
    type for type, so a summary does not depend on which parts were resumed. Two chunks:
    the grid's first combinations (holds of a session, no stop) and its last (21 sessions,
    stop-losses)."""
    cfg = load_config(_small(tmp_path))
    inp = api.sweep_inputs(cfg)
    for lo, hi in ((0, 7), (inp.n_combos - 5, inp.n_combos)):
        part, blocks = S.chunk_frames(inp, inp.combos.iloc[lo:hi])
        pb, bb, totals = parts.pack(part, blocks)
        assert (pb, bb) == parts.encode(part, blocks)
        got, want = parts.unpack(bb, totals), parts.decode(pb, bb)
        assert got["totals"].schema.equals(want["totals"].schema, check_metadata=True)
        assert got["totals"].equals(want["totals"]) and got["totals"].num_rows == hi - lo
        np.testing.assert_array_equal(got["ids"], want["ids"])
        assert got["ids"].dtype == want["ids"].dtype
        assert got["blocks"].keys() == want["blocks"].keys() == set(parts.BLOCK_SUMS)
        for name, arr in want["blocks"].items():
            assert got["blocks"][name].dtype == arr.dtype, name
            assert got["blocks"][name].shape == arr.shape == (hi - lo, arr.shape[1])
            np.testing.assert_array_equal(got["blocks"][name], arr)


def test_encoded_part_is_the_file_to_parquet_writes(tmp_path):
    """A Dask task hands the client ``parts.encode``'s bytes; written, they are the file
    ``to_parquet(path)`` writes (so a part's bytes do not depend on the executor)."""
    cfg = load_config(_small(tmp_path))
    inp = api.sweep_inputs(cfg)
    part, blocks = S.chunk_frames(inp, inp.combos.iloc[:7])
    enc = parts.encode(part, blocks)
    parts.write_part(tmp_path / "enc", 0, *enc)
    parts.write_part(tmp_path / "frames", 0, part, blocks)
    for sub in ("parts", "blocks"):
        name = parts.part_name(0)
        got = (tmp_path / "enc" / "sweep" / sub / name).read_bytes()
        assert got == (tmp_path / "frames" / "sweep" / sub / name).read_bytes()
    assert enc[0] == (tmp_path / "frames" / "sweep" / "parts" / parts.part_name(0)).read_bytes()


def test_merge_overlap_is_swept_and_merges(tmp_path):
    """overlap = "merge" is swept (tests/test_sweep_parity.py pins it to the backtest):
    with 30-session holds some launches fall inside an open window, and merging them
    keeps the position on longer than skipping them does."""
    grid = "hold = [10, 30]"
    merge = api.sweep_inputs(
        load_config(_write_cfg(tmp_path, grid, strategy='overlap = "merge"\n'))
    )
    skip = api.sweep_inputs(load_config(_write_cfg(tmp_path, grid)))
    assert merge.merge and not skip.merge
    m, _ = S.chunk_frames(merge, merge.combos)
    k, _ = S.chunk_frames(skip, skip.combos)
    m, k = m[m.scope == "total"], k[k.scope == "total"]
    assert (m["exposure"].to_numpy() >= k["exposure"].to_numpy()).all()
    assert (m["exposure"].to_numpy() > k["exposure"].to_numpy()).any()


def test_combo_config_is_a_plain_backtest_config():
    cfg = _launch_config("per_ticker", 5, 1)
    row = S.grid_table(cfg).iloc[0]
    c = S.combo_config(cfg, row)
    assert c.sweep == {}
    assert c.strategy.hold == int(row["hold"]) and c.costs.fees == float(row["fees"])
    assert dataclasses.replace(c) == c


def test_kernel_without_jit_gives_the_same_table(tmp_path):
    """NUMBA_DISABLE_JIT=1 runs the kernel as plain Python (coverage sees its lines); the
    table must be the one the compiled kernel gives."""
    cfg = _write_cfg(
        tmp_path,
        'entry_offset = [0, 2]\nhold = [1, 5]\nstop_loss = ["none", 0.05]\ndirection = ["short"]',
        replace={'tickers = ["semis"]': 'tickers = ["NVDA", "AMD"]'},
    )
    script = (
        "import sys; from evbt.strategies.config import load_config; from evbt.backtest import sweep as S; from evbt import api\n"
        "inp = api.sweep_inputs(load_config(sys.argv[1]))\n"
        "S.chunk_frames(inp, inp.combos)[0].to_parquet(sys.argv[2])\n"
    )
    import os

    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    p = subprocess.run(
        [sys.executable, "-c", script, str(cfg), str(tmp_path / "py.parquet")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    inp = api.sweep_inputs(load_config(cfg))
    want = S.chunk_frames(inp, inp.combos)[0]
    got = pd.read_parquet(tmp_path / "py.parquet")
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


# ------------------------------------------------------------- a real Dask cluster


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Cluster:
    """A `dask scheduler` and `dask worker` processes, each in its own working folder
    (nothing shared with the client's), on 127.0.0.1; every process ends at teardown."""

    def __init__(self, base: Path):
        self.base = base
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        cwd = self.base / name
        cwd.mkdir(parents=True, exist_ok=True)
        log = open(cwd / "log.txt", "w")  # noqa: SIM115 (closed with the process)
        p = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.procs.append(p)
        return p

    def start_scheduler(self) -> str:
        port = _free_port()
        self._start(
            "scheduler",
            ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard", "--dashboard-address", ":0"],
        )  # fmt: skip
        self.address = f"tcp://127.0.0.1:{port}"
        return self.address

    def start_worker(self) -> subprocess.Popen:
        n = len(self.workers)
        p = self._start(
            f"worker{n}",
            ["distributed.cli.dask_worker", self.address, "--nthreads", "1", "--no-nanny",
             "--no-dashboard", "--host", "127.0.0.1"],
        )  # fmt: skip
        self.workers.append(p)
        return p

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as c:
            c.wait_for_workers(n, timeout=120)

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:  # a worker whose scheduler is gone waits to reconnect: do not wait for it
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def cluster(tmp_path):
    pytest.importorskip("distributed")
    c = _Cluster(tmp_path / "cluster")
    try:
        yield c
    finally:
        c.close()


def _cli_sweep(cwd: Path, cfg: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "evbt.cli", "sweep", str(cfg), "--no-report", *extra]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def _same_run(run: Path, ref) -> None:
    """Bit for bit: parts, blocks and summary of ``run`` equal the local run ``ref``."""
    eq = functools.partial(pd.testing.assert_frame_equal, check_exact=True)
    eq(parts.read_table(run, "parts"), ref.table())
    eq(parts.read_table(run, "blocks"), ref.blocks())
    eq(pd.read_parquet(run / "sweep_summary.parquet"), ref.summary.reset_index(drop=True))


def _one_error_line(p: subprocess.CompletedProcess) -> str:
    """Exit 2 and one line on stderr (with --json: no progress bar there), no traceback."""
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    return lines[0]


@pytest.mark.slow  # a scheduler and two worker processes (about 40 s)
def test_real_dask_cluster_with_a_relative_out_equals_local(tmp_path, cluster):
    """Workers in their own folders share no disk with the client: the client writes."""
    cfg = _small(tmp_path)
    addr = cluster.start_scheduler()
    cluster.start_worker()
    cluster.start_worker()
    cluster.wait_for_workers(2)
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    p = _cli_sweep(
        client_dir, cfg, "--executor", "dask", "--scheduler", addr, "--out", "res",
        "--chunk-size", "50", "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    run = Path(json.loads(p.stdout)["results"])
    assert run.parent == client_dir / "res"
    for w in ("worker0", "worker1"):  # workers wrote nothing where they run
        assert [q.name for q in (cluster.base / w).iterdir()] == ["log.txt"]
    ref = api.sweep(load_config(cfg), out=tmp_path / "ref", progress=False, chunk_size=50)
    assert ref.run_dir.name == run.name
    _same_run(run, ref)


@pytest.mark.slow  # a scheduler, two workers, one killed mid-sweep (about 60 s)
def test_kill_minus_nine_of_a_dask_worker_mid_sweep_gives_the_same_table(tmp_path, cluster):
    import os
    import signal
    import time

    cfg = _small(tmp_path)
    addr = cluster.start_scheduler()
    victim = cluster.start_worker()
    cluster.start_worker()
    cluster.wait_for_workers(2)
    cmd = [sys.executable, "-m", "evbt.cli", "sweep", str(cfg), "--no-report", "--json"]
    cmd += ["--executor", "dask", "--scheduler", addr, "--out", "res", "--chunk-size", "5"]
    with open(tmp_path / "client.log", "w") as err:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=err, text=True)
    pattern = ".partial/*/sweep/parts/part-*.parquet"
    while not list((tmp_path / "res").glob(pattern)) and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, (tmp_path / "client.log").read_text()
    os.kill(victim.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    assert proc.returncode == 0, (tmp_path / "client.log").read_text()
    info = json.loads(out)
    assert victim.poll() is not None and len(info["manifest"]["parts"]) == 84
    ref = api.sweep(load_config(cfg), out=tmp_path / "ref", progress=False, chunk_size=5)
    _same_run(Path(info["results"]), ref)


def test_dask_bad_address_is_one_line_before_any_work(tmp_path):
    pytest.importorskip("distributed")
    p = _cli_sweep(
        tmp_path, _small(tmp_path), "--executor", "dask", "--scheduler", "not-an-address",
        "--out", "res",
    )  # fmt: skip
    line = _one_error_line(p)
    assert "not-an-address" in line and "dask scheduler" in line
    assert not (tmp_path / "res").exists()


def test_dask_scheduler_that_does_not_answer_is_one_line_and_resumable(tmp_path):
    pytest.importorskip("distributed")
    addr = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    p = _cli_sweep(
        tmp_path, _small(tmp_path), "--executor", "dask", "--scheduler", addr,
        "--connect-timeout", "1", "--out", "res", "--json",
    )  # fmt: skip
    line = _one_error_line(p)
    assert addr in line and "--connect-timeout" in line
    assert list((tmp_path / "res" / ".partial").iterdir())  # --resume takes it from here


@pytest.mark.slow  # a scheduler and one worker that dies (about 40 s)
def test_dask_cluster_that_loses_every_worker_is_one_line_then_resumes(tmp_path, cluster):
    import os
    import signal
    import time

    cfg = _small(tmp_path)
    addr = cluster.start_scheduler()
    only = cluster.start_worker()
    cluster.wait_for_workers(1)
    cmd = [sys.executable, "-m", "evbt.cli", "sweep", str(cfg), "--no-report", "--json"]
    cmd += ["--executor", "dask", "--scheduler", addr, "--out", "res", "--chunk-size", "5"]
    cmd += ["--connect-timeout", "2"]
    with open(tmp_path / "client.log", "w") as err:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=err, text=True)
    pattern = ".partial/*/sweep/parts/part-*.parquet"
    while not list((tmp_path / "res").glob(pattern)) and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, (tmp_path / "client.log").read_text()
    os.kill(only.pid, signal.SIGKILL)
    proc.communicate()
    p = subprocess.CompletedProcess(cmd, proc.returncode, "", (tmp_path / "client.log").read_text())
    line = _one_error_line(p)
    assert addr in line and "dask worker" in line and "--resume" in line
    n_done = len(list((tmp_path / "res").glob(pattern)))
    assert 1 <= n_done < 84
    cluster.start_worker()
    cluster.wait_for_workers(1)
    p = subprocess.run([*cmd, "--resume"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["manifest"]["resumed"] is True
    ref = api.sweep(load_config(cfg), out=tmp_path / "ref", progress=False, chunk_size=5)
    _same_run(Path(info["results"]), ref)
