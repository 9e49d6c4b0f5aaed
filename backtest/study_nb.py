"""Numba kernels for the event study: arrays in, arrays out, no pandas.

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
def event_1d_nb(r, bench, p, lo, hi, est_len, gap, model, min_obs, excl, ar_out, est_out):
    """One event row: fit on the estimation window, abnormal returns on the event window.

    ``r`` is one ticker's returns, ``p`` the position of day 0. ``excl`` (length
    ``est_len``) marks estimation days left out of the fit (they lie in an earlier event
    window of the ticker, :func:`est_exclusion_nb`); they count as missing. Writes the
    event-window abnormal returns into ``ar_out`` (length ``hi - lo + 1``) and the
    estimation-window abnormal returns (NaN where a return is missing or the day is left
    out) into ``est_out`` (length ``est_len``); both stay NaN unless the status is
    ``STATUS_OK``.

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
    y = r[e0 : e0 + est_len].copy()
    for j in range(est_len):
        if excl[j]:
            y[j] = nan
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
def event_ar_nb(rets, bench, col, pos, lo, hi, est_len, gap, model, min_obs, excl):
    """Abnormal returns for every event row (loops :func:`event_1d_nb`); ``excl``
    ``(n_rows, est_len)`` marks the estimation days each row leaves out.

    Returns ``(ar, est_ar, status, alpha, beta, sigma2, n_est, xbar, sxx, frac_pos)``
    with ``ar`` of shape ``(n_rows, hi - lo + 1)`` and ``est_ar`` of shape
    ``(n_rows, est_len)``.
    """
    n_rows = col.shape[0]
    n_w = hi - lo + 1
    ar = np.empty((n_rows, n_w))
    est_ar = np.empty((n_rows, est_len))
    status = np.empty(n_rows, dtype=np.int64)
    n_est = np.empty(n_rows, dtype=np.int64)
    alpha = np.empty(n_rows)
    beta = np.empty(n_rows)
    sigma2 = np.empty(n_rows)
    xbar = np.empty(n_rows)
    sxx = np.empty(n_rows)
    frac_pos = np.empty(n_rows)
    for i in range(n_rows):
        out = event_1d_nb(
            rets[col[i]],
            bench,
            pos[i],
            lo,
            hi,
            est_len,
            gap,
            model,
            min_obs,
            excl[i],
            ar[i],
            est_ar[i],
        )
        status[i] = out[0]
        alpha[i] = out[1]
        beta[i] = out[2]
        sigma2[i] = out[3]
        n_est[i] = out[4]
        xbar[i] = out[5]
        sxx[i] = out[6]
        frac_pos[i] = out[7]
    return ar, est_ar, status, alpha, beta, sigma2, n_est, xbar, sxx, frac_pos


@jit
def car_nb(ar, bench_ev, sigma2, n_est, xbar, sxx, model, win_a, win_b):
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
    Returns ``(car, scar)``, each ``(n_rows, n_windows)``.
    """
    n_rows = ar.shape[0]
    n_win = win_a.shape[0]
    car = np.empty((n_rows, n_win))
    scar = np.empty((n_rows, n_win))
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
    return car, scar


@jit
def uniform_ranks_nb(x, order):
    """Per row, ranks of the finite entries divided by (their count + 1); NaN elsewhere.

    Ties get the average rank. This is the Corrado & Zivney (1992) standardized rank
    ``U_it = K_it / (M_i + 1)``, uniform on (0, 1) with mean 1/2 under the null.

    ``order``: each row's column indices by ascending value, NumPy's ``argsort`` along
    axis 1 (the caller sorts with NumPy: Numba's own sort takes seconds to compile). NaN
    sort last and -inf first, so the finite entries come in ascending order; the order of
    tied values does not change their average rank.
    """
    n_rows, n_cols = x.shape
    out = np.full((n_rows, n_cols), np.nan)
    vals = np.empty(n_cols)
    where = np.empty(n_cols, dtype=np.int64)
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
    return out


@jit
def ticker_pos_key_nb(col, pos):
    """One int64 key per event row that sorts by ticker, then by session position, and the
    span (max position + 1) that separates tickers in the key.

    The caller sorts the key with NumPy for :func:`overlap_flags_nb`,
    :func:`est_overlap_flags_nb` and :func:`est_exclusion_nb`.
    """
    n = col.shape[0]
    span = 0
    for i in range(n):
        if pos[i] > span:
            span = pos[i]
    span += 1
    key = np.empty(n, dtype=np.int64)
    for i in range(n):
        key[i] = col[i] * span + pos[i]
    return key, span


@jit
def overlap_flags_nb(col, pos, order, width):
    """True for each event row whose window intersects another row's on the same ticker.

    Two windows ``[p + lo, p + hi]`` of the same length intersect iff
    ``|p1 - p2| <= width`` with ``width = hi - lo``.

    ``order``: the rows by ticker, then by day 0: the stable ``argsort`` of the key from
    :func:`ticker_pos_key_nb` (the caller sorts with NumPy: Numba's own sort takes seconds
    to compile).
    """
    n = col.shape[0]
    flags = np.zeros(n, dtype=np.bool_)
    if n < 2:
        return flags
    for q in range(n - 1):
        i = order[q]
        j = order[q + 1]
        if col[i] == col[j] and pos[j] - pos[i] <= width:
            flags[i] = True
            flags[j] = True
    return flags


@jit
def est_overlap_flags_nb(col, pos, skey, span, lo, hi, est_len, gap):
    """True for each event row whose estimation window holds part of the event window of
    another row on the same ticker (so an event effect there would bias alpha and beta).

    The event window ``[q + lo, q + hi]`` of a row at ``q`` meets the estimation window
    ``[p + lo - gap - est_len, p + lo - gap - 1]`` of a row at ``p`` iff
    ``p - gap - est_len - (hi - lo) <= q <= p - gap - 1``.

    ``skey``, ``span``: the key and span from :func:`ticker_pos_key_nb`, the key sorted
    ascending (the caller sorts with NumPy: Numba's own sort takes seconds to compile).
    """
    n = col.shape[0]
    flags = np.zeros(n, dtype=np.bool_)
    if n < 2:
        return flags
    for i in range(n):
        q_hi = pos[i] - gap - 1
        q_lo = max(pos[i] - gap - est_len - (hi - lo), 0)
        if q_hi < q_lo:
            continue
        a = np.searchsorted(skey, col[i] * span + q_lo)
        b = np.searchsorted(skey, col[i] * span + q_hi, side="right")
        flags[i] = b > a
    return flags


@jit
def est_exclusion_nb(col, pos, skey, span, lo, hi, est_len, gap):
    """The estimation days each event row leaves out: those inside the event window of an
    earlier row on the same ticker (event-study practice: an estimation window measures
    normal returns, and an event window is not normal).

    ``excl[i, j]`` is True when estimation day ``j`` of row ``i`` (session
    ``pos[i] + lo - gap - est_len + j``) lies in ``[q + lo, q + hi]`` for the day 0 ``q``
    of another row of the same ticker. Only earlier rows can qualify: the estimation window
    ends before the row's own event window starts. Returns ``(excl, n_excl)``, ``n_excl``
    the count per row.

    ``skey``, ``span``: the key and span from :func:`ticker_pos_key_nb`, the key sorted
    ascending (the caller sorts with NumPy: Numba's own sort takes seconds to compile).
    """
    n = col.shape[0]
    excl = np.zeros((n, est_len), dtype=np.bool_)
    n_excl = np.zeros(n, dtype=np.int64)
    if n < 2:
        return excl, n_excl
    for i in range(n):
        e0 = pos[i] + lo - gap - est_len
        # rows whose event window [q + lo, q + hi] meets [e0, e0 + est_len - 1]
        q_lo = max(e0 - hi, 0)
        q_hi = e0 + est_len - 1 - lo
        if q_hi < q_lo:
            continue
        a = np.searchsorted(skey, col[i] * span + q_lo)
        b = np.searchsorted(skey, col[i] * span + min(q_hi, span - 1), side="right")
        for k in range(a, b):
            q = skey[k] - col[i] * span
            for t in range(max(q + lo, e0), min(q + hi, e0 + est_len - 1) + 1):
                excl[i, t - e0] = True
        c = 0
        for j in range(est_len):
            if excl[i, j]:
                c += 1
        n_excl[i] = c
    return excl, n_excl


# --------------------------------------------------------------------------------------
# Cross-sectional test statistics
# --------------------------------------------------------------------------------------


@jit
def group_tests_nb(car, scar, dof, ranks, frac_pos, grp_ptr, grp_idx, win_a, win_b, n_est_days):
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
    Returns ``(n, caar, t_cs, patell, bmp, corrado, gsign)``; ``n`` has shape
    ``(n_groups,)``, the rest ``(n_groups, n_windows)``. Undefined values are NaN.
    """
    nan = np.nan
    n_grp = grp_ptr.shape[0] - 1
    n_win = win_a.shape[0]
    n_days = ranks.shape[1]
    n_out = np.zeros(n_grp, dtype=np.int64)
    caar = np.full((n_grp, n_win), nan)
    t_cs = np.full((n_grp, n_win), nan)
    patell = np.full((n_grp, n_win), nan)
    bmp = np.full((n_grp, n_win), nan)
    corrado = np.full((n_grp, n_win), nan)
    gsign = np.full((n_grp, n_win), nan)
    kbar = np.empty(n_days)
    n_t = np.empty(n_days, dtype=np.int64)
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
    return n_out, caar, t_cs, patell, bmp, corrado, gsign


@jit
def shared_date_rbar_nb(est_ar, pos, grp_ptr, day0_idx, min_obs):
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
    ``z_kp = z_patell / sqrt(1 + (N - 1) rbar)`` (:func:`kp_adjust_nb`).

    Returns ``(rbar, n_shared)`` per group: ``n_shared`` counts rows that share their day 0
    with another row of the group (0: no clustering, ``rbar = 0``). ``rbar`` is NaN for
    groups with fewer than two rows.

    ``day0_idx``: the groups' rows (CSR with ``grp_ptr``), each group's rows in the stable
    order of their day 0 ``pos`` (the caller sorts with NumPy, ``kind="stable"``: Numba's
    own sort takes seconds to compile). Pair correlations are summed in this order.
    """
    n_grp = grp_ptr.shape[0] - 1
    rbar = np.full(n_grp, np.nan)
    n_shared = np.zeros(n_grp, dtype=np.int64)
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
    return rbar, n_shared


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
def kp_adjust_nb(n, rbar, bmp, patell):
    """Kolari-Pynnonen adjusted BMP and Patell statistics (see :func:`shared_date_rbar_nb`).

    ``n`` and ``rbar`` are per group, ``bmp`` and ``patell`` ``(n_groups, n_windows)``.
    The adjustment uses ``max(rbar, 0)``: it corrects for positive cross-correlation, and
    a negative estimate (noise, or a benchmark that holds the studied tickers, whose
    residuals then move against each other) would inflate the statistics, so it leaves
    them as they are. NaN where ``rbar`` is NaN or the variance factors are not positive.
    """
    n_grp, n_win = bmp.shape
    bmp_kp = np.full((n_grp, n_win), np.nan)
    patell_kp = np.full((n_grp, n_win), np.nan)
    for g in range(n_grp):
        r = rbar[g]
        if not np.isfinite(r):
            continue
        r = max(r, 0.0)
        infl = 1.0 + (n[g] - 1.0) * r
        if not (infl > 0.0 and 1.0 - r > 0.0):
            continue
        f_bmp = np.sqrt((1.0 - r) / infl)
        f_pat = 1.0 / np.sqrt(infl)
        for w in range(n_win):
            bmp_kp[g, w] = bmp[g, w] * f_bmp
            patell_kp[g, w] = patell[g, w] * f_pat
    return bmp_kp, patell_kp


# --------------------------------------------------------------------------------------
# Bootstrap (events resampled with replacement, an event = a cluster of rows)
# --------------------------------------------------------------------------------------


@jit
def cluster_sums_nb(car, cluster, n_clusters, grp_ptr, grp_idx):
    """Per group, the CAR sums and row counts of each event (cluster) it contains.

    An event that moves several tickers is one cluster, so the bootstrap resamples events,
    not rows. Returns CSR ``(cl_ptr, cl_sum, cl_cnt)``: the clusters of group ``g`` are
    entries ``cl_ptr[g]:cl_ptr[g + 1]`` of ``cl_sum`` (``(n, n_windows)``) and ``cl_cnt``,
    in increasing cluster id.
    """
    n_grp = grp_ptr.shape[0] - 1
    n_win = car.shape[1]
    acc = np.zeros((n_clusters, n_win))
    cnt = np.zeros(n_clusters, dtype=np.int64)
    cl_ptr = np.zeros(n_grp + 1, dtype=np.int64)
    total = 0
    for g in range(n_grp):
        seen = np.zeros(n_clusters, dtype=np.bool_)
        for q in range(grp_ptr[g], grp_ptr[g + 1]):
            c = cluster[grp_idx[q]]
            if not seen[c]:
                seen[c] = True
                total += 1
        cl_ptr[g + 1] = total
    cl_sum = np.zeros((total, n_win))
    cl_cnt = np.zeros(total, dtype=np.int64)
    for g in range(n_grp):
        for q in range(grp_ptr[g], grp_ptr[g + 1]):
            i = grp_idx[q]
            c = cluster[i]
            cnt[c] += 1
            for w in range(n_win):
                acc[c, w] += car[i, w]
        k = cl_ptr[g]
        for c in range(n_clusters):
            if cnt[c] > 0:
                cl_cnt[k] = cnt[c]
                for w in range(n_win):
                    cl_sum[k, w] = acc[c, w]
                    acc[c, w] = 0.0
                cnt[c] = 0
                k += 1
    return cl_ptr, cl_sum, cl_cnt


@jit
def bootstrap_caar_nb(cl_ptr, cl_sum, cl_cnt, u):
    """Bootstrap CAARs: draw ``C_g`` of group ``g``'s ``C_g`` events with replacement.

    Draw ``b`` picks event ``floor(u[b, j] * C_g)`` for ``j < C_g``; the CAAR of the draw
    is the sum of the picked events' CARs over the number of rows they hold.
    ``u`` is ``(n_draws, >= max C_g)``. Returns ``(n_groups, n_draws, n_windows)``.
    """
    n_grp = cl_ptr.shape[0] - 1
    n_draw = u.shape[0]
    n_win = cl_sum.shape[1]
    out = np.full((n_grp, n_draw, n_win), np.nan)
    acc = np.empty(n_win)
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
    return out


@jit
def quantile_sorted_nb(xs, q):
    """Quantile ``q`` of the sorted finite array ``xs``, NumPy's default 'linear' method."""
    n = xs.shape[0]
    if n == 0:
        return np.nan
    h = (n - 1) * q
    i = int(np.floor(h))
    if i >= n - 1:
        return xs[n - 1]
    t = h - i
    a = xs[i]
    b = xs[i + 1]
    d = b - a
    # NumPy's _lerp: a + d t, computed from the nearer end for t >= 1/2.
    if t >= 0.5:
        return b - d * (1.0 - t)
    return a + d * t


@jit
def percentile_ci_nb(sdraws, level):
    """Percentile interval ``[q(1 - level) / 2, q(1 + level) / 2]`` over axis 1 of the
    draws ``(n_groups, n_draws, n_windows)``, ignoring NaN. Returns ``(lo, hi)``.

    ``sdraws``: the draws sorted along axis 1 (the caller sorts with NumPy: Numba's own sort
    takes seconds to compile). NaN sort last and -inf first, so the finite draws come in
    ascending order.
    """
    n_grp, n_draw, n_win = sdraws.shape
    lo = np.full((n_grp, n_win), np.nan)
    hi = np.full((n_grp, n_win), np.nan)
    buf = np.empty(n_draw)
    q_lo = 0.5 * (1.0 - level)
    q_hi = 0.5 * (1.0 + level)
    for g in range(n_grp):
        for w in range(n_win):
            m = 0
            for b in range(n_draw):
                v = sdraws[g, b, w]
                if np.isfinite(v):
                    buf[m] = v
                    m += 1
            if m == 0:
                continue
            xs = buf[:m]
            lo[g, w] = quantile_sorted_nb(xs, q_lo)
            hi[g, w] = quantile_sorted_nb(xs, q_hi)
    return lo, hi


# --------------------------------------------------------------------------------------
# Placebo (pseudo-events on non-event sessions)
# --------------------------------------------------------------------------------------


@jit
def placebo_car_nb(
    rets, bench, cols, excl_ptr, excl_pos, lo, hi, est_len, gap, model, min_obs, win_a, win_b
):
    """CAR of a pseudo-event at every session of every ticker in ``cols``.

    ``out[u, p, w]`` is the CAR in window ``w`` of a pseudo-event of ticker ``cols[u]``
    with day 0 at session ``p``, with the same model, windows and skip rules as a real
    event (:func:`event_1d_nb`). It is NaN where the session is not eligible: the
    estimation + event window runs outside the data, the event would be skipped (missing
    returns in the event window, fewer than ``min_obs`` estimation returns, a constant
    benchmark or zero residual variance), or its event window intersects the event window
    of a real event of that ticker (``|p - q| <= hi - lo`` for a real day 0 ``q`` in
    ``excl_pos[excl_ptr[u]:excl_ptr[u + 1]]``). As for a real event
    (:func:`est_exclusion_nb`), estimation days inside a real event window of the ticker
    are left out of the fit.

    Every session needs its own fit, so the estimation sums come from prefix sums of the
    returns (shifted by their mean, which keeps the centred sums accurate): O(1) per
    session instead of O(est_len). Results equal the direct fit to rounding (~1e-13
    relative); degenerate fits are detected with a 1e-10 relative threshold.
    """
    n_cols = cols.shape[0]
    n_ses = rets.shape[1]
    n_win = win_a.shape[0]
    n_w = hi - lo + 1
    width = hi - lo
    out = np.full((n_cols, n_ses, n_win), np.nan)
    blocked = np.empty(n_ses, dtype=np.bool_)
    inwin = np.empty(n_ses, dtype=np.bool_)  # inside a real event window: not estimation
    c_n = np.zeros(n_ses + 1, dtype=np.int64)
    c_x = np.zeros(n_ses + 1)
    c_y = np.zeros(n_ses + 1)
    c_xx = np.zeros(n_ses + 1)
    c_xy = np.zeros(n_ses + 1)
    c_yy = np.zeros(n_ses + 1)
    c_r = np.zeros(n_ses + 1)
    c_m = np.zeros(n_ses + 1)
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
    return out


@jit
def placebo_sessions_nb(ok, cl_ptr, cl_cols):
    """Sessions eligible for each event: eligible for every ticker the event holds.

    ``ok`` is ``(n_cols, n_sessions)`` (a finite placebo CAR); the tickers (rows of ``ok``)
    of event ``c`` are ``cl_cols[cl_ptr[c]:cl_ptr[c + 1]]``. A multi-ticker event draws one
    pseudo date for all its tickers, which keeps the cross-sectional dependence of events
    that share a date. Returns CSR ``(el_ptr, el_pos)`` of eligible sessions (ascending).
    """
    n_cl = cl_ptr.shape[0] - 1
    n_ses = ok.shape[1]
    el_ptr = np.zeros(n_cl + 1, dtype=np.int64)
    keep = np.empty((n_cl, n_ses), dtype=np.bool_)
    total = 0
    for c in range(n_cl):
        for p in range(n_ses):
            good = cl_ptr[c + 1] > cl_ptr[c]
            for q in range(cl_ptr[c], cl_ptr[c + 1]):
                if not ok[cl_cols[q], p]:
                    good = False
                    break
            keep[c, p] = good
            if good:
                total += 1
        el_ptr[c + 1] = total
    el_pos = np.empty(total, dtype=np.int64)
    k = 0
    for c in range(n_cl):
        for p in range(n_ses):
            if keep[c, p]:
                el_pos[k] = p
                k += 1
    return el_ptr, el_pos


@jit
def placebo_caar_nb(cand_car, row_ucol, row_cluster, el_ptr, el_pos, u, grp_ptr, grp_idx):
    """Placebo CAARs: per draw, one eligible pseudo session per event, mean CAR per group.

    Draw ``d`` puts event ``c`` at session ``el_pos[el_ptr[c] + floor(u[d, c] * E_c)]``
    (``E_c`` eligible sessions); row ``i`` then takes ``cand_car[row_ucol[i], session]``.
    A group holding an event with no eligible session gets NaN.
    ``u`` is ``(n_draws, n_clusters)``. Returns ``(n_groups, n_draws, n_windows)``.
    """
    n_grp = grp_ptr.shape[0] - 1
    n_draw = u.shape[0]
    n_cl = el_ptr.shape[0] - 1
    n_win = cand_car.shape[2]
    out = np.full((n_grp, n_draw, n_win), np.nan)
    sess = np.empty(n_cl, dtype=np.int64)
    acc = np.empty(n_win)
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
    return out


@jit
def empirical_p_nb(obs, draws):
    """Two-sided empirical p-value with the +1 correction (Davison & Hinkley 1997, 4.2):

    ``p = min(1, 2 min(1 + #{D >= obs}, 1 + #{D <= obs}) / (n + 1))`` over the ``n``
    finite draws ``D``. Equal-tailed, so a null distribution not centred on zero is
    handled. ``obs`` is ``(n_groups, n_windows)``, ``draws`` ``(n_groups, n_draws,
    n_windows)``; NaN where ``obs`` is NaN or there are no finite draws.
    """
    n_grp, n_draw, n_win = draws.shape
    out = np.full((n_grp, n_win), np.nan)
    for g in range(n_grp):
        for w in range(n_win):
            x = obs[g, w]
            if not np.isfinite(x):
                continue
            n = 0
            ge = 0
            le = 0
            for d in range(n_draw):
                v = draws[g, d, w]
                if np.isfinite(v):
                    n += 1
                    if v >= x:
                        ge += 1
                    if v <= x:
                        le += 1
            if n == 0:
                continue
            p = 2.0 * (1.0 + min(ge, le)) / (n + 1.0)
            out[g, w] = min(p, 1.0)
    return out
