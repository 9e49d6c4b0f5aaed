"""Overfitting controls for a parameter sweep: NumPy/SciPy functions, arrays in, arrays out.

A sweep that tries thousands of parameter combinations and keeps the best is a search, and
the best backtest of a search looks better than the strategy is. The statistics here say by
how much, from what the sweep already wrote (contract C2 of the sweep outputs):

- :func:`sharpe_stats` turns power sums of daily returns into mean, std, Sharpe ratio,
  skewness and kurtosis.
- :func:`psr` / :func:`psr_pvalue`: probabilistic Sharpe ratio (Bailey and Lopez de Prado
  2012), the confidence that the true Sharpe ratio exceeds a benchmark, given the sample
  length, skewness and kurtosis.
- :func:`deflated_sharpe`: the PSR against the Sharpe ratio the best of ``N`` worthless
  trials would show by luck (Bailey and Lopez de Prado 2014).
- :func:`pbo_cscv`: probability of backtest overfitting by combinatorially symmetric
  cross-validation (Bailey, Borwein, Lopez de Prado and Zhu 2017) for "pick the best
  Sharpe ratio of the grid".
- :func:`fdr`: Benjamini-Hochberg / Benjamini-Yekutieli false-discovery control, over the
  PSR p-values and over the per-event t-tests (``event_p``).
- :func:`walk_forward`: choose on earlier events, score on the next block of events.
- :func:`summarize`: all of the above for a sweep's tables, for ``sweep_summary.parquet``
  and the manifest's ``overfit`` entry.

Conventions (those of :mod:`evbt.backtest.metrics`): returns are daily (one per session,
flat days included as zeros), the risk-free rate is 0, standard deviations are sample ones
(``ddof=1``), and a Sharpe ratio is annualised by ``sqrt(252)``. PSR, DSR and PBO work on the
NON-annualised (daily) Sharpe ratio, as in the papers, where ``n`` is the number of daily
returns. SciPy is imported inside the functions that need it (start-up time of the CLI).

References:

- D. H. Bailey and M. Lopez de Prado (2012), "The Sharpe Ratio Efficient Frontier",
  Journal of Risk 15(2), 3-44 (the probabilistic Sharpe ratio ``PSR(SR*)``).
- D. H. Bailey and M. Lopez de Prado (2014), "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio
  Management 40(5), 94-107 (DSR, the expected maximum Sharpe ratio, a numerical example).
- D. H. Bailey, J. M. Borwein, M. Lopez de Prado and Q. J. Zhu (2017), "The Probability of
  Backtest Overfitting", Journal of Computational Finance 20(4), 39-69 (CSCV, PBO).
- Y. Benjamini and Y. Hochberg (1995), JRSS B 57(1), 289-300; Y. Benjamini and
  D. Yekutieli (2001), Annals of Statistics 29(4), 1165-1188.
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evbt.errors import InputError

PERIODS_PER_YEAR = 252
EULER_GAMMA = 0.5772156649015329
"""Euler-Mascheroni constant, the ``gamma`` of the expected maximum of ``N`` normals."""

# A population variance at or below this share of the mean square is rounding noise of the
# power-sum formula: the returns are constant (std 0, Sharpe NaN, as metrics.sample_std).
_VAR_REL_TOL = 1e-13

FDR_METHODS = ("bh", "by")
WF_SCORES = ("mean", "sum")
SUMMARY_COLUMNS = (
    "sharpe",
    "dsr",
    "psr_pvalue",
    "bh_reject",
    "by_reject",
    "event_bh_reject",
    "event_by_reject",
)
FEW_ACTIVE_DAYS = 30
"""Fewer non-zero daily returns than this, and a PSR p-value says little: the warning."""
"""Columns :func:`summarize` adds to ``sweep_summary.parquet`` (contract C2)."""


def _f64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# Sharpe ratio and its moments
# ---------------------------------------------------------------------------------------


def sharpe_stats(sum, sumsq, sum3, sum4, n):  # noqa: A002 (names of contract C2)
    """Mean, std, daily Sharpe ratio, skewness and kurtosis from power sums of returns.

    With ``S_k = sum(r_t ** k)`` over ``n`` daily returns and ``m = S_1 / n``:

    - ``mean = m``; ``std = sqrt((S_2 - S_1 m) / (n - 1))`` (sample, ``ddof=1``);
    - ``sharpe = mean / std`` (daily, risk-free 0; :func:`annualize_sharpe` for annual);
    - central moments ``mu_2 = S_2/n - m^2``, ``mu_3 = S_3/n - 3 m S_2/n + 2 m^3``,
      ``mu_4 = S_4/n - 4 m S_3/n + 6 m^2 S_2/n - 3 m^4``;
    - ``skew = mu_3 / mu_2^1.5`` and ``kurt = mu_4 / mu_2^2`` (NON-excess: 3 for a
      normal), the moment estimators ``gamma_3, gamma_4`` of Bailey and Lopez de Prado
      (2012, 2014) = ``scipy.stats.skew(r)`` and ``scipy.stats.kurtosis(r, fisher=False)``.

    Arguments broadcast (scalars or arrays). Degenerate inputs, no warning: ``n < 1`` gives
    all NaN; ``n < 2`` gives NaN std and Sharpe; constant returns (all zero: a combination
    that never trades) give ``std = 0`` and NaN Sharpe, skew and kurt, as
    :func:`evbt.backtest.metrics.sharpe` (a population variance below ``1e-13`` times the
    mean square is taken as 0: it is the rounding of the power-sum formula).

    Returns ``(mean, std, sharpe, skew, kurt)`` as float64 arrays (0-d for scalars).
    """
    s1, s2, s3, s4, nn = np.broadcast_arrays(
        _f64(sum), _f64(sumsq), _f64(sum3), _f64(sum4), _f64(n)
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = np.where(nn >= 1, s1 / nn, np.nan)
        m2 = np.where(nn >= 1, (s2 - s1 * mean) / nn, np.nan)
        flat = m2 <= _VAR_REL_TOL * np.where(nn >= 1, s2 / nn, np.nan)
        m2 = np.where(flat, 0.0, m2)
        var = np.where(nn >= 2, m2 * nn / (nn - 1.0), np.nan)
        std = np.sqrt(np.maximum(var, 0.0))
        std = np.where(np.isnan(var), np.nan, std)
        sharpe = np.where(std > 0, mean / std, np.nan)
        e2 = s2 / nn
        e3 = s3 / nn
        e4 = s4 / nn
        m3 = e3 - 3.0 * mean * e2 + 2.0 * mean**3
        m4 = e4 - 4.0 * mean * e3 + 6.0 * mean**2 * e2 - 3.0 * mean**4
        skew = np.where(m2 > 0, m3 / m2**1.5, np.nan)
        kurt = np.where(m2 > 0, m4 / m2**2, np.nan)
    return mean, std, sharpe, skew, kurt


def annualize_sharpe(sr, ppy: int = PERIODS_PER_YEAR):
    """Annual Sharpe ratio ``sr * sqrt(ppy)`` from a daily one (``ppy = 252``)."""
    return _f64(sr) * math.sqrt(ppy)


def deannualize_sharpe(sr, ppy: int = PERIODS_PER_YEAR):
    """Daily Sharpe ratio ``sr / sqrt(ppy)`` from an annual one (``ppy = 252``)."""
    return _f64(sr) / math.sqrt(ppy)


# ---------------------------------------------------------------------------------------
# PSR and DSR
# ---------------------------------------------------------------------------------------


def _psr_z(sr, n, skew, kurt, sr0):
    """``z = (SR - SR0) sqrt(n - 1) / sqrt(1 - gamma_3 SR + (gamma_4 - 1) / 4 SR^2)``."""
    sr, n, skew, kurt, sr0 = np.broadcast_arrays(
        _f64(sr), _f64(n), _f64(skew), _f64(kurt), _f64(sr0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        den = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
        z = (sr - sr0) * np.sqrt(n - 1.0) / np.sqrt(den)
    # den >= 0 for any distribution (Pearson: kurt >= 1 + skew^2); den <= 0 or n < 2 has
    # no standard error: NaN.
    return np.where((den > 0) & (n >= 2), z, np.nan)


def psr(sr, n, skew, kurt, sr0=0.0):
    """Probabilistic Sharpe ratio: the confidence that the true Sharpe ratio exceeds ``sr0``.

    ``PSR(SR0) = Phi[(SR - SR0) sqrt(n - 1) / sqrt(1 - gamma_3 SR + (gamma_4 - 1)/4 SR^2)]``
    (Bailey and Lopez de Prado 2012, "The Sharpe Ratio Efficient Frontier"), where ``SR``
    is the observed NON-annualised Sharpe ratio of ``n`` returns, ``gamma_3`` their
    skewness and ``gamma_4`` their (non-excess) kurtosis, and ``Phi`` the standard normal
    CDF. Arguments broadcast; NaN where undefined (NaN input, ``n < 2``).
    """
    from scipy.special import ndtr

    return ndtr(_psr_z(sr, n, skew, kurt, sr0))


def psr_pvalue(sr, n, skew, kurt, sr0=0.0):
    """One-sided p-value of ``H0: true SR <= sr0``: ``1 - psr(...)`` (computed as
    ``Phi(-z)``, accurate in the tail). The p-values that :func:`fdr` controls."""
    from scipy.special import ndtr

    return ndtr(-_psr_z(sr, n, skew, kurt, sr0))


def expected_max_sharpe(n_trials: float, sr_var: float) -> float:
    """The Sharpe ratio the best of ``N`` trials reaches by luck: DSR's benchmark ``SR0``.

    ``SR0 = sqrt(V[SR]) ((1 - gamma) Z^-1[1 - 1/N] + gamma Z^-1[1 - 1/(N e)])`` (Bailey and
    Lopez de Prado 2014; ``gamma`` the Euler-Mascheroni constant, ``Z^-1``
    the standard normal quantile): the expected maximum of ``N`` independent estimates
    with true Sharpe ratio 0 and variance ``V[SR]`` across trials. 0 for ``N = 1`` (no
    selection); NaN when ``V`` is NaN or negative.
    """
    from scipy.special import ndtri

    if not n_trials >= 1:
        raise InputError(f"n_trials={n_trials!r}: pass the number of trials, at least 1")
    if not sr_var >= 0:
        return math.nan
    if n_trials == 1:
        return 0.0
    z1 = float(ndtri(1.0 - 1.0 / n_trials))
    z2 = float(ndtri(1.0 - 1.0 / (n_trials * math.e)))
    return math.sqrt(sr_var) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def grid_trials(sr) -> tuple[int, float]:
    """``(N, V[SR])`` of a grid: the number of finite Sharpe ratios and their sample
    variance (``ddof=1``; NaN with fewer than 2). Every combination counts as a trial:
    neighbours in a grid are correlated, so ``N`` overstates the number of independent
    trials and the deflation errs on the strict side."""
    x = _f64(sr).ravel()
    x = x[np.isfinite(x)]
    var = float(np.var(x, ddof=1)) if x.size >= 2 else math.nan
    return int(x.size), var


def deflated_sharpe(sr, n, skew, kurt, *, n_trials=None, sr_var=None):
    """Deflated Sharpe ratio of each combination: ``PSR(SR0)`` with ``SR0`` the expected
    maximum Sharpe ratio of ``N`` worthless trials (:func:`expected_max_sharpe`).

    ``DSR = Phi[(SR - SR0) sqrt(n - 1) / sqrt(1 - gamma_3 SR + (gamma_4 - 1)/4 SR^2)]``
    (Bailey and Lopez de Prado 2014), all on the daily (non-annualised) Sharpe
    ratio. ``n_trials`` (N) and ``sr_var`` (V[SR], daily units) default to those of the grid
    itself, :func:`grid_trials` of ``sr``. A DSR above 0.95 says the Sharpe ratio is
    significant at 5% after accounting for the search; the DSR of the grid's best is the
    number to read. Returns a float64 array shaped like the broadcast inputs.
    """
    if n_trials is None or sr_var is None:
        n_grid, v_grid = grid_trials(sr)
        n_trials = n_grid if n_trials is None else n_trials
        sr_var = v_grid if sr_var is None else sr_var
    if n_trials < 1:
        return np.full(np.broadcast(_f64(sr), _f64(n)).shape, np.nan)
    sr0 = expected_max_sharpe(float(n_trials), float(sr_var))
    return psr(sr, n, skew, kurt, sr0=sr0)


# ---------------------------------------------------------------------------------------
# Probability of backtest overfitting (CSCV)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PBOResult:
    """What :func:`pbo_cscv` found; one entry per split in the per-split arrays.

    Split ``k`` trains on the half ``halves[k]`` (blocks, lexicographic order of
    ``itertools.combinations(range(S), S // 2)``) and tests on its complement.
    """

    pbo: float
    """Share of splits whose in-sample best ranks at or below the median out of sample."""
    logits: np.ndarray
    """``log(w / (1 - w))`` of the IS winner's relative OOS rank ``w`` (paper's lambda)."""
    n_splits: int
    n_combos: int
    is_best: np.ndarray
    """Row (combination index) of the in-sample best of each split."""
    is_sharpe: np.ndarray
    """Its daily Sharpe ratio in sample."""
    oos_sharpe: np.ndarray
    """Its daily Sharpe ratio out of sample."""
    oos_rank: np.ndarray
    """``w = rank / (N + 1)``, the rank (1 = worst, ties at their mid-rank) of its OOS Sharpe."""

    @property
    def prob_oos_loss(self) -> float:
        """Share of splits where the in-sample best has a negative OOS Sharpe ratio."""
        return float(np.mean(self.oos_sharpe < 0)) if self.n_splits else math.nan


_MAX_BLOCKS = 20


def _halves(n_blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Halves of ``range(n_blocks)`` in lexicographic order, their masks and complements.

    Returns ``(halves (P, H), ha, hb, hidx, comp)``: ``ha, hb, hidx`` sorted by mask for the
    kernels (A = blocks ``0..H-1``, B = ``H..S-1``), ``comp[t]`` the complement of half t.
    """
    h = n_blocks // 2
    halves = np.array(list(itertools.combinations(range(n_blocks), h)), dtype=np.int64)
    weights = np.int64(1) << np.arange(n_blocks, dtype=np.int64)
    full = (np.int64(1) << n_blocks) - 1
    code = (weights[halves]).sum(axis=1)
    by_code = np.argsort(code)
    comp = by_code[np.searchsorted(code, full ^ code, sorter=by_code)]
    a = code & ((1 << h) - 1)
    b = code >> h
    order = np.lexsort((b, a))
    return halves, a[order], b[order], order.astype(np.int64), comp


def _as_blocks(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise InputError(f"{name} has shape {arr.shape}: pass a 2-D array (combinations x blocks)")
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{name} has dtype {arr.dtype}: pass numbers")
    if arr.dtype not in (np.float64, np.int64):
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(
            f"{name} has a non-finite value at combination {bad[0]}, block {bad[1]}: "
            "block sums must be finite"
        )
    return np.ascontiguousarray(arr)


def _cores() -> int:
    """Cores this process may run on (the affinity mask, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _row_ranges(n_rows: int, n_jobs: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n_rows, n_jobs + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def _n_ranges(n_rows: int, chunk: int, jobs: int) -> int:
    """Threads for ``n_rows`` rows: at least 4 chunks each."""
    return max(1, min(jobs, n_rows // (4 * chunk)))


def _dealt(n_rows: int, chunk: int, n_ranges: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The chunks of ``0 .. n_rows - 1`` dealt in turn to ``n_ranges`` threads: ``(perm,
    ranges)``, ``perm`` the positions thread by thread, ``ranges`` each thread's rows in
    ``perm``. Rows sorted by their bound get threads of like work (a thread of only the
    rows with the largest bounds would scan alone at the end)."""
    starts = range(0, n_rows, chunk)
    perm: list[np.ndarray] = []
    ranges: list[tuple[int, int]] = []
    lo = 0
    for g in range(n_ranges):
        mine = [np.arange(c0, min(c0 + chunk, n_rows)) for c0 in starts[g::n_ranges]]
        if mine:
            perm.extend(mine)
            size = sum(x.size for x in mine)
            ranges.append((lo, lo + size))
            lo += size
    return np.concatenate(perm).astype(np.int64), ranges


def _run_rows(fn, arrays, ha, hb, hidx, extra, n_rows, chunk, jobs, ranges=None) -> list:
    """``fn`` over row ranges (``ranges``, else one per thread), one thread each (the
    kernels release the GIL), results in range order."""
    if ranges is None:
        ranges = _row_ranges(n_rows, _n_ranges(n_rows, chunk, jobs))
    if len(ranges) == 1:
        r0, r1 = ranges[0]
        return [fn(*arrays, ha, hb, hidx, *extra, r0, r1, chunk)]
    with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
        args = [(*arrays, ha, hb, hidx, *extra, r0, r1, chunk) for r0, r1 in ranges]
        futs = [pool.submit(fn, *a) for a in args]
        return [f.result() for f in futs]


def _in_bound_order(
    rows: np.ndarray, cap: np.ndarray, chunk: int, jobs: int, *, descending: bool
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """``rows`` sorted by ``cap`` (ties in row order), their chunks dealt to threads
    (:func:`_dealt`): the order and each thread's range of it."""
    key = -cap[rows] if descending else cap[rows]
    order = rows[np.argsort(key, kind="stable")]
    perm, ranges = _dealt(order.size, chunk, _n_ranges(order.size, chunk, jobs))
    return order[perm], ranges


def _best_rows(
    arrays, rows, ha, hb, hidx, chunk, jobs, cap=None, floor=None
) -> tuple[np.ndarray, np.ndarray]:
    """Pass 1 over ``rows`` (sorted; None = all): best key per half and its row.

    With ``cap`` (per row of ``arrays``: :func:`_upper_key` with its margin) and ``floor``
    (per half, a key that one of ``rows`` reaches), the rows are scanned in descending
    order of their caps and a chunk is evaluated only on the halves it could win
    (:func:`evbt.backtest.overfit_nb.cscv_best_nb`); the result is the same, ties to the
    lowest row included."""
    from evbt.backtest import overfit_nb as nb

    n_all = arrays[0].shape[0]
    ids = np.arange(n_all, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    ranges = None
    if floor is None:
        floor = np.full(hidx.size, -np.inf)
    if cap is None:
        cap_ids = np.full(ids.size, np.inf)
    else:
        ids, ranges = _in_bound_order(ids, cap, chunk, jobs, descending=True)
        cap_ids = np.ascontiguousarray(cap[ids])
    if rows is not None or cap is not None:
        arrays = tuple(np.ascontiguousarray(a[ids]) for a in arrays)
    best = np.full(hidx.size, -np.inf)
    arg = np.full(hidx.size, -1, dtype=np.int64)
    parts = _run_rows(
        nb.cscv_best_nb, arrays, ha, hb, hidx, (ids, cap_ids, floor), ids.size, chunk, jobs, ranges
    )
    for b_part, a_part in parts:  # positions in ``ids``: the lowest row wins ties
        a_id = np.where(a_part >= 0, ids[np.maximum(a_part, 0)], -1)
        take = (a_id >= 0) & ((arg < 0) | (b_part > best) | ((b_part == best) & (a_id < arg)))
        best = np.where(take, b_part, best)
        arg = np.where(take, a_id, arg)
    return best, arg


def _upper_key(s: np.ndarray, q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """An upper bound, per combination, of its key (``SR |SR|``) on ANY half.

    With ``h = S/2`` blocks in a half, ``T`` the sum of the ``h`` largest block sums,
    ``n_lo`` / ``n_hi`` the sums of the ``h`` smallest / largest counts, ``W`` the sum of
    the ``h`` smallest within-block sums of squares ``q_b - s_b^2 / n_b`` and ``Q`` the sum
    of the ``h`` largest ``q_b``: the sum over a half is ``<= T``, its count lies in
    ``[n_lo, n_hi]``, its sum of squared deviations is ``>= W`` (total = within + between)
    and ``<= Q`` (a within-block sum below ``1e-6 q_b`` is taken as 0, so the rounding of
    near-constant blocks cannot push the bound under a key). Hence ``SR <= (T / n_lo) sqrt((n_hi - 1) / W)`` when ``T > 0``, and
    ``SR <= (T / n_hi) / sqrt(Q / (n_lo - 1))`` when ``T <= 0`` (+inf when a half can have
    fewer than 2 returns or zero variance).
    """
    h = s.shape[1] // 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.sort(s, axis=1)[:, -h:].sum(axis=1)
        ns = np.sort(n, axis=1)
        n_lo = ns[:, :h].sum(axis=1)
        n_hi = ns[:, -h:].sum(axis=1)
        within = np.where(n > 0, q - s * s / np.where(n > 0, n, 1.0), 0.0)
        # a block whose within-sum is rounding noise counts as constant (a larger bound)
        within = np.where(within > 1e-6 * q, within, 0.0)
        w = np.sort(within, axis=1)[:, :h].sum(axis=1)
        big_q = np.sort(q, axis=1)[:, -h:].sum(axis=1)
        pos = (t / n_lo) * np.sqrt((n_hi - 1.0) / w)
        neg = (t / n_hi) / np.sqrt(big_q / (n_lo - 1.0))
        sr = np.where(t > 0, pos, neg)
        sr = np.where((n_lo < 2) | ~np.isfinite(sr), np.inf, sr)
    return sr * np.abs(sr)


_N_CANDIDATES = 1024


def _with_margin(ub: np.ndarray) -> np.ndarray:
    """The bound :func:`_upper_key` raised by a margin for rounding (the kernels' key and
    the bound are computed differently): ``1e-7`` of its size, upwards for a negative
    bound too."""
    return ub + np.abs(ub) * 1e-7 + 1e-300


def _cscv_best(s, q, n, ha, hb, hidx, chunk, jobs) -> tuple[np.ndarray, np.ndarray, Any]:
    """Pass 1 with pruning: the best row of every half, identical to a full pass, and the
    rows' upper bounds (:func:`_upper_key`; None when not computed).

    The ``_N_CANDIDATES`` rows with the best full-sample Sharpe ratio give, per half, a
    best key ``L_t``; a row whose upper bound is below ``min_t L_t`` can be the best (or
    tie the best) of no half, so only the other rows are scanned, in descending order of
    their bounds, each chunk only on the halves whose ``L_t`` and running best its largest
    bound reaches (S2, 2026-12-05: 42% of the chunk-halves of the rows kept).
    """
    n_rows = s.shape[0]
    arrays = (s, q, n)
    if n_rows <= 4 * _N_CANDIDATES:
        return (*_best_rows(arrays, None, ha, hb, hidx, chunk, jobs), None)
    ts, tq, tn = s.sum(axis=1), q.sum(axis=1), n.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tot = ts * np.abs(ts) * (tn - 1.0) / (tn * (tn * tq - ts * ts))
    tot = np.where(np.isfinite(tot), tot, -np.inf)  # only ranks candidates: any order is exact
    cand = np.sort(np.argpartition(-tot, _N_CANDIDATES)[:_N_CANDIDATES])
    best_c, _ = _best_rows(arrays, cand, ha, hb, hidx, chunk, jobs)
    floor = float(np.min(best_c))
    if not math.isfinite(floor):  # constant returns somewhere: no finite bound helps
        return (*_best_rows(arrays, None, ha, hb, hidx, chunk, jobs), None)
    ub = np.concatenate(
        [
            _upper_key(s[i : i + 65536], q[i : i + 65536], n[i : i + 65536])
            for i in range(0, n_rows, 65536)
        ]
    )  # by row chunks: its sorted copies stay small
    cap = _with_margin(ub)
    keep = ~(cap < floor)
    keep[cand] = True  # every floor below is reached by a scanned row
    rows = np.flatnonzero(keep)
    scan = None if rows.size > n_rows // 2 else rows
    return (*_best_rows(arrays, scan, ha, hb, hidx, chunk, jobs, cap, best_c), ub)


def _key_to_sharpe(k: np.ndarray) -> np.ndarray:
    """Daily Sharpe ratio ``sign(k) sqrt(|k|)`` from the kernels' key ``SR |SR|``."""
    return np.sign(k) * np.sqrt(np.abs(k))


def pbo_cscv(tb_sum, tb_sumsq, tb_n, *, n_jobs: int | None = None) -> PBOResult:
    """Probability of backtest overfitting of "pick the best Sharpe ratio" by CSCV.

    Bailey, Borwein, Lopez de Prado and Zhu (2017): split the ``S`` time blocks every way
    into two halves ``J`` (in sample) and ``J'`` (out of sample), ``C(S, S/2)`` splits
    (12,870 for ``S = 16``). In each split pick the combination ``n*`` with the best Sharpe
    ratio on ``J``, find the relative rank ``w = rank(R'[n*]) / (N + 1)`` of its Sharpe
    ratio on ``J'`` among all ``N`` combinations (1 = worst; ties at their mid-rank), and
    its logit ``lambda = log(w / (1 - w))``. ``PBO = #(lambda <= 0) / #splits``: the
    frequency with which the in-sample best is no better than the median out of sample.
    A pure-noise grid gives PBO near 0.5; a grid whose best is truly best, near 0.

    The performance of a combination on a set of blocks is its daily Sharpe ratio from the
    summed block sums (``sum / n`` over ``sqrt`` of the sample variance from
    ``sumsq``), so only ``(N, S)`` arrays are held; a set with zero variance (no trade in
    it) counts as Sharpe 0 (see :func:`evbt.backtest.overfit_nb.perf_key_nb`).

    Args:
        tb_sum, tb_sumsq, tb_n: arrays ``(N, S)``: per combination and time block, the sum
            and the sum of squares of its daily returns and their number. ``S`` even,
            ``2 <= S <= 20``; ``N >= 2``.
        n_jobs: threads (the kernels release the GIL); default: the machine's cores.

    Memory is the inputs plus ``O(S)`` per split; time is two passes of ``N x C(S, S/2)``
    evaluations (Numba kernels in :mod:`evbt.backtest.overfit_nb`).
    """
    from evbt.backtest import overfit_nb as nb

    s = _as_blocks(tb_sum, "tb_sum")
    q = _as_blocks(tb_sumsq, "tb_sumsq")
    n = _as_blocks(tb_n, "tb_n")
    if not (s.shape == q.shape == n.shape):
        raise InputError(
            f"tb_sum, tb_sumsq, tb_n have shapes {s.shape}, {q.shape}, {n.shape}: "
            "pass three arrays of the same (combinations x blocks) shape"
        )
    n_rows, n_blocks = s.shape
    if n_blocks % 2 or not 2 <= n_blocks <= _MAX_BLOCKS:
        raise InputError(
            f"CSCV needs an even number of time blocks from 2 to {_MAX_BLOCKS}; got {n_blocks}: "
            "set [sweep] blocks to an even number such as 16"
        )
    if n_rows < 2:
        raise InputError(f"CSCV needs at least 2 combinations; got {n_rows}: sweep a grid")
    if (n < 0).any():
        raise InputError("tb_n has a negative count: counts of returns must be >= 0")

    _, ha, hb, hidx, comp = _halves(n_blocks)
    n_half = hidx.size
    h = n_blocks // 2
    chunk = int(min(256, max(8, 65536 >> h)))  # 256 rows for S = 16: measured best
    jobs = int(n_jobs) if n_jobs is not None else _cores()
    best, arg, ub = _cscv_best(s, q, n, ha, hb, hidx, chunk, jobs)
    # thresh[u]: key, on test half u, of the winner of the training half comp[u]
    masks_a = np.empty(n_half, dtype=np.int64)
    masks_b = np.empty(n_half, dtype=np.int64)
    masks_a[hidx] = ha
    masks_b[hidx] = hb
    winner_of_test = arg[comp]
    thresh = nb.half_keys_nb(s, q, n, winner_of_test, masks_a, masks_b)
    less = np.zeros(n_half, dtype=np.int64)
    equal = np.zeros(n_half, dtype=np.int64)
    # pass 2 with pruning: a row whose bound is below every threshold has a key below
    # each one (strictly: never equal), so it is counted in ``less`` without a scan
    # (46% of S2's 101,376 rows, 2026-12-04); the rest are scanned in ascending order of
    # their bounds, and a chunk whose largest bound is below a half's threshold counts as
    # below it without keys (S2, 2026-12-05: 63% of the chunk-halves evaluated)
    rs, rq, rn, n_scan = s, q, n, n_rows
    rest_cap, ranges = np.full(n_rows, np.inf), None
    if ub is not None:
        cap = _with_margin(ub)
        below = cap < float(np.min(thresh))
        less += int(np.count_nonzero(below))
        rest, ranges = _in_bound_order(np.flatnonzero(~below), cap, chunk, jobs, descending=False)
        rs, rq, rn = (np.ascontiguousarray(a[rest]) for a in (s, q, n))
        rest_cap = np.ascontiguousarray(cap[rest])
        n_scan = rest.size
    if n_scan == 0:
        parts = []
    elif (rn == rn[0]).all():  # same counts on every row: the lighter kernel, same keys
        counts = nb.half_counts_nb(rn, ha, hb)
        parts = _run_rows(
            nb.cscv_rank_const_nb,
            (rs, rq),
            ha,
            hb,
            hidx,
            (counts, thresh, rest_cap),
            n_scan,
            chunk,
            jobs,
            ranges,
        )
    else:
        parts = _run_rows(
            nb.cscv_rank_nb,
            (rs, rq, rn),
            ha,
            hb,
            hidx,
            (thresh, rest_cap),
            n_scan,
            chunk,
            jobs,
            ranges,
        )
    for lt, eq in parts:
        less += lt
        equal += eq

    test = comp  # split t trains on half t and tests on comp[t]
    rank = less[test] + (equal[test] + 1) / 2.0
    w = rank / (n_rows + 1.0)
    logits = np.log(w / (1.0 - w))
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        n_splits=int(n_half),
        n_combos=int(n_rows),
        is_best=arg.copy(),
        is_sharpe=_key_to_sharpe(best),
        oos_sharpe=_key_to_sharpe(thresh[test]),
        oos_rank=w,
    )


# ---------------------------------------------------------------------------------------
# False discovery rate
# ---------------------------------------------------------------------------------------


def fdr(pvalues, method: str = "bh", *, q: float = 0.05) -> np.ndarray:
    """Reject mask of false-discovery-rate control at level ``q`` over ``pvalues``.

    ``"bh"`` Benjamini-Hochberg (1995): with the ``m`` p-values sorted, ``p_(1) <= ... <=
    p_(m)``, reject the ``k`` smallest for the largest ``k`` with ``p_(k) <= k q / m``
    (FDR <= q for independent or positively dependent tests). ``"by"``
    Benjamini-Yekutieli (2001): the same with ``q / c(m)``, ``c(m) = sum_{i<=m} 1/i``,
    valid under any dependence (neighbouring grid combinations are strongly dependent).
    The adjusted p-values are those of ``scipy.stats.false_discovery_control`` (the same
    operations in NumPy, :func:`_fdr_adjusted`: importing scipy.stats costs 0.6 s); reject
    where ``<= q``. NaN p-values (a combination without a Sharpe ratio) are not tests:
    they are never rejected and do not count in ``m``. Returns a bool array shaped like
    ``pvalues``.
    """
    if method not in FDR_METHODS:
        near = difflib.get_close_matches(str(method), FDR_METHODS, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise InputError(f"fdr method {method!r} is unknown: {hint}use one of {FDR_METHODS}")
    if not 0 < q < 1:
        raise InputError(f"fdr level q={q!r}: pass a level between 0 and 1, e.g. 0.05")
    p = _f64(pvalues)
    finite = ~np.isnan(p)
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise InputError("fdr: p-values must lie in [0, 1]")
    out = np.zeros(p.shape, dtype=bool)
    if finite.any():
        out[finite] = _fdr_adjusted(p[finite], method) <= q
    return out


def _fdr_adjusted(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values of 1-D ``p``, operation for operation as
    ``scipy.stats.false_discovery_control(p, method=method)``: a sorted step-up."""
    m = p.shape[0]
    if m <= 1:
        return p
    order = np.argsort(p, kind="stable")
    ps = p[order]
    i = np.arange(1, m + 1, dtype=ps.dtype)
    ps *= m / i
    if method == "by":
        ps *= np.sum(1 / i)
    np.minimum.accumulate(ps[::-1], out=ps[::-1])
    adj = np.empty_like(ps)
    adj[order] = ps
    return np.clip(adj, 0.0, 1.0)


# ---------------------------------------------------------------------------------------
# Walk-forward over event blocks
# ---------------------------------------------------------------------------------------

WF_COLUMNS = (
    "fold",
    "is_combo",
    "is_score",
    "oos_score",
    "oos_rank_pct",
    "is_n_trades",
    "oos_n_trades",
    "is_median",
    "oos_median",
    "n_is_combos",
    "n_oos_combos",
)


def walk_forward(eb_ret, eb_n, *, score: str = "mean", combo_ids=None) -> pd.DataFrame:
    """Anchored walk-forward over event blocks: choose on earlier events, score on the next.

    ``eb_ret``, ``eb_n`` are ``(N, W)``: per combination, the sum of trade returns and the
    number of trades in each of ``W`` event blocks, in time order. For fold ``k = 1 .. W-1``
    the in-sample (IS) score of a combination over blocks ``0 .. k-1`` is, with
    ``score="mean"``, its mean trade return ``sum(eb_ret) / sum(eb_n)``, or with
    ``score="sum"`` its summed trade return; combinations with no IS trade are left out
    (they cannot be chosen). The IS winner (first row on ties) is scored on block ``k``
    out of sample (OOS): ``eb_ret[k] / eb_n[k]`` (NaN when it has no trade there: no
    rank), or ``eb_ret[k]`` (0 without a trade) for ``"sum"``. A fold where no
    combination has an IS trade has ``is_combo`` <NA> (None for non-integer ids), NaN scores.

    Columns: ``fold``, ``is_combo`` (the winner's row, or its ``combo_ids`` entry),
    ``is_score``, ``oos_score``; ``oos_rank_pct``: the share of the other combinations
    with an OOS score that the winner beats (ties count half), 0 = worst, 1 = best, NaN
    without an OOS score (about 0.5 when the IS choice carries no information);
    ``is_n_trades``, ``oos_n_trades`` (the winner's), ``is_median``, ``oos_median``
    (medians of the grid's scores) and ``n_is_combos``, ``n_oos_combos`` (how many
    combinations have a score). See :func:`walk_forward_summary` for the means over folds.
    """
    if score not in WF_SCORES:
        near = difflib.get_close_matches(str(score), WF_SCORES, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise InputError(f"walk-forward score {score!r} is unknown: {hint}use one of {WF_SCORES}")
    ret = _f64(eb_ret)
    cnt = _f64(eb_n)
    if ret.ndim != 2 or ret.shape != cnt.shape:
        raise InputError(
            f"eb_ret, eb_n have shapes {ret.shape}, {cnt.shape}: pass two (combinations x "
            "event blocks) arrays of the same shape"
        )
    if not (np.isfinite(ret).all() and np.isfinite(cnt).all()) or (cnt < 0).any():
        raise InputError("eb_ret, eb_n must be finite and eb_n >= 0")
    n_rows, n_blocks = ret.shape
    ids = np.arange(n_rows) if combo_ids is None else np.asarray(combo_ids)
    if ids.shape != (n_rows,):
        raise InputError(f"combo_ids has {ids.size} entries for {n_rows} combinations")
    cum_ret = np.cumsum(ret, axis=1)
    cum_n = np.cumsum(cnt, axis=1)
    rows = []
    for k in range(1, n_blocks):
        is_ret, is_n = cum_ret[:, k - 1], cum_n[:, k - 1]
        oos_ret, oos_n = ret[:, k], cnt[:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            if score == "mean":
                is_sc = np.where(is_n > 0, is_ret / np.where(is_n > 0, is_n, 1.0), np.nan)
                oos_sc = np.where(oos_n > 0, oos_ret / np.where(oos_n > 0, oos_n, 1.0), np.nan)
            else:
                is_sc = np.where(is_n > 0, is_ret, np.nan)
                oos_sc = oos_ret.copy()
        have_is = ~np.isnan(is_sc)
        have_oos = ~np.isnan(oos_sc)
        rec: dict[str, Any] = {"fold": k}
        if not have_is.any():
            rec.update(
                is_combo=None, is_score=np.nan, oos_score=np.nan, oos_rank_pct=np.nan,
                is_n_trades=0, oos_n_trades=0, is_median=np.nan,
                oos_median=float(np.median(oos_sc[have_oos])) if have_oos.any() else np.nan,
                n_is_combos=0, n_oos_combos=int(have_oos.sum()),
            )  # fmt: skip
            rows.append(rec)
            continue
        win = int(np.argmax(np.where(have_is, is_sc, -np.inf)))
        v = oos_sc[win]
        others = oos_sc[have_oos]
        n_oos = int(have_oos.sum())
        if np.isnan(v) or n_oos < 2:
            pct = np.nan
        else:
            below = float(np.sum(others < v))
            ties = float(np.sum(others == v)) - 1.0  # the winner itself
            pct = (below + 0.5 * ties) / (n_oos - 1)
        rec.update(
            is_combo=ids[win].item(),
            is_score=float(is_sc[win]),
            oos_score=float(v),
            oos_rank_pct=pct,
            is_n_trades=int(is_n[win]),
            oos_n_trades=int(oos_n[win]),
            is_median=float(np.median(is_sc[have_is])),
            oos_median=float(np.median(others)) if n_oos else np.nan,
            n_is_combos=int(have_is.sum()),
            n_oos_combos=n_oos,
        )
        rows.append(rec)
    frame = pd.DataFrame(rows, columns=list(WF_COLUMNS))
    if ids.dtype.kind in "iu":  # integer ids stay integers; a fold without a choice is <NA>
        frame["is_combo"] = frame["is_combo"].astype("Int64")
    return frame.astype(
        {"fold": np.int64, "is_score": np.float64, "oos_score": np.float64,
         "oos_rank_pct": np.float64, "is_n_trades": np.int64, "oos_n_trades": np.int64,
         "is_median": np.float64, "oos_median": np.float64, "n_is_combos": np.int64,
         "n_oos_combos": np.int64}
    )  # fmt: skip


def walk_forward_summary(frame: pd.DataFrame) -> dict[str, float | int]:
    """In-sample vs out-of-sample side by side: the means over folds of :func:`walk_forward`'s
    ``is_score``, ``oos_score``, ``oos_rank_pct`` and of the grid medians (NaN skipped).

    An IS mean far above the OOS mean, with an OOS rank near 0.5, is the signature of a
    choice that does not carry forward."""
    out: dict[str, float | int] = {"n_folds": int(len(frame))}
    for col in ("is_score", "oos_score", "oos_rank_pct", "is_median", "oos_median"):
        vals = frame[col].to_numpy(dtype=np.float64) if len(frame) else np.empty(0)
        vals = vals[~np.isnan(vals)]
        out[col] = float(vals.mean()) if vals.size else math.nan
    return out


# ---------------------------------------------------------------------------------------
# One call for a sweep
# ---------------------------------------------------------------------------------------


def _stack(col: Any, name: str, n_rows: int) -> np.ndarray:
    """A list column (or a 2-D array) as a 2-D float array with one row per combination."""
    if isinstance(col, pd.Series):
        values = col.to_numpy()
        if values.dtype == object:
            try:
                arr = np.stack([np.asarray(v, dtype=np.float64) for v in values])
            except ValueError:
                raise InputError(
                    f"blocks column {name!r} has lists of unequal length: every row needs "
                    "the same number of blocks"
                ) from None
        else:
            arr = np.asarray(values, dtype=np.float64)
    else:
        arr = np.asarray(col, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise InputError(
            f"blocks column {name!r} has shape {arr.shape}: pass one list of blocks per "
            f"combination ({n_rows} rows)"
        )
    return arr


def _json_id(x: Any) -> Any:
    """A combination id as a plain Python value (numpy scalars are not JSON)."""
    return x.item() if isinstance(x, np.generic) else x


def _json_float(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def summarize(
    total: pd.DataFrame,
    blocks: pd.DataFrame | Mapping[str, Any] | None = None,
    *,
    params: Sequence[str] | None = None,
    q: float = 0.05,
    score: str = "mean",
    ppy: int = PERIODS_PER_YEAR,
    n_jobs: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The overfitting table and manifest entry of a sweep (contract C2).

    Args:
        total: one row per combination, total scope (rows with ``scope != "total"`` are
            dropped when there is a ``scope`` column), with ``combo_id``, ``sharpe``
            (ANNUALISED, as in the part files), ``n_obs``, ``skew``, ``kurt`` (non-excess).
        blocks: the ``sweep/blocks`` table (``combo_id``, ``tb_sum``, ``tb_sumsq``,
            ``tb_n``, ``eb_ret``, ``eb_n`` as list columns), or a mapping of those names
            to 2-D arrays in the row order of ``total``; None skips PBO and walk-forward.
        params: columns of ``total`` to carry into the table (default: every column that
            is not a C2 metric).
        q: false-discovery level. score: walk-forward score (:func:`walk_forward`).

    Returns ``(table, info)``. ``table``: ``combo_id``, the parameters, ``sharpe``
    (annualised), ``dsr``, ``psr_pvalue`` (one-sided, ``H0: SR <= 0``), ``bh_reject``,
    ``by_reject`` (over the PSR p-values), ``event_bh_reject``, ``event_by_reject`` (over
    ``total["event_p"]``, the one-sided t-test on per-event P&L of
    :func:`evbt.backtest.sweep.event_stats`; all False without that column: a sparse
    event strategy's daily series is mostly structural zeros, and its effective sample is
    its events, not its sessions). ``info`` (JSON-ready, NaN as None): the discovery
    counts ``n_bh_events``, ``n_by_events``, ``n_bh_psr``, ``n_by_psr``, the best-Sharpe
    combination's ``best_combo``, ``best_n_events``, ``best_n_active_days``, ``warnings``
    (one line when that combination has fewer than ``FEW_ACTIVE_DAYS`` non-zero daily
    returns), ``pbo``, ``n_trials``, ``sr_var``
    (variance across trials of the DAILY Sharpe ratio), ``walk_forward`` (records of
    ``fold, is_combo, is_score, oos_score, oos_rank_pct``), and ``sr0`` (the daily DSR
    hurdle), ``sr0_annual``, ``fdr_q``, ``pbo_n_splits``, ``pbo_prob_oos_loss``,
    ``walk_forward_mean`` (:func:`walk_forward_summary`).
    """
    need = ("combo_id", "sharpe", "n_obs", "skew", "kurt")
    if not isinstance(total, pd.DataFrame):
        raise InputError(f"total is a {type(total).__name__}: pass the total-scope DataFrame")
    for col in need:
        if col not in total.columns:
            raise InputError(f"the sweep table has no column {col!r}: it needs {list(need)}")
    tot = total
    if "scope" in tot.columns:
        tot = tot[tot["scope"] == "total"]
    tot = tot.reset_index(drop=True)
    if params is None:
        params = [c for c in tot.columns if c not in _C2_METRICS and c != "combo_id"]
    sr_ann = tot["sharpe"].to_numpy(dtype=np.float64)
    sr = deannualize_sharpe(sr_ann, ppy)
    n_obs = tot["n_obs"].to_numpy(dtype=np.float64)
    skew = tot["skew"].to_numpy(dtype=np.float64)
    kurt = tot["kurt"].to_numpy(dtype=np.float64)
    n_trials, sr_var = grid_trials(sr)
    dsr = (
        deflated_sharpe(sr, n_obs, skew, kurt, n_trials=n_trials, sr_var=sr_var)
        if n_trials
        else np.full(sr.shape, np.nan)
    )
    pval = psr_pvalue(sr, n_obs, skew, kurt)
    table = tot[["combo_id", *params]].copy()
    table["sharpe"] = sr_ann
    table["dsr"] = dsr
    table["psr_pvalue"] = pval
    table["bh_reject"] = fdr(pval, "bh", q=q)
    table["by_reject"] = fdr(pval, "by", q=q)
    # event-level significance: BH/BY over the per-event t-tests (NaN p: not a test)
    ev_p = (
        tot["event_p"].to_numpy(dtype=np.float64)
        if "event_p" in tot.columns
        else np.full(len(tot), np.nan)
    )
    table["event_bh_reject"] = fdr(ev_p, "bh", q=q)
    table["event_by_reject"] = fdr(ev_p, "by", q=q)
    sr0 = expected_max_sharpe(n_trials, sr_var) if n_trials else math.nan

    info: dict[str, Any] = {
        "pbo": None,
        "n_trials": int(n_trials),
        "sr_var": _json_float(sr_var),
        "walk_forward": [],
        "sr0": _json_float(sr0),
        "sr0_annual": _json_float(sr0 * math.sqrt(ppy)),
        "fdr_q": float(q),
        "pbo_n_splits": 0,
        "pbo_prob_oos_loss": None,
        "walk_forward_mean": None,
        **_event_info(tot, table, sr_ann),
    }
    if blocks is None:
        return table, info

    ids = tot["combo_id"].to_numpy()
    cols: Mapping[str, Any]
    if isinstance(blocks, pd.DataFrame):
        frame: pd.DataFrame = blocks
        if "combo_id" in frame.columns:
            pos = pd.Index(frame["combo_id"].to_numpy()).get_indexer(ids)
            if (pos < 0).any():
                raise InputError(
                    f"the blocks table lacks combo_id {ids[pos < 0][0]!r} of the sweep table: "
                    "rerun the sweep (its blocks part is incomplete)"
                )
            frame = frame.iloc[pos].reset_index(drop=True)
        cols = {c: frame[c] for c in frame.columns}
    else:
        cols = blocks
    arrays = {}
    for name in ("tb_sum", "tb_sumsq", "tb_n", "eb_ret", "eb_n"):
        if name not in cols:
            raise InputError(f"the blocks table has no column {name!r}: rerun the sweep")
        arrays[name] = _stack(cols[name], name, len(ids))
    if len(ids) >= 2:
        res = pbo_cscv(arrays["tb_sum"], arrays["tb_sumsq"], arrays["tb_n"], n_jobs=n_jobs)
        info["pbo"] = res.pbo
        info["pbo_n_splits"] = res.n_splits
        info["pbo_prob_oos_loss"] = _json_float(res.prob_oos_loss)
    wf = walk_forward(arrays["eb_ret"], arrays["eb_n"], score=score, combo_ids=ids)
    info["walk_forward"] = [
        {
            "fold": int(r.fold),
            "is_combo": None if pd.isna(r.is_combo) else _json_id(r.is_combo),
            "is_score": _json_float(r.is_score),
            "oos_score": _json_float(r.oos_score),
            "oos_rank_pct": _json_float(r.oos_rank_pct),
        }
        for r in wf.itertuples(index=False)
    ]
    info["walk_forward_mean"] = {
        k: (_json_float(v) if isinstance(v, float) else v)
        for k, v in walk_forward_summary(wf).items()
    }
    return table, info


def _event_info(tot: pd.DataFrame, table: pd.DataFrame, sr_ann: np.ndarray) -> dict[str, Any]:
    """The manifest's word on event-level significance: discoveries by BH/BY over the
    events and over the PSR, the events and non-zero days of the combination with the best
    Sharpe ratio, and a warning line when its PSR rests on fewer than ``FEW_ACTIVE_DAYS``
    non-zero daily returns."""
    out: dict[str, Any] = {
        "n_bh_psr": int(table["bh_reject"].sum()),
        "n_by_psr": int(table["by_reject"].sum()),
        "n_bh_events": int(table["event_bh_reject"].sum()),
        "n_by_events": int(table["event_by_reject"].sum()),
        "best_combo": None,
        "best_n_events": None,
        "best_n_active_days": None,
        "warnings": [],
    }
    if not np.isfinite(sr_ann).any():
        return out
    b = int(np.nanargmax(sr_ann))
    out["best_combo"] = _json_id(tot["combo_id"].iloc[b])
    for col, key in (("n_events", "best_n_events"), ("n_active_days", "best_n_active_days")):
        if col in tot.columns:
            out[key] = int(tot[col].iloc[b])
    nz = out["best_n_active_days"]
    if nz is not None and nz < FEW_ACTIVE_DAYS:
        p = table["psr_pvalue"].iloc[b]
        ne = out["best_n_events"]
        out["warnings"].append(
            f"the best combination ({out['best_combo']}) has {nz} non-zero daily returns "
            f"(< {FEW_ACTIVE_DAYS}) over {ne} events: its PSR p-value ({p:.2g}) treats "
            f"{int(tot['n_obs'].iloc[b])} mostly zero days as independent data; read "
            "event_p (a t-test over its events) and event_bh_reject instead"
        )
    return out


_C2_METRICS = frozenset(
    (
        "scope", "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
        "calmar", "hit_rate", "profit_factor", "avg_trade", "exposure", "n_trades",
        "n_skipped", "n_obs", "skew", "kurt", "n_active_days", "n_events", "event_pnl_mean",
        "event_pnl_sd", "event_t", "event_p",
    )
)  # fmt: skip
"""Columns of a C2 part file that are metrics, not swept parameters."""
