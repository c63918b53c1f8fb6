"""What every entropy coder of muzip shares: integer tables, constriction's ANS coder, escapes.

Tables are integer counts, each row summing exactly to 2**PRECISION with every entry >= 1. The coder is
given the dyadic probabilities count / 2**PRECISION, which are exact in floating point and come only from
the file's integers, never from the network, so a file decodes to the same symbols on any machine. A value
|v| > R of an alphabet of radius R is coded as an escape, whose magnitude follows as an Exp-Golomb code
built from constriction's Uniform model.
"""

import constriction
import numpy as np

from ...errors import CorruptFileError

PRECISION = 24
TOTAL = 1 << PRECISION
_MAX_EXP = 24  # escapes up to 2**24, far beyond any latent the encoder produces

def counts_from_histogram(hist: np.ndarray) -> np.ndarray:
    """Turn non-negative histograms (..., K) into integer tables summing to 2**PRECISION, entries >= 1."""
    hist = np.asarray(hist, dtype=np.float64)
    k = hist.shape[-1]
    probs = hist / np.maximum(hist.sum(axis=-1, keepdims=True), 1e-300)
    counts = np.floor(probs * (TOTAL - k)).astype(np.int64) + 1
    # Put the rounding remainder on the most likely symbol so every row sums exactly to 2**PRECISION.
    remainder = TOTAL - counts.sum(axis=-1)
    top = np.argmax(counts, axis=-1)
    np.put_along_axis(counts, top[..., None], np.take_along_axis(counts, top[..., None], -1) + remainder[..., None], -1)
    assert np.all(counts.sum(axis=-1) == TOTAL) and counts.min() >= 1
    return counts.astype(np.uint32)


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
def escape_symbols(values: np.ndarray, radius: int):
    """The escaped values' Uniform symbols and their sizes, flat, in the order the decoder reads them: per
    value its sign, exponent, then the mantissa if e > 0 (entropy.compiled codes the same ones)."""
    values = np.asarray(values, np.int64)
    mags = np.abs(values) - radius  # >= 1
    exps = np.floor(np.log2(mags)).astype(np.int64)
    if exps.size and exps.max() > _MAX_EXP:
        raise ValueError("latent value too large to code")
    n = values.size
    symbols = np.stack([(values < 0).astype(np.int64), exps, mags - (1 << exps)], axis=1)
    sizes = np.stack([np.full(n, 2), np.full(n, _MAX_EXP + 1), np.left_shift(1, exps)], axis=1)
    keep = np.ones((n, 3), bool)
    keep[:, 2] = exps > 0
    return symbols[keep], sizes[keep]


def encode_escapes(coder, values: np.ndarray, radius: int) -> None:
    """Push the escaped values (|v| > radius, in the order the decoder will want them) onto an AnsCoder."""
    if values.size == 0:
        return
    # One call pushes them all (encode_reverse takes them last to first): the same words as one call per
    # symbol, 30x faster.
    symbols, sizes = escape_symbols(values, radius)
    coder.encode_reverse(symbols.astype(np.int32), constriction.stream.model.Uniform(), sizes.astype(np.int32))


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


def values_with_escapes(coder, idx: np.ndarray, radius: int) -> np.ndarray:
    """Decoded symbol indices (any shape; 2R+1 = escape) -> values, each escape's value read from the coder
    in C order (the order encoders push them in)."""
    q = idx - radius
    escaped = idx == 2 * radius + 1
    n_esc = int(np.count_nonzero(escaped))
    if n_esc:
        q[escaped] = decode_escapes(coder, n_esc, radius)
    return q


def escape_bits(q: np.ndarray, radius: int) -> float:
    """Bits the escapes of q would take (for rate estimation)."""
    esc = np.abs(q[np.abs(q) > radius]).astype(np.int64) - radius
    return float(np.sum(1.0 + np.log2(_MAX_EXP + 1) + np.floor(np.log2(esc)))) if esc.size else 0.0


