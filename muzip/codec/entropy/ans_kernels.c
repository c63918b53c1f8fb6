/* The class-banded coder's ANS loops in C (entropy.native_loops loads this library with ctypes).

   The same loops as entropy.compiled_loops (numba), word for word and latent for latent: see entropy.compiled
   for what makes them constriction's words. Why C as well: numba's import costs ~0.45 s, so a short file was
   coded by constriction (~150 ns a symbol, GIL held); this library loads in ~1 ms, so every file, from its
   first frame, gets the loops. Built by `pip install` (setup.py, optional: without a C compiler the numba
   loops, then constriction, code everything). Plain C99, no Python API; every call releases the GIL (ctypes).

   The decoder reads untrusted payloads: every table index it computes is checked, and a bad one is
   status 3 (a damaged payload), as numba's boundscheck IndexError is. */

#include <stdint.h>
#include <stdlib.h>

/* entropy.native_loops refuses a library whose version is not its own (a checkout updated without
   `make install` keeps the library it built before): bump it with any change of a signature or result. */
#define ABI_VERSION 1

int64_t muzip_ans_abi(void) { return ABI_VERSION; }

#define PREC 24
#define FLUSH (64 - PREC)
#define TOTAL (UINT64_C(1) << PREC)
#define QUANTILE (TOTAL - 1)
#define REFILL (UINT64_C(1) << 32)
#define MAX_EXP 24

typedef struct {
    uint64_t state;
    uint32_t *words;
    int64_t nw;
} encoder;

static inline void push(encoder *e, uint64_t lo, uint64_t p) {
    if ((e->state >> FLUSH) >= p) {
        e->words[e->nw++] = (uint32_t)e->state;
        e->state >>= 32;
    }
    e->state = ((e->state / p) << PREC) | (lo + e->state % p);
}

static inline int64_t finish(encoder *e) {
    if (e->state != 0) {
        e->words[e->nw++] = (uint32_t)e->state;
        if ((e->state >> 32) != 0)
            e->words[e->nw++] = (uint32_t)(e->state >> 32);
    }
    return e->nw;
}

/* BandedCoder.encode's words into `words` (room for one per symbol + 2); returns their count, or -1 if an
   index is outside its table. Decode order: per audio channel and vector the classes, then the coded
   latents; the escapes' (left cumulative, probability) pairs last. Pushed last to first. */
int64_t muzip_push_banded(int64_t A, int64_t n, int64_t C, int64_t bands,
                          const int32_t *idx, const int32_t *rows, const uint8_t *coded,
                          const int64_t *cls, const int64_t *crows,
                          const uint32_t *lat_cdf, int64_t lat_rows, int64_t K1,
                          const uint32_t *cls_cdf, int64_t cls_rows, int64_t ncls1,
                          const uint64_t *esc_lo, const uint64_t *esc_prob, int64_t nesc, uint32_t *words) {
    encoder e = {0, words, 0};
    for (int64_t i = nesc - 1; i >= 0; i--)
        push(&e, esc_lo[i], esc_prob[i]);
    for (int64_t a = A - 1; a >= 0; a--) {
        for (int64_t t = n - 1; t >= 0; t--) {
            int64_t v = (a * n + t) * C;
            for (int64_t c = C - 1; c >= 0; c--) {
                if (!coded[v + c])
                    continue;
                int64_t r = rows[v + c], s = idx[v + c];
                if (r < 0 || r >= lat_rows || s < 0 || s >= K1 - 1)
                    return -1;
                const uint32_t *row = lat_cdf + (a * lat_rows + r) * K1;
                push(&e, row[s], (uint64_t)row[s + 1] - row[s]);
            }
            int64_t w = (a * n + t) * bands;
            for (int64_t b = bands - 1; b >= 0; b--) {
                int64_t r = crows[w + b], s = cls[w + b];
                if (r < 0 || r >= cls_rows || s < 0 || s >= ncls1 - 1)
                    return -1;
                const uint32_t *row = cls_cdf + (a * cls_rows + r) * ncls1;
                push(&e, row[s], (uint64_t)row[s + 1] - row[s]);
            }
        }
    }
    return finish(&e);
}

typedef struct {
    uint64_t state;
    int64_t pos;
    const uint32_t *words;
} decoder;

static inline void advance(decoder *d, uint64_t left, uint64_t p, uint64_t quantile) {
    d->state = (d->state >> PREC) * p + (quantile - left);
    if (d->state < REFILL && d->pos > 0) {
        d->pos--;
        d->state = (d->state << 32) | d->words[d->pos];
    }
}

/* One symbol of a CDF row (n1 entries, row[0] = 0, row[n1 - 1] = 2**24). */
static inline int64_t pop(decoder *d, const uint32_t *row, int64_t n1) {
    uint64_t quantile = d->state & QUANTILE;
    int64_t lo = 0, hi = n1 - 1;
    while (hi - lo > 1) {  /* the last symbol whose left cumulative is <= quantile */
        int64_t mid = (lo + hi) >> 1;
        if ((uint64_t)row[mid] <= quantile)
            lo = mid;
        else
            hi = mid;
    }
    uint64_t left = row[lo];
    advance(d, left, (uint64_t)row[lo + 1] - left, quantile);
    return lo;
}

/* One symbol of constriction's Uniform(size) at precision 24. */
static inline int64_t pop_uniform(decoder *d, uint64_t size) {
    uint64_t per_bin = TOTAL / size, last = size - 1;
    uint64_t quantile = d->state & QUANTILE;
    uint64_t guess = quantile / per_bin, left, p;
    if (guess < last) {
        left = guess * per_bin;
        p = per_bin;
    } else {
        guess = last;
        left = last * per_bin;
        p = TOTAL - left;
    }
    advance(d, left, p, quantile);
    return (int64_t)guess;
}

/* BandedCoder.decode's loop: fills out (A, n, C) with the latents' values. lat_cdf (roles, lat_rows, K1) and
   cls_cdf (roles, bands * (ncls + 1), ncls + 1) are fast_cdf tables. Returns 0, 1 (the payload ends in a
   zero word), 2 (a band's latents do not match its class), 3 (an index outside a table), 4 (no memory). */
int64_t muzip_decode_banded(const uint32_t *words, int64_t m,
                            const uint32_t *lat_cdf, int64_t roles, int64_t lat_rows, int64_t K1,
                            const uint32_t *cls_cdf, int64_t cls_rows, int64_t ncls1,
                            const int64_t *starts, const int64_t *widths, int64_t bands,
                            const int64_t *ctx_of_sum, int64_t n_sums, const int64_t *class_of_peak, int64_t n_peaks,
                            int64_t radius, int32_t *out, int64_t A, int64_t n, int64_t C) {
    decoder d = {0, m, words};
    if (m > 0) {  /* constriction's AnsCoder(words): the state from the last one or two words */
        d.pos--;
        if (words[d.pos] == 0)
            return 1;
        d.state = words[d.pos];
        if (d.pos > 0) {
            d.pos--;
            d.state = (d.state << 32) | words[d.pos];
        }
    }
    int64_t ncls = ncls1 - 1, K = K1 - 1;
    if (A > roles || bands <= 0 || ncls <= 0 || lat_rows % (bands * ncls) || cls_rows != bands * ncls1)
        return 3;
    int64_t nctx = lat_rows / (bands * ncls), max_sum = n_sums - 1, cap = K - 1 - radius;
    for (int64_t b = 0; b < bands; b++)
        if (starts[b] < 0 || widths[b] < 0 || starts[b] + widths[b] > C)
            return 3;
    int64_t W = C + 2, escapes = 0, status = 0;
    int64_t *mag = calloc((size_t)((n + 2) * W), sizeof(int64_t));  /* row t + 2: |q[t]|, padded by one */
    int64_t *prev_cls = malloc((size_t)bands * sizeof(int64_t)), *cls = malloc((size_t)bands * sizeof(int64_t));
    if (!mag || !prev_cls || !cls) {
        status = 4;
        goto done;
    }
    for (int64_t a = 0; a < A; a++) {
        for (int64_t i = 0; i < (n + 2) * W; i++)
            mag[i] = 0;
        for (int64_t b = 0; b < bands; b++)
            prev_cls[b] = ncls;  /* 'first vector of the frame' */
        for (int64_t t = 0; t < n; t++) {
            for (int64_t b = 0; b < bands; b++)
                cls[b] = pop(&d, cls_cdf + (a * cls_rows + b * ncls1 + prev_cls[b]) * ncls1, ncls1);
            int32_t *o = out + (a * n + t) * C;
            for (int64_t b = 0; b < bands; b++) {
                prev_cls[b] = cls[b];
                int64_t c0 = starts[b], c1 = starts[b] + widths[b];
                if (cls[b] == 0) {
                    for (int64_t c = c0; c < c1; c++)
                        o[c] = 0;
                    continue;
                }
                int64_t base = (b * ncls + cls[b]) * nctx, peak = 0;
                const int64_t *up = mag + (t + 1) * W, *up2 = mag + t * W;
                int64_t *here = mag + (t + 2) * W;
                for (int64_t c = c0; c < c1; c++) {
                    int64_t total = up[c] + 2 * up[c + 1] + up[c + 2] + up2[c + 1];
                    if (total > max_sum)
                        total = max_sum;
                    int64_t row = base + ctx_of_sum[total];
                    if (row < 0 || row >= lat_rows) {
                        status = 3;
                        goto done;
                    }
                    int64_t s = pop(&d, lat_cdf + (a * lat_rows + row) * K1, K1);
                    int64_t v = s - radius, av = v < 0 ? -v : v;
                    if (av > cap)
                        av = cap;
                    here[c + 1] = av;
                    o[c] = (int32_t)v;
                    if (s == K - 1)
                        escapes++;
                    if (av > peak)
                        peak = av;
                }
                if (peak >= n_peaks) {
                    status = 3;
                    goto done;
                }
                if (class_of_peak[peak] != cls[b]) {
                    status = 2;
                    goto done;
                }
            }
        }
    }
    if (escapes) {  /* their values follow every channel's latents, in C order (entropy.ans.decode_escapes) */
        for (int64_t i = 0; i < A * n * C; i++) {
            if (out[i] != cap)
                continue;
            int64_t sign = pop_uniform(&d, 2);
            int64_t e = pop_uniform(&d, MAX_EXP + 1), mant = 0;
            if (e > 0)
                mant = pop_uniform(&d, UINT64_C(1) << e);
            int64_t value = (INT64_C(1) << e) + mant + radius;
            out[i] = (int32_t)(sign ? -value : value);
        }
    }
done:
    free(mag);
    free(prev_cls);
    free(cls);
    return status;
}

/* BandedCoder.estimate_bits's per-symbol costs for one audio channel's q (n, C): the class symbols'
   (n, bands) into class_vals and the coded latents' (in C order) into latent_vals (room for n * C); returns
   how many latent values, or -1 if out of memory / -2 if an index is outside a table. *escaped: whether
   any latent is escaped. The caller sums them as estimate_bits does (the same float to the bit). */
int64_t muzip_estimate_costs(const int32_t *q, int64_t n, int64_t C, int64_t radius,
                             const float *class_costs, int64_t n_class_costs, const float *costs, int64_t n_costs,
                             const int64_t *starts, const int64_t *widths, int64_t bands,
                             const int64_t *ctx_of_sum, int64_t n_sums, const int64_t *class_of_peak, int64_t n_peaks,
                             int64_t ncls, int64_t nctx, float *class_vals, float *latent_vals, int64_t *escaped) {
    int64_t K = 2 * radius + 2, W = C + 2, k = 0;
    for (int64_t b = 0; b < bands; b++)
        if (starts[b] < 0 || widths[b] < 0 || starts[b] + widths[b] > C)
            return -2;
    int64_t *mag = calloc((size_t)((n + 2) * W), sizeof(int64_t));
    int64_t *idx = malloc((size_t)(n * C + 1) * sizeof(int64_t));
    int64_t *cls = malloc((size_t)(n * bands + 1) * sizeof(int64_t));
    if (!mag || !idx || !cls) {
        k = -1;
        goto done;
    }
    *escaped = 0;
    for (int64_t t = 0; t < n; t++) {
        for (int64_t c = 0; c < C; c++) {
            int64_t v = q[t * C + c];
            if (v > radius + 1)
                v = radius + 1;
            else if (v < -radius - 1)
                v = -radius - 1;
            int64_t av = v < 0 ? -v : v;
            if (av > radius) {
                *escaped = 1;
                idx[t * C + c] = K - 1;
            } else {
                idx[t * C + c] = v + radius;
            }
            mag[(t + 2) * W + c + 1] = av;
        }
    }
    for (int64_t t = 0; t < n; t++) {
        for (int64_t b = 0; b < bands; b++) {
            int64_t peak = 0;
            for (int64_t c = starts[b]; c < starts[b] + widths[b]; c++)
                if (mag[(t + 2) * W + c + 1] > peak)
                    peak = mag[(t + 2) * W + c + 1];
            if (peak >= n_peaks) {
                k = -2;
                goto done;
            }
            cls[t * bands + b] = class_of_peak[peak];
        }
    }
    for (int64_t t = 0; t < n; t++) {
        for (int64_t b = 0; b < bands; b++) {
            int64_t prev = t == 0 ? ncls : cls[(t - 1) * bands + b];
            int64_t i = (b * (ncls + 1) + prev) * ncls + cls[t * bands + b];
            if (i < 0 || i >= n_class_costs) {
                k = -2;
                goto done;
            }
            class_vals[t * bands + b] = class_costs[i];
        }
        for (int64_t b = 0; b < bands; b++) {
            int64_t cb = cls[t * bands + b];
            if (cb == 0)
                continue;
            int64_t base = (b * ncls + cb) * nctx;
            for (int64_t c = starts[b]; c < starts[b] + widths[b]; c++) {
                int64_t total = mag[(t + 1) * W + c] + 2 * mag[(t + 1) * W + c + 1] + mag[(t + 1) * W + c + 2]
                                + mag[t * W + c + 1];
                if (total >= n_sums) {
                    k = -2;
                    goto done;
                }
                int64_t i = (base + ctx_of_sum[total]) * K + idx[t * C + c];
                if (i < 0 || i >= n_costs) {
                    k = -2;
                    goto done;
                }
                latent_vals[k++] = costs[i];
            }
        }
    }
done:
    free(mag);
    free(idx);
    free(cls);
    return k;
}
