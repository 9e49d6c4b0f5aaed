"""The notebook API: ``import evbt`` is cheap, its names resolve, and a BacktestResult
gives stats beside the benchmark, a figure, a run folder and a vectorbt portfolio."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evbt
from evbt.result import STATS_ROWS, BacktestResult

HEAVY = ("pandas", "numpy", "scipy", "vectorbt", "exchange_calendars", "numba", "pyarrow")
# What no command of the demo path needs (the study uses scipy.special, not scipy.stats).
NEVER = ("scipy.stats", "vectorbt", "yfinance", "plotly", "duckdb", "dask")


def _loaded_after(code: str, names: tuple[str, ...] = HEAVY, cwd: object = None) -> list[str]:
    probe = f"{code}\nimport sys, json; print(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_evbt_loads_nothing_heavy():
    assert _loaded_after("import evbt; evbt.presets(); evbt.Config(); evbt.InputError") == []


def test_cli_help_loads_nothing_heavy():
    code = "from evbt.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _loaded_after(code) == []


def test_events_list_loads_no_kernels():
    code = "import io, contextlib\nfrom evbt.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    assert main(['events', 'list']) == 0"
    assert _loaded_after(code, ("numba", "scipy", *NEVER)) == []


def test_events_list_loads_no_pandas(tmp_path, monkeypatch):
    """Issue 17: `evbt events list` reads, checks and filters the catalog as plain rows and
    reads the NYSE session table from the cache: no pandas, numpy or exchange-calendars,
    table or JSON, filtered or as of a day. The cache (a fresh folder) is filled first: a
    cold cache is built once with exchange-calendars."""
    import platformdirs

    from evbt.data import calendar_core

    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda *a, **k: str(tmp_path / "evbt"))
    calendar_core.table.cache_clear()
    try:
        calendar_core.table()
    finally:
        calendar_core.table.cache_clear()
    assert list((tmp_path / "evbt" / "calendars").glob("XNYS-*.json"))
    runs = [
        ["events", "list"],
        ["events", "list", "--json"],
        ["events", "list", "--asof", "2026-02-10", "--kind", "model_launch", "--tag", "china"],
        ["events", "list", "--org", "nvidia", "--since", "2025-01-01", "--until", "2025-12-31"],
    ]
    code = (
        f"import os\nos.environ['XDG_CACHE_HOME'] = {str(tmp_path)!r}\n"
        "import io, contextlib\nfrom evbt.cli import main\n"
        f"for args in {runs!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(args) == 0, args"
    )
    assert _loaded_after(code, HEAVY) == []


def test_demo_backtest_loads_only_what_it_uses(tmp_path):
    demo = Path(__file__).resolve().parents[1] / "examples" / "launch_shock.toml"
    code = (
        "import io, contextlib\nfrom evbt.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['backtest', {str(demo)!r}, '--out', {str(tmp_path)!r}, '--no-report'])"
        " == 0"
    )
    # the report (written by default) is what loads Plotly; the backtest itself does not
    assert _loaded_after(code, NEVER) == []


@pytest.mark.parametrize("name", evbt.__all__)
def test_public_names_resolve(name):
    module = evbt._LAZY.get(name, ("evbt", name))[0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} has not landed in this tree")
    assert getattr(evbt, name) is not None
    assert name in dir(evbt)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'runn'"):
        evbt.runn  # noqa: B018


def test_presets_are_fresh_frozen_params():
    p = evbt.presets()
    assert {"event_window", "launch_shock", "earnings_runup"} <= set(p)
    assert p["launch_shock"] == evbt.presets()["launch_shock"]
    assert p["launch_shock"].replace(hold=2).hold == 2


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    # the README's demo strategy on the bundled sample, built in Python
    return evbt.run(evbt.Config(strategy=evbt.presets()["launch_shock"]), study=False)


def test_stats_puts_the_strategy_beside_the_benchmark(result):
    st = result.stats()
    assert list(st.index) == list(STATS_ROWS) and list(st.columns) == ["strategy", "benchmark"]
    assert st.attrs["benchmark"] == result.config.data.benchmark == "SMH"
    pd.testing.assert_series_equal(
        st["strategy"], result.summary().reindex(list(STATS_ROWS)).astype(float), check_names=False
    )
    b = result.benchmark
    assert st.loc["total_return", "benchmark"] == pytest.approx(
        b.iloc[-1] / b.iloc[0] - 1, rel=1e-12
    )
    assert st.loc["exposure", "benchmark"] == 1.0
    assert np.isnan(st.loc["n_trades", "benchmark"])  # trade statistics do not apply
    assert result.benchmark_metrics() is result.benchmark_metrics()  # computed once, kept


def test_results_are_frozen(result):
    """A result is a record of what ran: its tables cannot be swapped after the fact."""
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.trades = result.trades.head(0)


def test_notebook_display_is_a_summary_not_the_tables(result):
    text = repr(result)
    assert text.startswith("<BacktestResult launch_shock: ") and "SYNTHETIC" in text
    assert "\n" not in text
    html = result._repr_html_()
    assert "total_return" in html and "benchmark" in html


def test_plot_marks_equity_trades_and_events(result):
    fig = result.plot()
    names = [t.name for t in fig.data]
    assert names[:2] == ["strategy", "SMH buy & hold"]
    assert {"entry", "exit"} <= set(names)
    entries = next(t for t in fig.data if t.name == "entry")
    assert len(entries.x) == len(result.trades)
    n_events = result.signals.table["event_id"].nunique()
    assert len(fig.layout.shapes) == n_events
    assert "SYNTHETIC" in fig.layout.title.text


def test_write_makes_the_run_folder(result, tmp_path):
    path = result.write(tmp_path)
    assert path.parent == tmp_path and (path / "manifest.json").exists()
    back = pd.read_parquet(path / "trades.parquet")
    assert len(back) == len(result.trades)


@pytest.mark.slow  # about 20 s: vectorbt's import and its (uncached) compile
def test_to_vectorbt_holds_the_same_trades(result):
    pf = result.to_vectorbt()
    assert pf.trades.count().sum() == len(result.trades)


def test_study_run_summary_and_write(tmp_path):
    cfg = evbt.Config(
        strategy=evbt.presets()["launch_shock"],
        study=evbt.strategies.config.StudyConfig(bootstrap=50, placebo=50),
    )
    run = evbt.study(cfg)
    assert set(run.summary()["group_type"]) >= {"all"}
    assert (run.write(tmp_path) / "study_summary.parquet").exists()


# --------------------------------------- bad arguments are evbt.InputError (issue 19)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "launch_shock.toml"


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: evbt.run(None), "config: expected a Config or the path of a TOML config"),
        (lambda: evbt.study(None), "not NoneType"),
        (lambda: evbt.run(42), "not int"),
        (lambda: evbt.study(["a.toml"]), "not list"),
        (lambda: evbt.sweep(None), "not NoneType"),
        (lambda: evbt.run("no/such/config.toml"), "config.toml"),
        (lambda: evbt.sweep(evbt.load_config(EXAMPLE), workers="2"), "--workers '2'"),
        (lambda: evbt.sweep(evbt.load_config(EXAMPLE), workers=0), "--workers 0"),
        (lambda: evbt.sweep(evbt.load_config(EXAMPLE), workers=True), "--workers True"),
        (lambda: evbt.sweep(evbt.load_config(EXAMPLE), chunk_size=1.5), "--chunk-size 1.5"),
    ],
)
def test_bad_api_arguments_are_input_errors(call, needle):
    with pytest.raises(evbt.InputError) as e:
        call()
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_run_and_study_load_a_path(tmp_path):
    r = evbt.run(str(EXAMPLE), study=False)
    assert (
        r.manifest["run_id"] == evbt.run(evbt.load_config(EXAMPLE), study=False).manifest["run_id"]
    )
    s = evbt.study(EXAMPLE)
    assert s.manifest["run_id"].startswith("study-")


def test_run_folder_names_the_catalog_as_the_manifest_does_not_by_absolute_path(tmp_path):
    # events.parquet kept the catalog's absolute path in its pandas attrs: a shared run
    # folder carried the user's folders, and two checkouts wrote different bytes
    import pyarrow.parquet as pq

    folder = evbt.run(Path(__file__).parents[1] / "examples" / "launch_shock.toml").write(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    raw = pq.read_schema(folder / "events.parquet").metadata[b"PANDAS_ATTRS"].decode()
    assert json.loads(raw)["origin"] == manifest["catalog"]["path"] == "<bundled>"
    root = str(Path(evbt.__file__).resolve().parents[1])
    assert not any(
        root.encode() in v for v in pq.read_schema(folder / "events.parquet").metadata.values()
    )
