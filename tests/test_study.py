"""Event-study kernels against slow, obvious references, and the pandas layer's contract.

Each kernel in backtest.study_nb is compared with a plain NumPy / pandas / SciPy /
statsmodels reference on random inputs (hypothesis, derandomized). The pandas layer is
checked for labels, flags, skips, input errors, and a NUMBA_DISABLE_JIT run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evbt.backtest import study_nb as nb
from evbt.backtest.jit import gate
from evbt.backtest.study import (
    MIN_EST_OBS,
    SUMMARY_COLUMNS,
    THIN_MIN_OBS,
    StudyResult,
    run_study,
    study_arrays,
)
from evbt.errors import InputError

REPO = Path(__file__).resolve().parents[1]
MM, MA = nb.MODEL_MARKET_MODEL, nb.MODEL_MARKET_ADJUSTED
SEEDS = st.integers(0, 2**32 - 1)
HYP = settings(derandomize=True, deadline=None, database=None, max_examples=40)


# --------------------------------------------------------------------------------------
# Slow references
# --------------------------------------------------------------------------------------


def ref_fit(y, x, model):
    ok = np.isfinite(y) & np.isfinite(x)
    y, x = y[ok], x[ok]
    n = len(y)
    if n < 3:
        return (np.nan,) * 3 + (n,) + (np.nan,) * 3
    xbar = x.mean()
    sxx = float(((x - xbar) ** 2).sum())
    if model == MM:
        if x.max() == x.min():
            return np.nan, np.nan, np.nan, n, xbar, sxx, np.nan
        (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones(n), x]), y, rcond=None)
        e = y - a - b * x
        s2 = float(e @ e) / (n - 2)
    else:
        a, b = 0.0, 1.0
        e = y - x
        s2 = float(np.var(e, ddof=1))
    return a, b, s2, n, xbar, sxx, float((e > 0).mean())


def ref_event(r, m, p, lo, hi, est_len, gap, model, min_obs, others=()):
    """Status, fit, event ARs and estimation ARs of one event, by plain slicing; estimation
    sessions inside the event window of a day 0 in ``others`` (the ticker's other rows)
    are left out."""
    n_w = hi - lo + 1
    nan_out = (np.full(n_w, np.nan), np.full(est_len, np.nan))
    start = p + lo - gap - est_len
    if start < 0 or p + hi >= len(r):
        return (nb.STATUS_OUTSIDE, None, *nan_out)
    ev = slice(p + lo, p + hi + 1)
    if not (np.isfinite(r[ev]).all() and np.isfinite(m[ev]).all()):
        return (nb.STATUS_MISSING_EVENT, None, *nan_out)
    es = slice(start, start + est_len)
    r = r.copy()
    for q in others:
        for t in range(q + lo, q + hi + 1):
            if start <= t < start + est_len:
                r[t] = np.nan
    fit = ref_fit(r[es], m[es], model)
    if fit[3] < min_obs:
        return (nb.STATUS_FEW_EST, fit, *nan_out)
    if not (fit[2] > 0):
        return (nb.STATUS_DEGENERATE, fit, *nan_out)
    a, b = fit[0], fit[1]
    est = r[es] - a - b * m[es]
    est[~(np.isfinite(r[es]) & np.isfinite(m[es]))] = np.nan
    return nb.STATUS_OK, fit, r[ev] - a - b * m[ev], est


def random_market(rng, n_tick, n_ses, p_nan=0.0):
    m = rng.normal(0.0005, 0.01, n_ses)
    beta = rng.uniform(0.3, 1.8, n_tick)
    rets = beta[:, None] * m[None, :] + rng.standard_t(4, (n_tick, n_ses)) * 0.015
    if p_nan:
        rets[rng.random(rets.shape) < p_nan] = np.nan
        m = m.copy()
        m[rng.random(n_ses) < p_nan / 4] = np.nan
    return rets, m


def csr(lists):
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    idx = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
    return ptr, idx


def sorted_key(col, pos):
    """The ticker-position key sorted with NumPy, and its span, as study_arrays passes them
    to est_exclusion and est_overlap_flags."""
    key, span = nb.ticker_pos_key(col, pos)
    return np.sort(key), span


def uniform_ranks(x):
    """nb.uniform_ranks with each row's order sorted by NumPy, as study_arrays does."""
    return nb.uniform_ranks(x, np.argsort(x, axis=1))


def random_groups(rng, n_rows, n_groups):
    lists = [np.arange(n_rows)]
    for _ in range(n_groups - 1):
        k = int(rng.integers(0, n_rows + 1))
        lists.append(np.sort(rng.choice(n_rows, k, replace=False)))
    return lists


# --------------------------------------------------------------------------------------
# Fit and abnormal returns
# --------------------------------------------------------------------------------------


@HYP
@given(
    seed=SEEDS,
    n=st.integers(0, 150),
    model=st.sampled_from([MM, MA]),
    p_nan=st.sampled_from([0, 0.1, 0.6]),
)
def test_fit_matches_lstsq_reference(seed, n, model, p_nan):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.01, n)
    y = 0.001 + 1.3 * x + rng.normal(0, 0.02, n)
    y[rng.random(n) < p_nan] = np.nan
    x[rng.random(n) < p_nan / 2] = np.nan
    got = nb.fit_1d_nb(y, x, model)
    want = ref_fit(y, x, model)
    assert got[3] == want[3]
    np.testing.assert_allclose(got[:3], want[:3], rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(got[4:], want[4:], rtol=1e-9, atol=1e-15)


def test_fit_constant_benchmark_is_nan_not_error():
    x = np.full(50, 0.01)
    y = np.linspace(-0.02, 0.02, 50)
    a, b, s2, n, *_ = nb.fit_1d_nb(y, x, MM)
    assert n == 50 and np.isnan(a) and np.isnan(b) and np.isnan(s2)


@settings(derandomize=True, deadline=None, database=None, max_examples=60)
@given(seed=SEEDS, n=st.integers(10, 300), p_nan=st.sampled_from([0.0, 0.05, 0.3]))
def test_market_model_alpha_beta_equal_statsmodels_ols(seed, n, p_nan):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0004, 0.012, n)
    y = rng.normal(0.0, 0.0008) + rng.uniform(-0.5, 2.5) * x + 0.02 * rng.standard_t(4, n)
    y[rng.random(n) < p_nan] = np.nan
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return
    fit = sm.OLS(y[ok], sm.add_constant(x[ok], has_constant="add")).fit()
    alpha, beta, s2, m, *_ = nb.fit_1d_nb(y, x, MM)
    assert m == ok.sum()
    assert abs(alpha - fit.params[0]) <= 1e-10
    assert abs(beta - fit.params[1]) <= 1e-10
    assert s2 == pytest.approx(fit.mse_resid, rel=1e-9)


@HYP
@given(
    seed=SEEDS,
    lo=st.integers(-6, 0),
    hi=st.integers(0, 6),
    est_len=st.integers(5, 40),
    gap=st.integers(0, 5),
    model=st.sampled_from([MM, MA]),
    p_nan=st.sampled_from([0.0, 0.02, 0.3]),
)
def test_event_ar_matches_reference(seed, lo, hi, est_len, gap, model, p_nan):
    rng = np.random.default_rng(seed)
    n_tick, n_ses = 3, 90
    rets, m = random_market(rng, n_tick, n_ses, p_nan)
    n_rows = 12
    col = rng.integers(0, n_tick, n_rows)
    pos = rng.integers(0, n_ses, n_rows)
    min_obs = 5
    excl, n_excl = nb.est_exclusion(col, pos, *sorted_key(col, pos), lo, hi, est_len, gap)
    out = nb.event_ar(rets, m, col, pos, lo, hi, est_len, gap, model, min_obs, excl)
    ar, est_ar, status, alpha, beta, sigma2, n_est = out[:7]
    for i in range(n_rows):
        others = [pos[j] for j in range(n_rows) if j != i and col[j] == col[i]]
        s, fit, ar_ref, est_ref = ref_event(
            rets[col[i]], m, pos[i], lo, hi, est_len, gap, model, min_obs, others
        )
        assert status[i] == s
        np.testing.assert_allclose(ar[i], ar_ref, rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(est_ar[i], est_ref, rtol=1e-9, atol=1e-13)
        if s == nb.STATUS_OK:
            np.testing.assert_allclose(
                [alpha[i], beta[i], sigma2[i]], fit[:3], rtol=1e-9, atol=1e-13
            )
            assert n_est[i] == fit[3]


@HYP
@given(seed=SEEDS, n_w=st.integers(1, 12), model=st.sampled_from([MM, MA]))
def test_car_and_standardized_car_match_formula(seed, n_w, model):
    rng = np.random.default_rng(seed)
    n_rows = 7
    ar = rng.normal(0, 0.02, (n_rows, n_w))
    bench_ev = rng.normal(0, 0.01, (n_rows, n_w))
    sigma2 = rng.uniform(1e-4, 9e-4, n_rows)
    n_est = rng.integers(20, 200, n_rows)
    xbar = rng.normal(0, 0.001, n_rows)
    sxx = rng.uniform(0.005, 0.05, n_rows)
    a = rng.integers(0, n_w, 4)
    b = np.array([rng.integers(x, n_w) for x in a])
    car, scar = nb.car(ar, bench_ev, sigma2, n_est, xbar, sxx, model, a, b)
    for w in range(len(a)):
        sl = slice(a[w], b[w] + 1)
        tau = b[w] - a[w] + 1
        want = ar[:, sl].sum(axis=1)
        if model == MM:
            # Var of a sum of out-of-sample market-model forecast errors (CLM 1997, 4.4).
            v = tau + tau**2 / n_est + (bench_ev[:, sl] - xbar[:, None]).sum(axis=1) ** 2 / sxx
        else:
            v = np.full(n_rows, float(tau))
        np.testing.assert_allclose(car[:, w], want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(scar[:, w], want / np.sqrt(sigma2 * v), rtol=1e-10)


def test_car_variance_factor_reduces_to_patell_for_one_day():
    ar = np.array([[0.01]])
    bench_ev = np.array([[0.02]])
    _, scar = nb.car(
        ar,
        bench_ev,
        np.array([4e-4]),
        np.array([100]),
        np.array([0.001]),
        np.array([0.01]),
        MM,
        np.array([0]),
        np.array([0]),
    )
    c_it = 1 + 1 / 100 + (0.02 - 0.001) ** 2 / 0.01  # Patell (1976) C_it
    assert scar[0, 0] == pytest.approx(0.01 / np.sqrt(4e-4 * c_it), rel=1e-12)


@HYP
@given(
    seed=SEEDS,
    n_cols=st.integers(1, 40),
    ties=st.booleans(),
    p_nan=st.sampled_from([0.0, 0.2, 1.0]),
)
def test_uniform_ranks_match_scipy_rankdata(seed, n_cols, ties, p_nan):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, n_cols))
    if ties:
        x = np.round(x, 0)
    x[rng.random(x.shape) < p_nan] = np.nan
    got = uniform_ranks(x)
    for i in range(x.shape[0]):
        ok = np.isfinite(x[i])
        want = np.full(n_cols, np.nan)
        if ok.any():
            want[ok] = stats.rankdata(x[i, ok]) / (ok.sum() + 1)
        np.testing.assert_allclose(got[i], want, rtol=1e-15)


def test_uniform_ranks_skip_infinities_where_numpy_sorts_them():
    """The kernel takes NumPy's order: -inf sorts first, +inf and NaN last; none is ranked."""
    x = np.array([[np.inf, 2.0, np.nan, -np.inf, 2.0, -1.0, np.nan]])
    want = np.array([[np.nan, 2.5, np.nan, np.nan, 2.5, 1.0, np.nan]]) / 4
    np.testing.assert_array_equal(uniform_ranks(x), want)


@HYP
@given(seed=SEEDS, n=st.integers(0, 40), width=st.integers(0, 20))
def test_overlap_flags_match_brute_force(seed, n, width):
    rng = np.random.default_rng(seed)
    col = rng.integers(0, 3, n)
    pos = rng.integers(0, 200, n)
    want = np.array(
        [
            any(j != i and col[j] == col[i] and abs(pos[j] - pos[i]) <= width for j in range(n))
            for i in range(n)
        ],
        dtype=bool,
    )
    order = np.argsort(nb.ticker_pos_key(col, pos)[0], kind="stable")
    np.testing.assert_array_equal(nb.overlap_flags(col, pos, order, width), want)


@HYP
@given(
    seed=SEEDS,
    n=st.integers(0, 25),
    lo=st.integers(-6, 0),
    hi=st.integers(0, 6),
    est_len=st.integers(5, 40),
    gap=st.integers(0, 5),
)
def test_est_exclusion_matches_brute_force(seed, n, lo, hi, est_len, gap):
    """Estimation day j of row i is left out iff it lies in the event window of another
    row of the same ticker; rows flagged est_overlap are exactly those that leave any out
    (while their estimation window starts inside the data)."""
    rng = np.random.default_rng(seed)
    col = rng.integers(0, 3, n).astype(np.int64)
    pos = rng.integers(0, 200, n).astype(np.int64)
    excl, n_excl = nb.est_exclusion(col, pos, *sorted_key(col, pos), lo, hi, est_len, gap)
    want = np.zeros((n, est_len), dtype=bool)
    for i in range(n):
        e0 = pos[i] + lo - gap - est_len
        for j in range(est_len):
            t = e0 + j
            want[i, j] = any(
                k != i and col[k] == col[i] and pos[k] + lo <= t <= pos[k] + hi for k in range(n)
            )
    np.testing.assert_array_equal(excl, want)
    np.testing.assert_array_equal(n_excl, want.sum(axis=1))
    inside = pos + lo - gap - est_len >= 0
    flags = nb.est_overlap_flags(col, pos, *sorted_key(col, pos), lo, hi, est_len, gap)
    np.testing.assert_array_equal(flags[inside], n_excl[inside] > 0)


@HYP
@given(
    seed=SEEDS,
    n=st.integers(0, 40),
    lo=st.integers(-5, 0),
    hi=st.integers(0, 5),
    est_len=st.integers(5, 50),
    gap=st.integers(0, 10),
)
def test_est_overlap_flags_match_interval_intersection(seed, n, lo, hi, est_len, gap):
    rng = np.random.default_rng(seed)
    col = rng.integers(0, 3, n)
    pos = rng.integers(0, 300, n)

    def meets(i, j):
        est = (pos[i] + lo - gap - est_len, pos[i] + lo - gap - 1)
        ev = (pos[j] + lo, pos[j] + hi)
        return max(est[0], ev[0]) <= min(est[1], ev[1])

    want = np.array(
        [any(j != i and col[j] == col[i] and meets(i, j) for j in range(n)) for i in range(n)],
        dtype=bool,
    )
    got = nb.est_overlap_flags(col, pos, *sorted_key(col, pos), lo, hi, est_len, gap)
    np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------------------
# Test statistics
# --------------------------------------------------------------------------------------


def ref_group_tests(car, scar, dof, ranks, frac_pos, members, win_a, win_b, n_est_days):
    n_win = len(win_a)
    rows = []
    for g in members:
        n = len(g)
        r = {
            k: np.full(n_win, np.nan) for k in ("caar", "t_cs", "patell", "bmp", "corrado", "gsign")
        }
        if n == 0:
            rows.append((0, r))
            continue
        c, s = car[g], scar[g]
        r["caar"] = c.mean(axis=0)
        r["patell"] = s.sum(axis=0) / np.sqrt((dof[g] / (dof[g] - 2)).sum())
        if n > 1:
            r["t_cs"] = stats.ttest_1samp(c, 0.0, axis=0).statistic
            r["bmp"] = stats.ttest_1samp(s, 0.0, axis=0).statistic
        u = ranks[g] - 0.5
        have = np.isfinite(u)
        n_t = have.sum(axis=0)
        kbar = np.where(n_t > 0, np.where(have, u, 0.0).sum(axis=0) / np.maximum(n_t, 1), 0.0)
        s_k = np.sqrt(((n_t / n) * kbar**2)[n_t > 0].mean())
        for w in range(n_win):
            days = n_est_days + np.arange(win_a[w], win_b[w] + 1)
            r["corrado"][w] = kbar[days].sum() / (np.sqrt(len(days)) * s_k)
        p_hat = frac_pos[g].mean()
        r["gsign"] = ((c > 0).sum(axis=0) - n * p_hat) / np.sqrt(n * p_hat * (1 - p_hat))
        rows.append((n, r))
    return rows


@HYP
@given(
    seed=SEEDS,
    n_rows=st.integers(1, 30),
    n_groups=st.integers(1, 4),
    n_est_days=st.integers(5, 30),
    n_w=st.integers(1, 8),
    p_nan=st.sampled_from([0.0, 0.1]),
)
def test_group_tests_match_reference(seed, n_rows, n_groups, n_est_days, n_w, p_nan):
    rng = np.random.default_rng(seed)
    n_win = 3
    car = rng.standard_t(3, (n_rows, n_win)) * 0.03 + 0.005
    scar = rng.standard_t(3, (n_rows, n_win)) + 0.1
    dof = rng.integers(8, 200, n_rows).astype(float)
    est = rng.normal(size=(n_rows, n_est_days))
    est[rng.random(est.shape) < p_nan] = np.nan
    ranks = uniform_ranks(np.concatenate([est, rng.normal(0.2, 1, (n_rows, n_w))], axis=1))
    frac_pos = rng.uniform(0.3, 0.7, n_rows)
    win_a = rng.integers(0, n_w, n_win)
    win_b = np.array([rng.integers(a, n_w) for a in win_a])
    members = random_groups(rng, n_rows, n_groups)
    ptr, idx = csr(members)
    got = nb.group_tests(car, scar, dof, ranks, frac_pos, ptr, idx, win_a, win_b, n_est_days)
    names = ("caar", "t_cs", "patell", "bmp", "corrado", "gsign")
    for g, (n, want) in enumerate(
        ref_group_tests(car, scar, dof, ranks, frac_pos, members, win_a, win_b, n_est_days)
    ):
        assert got[0][g] == n
        for k, name in enumerate(names, start=1):
            np.testing.assert_allclose(got[k][g], want[name], rtol=1e-9, atol=1e-13, err_msg=name)


def test_generalized_sign_matches_binomial_normal_approximation():
    # 14 of 20 CARs positive, p_hat = 0.5: Z = (14 - 10) / sqrt(5) (Cowan 1992).
    car = np.where(np.arange(20) < 14, 0.01, -0.01)[:, None]
    ranks = uniform_ranks(np.random.default_rng(0).normal(size=(20, 12)))
    ptr, idx = csr([np.arange(20)])
    out = nb.group_tests(
        car,
        car * 50,
        np.full(20, 100.0),
        ranks,
        np.full(20, 0.5),
        ptr,
        idx,
        np.array([0]),
        np.array([0]),
        10,
    )
    assert out[6][0, 0] == pytest.approx(4 / np.sqrt(5), rel=1e-12)


# --------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------


@HYP
@given(
    seed=SEEDS, n_rows=st.integers(1, 25), n_groups=st.integers(1, 4), n_draws=st.integers(1, 30)
)
def test_cluster_bootstrap_matches_reference(seed, n_rows, n_groups, n_draws):
    rng = np.random.default_rng(seed)
    n_win = 2
    car = rng.normal(0, 0.05, (n_rows, n_win))
    cluster = rng.integers(0, max(1, n_rows // 2), n_rows)
    n_cl = int(cluster.max()) + 1
    members = random_groups(rng, n_rows, n_groups)
    ptr, idx = csr(members)
    cl_ptr, cl_sum, cl_cnt = nb.cluster_sums(car, cluster, n_cl, ptr, idx)
    width = max(int(np.diff(cl_ptr).max()), 1)
    u = rng.random((n_draws, width))
    got = nb.bootstrap_caar(cl_ptr, cl_sum, cl_cnt, u)
    for g, rows in enumerate(members):
        frame = pd.DataFrame(car[rows]).assign(cl=cluster[rows])
        sums = frame.groupby("cl").sum().sort_index()
        counts = frame.groupby("cl").size().sort_index()
        n_c = len(sums)
        if n_c == 0:
            assert np.isnan(got[g]).all()
            continue
        for b in range(n_draws):
            picks = np.floor(u[b, :n_c] * n_c).astype(int)
            want = sums.to_numpy()[picks].sum(axis=0) / counts.to_numpy()[picks].sum()
            np.testing.assert_allclose(got[g, b], want, rtol=1e-12, atol=1e-16)


@HYP
@given(seed=SEEDS, n_draws=st.integers(1, 300), p_nan=st.sampled_from([0.0, 0.3, 1.0]))
def test_percentile_ci_matches_numpy_quantile(seed, n_draws, p_nan):
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(2, n_draws, 3))
    draws[rng.random(draws.shape) < p_nan] = np.nan
    lo, hi = nb.percentile_ci(np.sort(draws, axis=1), 0.95)
    for g in range(2):
        for w in range(3):
            x = draws[g, :, w]
            x = x[np.isfinite(x)]
            if x.size == 0:
                assert np.isnan(lo[g, w]) and np.isnan(hi[g, w])
                continue
            want = np.quantile(x, [0.025, 0.975])
            np.testing.assert_allclose([lo[g, w], hi[g, w]], want, rtol=1e-14, atol=1e-15)


def test_percentile_ci_ignores_infinities_where_numpy_sorts_them():
    """The kernel reads draws sorted by NumPy (-inf first, +inf then NaN last) and uses
    the finite ones only."""
    x = np.array([0.3, -np.inf, np.nan, 0.1, np.inf, -0.2, 0.5])
    lo, hi = nb.percentile_ci(np.sort(x)[None, :, None], 0.5)
    want = np.quantile(x[np.isfinite(x)], [0.25, 0.75])
    np.testing.assert_array_equal([lo[0, 0], hi[0, 0]], want)


# --------------------------------------------------------------------------------------
# Placebo
# --------------------------------------------------------------------------------------


@settings(derandomize=True, deadline=None, database=None, max_examples=20)
@given(
    seed=SEEDS,
    model=st.sampled_from([MM, MA]),
    p_nan=st.sampled_from([0.0, 0.03]),
    lo=st.integers(-3, 0),
    hi=st.integers(0, 4),
)
def test_placebo_car_matches_reference(seed, model, p_nan, lo, hi):
    rng = np.random.default_rng(seed)
    n_tick, n_ses, est_len, gap, min_obs = 3, 80, 20, 2, 15
    rets, m = random_market(rng, n_tick, n_ses, p_nan)
    cols = np.array([0, 2])
    real = [np.sort(rng.integers(0, n_ses, rng.integers(0, 4))) for _ in cols]
    excl_ptr, excl_pos = csr(real)
    win_a = np.array([0, -lo, 0])
    win_b = np.array([hi - lo, -lo, 0])
    got = nb.placebo_car(
        rets, m, cols, excl_ptr, excl_pos, lo, hi, est_len, gap, model, min_obs, win_a, win_b
    )
    for u, k in enumerate(cols):
        for p in range(n_ses):
            want = np.full(3, np.nan)
            blocked = any(abs(p - q) <= hi - lo for q in real[u])
            s, _, ar, _ = ref_event(
                rets[k], m, p, lo, hi, est_len, gap, model, min_obs, others=real[u]
            )
            if not blocked and s == nb.STATUS_OK:
                want = np.array([ar[a : b + 1].sum() for a, b in zip(win_a, win_b, strict=True)])
            np.testing.assert_allclose(got[u, p], want, rtol=1e-9, atol=1e-13)


@HYP
@given(seed=SEEDS, n_cl=st.integers(1, 6), n_draws=st.integers(1, 20), n_groups=st.integers(1, 3))
def test_placebo_sessions_and_caar_match_reference(seed, n_cl, n_draws, n_groups):
    rng = np.random.default_rng(seed)
    n_cols, n_ses, n_win = 3, 30, 2
    cand = rng.normal(size=(n_cols, n_ses, n_win))
    cand[rng.random((n_cols, n_ses)) < 0.5] = np.nan
    # rows: each event (cluster) holds 1-3 distinct tickers
    row_ucol, row_cl = [], []
    for c in range(n_cl):
        for k in np.sort(rng.choice(n_cols, rng.integers(1, 4), replace=False)):
            row_ucol.append(k)
            row_cl.append(c)
    row_ucol, row_cl = np.array(row_ucol), np.array(row_cl)
    n_rows = len(row_cl)
    cc_ptr, cc_cols = csr([row_ucol[row_cl == c] for c in range(n_cl)])
    el_ptr, el_pos = nb.placebo_sessions(np.isfinite(cand[:, :, 0]), cc_ptr, cc_cols)
    ok = np.isfinite(cand[:, :, 0])
    elig = [np.flatnonzero(ok[row_ucol[row_cl == c]].all(axis=0)) for c in range(n_cl)]
    for c in range(n_cl):
        np.testing.assert_array_equal(el_pos[el_ptr[c] : el_ptr[c + 1]], elig[c])
    members = random_groups(rng, n_rows, n_groups)
    ptr, idx = csr(members)
    u = rng.random((n_draws, n_cl))
    got = nb.placebo_caar(cand, row_ucol, row_cl, el_ptr, el_pos, u, ptr, idx)
    for d in range(n_draws):
        sess = [elig[c][int(u[d, c] * len(elig[c]))] if len(elig[c]) else None for c in range(n_cl)]
        for g, rows in enumerate(members):
            if len(rows) == 0 or any(sess[row_cl[i]] is None for i in rows):
                assert np.isnan(got[g, d]).all()
                continue
            want = np.mean([cand[row_ucol[i], sess[row_cl[i]]] for i in rows], axis=0)
            np.testing.assert_allclose(got[g, d], want, rtol=1e-12)


@HYP
@given(seed=SEEDS, n_draws=st.integers(1, 100))
def test_empirical_p_matches_reference(seed, n_draws):
    rng = np.random.default_rng(seed)
    draws = np.round(rng.normal(size=(2, n_draws, 3)), 1)  # rounding makes ties
    draws[0, : n_draws // 3, 0] = np.nan
    obs = np.round(rng.normal(size=(2, 3)) * 1.5, 1)
    obs[1, 2] = np.nan
    got = nb.empirical_p(obs, draws)
    for g in range(2):
        for w in range(3):
            x = draws[g, :, w]
            x = x[np.isfinite(x)]
            if not np.isfinite(obs[g, w]) or x.size == 0:
                assert np.isnan(got[g, w])
                continue
            upper = (1 + (x >= obs[g, w]).sum()) / (x.size + 1)
            lower = (1 + (x <= obs[g, w]).sum()) / (x.size + 1)
            assert got[g, w] == pytest.approx(min(1.0, 2 * min(upper, lower)), rel=1e-14)


# --------------------------------------------------------------------------------------
# Pandas layer
# --------------------------------------------------------------------------------------


def make_data(seed=0, n_ses=700, tickers=("AAA", "BBB", "CCC", "DDD"), effect=0.0):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2020-01-02", periods=n_ses)
    m = rng.normal(0.0004, 0.011, n_ses)
    beta = np.linspace(0.6, 1.5, len(tickers))
    r = beta[None, :] * m[:, None] + 0.018 * rng.standard_t(5, (n_ses, len(tickers))) / np.sqrt(
        5 / 3
    )
    rets = pd.DataFrame(r, index=idx, columns=list(tickers))
    bench = pd.Series(m, index=idx, name="SPY")
    rows = []
    for e, p in enumerate(range(180, n_ses - 20, 37)):
        t = tickers[e % len(tickers)]
        rows.append(
            dict(
                event_id=f"E{e:02d}",
                ticker=t,
                reaction_session=idx[p],
                kind=("launch", "earnings")[e % 2],
                org=("OpenAI", "Google", "Meta")[e % 3],
                tags=("ai; chips", "ai", "cloud;ai;")[e % 3],
            )
        )
        rets.iloc[p, rets.columns.get_loc(t)] += effect
    return rets, bench, pd.DataFrame(rows)


@pytest.fixture(scope="module")
def study():
    rets, bench, events = make_data()
    return rets, bench, events, run_study(rets, bench, events, bootstrap=300, placebo=200, seed=3)


def test_result_shape_and_columns(study):
    rets, bench, events, res = study
    assert isinstance(res, StudyResult)
    assert list(res.panel.columns) == [
        "event_id",
        "ticker",
        "day",
        "session",
        "ret",
        "bench_ret",
        "ar",
        "car",
    ]
    assert list(res.summary.columns) == SUMMARY_COLUMNS
    assert len(res.panel) == 16 * len(events)
    assert set(res.summary["car_window"]) == {"[0,0]", "[0,+1]", "[-5,+10]"}
    assert res.skipped == []
    with pytest.raises(AttributeError):
        res.panel = None  # frozen


def test_panel_is_ar_of_market_model_fitted_like_statsmodels(study):
    rets, bench, events, res = study
    for k in [0, 5, len(events) - 1]:
        ev = events.iloc[k]
        p = rets.index.get_loc(ev["reaction_session"])
        est = slice(p - 5 - 10 - 120, p - 5 - 10)  # 120 sessions, 10 before day -5
        y, x = rets[ev["ticker"]].iloc[est], bench.iloc[est]
        ols = sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit()
        row = res.events.set_index("event_id").loc[ev["event_id"]]
        assert abs(row["alpha"] - ols.params[0]) <= 1e-10
        assert abs(row["beta"] - ols.params[1]) <= 1e-10
        assert row["sigma"] == pytest.approx(np.sqrt(ols.mse_resid), rel=1e-10)
        pan = res.panel[res.panel["event_id"] == ev["event_id"]]
        assert list(pan["day"]) == list(range(-5, 11))
        assert list(pan["session"]) == list(rets.index[p - 5 : p + 11])
        want_ar = (
            rets[ev["ticker"]].iloc[p - 5 : p + 11]
            - ols.params[0]
            - ols.params[1] * bench.iloc[p - 5 : p + 11]
        )
        np.testing.assert_allclose(pan["ar"], want_ar, rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(pan["car"], np.cumsum(want_ar), rtol=1e-9, atol=1e-13)
        assert row["car[-5,+10]"] == pytest.approx(pan["car"].iloc[-1], rel=1e-12)


def test_summary_all_group_matches_scipy_on_event_cars(study):
    rets, bench, events, res = study
    s = res.summary.set_index(["group_type", "group", "car_window"])
    for w in ["[0,0]", "[0,+1]", "[-5,+10]"]:
        cars = res.events[f"car{w}"].to_numpy()
        row = s.loc[("all", "all", w)]
        t = stats.ttest_1samp(cars, 0.0)
        assert row["n"] == len(events)
        assert row["caar"] == pytest.approx(cars.mean(), rel=1e-12)
        assert row["t_cs"] == pytest.approx(t.statistic, rel=1e-9)
        assert row["p_cs"] == pytest.approx(t.pvalue, rel=1e-9)
        assert row["p_patell"] == pytest.approx(2 * stats.norm.sf(abs(row["patell_z"])), rel=1e-12)
        assert row["boot_lo"] < row["boot_hi"]
        assert 0 < row["placebo_p"] <= 1


def test_groups_by_kind_org_and_split_stripped_tags(study):
    rets, bench, events, res = study
    s = res.summary[res.summary["car_window"] == "[0,0]"]
    got = {(a, b): n for a, b, n in zip(s["group_type"], s["group"], s["n"], strict=True)}
    assert got[("all", "all")] == len(events)
    for kind, n in events["kind"].value_counts().items():
        assert got[("kind", kind)] == n
    for org, n in events["org"].value_counts().items():
        assert got[("org", org)] == n
    assert got[("tag", "ai")] == len(events)
    assert got[("tag", "chips")] == (events["tags"] == "ai; chips").sum()
    assert got[("tag", "cloud")] == (events["tags"] == "cloud;ai;").sum()
    assert not any(t == "tag" and g in ("", " chips") for t, g in got)
    kind = res.summary[(res.summary["group_type"] == "kind") & (res.summary["group"] == "launch")]
    cars = res.events.loc[res.events["kind"] == "launch", "car[0,+1]"]
    assert kind.set_index("car_window").loc["[0,+1]", "caar"] == pytest.approx(
        cars.mean(), rel=1e-12
    )


def test_same_seed_same_result_other_seed_other_draws():
    rets, bench, events = make_data(seed=4)
    a = run_study(rets, bench, events, bootstrap=200, placebo=100, seed=11)
    b = run_study(rets, bench, events, bootstrap=200, placebo=100, seed=11)
    c = run_study(rets, bench, events, bootstrap=200, placebo=100, seed=12)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.panel, b.panel)
    assert not np.allclose(a.summary["boot_lo"], c.summary["boot_lo"])
    np.testing.assert_array_equal(a.summary["caar"], c.summary["caar"])


def test_zero_resamples_give_nan_interval_and_placebo():
    rets, bench, events = make_data(seed=5)
    res = run_study(rets, bench, events, bootstrap=0, placebo=0)
    assert res.summary[["boot_lo", "boot_hi", "placebo_p"]].isna().all().all()
    assert res.summary["caar"].notna().all()


def test_planted_effect_is_detected_by_every_test():
    rets, bench, events = make_data(seed=6, effect=0.05)
    res = run_study(rets, bench, events, bootstrap=500, placebo=400, car_windows=[(0, 0)])
    row = res.summary.iloc[0]
    assert row["caar"] == pytest.approx(0.05, abs=0.01)
    for p in ["p_cs", "p_patell", "p_bmp", "p_corrado", "p_gsign", "placebo_p"]:
        assert row[p] < 0.01, p
    assert row["boot_lo"] > 0


def test_market_adjusted_ar_is_return_minus_benchmark():
    rets, bench, events = make_data(seed=7)
    res = run_study(rets, bench, events, model="market_adjusted", bootstrap=0, placebo=0)
    np.testing.assert_allclose(
        res.panel["ar"], res.panel["ret"] - res.panel["bench_ret"], rtol=0, atol=0
    )
    assert (res.events["beta"] == 1.0).all() and (res.events["alpha"] == 0.0).all()


def test_custom_car_windows_and_labels():
    rets, bench, events = make_data(seed=8)
    res = run_study(
        rets, bench, events, window=(-2, 3), bootstrap=0, placebo=0, car_windows=[(-2, -1), (1, 3)]
    )
    assert list(res.summary["car_window"].unique()) == ["[-2,-1]", "[+1,+3]"]
    assert set(res.panel["day"]) == set(range(-2, 4))
    np.testing.assert_allclose(
        res.events["car[+1,+3]"],
        res.panel[res.panel["day"].between(1, 3)].groupby("event_id", sort=False)["ar"].sum(),
        rtol=1e-12,
    )


def test_window_outside_data_is_skipped_and_counted():
    rets, bench, events = make_data(seed=9)
    extra = pd.DataFrame(
        [
            dict(event_id="early", ticker="AAA", reaction_session=rets.index[100], kind="launch"),
            dict(event_id="late", ticker="BBB", reaction_session=rets.index[-3], kind="launch"),
        ]
    )
    ev = pd.concat([events, extra], ignore_index=True)
    res = run_study(rets, bench, ev, bootstrap=0, placebo=0)
    assert [s[0] for s in res.skipped] == ["early", "late"]
    assert all("outside the data" in s[2] for s in res.skipped)
    assert res.n_skipped == 2
    s = res.summary.set_index(["group_type", "group", "car_window"])
    assert s.loc[("all", "all", "[0,0]"), "n_skipped"] == 2
    assert s.loc[("all", "all", "[0,0]"), "n"] == len(events)
    assert s.loc[("kind", "launch", "[0,0]"), "n_skipped"] == 2
    assert s.loc[("kind", "earnings", "[0,0]"), "n_skipped"] == 0
    assert "early" not in set(res.panel["event_id"])


def test_all_events_skipped_gives_empty_groups_not_an_error():
    rets, bench, events = make_data(seed=18, n_ses=400)
    res = run_study(rets, bench, events, estimation=390)  # no event has 390 sessions before it
    assert res.n_skipped == len(events) and res.panel.empty and res.events.empty
    assert (res.summary["n"] == 0).all()
    assert (res.summary.loc[res.summary["group"] == "all", "n_skipped"] == len(events)).all()
    assert (
        res.summary[["caar", "t_cs", "p_cs", "patell_z", "boot_lo", "placebo_p"]].isna().all().all()
    )


def test_aar_by_day_is_mean_ar_and_cumulates_to_caar(study):
    rets, bench, events, res = study
    aar = res.aar
    assert list(aar.index) == list(range(-5, 11))
    assert (aar["n"] == len(events)).all()
    assert aar.loc[0, "aar"] == pytest.approx(
        res.panel.loc[res.panel["day"] == 0, "ar"].mean(), rel=1e-12
    )
    caar = res.summary.set_index(["group", "car_window"]).loc[("all", "[-5,+10]"), "caar"]
    assert aar["caar"].iloc[-1] == pytest.approx(caar, rel=1e-10)


def test_missing_event_window_return_is_skipped_with_reason():
    rets, bench, events = make_data(seed=10)
    ev = events.iloc[3]
    p = rets.index.get_loc(ev["reaction_session"])
    rets.iloc[p + 2, rets.columns.get_loc(ev["ticker"])] = np.nan
    res = run_study(rets, bench, events, bootstrap=0, placebo=0)
    assert len(res.skipped) == 1
    assert res.skipped[0][:2] == (ev["event_id"], ev["ticker"])
    assert "missing in the event window" in res.skipped[0][2]


def test_thin_estimation_window_is_flagged_and_counted_not_dropped():
    rets, bench, events = make_data(seed=11)
    a, b = events.iloc[2], events.iloc[6]
    pa = rets.index.get_loc(a["reaction_session"])
    pb = rets.index.get_loc(b["reaction_session"])
    rets.iloc[pa - 40, rets.columns.get_loc(a["ticker"])] = np.nan  # one missing
    rets.iloc[pb - 135 : pb - 135 + 70, rets.columns.get_loc(b["ticker"])] = np.nan  # 50 left
    res = run_study(rets, bench, events, bootstrap=0, placebo=0)
    ev = res.events.set_index("event_id")
    assert ev.loc[a["event_id"], "thin"] and ev.loc[a["event_id"], "n_est"] == 119
    assert ev.loc[b["event_id"], "thin"] and ev.loc[b["event_id"], "n_est"] == 50 < THIN_MIN_OBS
    assert ev["thin"].sum() == 2
    s = res.summary.set_index(["group_type", "group", "car_window"])
    assert s.loc[("all", "all", "[0,0]"), "n_thin"] == 2
    assert s.loc[("all", "all", "[0,0]"), "n"] == len(events)


def test_estimation_window_below_floor_is_skipped():
    rets, bench, events = make_data(seed=12)
    b = events.iloc[6]
    pb = rets.index.get_loc(b["reaction_session"])
    rets.iloc[pb - 135 : pb - 15 - MIN_EST_OBS + 2, rets.columns.get_loc(b["ticker"])] = np.nan
    res = run_study(rets, bench, events, bootstrap=0, placebo=0)
    assert [s[0] for s in res.skipped] == [b["event_id"]]
    assert f"only {MIN_EST_OBS - 2} valid estimation returns" in res.skipped[0][2]


def test_estimation_window_leaves_out_earlier_event_windows():
    """Regression (issue 15 item 6): the pre-earnings estimation window of a recent NVDA
    report held two earlier report windows, 32 of its 120 sessions. Reports 63 sessions
    apart with window [-10, +5] and gap 10: the third report's estimation window
    [p - 140, p - 21] holds the windows of the reports at p - 63 and p - 126 (16 sessions
    each). A +50% jump on every day of those windows would wreck the fit; left out, alpha
    and beta are the OLS fit on the 88 other sessions."""
    rets, bench, _ = make_data(seed=31, n_ses=400)
    day0 = [140, 203, 266]
    for q in day0[:2]:
        rets.iloc[q - 10 : q + 6, 0] += 0.5
    events = pd.DataFrame(
        {
            "event_id": ["r1", "r2", "r3"],
            "ticker": "AAA",
            "reaction_session": rets.index[day0],
        }
    )
    res = run_study(rets, bench, events, window=(-10, 5), estimation=120, gap=10, placebo=0)
    ev = res.events.set_index("event_id")
    assert ev.loc["r3", "n_est_excl"] == 32 and ev.loc["r3", "n_est"] == 88
    assert ev.loc["r2", "n_est_excl"] == 16 and ev.loc["r1", "n_est_excl"] == 0
    assert ev["est_overlap"].tolist() == [False, True, True]
    assert not ev.loc["r3", "thin"]  # left-out sessions are not missing returns
    p = day0[2]
    days = np.arange(p - 140, p - 20)
    keep = ~(((days >= 130) & (days <= 145)) | ((days >= 193) & (days <= 208)))
    fit = sm.OLS(rets.iloc[days[keep], 0].to_numpy(), sm.add_constant(bench.iloc[days[keep]])).fit()
    assert keep.sum() == 88
    assert abs(ev.loc["r3", "alpha"] - fit.params.iloc[0]) <= 1e-10
    assert abs(ev.loc["r3", "beta"] - fit.params.iloc[1]) <= 1e-10


def test_too_few_estimation_sessions_left_is_skipped_with_the_reason():
    """With events 16 sessions apart and a 30-session estimation window, an event's
    estimation window is mostly earlier event windows: fewer than MIN_EST_OBS sessions are
    left, so the row is skipped and the reason says why."""
    rets, bench, _ = make_data(seed=32, n_ses=300)
    day0 = [100, 116, 132]
    events = pd.DataFrame(
        {"event_id": ["a", "b", "c"], "ticker": "AAA", "reaction_session": rets.index[day0]}
    )
    res = run_study(rets, bench, events, window=(-5, 10), estimation=30, gap=0, placebo=0)
    skipped = {e: why for e, _t, why in res.skipped}
    assert set(skipped) == {"c"}
    assert f"need >= {MIN_EST_OBS}" in skipped["c"]
    assert "after leaving out" in skipped["c"] and "earlier event windows of AAA" in skipped["c"]


def test_overlapping_windows_are_flagged_and_counted():
    rets, bench, events = make_data(seed=13)
    first = events.iloc[4]
    p = rets.index.get_loc(first["reaction_session"])
    extra = pd.DataFrame(
        [
            dict(
                event_id="near",
                ticker=first["ticker"],
                reaction_session=rets.index[p + 15],
                kind="launch",
            )
        ]
    )
    ev = pd.concat([events, extra], ignore_index=True)
    res = run_study(rets, bench, ev, bootstrap=0, placebo=0)
    flagged = set(res.events.loc[res.events["overlap"], "event_id"])
    assert flagged == {first["event_id"], "near"}
    assert res.summary.loc[res.summary["group_type"] == "all", "n_overlap"].iloc[0] == 2
    # 16 sessions apart: windows [-5, +10] no longer intersect
    extra["reaction_session"] = rets.index[p + 16]
    res = run_study(
        rets, bench, pd.concat([events, extra], ignore_index=True), bootstrap=0, placebo=0
    )
    assert not res.events["overlap"].any()


def test_placebo_sessions_avoid_real_event_windows():
    # +100% on every day of a real event window: a placebo window touching it would show.
    rets, bench, _ = make_data(seed=14)
    rets.iloc[395:411, 0] += 1.0
    cand = nb.placebo_car(
        gate(rets.to_numpy().T, np.float64),  # as study.py passes them: C, writeable
        gate(bench.to_numpy(), np.float64),
        np.array([0]),
        np.array([0, 1]),
        np.array([400]),
        -5,
        10,
        120,
        10,
        MM,
        MIN_EST_OBS,
        np.array([0]),
        np.array([15]),
    )
    ok = np.flatnonzero(np.isfinite(cand[0, :, 0]))
    assert ok.min() == 135 and ok.max() == len(rets) - 11  # full estimation + event window
    assert not np.any(np.abs(ok - 400) <= 15)
    assert np.any(np.abs(ok - 400) == 16)
    # later sessions whose estimation window holds the bump leave those days out of the fit
    # (as a real event does), so no pseudo CAR carries the bump through alpha
    assert np.any((ok > 400) & (ok - 135 <= 410))
    assert np.abs(cand[0, ok, 0]).max() < 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(window=(1, 5)), r"window=\(1, 5\) starts after day 0: pass window=\(lo, hi\)"),
        (dict(window=(-5, -1)), r"window=\(-5, -1\) ends before day 0"),
        (dict(window=(-5,)), r"window=\(-5,\) is not a pair"),
        (dict(estimation=20), r"estimation=20 is below 30: use an estimation window of >= 30"),
        (dict(estimation=60.0), r"estimation=60.0 is not an integer"),
        (dict(gap=-1), r"gap=-1 is below 0"),
        (
            dict(model="market-model"),
            r"model='market-model' is unknown: did you mean 'market_model'\?",
        ),
        (
            dict(car_windows=[(0, 11)]),
            r"car_windows\[0\]=\(0, 11\) is not inside window \(-5, 10\)",
        ),
        (dict(bootstrap=-5), r"bootstrap=-5 is below 0"),
    ],
)
def test_bad_parameters_raise_input_error_naming_field_and_fix(kwargs, match):
    rets, bench, events = make_data(seed=15, n_ses=400)
    with pytest.raises(InputError, match=match) as err:
        run_study(rets, bench, events, **kwargs)
    assert "\n" not in str(err.value)


def test_unknown_session_raises_input_error():
    rets, bench, events = make_data(seed=16, n_ses=400)
    events.loc[2, "reaction_session"] = pd.Timestamp("2020-02-01")  # a Saturday
    with pytest.raises(
        InputError,
        match=r"reaction_session 2020-02-01 \(row 2, event_id='E02'\) is not a session in returns.index",
    ) as err:
        run_study(rets, bench, events)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r, b, e: (r, b, e.drop(columns="ticker")), r"events lacks column\(s\) ticker"),
        (
            lambda r, b, e: (r, b, e.assign(ticker="ZZZ")),
            r"ticker 'ZZZ' is not a column of returns",
        ),
        (
            lambda r, b, e: (r, b, pd.concat([e, e.iloc[:1]])),
            r"repeats \(event_id='E00', ticker='AAA'\)",
        ),
        (
            lambda r, b, e: (r, b.iloc[1:], e),
            r"bench.index differs from returns.index: use bench.reindex",
        ),
        (lambda r, b, e: (r.iloc[::-1], b.iloc[::-1], e), r"returns.index is not sorted"),
        (
            lambda r, b, e: (r.replace(r.iloc[3, 1], np.inf), b, e),
            r"returns\['BBB'\] is infinite on",
        ),
        (
            lambda r, b, e: (r.reset_index(drop=True), b.reset_index(drop=True), e),
            r"returns.index is not a DatetimeIndex",
        ),
    ],
)
def test_bad_tables_raise_input_error(mutate, match):
    r, b, e = mutate(*make_data(seed=17, n_ses=400))
    with pytest.raises(InputError, match=match):
        run_study(r, b, e)


# --------------------------------------------------------------------------------------
# NUMBA_DISABLE_JIT: the kernels as plain Python give the compiled answer
# --------------------------------------------------------------------------------------

_TINY = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_study import make_data
    from evbt.backtest.study import run_study
    rets, bench, events = make_data(seed=21, n_ses=260, tickers=("AAA", "BBB"))
    rets.iloc[30, 0] = np.nan
    res = run_study(rets, bench, events, window=(-2, 3), estimation=40, gap=3,
                    bootstrap=50, placebo=40, seed=5)
    print(json.dumps({{"summary": res.summary.to_dict("list"),
                      "ar": res.panel["ar"].tolist(),
                      "skipped": res.skipped}}))
    """
)


def _tiny_run(disable_jit: bool) -> dict:
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    if disable_jit:
        env["NUMBA_DISABLE_JIT"] = "1"
    code = _TINY.format(tests=str(Path(__file__).resolve().parent))
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    return json.loads(out.stdout)


def test_disable_jit_run_equals_jitted_run():
    pure = _tiny_run(disable_jit=True)
    compiled = _tiny_run(disable_jit=False)
    assert pure["skipped"] == compiled["skipped"]
    assert len(pure["ar"]) > 0
    np.testing.assert_array_equal(pure["ar"], compiled["ar"])
    for col in SUMMARY_COLUMNS:
        a, b = pure["summary"][col], compiled["summary"][col]
        if isinstance(a[0], str):
            assert a == b, col
        else:
            np.testing.assert_array_equal(
                np.array(a, dtype=float), np.array(b, dtype=float), err_msg=col
            )


def test_study_arrays_is_what_run_study_uses():
    rets, bench, events = make_data(seed=22)
    res = run_study(rets, bench, events, bootstrap=100, placebo=50, seed=9, car_windows=[(0, 0)])
    col = rets.columns.get_indexer(events["ticker"])
    pos = rets.index.get_indexer(events["reaction_session"])
    arr = study_arrays(
        np.ascontiguousarray(rets.to_numpy().T),
        bench.to_numpy(),
        col,
        pos,
        np.arange(len(events)),
        lo=-5,
        hi=10,
        estimation=120,
        gap=10,
        model=MM,
        win=np.array([[0, 0]]),
        grp_ptr=np.array([0, len(events)]),
        grp_idx=np.arange(len(events)),
        bootstrap=100,
        placebo=50,
        seed=9,
    )
    row = res.summary.iloc[0]
    assert row["group"] == "all"
    for name in [
        "caar",
        "t_cs",
        "patell_z",
        "bmp_z",
        "corrado_z",
        "gsign_z",
        "boot_lo",
        "boot_hi",
        "placebo_p",
    ]:
        assert row[name] == getattr(arr, name)[0, 0], name
