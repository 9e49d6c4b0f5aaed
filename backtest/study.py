"""Event-study statistics: the pandas face of :mod:`backtest.study_nb`.

:func:`run_study` checks and aligns the inputs, calls the kernels (through
:func:`study_arrays`, the array-level entry that simulations call directly) and puts the
labels back. The method, stated once:

Abnormal returns
    Day 0 is the event's reaction session; the event window is relative sessions
    ``[lo, hi]`` (``window=(lo, hi)``, ``lo <= 0 <= hi``). The normal-return model is fitted
    on the ``estimation`` sessions ``[lo - gap - estimation, lo - gap - 1]``, so exactly
    ``gap`` sessions separate it from the event window. Estimation sessions that lie in
    the event window of an earlier event row of the same ticker are left out of the fit
    (event-study practice: an event window is not a normal return), so the effective
    estimation window can be shorter than ``estimation``; ``events.n_est_excl`` counts the
    sessions left out, and a row with fewer than ``MIN_EST_OBS`` valid estimation returns
    left is skipped with that reason. Only the event rows given to the study count (the
    events a run studies; pre-earnings: the ticker's past reports).

    - ``"market_model"``: OLS ``R = alpha + beta Rm + e`` on the estimation window,
      ``AR_t = R_t - alpha - beta Rm_t`` (MacKinlay 1997).
    - ``"market_adjusted"``: ``AR_t = R_t - Rm_t`` (Brown & Warner 1985); the estimation
      window still gives the AR variance for the standardized tests.

    ``CAR = sum of AR`` over a CAR window, ``CAAR = mean CAR`` over a group's event rows,
    ``AAR`` (a one-day CAAR) is the ``[t,t]`` window.

Tests (two-sided p-values; formulas in :func:`backtest.study_nb.group_tests_nb`)
    cross-sectional t (Brown & Warner 1985), Patell Z (Patell 1976) with the forecast-error
    correction extended to multi-day CARs (Mikkelson & Partch 1988), BMP (Boehmer,
    Musumeci & Poulsen 1991), Corrado rank (Corrado 1989; Corrado & Zivney 1992 ranks;
    multi-day form of Campbell & Wasley 1993, as used by Cowan 1992), generalized sign
    (Cowan 1992). The t, Patell and BMP tests assume independent event rows; rows that
    share a day 0 on correlated tickers are not. The Kolari & Pynnonen (2010) adjustment
    (:func:`backtest.study_nb.shared_date_rbar_nb`) scales BMP by
    ``sqrt((1 - r) / (1 + (N - 1) r))`` and Patell by ``1 / sqrt(1 + (N - 1) r)``, with
    ``r = rbar_kp = max(rbar, 0)`` and ``rbar`` the mean cross-correlation of
    estimation-window abnormal returns over all ``N (N - 1)`` ordered pairs of rows (pairs
    with different day-0 sessions count as 0). The adjustment corrects for positive
    correlation only: a negative estimate (noise, or a benchmark that holds the studied
    tickers) would inflate the statistics, so it is floored at 0 and ``rbar`` reports the
    raw estimate. When a group has rows that share a day 0 and ``rbar > 0`` its
    ``headline`` test is ``bmp_kp``, else ``bmp``; ``p_headline`` is its p-value. Pairs
    whose windows overlap without the same day 0 are not adjusted for.
    The bootstrap and the placebo move whole events, so they allow for it too.

Groups with fewer than two distinct events
    have no bootstrap interval (resampling one event always gives it back: a zero-width
    interval that means nothing): ``boot_lo``/``boot_hi`` are NaN and ``note`` says why.
    The placebo still runs: it moves the event to random non-event sessions, which is a
    test of one event against its tickers' own history.

Bootstrap
    Percentile 95% interval of the CAAR from ``bootstrap`` resamples of the group's
    events (event_id clusters) drawn with replacement.

Placebo
    Each of ``placebo`` draws moves every event to a random session (one session per
    event_id, shared by its tickers) that has a full estimation + event window, would not
    be skipped, and whose event window does not intersect the event window of any real
    event of those tickers; the CAAR is recomputed, and ``placebo_p`` is the equal-tailed
    two-sided empirical p-value with the +1 correction.

Reported, not dropped
    ``overlap``: another event of the same ticker has an intersecting event window.
    ``thin``: fewer than ``THIN_MIN_OBS`` valid estimation returns, or any missing
    (sessions left out for earlier event windows are not missing).
    Skipped (listed in ``.skipped`` and counted in ``summary.n_skipped``): the window runs
    outside the data, a return is missing inside the event window, fewer than
    ``MIN_EST_OBS`` valid estimation returns, or a degenerate fit.
    ``events.est_overlap`` (not in the summary) marks rows whose estimation window holds
    another event window of the same ticker (those sessions are left out of the fit;
    ``events.n_est_excl`` counts them).

Calibration (tests/test_study_calibration.py)
    With events of a ticker far enough apart that estimation windows are clean, every test
    rejects a true null at 5% +/- 1 point on fat-tailed (t5) one-factor data, except the
    percentile bootstrap interval, which excludes zero 6-7% of the time with 45 events
    (small-sample under-coverage of the percentile method). With an event about every 63
    sessions per ticker (earnings-like: each estimation window holds one or two earlier
    event windows, which are left out) every parametric test rejects in 4% to 6.5% on every
    CAR window (4,000 studies); with those sessions kept, the 16-day tests rejected in 1.0%
    to 1.7% (an event's window sat in the next event's estimation window and made their
    CARs negatively correlated). Known departures in crowded histories (an event every ~32
    sessions per ticker, 400 sessions; measured on 2,000 studies): the 16-day tests become
    liberal (t, Patell, BMP about 9-10%, Corrado about 7%; the 1- and 2-day tests 5-6%),
    because consecutive events share most of their event-free estimation sessions, and the
    shared error of alpha, times 16 days, correlates their CARs (with those sessions kept
    they were conservative instead, about 1.5%); and the placebo becomes liberal (about
    19% on the 16-day window, measured before the exclusion), because the pool of
    non-event windows is small and its own mean is noise that the placebo distribution
    ignores. Check ``events.est_overlap`` / ``n_est_excl`` and the eligible pool before
    trusting a multi-day test or a placebo p-value in a crowded history.
    With clustered events (each hits 4 of 12 tickers on one date; same-date residual
    correlation 0.4), BMP and Patell reject a true null about 19% of the time, their
    Kolari-Pynnonen forms 3.1% to 5.0% (4,000 studies).

References
    Kolari & Pynnonen (2010), Event study testing with cross-sectional correlation of
    abnormal returns, Review of Financial Studies 23. Boehmer, Musumeci & Poulsen
    (1991), Event-study methodology under conditions of event-induced variance,
    J. Financial Economics 30. Brown & Warner (1985), Using daily
    stock returns: the case of event studies, JFE 14. Campbell & Wasley (1993), Measuring
    security price performance using daily NASDAQ returns, JFE 33. Campbell, Lo & MacKinlay
    (1997), The Econometrics of Financial Markets, ch. 4. Corrado (1989), A nonparametric
    test for abnormal security-price performance in event studies, JFE 23. Corrado & Zivney
    (1992), The specification and power of the sign test in event study hypothesis tests
    using daily stock returns, J. Financial and Quantitative Analysis 27. Cowan (1992),
    Nonparametric event study tests, Review of Quantitative Finance and Accounting 2.
    Davison & Hinkley (1997), Bootstrap Methods and their Application. MacKinlay (1997),
    Event studies in economics and finance, J. Economic Literature 35. Mikkelson & Partch
    (1988), Withdrawn security offerings, JFQA 23. Patell (1976), Corporate forecasts of
    earnings per share and stock price behavior: empirical tests, J. Accounting Research 14.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: about 0.6 s more at start-up

from evbt.backtest import study_nb as nb
from evbt.backtest.jit import gate, say_if_compiling
from evbt.errors import InputError

MODELS = {"market_adjusted": nb.MODEL_MARKET_ADJUSTED, "market_model": nb.MODEL_MARKET_MODEL}
THIN_MIN_OBS = 60  # fewer valid estimation returns than this flags the event row as thin
MIN_EST_OBS = 10  # fewer than this and the variance cannot be estimated: the row is skipped
MIN_ESTIMATION = 30  # smallest accepted ``estimation`` length
CI_LEVEL = 0.95
GROUP_COLUMNS = ("kind", "org", "tags")
SUMMARY_COLUMNS = [
    "group_type",
    "group",
    "car_window",
    "n",
    "caar",
    "t_cs",
    "p_cs",
    "patell_z",
    "p_patell",
    "bmp_z",
    "p_bmp",
    "corrado_z",
    "p_corrado",
    "gsign_z",
    "p_gsign",
    "boot_lo",
    "boot_hi",
    "placebo_p",
    "n_overlap",
    "n_thin",
    "n_skipped",
    "n_events",
    "rbar",
    "rbar_kp",
    "n_shared",
    "bmp_kp_z",
    "p_bmp_kp",
    "patell_kp_z",
    "p_patell_kp",
    "headline",
    "p_headline",
    "note",
]
MIN_BOOT_EVENTS = 2  # fewer distinct events and the bootstrap has nothing to resample


@dataclass(frozen=True, eq=False)
class StudyResult:
    """What :func:`run_study` returns.

    panel
        One row per (included event row, relative day): ``event_id, ticker, day, session,
        ret, bench_ret, ar, car`` (``car`` cumulates ``ar`` from the first window day).
    summary
        One row per (group, CAR window): ``SUMMARY_COLUMNS``.
    skipped
        ``(event_id, ticker, reason)`` for each event row left out.
    notes
        One line per thing the caller left out of the study, and why (a ticker that is the
        benchmark, a study that could not run at all), or a warning about its inputs (a
        benchmark that holds the studied tickers); also in the summary's ``note``.
    events
        One row per included event row: its fit (``alpha, beta, sigma, n_est``), its flags
        (``overlap, thin``, and ``est_overlap``: another event window of the ticker lies in
        its estimation window; ``n_est_excl``: the estimation sessions left out for it)
        and its CAR per window (``car[a,b]`` columns).
    """

    panel: pd.DataFrame
    summary: pd.DataFrame
    skipped: list[tuple[Any, str, str]]
    events: pd.DataFrame
    notes: tuple[str, ...] = ()  # one line each: what was left out and why, or a warning

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    @property
    def aar(self) -> pd.DataFrame:
        """Average abnormal return per relative day over all included event rows, with the
        number of rows and the CAAR cumulated from the first window day."""
        g = self.panel.groupby("day", sort=True)["ar"]
        out = pd.DataFrame({"n": g.size(), "aar": g.mean()})
        out["caar"] = out["aar"].cumsum()
        return out


class StudyArrays(NamedTuple):
    """Array results of :func:`study_arrays` (rows = all event rows, groups as given)."""

    status: np.ndarray  # (n_rows,) study_nb.STATUS_*
    n_est: np.ndarray  # (n_rows,) valid estimation returns
    alpha: np.ndarray
    beta: np.ndarray
    sigma2: np.ndarray
    overlap: np.ndarray  # (n_rows,) bool
    est_overlap: np.ndarray  # (n_rows,) bool: another event window inside the estimation
    n_est_excl: np.ndarray  # (n_rows,) estimation days left out: in earlier event windows
    thin: np.ndarray  # (n_rows,) bool
    ar: np.ndarray  # (n_rows, W), NaN for skipped rows
    car: np.ndarray  # (n_rows, n_windows), NaN for skipped rows
    scar: np.ndarray
    n: np.ndarray  # (n_groups,) included rows per group
    n_overlap: np.ndarray
    n_thin: np.ndarray
    n_skipped: np.ndarray
    caar: np.ndarray  # (n_groups, n_windows) from here on
    t_cs: np.ndarray
    p_cs: np.ndarray
    patell_z: np.ndarray
    p_patell: np.ndarray
    bmp_z: np.ndarray
    p_bmp: np.ndarray
    corrado_z: np.ndarray
    p_corrado: np.ndarray
    gsign_z: np.ndarray
    p_gsign: np.ndarray
    boot_lo: np.ndarray
    boot_hi: np.ndarray
    placebo_p: np.ndarray
    n_events: np.ndarray  # (n_groups,) distinct events (clusters) among included rows
    rbar: np.ndarray  # (n_groups,) Kolari-Pynnonen mean cross-correlation, as estimated
    rbar_kp: np.ndarray  # (n_groups,) what the adjustment uses: max(rbar, 0)
    n_shared: np.ndarray  # (n_groups,) rows sharing their day 0 with another row
    bmp_kp_z: np.ndarray  # (n_groups, n_windows) from here on
    p_bmp_kp: np.ndarray
    patell_kp_z: np.ndarray
    p_patell_kp: np.ndarray


# --------------------------------------------------------------------------------------
# Array level
# --------------------------------------------------------------------------------------


def _csr(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    idx = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, np.int64)
    return ptr, idx


def _two_sided_t(stat: np.ndarray, df: np.ndarray) -> np.ndarray:
    out = np.full(stat.shape, np.nan)
    ok = np.isfinite(stat) & (df >= 1)
    out[ok] = 2.0 * special.stdtr(np.broadcast_to(df, stat.shape)[ok], -np.abs(stat[ok]))
    return out


def _two_sided_z(stat: np.ndarray) -> np.ndarray:
    out = np.full(stat.shape, np.nan)
    ok = np.isfinite(stat)
    out[ok] = 2.0 * special.ndtr(-np.abs(stat[ok]))
    return out


def compile_kernels(*, reverse: bool = False) -> None:
    """Compile (or load from Numba's cache) every kernel :func:`study_arrays` calls, through
    the same NumPy faces (``nb.event_ar``, ``nb.car``, ...) on empty inputs of the types it
    passes them, in call order or in reverse (``reverse``).

    Two processes that run this from opposite ends on a cold cache compile each kernel
    about once between them (a kernel the other one has cached by then is loaded):
    ``evbt.api.run`` compiles the study's kernels this way beside the backtest's.
    ``tests/test_jit.py`` checks that these calls add no second signature to any kernel.
    """
    i8, f8 = np.int64, np.float64
    ints, reals = np.zeros(0, i8), np.zeros(0, f8)
    ptr = np.zeros(1, i8)  # CSR pointers of zero groups
    m2, m3, flags = np.zeros((0, 0)), np.zeros((0, 0, 0)), np.zeros((0, 0), np.bool_)
    order = np.zeros((0, 0), i8)
    calls = [
        lambda: nb.event_ar(m2, reals, ints, ints, 0, 0, 0, 0, 0, 0, flags),
        lambda: nb.car(m2, m2, reals, ints, reals, reals, 0, ints, ints),
        lambda: nb.uniform_ranks(m2, order),
        lambda: nb.group_tests(m2, m2, reals, m2, reals, ptr, ints, ints, ints, 0),
        lambda: nb.shared_date_rbar(m2, ints, ptr, ints, 0),
        lambda: nb.bootstrap_caar(ptr, m2, ints, m2),
        lambda: nb.placebo_car(m2, reals, ints, ptr, ints, 0, 0, 0, 0, 0, 0, ints, ints),
        lambda: nb.placebo_caar(m3, ints, ints, ptr, ints, m2, ptr, ints),
    ]
    for call in reversed(calls) if reverse else calls:
        call()


def study_arrays(
    rets: np.ndarray,
    bench: np.ndarray,
    col: np.ndarray,
    pos: np.ndarray,
    cluster: np.ndarray,
    *,
    lo: int,
    hi: int,
    estimation: int,
    gap: int,
    model: int,
    win: np.ndarray,
    grp_ptr: np.ndarray,
    grp_idx: np.ndarray,
    bootstrap: int,
    placebo: int,
    seed: int,
) -> StudyArrays:
    """The whole study on arrays, unchecked (call :func:`run_study` for checked input).

    ``rets`` ``(n_tickers, n_sessions)`` float64, ``bench`` ``(n_sessions,)``; event row
    ``i`` is ticker ``col[i]`` with day 0 at session ``pos[i]`` and belongs to event
    ``cluster[i]`` (``0..n_events-1``). ``win`` is ``(n_windows, 2)`` relative days.
    Groups are CSR over all rows; skipped rows are dropped from each group here.
    """
    # The gate (evbt.backtest.jit): every array below is derived from these, so each kernel
    # sees C-contiguous, writeable arrays of one dtype and compiles one signature.
    rets = gate(rets, np.float64)
    bench = gate(bench, np.float64)
    col = gate(col, np.int64)
    pos = gate(pos, np.int64)
    cluster = gate(cluster, np.int64)
    grp_ptr = gate(grp_ptr, np.int64)
    grp_idx = gate(grp_idx, np.int64)
    win_a = gate(win[:, 0] - lo, np.int64)
    win_b = gate(win[:, 1] - lo, np.int64)
    lo, hi, estimation, gap, model = int(lo), int(hi), int(estimation), int(gap), int(model)
    n_rows = col.shape[0]
    n_grp = grp_ptr.shape[0] - 1
    say_if_compiling(["event-study"], [nb.event_ar_nb, nb.group_tests_nb, nb.placebo_car_nb])

    # The kernels do not sort (Numba compiles its own sorts for each kernel, seconds each):
    # NumPy sorts here and the kernels take the sorted keys or the order.
    key, span = nb.ticker_pos_key(col, pos)
    skey = np.sort(key)
    excl, n_excl = nb.est_exclusion(col, pos, skey, span, lo, hi, estimation, gap)
    ar, est_ar, status, alpha, beta, sigma2, n_est, xbar, sxx, frac_pos = nb.event_ar(
        rets, bench, col, pos, lo, hi, estimation, gap, model, MIN_EST_OBS, excl
    )
    overlap = nb.overlap_flags(col, pos, np.argsort(key, kind="stable"), hi - lo)
    inc = status == nb.STATUS_OK
    # thin: few estimation returns, or a missing one (days left out for earlier events are
    # not missing)
    thin = inc & ((n_est < THIN_MIN_OBS) | (n_est + n_excl < estimation))

    # Groups restricted to included rows, re-indexed to the compact included arrays.
    new_id = np.full(n_rows, -1, dtype=np.int64)
    inc_rows = np.flatnonzero(inc)
    new_id[inc_rows] = np.arange(inc_rows.size)
    grp_of = np.repeat(np.arange(n_grp), np.diff(grp_ptr))
    keep = inc[grp_idx]
    g_idx = new_id[grp_idx[keep]]
    g_ptr = np.zeros(n_grp + 1, dtype=np.int64)
    g_ptr[1:] = np.cumsum(np.bincount(grp_of[keep], minlength=n_grp))
    n_skipped = np.bincount(grp_of[~keep], minlength=n_grp)
    n_overlap = np.bincount(grp_of[keep], weights=overlap[grp_idx[keep]], minlength=n_grp)
    n_thin = np.bincount(grp_of[keep], weights=thin[grp_idx[keep]], minlength=n_grp)

    bench_ev = bench[pos[inc_rows, None] + np.arange(lo, hi + 1)[None, :]]
    car_i, scar_i = nb.car(
        ar[inc_rows],
        bench_ev,
        sigma2[inc_rows],
        n_est[inc_rows],
        xbar[inc_rows],
        sxx[inc_rows],
        model,
        win_a,
        win_b,
    )
    n_par = 2 if model == nb.MODEL_MARKET_MODEL else 1
    dof = (n_est[inc_rows] - n_par).astype(np.float64)
    ar_all = np.concatenate([est_ar[inc_rows], ar[inc_rows]], axis=1)
    ranks = nb.uniform_ranks(ar_all, np.argsort(ar_all, axis=1))
    n, caar, t_cs, patell, bmp, corrado, gsign = nb.group_tests(
        car_i, scar_i, dof, ranks, frac_pos[inc_rows], g_ptr, g_idx, win_a, win_b, estimation
    )
    df = (n - 1)[:, None]
    cl_inc = cluster[inc_rows]
    n_events = np.array(
        [np.unique(cl_inc[g_idx[g_ptr[g] : g_ptr[g + 1]]]).size for g in range(n_grp)],
        dtype=np.int64,
    )
    # Each group's rows in the stable order of their day 0 (lexsort is stable, and the
    # groups are contiguous in g_idx): the order rbar sums the pair correlations in.
    pos_i = pos[inc_rows]
    day0_idx = g_idx[np.lexsort((pos_i[g_idx], grp_of[keep]))]
    rbar, n_shared = nb.shared_date_rbar(est_ar[inc_rows], pos_i, g_ptr, day0_idx, MIN_EST_OBS)
    bmp_kp, patell_kp = nb.kp_adjust(n, rbar, bmp, patell)

    # Independent random streams, so changing one resample count leaves the other's draws.
    boot_ss, plac_ss = np.random.SeedSequence(seed).spawn(2)
    n_win = win.shape[0]
    boot_lo = np.full((n_grp, n_win), np.nan)
    boot_hi = np.full((n_grp, n_win), np.nan)
    placebo_p = np.full((n_grp, n_win), np.nan)
    n_cl = int(cluster.max()) + 1 if n_rows else 0
    if bootstrap > 0 and inc_rows.size:
        cl_ptr, cl_sum, cl_cnt = nb.cluster_sums(car_i, cl_inc, n_cl, g_ptr, g_idx)
        width = max(int(np.diff(cl_ptr).max()), 1)
        u = np.random.default_rng(boot_ss).random((bootstrap, width))
        draws = nb.bootstrap_caar(cl_ptr, cl_sum, cl_cnt, u)
        boot_lo, boot_hi = nb.percentile_ci(np.sort(draws, axis=1), CI_LEVEL)
        # One event resampled is always itself: a zero-width interval that means nothing.
        boot_lo[n_events < MIN_BOOT_EVENTS] = np.nan
        boot_hi[n_events < MIN_BOOT_EVENTS] = np.nan
    if placebo > 0 and inc_rows.size:
        ucols, row_ucol = np.unique(col[inc_rows], return_inverse=True)
        excl = [np.sort(pos[col == c]) for c in ucols]
        excl_ptr, excl_pos = _csr(excl)
        cand = nb.placebo_car(
            rets,
            bench,
            ucols.astype(np.int64),
            excl_ptr,
            excl_pos,
            lo,
            hi,
            estimation,
            gap,
            model,
            MIN_EST_OBS,
            win_a,
            win_b,
        )
        # Tickers (as rows of ``cand``) held by each event, over its included rows.
        order = np.lexsort((row_ucol, cl_inc))
        cc_ptr = np.zeros(n_cl + 1, dtype=np.int64)
        cc_ptr[1:] = np.cumsum(np.bincount(cl_inc, minlength=n_cl))
        el_ptr, el_pos = nb.placebo_sessions(
            np.isfinite(cand[:, :, 0]), cc_ptr, row_ucol[order].astype(np.int64)
        )
        u = np.random.default_rng(plac_ss).random((placebo, n_cl))
        draws = nb.placebo_caar(
            cand, row_ucol.astype(np.int64), cl_inc, el_ptr, el_pos, u, g_ptr, g_idx
        )
        placebo_p = nb.empirical_p(caar, draws)

    car = np.full((n_rows, n_win), np.nan)
    scar = np.full((n_rows, n_win), np.nan)
    car[inc_rows] = car_i
    scar[inc_rows] = scar_i
    return StudyArrays(
        status=status,
        n_est=n_est,
        alpha=alpha,
        beta=beta,
        sigma2=sigma2,
        overlap=overlap & inc,
        est_overlap=nb.est_overlap_flags(col, pos, skey, span, lo, hi, estimation, gap) & inc,
        n_est_excl=n_excl,
        thin=thin,
        ar=ar,
        car=car,
        scar=scar,
        n=n,
        n_overlap=n_overlap.astype(np.int64),
        n_thin=n_thin.astype(np.int64),
        n_skipped=n_skipped.astype(np.int64),
        caar=caar,
        t_cs=t_cs,
        p_cs=_two_sided_t(t_cs, df),
        patell_z=patell,
        p_patell=_two_sided_z(patell),
        bmp_z=bmp,
        p_bmp=_two_sided_t(bmp, df),
        corrado_z=corrado,
        p_corrado=_two_sided_z(corrado),
        gsign_z=gsign,
        p_gsign=_two_sided_z(gsign),
        boot_lo=boot_lo,
        boot_hi=boot_hi,
        placebo_p=placebo_p,
        n_events=n_events,
        rbar=rbar,
        rbar_kp=np.where(np.isnan(rbar), np.nan, np.maximum(rbar, 0.0)),
        n_shared=n_shared,
        bmp_kp_z=bmp_kp,
        p_bmp_kp=_two_sided_t(bmp_kp, df),
        patell_kp_z=patell_kp,
        p_patell_kp=_two_sided_z(patell_kp),
    )


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------


def _int_param(name: str, value: Any, minimum: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{name}={value!r} is not an integer: {fix}")
    if value < minimum:
        raise InputError(f"{name}={value} is below {minimum}: {fix}")
    return int(value)


def _check_window(window: Any) -> tuple[int, int]:
    fix = "pass window=(lo, hi) with integers lo <= 0 <= hi, e.g. window=(-5, 10)"
    if not isinstance(window, tuple | list) or len(window) != 2:
        raise InputError(f"window={window!r} is not a pair: {fix}")
    lo, hi = window
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise InputError(f"window={window!r} holds a non-integer: {fix}")
    if lo > 0:
        raise InputError(f"window={tuple(window)!r} starts after day 0: {fix}")
    if hi < 0:
        raise InputError(f"window={tuple(window)!r} ends before day 0: {fix}")
    return int(lo), int(hi)


def _check_model(model: Any) -> int:
    if model in MODELS:
        return MODELS[model]
    near = difflib.get_close_matches(str(model), list(MODELS), n=1)
    hint = f"did you mean {near[0]!r}?" if near else f"use one of {', '.join(MODELS)}"
    raise InputError(f"model={model!r} is unknown: {hint}")


def _fmt_day(t: int) -> str:
    return "0" if t == 0 else f"{t:+d}"


def _window_label(a: int, b: int) -> str:
    return f"[{_fmt_day(a)},{_fmt_day(b)}]"


def _check_car_windows(car_windows: Any, lo: int, hi: int) -> np.ndarray:
    if car_windows is None:
        wins = [(0, 0), (0, 1), (lo, hi)]
        wins = [w for w in wins if lo <= w[0] <= w[1] <= hi]
        return np.array(list(dict.fromkeys(wins)), dtype=np.int64)
    fix = f"give car_windows as (a, b) pairs of integers with {lo} <= a <= b <= {hi}"
    try:
        wins = [tuple(w) for w in car_windows]
    except TypeError:
        raise InputError(f"car_windows={car_windows!r} is not a list of pairs: {fix}") from None
    if not wins:
        raise InputError(f"car_windows is empty: {fix}, or pass None for the defaults")
    for k, w in enumerate(wins):
        if (
            len(w) != 2
            or any(isinstance(v, bool) or not isinstance(v, int | np.integer) for v in w)
            or not lo <= w[0] <= w[1] <= hi
        ):
            raise InputError(f"car_windows[{k}]={w!r} is not inside window ({lo}, {hi}): {fix}")
    if len(set(wins)) != len(wins):
        raise InputError(f"car_windows={wins!r} repeats a window: list each window once")
    return np.array(wins, dtype=np.int64)


def _check_returns(returns: Any, bench: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(returns, pd.DataFrame):
        raise InputError(
            "returns is not a DataFrame: pass daily simple returns with sessions as the "
            "index and tickers as columns"
        )
    idx = returns.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise InputError(
            "returns.index is not a DatetimeIndex: set the session dates as the index "
            "(returns.index = pd.to_datetime(...))"
        )
    if idx.has_duplicates:
        first = idx[idx.duplicated()][0]
        raise InputError(f"returns.index repeats session {first:%Y-%m-%d}: drop the duplicate rows")
    if not idx.is_monotonic_increasing:
        raise InputError("returns.index is not sorted: call returns.sort_index() first")
    if returns.columns.has_duplicates:
        dup = returns.columns[returns.columns.duplicated()][0]
        raise InputError(f"returns has ticker {dup!r} twice as a column: keep one column")
    try:
        arr = returns.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError(
            "returns holds non-numeric values: convert every column to float"
        ) from None
    if np.isinf(arr).any():
        r, c = np.argwhere(np.isinf(arr))[0]
        raise InputError(
            f"returns[{returns.columns[c]!r}] is infinite on {idx[r]:%Y-%m-%d}: "
            "replace it with NaN (missing) or the true return"
        )
    if not isinstance(bench, pd.Series):
        raise InputError("bench is not a Series: pass the benchmark's daily simple returns")
    if not bench.index.equals(idx):
        raise InputError("bench.index differs from returns.index: use bench.reindex(returns.index)")
    try:
        b = bench.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError("bench holds non-numeric values: convert it to float") from None
    if np.isinf(b).any():
        r = int(np.flatnonzero(np.isinf(b))[0])
        raise InputError(
            f"bench is infinite on {idx[r]:%Y-%m-%d}: replace it with NaN or the true return"
        )
    return np.ascontiguousarray(arr.T), b


def _check_events(events: Any, returns: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(events, pd.DataFrame):
        raise InputError(
            "events is not a DataFrame: pass a table with columns event_id, ticker, "
            "reaction_session"
        )
    need = ["event_id", "ticker", "reaction_session"]
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise InputError(
            f"events lacks column(s) {', '.join(missing)}: add them (optional: kind, org, tags)"
        )
    if len(events) == 0:
        raise InputError("events has no rows: give at least one event")
    ev = events.reset_index(drop=True)
    for c in ("event_id", "ticker"):
        if ev[c].isna().any():
            k = int(np.flatnonzero(ev[c].isna().to_numpy())[0])
            raise InputError(f"events row {k} has no {c}: fill it or drop the row")
    dup = ev.duplicated(["event_id", "ticker"])
    if dup.any():
        k = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"events row {k} repeats (event_id={ev.at[k, 'event_id']!r}, "
            f"ticker={ev.at[k, 'ticker']!r}): list each event-ticker pair once"
        )
    cols = pd.Index(returns.columns)
    col = cols.get_indexer(ev["ticker"])
    if (col < 0).any():
        k = int(np.flatnonzero(col < 0)[0])
        raise InputError(
            f"events row {k}: ticker {ev.at[k, 'ticker']!r} is not a column of returns: "
            "add its returns or drop the event"
        )
    try:
        sess = pd.DatetimeIndex(pd.to_datetime(ev["reaction_session"]))
    except (TypeError, ValueError):
        raise InputError(
            "events.reaction_session holds unreadable dates: write them as YYYY-MM-DD"
        ) from None
    pos = returns.index.get_indexer(sess)
    if (pos < 0).any():
        bad = np.flatnonzero(pos < 0)
        k = int(bad[0])
        raise InputError(
            f"events.reaction_session {sess[k]:%Y-%m-%d} (row {k}, "
            f"event_id={ev.at[k, 'event_id']!r}) is not a session in returns.index "
            f"({bad.size} such row(s)): map each event to its NYSE reaction session "
            "(data.calendar) and make sure returns covers it"
        )
    ev["_col"] = col.astype(np.int64)
    ev["_pos"] = pos.astype(np.int64)
    ev["_cluster"] = pd.factorize(ev["event_id"])[0].astype(np.int64)
    return ev


def _groups(ev: pd.DataFrame) -> tuple[list[tuple[str, str]], list[np.ndarray]]:
    labels: list[tuple[str, str]] = [("all", "all")]
    members: list[np.ndarray] = [np.arange(len(ev))]
    for gcol in GROUP_COLUMNS:
        if gcol not in ev.columns:
            continue
        if gcol == "tags":
            parts = ev[gcol].astype("string").str.split(";").explode().str.strip()
            parts = parts.fillna("")
            parts = parts[parts != ""]
            pairs = pd.DataFrame({"row": parts.index, "value": parts.astype(str).to_numpy()})
            pairs = pairs.drop_duplicates()
            gtype = "tag"
        else:
            vals = ev[gcol].dropna()
            pairs = pd.DataFrame({"row": vals.index, "value": vals.astype(str).to_numpy()})
            gtype = gcol
        for value, rows in pairs.groupby("value", sort=True)["row"]:
            labels.append((gtype, str(value)))
            members.append(np.sort(rows.to_numpy(dtype=np.int64)))
    return labels, members


# --------------------------------------------------------------------------------------
# Front door
# --------------------------------------------------------------------------------------


def run_study(
    returns: pd.DataFrame,
    bench: pd.Series,
    events: pd.DataFrame,
    *,
    window: tuple[int, int] = (-5, 10),
    model: str = "market_model",
    estimation: int = 120,
    gap: int = 10,
    bootstrap: int = 2000,
    placebo: int = 1000,
    seed: int = 0,
    car_windows: list[tuple[int, int]] | None = None,
) -> StudyResult:
    """Run an event study of ``events`` on daily simple ``returns`` against ``bench``.

    ``returns``: DataFrame, index = sessions (sorted, unique), columns = tickers, NaN for
    missing. ``bench``: Series on the same index. ``events``: columns ``event_id, ticker,
    reaction_session`` (a session of the index), optional group columns ``kind, org,
    tags`` (``tags`` is a ``;``-separated string). ``window=(lo, hi)`` is the event window
    in sessions around day 0; ``estimation`` sessions of estimation window end ``gap``
    sessions before day ``lo``. ``car_windows`` defaults to ``[0,0]``, ``[0,+1]`` and
    ``[lo,hi]``. ``bootstrap`` / ``placebo`` are resample / draw counts (0 turns them off)
    and ``seed`` fixes both. Method, tests and flags: see the module docstring.

    Raises :class:`evbt.errors.InputError` on bad input.
    """
    lo, hi = _check_window(window)
    model_code = _check_model(model)
    estimation = _int_param(
        "estimation", estimation, MIN_ESTIMATION, "use an estimation window of >= 30 sessions"
    )
    gap = _int_param("gap", gap, 0, "use gap >= 0 sessions between estimation and event")
    bootstrap = _int_param("bootstrap", bootstrap, 0, "use bootstrap >= 0 (0 skips it)")
    placebo = _int_param("placebo", placebo, 0, "use placebo >= 0 (0 skips it)")
    seed = _int_param("seed", seed, 0, "use a non-negative integer seed")
    win = _check_car_windows(car_windows, lo, hi)
    rets, bvals = _check_returns(returns, bench)
    ev = _check_events(events, returns)
    labels, members = _groups(ev)
    grp_ptr, grp_idx = _csr(members)

    res = study_arrays(
        rets,
        bvals,
        ev["_col"].to_numpy(),
        ev["_pos"].to_numpy(),
        ev["_cluster"].to_numpy(),
        lo=lo,
        hi=hi,
        estimation=estimation,
        gap=gap,
        model=model_code,
        win=win,
        grp_ptr=grp_ptr,
        grp_idx=grp_idx,
        bootstrap=bootstrap,
        placebo=placebo,
        seed=seed,
    )
    return StudyResult(
        panel=_panel(ev, res, returns, rets, bvals, lo, hi),
        summary=_summary(labels, win, res),
        skipped=_skipped(ev, res, returns.index, lo, hi, estimation, gap),
        events=_events_table(ev, res, win),
    )


def _panel(ev, res, returns, rets, bvals, lo, hi) -> pd.DataFrame:
    inc = np.flatnonzero(res.status == nb.STATUS_OK)
    n_w = hi - lo + 1
    p = ev["_pos"].to_numpy()[inc, None] + np.arange(lo, hi + 1)[None, :]
    c = ev["_col"].to_numpy()[inc, None]
    ar = res.ar[inc]
    return pd.DataFrame(
        {
            "event_id": np.repeat(ev["event_id"].to_numpy()[inc], n_w),
            "ticker": np.repeat(ev["ticker"].to_numpy()[inc], n_w),
            "day": np.tile(np.arange(lo, hi + 1), inc.size),
            "session": returns.index[p.ravel()],
            "ret": rets[c, p].ravel(),
            "bench_ret": bvals[p].ravel(),
            "ar": ar.ravel(),
            "car": np.cumsum(ar, axis=1).ravel(),
        }
    )


def _summary(labels, win, res: StudyArrays) -> pd.DataFrame:
    n_grp, n_win = len(labels), win.shape[0]
    gi = np.repeat(np.arange(n_grp), n_win)
    out = {
        "group_type": [labels[g][0] for g in gi],
        "group": [labels[g][1] for g in gi],
        "car_window": np.tile([_window_label(a, b) for a, b in win], n_grp),
        "n": res.n[gi],
    }
    for name in SUMMARY_COLUMNS[4:18]:
        out[name] = getattr(res, name).ravel()
    for name in ("n_overlap", "n_thin", "n_skipped", "n_events", "rbar", "rbar_kp", "n_shared"):
        out[name] = getattr(res, name)[gi]
    for name in ("bmp_kp_z", "p_bmp_kp", "patell_kp_z", "p_patell_kp"):
        out[name] = getattr(res, name).ravel()
    # The headline test: BMP, or its Kolari-Pynnonen form when rows share a day 0 and the
    # estimated correlation is positive (a floored estimate leaves BMP as it is).
    shared = (res.n_shared[gi] > 0) & (res.rbar_kp[gi] > 0)
    out["headline"] = np.where(shared, "bmp_kp", "bmp")
    out["p_headline"] = np.where(shared, res.p_bmp_kp.ravel(), res.p_bmp.ravel())
    out["note"] = [_group_note(int(res.n[g]), int(res.n_events[g])) for g in gi]
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def _group_note(n: int, n_events: int) -> str:
    """Why a group's event-resampling results are NaN ("" when they are not)."""
    if n == 0:
        return "no event row included: nothing to test"
    if n_events < MIN_BOOT_EVENTS:
        return f"{n_events} distinct event: no bootstrap interval (it resamples whole events)"
    return ""


def _skipped(ev, res, index, lo, hi, estimation, gap) -> list[tuple[Any, str, str]]:
    out = []
    first, last = index[0], index[-1]
    for i in np.flatnonzero(res.status != nb.STATUS_OK):
        s = int(res.status[i])
        p = int(ev.at[i, "_pos"])
        day0 = f"{index[p]:%Y-%m-%d}"
        if s == nb.STATUS_OUTSIDE:
            before = gap + estimation - lo
            why = (
                f"window runs outside the data: day 0 {day0} needs {before} sessions "
                f"before it and {hi} after (data {first:%Y-%m-%d} to {last:%Y-%m-%d})"
            )
        elif s == nb.STATUS_MISSING_EVENT:
            why = f"a return (ticker or benchmark) is missing in the event window around {day0}"
        elif s == nb.STATUS_FEW_EST:
            k = int(res.n_est_excl[i])
            why = (
                f"only {int(res.n_est[i])} valid estimation returns (need >= {MIN_EST_OBS})"
                f" for day 0 {day0}"
                + (
                    f" after leaving out {k} estimation sessions that lie in earlier event "
                    f"windows of {ev.at[i, 'ticker']}"
                    if k
                    else ""
                )
            )
        else:
            why = f"degenerate estimation window for day 0 {day0} (constant benchmark or fit)"
        out.append((ev.at[i, "event_id"], str(ev.at[i, "ticker"]), why))
    return out


def _events_table(ev, res: StudyArrays, win) -> pd.DataFrame:
    inc = np.flatnonzero(res.status == nb.STATUS_OK)
    keep = ["event_id", "ticker", "reaction_session"] + [
        c for c in GROUP_COLUMNS if c in ev.columns
    ]
    out = ev.loc[inc, keep].reset_index(drop=True)
    out["n_est"] = res.n_est[inc]
    out["alpha"] = res.alpha[inc]
    out["beta"] = res.beta[inc]
    out["sigma"] = np.sqrt(res.sigma2[inc])
    out["overlap"] = res.overlap[inc]
    out["thin"] = res.thin[inc]
    out["est_overlap"] = res.est_overlap[inc]
    out["n_est_excl"] = res.n_est_excl[inc]
    for w, (a, b) in enumerate(win):
        out[f"car{_window_label(a, b)}"] = res.car[inc, w]
    return out


# --------------------------------------------------------------------------------------
# Studies that leave something out say so
# --------------------------------------------------------------------------------------


def with_notes(res: StudyResult, notes: list[str] | tuple[str, ...]) -> StudyResult:
    """``res`` with ``notes`` recorded in ``.notes`` and in the ``note`` column of its
    "all" rows (one line each, joined by "; ")."""
    notes = tuple(n for n in notes if n)
    if not notes:
        return res
    summ = res.summary.copy()
    rows = summ["group_type"] == "all"
    extra = "; ".join(notes)
    summ.loc[rows, "note"] = [f"{extra}; {n}" if n else extra for n in summ.loc[rows, "note"]]
    return dataclasses.replace(res, summary=summ, notes=res.notes + notes)


def empty_study(reason: str, *, window: tuple[int, int] = (-5, 10), **_: Any) -> StudyResult:
    """The study that could not run: no panel, and one "all" summary row per default CAR
    window with ``n = 0``, NaN statistics and ``reason`` as its note. Extra keyword
    arguments (the rest of :meth:`StudyConfig.run_kwargs`) are accepted and ignored."""
    lo, hi = _check_window(window)
    win = _check_car_windows(None, lo, hi)
    summ = pd.DataFrame({c: [np.nan] * len(win) for c in SUMMARY_COLUMNS})
    summ["group_type"] = "all"
    summ["group"] = "all"
    summ["car_window"] = [_window_label(a, b) for a, b in win]
    for c in ("n", "n_overlap", "n_thin", "n_skipped", "n_events", "n_shared"):
        summ[c] = np.zeros(len(win), dtype=np.int64)
    summ["headline"] = "bmp"
    summ["note"] = reason
    panel = pd.DataFrame(
        {
            "event_id": pd.Series(dtype=object),
            "ticker": pd.Series(dtype=object),
            "day": pd.Series(dtype=np.int64),
            "session": pd.Series(dtype="datetime64[ns]"),
            **{c: pd.Series(dtype=np.float64) for c in ("ret", "bench_ret", "ar", "car")},
        }
    )
    events = pd.DataFrame(columns=["event_id", "ticker", "reaction_session"])
    return StudyResult(panel=panel, summary=summ, skipped=[], events=events, notes=(reason,))
