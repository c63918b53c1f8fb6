"""Temporal envelope corrections: pre-echo and smeared attacks put right after the MDCT synthesis.

A 20-ms hop MDCT has a 40-ms window, and a frame's quantization noise (and the band gains' noise filling)
spreads over all of it: before an attack the decoded high band is noise up to 40 ms early, and the attack
rises less than the source's (measured on band music, docs/RD-band.md: +2.6 to +5.9 dB in the 20-4 ms
before attacks, 3.9 to 10.9 dB of rise lost; Opus switches to short MDCTs there, AAC to short blocks and
TNS). Here, as USAC's temporal envelope shaping does, the encoder runs the decoder (as it does for band
gains), compares the original's and the decoded signal above `cutoff_hz` in sub-blocks of hop / `blocks`
samples (2.9 ms at hop 882), and for the hop regions that hold pre-echo before an attack, or sound where
the source is digitally silent, codes each sub-block's level ratio in `db` steps. The decoder multiplies
its high band by those gains, or mutes every band of a sub-block coded MUTE, with 0.7-ms crossfades.

Region t (one per latent vector) is the hop before latent t's centre, samples [(t-1) hop, t hop): the
first half of latent t's window, so the region just before a frame is its own first vector's.

Bytes, per frame that has latents (placed before the band gains' words, self-delimiting):
    count (u8) | count region offsets in the frame (u8, increasing) | count x blocks codes of `bits` bits,
    MSB first, zero-padded to a byte;  code 0 = MUTE, code c >= 1 = ratio step c - 1 + min_step.
"""

from __future__ import annotations

import numpy as np

from ..errors import CorruptFileError
from .transform import synthesize

NONE = -(1 << 20)   # a row's first code: no correction in this region
MUTE = -(1 << 19)   # a sub-block's code: the source is digitally silent here, mute every band
SILENCE_PEAK = 2.0 ** -14     # as codec.encode: below this (-84 dBFS) a sub-block is digital silence
ATTACK_RISE_DB = 12.0         # an attack: the source's high band rises this much over the quietest of ...
PRE_MS = 20.0                 # ... the previous 20 ms (as muzip.listening finds attacks) ...
AUDIBLE_DB = -60.0            # ... to at least this level
RAMP = 16                     # half a crossfade, samples (0.36 ms at 44.1 kHz)
# An encoder choice, no format change: in the PRE_MS before an attack the decoder's high band is aimed this
# many steps (of config db) below the source rather than at it. Noise there is heard as pre-echo, while the
# attack masks what precedes it by a few dB: 1.5 steps (4.5 dB) took the level before attacks from +0.7
# to -1.7 dB at 16 kbps and cost ViSQOL and the mel distance under 0.01 (docs/EXPERIMENTS.md, lever 7).
PRE_ATTACK_MARGIN = 1.5


class TemporalEnvelope:
    """The envelope codec of one model: config["envelope"] = {cutoff_hz, blocks, db, min_step, max_step, max_regions}."""

    def __init__(self, config):
        e = config["envelope"]
        self.hop, rate, bins = int(config["hop"]), int(config["model_rate"]), int(config["latent_channels"])
        self.blocks, self.db = int(e["blocks"]), float(e["db"])
        self.lo, self.hi = int(e["min_step"]), int(e["max_step"])
        self.max_regions = int(e["max_regions"])
        if self.blocks < 1 or self.hop % self.blocks or not self.lo < 0 < self.hi:
            raise ValueError("envelope blocks must divide the hop, and min_step < 0 < max_step")
        # offsets are one byte each, and a count is one byte
        if not 0 < self.max_regions <= 255 or int(config["frame_samples"]) // self.hop + 1 > 256:
            raise ValueError("envelope max_regions must be 1..255, and a frame at most 256 latents")
        self.size = self.hop // self.blocks
        self.cutoff = int(round(float(e["cutoff_hz"]) / (rate / 2) * bins))  # first MDCT bin of the high band
        self.bits = int(np.ceil(np.log2(self.hi - self.lo + 2)))
        self.history = int(round(PRE_MS / 1000 * rate / self.size))

    # ------------------------------------------------------------------ decoder
    def high_band(self, coeffs: np.ndarray) -> np.ndarray:
        """(A, N, C) coefficients -> the synthesis of their bins from the cutoff up (as synthesize())."""
        high = np.array(coeffs, np.float32, copy=True)
        high[..., :self.cutoff] = 0.0
        return synthesize(high, self.hop)

    def apply(self, audio: np.ndarray, coeffs: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Decoder: audio (A, (N-1) hop) = synthesize(coeffs) starting at latent 0's centre, coeffs (A, N, C),
        codes (N, blocks) per latent from parse() (NONE rows: unchanged) -> corrected audio."""
        rows = [j for j in np.flatnonzero(codes[:, 0] != NONE) if j >= 1]
        if not rows:
            return audio
        n, S, H = audio.shape[1], self.size, self.hop
        g_high, g_all = np.ones(n, np.float32), np.ones(n, np.float32)
        for j in rows:
            for b, c in enumerate(codes[j]):
                a = (j - 1) * H + b * S
                if c == MUTE:
                    g_all[a:a + S] = 0.0
                else:
                    g_high[a:a + S] = 10.0 ** (c * self.db / 20.0)
        out = np.array(audio, np.float32, copy=True)
        for a, b in _spans(rows, H, n):
            # the high band of just this span: latents from one before its first region to one past its last
            j0, j1 = max(0, a // H), min(coeffs.shape[1], -(-b // H) + 1)
            high = self.high_band(coeffs[:, j0:j1 + 1])[:, a - j0 * H:b - j0 * H]
            gh, ga = _smooth(g_high, a, b), _smooth(g_all, a, b)
            out[:, a:b] = (out[:, a:b] + (gh - 1.0) * high) * ga
        return out

    # ------------------------------------------------------------------ encoder
    def region_bytes(self) -> float:
        """What one corrected region adds to a frame's bytes."""
        return 1 + self.blocks * self.bits / 8

    def _attacks(self, original_high: np.ndarray, nb: int) -> tuple[np.ndarray, np.ndarray]:
        """The source's attacks over a frame's nb sub-blocks -> (before, at): within PRE_MS before an attack,
        and the attack's own sub-block and the next. original_high as analyse()'s."""
        level = 10 * np.log10(_block_power(original_high, self.size) + 1e-10)
        # the quietest of the `history` sub-blocks before each (of what there is, at the start)
        padded = np.concatenate([np.full(self.history - 1, np.inf), level[:1], level[:-1]])
        quietest = np.lib.stride_tricks.sliding_window_view(padded, self.history).min(axis=1)
        attacks = np.flatnonzero((level >= quietest + ATTACK_RISE_DB) & (level >= AUDIBLE_DB))
        before, at = np.zeros(nb, bool), np.zeros(nb, bool)
        for b in attacks:
            before[max(0, b - self.history):min(nb, b)] = True
            at[min(nb, b):min(nb, b + 2)] = True
        return before & ~at, at

    def candidates(self, original: np.ndarray, original_high: np.ndarray) -> tuple[np.ndarray, tuple]:
        """Encoder: the regions (n,) analyse() may correct, from the source alone: those near an attack or
        with digitally silent sub-blocks. The decoder's output matters only there, so the encoder computes
        it only there (most of a frame's regions are neither). -> (regions, attacks: for analyse())."""
        n = original.shape[1] // self.hop
        attacks = self._attacks(original_high, n * self.blocks)
        silent = _block_peak(original, self.size) < SILENCE_PEAK
        return (attacks[0] | attacks[1] | silent).reshape(n, self.blocks).any(axis=1), attacks

    def analyse(self, original: np.ndarray, decoded: np.ndarray, decoded_high: np.ndarray,
                original_high: np.ndarray, limit: int | None = None, attacks: tuple | None = None) -> np.ndarray:
        """Encoder: a frame's n regions. original, decoded, decoded_high: (A, n hop) from the first region's
        start; original_high: (A, (n + k) hop), the same start and k regions of look-ahead. decoded and
        decoded_high are read only in the regions candidates() names; attacks: what it returned beside them.
        -> codes (n, blocks), NONE rows where nothing is corrected.

        A region is corrected where it is within PRE_MS before (or at) an attack of the source's high band
        (a rise of ATTACK_RISE_DB over the quietest of the previous PRE_MS, to at least AUDIBLE_DB) and the
        decoder's level is off by a step there, or where the source is digitally silent and the decoder not.
        At most `limit` regions (and max_regions), those with the largest corrections first."""
        n, B = decoded.shape[1] // self.hop, self.blocks
        nb = n * B
        eo, ed = _block_power(original_high, self.size), _block_power(decoded_high, self.size)
        floor = 1e-10
        ratio = 10 * np.log10((eo[:nb] + floor) / (ed + floor)) / self.db
        before, at = self._attacks(original_high, nb) if attacks is None else attacks
        near = before | at
        # Rounded towards quieter before an attack (pre-masking lasts a few ms: noise there is heard) and
        # towards louder at it (the attack masks what follows it).
        steps = np.where(before, np.floor(ratio - PRE_ATTACK_MARGIN), np.where(at, np.ceil(ratio), np.round(ratio)))
        steps = np.clip(steps, self.lo, self.hi)
        silent = _block_peak(original, self.size) < SILENCE_PEAK
        mute = silent & (_block_peak(decoded, self.size) >= SILENCE_PEAK)
        wrong = (near & (steps != 0)).reshape(n, B).any(axis=1) | mute.reshape(n, B).any(axis=1)
        keep = min(self.max_regions, self.max_regions if limit is None else max(0, limit))
        size = np.where(mute, -self.lo, np.abs(steps)).reshape(n, B).sum(axis=1)  # a MUTE counts as the most
        flagged = np.flatnonzero(wrong)
        flagged = np.sort(flagged[np.argsort(-size[flagged], kind="stable")[:keep]])
        codes = np.full((n, B), NONE, np.int32)
        codes[flagged] = np.where(silent.reshape(n, B)[flagged], MUTE, steps.reshape(n, B)[flagged])
        return codes

    # ------------------------------------------------------------------ bytes
    def encode(self, codes: np.ndarray) -> bytes:
        rows = np.flatnonzero(codes[:, 0] != NONE)
        fields = np.where(codes[rows] == MUTE, 0, codes[rows] - self.lo + 1).astype(np.int64).ravel()
        bits = ((fields[:, None] >> np.arange(self.bits - 1, -1, -1)) & 1).astype(np.uint8).ravel()
        return bytes([len(rows)]) + rows.astype(np.uint8).tobytes() + np.packbits(bits).tobytes()

    def parse(self, data: bytes, n: int) -> tuple[np.ndarray, int]:
        """A frame's bytes (and what follows them) -> (codes (n, blocks), bytes used); CorruptFileError if bad."""
        if not data:
            raise CorruptFileError("temporal envelope missing")
        count = data[0]
        nfield = count * self.blocks
        used = 1 + count + (nfield * self.bits + 7) // 8
        if count > min(n, self.max_regions) or len(data) < used:
            raise CorruptFileError("temporal envelope is damaged (bad region count)")
        rows = np.frombuffer(data, np.uint8, count, 1).astype(np.int64)
        if count and (rows[-1] >= n or np.any(np.diff(rows) <= 0)):
            raise CorruptFileError("temporal envelope is damaged (bad region offsets)")
        bits = np.unpackbits(np.frombuffer(data, np.uint8, used - 1 - count, 1 + count))[:nfield * self.bits]
        fields = bits.reshape(nfield, self.bits).astype(np.int64) @ (1 << np.arange(self.bits - 1, -1, -1))
        if np.any(fields > self.hi - self.lo + 1):
            raise CorruptFileError("temporal envelope is damaged (a gain beyond the encoder's range)")
        codes = np.full((n, self.blocks), NONE, np.int32)
        codes[rows] = np.where(fields == 0, MUTE, fields - 1 + self.lo).reshape(count, self.blocks)
        return codes, used


def _block_power(x: np.ndarray, size: int) -> np.ndarray:
    """(A, m size) -> mean power per sub-block, summed over channels (m,)."""
    m = x.shape[1] // size
    return np.sum(np.mean(np.square(x[:, :m * size].reshape(x.shape[0], m, size), dtype=np.float64), axis=2), axis=0)


def _block_peak(x: np.ndarray, size: int) -> np.ndarray:
    m = x.shape[1] // size
    return np.max(np.abs(x[:, :m * size].reshape(x.shape[0], m, size)), axis=(0, 2))


def _spans(rows, hop: int, n: int) -> list[tuple[int, int]]:
    """Sample spans to process: each run of corrected regions with a crossfade's width each side."""
    spans = []
    for j in rows:
        a, b = max(0, (j - 1) * hop - 2 * RAMP), min(n, j * hop + 2 * RAMP)
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


_KERNEL = np.hanning(2 * RAMP + 3)[1:-1].astype(np.float32)
_KERNEL /= _KERNEL.sum()


def _smooth(gain: np.ndarray, a: int, b: int) -> np.ndarray:
    """gain[a:b] with each step turned into a raised-cosine crossfade of 2 RAMP + 1 samples."""
    lo, hi = max(0, a - RAMP), min(len(gain), b + RAMP)
    padded = np.pad(gain[lo:hi], (RAMP - (a - lo), RAMP - (hi - b)), mode="edge")
    return np.convolve(padded, _KERNEL, mode="valid").astype(np.float32)
