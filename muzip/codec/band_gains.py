"""Coded band-energy corrections: the decoder's MDCT output rescaled, band by band, to the original's energy.

At 16-32 kbps most of what a listener (and ViSQOL) hears wrong in muzip-v2 is not the fine structure but
the level of each band: quantization zeroes most latents and the decoder cannot know how much energy they
held (docs/EXPERIMENTS.md, lever 5: rescaling each 20-ms band of the decoded audio to the original's
energy lifts ViSQOL from 3.1 to 4.2). CELT codes band energies for the same reason. Here, per audio
channel (mid, side), band of the MDCT and group of `stride` latent vectors (1, 2 or 4 by bitrate, one
byte per frame), the encoder runs the decoder (analysis by synthesis) and codes one symbol s:

* where the band has non-zero latents: the ratio of the original's energy to the decoder's output,
  s = round(10 log10(E_orig / E_dec) / db), capped at +-RATIO_MAX steps (+-30 dB; a decoder rejects a
  frame with more); the decoder multiplies its band by 10**(s db / 20). Where latents are coded, encoder
  and decoder outputs agree closely;
* where all of the band's latents are zero: the original's level, s = round(10 log10(E_orig / floor) /
  db); the decoder scales whatever it output there to exactly that energy, or fills seeded noise at it.
  An absolute level, because there the decoder's output depends most on context the encoder may not
  have seen exactly (the next frame's latents, a concealed neighbour), and a ratio could blow up.

Which of the two a symbol is follows from the integer latents, so nothing the entropy decoder needs
depends on floats, and decoding is exact on any machine.

Entropy coding (constriction ANS, integer tables summing to 2**24 as in codec.entropy): each symbol's table
is chosen by (band group, how many of the band's latents are non-zero, capped at 3, the previous group's
symbol in the same band, capped to [-4, 12] or 'first vector'), all integers the decoder has decoded
before it needs them. Frames stay independent. A frame whose latents are all zero carries no gains.

With config "level_delta" (muzip-v2.7 on), a level symbol whose band was also a level symbol in the previous
group is coded as its change, (s - previous) mod (2 radius + 1), in tables of its own chosen by (band group,
the previous level in 18-dB buckets): a band's level moves by a step or two from one 20-ms group to the next
at any loudness, where the capped context above cannot tell a level of 20 steps from one of 35 and spent 4-5
bits on each (on band music at 16 kbps, 60 % of a file's bits; docs/EXPERIMENTS.md, session 36).
"""

from __future__ import annotations

import functools

import constriction
import numpy as np

from ..errors import CorruptFileError
from .entropy.ans import PRECISION, ans_reader, counts_from_histogram

UNCHANGED = -(1 << 20)  # a per-vector code meaning 'no correction, no fill' (concealed or missing frames)
LEVEL = 1 << 16  # per-vector codes at or above LEVEL // 2 are level symbols + LEVEL (see expand)
# Ratio symbols (bands with coded latents) are capped at +-RATIO_MAX steps (+-30 dB at 3 dB a step), so a
# decoder whose output differs cannot blow up. The one limit for both sides: the encoder caps there
# (indices) and the decoder rejects a frame with anything beyond it (decode): no encoder writes it, and the
# alphabet (+-radius, for level symbols) would otherwise let damage through as gains of up to +-120 dB.
RATIO_MAX = 10
_PREV_LO, _PREV_HI = -4, 12
_PREVS = _PREV_HI - _PREV_LO + 2  # clipped previous symbol, plus 'first vector of the frame'
_NZ = 4
_DELTA_BUCKETS, _DELTA_BUCKET_STEPS = 6, 6  # level_delta: contexts by the previous level, 6 steps (18 dB) each


def band_edges(bins: int, bands: int, rate: int) -> list[int]:
    """ERB-spaced band edges over `bins` MDCT bins spanning 0..rate/2 (written into the model config)."""
    erb = lambda f: 21.4 * np.log10(1 + 0.00437 * f)  # noqa: E731
    hz = (10 ** (np.linspace(0.0, erb(rate / 2), bands + 1) / 21.4) - 1) / 0.00437
    return [int(e) for e in np.unique(np.round(hz / (rate / 2 / bins)).astype(int))]


class BandGains:
    """The band-gain codec of one model: config['band_gains'] = {edges, db, radius, floor, groups}."""

    def __init__(self, config, counts: np.ndarray | None):
        g = config["band_gains"]  # a ModelConfig, or a dict while tables are being counted
        self.edges = np.asarray(g["edges"], np.int64)
        self.width = np.diff(self.edges)
        self.bands = len(self.width)
        self.db, self.radius, self.floor = float(g["db"]), int(g["radius"]), float(g["floor"])
        self.stride_kbps = [float(v) for v in g["stride_kbps"]]
        # Raise a band with at most this fraction of its bins coded by filling its uncoded bins, not by
        # scaling the few coded ones into tones (config "sparse_fill"; 0: scale the whole band). Off in the
        # models with a decoder network: better tonality on band music, worse mel on game music
        # (docs/EXPERIMENTS.md).
        self.sparse_fill = float(g.get("sparse_fill", 0.0))
        # Where the fill noise comes from: "vector" (every shipped model), a generator per latent vector;
        # "frame", one per frame and audio channel, about 30x fewer generators (config "fill_noise").
        self.fill_noise = g.get("fill_noise", "vector")
        if self.fill_noise not in ("vector", "frame"):
            raise ValueError("band_gains fill_noise must be 'vector' or 'frame'")
        self.per_frame = int(config["frame_samples"]) // int(config["hop"]) if self.fill_noise == "frame" else None
        # Empty bands from `min_hz` up filled with the decoded spectrum just below them (CELT's folding),
        # mixed with the noise at equal power for mix 0.5 (config "fold"; muzip-v2.6).
        fold = g.get("fold")
        self.fold_from, self.fold_mix = None, 0.0
        if fold is not None:
            self.fold_mix = float(fold["mix"])
            first = int(np.ceil(float(fold["min_hz"]) / (float(config["model_rate"]) / 2) * self.edges[-1]))
            self.fold_from = int(np.searchsorted(self.edges[:-1], first))  # the first band folded
            if not 0 < self.fold_mix <= 1 or np.any(self.edges[self.fold_from:-1] < self.width[self.fold_from:]):
                raise ValueError("band_gains fold needs 0 < mix <= 1 and min_hz above bands wider than their start")
        self.group = np.arange(self.bands) * int(g["groups"]) // self.bands
        self.level_delta = bool(g.get("level_delta", False))
        self._delta_base = int(g["groups"]) * _NZ * _PREVS  # the first level_delta context
        self.n_contexts = self._delta_base + (int(g["groups"]) * _DELTA_BUCKETS if self.level_delta else 0)
        # level_delta: a change's table by (band, the previous symbol's index), flat, and each band's offset in it
        prev_level = np.arange(2 * int(g["radius"]) + 1) - int(g["radius"])
        bucket = np.clip((prev_level + _DELTA_BUCKET_STEPS - 1) // _DELTA_BUCKET_STEPS, 0, _DELTA_BUCKETS - 1)
        self._delta_table = (self._delta_base + self.group[:, None] * _DELTA_BUCKETS + bucket[None, :]).ravel()
        self._band_at = np.arange(self.bands) * len(prev_level)
        K = 2 * self.radius + 1
        if counts is None:  # flat tables: only for counting the real ones
            counts = counts_from_histogram(np.ones((self.n_contexts, K)))
        if counts.shape != (self.n_contexts, K) or np.any(counts.astype(np.int64).sum(-1) != 1 << PRECISION):
            raise ValueError("band-gain table shape does not match the model config")
        self.probs = counts.astype(np.float64) / (1 << PRECISION)
        self.costs = (PRECISION - np.log2(counts.astype(np.float64))).astype(np.float32)
        entropy = np.sum(np.where(counts > 0, self.probs * self.costs, 0.0), axis=1)
        self.mean_bits = float(np.mean(entropy))  # a symbol's cost, before any is seen
        self._family = constriction.stream.model.Categorical(perfect=False)
        self._prev_of_index = np.clip(np.arange(K) - self.radius, _PREV_LO, _PREV_HI) - _PREV_LO

    # ------------------------------------------------------------------ analysis and synthesis side
    def _energies(self, coeffs: np.ndarray) -> np.ndarray:
        """(n, C) -> (n, bands) band energies."""
        return np.add.reduceat(coeffs.astype(np.float64) ** 2, self.edges[:-1], axis=1)

    def stride_for(self, kbps: float) -> int:
        """Vectors per coded gain: finer in time where the bitrate can pay for it."""
        for limit, stride in zip(self.stride_kbps, (1, 2)):
            if kbps >= limit:
                return stride
        return 4

    def nonzero(self, q: np.ndarray, stride: int) -> np.ndarray:
        """Latents (n, C) of one audio channel -> non-zero latents per (group of `stride` vectors, band)."""
        nz = np.add.reduceat((q != 0).astype(np.int64), self.edges[:-1], axis=1)
        return np.add.reduceat(nz, np.arange(0, len(q), stride), axis=0)

    def indices(self, original: np.ndarray, decoded: np.ndarray, nz: np.ndarray, stride: int) -> np.ndarray:
        """Encoder: original and decoded coefficients (n, C) of one audio channel, nonzero() counts ->
        symbols (ceil(n / stride), bands): a capped energy ratio where the band has latents, else the
        original's level above the floor (robust to any difference in what the decoder outputs there)."""
        starts = np.arange(0, len(original), stride)
        k = np.diff(np.append(starts, len(original)))[:, None]
        floor = self.floor * self.width * k
        ex = np.add.reduceat(self._energies(original), starts, axis=0) + 1e-30
        ed = np.add.reduceat(self._energies(decoded), starts, axis=0)
        ratio = np.clip(np.round(10 * np.log10(ex / np.maximum(ed, floor)) / self.db), -RATIO_MAX, RATIO_MAX)
        level = np.round(10 * np.log10(ex / floor) / self.db)
        return np.clip(np.where(nz == 0, level, ratio), -self.radius, self.radius).astype(np.int32)

    def expand(self, s: np.ndarray, nz: np.ndarray, stride: int, n: int) -> np.ndarray:
        """Coded symbols of one audio channel -> per-vector codes (n, bands) for apply(): a ratio symbol
        as is, a level symbol + LEVEL."""
        return np.repeat(np.where(nz == 0, s + LEVEL, s), stride, axis=0)[:n].astype(np.int32)

    def apply(self, coeffs: np.ndarray, codes: np.ndarray, rng_for, coded: np.ndarray | None = None) -> np.ndarray:
        """Decoder: coeffs (n, C) of one audio channel, per-vector codes from expand() (UNCHANGED: leave
        the vector as it is). rng_for(t) -> a Generator for vector t, seeded by absolute position, so any
        partition of the file into calls fills the same noise. coded (n, C) bool: the non-zero latents
        (for sparse_fill models)."""
        out = np.array(coeffs, np.float32, copy=True)
        valid = codes[:, 0] != UNCHANGED
        is_level = (codes >= LEVEL // 2) & valid[:, None]
        sym = np.where(is_level, codes - LEVEL, codes)
        energy = self._energies(coeffs)
        target = self.floor * self.width * 10.0 ** (sym * (self.db / 10.0))
        gain = np.where(is_level, np.sqrt(target / np.maximum(energy, 1e-30)), 10.0 ** (sym * (self.db / 20.0)))
        gain = np.where(valid[:, None], gain, 1.0)
        fill = is_level & (energy < target * 1e-6)  # nothing there to scale: noise at the coded level
        bin_gain = np.repeat(np.where(fill, 0.0, gain), self.width, axis=1)
        noise = np.repeat(np.where(fill, np.sqrt(target / self.width), 0.0), self.width, axis=1)
        if self.sparse_fill > 0 and coded is not None:
            bin_gain, noise = self._sparse_gains(coeffs, coded, energy, gain, ~is_level & valid[:, None], bin_gain, noise)
        out *= bin_gain.astype(np.float32)
        for t in np.flatnonzero(noise.any(axis=1)):
            out[t] += rng_for(t).standard_normal(out.shape[1]).astype(np.float32) * noise[t].astype(np.float32)
        if self.fold_from is not None:
            self._fold(out, fill, np.sqrt(target / self.width))
        return out

    def _fold(self, out, fill, level):
        """Empty bands (fill, their noise already in `out`) from fold_from up: the noise mixed with the
        band-width of decoded spectrum just below, scaled to the band's coded level per bin. Bands go
        upwards, so a folded band can be the next one's source."""
        a, b = np.float32(np.sqrt(1.0 - self.fold_mix)), np.float32(np.sqrt(self.fold_mix))
        for band in range(self.fold_from, self.bands):
            rows = np.flatnonzero(fill[:, band])
            if not len(rows):
                continue
            lo, hi = int(self.edges[band]), int(self.edges[band + 1])
            src = out[rows, 2 * lo - hi:lo]
            rms = np.sqrt(np.mean(np.square(src, dtype=np.float64), axis=1))
            ok = rms > 0  # nothing decoded below: the noise alone
            scale = (level[rows[ok], band] / rms[ok]).astype(np.float32)[:, None]
            out[rows[ok], lo:hi] = a * out[rows[ok], lo:hi] + b * src[ok] * scale

    def _sparse_gains(self, coeffs, coded, energy, gain, ratio, bin_gain, noise):
        """Per-bin gains and noise levels where a ratio raises a band with few of its bins coded (sparse_fill):
        the coded bins keep their level (the quantizer put them within a step of the source) and the energy
        the band lacks goes to its uncoded bins: by scaling the noise a decoder network put there, or, where
        they are exact zeros (a network-free model), as seeded noise."""
        n_coded = np.add.reduceat(coded.astype(np.int64), self.edges[:-1], axis=1)
        e_coded = self._energies(np.where(coded, coeffs, 0.0))
        e_rest = energy - e_coded
        missing = np.maximum(energy * gain ** 2 - e_coded, 0.0)
        sparse = ratio & (gain > 1.0) & (n_coded <= self.sparse_fill * self.width) & (n_coded < self.width)
        if not sparse.any():
            return bin_gain, noise
        scaled = e_rest > 1e-6 * np.maximum(missing, 1e-30)
        rest_gain = np.where(scaled, np.sqrt(missing / np.maximum(e_rest, 1e-30)), 0.0)
        per_bin = np.repeat(sparse, self.width, axis=1)
        bin_gain = np.where(per_bin, np.where(coded, 1.0, np.repeat(rest_gain, self.width, axis=1)), bin_gain)
        level = np.where(sparse & ~scaled, np.sqrt(missing / np.maximum(self.width - n_coded, 1)), 0.0)
        noise = noise + np.where(coded, 0.0, np.repeat(level, self.width, axis=1))
        return bin_gain, noise

    def noise_for(self, first_latent: int, channel: int):
        """apply()'s rng_for for a call whose first vector is absolute latent first_latent."""
        if self.fill_noise == "frame":
            return _FrameNoise(first_latent, channel, self.per_frame, int(self.edges[-1]))
        return fill_rng(first_latent, channel)

    # ------------------------------------------------------------------ entropy coding
    def contexts(self, s: np.ndarray, nz: np.ndarray) -> np.ndarray:
        """Symbols and nonzero() counts (m, bands) of one audio channel -> each symbol's table (m, bands)."""
        prev = np.empty_like(nz)
        prev[0] = _PREVS - 1
        prev[1:] = np.clip(s[:-1], _PREV_LO, _PREV_HI) - _PREV_LO
        return (self.group[None, :] * _NZ + np.minimum(nz, _NZ - 1)) * _PREVS + prev

    def coded(self, s: np.ndarray, nz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Symbols and nonzero() counts (m, bands) of one audio channel -> (tables, coded indices in 0..2R)."""
        ctx, idx = self.contexts(s, nz), s + self.radius
        if self.level_delta and len(s) > 1:
            delta = (nz[1:] == 0) & (nz[:-1] == 0)  # a level after a level, in the same band
            ctx[1:] = np.where(delta, self._delta_table.take(self._band_at + idx[:-1]), ctx[1:])
            idx[1:] = np.where(delta, np.mod(s[1:] - s[:-1], 2 * self.radius + 1), idx[1:])
        return ctx, idx.astype(np.int32)

    def encode(self, s: np.ndarray, nz: np.ndarray, stride: int) -> bytes:
        """s, nz (A, m, bands) -> stride byte + ANS words."""
        coder = constriction.stream.stack.AnsCoder()
        # One call for the frame: encode_reverse of a concatenation pushes its parts last to first, the
        # same words as one call per vector and audio channel in reverse order (the decoder's order).
        parts = [self.coded(s[a], nz[a]) for a in range(len(s))]
        ctx = np.concatenate([c.ravel() for c, _ in parts])
        coder.encode_reverse(np.concatenate([i.ravel() for _, i in parts]), self._family, self.probs.take(ctx, axis=0))
        return bytes([stride]) + coder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, q: np.ndarray) -> np.ndarray:
        """A frame's gain bytes and latents q (A, n, C) -> per-vector codes (A, n, bands) for apply()."""
        A, n = q.shape[:2]
        if not q.any():
            if data:
                raise CorruptFileError("band gains in a silent frame")
            return np.full((A, n, self.bands), UNCHANGED, np.int32)
        if not data or data[0] not in (1, 2, 4):
            raise CorruptFileError("bad band-gain stride")
        stride, out = data[0], np.empty((A, n, self.bands), np.int32)
        try:
            coder = ans_reader(data[1:])
            for a in range(A):
                nz = self.nonzero(q[a], stride)
                base = (self.group[None, :] * _NZ + np.minimum(nz, _NZ - 1)) * _PREVS
                s, prev = np.empty_like(nz), np.full(self.bands, _PREVS - 1)
                K = 2 * self.radius + 1
                # as coded(): a level after a level is its change, in its own tables
                in_row = np.zeros(len(nz), bool)
                if self.level_delta:
                    after = (nz[1:] == 0) & (nz[:-1] == 0)
                    in_row[1:] = after.any(axis=1)
                for t in range(len(nz)):
                    ctx = base[t] + prev
                    delta = after[t - 1] if in_row[t] else None
                    if delta is not None:  # s[t - 1] holds symbol indices until the end of the loop
                        ctx[delta] = self._delta_table.take(self._band_at[delta] + s[t - 1][delta])
                    sym = coder.decode(self._family, self.probs.take(ctx, axis=0))
                    if delta is not None:  # the index of s' + d, kept in -R..R: (index' + d) mod K
                        sym[delta] = np.mod(s[t - 1][delta] + sym[delta], K)
                    s[t] = sym
                    prev = self._prev_of_index.take(sym)  # the symbol clipped to [_PREV_LO, _PREV_HI], as contexts()
                s -= self.radius
                if np.any((nz != 0) & (np.abs(s) > RATIO_MAX)):
                    raise CorruptFileError(f"band gains are damaged (a gain beyond ±{RATIO_MAX * self.db:g} dB, "
                                           "more than any encoder writes)")
                out[a] = self.expand(s, nz, stride, n)
        except CorruptFileError:
            raise
        except Exception as exc:  # constriction raises plain exceptions on inconsistent data
            raise CorruptFileError(f"band gains are damaged ({exc})") from None
        return out

    def histogram(self, s: np.ndarray, nz: np.ndarray) -> np.ndarray:
        """Counts (contexts, 2R+1) of one frame's symbols (A, m, bands), for counting tables."""
        K = 2 * self.radius + 1
        flat = np.concatenate([(lambda c, i: c * K + i)(*self.coded(s[a], nz[a])).ravel() for a in range(len(s))])
        return np.bincount(flat, minlength=self.n_contexts * K).reshape(self.n_contexts, K)


class _FrameNoise:
    """rng_for(t) of "frame" fill noise: t's row of its frame's block of standard normals, drawn once per
    (frame, audio channel), so any partition of the file into calls fills the same noise."""

    def __init__(self, first_latent: int, channel: int, per_frame: int, width: int):
        self.first, self.channel, self.per, self.width = first_latent, channel, per_frame, width

    def __call__(self, t: int):
        i = self.first + t
        return _Row(_frame_block(i // self.per, self.channel, self.per, self.width)[i % self.per])


class _Row:
    def __init__(self, row):
        self.row = row

    def standard_normal(self, n: int):
        return self.row[:n]


@functools.lru_cache(maxsize=16)
def _frame_block(frame: int, channel: int, per: int, width: int) -> np.ndarray:
    block = np.random.Generator(np.random.PCG64([0x6D757A, 0xF7, frame, channel])).standard_normal((per, width))
    block.flags.writeable = False
    return block


def fill_rng(first_latent: int, channel: int):
    """rng_for(t) for a call whose first vector is absolute latent `first_latent`: one seeded generator per
    absolute latent, so the noise does not depend on how the file is split into calls."""
    # Generator(PCG64(seed)) is default_rng(seed), the same stream, for a quarter less time per vector
    return lambda t: np.random.Generator(np.random.PCG64([0x6D757A, 0xB6, first_latent + t, channel]))
