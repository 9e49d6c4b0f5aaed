"""The metric registry (evbt.backtest.metrics.REGISTRY): one entry per metric, and the tables
that show metrics agree with it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evbt.backtest import metrics as m


def test_every_table_names_registered_metrics_in_its_order():
    assert m.columns("backtest") == m.METRICS
    for table, names in m.TABLES.items():
        assert len(set(names)) == len(names), table
        assert all(m.metric(n).name in m.REGISTRY for n in names)


def test_compute_metrics_rows_are_the_backtest_table():
    idx = pd.bdate_range("2024-01-01", periods=5)
    eq = pd.Series([100.0, 101.0, 99.0, 102.0, 103.0], index=idx, name="total")
    trades = pd.DataFrame({"pnl": [3.0], "exit_reason": [0]})
    assert tuple(m.compute_metrics(eq, trades).index) == m.columns("backtest")


def test_a_function_entry_names_its_function():
    for entry in m.REGISTRY.values():
        if entry.func is not None:
            assert entry.func is getattr(m, entry.source), entry.name


def test_sweep_column_names_resolve():
    assert m.metric("volatility") is m.REGISTRY["ann_vol"]
    assert "volatility" in m.metric_names() and "ann_vol" in m.metric_names()
    with pytest.raises(KeyError, match="did you mean 'sharpe'"):
        m.metric("sharp")


def test_formats_are_the_reports():
    from evbt.report.html import FORMATS

    assert {e.fmt for e in m.REGISTRY.values()} <= set(FORMATS)


# Drift checks: the other lists of metric names still spelled out elsewhere must equal the
# registry's tables until they read them (then these hold by construction).
def test_sweep_part_columns_are_the_registrys():
    from evbt.backtest import sweep

    assert tuple(sweep.METRIC_COLUMNS) == m.columns("sweep")


def test_the_sweeps_metrics_from_sums_are_the_registrys():
    from evbt.backtest import sweep, sweep_nb

    acc = np.ones((1, 1, sweep_nb.N_ACC))  # any sums: only the names are read
    with np.errstate(all="ignore"):
        got = sweep.finalise(acc, 3, 1.0)
    assert [k for k in got if k != "ruined"] == list(m.columns("sweep"))


def test_stats_and_report_rows_are_the_registrys():
    from evbt.report.backtest import METRIC_ROWS
    from evbt.report.sweep import SWEEP_RESULT_COLUMNS
    from evbt.result import STATS_ROWS

    assert tuple(STATS_ROWS) == m.columns("stats")
    reg = [(n, m.metric(n).label, m.metric(n).fmt) for n in m.columns("report")]
    assert list(METRIC_ROWS) == reg
    assert (
        set(SWEEP_RESULT_COLUMNS) - {"combo_id", "scope", "ruined"} <= m.metric_names()
    )  # ruined: a flag


def test_overfit_summary_columns_are_the_registrys():
    from evbt.backtest import overfit

    assert tuple(overfit.SUMMARY_COLUMNS) == m.columns("summary")
    assert set(overfit._C2_METRICS) - {"scope"} <= set(m.columns("sweep"))
