"""Numba kernels for the event study and their NumPy faces: arrays in, arrays out, no pandas.

Callers use the faces (:func:`event_ar`, :func:`car`, :func:`group_tests`, ...): each
allocates the arrays its kernel (``event_ar_nb``, ``car_nb``, ...) writes and returns them,
so no kernel allocates (an allocation inside a kernel compiles NumPy's allocator into it,
a tenth of a second or more each on a cold cache). Steps that NumPy does whole-array
(keys, overlap flags, searches, counts, element-wise formulas) are plain NumPy here, with
the same results bit for bit: a kernel each was most of a second of compile for
microseconds of work.

Conventions shared by every kernel here:

- ``rets`` is ticker-major, shape ``(n_tickers, n_sessions)``, so one ticker's history is a
  contiguous row; ``bench`` has shape ``(n_sessions,)``. NaN marks a missing return.
- An *event row* is one (event, ticker) pair: ``col`` (row of ``rets``) and ``pos`` (the
  index of its reaction session, relative day 0).
- The event window is relative days ``lo..hi`` (``lo <= 0 <= hi``), ``W = hi - lo + 1``
  days. The estimation window is the ``est_len`` sessions ``lo - gap - est_len ..
  lo - gap - 1``: exactly ``gap`` sessions lie strictly between it and the event window.
- CAR windows are given as offsets into the event window (``win_a[w]..win_b[w]``,
  inclusive, ``0 <= win_a <= win_b < W``).
- Groups (all, per kind, per tag, ...) are CSR lists: rows of group ``g`` are
  ``grp_idx[grp_ptr[g]:grp_ptr[g + 1]]``.
- Random numbers are drawn by the caller and passed in as uniforms in [0, 1), so every
  kernel is deterministic and runs identically with ``NUMBA_DISABLE_JIT=1``.
- Kernels do not sort: the caller sorts with NumPy and passes sorted values or an order
  (Numba compiles its own sort implementations for each kernel, seconds each).
- Sums are explicit loops in a fixed order (never ``np.sum``, whose pairwise order differs
  between NumPy and Numba), and every division is guarded, so the pure-Python run (where a
  float division by zero would raise) matches the compiled one bit for bit.
"""

from __future__ import annotations

import numpy as np

from evbt.backtest.jit import jit

MODEL_MARKET_ADJUSTED = 0
MODEL_MARKET_MODEL = 1

STATUS_OK = 0
STATUS_OUTSIDE = 1  # estimation + event window runs outside the data
STATUS_MISSING_EVENT = 2  # a return (ticker or benchmark) is missing in the event window
STATUS_FEW_EST = 3  # fewer than ``min_obs`` valid estimation returns
STATUS_DEGENERATE = 4  # benchmark constant (market model) or zero residual variance


# --------------------------------------------------------------------------------------
# Estimation and abnormal returns
# --------------------------------------------------------------------------------------


@jit
def fit_1d_nb(y, x, model):
    """Fit the normal-return model on the pairs where ``y`` and ``x`` are both finite.

    Market model (Sharpe 1963; MacKinlay 1997, eq. 7-9): OLS ``y = alpha + beta x + e``,
    ``beta = Sxy / Sxx``, ``alpha = ybar - beta xbar``, ``sigma2 = sum(e^2) / (n - 2)``.
    Market-adjusted: ``alpha = 0, beta = 1``, ``e = y - x``,
    ``sigma2 = sum((e - ebar)^2) / (n - 1)``.

    Returns ``(alpha, beta, sigma2, n, xbar, sxx, frac_pos)`` where ``n`` is the number of
    valid pairs, ``xbar`` and ``sxx = sum((x - xbar)^2)`` feed the forecast-error
    correction, and ``frac_pos`` is the share of estimation abnormal returns
    ``y - alpha - beta x`` that are > 0 (the generalized sign test's ``p_hat``).
    Values that cannot be estimated are NaN.
    """
    nan = np.nan
    n = 0
    sx = 0.0
    sy = 0.0
    x_min = np.inf
    x_max = -np.inf
    for t in range(y.shape[0]):
        if np.isfinite(y[t]) and np.isfinite(x[t]):
            n += 1
            sx += x[t]
            sy += y[t]
            x_min = min(x_min, x[t])
            x_max = max(x_max, x[t])
    if n < 3:
        return nan, nan, nan, n, nan, nan, nan
    xbar = sx / n
    ybar = sy / n
    sxx = 0.0
    sxy = 0.0
    for t in range(y.shape[0]):
        if np.isfinite(y[t]) and np.isfinite(x[t]):
            dx = x[t] - xbar
            sxx += dx * dx
            sxy += dx * (y[t] - ybar)
    if model == MODEL_MARKET_MODEL:
        # A constant benchmark has no slope (tested exactly: rounding in xbar would
        # otherwise leave a tiny Sxx and an absurd beta).
        if x_max == x_min or not sxx > 0.0:
            return nan, nan, nan, n, xbar, sxx, nan
        beta = sxy / sxx
        alpha = ybar - beta * xbar
        ebar = 0.0
        dof = n - 2
    else:
        beta = 1.0
        alpha = 0.0
        ebar = ybar - xbar
        dof = n - 1
    ssr = 0.0
    npos = 0
    for t in range(y.shape[0]):
        if np.isfinite(y[t]) and np.isfinite(x[t]):
            e = y[t] - alpha - beta * x[t]
            if e > 0.0:
                npos += 1
            d = e - ebar
            ssr += d * d
    return alpha, beta, ssr / dof, n, xbar, sxx, npos / n


@jit
def event_1d_nb(r, bench, p, lo, hi, est_len, gap, model, min_obs, excl, ar_out, est_out, y):
    """One event row: fit on the estimation window, abnormal returns on the event window.

    ``r`` is one ticker's returns, ``p`` the position of day 0. ``excl`` (length
    ``est_len``) marks estimation days left out of the fit (they lie in an earlier event
    window of the ticker, :func:`est_exclusion`); they count as missing. Writes the
    event-window abnormal returns into ``ar_out`` (length ``hi - lo + 1``) and the
    estimation-window abnormal returns (NaN where a return is missing or the day is left
    out) into ``est_out`` (length ``est_len``); both stay NaN unless the status is
    ``STATUS_OK``. ``y`` (length ``est_len``) is scratch.

    Returns ``(status, alpha, beta, sigma2, n, xbar, sxx, frac_pos)``.
    """
    nan = np.nan
    n_w = hi - lo + 1
    for j in range(n_w):
        ar_out[j] = nan
    for j in range(est_len):
        est_out[j] = nan
    e0 = p + lo - gap - est_len
    if e0 < 0 or p + hi > r.shape[0] - 1:
        return STATUS_OUTSIDE, nan, nan, nan, 0, nan, nan, nan
    for j in range(n_w):
        t = p + lo + j
        if not (np.isfinite(r[t]) and np.isfinite(bench[t])):
            return STATUS_MISSING_EVENT, nan, nan, nan, 0, nan, nan, nan
    for j in range(est_len):
        y[j] = nan if excl[j] else r[e0 + j]
    alpha, beta, sigma2, n, xbar, sxx, frac_pos = fit_1d_nb(y, bench[e0 : e0 + est_len], model)
    if n < min_obs:
        return STATUS_FEW_EST, alpha, beta, sigma2, n, xbar, sxx, frac_pos
    if not (sigma2 > 0.0 and np.isfinite(beta)):
        return STATUS_DEGENERATE, alpha, beta, sigma2, n, xbar, sxx, frac_pos
    for j in range(est_len):
        t = e0 + j
        if np.isfinite(y[j]) and np.isfinite(bench[t]):
            est_out[j] = y[j] - alpha - beta * bench[t]
    for j in range(n_w):
        t = p + lo + j
        ar_out[j] = r[t] - alpha - beta * bench[t]
    return STATUS_OK, alpha, beta, sigma2, n, xbar, sxx, frac_pos


@jit
def event_ar_nb(
    rets, bench, col, pos, lo, hi, est_len, gap, model, min_obs, excl, ar, est_ar, status, n_est,
    fit, y,
):  # fmt: skip
    """Abnormal returns for every event row (loops :func:`event_1d_nb`) into the outputs
    :func:`event_ar` allocates: ``ar`` ``(n_rows, hi - lo + 1)``, ``est_ar``
    ``(n_rows, est_len)``, ``status`` and ``n_est`` ``(n_rows,)`` int64, and ``fit``
    ``(6, n_rows)``: alpha, beta, sigma2, xbar, sxx, frac_pos. ``excl``
    ``(n_rows, est_len)`` marks the estimation days each row leaves out; ``y``
    (``est_len``) is scratch.
    """
    for i in range(col.shape[0]):
        out = event_1d_nb(
            rets[col[i]], bench, pos[i], lo, hi, est_len, gap, model, min_obs, excl[i], ar[i],
            est_ar[i], y,
        )  # fmt: skip
        status[i] = out[0]
        n_est[i] = out[4]
        fit[0, i] = out[1]
        fit[1, i] = out[2]
        fit[2, i] = out[3]
        fit[3, i] = out[5]
        fit[4, i] = out[6]
        fit[5, i] = out[7]


@jit
def car_nb(ar, bench_ev, sigma2, n_est, xbar, sxx, model, win_a, win_b, car, scar):
    """CAR and standardized CAR per event row and CAR window.

    ``CAR_i = sum_{t=a..b} AR_it`` over ``tau = b - a + 1`` days.
    ``SCAR_i = CAR_i / (s_i sqrt(V_i))`` with the forecast-error variance factor
    (Patell 1976 for one day; Mikkelson & Partch 1988 and Campbell, Lo & MacKinlay 1997,
    sec. 4.4 for a sum of days):

        market model:     V_i = tau + tau^2 / M_i + (sum_t (Rm_t - Rm_bar_i))^2 / Sxx_i
        market-adjusted:  V_i = tau

    where ``M_i`` is the number of estimation returns, ``Rm_bar_i`` and ``Sxx_i`` the mean
    and centred sum of squares of the benchmark over the estimation window. For one day
    this is Patell's ``C_it = 1 + 1/M + (Rm_t - Rm_bar)^2 / Sxx``. Under normal errors
    ``SCAR_i`` is Student t with ``M_i - 2`` (market-adjusted: ``M_i - 1``) degrees of
    freedom.

    ``bench_ev`` holds the benchmark returns over the event window, shape like ``ar``.
    Writes ``car`` and ``scar``, each ``(n_rows, n_windows)`` (:func:`car` allocates them).
    """
    n_rows = ar.shape[0]
    n_win = win_a.shape[0]
    for i in range(n_rows):
        for w in range(n_win):
            tau = win_b[w] - win_a[w] + 1
            c = 0.0
            sm = 0.0
            for t in range(win_a[w], win_b[w] + 1):
                c += ar[i, t]
                sm += bench_ev[i, t] - xbar[i]
            if model == MODEL_MARKET_MODEL:
                v = tau + tau * tau / n_est[i] + sm * sm / sxx[i]
            else:
                v = float(tau)
            car[i, w] = c
            den = np.sqrt(sigma2[i] * v)
            scar[i, w] = c / den if den > 0.0 else np.nan


@jit
def uniform_ranks_nb(x, order, out, vals, where):
    """Per row, ranks of the finite entries divided by (their count + 1); NaN elsewhere.

    Ties get the average rank. This is the Corrado & Zivney (1992) standardized rank
    ``U_it = K_it / (M_i + 1)``, uniform on (0, 1) with mean 1/2 under the null.

    ``order``: each row's column indices by ascending value, NumPy's ``argsort`` along
    axis 1 (the caller sorts with NumPy: Numba's own sort takes seconds to compile). NaN
    sort last and -inf first, so the finite entries come in ascending order; the order of
    tied values does not change their average rank.

    Writes ``out`` (like ``x``, NaN-filled by :func:`uniform_ranks`); ``vals`` and ``where``
    (``n_cols``) are scratch.
    """
    n_rows, n_cols = x.shape
    for i in range(n_rows):
        m = 0
        for q in range(n_cols):
            j = order[i, q]
            if np.isfinite(x[i, j]):
                vals[m] = x[i, j]
                where[m] = j
                m += 1
        if m == 0:
            continue
        k = 0
        while k < m:
            k2 = k
            while k2 + 1 < m and vals[k2 + 1] == vals[k]:
                k2 += 1
            rank = 0.5 * (k + k2) + 1.0  # average of 1-based ranks k+1 .. k2+1
            for q in range(k, k2 + 1):
                out[i, where[q]] = rank / (m + 1.0)
            k = k2 + 1


@jit
def group_tests_nb(
    car, scar, dof, ranks, frac_pos, grp_ptr, grp_idx, win_a, win_b, n_est_days, n_out, stats,
    kbar, n_t,
):  # fmt: skip
    """Test statistics per group and CAR window.

    For group members ``i = 1..N`` and a CAR window of ``tau`` days:

    - ``caar = mean_i CAR_i``.
    - Cross-sectional t (Brown & Warner 1985, the cross-sectional-variance version):
      ``t_cs = caar / (sd_i(CAR_i) / sqrt(N))``, sd with ``N - 1``; Student t, ``N - 1`` df.
    - Patell Z (Patell 1976): ``Z = sum_i SCAR_i / sqrt(sum_i d_i / (d_i - 2))``, ``d_i``
      the residual degrees of freedom (so ``d_i / (d_i - 2)`` is the variance of a
      t-distributed ``SCAR_i``); standard normal.
    - BMP (Boehmer, Musumeci & Poulsen 1991):
      ``Z = mean_i SCAR_i / (sd_i(SCAR_i) / sqrt(N))``; Student t, ``N - 1`` df.
    - Corrado rank (Corrado 1989; Corrado & Zivney 1992 standardized ranks
      ``U_it = K_it / (M_i + 1)``; multi-day form of Campbell & Wasley 1993 / Cowan 1992):
      over the combined estimation + event days ``t``, ``Kbar_t = mean_i (U_it - 1/2)``
      over the ``N_t`` members with a return on day ``t``,
      ``S^2 = (1 / T) sum_t (N_t / N) Kbar_t^2`` over the ``T`` days with ``N_t > 0``, and
      ``Z = sum_{t in window} Kbar_t / (sqrt(tau) S)``; standard normal. For one day this
      is Corrado's ``Kbar_0 / S``.
    - Generalized sign (Cowan 1992): ``p_hat = mean_i frac_pos_i`` (share of positive
      estimation-window abnormal returns), ``w`` = number of ``CAR_i > 0``,
      ``Z = (w - N p_hat) / sqrt(N p_hat (1 - p_hat))``; standard normal.

    ``ranks`` is ``(n_rows, n_est_days + W)``: estimation days first, then the event
    window, so window day ``t`` of the event window is column ``n_est_days + t``.
    Writes ``n_out`` ``(n_groups,)`` and ``stats`` ``(6, n_groups, n_windows)``: caar, t_cs,
    patell, bmp, corrado, gsign, NaN where undefined (:func:`group_tests` allocates them,
    NaN-filled); ``kbar`` and ``n_t`` (``n_days``) are scratch.
    """
    n_grp = grp_ptr.shape[0] - 1
    n_win = win_a.shape[0]
    n_days = ranks.shape[1]
    caar = stats[0]
    t_cs = stats[1]
    patell = stats[2]
    bmp = stats[3]
    corrado = stats[4]
    gsign = stats[5]
    for g in range(n_grp):
        start = grp_ptr[g]
        stop = grp_ptr[g + 1]
        n = stop - start
        n_out[g] = n
        if n == 0:
            continue
        # Corrado: mean demeaned rank per day, then its time-series scale.
        for t in range(n_days):
            s = 0.0
            c = 0
            for q in range(start, stop):
                u = ranks[grp_idx[q], t]
                if np.isfinite(u):
                    s += u - 0.5
                    c += 1
            n_t[t] = c
            kbar[t] = s / c if c > 0 else 0.0
        s2k = 0.0
        t_used = 0
        for t in range(n_days):
            if n_t[t] > 0:
                s2k += (n_t[t] / n) * kbar[t] * kbar[t]
                t_used += 1
        s_k = np.sqrt(s2k / t_used) if t_used > 0 else 0.0
        # Generalized sign: p_hat from the estimation windows.
        p_hat = 0.0
        for q in range(start, stop):
            p_hat += frac_pos[grp_idx[q]]
        p_hat /= n
        # Patell: variance of the sum of n t-distributed SCARs.
        var_sum = 0.0
        for q in range(start, stop):
            d = dof[grp_idx[q]]
            var_sum += d / (d - 2.0)
        for w in range(n_win):
            sc = 0.0
            ss = 0.0
            n_pos = 0
            for q in range(start, stop):
                i = grp_idx[q]
                sc += car[i, w]
                ss += scar[i, w]
                if car[i, w] > 0.0:
                    n_pos += 1
            mc = sc / n
            ms = ss / n
            caar[g, w] = mc
            if var_sum > 0.0:
                patell[g, w] = ss / np.sqrt(var_sum)
            if n > 1:
                vc = 0.0
                vs = 0.0
                for q in range(start, stop):
                    i = grp_idx[q]
                    dc = car[i, w] - mc
                    ds = scar[i, w] - ms
                    vc += dc * dc
                    vs += ds * ds
                sdc = np.sqrt(vc / (n - 1))
                sds = np.sqrt(vs / (n - 1))
                if sdc > 0.0:
                    t_cs[g, w] = mc / (sdc / np.sqrt(n))
                if sds > 0.0:
                    bmp[g, w] = ms / (sds / np.sqrt(n))
            tau = win_b[w] - win_a[w] + 1
            if s_k > 0.0:
                sk = 0.0
                for t in range(win_a[w], win_b[w] + 1):
                    sk += kbar[n_est_days + t]
                corrado[g, w] = sk / (np.sqrt(tau) * s_k)
            if 0.0 < p_hat < 1.0:
                gsign[g, w] = (n_pos - n * p_hat) / np.sqrt(n * p_hat * (1.0 - p_hat))


@jit
def shared_date_rbar_nb(est_ar, pos, grp_ptr, day0_idx, min_obs, rbar, n_shared):
    """Kolari & Pynnonen (2010): mean cross-correlation of abnormal returns per group.

    Rows whose day 0 is the same session (``pos`` equal) share their estimation window
    session for session, and their abnormal returns are correlated when the tickers are
    (several tickers hit by one event; two events on one date). For each such pair ``i != j``
    in a group, ``r_ij`` is the Pearson correlation of their estimation-window abnormal
    returns ``est_ar`` over the days both are finite (at least ``min_obs``, else 0). Pairs
    with different day-0 sessions count as uncorrelated (``r_ij = 0``), so with ``N`` rows

        rbar = sum_{i != j, pos_i = pos_j} r_ij / (N (N - 1)),

    the average of the off-diagonal correlation matrix KP use. Under that correlation
    ``Var(mean SCAR) = s^2 (1 + (N - 1) rbar) / N`` while the cross-sectional variance
    estimates ``s^2 (1 - rbar)``, hence KP's adjusted BMP
    ``t_kp = t_bmp sqrt((1 - rbar) / (1 + (N - 1) rbar))`` and adjusted Patell
    ``z_kp = z_patell / sqrt(1 + (N - 1) rbar)`` (:func:`kp_adjust`).

    Returns ``(rbar, n_shared)`` per group: ``n_shared`` counts rows that share their day 0
    with another row of the group (0: no clustering, ``rbar = 0``). ``rbar`` is NaN for
    groups with fewer than two rows.

    ``day0_idx``: the groups' rows (CSR with ``grp_ptr``), each group's rows in the stable
    order of their day 0 ``pos`` (the caller sorts with NumPy, ``kind="stable"``: Numba's
    own sort takes seconds to compile). Pair correlations are summed in this order.
    ``rbar`` (NaN-filled) and ``n_shared`` (zeroed) are the outputs
    (:func:`shared_date_rbar` allocates them).
    """
    n_grp = grp_ptr.shape[0] - 1
    for g in range(n_grp):
        start = grp_ptr[g]
        stop = grp_ptr[g + 1]
        n = stop - start
        if n < 2:
            continue
        members = day0_idx[start:stop]
        total = 0.0
        a = 0
        while a < n:  # one block of rows with the same day 0 at a time
            b = a
            while b + 1 < n and pos[members[b + 1]] == pos[members[a]]:
                b += 1
            if b > a:
                n_shared[g] += b - a + 1
                for x in range(a, b + 1):
                    for y in range(x + 1, b + 1):
                        total += 2.0 * _pair_corr_nb(
                            est_ar[members[x]], est_ar[members[y]], min_obs
                        )
            a = b + 1
        rbar[g] = total / (n * (n - 1.0))


@jit
def _pair_corr_nb(u, v, min_obs):
    """Pearson correlation of ``u`` and ``v`` over the days both are finite; 0 with fewer
    than ``max(min_obs, 3)`` such days or a constant series."""
    m = 0
    su = 0.0
    sv = 0.0
    for t in range(u.shape[0]):
        if np.isfinite(u[t]) and np.isfinite(v[t]):
            m += 1
            su += u[t]
            sv += v[t]
    if m < min_obs or m < 3:
        return 0.0
    mu = su / m
    mv = sv / m
    suu = 0.0
    svv = 0.0
    suv = 0.0
    for t in range(u.shape[0]):
        if np.isfinite(u[t]) and np.isfinite(v[t]):
            du = u[t] - mu
            dv = v[t] - mv
            suu += du * du
            svv += dv * dv
            suv += du * dv
    den = np.sqrt(suu * svv)
    return suv / den if den > 0.0 else 0.0


@jit
def bootstrap_caar_nb(cl_ptr, cl_sum, cl_cnt, u, out, acc):
    """Bootstrap CAARs: draw ``C_g`` of group ``g``'s ``C_g`` events with replacement.

    Draw ``b`` picks event ``floor(u[b, j] * C_g)`` for ``j < C_g``; the CAAR of the draw
    is the sum of the picked events' CARs over the number of rows they hold.
    ``u`` is ``(n_draws, >= max C_g)``. Writes ``out`` ``(n_groups, n_draws, n_windows)``,
    NaN-filled by :func:`bootstrap_caar`; ``acc`` (``n_windows``) is scratch.
    """
    n_grp = cl_ptr.shape[0] - 1
    n_draw = u.shape[0]
    n_win = cl_sum.shape[1]
    for g in range(n_grp):
        base = cl_ptr[g]
        n_cl = cl_ptr[g + 1] - base
        if n_cl == 0:
            continue
        for b in range(n_draw):
            for w in range(n_win):
                acc[w] = 0.0
            rows = 0
            for j in range(n_cl):
                k = base + int(u[b, j] * n_cl)
                rows += cl_cnt[k]
                for w in range(n_win):
                    acc[w] += cl_sum[k, w]
            for w in range(n_win):
                out[g, b, w] = acc[w] / rows


@jit
def placebo_car_nb(
    rets, bench, cols, excl_ptr, excl_pos, lo, hi, est_len, gap, model, min_obs, win_a, win_b,
    out, blocked, inwin, c_n, sums,
):  # fmt: skip
    """CAR of a pseudo-event at every session of every ticker in ``cols``.

    ``out[u, p, w]`` is the CAR in window ``w`` of a pseudo-event of ticker ``cols[u]``
    with day 0 at session ``p``, with the same model, windows and skip rules as a real
    event (:func:`event_1d_nb`). It is NaN where the session is not eligible: the
    estimation + event window runs outside the data, the event would be skipped (missing
    returns in the event window, fewer than ``min_obs`` estimation returns, a constant
    benchmark or zero residual variance), or its event window intersects the event window
    of a real event of that ticker (``|p - q| <= hi - lo`` for a real day 0 ``q`` in
    ``excl_pos[excl_ptr[u]:excl_ptr[u + 1]]``). As for a real event
    (:func:`est_exclusion`), estimation days inside a real event window of the ticker
    are left out of the fit.

    Every session needs its own fit, so the estimation sums come from prefix sums of the
    returns (shifted by their mean, which keeps the centred sums accurate): O(1) per
    session instead of O(est_len). Results equal the direct fit to rounding (~1e-13
    relative); degenerate fits are detected with a 1e-10 relative threshold.

    Writes ``out`` ``(n_cols, n_sessions, n_windows)``, NaN-filled by :func:`placebo_car`,
    which also allocates the scratch: ``blocked`` and ``inwin`` (``n_sessions``, bool),
    the prefix sums ``c_n`` (``n_sessions + 1``, int64) and ``sums`` (``(7, n_sessions +
    1)``), zeroed.
    """
    n_cols = cols.shape[0]
    n_ses = rets.shape[1]
    n_win = win_a.shape[0]
    n_w = hi - lo + 1
    width = hi - lo
    # inwin: inside a real event window, so not an estimation day
    c_x = sums[0]
    c_y = sums[1]
    c_xx = sums[2]
    c_xy = sums[3]
    c_yy = sums[4]
    c_r = sums[5]
    c_m = sums[6]
    for u in range(n_cols):
        r = rets[cols[u]]
        inwin[:] = False
        for q in range(excl_ptr[u], excl_ptr[u + 1]):
            for t in range(max(excl_pos[q] + lo, 0), min(excl_pos[q] + hi, n_ses - 1) + 1):
                inwin[t] = True
        k = 0
        mx = 0.0
        my = 0.0
        for t in range(n_ses):
            if np.isfinite(r[t]) and np.isfinite(bench[t]) and not inwin[t]:
                k += 1
                mx += bench[t]
                my += r[t]
        if k > 0:
            mx /= k
            my /= k
        for t in range(n_ses):
            if np.isfinite(r[t]) and np.isfinite(bench[t]) and not inwin[t]:
                dx = bench[t] - mx
                dy = r[t] - my
                c_n[t + 1] = c_n[t] + 1
                c_x[t + 1] = c_x[t] + dx
                c_y[t + 1] = c_y[t] + dy
                c_xx[t + 1] = c_xx[t] + dx * dx
                c_xy[t + 1] = c_xy[t] + dx * dy
                c_yy[t + 1] = c_yy[t] + dy * dy
                c_r[t + 1] = c_r[t] + r[t]
                c_m[t + 1] = c_m[t] + bench[t]
            else:
                c_n[t + 1] = c_n[t]
                c_x[t + 1] = c_x[t]
                c_y[t + 1] = c_y[t]
                c_xx[t + 1] = c_xx[t]
                c_xy[t + 1] = c_xy[t]
                c_yy[t + 1] = c_yy[t]
                c_r[t + 1] = c_r[t]
                c_m[t + 1] = c_m[t]
        blocked[:] = False
        for q in range(excl_ptr[u], excl_ptr[u + 1]):
            for p in range(max(excl_pos[q] - width, 0), min(excl_pos[q] + width, n_ses - 1) + 1):
                blocked[p] = True
        for p in range(max(gap + est_len - lo, 0), n_ses - hi):
            if blocked[p] or c_n[p + hi + 1] - c_n[p + lo] != n_w:
                continue
            e0 = p + lo - gap - est_len
            e1 = e0 + est_len
            n = c_n[e1] - c_n[e0]
            if n < min_obs or n < 3:
                continue
            sx = c_x[e1] - c_x[e0]
            sy = c_y[e1] - c_y[e0]
            sxx_raw = c_xx[e1] - c_xx[e0]
            syy_raw = c_yy[e1] - c_yy[e0]
            sxx = sxx_raw - sx * sx / n
            sxy = (c_xy[e1] - c_xy[e0]) - sx * sy / n
            syy = syy_raw - sy * sy / n
            if model == MODEL_MARKET_MODEL:
                if not sxx > 1e-10 * sxx_raw:
                    continue
                beta = sxy / sxx
                if not syy - beta * sxy > 1e-10 * syy_raw:
                    continue
                alpha = (my + sy / n) - beta * (mx + sx / n)
            else:
                beta = 1.0
                alpha = 0.0
                if not syy - 2.0 * sxy + sxx > 1e-10 * (syy_raw + sxx_raw):
                    continue
            for w in range(n_win):
                a = p + lo + win_a[w]
                b = p + lo + win_b[w] + 1
                out[u, p, w] = (c_r[b] - c_r[a]) - (b - a) * alpha - beta * (c_m[b] - c_m[a])


@jit
def placebo_caar_nb(
    cand_car, row_ucol, row_cluster, el_ptr, el_pos, u, grp_ptr, grp_idx, out, sess, acc
):
    """Placebo CAARs: per draw, one eligible pseudo session per event, mean CAR per group.

    Draw ``d`` puts event ``c`` at session ``el_pos[el_ptr[c] + floor(u[d, c] * E_c)]``
    (``E_c`` eligible sessions); row ``i`` then takes ``cand_car[row_ucol[i], session]``.
    A group holding an event with no eligible session gets NaN.
    ``u`` is ``(n_draws, n_clusters)``. Writes ``out`` ``(n_groups, n_draws, n_windows)``,
    NaN-filled by :func:`placebo_caar`; ``sess`` (``n_clusters``, int64) and ``acc``
    (``n_windows``) are scratch.
    """
    n_grp = grp_ptr.shape[0] - 1
    n_draw = u.shape[0]
    n_cl = el_ptr.shape[0] - 1
    n_win = cand_car.shape[2]
    for d in range(n_draw):
        for c in range(n_cl):
            e = el_ptr[c + 1] - el_ptr[c]
            sess[c] = el_pos[el_ptr[c] + int(u[d, c] * e)] if e > 0 else -1
        for g in range(n_grp):
            n = grp_ptr[g + 1] - grp_ptr[g]
            if n == 0:
                continue
            for w in range(n_win):
                acc[w] = 0.0
            ok = True
            for q in range(grp_ptr[g], grp_ptr[g + 1]):
                i = grp_idx[q]
                s = sess[row_cluster[i]]
                if s < 0:
                    ok = False
                    break
                for w in range(n_win):
                    acc[w] += cand_car[row_ucol[i], s, w]
            if ok:
                for w in range(n_win):
                    out[g, d, w] = acc[w] / n


# --------------------------------------------------------------------------------------
# NumPy, not kernels: the steps whose work NumPy does whole-array (searches, flags, counts,
# element-wise formulas). A kernel each cost 0.2-1.2 s of compile on a cold cache for work
# that takes NumPy microseconds; every result here equals the loop it replaced bit for bit
# (integer work, or the same IEEE operations element by element).
# --------------------------------------------------------------------------------------


def ticker_pos_key(col, pos):
    """One int64 key per event row that sorts by ticker, then by session position, and the
    span (max position + 1, at least 1) that separates tickers in the key.

    The caller sorts the key for :func:`overlap_flags`, :func:`est_overlap_flags` and
    :func:`est_exclusion`.
    """
    span = max(int(pos.max()), 0) + 1 if pos.shape[0] else 1
    return (col * span + pos).astype(np.int64, copy=False), span


def overlap_flags(col, pos, order, width):
    """True for each event row whose window intersects another row's on the same ticker.

    Two windows ``[p + lo, p + hi]`` of the same length intersect iff
    ``|p1 - p2| <= width`` with ``width = hi - lo``. ``order``: the rows by ticker, then by
    day 0 (the stable ``argsort`` of the key from :func:`ticker_pos_key`).
    """
    flags = np.zeros(col.shape[0], dtype=np.bool_)
    i, j = order[:-1], order[1:]
    hit = (col[i] == col[j]) & (pos[j] - pos[i] <= width)
    flags[i[hit]] = True
    flags[j[hit]] = True
    return flags


def est_overlap_flags(col, pos, skey, span, lo, hi, est_len, gap):
    """True for each event row whose estimation window holds part of the event window of
    another row on the same ticker (so an event effect there would bias alpha and beta).

    The event window ``[q + lo, q + hi]`` of a row at ``q`` meets the estimation window
    ``[p + lo - gap - est_len, p + lo - gap - 1]`` of a row at ``p`` iff
    ``p - gap - est_len - (hi - lo) <= q <= p - gap - 1``.

    ``skey``, ``span``: the key and span from :func:`ticker_pos_key`, the key sorted.
    """
    if col.shape[0] < 2:
        return np.zeros(col.shape[0], dtype=np.bool_)
    q_hi = pos - gap - 1
    q_lo = np.maximum(pos - gap - est_len - (hi - lo), 0)
    a = np.searchsorted(skey, col * span + q_lo)
    b = np.searchsorted(skey, col * span + q_hi, side="right")
    return (q_hi >= q_lo) & (b > a)


def est_exclusion(col, pos, skey, span, lo, hi, est_len, gap):
    """The estimation days each event row leaves out: those inside the event window of an
    earlier row on the same ticker (event-study practice: an estimation window measures
    normal returns, and an event window is not normal).

    ``excl[i, j]`` is True when estimation day ``j`` of row ``i`` (session
    ``pos[i] + lo - gap - est_len + j``) lies in ``[q + lo, q + hi]`` for the day 0 ``q``
    of another row of the same ticker. Only earlier rows can qualify: the estimation window
    ends before the row's own event window starts. Returns ``(excl, n_excl)``, ``n_excl``
    the count per row.

    ``skey``, ``span``: the key and span from :func:`ticker_pos_key`, the key sorted.
    """
    n = col.shape[0]
    if n < 2:
        return np.zeros((n, est_len), dtype=np.bool_), np.zeros(n, dtype=np.int64)
    e0 = pos + lo - gap - est_len
    # rows whose event window [q + lo, q + hi] meets [e0, e0 + est_len - 1]
    q_lo = np.maximum(e0 - hi, 0)
    q_hi = e0 + est_len - 1 - lo
    a = np.searchsorted(skey, col * span + q_lo)
    b = np.searchsorted(skey, col * span + np.minimum(q_hi, span - 1), side="right")
    cnt = np.where(q_hi >= q_lo, np.maximum(b - a, 0), 0)
    # one (row, earlier day 0) pair per entry of skey[a[i]:b[i]]
    row = np.repeat(np.arange(n), cnt)
    k = np.arange(row.shape[0]) + np.repeat(a - (np.cumsum(cnt) - cnt), cnt)
    q = skey[k] - col[row] * span
    first = np.maximum(q + lo, e0[row]) - e0[row]
    last = np.minimum(q + hi, e0[row] + est_len - 1) - e0[row]
    some = first <= last
    # each pair covers days first..last of its row: +1 at first, -1 after last, cumulated
    cover = np.zeros((n, est_len + 1), dtype=np.int64)
    np.add.at(cover, (row[some], first[some]), 1)
    np.add.at(cover, (row[some], last[some] + 1), -1)
    excl = np.cumsum(cover[:, :est_len], axis=1) > 0
    return excl, np.count_nonzero(excl, axis=1).astype(np.int64)


def kp_adjust(n, rbar, bmp, patell):
    """Kolari-Pynnonen adjusted BMP and Patell statistics (see :func:`shared_date_rbar_nb`).

    ``n`` and ``rbar`` are per group, ``bmp`` and ``patell`` ``(n_groups, n_windows)``.
    The adjustment uses ``max(rbar, 0)``: it corrects for positive cross-correlation, and
    a negative estimate (noise, or a benchmark that holds the studied tickers, whose
    residuals then move against each other) would inflate the statistics, so it leaves
    them as they are. NaN where ``rbar`` is NaN or the variance factors are not positive.
    """
    bmp_kp = np.full(bmp.shape, np.nan)
    patell_kp = np.full(bmp.shape, np.nan)
    fin = np.isfinite(rbar)
    r = np.maximum(rbar[fin], 0.0)
    infl = 1.0 + (n[fin] - 1.0) * r
    ok = (infl > 0.0) & (1.0 - r > 0.0)
    g = np.flatnonzero(fin)[ok]
    r, infl = r[ok], infl[ok]
    bmp_kp[g] = bmp[g] * np.sqrt((1.0 - r) / infl)[:, None]
    patell_kp[g] = patell[g] * (1.0 / np.sqrt(infl))[:, None]
    return bmp_kp, patell_kp


def percentile_ci(sdraws, level):
    """Percentile interval ``[q(1 - level) / 2, q(1 + level) / 2]`` over axis 1 of the
    draws ``(n_groups, n_draws, n_windows)``, ignoring NaN and infinities. Returns
    ``(lo, hi)``.

    ``sdraws``: the draws sorted along axis 1 (NaN sort last and -inf first, so the finite
    draws of a (group, window) are one ascending run). Each quantile is NumPy's default
    'linear' method on that run, its ``_lerp`` written out (``a + d t``, from the nearer
    end for ``t >= 1/2``).
    """
    n_grp, n_draw, n_win = sdraws.shape
    if n_draw == 0:
        return np.full((n_grp, n_win), np.nan), np.full((n_grp, n_win), np.nan)
    start = np.count_nonzero(sdraws == -np.inf, axis=1)
    m = np.count_nonzero(np.isfinite(sdraws), axis=1)

    def draw(j):  # the j-th finite draw (clipped into the array where there is none)
        at = np.clip(start + np.clip(j, 0, np.maximum(m - 1, 0)), 0, n_draw - 1)
        return np.take_along_axis(sdraws, at[:, None], axis=1)[:, 0]

    out = []
    for q in (0.5 * (1.0 - level), 0.5 * (1.0 + level)):
        h = (m - 1) * q
        i = np.floor(h).astype(np.int64)
        a = draw(i)
        b = draw(i + 1)
        t = h - i
        with np.errstate(invalid="ignore"):  # the masked-out cells may hold inf or NaN
            d = b - a
            v = np.where(t >= 0.5, b - d * (1.0 - t), a + d * t)
        v = np.where(i >= m - 1, b, v)  # b is the last finite draw there
        out.append(np.where(m > 0, v, np.nan))
    return out[0], out[1]


def placebo_sessions(ok, cl_ptr, cl_cols):
    """Sessions eligible for each event: eligible for every ticker the event holds.

    ``ok`` is ``(n_cols, n_sessions)`` (a finite placebo CAR); the tickers (rows of ``ok``)
    of event ``c`` are ``cl_cols[cl_ptr[c]:cl_ptr[c + 1]]``. A multi-ticker event draws one
    pseudo date for all its tickers, which keeps the cross-sectional dependence of events
    that share a date. Returns CSR ``(el_ptr, el_pos)`` of eligible sessions (ascending).
    """
    # not-ok counts per event and session, from running sums over the events' ticker rows
    bad = np.zeros((cl_cols.shape[0] + 1, ok.shape[1]), dtype=np.int64)
    np.cumsum(~ok[cl_cols], axis=0, out=bad[1:])
    keep = (bad[cl_ptr[1:]] == bad[cl_ptr[:-1]]) & (cl_ptr[1:] > cl_ptr[:-1])[:, None]
    el_ptr = np.zeros(cl_ptr.shape[0], dtype=np.int64)
    np.cumsum(np.count_nonzero(keep, axis=1), out=el_ptr[1:])
    return el_ptr, np.nonzero(keep)[1].astype(np.int64)


def empirical_p(obs, draws):
    """Two-sided empirical p-value with the +1 correction (Davison & Hinkley 1997, 4.2):

    ``p = min(1, 2 min(1 + #{D >= obs}, 1 + #{D <= obs}) / (n + 1))`` over the ``n``
    finite draws ``D``. Equal-tailed, so a null distribution not centred on zero is
    handled. ``obs`` is ``(n_groups, n_windows)``, ``draws`` ``(n_groups, n_draws,
    n_windows)``; NaN where ``obs`` is NaN or there are no finite draws.
    """
    fin = np.isfinite(draws)
    x = obs[:, None, :]
    n = np.count_nonzero(fin, axis=1)
    ge = np.count_nonzero(fin & (draws >= x), axis=1)
    le = np.count_nonzero(fin & (draws <= x), axis=1)
    p = 2.0 * (1.0 + np.minimum(ge, le)) / (n + 1.0)
    return np.where(np.isfinite(obs) & (n > 0), np.minimum(p, 1.0), np.nan)


# --------------------------------------------------------------------------------------
# The kernels' NumPy faces: each allocates what its kernel writes (an allocation inside a
# kernel compiles NumPy's allocator for it, about 0.1-0.3 s each on a cold cache) and
# returns what the kernel used to.
# --------------------------------------------------------------------------------------


def event_ar(rets, bench, col, pos, lo, hi, est_len, gap, model, min_obs, excl):
    """Abnormal returns for every event row (:func:`event_ar_nb`); ``excl``
    ``(n_rows, est_len)`` marks the estimation days each row leaves out.

    Returns ``(ar, est_ar, status, alpha, beta, sigma2, n_est, xbar, sxx, frac_pos)``
    with ``ar`` of shape ``(n_rows, hi - lo + 1)`` and ``est_ar`` of shape
    ``(n_rows, est_len)``.
    """
    n_rows = col.shape[0]
    ar = np.empty((n_rows, hi - lo + 1))
    est_ar = np.empty((n_rows, est_len))
    status = np.empty(n_rows, dtype=np.int64)
    n_est = np.empty(n_rows, dtype=np.int64)
    fit = np.empty((6, n_rows))
    event_ar_nb(
        rets, bench, col, pos, lo, hi, est_len, gap, model, min_obs, excl, ar, est_ar, status,
        n_est, fit, np.empty(est_len),
    )  # fmt: skip
    alpha, beta, sigma2, xbar, sxx, frac_pos = fit
    return ar, est_ar, status, alpha, beta, sigma2, n_est, xbar, sxx, frac_pos


def car(ar, bench_ev, sigma2, n_est, xbar, sxx, model, win_a, win_b):
    """CAR and standardized CAR per event row and CAR window (:func:`car_nb`): ``(car,
    scar)``, each ``(n_rows, n_windows)``."""
    shape = (ar.shape[0], win_a.shape[0])
    out, s_out = np.empty(shape), np.empty(shape)
    car_nb(ar, bench_ev, sigma2, n_est, xbar, sxx, model, win_a, win_b, out, s_out)
    return out, s_out


def uniform_ranks(x, order):
    """Per row, ranks of the finite entries divided by (their count + 1); NaN elsewhere
    (:func:`uniform_ranks_nb`)."""
    out = np.full(x.shape, np.nan)
    uniform_ranks_nb(x, order, out, np.empty(x.shape[1]), np.empty(x.shape[1], dtype=np.int64))
    return out


def group_tests(car, scar, dof, ranks, frac_pos, grp_ptr, grp_idx, win_a, win_b, n_est_days):
    """Test statistics per group and CAR window (:func:`group_tests_nb`): ``(n, caar, t_cs,
    patell, bmp, corrado, gsign)``; ``n`` has shape ``(n_groups,)``, the rest
    ``(n_groups, n_windows)``. Undefined values are NaN."""
    n_grp = grp_ptr.shape[0] - 1
    n_out = np.zeros(n_grp, dtype=np.int64)
    stats = np.full((6, n_grp, win_a.shape[0]), np.nan)
    n_days = ranks.shape[1]
    group_tests_nb(
        car, scar, dof, ranks, frac_pos, grp_ptr, grp_idx, win_a, win_b, n_est_days, n_out,
        stats, np.empty(n_days), np.empty(n_days, dtype=np.int64),
    )  # fmt: skip
    return (n_out, *stats)


def shared_date_rbar(est_ar, pos, grp_ptr, day0_idx, min_obs):
    """Kolari & Pynnonen's mean cross-correlation per group (:func:`shared_date_rbar_nb`):
    ``(rbar, n_shared)``."""
    n_grp = grp_ptr.shape[0] - 1
    rbar = np.full(n_grp, np.nan)
    n_shared = np.zeros(n_grp, dtype=np.int64)
    shared_date_rbar_nb(est_ar, pos, grp_ptr, day0_idx, min_obs, rbar, n_shared)
    return rbar, n_shared


def cluster_sums(car, cluster, n_clusters, grp_ptr, grp_idx):
    """Per group, the CAR sums and row counts of each event (cluster) it contains.

    An event that moves several tickers is one cluster, so the bootstrap resamples events,
    not rows. Returns CSR ``(cl_ptr, cl_sum, cl_cnt)``: the clusters of group ``g`` are
    entries ``cl_ptr[g]:cl_ptr[g + 1]`` of ``cl_sum`` (``(n, n_windows)``) and ``cl_cnt``,
    in increasing cluster id. Each sum adds its rows' CARs in group order, from 0.0
    (``np.add.at`` applies its indices in order).
    """
    n_grp = grp_ptr.shape[0] - 1
    grp_of = np.repeat(np.arange(n_grp, dtype=np.int64), np.diff(grp_ptr))
    # one key per (group, cluster), in the output's order
    keys, slot = np.unique(grp_of * n_clusters + cluster[grp_idx], return_inverse=True)
    cl_ptr = np.zeros(n_grp + 1, dtype=np.int64)
    if keys.shape[0]:
        np.cumsum(np.bincount(keys // n_clusters, minlength=n_grp), out=cl_ptr[1:])
    cl_sum = np.zeros((keys.shape[0], car.shape[1]))
    np.add.at(cl_sum, slot, car[grp_idx])
    return cl_ptr, cl_sum, np.bincount(slot, minlength=keys.shape[0]).astype(np.int64)


def bootstrap_caar(cl_ptr, cl_sum, cl_cnt, u):
    """Bootstrap CAARs (:func:`bootstrap_caar_nb`): ``(n_groups, n_draws, n_windows)``."""
    out = np.full((cl_ptr.shape[0] - 1, u.shape[0], cl_sum.shape[1]), np.nan)
    bootstrap_caar_nb(cl_ptr, cl_sum, cl_cnt, u, out, np.empty(cl_sum.shape[1]))
    return out


def placebo_car(
    rets, bench, cols, excl_ptr, excl_pos, lo, hi, est_len, gap, model, min_obs, win_a, win_b
):
    """CAR of a pseudo-event at every session of every ticker in ``cols``
    (:func:`placebo_car_nb`): ``(n_cols, n_sessions, n_windows)``, NaN where not eligible."""
    n_ses = rets.shape[1]
    out = np.full((cols.shape[0], n_ses, win_a.shape[0]), np.nan)
    placebo_car_nb(
        rets, bench, cols, excl_ptr, excl_pos, lo, hi, est_len, gap, model, min_obs, win_a,
        win_b, out, np.empty(n_ses, dtype=np.bool_), np.empty(n_ses, dtype=np.bool_),
        np.zeros(n_ses + 1, dtype=np.int64), np.zeros((7, n_ses + 1)),
    )  # fmt: skip
    return out


def placebo_caar(cand_car, row_ucol, row_cluster, el_ptr, el_pos, u, grp_ptr, grp_idx):
    """Placebo CAARs (:func:`placebo_caar_nb`): ``(n_groups, n_draws, n_windows)``."""
    n_win = cand_car.shape[2]
    out = np.full((grp_ptr.shape[0] - 1, u.shape[0], n_win), np.nan)
    placebo_caar_nb(
        cand_car, row_ucol, row_cluster, el_ptr, el_pos, u, grp_ptr, grp_idx, out,
        np.empty(el_ptr.shape[0] - 1, dtype=np.int64), np.empty(n_win),
    )  # fmt: skip
    return out
