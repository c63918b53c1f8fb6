"""Class-banded context coding: empty bands cost one class symbol, and only coded bands' latents are coded.

The context coder (entropy.context) codes all 882 latents of every vector, each with its own 64-entry
probability row, though at 24 kbps 80-90 % of them sit in bands that are all zero. Here, as AAC's section
data does, each latent vector is cut into bands of `class_width` channels and each band gets a class, the
bucket of its largest |q| among `class_edges` (0: all zero; the last: it holds an escape). Per vector the
decoder reads first the classes, each with a table chosen by (band, that band's class one vector before),
then the latents of the bands whose class is not 0, each with a table chosen by (band, class, the context
coder's neighbourhood sum of the two previous vectors):

    s = |q[t-1, c-1]| + 2 |q[t-1, c]| + |q[t-1, c+1]| + |q[t-2, c]|      (|q| capped at R + 1)

Latents of class-0 bands are zeros and are not coded. Measured on muzip-v2.3's latents (tables from
training excerpts, bits on the validation excerpts; scripts/experiments/exp_banded_entropy.py): 2-4 % fewer
bits than the context coder at 24-64 kbps, 10-40 % fewer at 6-12 kbps, and 3-10x fewer symbols to code.

A decoded band whose largest |q| is not its class's is damage (CorruptFileError): no encoder writes it.
Contexts restart in each frame (frames stay independent); tables are integer counts summing to 2**24
(entropy.ans), so decoding is exact on any machine. Compiled loops (entropy.compiled: C from the first
frame, or numba past the first minute) write and read the same words as the constriction code here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import constriction
import numpy as np

from ...errors import CorruptFileError
from . import compiled
from .ans import PRECISION, TOTAL, ans_reader, check_frame, counts_from_histogram, encode_escapes, \
    escape_bits, values_with_escapes
from .context import context_sums


@dataclass(frozen=True)
class BandedTables:
    """The two tables of a banded model (tables.npz "counts" and "class_counts")."""
    latents: np.ndarray   # (roles, bands, classes, contexts, 2R+2)
    classes: np.ndarray   # (roles, bands, classes + 1 ('first vector'), classes)


class BandedLayout:
    """What the coder and the table counting share: bands, classes and contexts of a config."""

    def __init__(self, config):
        self.radius = R = int(config["alphabet_radius"])
        self.K = 2 * R + 2
        self.channels = C = int(config["latent_channels"])
        width = int(config["class_width"])
        self.class_edges = np.asarray(config["class_edges"], np.int64)
        self.ctx_edges = np.asarray(config["context_edges"], np.int64)
        if width < 1 or len(self.class_edges) < 1 or np.any(np.diff(self.class_edges) <= 0) \
                or self.class_edges[0] < 1 or self.class_edges[-1] > R + 1:
            raise ValueError("banded entropy needs class_width >= 1 and increasing class_edges in 1..R+1")
        self.starts = np.arange(0, C, width)
        self.width = np.diff(np.append(self.starts, C))
        self.bands = len(self.starts)
        self.ncls = len(self.class_edges) + 1
        self.nctx = len(self.ctx_edges) + 1
        self.band_of = np.repeat(np.arange(self.bands), self.width)  # channel -> band
        self._class_of_peak = np.searchsorted(self.class_edges, np.arange(R + 2), side="right")
        self._ctx_of_sum = np.searchsorted(self.ctx_edges, np.arange(5 * (R + 1) + 1), side="right")
        # latent_rows' parts in int32: a row is (band * ncls + class) * nctx + context
        self._ctx_of_sum32 = self._ctx_of_sum.astype(np.int32)
        self._band_offsets = (np.arange(self.bands) * self.ncls)[None, :]
        self._band_class_row = (np.arange(self.bands * self.ncls) * self.nctx).astype(np.int32)

    def classes(self, mag: np.ndarray) -> np.ndarray:
        """Capped magnitudes (n, C) -> class (n, bands) of each band's largest one."""
        return self._class_of_peak[np.maximum.reduceat(mag, self.starts, axis=-1)]

    def class_rows(self, cls: np.ndarray) -> np.ndarray:
        """Classes (n, bands) -> each class symbol's table row: (band, the band's class one vector before)."""
        prev = np.empty_like(cls)
        prev[0] = self.ncls  # 'first vector of the frame'
        prev[1:] = cls[:-1]
        return np.arange(self.bands) * (self.ncls + 1) + prev

    def latent_rows(self, cls: np.ndarray, mag: np.ndarray) -> np.ndarray:
        """Classes (n, bands) and capped magnitudes (n, C) -> each latent's table row (n, C), int32."""
        ctx = self._ctx_of_sum32.take(context_sums(mag.astype(np.int16)))
        ctx += np.repeat(self._band_class_row.take(cls + self._band_offsets), self.width, axis=-1)
        return ctx

    def indices(self, q: np.ndarray) -> np.ndarray:
        R = self.radius
        return np.where(np.abs(q) > R, self.K - 1, q + R).astype(np.int32)


class BandedCoder:
    """Codes integer latents (A, n, C) with class-banded context tables."""

    def __init__(self, tables: BandedTables, config):
        self.layout = L = BandedLayout(config)
        self.radius, self.escape, self.channels = L.radius, L.K - 1, L.channels
        self.num_levels = int(config["num_levels"])
        lat, cls = np.asarray(tables.latents), np.asarray(tables.classes)
        if lat.ndim != 5 or lat.shape[1:] != (L.bands, L.ncls, L.nctx, L.K) \
                or cls.shape != (lat.shape[0], L.bands, L.ncls + 1, L.ncls):
            raise ValueError("banded table shape does not match the model config")
        for t in (lat, cls):
            if np.any(t.astype(np.int64).sum(axis=-1) != TOTAL) or t.min() < 1:
                raise ValueError(f"entropy table rows must sum to 2**{PRECISION}")
        self.roles = lat.shape[0]
        self.costs = (PRECISION - np.log2(lat.astype(np.float64))).astype(np.float32).reshape(self.roles, -1)
        self.class_costs = (PRECISION - np.log2(cls.astype(np.float64))).astype(np.float32).reshape(self.roles, -1)
        self._family = constriction.stream.model.Categorical(perfect=False)
        self._frames = {"encode": 0, "decode": 0, "estimate": 0}  # coded here so far: entropy.compiled's loops pay off later
        self._cdfs, self._tables = None, (lat, cls)

    # float64 probabilities for constriction, which quantizes them the same way on any machine (entropy.ans);
    # made on first use: where the compiled loops code every frame they are never needed (~5 ms a start).
    @functools.cached_property
    def probs(self) -> np.ndarray:
        return (self._tables[0].astype(np.float64) / TOTAL).reshape(self.roles, -1, self.layout.K)

    @functools.cached_property
    def class_probs(self) -> np.ndarray:
        return (self._tables[1].astype(np.float64) / TOTAL).reshape(self.roles, -1, self.layout.ncls)

    def _compiled(self, direction: str):
        """The compiled loops' tables, once enough frames were coded in this direction to pay for loading them."""
        self._frames[direction] += 1
        after = compiled.DECODE_AFTER_FRAMES if direction == "decode" else compiled.ENCODE_AFTER_FRAMES
        if (self._frames[direction] <= after and not compiled.loaded()) or compiled.kernels() is None:
            return None
        if self._cdfs is None:
            L, (lat, cls) = self.layout, self._tables
            self._cdfs = (compiled.fast_cdf(lat.reshape(self.roles, -1, L.K)),
                          compiled.fast_cdf(cls.reshape(self.roles, -1, L.ncls)),
                          *(a.astype(np.int64) for a in (L.starts, L.width, L._ctx_of_sum, L._class_of_peak)))
        return self._cdfs

    def _parts(self, idx: np.ndarray):
        """Symbol indices (n, C) of one audio channel -> (classes, class rows, coded mask, latent rows)."""
        L = self.layout
        mag = np.abs(idx - self.radius)
        cls = L.classes(mag)
        return cls, L.class_rows(cls), np.repeat(cls > 0, L.width, axis=-1), L.latent_rows(cls, mag)

    def estimate_bits(self, q: np.ndarray, role: int, level: int) -> float:
        """Estimated coded size in bits of q (n, C) for one audio channel (the level does not change the tables).
        Called for 2-4 levels per frame by the rate search: int32 throughout, costs gathered for coded bands only."""
        L, R = self.layout, self.radius
        if compiled.loaded() and q.dtype == np.int32 and q.flags.c_contiguous:  # once the encoder loaded them
            cdfs = self._compiled("estimate")
            class_vals, latent_vals, escaped = compiled.kernels().estimate_costs(
                q, R, self.class_costs[role], self.costs[role], *cdfs[2:], L.ncls, L.nctx)
            bits = class_vals.sum(dtype=np.float64)  # summed as below, over arrays of the same shape and order
            if latent_vals.size:
                bits += latent_vals.sum(dtype=np.float64)
            return float(bits) + escape_bits(q, R) if escaped else float(bits)
        idx = np.clip(q, -R - 1, R + 1).astype(np.int32)  # an escape at +-(R+1), as its magnitude counts
        mag = np.abs(idx)
        escaped = mag.max(initial=0) > R
        idx += R
        if escaped:
            idx[idx < 0] = L.K - 1  # -(R+1) -> the escape symbol, as +(R+1) already is
        cls, crows, coded, rows = self._parts(idx)
        bits = self.class_costs[role].take(crows * L.ncls + cls).sum(dtype=np.float64)
        if coded.any():
            rows *= L.K
            rows += idx
            bits += self.costs[role].take(rows[coded]).sum(dtype=np.float64)
        return float(bits) + escape_bits(q, R) if escaped else float(bits)

    def encode(self, q: np.ndarray, levels) -> bytes:
        """q: int array (A, n, C) for A audio channels (mid[, side]); levels: one per audio channel."""
        if q.shape[-1] != self.channels or len(levels) != q.shape[0] or q.shape[0] > self.roles:
            raise ValueError("latent shape does not match the entropy model")
        idx = self.layout.indices(q)
        cdfs = self._compiled("encode")
        if cdfs is not None:
            return self._encode_compiled(q, idx, cdfs)
        coder = constriction.stream.stack.AnsCoder()
        encode_escapes(coder, q[idx == self.escape].astype(np.int64), self.radius)  # decoded last, C order
        for a in reversed(range(q.shape[0])):
            cls, crows, coded, rows = self._parts(idx[a])
            for t in reversed(range(q.shape[1])):  # the decoder reads a vector's classes, then its latents
                keep = coded[t]
                if keep.any():
                    coder.encode_reverse(idx[a, t][keep], self._family, np.take(self.probs[a], rows[t][keep], axis=0))
                coder.encode_reverse(cls[t].astype(np.int32), self._family, np.take(self.class_probs[a], crows[t], axis=0))
        return coder.get_compressed().astype("<u4").tobytes()

    def _encode_compiled(self, q, idx, cdfs) -> bytes:
        """encode()'s words from the compiled loop (entropy.compiled): the same symbols in the same order."""
        parts = [self._parts(idx[a]) for a in range(q.shape[0])]
        cls, crows, coded, rows = (np.stack([p[i] for p in parts]) for i in range(4))
        esc_lo, esc_p = compiled.escape_bins(q[idx == self.escape], self.radius)
        words = compiled.kernels().push_banded(idx, rows, coded, cls, crows, cdfs[0], cdfs[1],
                                               esc_lo.astype(np.uint64), esc_p.astype(np.uint64))
        return words.astype("<u4").tobytes()

    def decode(self, data: bytes, n: int, levels) -> np.ndarray:
        """Inverse of encode for A=len(levels) audio channels of n latents; CorruptFileError if malformed."""
        check_frame(data, levels, self.roles, self.num_levels)
        cdfs = self._compiled("decode")
        if cdfs is not None:
            q = np.empty((len(levels), n, self.channels), np.int32)
            try:  # its indices are checked (boundscheck): a payload no encoder wrote cannot read past a table
                status = compiled.kernels().decode_banded(
                    np.frombuffer(data, dtype="<u4").astype(np.uint32), *cdfs, self.radius, q)
            except IndexError:
                status = 3
            compiled.raise_for(status)
            return q
        L, C, R = self.layout, self.channels, self.radius
        class_row = np.arange(L.bands) * (L.ncls + 1)
        # a latent's row is chan_base[c] + class(c) * nctx + context(c): the parts per channel, precomputed
        chan_base, ctx_of_sum = L.band_of * L.ncls * L.nctx, L._ctx_of_sum
        try:
            coder = ans_reader(data)
            idx = np.full((len(levels), n, C), R, dtype=np.int32)  # class-0 bands: zeros
            for a in range(len(levels)):
                probs, class_probs = self.probs[a], self.class_probs[a]
                cls_all = np.empty((n, L.bands), np.int64)
                mag = np.zeros((n + 2, C + 2), dtype=np.int16)  # rows t+2 hold |q[t]|, channels padded
                prev_cls = np.full(L.bands, L.ncls)
                for t in range(n):  # one vector at a time: whole-vector numpy steps, then one gather of rows
                    cls = coder.decode(self._family, class_probs.take(class_row + prev_cls, axis=0))
                    cls_all[t] = prev_cls = cls
                    if not cls.any():
                        continue
                    coded = np.repeat(cls > 0, L.width).nonzero()[0]
                    prev = mag[t + 1]
                    s = prev[:-2] + prev[2:]
                    s += prev[1:-1]
                    s += prev[1:-1]
                    s += mag[t, 1:-1]
                    rows = ctx_of_sum.take(s)
                    rows += chan_base
                    rows += np.repeat(cls * L.nctx, L.width)
                    row = coder.decode(self._family, probs.take(rows.take(coded), axis=0))
                    idx[a, t, coded] = row
                    row -= R
                    mag[t + 2, coded + 1] = np.abs(row)
                if not np.array_equal(L.classes(mag[2:, 1:-1]), cls_all):
                    raise CorruptFileError("entropy-coded payload is damaged (a band's latents do not match its class)")
            q = values_with_escapes(coder, idx, R)
        except CorruptFileError:
            raise
        except Exception as exc:  # constriction raises plain exceptions on inconsistent data
            raise CorruptFileError(f"entropy-coded payload is damaged ({exc})") from None
        return q


def banded_histograms(symbol_blocks, config, roles: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Symbol histograms from (role, q (n, C)) blocks, each block one frame's latents: (latents (roles, bands,
    classes, contexts, K), classes (roles, bands, classes + 1, classes)), the shapes of BandedTables' two."""
    L = BandedLayout(config)
    lat = np.zeros((roles, L.bands * L.ncls * L.nctx * L.K))
    cls_hist = np.zeros((roles, L.bands * (L.ncls + 1) * L.ncls))
    for role, q in symbol_blocks:
        idx = L.indices(q)
        mag = np.abs(idx - L.radius)
        cls = L.classes(mag)
        coded = (cls > 0)[:, L.band_of]
        flat = L.latent_rows(cls, mag)[coded] * L.K + idx[coded]
        lat[role] += np.bincount(flat, minlength=lat.shape[1])
        cls_hist[role] += np.bincount((L.class_rows(cls) * L.ncls + cls).ravel(), minlength=cls_hist.shape[1])
    return (lat.reshape(roles, L.bands, L.ncls, L.nctx, L.K), cls_hist.reshape(roles, L.bands, L.ncls + 1, L.ncls))


def count_banded_tables(symbol_blocks, config, roles: int = 2) -> BandedTables:
    """Integer tables from (role, q (n, C)) blocks, each block one frame's latents."""
    lat, cls = banded_histograms(symbol_blocks, config, roles)
    return BandedTables(counts_from_histogram(lat + 0.5), counts_from_histogram(cls + 0.5))  # +0.5: all codable
