"""Overfitting controls (backtest/overfit.py, backtest/overfit_nb.py).

Each statistic is checked against an independent computation (a published example, a
plain-Python twin or SciPy) and against a null simulation: a pure-noise grid must be
flagged, a grid with a truly better combination must not. Every random draw is seeded.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from evbt.backtest import metrics
from evbt.backtest import overfit as of
from evbt.backtest import overfit_nb as ofnb
from evbt.errors import InputError

NORMAL = statistics.NormalDist()


def power_sums(r: np.ndarray, axis: int = -1):
    return (r.sum(axis), (r**2).sum(axis), (r**3).sum(axis), (r**4).sum(axis), r.shape[axis])


def block_sums(r: np.ndarray, n_blocks: int):
    """(N, T) daily returns -> (N, S) block sums, sums of squares and counts."""
    parts = np.array_split(np.arange(r.shape[1]), n_blocks)
    s = np.stack([r[:, p].sum(axis=1) for p in parts], axis=1)
    q = np.stack([(r[:, p] ** 2).sum(axis=1) for p in parts], axis=1)
    n = np.stack([np.full(r.shape[0], float(len(p))) for p in parts], axis=1)
    return s, q, n


# ---------------------------------------------------------------------------------------
# sharpe_stats
# ---------------------------------------------------------------------------------------


def test_sharpe_stats_match_numpy_scipy_and_metrics():
    rng = np.random.default_rng(11)
    r = rng.standard_t(5, size=(6, 400)) * 0.01 + 0.0005
    r[:, ::3] = 0.0  # flat days count as zero returns
    mean, std, sr, skew, kurt = of.sharpe_stats(*power_sums(r))
    np.testing.assert_allclose(mean, r.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(std, r.std(axis=1, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(skew, scipy.stats.skew(r, axis=1), rtol=1e-8)
    np.testing.assert_allclose(kurt, scipy.stats.kurtosis(r, axis=1, fisher=False), rtol=1e-8)
    # the project's Sharpe: annualised by sqrt(252), ddof=1, risk-free 0
    want = [metrics.sharpe(row) for row in r]
    np.testing.assert_allclose(of.annualize_sharpe(sr), want, rtol=1e-9)
    np.testing.assert_allclose(of.deannualize_sharpe(of.annualize_sharpe(sr)), sr, rtol=1e-15)


def test_sharpe_stats_degenerate_inputs_are_nan_without_warning():
    # never trades: all returns 0 -> std 0, Sharpe NaN (as metrics.sharpe); one return: NaN std
    mean, std, sr, skew, kurt = of.sharpe_stats(
        [0.0, 0.5], [0.0, 0.25], [0.0, 0.125], [0.0, 0.0625], [250, 1]
    )
    assert mean[0] == 0.0 and std[0] == 0.0
    assert np.isnan(sr).all() and np.isnan(skew[0]) and np.isnan(kurt[0])
    assert mean[1] == 0.5 and np.isnan(std[1])
    # constant non-zero returns: the power-sum rounding is not taken for risk
    r = np.full(300, 0.001)
    _, std_c, sr_c, _, _ = of.sharpe_stats(*power_sums(r))
    assert std_c == 0.0 and np.isnan(sr_c)
    assert np.isnan(metrics.sharpe(r))


# ---------------------------------------------------------------------------------------
# PSR and DSR
# ---------------------------------------------------------------------------------------


def plain_psr(sr, n, skew, kurt, sr0):
    """Bailey and Lopez de Prado (2012), written out with the standard library only."""
    z = (sr - sr0) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return NORMAL.cdf(z)


def plain_sr0(n_trials, var):
    g = 0.5772156649015329
    return math.sqrt(var) * (
        (1 - g) * NORMAL.inv_cdf(1 - 1 / n_trials) + g * NORMAL.inv_cdf(1 - 1 / (n_trials * math.e))
    )


def test_psr_matches_plain_python():
    rng = np.random.default_rng(3)
    sr = rng.normal(0.05, 0.05, 50)
    n = rng.integers(60, 3000, 50)
    skew = rng.normal(-0.5, 0.7, 50)
    kurt = 1 + skew**2 + rng.gamma(2.0, 2.0, 50)  # Pearson's bound kurt >= 1 + skew^2
    sr0 = rng.normal(0.02, 0.02, 50)
    got = of.psr(sr, n, skew, kurt, sr0=sr0)
    want = [plain_psr(*args) for args in zip(sr, n, skew, kurt, sr0, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        of.psr_pvalue(sr, n, skew, kurt, sr0=sr0), 1 - np.array(want), atol=1e-12
    )
    # at SR = SR0 the confidence is one half, whatever the moments
    assert of.psr(0.1, 500, -1.0, 8.0, sr0=0.1) == 0.5
    assert np.isnan(of.psr(0.1, 1, 0.0, 3.0))  # one return: no standard error


def test_dsr_reproduces_the_published_numerical_example():
    """Bailey and Lopez de Prado (2014), "The Deflated Sharpe Ratio", J. Portfolio
    Management 40(5), numerical example: N = 100 trials, V[SR] = 1/2 (annualised),
    T = 1250 daily returns, skewness -3, kurtosis 10, best annualised SR 2.5, 250 days a
    year. The paper reports SR0 ~ 0.1132, SR ~ 0.1581 (daily) and DSR ~ 0.9004 < 0.95;
    the tolerance is the rounding of the printed 4 decimals."""
    var_daily = 0.5 / 250
    sr_daily = 2.5 / math.sqrt(250)
    assert of.expected_max_sharpe(100, var_daily) == pytest.approx(0.1132, abs=5e-5)
    assert sr_daily == pytest.approx(0.1581, abs=5e-5)
    dsr = of.deflated_sharpe(sr_daily, 1250, -3.0, 10.0, n_trials=100, sr_var=var_daily)
    assert float(dsr) == pytest.approx(0.9004, abs=5e-5)


def test_dsr_matches_plain_python_with_grid_defaults():
    rng = np.random.default_rng(5)
    sr = rng.normal(0.0, 0.04, 300)
    n = np.full(300, 1000)
    skew = rng.normal(0, 0.3, 300)
    kurt = 3 + rng.gamma(1.0, 1.0, 300)
    got = of.deflated_sharpe(sr, n, skew, kurt)  # N and V[SR] from the grid
    var = statistics.variance(sr.tolist())
    sr0 = plain_sr0(300, var)
    want = [plain_psr(a, b, c, d, sr0) for a, b, c, d in zip(sr, n, skew, kurt, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    assert of.grid_trials(np.append(sr, np.nan)) == (300, pytest.approx(var, rel=1e-12))
    assert of.expected_max_sharpe(1, 0.01) == 0.0  # one trial: nothing was selected
    with pytest.raises(InputError, match="n_trials"):
        of.expected_max_sharpe(0, 0.01)


def test_dsr_null_simulation_flags_the_best_of_a_noise_grid():
    """200 strategies of pure noise (true Sharpe 0), 750 days: the best one looks
    significant by its own PSR (> 0.95) in nearly every grid, its DSR almost never."""
    rng = np.random.default_rng(2024)
    psr_hits = dsr_hits = 0
    n_grids = 40
    for _ in range(n_grids):
        r = rng.normal(0.0, 0.01, size=(200, 750))
        _, _, sr, skew, kurt = of.sharpe_stats(*power_sums(r))
        best = int(np.argmax(sr))
        psr_hits += of.psr(sr[best], 750, skew[best], kurt[best]) > 0.95
        dsr_hits += of.deflated_sharpe(sr, 750, skew, kurt)[best] > 0.95
    assert psr_hits >= 0.9 * n_grids
    assert dsr_hits <= 0.15 * n_grids  # nominal 5%; 15% of 40 is ~3 binomial SEs above it
    # a planted strategy (daily Sharpe 0.2) among the noise survives the deflation
    r = rng.normal(0.0, 0.01, size=(200, 750))
    r[17] += 0.002
    _, _, sr, skew, kurt = of.sharpe_stats(*power_sums(r))
    assert int(np.argmax(sr)) == 17
    assert of.deflated_sharpe(sr, 750, skew, kurt)[17] > 0.95


# ---------------------------------------------------------------------------------------
# PBO by CSCV
# ---------------------------------------------------------------------------------------


def twin_sharpe(s: float, q: float, n: float) -> float:
    """Daily Sharpe from sums, the convention of pbo_cscv: undefined -> 0 (no risk taken)."""
    if n < 2:
        return 0.0
    m = s / n
    var = (q - n * m * m) / (n - 1)
    if var <= 1e-12 * q / (n - 1):
        return math.copysign(math.inf, s) if s != 0 else 0.0
    return m / math.sqrt(var)


def twin_pbo(tb_sum, tb_sumsq, tb_n):
    """CSCV as the paper describes it, materialising each split's IS and OOS vectors."""
    n_rows, n_blocks = tb_sum.shape
    logits, winners, oos = [], [], []
    for half in itertools.combinations(range(n_blocks), n_blocks // 2):
        rest = [b for b in range(n_blocks) if b not in half]
        perf = []
        for blocks in (half, rest):
            perf.append(
                [
                    twin_sharpe(
                        sum(tb_sum[i, b] for b in blocks),
                        sum(tb_sumsq[i, b] for b in blocks),
                        sum(tb_n[i, b] for b in blocks),
                    )
                    for i in range(n_rows)
                ]
            )
        is_perf, oos_perf = perf
        star = max(range(n_rows), key=lambda i: (is_perf[i], -i))  # first row on ties
        v = oos_perf[star]
        below = sum(x < v for x in oos_perf)
        ties = sum(x == v for x in oos_perf)
        w = (below + (ties + 1) / 2) / (n_rows + 1)
        logits.append(math.log(w / (1 - w)))
        winners.append(star)
        oos.append(v)
    logits_a = np.array(logits)
    return float(np.mean(logits_a <= 0)), logits_a, np.array(winners), np.array(oos)


def test_pbo_hand_checked_tiny_case():
    """Three combinations, two blocks of two returns each (so two splits):
    A: [1, 3] | [1, -1]; B: [0, 2] | [2, 4]; C: [-1, 1] | [0, 1].
    Daily Sharpe on block 0: A sqrt(2), B 1/sqrt(2), C 0; on block 1: A 0, B 3/sqrt(2),
    C 1/sqrt(2). Split 0 (train block 0) picks A, whose OOS Sharpe 0 is the worst of 3:
    w = 1/4, logit log(1/3). Split 1 (train block 1) picks B, OOS 1/sqrt(2) is 2nd of 3:
    w = 2/4, logit 0, which counts as overfit. PBO = 2/2."""
    tb_sum = np.array([[4.0, 0.0], [2.0, 6.0], [0.0, 1.0]])
    tb_sumsq = np.array([[10.0, 2.0], [4.0, 20.0], [2.0, 1.0]])
    tb_n = np.full((3, 2), 2.0)
    res = of.pbo_cscv(tb_sum, tb_sumsq, tb_n)
    assert res.n_splits == 2 and res.n_combos == 3
    np.testing.assert_array_equal(res.is_best, [0, 1])
    np.testing.assert_allclose(res.logits, [math.log(1 / 3), 0.0], atol=1e-15)
    np.testing.assert_allclose(res.oos_rank, [0.25, 0.5])
    np.testing.assert_allclose(res.is_sharpe, [math.sqrt(2), 3 / math.sqrt(2)], rtol=1e-12)
    np.testing.assert_allclose(res.oos_sharpe, [0.0, 1 / math.sqrt(2)], atol=1e-12)
    assert res.pbo == 1.0
    assert res.prob_oos_loss == 0.0


@pytest.mark.parametrize("n_blocks", [2, 4, 6, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pbo_matches_plain_python_twin(n_blocks, seed):
    rng = np.random.default_rng(100 * n_blocks + seed)
    n_rows = 9
    r = rng.normal(0.0, 0.01, size=(n_rows, 10 * n_blocks)) + rng.normal(0, 0.002, (n_rows, 1))
    r[3] = 0.0  # never trades: Sharpe 0 on every half
    r[5, : 5 * n_blocks] = 0.0  # trades in the second half of the history only
    r[7] = r[2]  # an exact duplicate: ties in both samples
    s, q, n = block_sums(r, n_blocks)
    res = of.pbo_cscv(s, q, n)
    pbo, logits, winners, oos = twin_pbo(s, q, n)
    assert res.pbo == pbo
    np.testing.assert_array_equal(res.is_best, winners)
    np.testing.assert_allclose(res.logits, logits, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.oos_sharpe, oos, rtol=1e-9, atol=1e-15)


def fraction_key(s: int, q: int, n: int) -> Fraction | float:
    """SR |SR| in exact rational arithmetic (the twin of perf_key_nb on integer data)."""
    if n < 2:
        return Fraction(0)
    d = n * q - s * s
    if d == 0:
        return math.copysign(math.inf, s) if s else Fraction(0)
    return Fraction(s * abs(s) * (n - 1), n * d)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    data=st.lists(
        st.lists(st.lists(st.integers(-2, 2), min_size=0, max_size=3), min_size=4, max_size=4),
        min_size=2,
        max_size=6,
    )
)
def test_pbo_property_exact_twin_on_integer_returns(data):
    """Any small grid of integer returns (empty blocks, one-return halves, constant and
    duplicate rows, ties everywhere): ranks and winners equal an exact-arithmetic twin."""
    sums = np.array([[sum(b) for b in row] for row in data], dtype=np.float64)
    sq = np.array([[sum(x * x for x in b) for b in row] for row in data], dtype=np.float64)
    cnt = np.array([[len(b) for b in row] for row in data], dtype=np.float64)
    res = of.pbo_cscv(sums, sq, cnt)
    n_rows = len(data)
    for t, half in enumerate(itertools.combinations(range(4), 2)):
        rest = [b for b in range(4) if b not in half]

        def key(i, blocks):
            return fraction_key(
                *(int(sum(a[i, b] for b in blocks)) for a in (sums, sq, cnt))  # noqa: B023
            )

        is_keys = [key(i, half) for i in range(n_rows)]
        star = max(range(n_rows), key=lambda i: (is_keys[i], -i))  # noqa: B023
        oos = [key(i, rest) for i in range(n_rows)]
        below = sum(k < oos[star] for k in oos)
        ties = sum(k == oos[star] for k in oos)
        assert res.is_best[t] == star
        assert res.oos_rank[t] == (below + (ties + 1) / 2) / (n_rows + 1)


def test_pbo_threads_and_chunks_agree_with_one_pass():
    """Row ranges on several threads and several chunks per range give the single-thread
    result exactly (ties between ranges go to the first row)."""
    rng = np.random.default_rng(9)
    r = rng.normal(0.0, 0.01, size=(2100, 64))
    r[1500] = r[40]  # a tie across thread ranges
    r[40] += 0.0005
    r[1500] += 0.0005
    s, q, n = block_sums(r, 8)
    one = of.pbo_cscv(s, q, n, n_jobs=1)
    three = of.pbo_cscv(s, q, n, n_jobs=3)
    np.testing.assert_array_equal(one.is_best, three.is_best)
    np.testing.assert_array_equal(one.logits, three.logits)
    assert set(one.is_best.tolist()) <= set(range(2100)) - {1500}
    # and the twin on a slice of it
    pbo, logits, winners, _ = twin_pbo(s[:40], q[:40], n[:40])
    small = of.pbo_cscv(s[:40], q[:40], n[:40], n_jobs=2)
    np.testing.assert_array_equal(small.is_best, winners)
    np.testing.assert_allclose(small.logits, logits, rtol=1e-12, atol=1e-12)


def test_pbo_with_unequal_counts_matches_twin():
    """Combinations with different counts per block (a ruined account stops early, a
    shorter history) take the general kernel; the same answer as the twin."""
    rng = np.random.default_rng(21)
    r = rng.normal(0.0005, 0.01, size=(11, 96))
    s, q, n = block_sums(r, 8)
    n[4, 5:] = 0.0  # no returns after block 4
    s[4, 5:] = 0.0
    q[4, 5:] = 0.0
    n[6] -= rng.integers(0, 5, 8)
    n[9, 0] = 1.0
    q[9, 0] = s[9, 0] ** 2
    res = of.pbo_cscv(s, q, n)
    pbo, logits, winners, oos = twin_pbo(s, q, n)
    assert res.pbo == pbo
    np.testing.assert_array_equal(res.is_best, winners)
    np.testing.assert_allclose(res.logits, logits, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pbo_upper_bound_holds_on_every_half(seed):
    """The pruning bound of pass 1 is >= the key of every half (zero blocks, negative
    grids and unequal counts included), so pruning never drops a half's best row."""
    rng = np.random.default_rng(seed)
    r = rng.normal(rng.normal(0, 0.002, (300, 1)), 0.01, size=(300, 60))
    r[::7, :30] = 0.0
    r[::11] -= 0.01
    s, q, n = block_sums(r, 6)
    n[::13, 2] -= 3.0
    ub = of._upper_key(s, q, n)
    halves, ha, hb, hidx, _ = of._halves(6)
    for row in range(300):
        for j in range(hidx.size):
            key = ofnb.half_key_nb(s, q, n, row, int(ha[j]), int(hb[j]))
            assert key <= of._with_margin(ub[row : row + 1])[0]


@pytest.mark.parametrize("shift", [0.0, -0.004])
def test_pbo_pruned_pass_equals_the_full_pass(shift):
    """Above 4,096 combinations pass 1 scans only rows that can win a half; its result is
    the full scan's, bit for bit (also on a grid where every combination loses)."""
    rng = np.random.default_rng(13)
    r = rng.normal(shift, 0.01, size=(5000, 48)) + rng.normal(0, 0.002, (5000, 1))
    r[100] = 0.0
    r[4000] = r[2500]  # a tie: the lower row must win
    s, q, n = block_sums(r, 6)
    _, ha, hb, hidx, _ = of._halves(6)
    full = of._best_rows((s, q, n), None, ha, hb, hidx, 128, 2)
    pruned = of._cscv_best(s, q, n, ha, hb, hidx, 128, 2)
    np.testing.assert_array_equal(full[0], pruned[0])
    np.testing.assert_array_equal(full[1], pruned[1])
    assert 4000 not in full[1]


@pytest.mark.parametrize("shift", [0.0, -0.004, 0.003])
def test_pbo_with_both_passes_pruned_equals_the_unpruned_result(shift, monkeypatch):
    """Above 4,096 combinations pass 2 counts the rows whose bound lies below every
    threshold without scanning them; every figure equals the unpruned run's exactly
    (rows below every threshold exist, so the shortcut is taken)."""
    rng = np.random.default_rng(21)
    r = rng.normal(shift, 0.01, size=(5000, 48)) + rng.normal(0, 0.002, (5000, 1))
    r[:1500] -= 0.01  # clear losers: below every threshold
    r[100] = 0.0
    r[3000:3010, :24] = 0.0  # zero blocks: key 0 on some halves
    s, q, n = block_sums(r, 6)
    n[::17, 1] -= 2.0  # unequal counts on some rows
    scanned = []
    run_rows = of._run_rows

    def spy(fn, arrays, ha, hb, hidx, extra, n_rows, chunk, jobs, ranges=None):
        if fn in (ofnb.cscv_rank_nb, ofnb.cscv_rank_const_nb):
            scanned.append(n_rows)
        return run_rows(fn, arrays, ha, hb, hidx, extra, n_rows, chunk, jobs, ranges)

    monkeypatch.setattr(of, "_run_rows", spy)
    pruned = of.pbo_cscv(s, q, n)
    monkeypatch.setattr(of, "_N_CANDIDATES", 10**9)  # no bound: both passes scan every row
    full = of.pbo_cscv(s, q, n)
    assert scanned[1] == 5000 and 0 < scanned[0] < 5000 - 1000, scanned
    assert pruned.pbo == full.pbo
    for name in ("logits", "is_best", "is_sharpe", "oos_sharpe", "oos_rank"):
        np.testing.assert_array_equal(getattr(pruned, name), getattr(full, name))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_rows=st.integers(2, 300),
    chunk=st.sampled_from([1, 3, 8]),
    jobs=st.integers(1, 3),
    n_floor=st.integers(0, 20),
)
def test_pbo_rows_in_bound_order_find_the_plain_scans_winners(seed, n_rows, chunk, jobs, n_floor):
    """Pass 1 with the rows in descending order of their bounds, dealt to threads in
    chunks that skip the halves they cannot win, finds the plain scan's best key and row on
    every half: ties (duplicate rows, integer returns) go to the lowest row even when a
    higher row is scanned first; and pass 2 in ascending order counts what the plain scan
    counts."""
    rng = np.random.default_rng(seed)
    r = rng.integers(-2, 3, size=(n_rows, 24)).astype(np.float64)
    dup = rng.integers(0, n_rows, size=(n_rows // 3, 2))
    r[dup[:, 1]] = r[dup[:, 0]]  # ties: the same row twice
    s, q, n = block_sums(r, 6)
    _, ha, hb, hidx, comp = of._halves(6)
    # the tightest cap a row can have (its largest key), raised on some rows: a chunk
    # skipped where it could win or tie changes the answer
    keys = np.array(
        [
            [ofnb.half_key_nb(s, q, n, i, int(a), int(b)) for a, b in zip(ha, hb, strict=True)]
            for i in range(n_rows)
        ]
    )
    raised = rng.integers(0, 2, n_rows).astype(bool)
    cap = keys.max(axis=1) + raised * rng.exponential(1.0, n_rows)
    rows = np.sort(rng.choice(n_rows, size=min(n_floor, n_rows), replace=False))
    plain = of._best_rows((s, q, n), None, ha, hb, hidx, chunk, 1)
    # a floor per half from some rows (all rows are scanned, so each floor is reached)
    floor = of._best_rows((s, q, n), rows, ha, hb, hidx, chunk, 1)[0] if rows.size else None
    fast = of._best_rows((s, q, n), None, ha, hb, hidx, chunk, jobs, cap, floor)
    np.testing.assert_array_equal(plain[0], fast[0])
    np.testing.assert_array_equal(plain[1], fast[1])
    thresh = plain[0][comp]
    # and on some halves a row's own cap: that row ties the threshold, its chunk must be seen
    for j in range(hidx.size):
        tight = np.flatnonzero((keys.argmax(axis=1) == j) & ~raised)
        if tight.size and rng.random() < 0.7:
            thresh[hidx[j]] = keys[tight[0], j]
    counts = ofnb.half_counts_nb(n, ha, hb)
    one = ofnb.cscv_rank_const_nb(
        s, q, ha, hb, hidx, counts, thresh, np.full(n_rows, np.inf), 0, n_rows, chunk
    )
    order, ranges = of._in_bound_order(np.arange(n_rows), cap, chunk, jobs, descending=False)
    got = of._run_rows(
        ofnb.cscv_rank_const_nb,
        (s[order], q[order]),
        ha,
        hb,
        hidx,
        (counts, thresh, np.ascontiguousarray(cap[order])),
        n_rows,
        chunk,
        jobs,
        ranges,
    )
    np.testing.assert_array_equal(one[0], sum(g[0] for g in got))
    np.testing.assert_array_equal(one[1], sum(g[1] for g in got))


def test_pbo_best_kernel_breaks_ties_by_row_id_and_skips_by_bound():
    """Rows scanned in any order: of two equal keys the lower id wins; a chunk whose caps
    lie below a half's floor is never the winner there (its keys are not computed)."""
    r = np.random.default_rng(2).normal(0.0, 0.01, size=(4, 24))
    r[3] = r[1]  # rows 1 and 3 are the same combination
    s, q, n = block_sums(r, 4)
    _, ha, hb, hidx, _ = of._halves(4)
    order = np.array([3, 2, 1, 0])  # row 3 comes first
    args = tuple(np.ascontiguousarray(a[order]) for a in (s, q, n))
    inf_cap, no_floor = np.full(4, np.inf), np.full(hidx.size, -np.inf)
    best, arg = ofnb.cscv_best_nb(*args, ha, hb, hidx, order, inf_cap, no_floor, 0, 4, 1)
    plain_best, plain_arg = ofnb.cscv_best_nb(
        s, q, n, ha, hb, hidx, np.arange(4), inf_cap, no_floor, 0, 4, 1
    )
    np.testing.assert_array_equal(best, plain_best)
    np.testing.assert_array_equal(order[arg], plain_arg)
    assert 1 in plain_arg and 3 not in plain_arg
    # caps below every floor: no chunk is evaluated, nothing found
    low_cap = np.full(4, -1e300)
    _, none = ofnb.cscv_best_nb(s, q, n, ha, hb, hidx, np.arange(4), low_cap, plain_best, 0, 4, 1)
    assert (none == -1).all()


def test_pbo_kernel_keys_agree_with_half_key():
    rng = np.random.default_rng(4)
    r = rng.normal(0.001, 0.01, size=(5, 80))
    s, q, n = block_sums(r, 8)
    _, ha, hb, hidx, _ = of._halves(8)
    ids, cap, floor = np.arange(5), np.full(5, np.inf), np.full(hidx.size, -np.inf)
    best, arg = ofnb.cscv_best_nb(s, q, n, ha, hb, hidx, ids, cap, floor, 0, 5, 4)
    for t, row in enumerate(arg):
        j = int(np.flatnonzero(hidx == t)[0])
        assert ofnb.half_key_nb(s, q, n, int(row), int(ha[j]), int(hb[j])) == best[t]
    k = ofnb.perf_key_nb(3.0, 10.0, 4.0)  # returns with sum 3, sum of squares 10, n 4
    m, var = 0.75, (10.0 - 4 * 0.75**2) / 3
    assert ofnb.key_to_sharpe_nb(k) == pytest.approx(m / math.sqrt(var), rel=1e-14)
    assert ofnb.perf_key_nb(0.0, 0.0, 10.0) == 0.0
    assert ofnb.perf_key_nb(0.5, 0.0625, 4.0) == math.inf  # four returns of 0.125
    assert ofnb.perf_key_nb(1.0, 1.0, 1.0) == 0.0


_NOJIT_SCRIPT = """
import json, sys, warnings
import numpy as np
from evbt.backtest import overfit as of
warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 of degenerate halves, then fixed up
data = json.loads(sys.stdin.read())
out = []
for case in data:
    res = of.pbo_cscv(*(np.array(case[k]) for k in ("s", "q", "n")))
    out.append({"logits": res.logits.tolist(), "best": res.is_best.tolist()})
print(json.dumps(out))
"""


def test_pbo_kernels_without_jit_agree_bit_for_bit():
    """The kernels run as plain Python under NUMBA_DISABLE_JIT=1 (so coverage sees their
    lines) and give the compiled answer exactly: sums are explicit loops in a fixed order."""
    rng = np.random.default_rng(17)
    cases = []
    for unequal in (False, True):
        r = rng.normal(0.0003, 0.01, size=(9, 60))
        r[2] = 0.0
        s, q, n = block_sums(r, 6)
        if unequal:
            n[4] -= 2.0
        cases.append({"s": s.tolist(), "q": q.tolist(), "n": n.tolist()})
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _NOJIT_SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for case, got in zip(cases, json.loads(proc.stdout), strict=True):
        res = of.pbo_cscv(*(np.array(case[k]) for k in ("s", "q", "n")))
        assert got["best"] == res.is_best.tolist()
        assert got["logits"] == res.logits.tolist()


def test_pbo_null_simulation_noise_is_flagged_and_skill_is_not():
    """Pure noise: the in-sample best is a coin flip out of sample, PBO ~ 0.5 (averaged
    over grids: one grid's PBO varies a lot, its splits share data). One combination
    with a real edge (daily Sharpe 0.25 among zero-mean noise): PBO ~ 0."""
    rng = np.random.default_rng(77)
    pbos = []
    for _ in range(6):
        r = rng.normal(0.0, 0.01, size=(60, 16 * 40))
        pbos.append(of.pbo_cscv(*block_sums(r, 16)).pbo)
    assert 0.35 < float(np.mean(pbos)) < 0.65
    r = rng.normal(0.0, 0.01, size=(60, 16 * 40))
    r[23] += 0.0025
    res = of.pbo_cscv(*block_sums(r, 16))
    assert res.n_splits == 12870
    assert res.pbo < 0.05
    assert np.mean(res.is_best == 23) > 0.9  # seeded: 0.926 (halves are short: 320 days)


def test_pbo_rejects_bad_input():
    s = np.zeros((4, 5))
    with pytest.raises(InputError, match="even number"):
        of.pbo_cscv(s, s, s)
    with pytest.raises(InputError, match="same"):
        of.pbo_cscv(np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((3, 4)))
    bad = np.zeros((4, 4))
    bad[2, 1] = np.nan
    with pytest.raises(InputError, match="combination 2, block 1"):
        of.pbo_cscv(bad, np.zeros((4, 4)), np.ones((4, 4)))
    with pytest.raises(InputError, match="at least 2"):
        of.pbo_cscv(np.zeros((1, 4)), np.zeros((1, 4)), np.ones((1, 4)))


# ---------------------------------------------------------------------------------------
# False discovery rate
# ---------------------------------------------------------------------------------------


def plain_fdr(p, q, by=False):
    """Step-up procedure written out: largest k with p_(k) <= k q / (m c(m))."""
    m = len(p)
    c = sum(1 / i for i in range(1, m + 1)) if by else 1.0
    order = sorted(range(m), key=lambda i: p[i])
    k_max = 0
    for k, i in enumerate(order, start=1):
        if p[i] <= k * q / (m * c):
            k_max = k
    out = [False] * m
    for i in order[:k_max]:
        out[i] = True
    return out


@pytest.mark.parametrize("method", ["bh", "by"])
def test_fdr_matches_the_step_up_procedure(method):
    rng = np.random.default_rng(8)
    for _ in range(20):
        p = np.concatenate([rng.uniform(0, 1, 80), rng.uniform(0, 0.003, 20)])
        got = of.fdr(p, method, q=0.05)
        assert got.tolist() == plain_fdr(p.tolist(), 0.05, by=method == "by")
    # hand case (Benjamini and Hochberg's step-up): m = 4, q = 0.05, thresholds
    # 0.0125, 0.025, 0.0375, 0.05 against sorted p 0.001, 0.02, 0.035, 0.06: the largest k
    # with p_(k) <= threshold is 3, so the three smallest are rejected
    p = np.array([0.035, 0.001, 0.06, 0.02])
    if method == "bh":
        assert of.fdr(p, "bh").tolist() == [True, True, False, True]


def test_fdr_nan_is_not_a_test_and_bad_method_gets_a_hint():
    p = np.array([0.001, np.nan, 0.02, np.nan])
    # m = 2 finite tests: thresholds 0.025, 0.05 -> both rejected; NaN never
    assert of.fdr(p, "bh").tolist() == [True, False, True, False]
    with pytest.raises(InputError, match="did you mean 'bh'"):
        of.fdr(p, "bhh")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        of.fdr([0.5, 1.5])


def test_fdr_null_simulation_noise_grid_has_almost_no_discoveries():
    """100 grids of 200 zero-edge strategies: a naive p < 0.05 'finds' about 5% of them,
    BH at q = 0.05 rejects nothing in at least ~95% of grids (under the global null BH
    controls the family-wise error at q; 90% leaves 3 binomial SEs), BY even less."""
    rng = np.random.default_rng(31)
    naive = bh_any = by_any = total = 0
    for _ in range(100):
        r = rng.normal(0.0, 0.01, size=(200, 500))
        _, _, sr, skew, kurt = of.sharpe_stats(*power_sums(r))
        p = of.psr_pvalue(sr, 500, skew, kurt)
        naive += int((p < 0.05).sum())
        total += p.size
        bh_any += bool(of.fdr(p, "bh").any())
        by_any += bool(of.fdr(p, "by").any())
    assert 0.035 < naive / total < 0.065
    assert bh_any <= 10
    assert by_any <= bh_any


def _sparse_event_grid(rng, n_combos, n_alt, effect, n_days=1667, account=10_000.0):
    """One simulated sweep of sparse event strategies: each combination trades 3 to 12
    events whose P&L is symmetric and fat-tailed (100 x Student t, 3 df: zero mean for the
    nulls, ``effect`` for the first ``n_alt``), and its daily returns are zero except two
    sessions per event, which carry half the event's P&L each (on an account of 10,000)
    over ``n_days`` sessions (the shape of issue 15's export-restrictions sweep: 12
    non-zero days out of 1,667). Returns the event p-values (the sweep's own
    ``event_stats``) and the PSR p-values of the daily series."""
    from evbt.backtest.sweep import event_stats

    k = rng.integers(3, 13, n_combos)
    pnl = rng.standard_t(3, (n_combos, 12)) * 100.0
    pnl[:n_alt] += effect
    live = np.arange(12)[None, :] < k[:, None]
    pnl = np.where(live, pnl, 0.0)
    ev = event_stats(k, pnl.sum(axis=1), (pnl**2).sum(axis=1))
    day = np.where(live, pnl / 2.0 / account, 0.0)  # each event's two days
    sums = [2.0 * (day**j).sum(axis=1) for j in (1, 2, 3, 4)]
    _, _, sr, skew, kurt = of.sharpe_stats(*sums, n_days - 1)
    return ev["event_p"], of.psr_pvalue(sr, n_days - 1, skew, kurt)


@pytest.mark.parametrize(("n_alt", "effect"), [(0, 0.0), (20, 150.0)])
def test_event_level_bh_controls_false_discoveries_on_sparse_event_strategies(n_alt, effect):
    """Regression (issue 15 item 5): a sparse event strategy's daily series is mostly
    structural zeros, and the PSR treats its 1,666 days as i.i.d. data. In 400 simulated
    sweeps of 100 combinations (fixed seed; zero-mean per-event P&L for the nulls), BH at
    q = 0.10 on the PSR p-values makes false discoveries in nearly every sweep, while BH
    on the per-event t-test (``event_p``, what ``event_bh_reject`` uses) keeps the
    false-discovery rate (mean share of discoveries that are null, 0 without discoveries)
    at or below q: under the global null that rate is the chance of any discovery; with 20
    true effects BH's bound is q x 80 / 100 = 0.08. The Monte Carlo standard error of each
    rate is below 0.015 (400 sweeps), and heavy symmetric tails make the t-test
    conservative, so a rate above q means the control is broken."""
    rng = np.random.default_rng(2026 + n_alt)
    q, n_combos = 0.10, 100
    fdp_event, fdp_psr = [], []
    for _ in range(400):
        p_ev, p_psr = _sparse_event_grid(rng, n_combos, n_alt, effect)
        null = np.arange(n_combos) >= n_alt
        for p, out in ((p_ev, fdp_event), (p_psr, fdp_psr)):
            rej = of.fdr(p, "bh", q=q)
            out.append((rej & null).sum() / max(int(rej.sum()), 1))
    fdr_event, fdr_psr = float(np.mean(fdp_event)), float(np.mean(fdp_psr))
    print(f"\nBH q={q}: false-discovery rate {fdr_event:.3f} on event_p, {fdr_psr:.3f} on PSR")
    assert fdr_event <= q
    assert fdr_psr > 2 * q  # the PSR on structural zeros is not a test of these strategies


# ---------------------------------------------------------------------------------------
# Walk-forward
# ---------------------------------------------------------------------------------------


def twin_walk_forward(ret, cnt, score="mean"):
    out = []
    n_rows, n_blocks = ret.shape
    for k in range(1, n_blocks):
        best, best_i = -math.inf, None
        for i in range(n_rows):
            r_is = sum(ret[i, :k])
            n_is = sum(cnt[i, :k])
            if n_is == 0:
                continue
            sc = r_is / n_is if score == "mean" else r_is
            if sc > best:
                best, best_i = sc, i
        oos = []
        for i in range(n_rows):
            if score == "mean":
                if cnt[i, k] > 0:
                    oos.append(ret[i, k] / cnt[i, k])
            else:
                oos.append(ret[i, k])
        if score == "mean":
            v = ret[best_i, k] / cnt[best_i, k] if cnt[best_i, k] > 0 else math.nan
        else:
            v = ret[best_i, k]
        if math.isnan(v):
            pct = math.nan
        else:
            pct = (sum(x < v for x in oos) + 0.5 * (sum(x == v for x in oos) - 1)) / (len(oos) - 1)
        out.append((k, best_i, best, v, pct))
    return out


@pytest.mark.parametrize("score", ["mean", "sum"])
def test_walk_forward_matches_plain_python_twin(score):
    rng = np.random.default_rng(12)
    cnt = rng.integers(0, 4, size=(40, 6)).astype(float)
    ret = np.round(rng.normal(0, 0.02, size=(40, 6)) * cnt, 3)  # rounded: real ties
    cnt[5] = 0.0
    ret[5] = 0.0  # never trades: excluded in sample
    got = of.walk_forward(ret, cnt, score=score)
    want = twin_walk_forward(ret, cnt, score)
    assert got["fold"].tolist() == [w[0] for w in want]
    assert got["is_combo"].tolist() == [w[1] for w in want]
    np.testing.assert_allclose(got["is_score"], [w[2] for w in want], rtol=1e-12)
    np.testing.assert_allclose(got["oos_score"], [w[3] for w in want], rtol=1e-12)
    np.testing.assert_allclose(got["oos_rank_pct"], [w[4] for w in want], rtol=1e-12)
    assert list(got.columns) == list(of.WF_COLUMNS)
    ids = np.arange(40) * 10 + 7
    mapped = of.walk_forward(ret, cnt, score=score, combo_ids=ids)
    assert mapped["is_combo"].tolist() == [w[1] * 10 + 7 for w in want]


def test_walk_forward_null_simulation_oos_rank_is_centred_is_inflated():
    """Noise trade returns (no combination better than another): the IS winner's score
    is far above the grid's IS median, its OOS score sits at the grid median: the mean
    OOS rank over 150 grids x 4 folds is 0.5 within 4 standard errors (uniform ranks:
    SE = sqrt(1/12 / 600) = 0.012)."""
    rng = np.random.default_rng(5)
    ranks, lift_is, lift_oos = [], [], []
    for _ in range(150):
        cnt = rng.integers(1, 6, size=(100, 5)).astype(float)
        ret = rng.normal(0.0, 0.03, size=(100, 5)) * np.sqrt(cnt)
        wf = of.walk_forward(ret, cnt)
        ranks.extend(wf["oos_rank_pct"].tolist())
        lift_is.extend((wf["is_score"] - wf["is_median"]).tolist())
        lift_oos.extend((wf["oos_score"] - wf["oos_median"]).tolist())
    assert abs(np.mean(ranks) - 0.5) < 4 * math.sqrt(1 / 12 / len(ranks))
    assert np.mean(lift_is) > 0.01  # the IS pick looks good ...
    assert abs(np.mean(lift_oos)) < 0.2 * np.mean(lift_is)  # ... and is ordinary OOS
    summary = of.walk_forward_summary(wf)
    assert summary["n_folds"] == 4
    assert summary["is_score"] == pytest.approx(wf["is_score"].mean())


def test_walk_forward_planted_edge_carries_forward():
    rng = np.random.default_rng(6)
    cnt = np.full((50, 5), 8.0)
    ret = rng.normal(0.0, 0.02, size=(50, 5)) * np.sqrt(8) + 0.0
    ret[31] += 8 * 0.03  # mean trade return 3% better
    wf = of.walk_forward(ret, cnt)
    assert wf["is_combo"].tolist() == [31, 31, 31, 31]
    assert (wf["oos_rank_pct"] > 0.9).all()


def test_walk_forward_fold_without_in_sample_trades():
    """No combination traded in the first event block: fold 1 has no IS choice (<NA> and
    NaN, never a made-up winner); fold 2 chooses on block 1."""
    cnt = np.array([[0.0, 2.0, 1.0], [0.0, 1.0, 3.0], [0.0, 0.0, 2.0]])
    ret = np.array([[0.0, 0.04, 0.01], [0.0, 0.05, 0.03], [0.0, 0.0, 0.02]])
    wf = of.walk_forward(ret, cnt)
    assert wf.loc[0, "is_combo"] is pd.NA and np.isnan(wf.loc[0, "is_score"])
    assert wf["is_combo"].dtype == "Int64"
    assert wf.loc[0, "n_is_combos"] == 0
    assert wf.loc[1, "is_combo"] == 1  # mean 0.05 beats 0.02; combo 2 never traded IS
    assert wf.loc[1, "oos_score"] == pytest.approx(0.01)
    assert wf.loc[1, "oos_rank_pct"] == 0.5  # 0.01 vs 0.01 (combo 0) and 0.01 (combo 2)


def test_walk_forward_bad_input():
    with pytest.raises(InputError, match="did you mean 'mean'"):
        of.walk_forward(np.zeros((3, 4)), np.ones((3, 4)), score="maen")
    with pytest.raises(InputError, match="same shape"):
        of.walk_forward(np.zeros((3, 4)), np.ones((3, 5)))


# ---------------------------------------------------------------------------------------
# summarize (contract C2)
# ---------------------------------------------------------------------------------------


def fake_sweep(n_rows=30, n_days=640, seed=1):
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.01, size=(n_rows, n_days))
    r[:, ::2] = 0.0
    r[4] += 0.003
    mean, std, sr, skew, kurt = of.sharpe_stats(*power_sums(r))
    total = pd.DataFrame(
        {
            "combo_id": np.arange(n_rows, dtype=np.int64) + 100,
            "hold": np.arange(n_rows) % 5 + 1,
            "scope": "total",
            "sharpe": of.annualize_sharpe(sr),
            "n_trades": 40,
            "n_obs": n_days,
            "skew": skew,
            "kurt": kurt,
        }
    )
    s, q, n = block_sums(r, 16)
    cnt = rng.integers(1, 5, size=(n_rows, 5)).astype(float)
    eb = rng.normal(0, 0.02, size=(n_rows, 5)) * cnt
    blocks = pd.DataFrame(
        {
            "combo_id": total["combo_id"].to_numpy()[::-1],  # another order: aligned by id
            "tb_sum": list(s[::-1]),
            "tb_sumsq": list(q[::-1]),
            "tb_n": list(n[::-1]),
            "eb_ret": list(eb[::-1]),
            "eb_n": list(cnt[::-1]),
        }
    )
    ticker_rows = total.assign(scope="NVDA")
    return (
        pd.concat([total, ticker_rows], ignore_index=True),
        blocks,
        (s, q, n, eb, cnt, sr, skew, kurt),
    )


def test_summarize_table_and_manifest_entry():
    parts, blocks, (s, q, n, eb, cnt, sr, skew, kurt) = fake_sweep()
    table, info = of.summarize(parts, blocks)
    assert list(table.columns) == ["combo_id", "hold", *of.SUMMARY_COLUMNS]
    assert len(table) == 30  # total scope only
    np.testing.assert_allclose(table["dsr"], of.deflated_sharpe(sr, 640, skew, kurt), rtol=1e-9)
    np.testing.assert_allclose(table["psr_pvalue"], of.psr_pvalue(sr, 640, skew, kurt), rtol=1e-9)
    assert table["bh_reject"].tolist() == of.fdr(table["psr_pvalue"], "bh").tolist()
    assert table["by_reject"].dtype == bool
    assert table.loc[table["combo_id"] == 104, "bh_reject"].item()
    assert info["n_trials"] == 30
    assert info["sr_var"] == pytest.approx(statistics.variance(sr.tolist()), rel=1e-9)
    assert info["pbo"] == of.pbo_cscv(s, q, n).pbo
    wf = of.walk_forward(eb, cnt, combo_ids=np.arange(30) + 100)
    assert [r["is_combo"] for r in info["walk_forward"]] == wf["is_combo"].tolist()
    assert set(info["walk_forward"][0]) == {
        "fold",
        "is_combo",
        "is_score",
        "oos_score",
        "oos_rank_pct",
    }
    json.dumps(info, allow_nan=False)  # manifest-ready
    # without block tables: the per-combination statistics only
    table2, info2 = of.summarize(parts, None, params=[])
    assert list(table2.columns) == ["combo_id", *of.SUMMARY_COLUMNS]
    assert info2["pbo"] is None and info2["walk_forward"] == []
    # a mapping of 2-D arrays in the row order of the total table works the same
    _, info3 = of.summarize(
        parts, {"tb_sum": s, "tb_sumsq": q, "tb_n": n, "eb_ret": eb, "eb_n": cnt}
    )
    assert info3["pbo"] == info["pbo"] and info3["walk_forward"] == info["walk_forward"]


def test_summarize_bases_event_fdr_on_event_p_and_warns_on_few_active_days():
    """BH/BY over ``event_p`` beside the PSR's own BH/BY; the manifest entry counts both,
    names the best combination's events and non-zero days, and warns in one line when that
    combination's PSR rests on fewer than FEW_ACTIVE_DAYS non-zero daily returns (issue
    15: 12 of 1,667 days, PSR p = 2.6e-4, while a t-test over its 6 events gives 0.055)."""
    total = pd.DataFrame(
        {
            "combo_id": [0, 1, 2, 3],
            "sharpe": [2.5, 0.3, -0.2, 0.1],
            "n_obs": [1666, 1666, 1666, 1666],
            "skew": [23.0, 0.1, 0.0, 0.2],
            "kurt": [597.0, 3.5, 3.0, 3.1],
            "n_events": [6, 40, 1, 30],
            "n_active_days": [12, 300, 2, 250],
            "event_p": [0.055, 0.001, np.nan, 0.3],
        }
    )
    table, info = of.summarize(total, params=[], q=0.05)
    assert table["event_bh_reject"].tolist() == of.fdr(total["event_p"], "bh", q=0.05).tolist()
    assert table["event_by_reject"].tolist() == of.fdr(total["event_p"], "by", q=0.05).tolist()
    assert table["event_bh_reject"].tolist() == [False, True, False, False]
    assert info["n_bh_events"] == 1 and info["n_bh_psr"] == int(table["bh_reject"].sum())
    assert (info["best_combo"], info["best_n_events"], info["best_n_active_days"]) == (0, 6, 12)
    (warn,) = info["warnings"]
    assert "12 non-zero daily returns" in warn and "6 events" in warn and "event_p" in warn
    json.dumps(info)  # JSON-ready
    total.loc[0, "n_active_days"] = of.FEW_ACTIVE_DAYS
    assert of.summarize(total, params=[])[1]["warnings"] == []


def test_summarize_reports_missing_columns():
    parts, blocks, _ = fake_sweep(n_rows=6)
    with pytest.raises(InputError, match="'kurt'"):
        of.summarize(parts.drop(columns="kurt"))
    with pytest.raises(InputError, match="lacks combo_id"):
        of.summarize(parts, blocks.iloc[1:])
    with pytest.raises(InputError, match="'eb_n'"):
        of.summarize(parts, blocks.drop(columns="eb_n"))
