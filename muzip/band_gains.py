"""Coded band-energy corrections: the decoder's MDCT output rescaled, band by band, to the original's energy.

At 16-32 kbps most of what a listener (and ViSQOL) hears wrong in muzip-v2 is not the fine structure but
the level of each band: quantization zeroes most latents and the decoder cannot know how much energy they
held (docs/EXPERIMENTS.md, lever 5: rescaling each 20-ms band of the decoded audio to the original's
energy lifts ViSQOL from 3.1 to 4.2). CELT codes band energies for the same reason. Here, per audio
channel (mid, side), latent vector and band of the MDCT, the encoder codes

    s = round(10 log10(E_orig / max(E_dec, floor)) / db)        clipped to [-R, R]

where E_dec is the energy of the decoder's own output coefficients in that band (the encoder runs the
decoder: analysis by synthesis). The decoder multiplies its band by 10**(s db / 20), or, where its band is
empty (E_dec < floor), fills it with seeded noise of energy floor * 10**(s db / 10). A ratio, not an
absolute level, is coded: a decoder whose float output differs slightly on another machine applies the
same correction to it, and nothing the entropy decoder needs depends on floats.

Entropy coding (constriction ANS, integer tables summing to 2**24 as in muzip.entropy): each symbol's table
is chosen by (band group, how many of the band's latents are non-zero, capped at 3, the previous vector's
symbol in the same band, capped to [-4, 12] or 'first vector'), all integers the decoder has decoded
before it needs them. Frames stay independent. A frame whose latents are all zero carries no gains.
"""

from __future__ import annotations

import struct

import constriction
import numpy as np

from .entropy import PRECISION, ans_reader, counts_from_histogram
from .errors import CorruptFileError

UNCHANGED = -128  # a gain index meaning 'no correction, no fill' (concealed or missing frames)
_PREV_LO, _PREV_HI = -4, 12
_PREVS = _PREV_HI - _PREV_LO + 2  # clipped previous symbol, plus 'first vector of the frame'
_NZ = 4
_LEN = struct.Struct("<I")  # gain payload = latent payload length (u32) + latent payload + gain words


def band_edges(bins: int, bands: int, rate: int) -> list[int]:
    """ERB-spaced band edges over `bins` MDCT bins spanning 0..rate/2 (written into the model config)."""
    erb = lambda f: 21.4 * np.log10(1 + 0.00437 * f)  # noqa: E731
    hz = (10 ** (np.linspace(0.0, erb(rate / 2), bands + 1) / 21.4) - 1) / 0.00437
    return [int(e) for e in np.unique(np.round(hz / (rate / 2 / bins)).astype(int))]


class BandGains:
    """The band-gain codec of one model: config['band_gains'] = {edges, db, radius, floor, groups}."""

    def __init__(self, config: dict, counts: np.ndarray | None):
        g = config["band_gains"]
        self.edges = np.asarray(g["edges"], np.int64)
        self.width = np.diff(self.edges)
        self.bands = len(self.width)
        self.db, self.radius, self.floor = float(g["db"]), int(g["radius"]), float(g["floor"])
        self.group = np.arange(self.bands) * int(g["groups"]) // self.bands
        self.n_contexts = int(g["groups"]) * _NZ * _PREVS
        K = 2 * self.radius + 1
        if counts is None:  # flat tables: only for counting the real ones
            counts = counts_from_histogram(np.ones((self.n_contexts, K)))
        if counts.shape != (self.n_contexts, K) or np.any(counts.astype(np.int64).sum(-1) != 1 << PRECISION):
            raise ValueError("band-gain table shape does not match the model config")
        self.probs = counts.astype(np.float64) / (1 << PRECISION)
        self.costs = (PRECISION - np.log2(counts.astype(np.float64))).astype(np.float32)
        self._family = constriction.stream.model.Categorical(perfect=False)

    # ------------------------------------------------------------------ analysis and synthesis side
    def _energies(self, coeffs: np.ndarray) -> np.ndarray:
        """(n, C) -> (n, bands) band energies."""
        return np.add.reduceat(coeffs.astype(np.float64) ** 2, self.edges[:-1], axis=1)

    def indices(self, original: np.ndarray, decoded: np.ndarray) -> np.ndarray:
        """Encoder: original and decoded MDCT coefficients (n, C) of one audio channel -> symbols (n, bands)."""
        floor = self.floor * self.width
        ratio = (self._energies(original) + 1e-30) / np.maximum(self._energies(decoded), floor)
        s = np.round(10 * np.log10(ratio) / self.db)
        return np.clip(s, -self.radius, self.radius).astype(np.int32)

    def apply(self, coeffs: np.ndarray, s: np.ndarray, rng_for) -> np.ndarray:
        """Decoder: coeffs (n, C) of one audio channel, symbols (n, bands) (UNCHANGED: leave that vector).

        rng_for(t) -> a numpy Generator for vector t (seeded by absolute position, so any partition of the
        file into calls fills the same noise)."""
        out = np.array(coeffs, np.float32, copy=True)
        valid = s[:, 0] != UNCHANGED
        floor = self.floor * self.width
        gain = np.where(valid[:, None], 10.0 ** (s * (self.db / 20.0)), 1.0)
        empty = (self._energies(coeffs) < floor) & valid[:, None]
        out *= np.repeat(np.where(empty, 0.0, gain), self.width, axis=1).astype(np.float32)
        level = np.repeat(np.where(empty, np.sqrt(floor / self.width) * gain, 0.0), self.width, axis=1)
        for t in np.flatnonzero(empty.any(axis=1)):
            out[t] += rng_for(t).standard_normal(out.shape[1]).astype(np.float32) * level[t].astype(np.float32)
        return out

    # ------------------------------------------------------------------ entropy coding
    def contexts(self, s: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Symbols (n, bands) and latents (n, C) of one audio channel -> each symbol's table (n, bands)."""
        nz = np.minimum(np.add.reduceat((q != 0).astype(np.int64), self.edges[:-1], axis=1), _NZ - 1)
        prev = np.empty_like(nz)
        prev[0] = _PREVS - 1
        prev[1:] = np.clip(s[:-1], _PREV_LO, _PREV_HI) - _PREV_LO
        return (self.group[None, :] * _NZ + nz) * _PREVS + prev

    def estimate_bits(self, s: np.ndarray, q: np.ndarray) -> float:
        return float(sum(self.costs[self.contexts(s[a], q[a]), s[a] + self.radius].sum() for a in range(len(s))))

    def encode(self, s: np.ndarray, q: np.ndarray) -> bytes:
        """s (A, n, bands), q (A, n, C) -> ANS words (nothing for a frame of all-zero latents)."""
        if not q.any():
            return b""
        coder = constriction.stream.stack.AnsCoder()
        for a in reversed(range(len(s))):
            ctx, idx = self.contexts(s[a], q[a]), (s[a] + self.radius).astype(np.int32)
            for t in reversed(range(s.shape[1])):
                coder.encode_reverse(idx[t], self._family, self.probs[ctx[t]])
        return coder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, q: np.ndarray) -> np.ndarray:
        """Inverse of encode given the frame's latents q (A, n, C); CorruptFileError if malformed."""
        A, n = q.shape[:2]
        if not q.any():
            if data:
                raise CorruptFileError("band gains in a silent frame")
            return np.full((A, n, self.bands), UNCHANGED, np.int32)
        s = np.empty((A, n, self.bands), np.int32)
        try:
            coder = ans_reader(data)
            for a in range(A):
                nz = np.minimum(np.add.reduceat((q[a] != 0).astype(np.int64), self.edges[:-1], axis=1), _NZ - 1)
                base = (self.group[None, :] * _NZ + nz) * _PREVS
                prev = np.full(self.bands, _PREVS - 1)
                for t in range(n):
                    s[a, t] = coder.decode(self._family, self.probs[base[t] + prev]) - self.radius
                    prev = np.clip(s[a, t], _PREV_LO, _PREV_HI) - _PREV_LO
        except CorruptFileError:
            raise
        except Exception as exc:  # constriction raises plain exceptions on inconsistent data
            raise CorruptFileError(f"band gains are damaged ({exc})") from None
        return s

    def histogram(self, s: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Counts (contexts, 2R+1) of one frame's symbols, for counting tables."""
        K = 2 * self.radius + 1
        flat = np.concatenate([(self.contexts(s[a], q[a]) * K + s[a] + self.radius).ravel() for a in range(len(s))])
        return np.bincount(flat, minlength=self.n_contexts * K).reshape(self.n_contexts, K)


def join_payload(latent_payload: bytes, gain_words: bytes) -> bytes:
    return _LEN.pack(len(latent_payload)) + latent_payload + gain_words


def split_payload(payload: bytes) -> tuple[bytes, bytes]:
    try:
        (n,) = _LEN.unpack_from(payload)
    except struct.error:
        raise CorruptFileError("payload too short") from None
    if n > len(payload) - _LEN.size:
        raise CorruptFileError("bad latent payload length")
    return payload[_LEN.size:_LEN.size + n], payload[_LEN.size + n:]


def fill_rng(first_latent: int, channel: int):
    """rng_for(t) for a call whose first vector is absolute latent `first_latent`: one seeded generator per
    absolute latent, so the noise does not depend on how the file is split into calls."""
    return lambda t: np.random.default_rng([0x6D757A, 0xB6, first_latent + t, channel])


def latent_payload(config: dict, payload: bytes) -> bytes:
    """The latent part of a frame payload (the whole payload for models without band gains)."""
    return split_payload(payload)[0] if "band_gains" in config else payload


def decode_frame(coder, gains: BandGains | None, payload: bytes, max_latents: int, levels):
    """A frame payload -> (latents q (A, n, C), gain symbols (A, n, bands) or None)."""
    from .entropy import decode_payload
    if gains is None:
        return decode_payload(coder, payload, max_latents, levels), None
    latents, words = split_payload(payload)
    q = decode_payload(coder, latents, max_latents, levels)
    return q, gains.decode(words, q)
