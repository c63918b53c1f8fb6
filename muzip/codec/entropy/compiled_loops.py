"""numba loops of entropy.compiled (imported only through entropy.compiled.kernels(): numba costs ~0.2 s).

Arithmetic is uint64 throughout (numba turns uint64 mixed with int64 into float64, so every constant that
meets the state is a uint64). cache=True keeps the machine code beside this file (or in numba's user cache
where the package is read-only), so only the first run on a machine compiles. The decoder, which reads
untrusted payloads, checks every index (boundscheck: ~2 % of decompress's CPU); an IndexError there is a
damaged payload to entropy.banded.
"""

import numpy as np
from numba import njit

_WORD = np.uint64(32)
_PREC = np.uint64(24)
_FLUSH = np.uint64(64 - 24)
_LOW = np.uint64(0xFFFFFFFF)
_QUANTILE = np.uint64((1 << 24) - 1)
_TOTAL = np.uint64(1 << 24)
_REFILL = np.uint64(1 << 32)
_MAX_EXP = 24


@njit(cache=True, nogil=True)
def push_reverse(lo, prob):
    """ANS words of symbols (left cumulative, probability), given in decode order: pushed last to first."""
    n = lo.shape[0]
    words = np.empty(n + 2, np.uint32)  # at most one flushed word per symbol, then the state's two
    nw = 0
    state = np.uint64(0)
    for i in range(n - 1, -1, -1):
        p = prob[i]
        if (state >> _FLUSH) >= p:
            words[nw] = np.uint32(state & _LOW)
            nw += 1
            state = state >> _WORD
        state = ((state // p) << _PREC) | (lo[i] + state % p)
    if state != np.uint64(0):
        words[nw] = np.uint32(state & _LOW)
        nw += 1
        if (state >> _WORD) != np.uint64(0):
            words[nw] = np.uint32(state >> _WORD)
            nw += 1
    return words[:nw]


@njit(cache=True, nogil=True)
def push_banded(idx, rows, coded, cls, crows, lat_cdf, cls_cdf, esc_lo, esc_prob):
    """entropy.banded.BandedCoder.encode's words: idx, rows, coded (A, n, C) and cls, crows (A, n, bands) as
    BandedCoder._parts gives them per audio channel; the escapes' (left cumulative, probability) pairs."""
    A, n, C = idx.shape
    bands = cls.shape[2]
    total = esc_lo.shape[0] + A * n * bands
    for a in range(A):
        for t in range(n):
            for c in range(C):
                if coded[a, t, c]:
                    total += 1
    lo = np.empty(total, np.uint64)
    prob = np.empty(total, np.uint64)
    k = 0
    for a in range(A):  # decode order: per channel and vector the classes, then the coded latents
        for t in range(n):
            for b in range(bands):
                row = cls_cdf[a, crows[a, t, b]]
                s = cls[a, t, b]
                lo[k] = row[s]
                prob[k] = row[s + 1] - row[s]
                k += 1
            for c in range(C):
                if coded[a, t, c]:
                    row = lat_cdf[a, rows[a, t, c]]
                    s = idx[a, t, c]
                    lo[k] = row[s]
                    prob[k] = row[s + 1] - row[s]
                    k += 1
    for i in range(esc_lo.shape[0]):  # escapes last
        lo[k] = esc_lo[i]
        prob[k] = esc_prob[i]
        k += 1
    return push_reverse(lo, prob)


@njit(cache=True, nogil=True, inline="always")
def _advance(state, pos, words, left, p, quantile):
    state = (state >> _PREC) * p + (quantile - left)
    if state < _REFILL and pos > 0:
        pos -= 1
        state = (state << _WORD) | np.uint64(words[pos])
    return state, pos


@njit(cache=True, nogil=True, inline="always")
def _pop(state, pos, words, cdf):
    """One symbol of a row's CDF (K + 1 entries, cdf[0] = 0, cdf[K] = 2**24): (symbol, state, pos)."""
    quantile = state & _QUANTILE
    lo_i, hi_i = 0, cdf.shape[0] - 1
    while hi_i - lo_i > 1:  # the last symbol whose left cumulative is <= quantile
        mid = (lo_i + hi_i) >> 1
        if np.uint64(cdf[mid]) <= quantile:
            lo_i = mid
        else:
            hi_i = mid
    left = np.uint64(cdf[lo_i])
    state, pos = _advance(state, pos, words, left, np.uint64(cdf[lo_i + 1]) - left, quantile)
    return lo_i, state, pos


@njit(cache=True, nogil=True, inline="always")
def _pop_uniform(state, pos, words, size):
    """One symbol of constriction's Uniform(size) at precision 24."""
    per_bin = _TOTAL // np.uint64(size)
    last = np.uint64(size - 1)
    quantile = state & _QUANTILE
    guess = quantile // per_bin
    if guess < last:
        left, p = guess * per_bin, per_bin
    else:
        guess = last
        left = last * per_bin
        p = _TOTAL - left
    state, pos = _advance(state, pos, words, left, p, quantile)
    return np.int64(guess), state, pos


@njit(cache=True, nogil=True, boundscheck=True)
def decode_banded(words, lat_cdf, cls_cdf, starts, widths, ctx_of_sum, class_of_peak, radius, out):
    """entropy.banded.BandedCoder.decode's loop: fills out (A, n, C) int32 with the latents' values.

    lat_cdf (roles, rows, K + 1) and cls_cdf (roles, bands * (classes + 1), classes + 1) are fast_cdf tables.
    Returns 0, or 1 (the payload ends in a zero word) / 2 (a band's latents do not match its class)."""
    m = words.shape[0]
    pos = m
    state = np.uint64(0)
    if m > 0:  # constriction's AnsCoder(words): the state from the last one or two words
        pos -= 1
        if words[pos] == 0:
            return 1
        state = np.uint64(words[pos])
        if pos > 0:
            pos -= 1
            state = (state << _WORD) | np.uint64(words[pos])
    A, n, C = out.shape
    bands = starts.shape[0]
    ncls = cls_cdf.shape[2] - 1
    K = lat_cdf.shape[2] - 1
    nctx = lat_cdf.shape[1] // (bands * ncls)
    max_sum = ctx_of_sum.shape[0] - 1
    cap = K - 1 - radius  # |q| of the escape symbol: magnitudes are capped there
    mag = np.zeros((n + 2, C + 2), np.int64)  # row t + 2 holds |q[t]|, channels padded by one each side
    prev_cls = np.empty(bands, np.int64)
    cls = np.empty(bands, np.int64)
    escapes = 0
    for a in range(A):
        mag[:, :] = 0
        prev_cls[:] = ncls  # 'first vector of the frame'
        for t in range(n):
            for b in range(bands):
                s, state, pos = _pop(state, pos, words, cls_cdf[a, b * (ncls + 1) + prev_cls[b]])
                cls[b] = s
            for b in range(bands):
                prev_cls[b] = cls[b]
                c0, c1 = starts[b], starts[b] + widths[b]
                if cls[b] == 0:
                    out[a, t, c0:c1] = 0
                    continue
                base = (b * ncls + cls[b]) * nctx
                peak = 0
                for c in range(c0, c1):
                    total = mag[t + 1, c] + 2 * mag[t + 1, c + 1] + mag[t + 1, c + 2] + mag[t, c + 1]
                    if total > max_sum:
                        total = max_sum
                    s, state, pos = _pop(state, pos, words, lat_cdf[a, base + ctx_of_sum[total]])
                    v = s - radius
                    av = min(abs(v), cap)
                    mag[t + 2, c + 1] = av
                    out[a, t, c] = v
                    if s == K - 1:
                        escapes += 1
                    if av > peak:
                        peak = av
                if class_of_peak[peak] != cls[b]:
                    return 2
    if escapes:  # their values follow every channel's latents, in C order (entropy.ans.decode_escapes)
        for a in range(A):
            for t in range(n):
                for c in range(C):
                    if out[a, t, c] == cap:
                        sign, state, pos = _pop_uniform(state, pos, words, 2)
                        e, state, pos = _pop_uniform(state, pos, words, _MAX_EXP + 1)
                        mant = np.int64(0)
                        if e > 0:
                            mant, state, pos = _pop_uniform(state, pos, words, np.int64(1) << e)
                        value = (np.int64(1) << e) + mant + radius
                        out[a, t, c] = -value if sign else value
    return 0


@njit(cache=True, nogil=True)
def estimate_costs(q, radius, class_costs, costs, starts, widths, ctx_of_sum, class_of_peak, ncls, nctx):
    """entropy.banded.BandedCoder.estimate_bits's per-symbol costs for one audio channel's q (n, C): the class
    symbols' (n, bands) and the coded latents' (in C order), float32 as its tables hold them, and whether any
    latent is escaped. The caller sums them as estimate_bits does, so the estimate is the same to the bit."""
    n, C = q.shape
    bands = starts.shape[0]
    K = 2 * radius + 2
    mag = np.zeros((n + 2, C + 2), np.int64)
    idx = np.empty((n, C), np.int64)
    escaped = False
    for t in range(n):
        for c in range(C):
            v = np.int64(q[t, c])
            if v > radius + 1:
                v = radius + 1
            elif v < -radius - 1:
                v = -radius - 1
            av = abs(v)
            if av > radius:
                escaped = True
                idx[t, c] = K - 1
            else:
                idx[t, c] = v + radius
            mag[t + 2, c + 1] = av
    cls = np.empty((n, bands), np.int64)
    coded = 0
    for t in range(n):
        for b in range(bands):
            peak = 0
            for c in range(starts[b], starts[b] + widths[b]):
                if mag[t + 2, c + 1] > peak:
                    peak = mag[t + 2, c + 1]
            cls[t, b] = class_of_peak[peak]
            if cls[t, b] > 0:
                coded += widths[b]
    class_vals = np.empty((n, bands), np.float32)
    latent_vals = np.empty(coded, np.float32)
    k = 0
    for t in range(n):
        for b in range(bands):
            prev = ncls if t == 0 else cls[t - 1, b]
            class_vals[t, b] = class_costs[(b * (ncls + 1) + prev) * ncls + cls[t, b]]
        for b in range(bands):
            if cls[t, b] == 0:
                continue
            base = (b * ncls + cls[t, b]) * nctx
            for c in range(starts[b], starts[b] + widths[b]):
                total = mag[t + 1, c] + 2 * mag[t + 1, c + 1] + mag[t + 1, c + 2] + mag[t, c + 1]
                latent_vals[k] = costs[(base + ctx_of_sum[total]) * K + idx[t, c]]
                k += 1
    return class_vals, latent_vals, escaped
