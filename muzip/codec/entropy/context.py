"""Context-adaptive entropy coding: each symbol's integer table is picked by what was decoded just before it.

muzip-v1 codes every symbol with a static table per (role, level, channel), blind to the local spectral
envelope. Here the table is chosen by (role, channel band, context), where the context is a bucket of the
magnitudes of the two latent vectors decoded just before it in the same frame:

    s = |q[t-1, c-1]| + 2 |q[t-1, c]| + |q[t-1, c+1]| + |q[t-2, c]|      (|q| capped at R + 1)

and the bucket is the number of `context_edges` that are <= s. The decoder decodes one latent vector at a
time, all channels at once, so it knows every context before it needs it; contexts restart at zero in
each frame, so frames stay independent (seeking, damage isolation). The tables do not depend on the
quantizer level: measured on muzip-v1's symbols they code as well as per-level ones do
(scripts/experiments/exp_context_tables.py). As in entropy.ans, tables are integer counts summing to 2**24 and the
coder sees only dyadic probabilities built from the file's integers, so decoding is exact on any machine.
"""

from __future__ import annotations

import constriction
import numpy as np

from ...errors import CorruptFileError
from .ans import PRECISION, TOTAL as _TOTAL, ans_reader, check_frame, counts_from_histogram, encode_escapes, \
    escape_bits, values_with_escapes


def context_sums(mag: np.ndarray) -> np.ndarray:
    """mag (n, C) capped magnitudes -> (n, C) neighbourhood sums s of the two previous vectors (0 before t=0),
    in mag's integer type (the coder passes int16: sums stay <= 5 (R + 1))."""
    n, C = mag.shape
    pad = np.zeros((n + 2, C + 2), mag.dtype)  # rows t+2 hold mag[t], channels padded
    pad[2:, 1:-1] = mag
    prev = pad[1:-1]
    return prev[:, :-2] + 2 * prev[:, 1:-1] + prev[:, 2:] + pad[:-2, 1:-1]


class ContextCoder:
    """Codes integer latents (A, n, C) with tables (roles, bands, contexts, 2R+2) chosen per symbol by context."""

    def __init__(self, counts: np.ndarray, config: dict):
        R = config["alphabet_radius"]
        self.radius, self.escape = R, 2 * R + 1
        self.channels, self.num_levels = config["latent_channels"], config["num_levels"]
        self.edges = np.asarray(config["context_edges"], dtype=np.int64)
        bands = config["context_bands"]
        if counts.ndim != 4 or counts.shape[1:] != (bands, len(self.edges) + 1, 2 * R + 2):
            raise ValueError("context table shape does not match the model config")
        if np.any(counts.astype(np.int64).sum(axis=-1) != _TOTAL) or counts.min() < 1:
            raise ValueError(f"entropy table rows must sum to 2**{PRECISION}")
        self.roles = counts.shape[0]
        self.band = np.arange(self.channels) * bands // self.channels  # channel -> band
        nctx, K = len(self.edges) + 1, 2 * R + 2
        # Tables flattened to rows (band, context): one np.take per latent vector gathers its C rows. Kept
        # float64: constriction quantizes float32 tables differently, and the coded words would change.
        self.probs = (counts.astype(np.float64) / _TOTAL).reshape(self.roles, bands * nctx, K)
        self.costs = (PRECISION - np.log2(counts.astype(np.float64))).astype(np.float32).reshape(self.roles, -1)
        self._band_row = (self.band * nctx).astype(np.intp)  # channel -> its band's first row
        self._family = constriction.stream.model.Categorical(perfect=False)
        # context of each possible sum (|q| <= R + 1, so s <= 5 (R + 1)): one gather instead of a search
        self._ctx_of_sum = np.searchsorted(self.edges, np.arange(5 * (R + 1) + 1), side="right").astype(np.intp)
        # estimate_bits' flat cost index (band row + context) * K + (q + R), its parts precomputed
        self._cost_row_of_sum = self._ctx_of_sum * (2 * R + 2)
        self._cost_band_row = self._band_row * (2 * R + 2) + R

    def contexts(self, idx: np.ndarray) -> np.ndarray:
        """Symbol indices (n, C) of one audio channel -> the context of each symbol (n, C)."""
        return self._ctx_of_sum[context_sums(np.abs(idx - self.radius).astype(np.int16))]

    def _indices(self, q: np.ndarray) -> np.ndarray:
        r = self.radius
        return np.where(np.abs(q) > r, self.escape, q + r).astype(np.int32)

    def estimate_bits(self, q: np.ndarray, role: int, level: int) -> float:
        """Estimated coded size in bits of q (n, C) for one audio channel (the level does not change the tables).

        Called for 2-4 levels per frame by the rate search, so it works on q clipped to +-(R+1) (an escape's
        magnitude as the contexts cap it) and looks each cost up with one flat index."""
        R = self.radius
        clipped = np.clip(q, -R - 1, R + 1)
        mag = np.abs(clipped)
        flat = np.take(self._cost_row_of_sum, context_sums(mag.astype(np.int16)))  # np.take: 3x faster than [] here
        flat += self._cost_band_row
        flat += clipped  # q + R; an escape is clipped to +-(R+1): +(R+1) lands on index 2R+1 already
        escaped = mag.max(initial=0) > R
        if escaped:
            flat[clipped < -R] += 2 * (R + 1)  # and -(R+1) moves from index -1 to 2R+1
        bits = float(np.take(self.costs[role], flat).sum(dtype=np.float64))
        return bits + escape_bits(q, R) if escaped else bits

    def encode(self, q: np.ndarray, levels) -> bytes:
        """q: int array (A, n, C) for A audio channels (mid[, side]); levels: one per audio channel."""
        if q.shape[-1] != self.channels or len(levels) != q.shape[0] or q.shape[0] > self.roles:
            raise ValueError("latent shape does not match the entropy model")
        coder = constriction.stream.stack.AnsCoder()
        idx = self._indices(q)
        buf = np.empty((self.channels, self.probs.shape[2]))  # reused: a fresh 450 kB array per vector page-faults
        encode_escapes(coder, q[idx == self.escape].astype(np.int64), self.radius)  # decoded last, C order
        for a in reversed(range(q.shape[0])):
            table, rows = self.probs[a], self.contexts(idx[a])
            rows += self._band_row
            for t in reversed(range(q.shape[1])):  # one (C, K) gather per vector: a whole frame's is 20 MB
                coder.encode_reverse(idx[a, t], self._family, np.take(table, rows[t], axis=0, out=buf, mode="clip"))
        return coder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, n: int, levels) -> np.ndarray:
        """Inverse of encode for A=len(levels) audio channels of n latents; CorruptFileError if malformed."""
        check_frame(data, levels, self.roles, self.num_levels)
        C, R = self.channels, self.radius
        try:
            coder = ans_reader(data)
            idx = np.empty((len(levels), n, C), dtype=np.int32)
            buf = np.empty((C, self.probs.shape[2]))  # reused, as in encode
            for a in range(len(levels)):
                table = self.probs[a]
                mag = np.zeros((n + 2, C + 2), dtype=np.int64)  # rows t+2 hold |q[t]|, channels padded
                for t in range(n):
                    prev, prev2 = mag[t + 1], mag[t]
                    s = prev[:-2] + 2 * prev[1:-1] + prev[2:] + prev2[1:-1]
                    rows = self._ctx_of_sum[s]
                    rows += self._band_row
                    row = coder.decode(self._family, np.take(table, rows, axis=0, out=buf, mode="clip"))
                    idx[a, t] = row
                    mag[t + 2, 1:-1] = np.abs(row - R)
            q = values_with_escapes(coder, idx, R)
        except CorruptFileError:
            raise
        except Exception as exc:  # constriction raises plain exceptions on inconsistent data
            raise CorruptFileError(f"entropy-coded payload is damaged ({exc})") from None
        return q


def count_context_tables(symbol_blocks, config: dict, roles: int = 2) -> np.ndarray:
    """Integer tables (roles, bands, contexts, 2R+2) from (role, q (n, C)) blocks, each block one frame's latents."""
    R, C, bands = config["alphabet_radius"], config["latent_channels"], config["context_bands"]
    edges = np.asarray(config["context_edges"], dtype=np.int64)
    K, nctx = 2 * R + 2, len(edges) + 1
    band = np.arange(C) * bands // C
    hist = np.zeros((roles, bands * nctx * K), np.float64)
    for role, q in symbol_blocks:
        idx = np.where(np.abs(q) > R, K - 1, q + R)
        ctx = np.searchsorted(edges, context_sums(np.abs(idx - R)), side="right")
        flat = (band[None, :] * nctx + ctx) * K + idx
        hist[role] += np.bincount(flat.ravel(), minlength=hist.shape[1])
    return counts_from_histogram(hist.reshape(roles, bands, nctx, K) + 0.5)  # +0.5: every symbol stays codable
