"""Entropy coding of quantized latents with constriction's ANS coder and integer probability tables.

Tables are integer counts, shape (roles, levels, channels, 2R+2) -- role 0 codes mid (or mono),
role 1 codes side -- each row summing exactly to 2**PRECISION
with every entry >= 1. Symbol index v+R codes a value v in [-R, R]; index 2R+1 is an escape for
|v| > R, whose magnitude follows as an Exp-Golomb code built from constriction's Uniform model.
The coder is given the dyadic probabilities count / 2**PRECISION, which are exact in floating point
and come only from the file's integers (level, channel), never from the network, so a file decodes
to the same symbols on any machine.
"""

import struct

import constriction
import numpy as np

from .errors import CorruptFileError

PRECISION = 24
_COUNT = struct.Struct("<H")  # frame payload = latent count (u16) + ANS words
_TOTAL = 1 << PRECISION
_MAX_EXP = 24  # escapes up to 2**24, far beyond any latent the encoder produces


def counts_from_histogram(hist: np.ndarray) -> np.ndarray:
    """Turn non-negative histograms (..., K) into integer tables summing to 2**PRECISION, entries >= 1."""
    hist = np.asarray(hist, dtype=np.float64)
    k = hist.shape[-1]
    probs = hist / np.maximum(hist.sum(axis=-1, keepdims=True), 1e-300)
    counts = np.floor(probs * (_TOTAL - k)).astype(np.int64) + 1
    # Put the rounding remainder on the most likely symbol so every row sums exactly to 2**PRECISION.
    remainder = _TOTAL - counts.sum(axis=-1)
    top = np.argmax(counts, axis=-1)
    np.put_along_axis(counts, top[..., None], np.take_along_axis(counts, top[..., None], -1) + remainder[..., None], -1)
    assert np.all(counts.sum(axis=-1) == _TOTAL) and counts.min() >= 1
    return counts.astype(np.uint32)


class LatentCoder:
    """Codes integer latents (A, n, C) for A audio channels (mid[, side]) given one level per channel."""

    def __init__(self, counts: np.ndarray, radius: int):
        if not hasattr(counts, "shape"):  # an array, or runtime.tables.LevelTables (blocks loaded as used)
            counts = np.asarray(counts)
        if counts.ndim != 4 or counts.shape[-1] != 2 * radius + 2:
            raise ValueError("entropy table shape does not match the alphabet radius")
        self.counts = counts
        self.radius = radius
        self.escape = 2 * radius + 1
        self.roles, self.num_levels, self.channels, _ = counts.shape
        self._row_offsets = (np.arange(self.channels, dtype=np.int32) * counts.shape[-1])[None, :]
        self._model_lists = {}
        # Checked and converted per (role, level) on first use: a call touches a few of the 128 tables,
        # and doing all of them up front was a tenth of a short file's run time.
        self._costs = {}

    def _rows(self, role: int, level: int) -> np.ndarray:
        rows = self.counts[role, level].astype(np.int64)
        if np.any(rows.sum(axis=-1) != _TOTAL) or rows.min() < 1:
            raise ValueError(f"entropy table rows must sum to 2**{PRECISION}")
        return rows

    def bit_cost(self, role: int, level: int) -> np.ndarray:
        """Flat (C*K,) float32 bit cost of each symbol: for rate *estimation* only (coding uses the integers)."""
        costs = self._costs.get((role, level))
        if costs is None:
            costs = (PRECISION - np.log2(self._rows(role, level).astype(np.float64))).astype(np.float32).ravel()
            self._costs[(role, level)] = costs
        return costs

    def _models_for(self, role: int, level: int) -> list:
        """The constriction models of every channel at (role, level), built once (rows checked first)."""
        key = (role, level)
        models = self._model_lists.get(key)
        if models is None:
            probs = self._rows(role, level).astype(np.float64) / _TOTAL
            Categorical = constriction.stream.model.Categorical
            models = self._model_lists[key] = [Categorical(row, perfect=False) for row in probs]
        return models

    def _indices(self, q: np.ndarray) -> np.ndarray:
        r = self.radius
        return np.where(np.abs(q) > r, self.escape, q + r).astype(np.int32)

    def estimate_bits(self, q: np.ndarray, role: int, level: int) -> float:
        """Estimated coded size in bits of q (n, C) for one audio channel at one level (no coder run)."""
        idx = self._indices(q)
        # Flat gather (row c of the table starts at c*K): several times faster than take_along_axis here.
        bits = float(self.bit_cost(role, level)[idx + self._row_offsets].sum())
        return bits + escape_bits(q, self.radius)

    def encode(self, q: np.ndarray, levels) -> bytes:
        """q: int array (A, n, C) for A audio channels (mid[, side]); levels: one per audio channel."""
        if q.shape[-1] != self.channels or len(levels) != q.shape[0]:
            raise ValueError("latent shape does not match the entropy model")
        coder = constriction.stream.stack.AnsCoder()
        idx = self._indices(q)
        escaped = q[idx == self.escape].astype(np.int64)  # C-order: decoder recovers the same order
        self._encode_escapes(coder, escaped)
        by_channel = np.ascontiguousarray(idx.transpose(0, 2, 1))  # (A, C, n): each row contiguous
        for a in reversed(range(q.shape[0])):
            models = self._models_for(a, levels[a])
            for c in reversed(range(self.channels)):
                coder.encode_reverse(by_channel[a, c], models[c])
        return coder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, n: int, levels) -> np.ndarray:
        """Inverse of encode for A=len(levels) audio channels of n latents; CorruptFileError if malformed."""
        check_frame(data, levels, self.roles, self.num_levels)
        try:
            coder = ans_reader(data)
            by_channel = np.empty((len(levels), self.channels, n), dtype=np.int32)
            for a, level in enumerate(levels):
                models, rows = self._models_for(a, level), by_channel[a]
                for c in range(self.channels):
                    rows[c] = coder.decode(models[c], n)
            idx = np.ascontiguousarray(by_channel.transpose(0, 2, 1))  # (A, n, C): escapes follow in C order
            q = idx - self.radius
            n_esc = int(np.count_nonzero(idx == self.escape))
            if n_esc:
                q[idx == self.escape] = self._decode_escapes(coder, n_esc)
        except CorruptFileError:
            raise
        except Exception as exc:  # constriction raises plain exceptions on inconsistent data
            raise CorruptFileError(f"entropy-coded payload is damaged ({exc})") from None
        return q

    def _encode_escapes(self, coder, values: np.ndarray) -> None:
        encode_escapes(coder, values, self.radius)

    def _decode_escapes(self, coder, count: int) -> np.ndarray:
        return decode_escapes(coder, count, self.radius)


def check_frame(data: bytes, levels, roles: int, num_levels: int) -> None:
    """What any payload decoder checks first: channel count, whole words, levels in range."""
    if len(levels) > roles:
        raise CorruptFileError("frame has more audio channels than the model codes")
    if len(data) % 4:
        raise CorruptFileError("entropy-coded payload has a partial word")
    for level in levels:
        if not 0 <= level < num_levels:
            raise CorruptFileError(f"quantizer level {level} out of range")


def ans_reader(data: bytes):
    """An AnsCoder over a payload's little-endian u32 words."""
    return constriction.stream.stack.AnsCoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))


# Escapes: sign (1 bit), exponent e (Uniform over 0.._MAX_EXP), then e mantissa bits of m = |v| - R.
def encode_escapes(coder, values: np.ndarray, radius: int) -> None:
    """Push the escaped values (|v| > radius, in the order the decoder will want them) onto an AnsCoder."""
    if values.size == 0:
        return
    mags = np.abs(values) - radius  # >= 1
    exps = np.floor(np.log2(mags)).astype(np.int32)
    if exps.max() > _MAX_EXP:
        raise ValueError("latent value too large to code")
    mants = (mags - (1 << exps.astype(np.int64))).astype(np.int64)
    signs = (values < 0).astype(np.int64)
    # Per value: sign, exponent, then the mantissa if e > 0 -- the order the decoder reads. One call pushes
    # them all (encode_reverse takes them last to first): the same words as one call per symbol, 30x faster.
    n = values.size
    symbols = np.stack([signs, exps.astype(np.int64), mants], axis=1)
    sizes = np.stack([np.full(n, 2), np.full(n, _MAX_EXP + 1), np.left_shift(1, exps.astype(np.int64))], axis=1)
    keep = np.ones((n, 3), bool)
    keep[:, 2] = exps > 0
    coder.encode_reverse(symbols[keep].astype(np.int32), constriction.stream.model.Uniform(),
                         sizes[keep].astype(np.int32))


def decode_escapes(coder, count: int, radius: int) -> np.ndarray:
    out = np.empty(count, dtype=np.int32)
    sign_model, exp_model = constriction.stream.model.Uniform(2), constriction.stream.model.Uniform(_MAX_EXP + 1)
    mant_models = [None] + [constriction.stream.model.Uniform(1 << e) for e in range(1, _MAX_EXP + 1)]
    for v in range(count):
        sign = int(coder.decode(sign_model, 1)[0])
        e = int(coder.decode(exp_model, 1)[0])
        mant = int(coder.decode(mant_models[e], 1)[0]) if e else 0
        mag = (1 << e) + mant + radius
        out[v] = -mag if sign else mag
    return out


def escape_bits(q: np.ndarray, radius: int) -> float:
    """Bits the escapes of q would take (for rate estimation)."""
    esc = np.abs(q[np.abs(q) > radius]).astype(np.int64) - radius
    return float(np.sum(1.0 + np.log2(_MAX_EXP + 1) + np.floor(np.log2(esc)))) if esc.size else 0.0


def coder_for(config: dict, counts):
    """The entropy coder a model's config names: per-level static tables (muzip-v1) or context tables."""
    if config.get("entropy", "levels") == "context":
        from .entropy_context import ContextCoder
        return ContextCoder(np.asarray(counts), config)
    return LatentCoder(counts, config["alphabet_radius"])


def encode_payload(coder: LatentCoder, q: np.ndarray, levels) -> bytes:
    """A frame payload: the number of latent vectors per audio channel, then the coded symbols."""
    return _COUNT.pack(q.shape[1]) + coder.encode(q, levels)


def decode_payload(coder: LatentCoder, payload: bytes, max_latents: int, levels) -> np.ndarray:
    """Inverse of encode_payload; CorruptFileError if the payload is malformed."""
    try:
        (n,) = _COUNT.unpack_from(payload)
    except struct.error:
        raise CorruptFileError("payload too short") from None
    if not 1 <= n <= max_latents:
        raise CorruptFileError("bad latent count")
    return coder.decode(payload[_COUNT.size:], n, levels)
