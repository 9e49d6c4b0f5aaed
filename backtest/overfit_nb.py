"""Numba kernels for CSCV (combinatorially symmetric cross-validation): arrays in, arrays out.

:func:`evbt.backtest.overfit.pbo_cscv` is the public face; these kernels make its two passes
over the grid without ever holding a (splits x combinations) matrix.

Conventions:

- ``tb_sum``, ``tb_sumsq``, ``tb_n`` have shape ``(N, S)``: for combination ``i`` and time
  block ``b``, the sum, the sum of squares and the number of its daily returns.
- A *half* is a set of ``H = S / 2`` blocks, numbered ``0 .. C(S, H) - 1`` in the
  lexicographic order of ``itertools.combinations(range(S), H)``. Meet in the middle: the
  blocks are split into group A (``0 .. H-1``) and group B (``H .. S-1``); a half is a pair
  of bit masks ``(a, b)`` over A and B with ``popcount(a) + popcount(b) = H``. For a chunk
  of combinations the sums over every mask of A and of B are built once (``2 * 2^H``
  sums per combination); the sums over a half are then one addition per power sum.
- The performance of a combination on a half is its daily Sharpe ratio from the summed
  block sums, compared through the monotone key :func:`perf_key_nb` (no square root).
  Mask sums accumulate from 0.0 over the set bits in descending order (the build adds the
  lowest bit last), so :func:`half_key_nb` reproduces a kernel's key bit for bit.
- Rows are processed in chunks of ``chunk`` combinations; the block-mask sums of a chunk
  are mask-major (``[mask, row]``), so the inner loops run over contiguous memory in cache
  and vectorise.
"""

from __future__ import annotations

import numpy as np

from evbt.backtest.jit import jit

# ``n q - s^2`` (n^2 times the population variance) at or below this share of ``n q`` is
# rounding noise: the returns are constant.
_VAR_TOL = 1e-12
# A key with |key| >= _KEY_BIG (a daily Sharpe ratio above 1e5) can only come from a
# degenerate half (zero variance); such chunks are recomputed with the exact rule.
_KEY_BIG = 1e10


@jit
def perf_key_nb(s, q, n):
    """Monotone key of the daily Sharpe ratio from power sums ``s, q`` of ``n`` returns.

    With ``m = s / n`` and ``var = (q - s m) / (n - 1)`` (sample variance), the Sharpe
    ratio is ``SR = m / sqrt(var)`` and the key is ``SR |SR| = s |s| (n - 1) / (n (n q -
    s^2))``, increasing in ``SR``. Undefined ratios: fewer than 2 returns, or all returns
    zero (no trade in those blocks), give 0 (no risk, no return: neutral); constant
    non-zero returns give +-inf by the sign of the mean.
    """
    nq = n * q
    d = nq - s * s
    if n < 2.0:
        return 0.0
    if d <= _VAR_TOL * nq:
        if s > 0.0:
            return np.inf
        if s < 0.0:
            return -np.inf
        return 0.0
    return s * abs(s) * (n - 1.0) / (n * d)


@jit
def key_to_sharpe_nb(k):
    """Daily Sharpe ratio ``sign(k) sqrt(|k|)`` back from :func:`perf_key_nb`."""
    if k < 0.0:
        return -np.sqrt(-k)
    return np.sqrt(k)


@jit
def _mask_sum_nb(x, row, off, mask, n_bits):
    """Sum of ``x[row, off + bit]`` over the set bits of ``mask``, highest bit first."""
    acc = 0.0
    for bit in range(n_bits - 1, -1, -1):
        if (mask >> bit) & 1:
            acc += x[row, off + bit]
    return acc


@jit
def half_key_nb(tb_sum, tb_sumsq, tb_n, row, a, b):
    """Key of combination ``row`` on the half given by masks ``(a, b)``.

    Same arithmetic, in the same order, as the chunk loops of :func:`cscv_best_nb` and
    :func:`cscv_rank_nb`, so the value is identical to theirs bit for bit.
    """
    h = tb_sum.shape[1] // 2
    s = _mask_sum_nb(tb_sum, row, 0, a, h) + _mask_sum_nb(tb_sum, row, h, b, h)
    q = _mask_sum_nb(tb_sumsq, row, 0, a, h) + _mask_sum_nb(tb_sumsq, row, h, b, h)
    n = _mask_sum_nb(tb_n, row, 0, a, h) + _mask_sum_nb(tb_n, row, h, b, h)
    return perf_key_nb(s, q, n)


@jit
def half_keys_nb(tb_sum, tb_sumsq, tb_n, rows, masks_a, masks_b):
    """:func:`half_key_nb` of row ``rows[u]`` on the half ``(masks_a[u], masks_b[u])``, for
    every ``u``: one call instead of one per split (12,870 for ``S = 16``)."""
    out = np.empty(rows.shape[0])
    for u in range(rows.shape[0]):
        out[u] = half_key_nb(tb_sum, tb_sumsq, tb_n, rows[u], masks_a[u], masks_b[u])
    return out


@jit
def half_counts_nb(tb_n, ha, hb):
    """Per half ``(ha[j], hb[j])``, the count of row 0 on it, summed as
    :func:`half_key_nb` sums it (A's blocks, then B's)."""
    h = tb_n.shape[1] // 2
    out = np.empty(ha.shape[0])
    for j in range(ha.shape[0]):
        out[j] = _mask_sum_nb(tb_n, 0, 0, ha[j], h) + _mask_sum_nb(tb_n, 0, h, hb[j], h)
    return out


@jit
def _build_masks_nb(x, c0, m, off, n_bits, out):
    """``out[mask, i]`` = sum of ``x[c0 + i, off + bit]`` over the set bits of ``mask``.

    ``out[mask] = out[mask without its lowest bit] + x[lowest bit]``: the lowest bit is
    added last, which is :func:`_mask_sum_nb`'s descending order.
    """
    for i in range(m):
        out[0, i] = 0.0
    for mask in range(1, 1 << n_bits):
        low = mask & (-mask)
        bit = 0
        while (1 << bit) != low:
            bit += 1
        prev = mask ^ low
        for i in range(m):
            out[mask, i] = out[prev, i] + x[c0 + i, off + bit]


@jit
def _chunk_keys_nb(a, b, m, sa, sb, qa, qb, na, nb, out):
    """Keys of the chunk's rows on half ``(a, b)`` into ``out[:m]``.

    The plain formula runs first in a loop without branches (it vectorises); if any key is
    NaN, infinite or huge (a degenerate half), the chunk is redone with the exact rule.
    """
    n_good = 0
    for i in range(m):
        s = sa[a, i] + sb[b, i]
        q = qa[a, i] + qb[b, i]
        n = na[a, i] + nb[b, i]
        k = s * abs(s) * (n - 1.0) / (n * (n * q - s * s))
        out[i] = k
        n_good += abs(k) < _KEY_BIG
    if n_good < m:
        for i in range(m):
            out[i] = perf_key_nb(sa[a, i] + sb[b, i], qa[a, i] + qb[b, i], na[a, i] + nb[b, i])


@jit
def _scratch_nb(n_bits, chunk):
    size = 1 << n_bits
    return (
        np.empty((size, chunk)),
        np.empty((size, chunk)),
        np.empty((size, chunk)),
        np.empty((size, chunk)),
        np.empty((size, chunk)),
        np.empty((size, chunk)),
        np.empty(chunk),
    )


@jit
def _load_chunk_nb(tb_sum, tb_sumsq, tb_n, c0, m, h, sa, sb, qa, qb, na, nb):
    _build_masks_nb(tb_sum, c0, m, 0, h, sa)
    _build_masks_nb(tb_sum, c0, m, h, h, sb)
    _build_masks_nb(tb_sumsq, c0, m, 0, h, qa)
    _build_masks_nb(tb_sumsq, c0, m, h, h, qb)
    _build_masks_nb(tb_n, c0, m, 0, h, na)
    _build_masks_nb(tb_n, c0, m, h, h, nb)


@jit
def _chunk_cap_nb(cap, c0, m):
    """The largest of ``cap[c0 : c0 + m]``: no key of the chunk's rows on any half exceeds it."""
    top = -np.inf
    for i in range(c0, c0 + m):
        if cap[i] > top:
            top = cap[i]
    return top


@jit
def cscv_best_nb(tb_sum, tb_sumsq, tb_n, ha, hb, hidx, ids, cap, floor, row0, row1, chunk):
    """Pass 1: for every half, the best key of rows ``row0 .. row1`` on it and its row.

    ``ha[j], hb[j]`` are the masks of half ``hidx[j]``. Returns ``(best, arg)`` indexed by
    half; ``arg`` is -1 when the range is empty. Ties go to the row with the lowest
    ``ids`` (the combinations' own order, whatever order the rows come in), as ``np.argmax``.
    A vectorised count of keys above the running best comes first; the scalar scan for
    the row runs only when some key beats it.

    ``cap[i]`` bounds row ``i``'s key on every half from above (``+inf``: no bound) and
    ``floor[t]`` is a key that some scanned row reaches on half ``t`` (``-inf``: none
    known): a chunk whose largest cap is below both the running best and the floor of
    half ``t`` has no row that can win or tie ``t``, and is not evaluated on it. With the
    rows in descending order of their caps most chunks skip most halves; with infinite
    caps every key is computed.
    """
    n_half = ha.shape[0]
    h = tb_sum.shape[1] // 2
    best = np.full(n_half, -np.inf)
    arg = np.full(n_half, -1, dtype=np.int64)
    sa, sb, qa, qb, na, nb, keys = _scratch_nb(h, chunk)
    for c0 in range(row0, row1, chunk):
        m = min(chunk, row1 - c0)
        top = _chunk_cap_nb(cap, c0, m)
        loaded = False
        for j in range(n_half):
            t = hidx[j]
            bt = best[t]
            if top < max(bt, floor[t]):
                continue
            if not loaded:
                _load_chunk_nb(tb_sum, tb_sumsq, tb_n, c0, m, h, sa, sb, qa, qb, na, nb)
                loaded = True
            _chunk_keys_nb(ha[j], hb[j], m, sa, sb, qa, qb, na, nb, keys)
            n_above = 0
            for i in range(m):
                n_above += keys[i] >= bt
            if n_above == 0 and arg[t] >= 0:
                continue
            at = arg[t]
            for i in range(m):
                r = c0 + i
                if at < 0 or keys[i] > bt or (keys[i] == bt and ids[r] < ids[at]):
                    bt = keys[i]
                    at = r
            best[t] = bt
            arg[t] = at
    return best, arg


@jit
def cscv_rank_nb(tb_sum, tb_sumsq, tb_n, ha, hb, hidx, thresh, cap, row0, row1, chunk):
    """Pass 2: for every half ``t``, count rows ``row0 .. row1`` whose key on ``t`` is below
    / equal to ``thresh[t]``.

    ``cap[i]`` bounds row ``i``'s key on every half from above (``+inf``: no bound): a
    chunk whose largest cap is below ``thresh[t]`` has every row below it, counted without
    a key (the rows in ascending order of their caps make such chunks common).
    Returns ``(less, equal)`` int64 arrays indexed by half.
    """
    n_half = ha.shape[0]
    h = tb_sum.shape[1] // 2
    less = np.zeros(n_half, dtype=np.int64)
    equal = np.zeros(n_half, dtype=np.int64)
    sa, sb, qa, qb, na, nb, keys = _scratch_nb(h, chunk)
    for c0 in range(row0, row1, chunk):
        m = min(chunk, row1 - c0)
        top = _chunk_cap_nb(cap, c0, m)
        loaded = False
        for j in range(n_half):
            t = hidx[j]
            v = thresh[t]
            if top < v:
                less[t] += m
                continue
            if not loaded:
                _load_chunk_nb(tb_sum, tb_sumsq, tb_n, c0, m, h, sa, sb, qa, qb, na, nb)
                loaded = True
            _chunk_keys_nb(ha[j], hb[j], m, sa, sb, qa, qb, na, nb, keys)
            lt = 0
            eq = 0
            for i in range(m):
                lt += keys[i] < v
                eq += keys[i] == v
            less[t] += lt
            equal[t] += eq
    return less, equal


@jit
def _chunk_keys_const_nb(a, b, m, sa, sb, qa, qb, n, out):
    """:func:`_chunk_keys_nb` when every row has the same count ``n`` on the half."""
    n_good = 0
    for i in range(m):
        s = sa[a, i] + sb[b, i]
        q = qa[a, i] + qb[b, i]
        k = s * abs(s) * (n - 1.0) / (n * (n * q - s * s))
        out[i] = k
        n_good += abs(k) < _KEY_BIG
    if n_good < m:
        for i in range(m):
            out[i] = perf_key_nb(sa[a, i] + sb[b, i], qa[a, i] + qb[b, i], n)


@jit
def cscv_rank_const_nb(tb_sum, tb_sumsq, ha, hb, hidx, n_half, thresh, cap, row0, row1, chunk):
    """:func:`cscv_rank_nb` when the block counts are the same on every row (the usual
    case: every combination's daily returns span the same sessions). ``n_half[j]`` is the
    count of half ``hidx[j]``, summed as :func:`half_key_nb` sums it, so keys agree bit
    for bit; two fewer loads and one fewer addition per key."""
    n_h = ha.shape[0]
    h = tb_sum.shape[1] // 2
    less = np.zeros(n_h, dtype=np.int64)
    equal = np.zeros(n_h, dtype=np.int64)
    sa, sb, qa, qb, _, _, keys = _scratch_nb(h, chunk)
    for c0 in range(row0, row1, chunk):
        m = min(chunk, row1 - c0)
        top = _chunk_cap_nb(cap, c0, m)
        loaded = False
        for j in range(n_h):
            t = hidx[j]
            v = thresh[t]
            if top < v:
                less[t] += m
                continue
            if not loaded:
                _build_masks_nb(tb_sum, c0, m, 0, h, sa)
                _build_masks_nb(tb_sum, c0, m, h, h, sb)
                _build_masks_nb(tb_sumsq, c0, m, 0, h, qa)
                _build_masks_nb(tb_sumsq, c0, m, h, h, qb)
                loaded = True
            _chunk_keys_const_nb(ha[j], hb[j], m, sa, sb, qa, qb, n_half[j], keys)
            lt = 0
            eq = 0
            for i in range(m):
                lt += keys[i] < v
                eq += keys[i] == v
            less[t] += lt
            equal[t] += eq
    return less, equal
