"""Context-adaptive entropy tables (muzip.entropy_context): exact round trips, honest rate estimates,
damage reported as CorruptFileError, and the whole codec running on them."""

import copy
import io

import numpy as np
import pytest

from muzip.codec.config import ModelConfig
from muzip.codec import compress_array, decompress_bytes, to_mid_side
from muzip.container import ContainerReader
from muzip.codec.entropy.ans import PRECISION
from muzip.codec.payload import decode_payload, encode_payload
from muzip.codec.entropy.context import ContextCoder
from muzip.errors import CorruptFileError
from muzip.metrics import mel_distance
from muzip.train.tables import context_tables

EDGES = [1, 2, 3, 5, 7, 10, 14, 20, 30, 45, 70]


@pytest.fixture(scope="module")
def ctx_model(model, clip):
    """The shipped model's networks with context tables counted on the test clip (in process only)."""
    audio, _ = clip
    cfg = ModelConfig.from_dict(dict(model.config, entropy="context", context_edges=EDGES, context_bands=16))
    counts, frames = context_tables(model.encode, cfg, [to_mid_side(audio)], range(16, 48, 4))
    assert frames == len(audio) // cfg["frame_samples"]
    m = copy.copy(model)
    m.config, m.counts, m._coder = cfg, counts, None
    return m


def frame_symbols(data, model):
    reader = ContainerReader(io.BytesIO(data))
    P = model.config["frame_samples"] // model.config["hop"]
    out = []
    for ev in reader.frames():
        levels = list(ev.frame.levels[:reader.header.channels])
        out.append((decode_payload(model.coder, ev.frame.payload, P + 1, levels), levels))
    return out


def test_tables_are_integer_rows_summing_to_the_precision(ctx_model):
    counts = ctx_model.counts
    assert counts.shape == (2, 16, len(EDGES) + 1, 2 * ctx_model.config["alphabet_radius"] + 2)
    assert np.all(counts.astype(np.int64).sum(-1) == 1 << PRECISION) and counts.min() >= 1


def test_round_trip_is_exact_with_escapes_mono_and_one_vector(ctx_model, rng):
    coder = ctx_model.coder
    assert isinstance(coder, ContextCoder)
    for shape in [(2, 176, 252), (1, 175, 252), (2, 1, 252)]:
        q = np.rint(rng.laplace(0, rng.uniform(0.1, 8, (1, 1, 252)), shape)).astype(np.int32)
        q.flat[rng.integers(0, q.size, 20)] = rng.choice([-1, 1], 20) * rng.integers(32, 5000, 20)  # escapes
        levels = [20, 22][:shape[0]]
        payload = encode_payload(coder, q, levels)
        np.testing.assert_array_equal(decode_payload(coder, payload, 176, levels), q)


def test_context_lookup_equals_the_searched_neighbourhood_sum(ctx_model, rng):
    from muzip.codec.entropy.context import context_sums
    coder = ctx_model.coder
    R = coder.radius
    q = np.rint(rng.laplace(0, 6, (40, 252))).astype(np.int32)
    q.flat[rng.integers(0, q.size, 50)] = 9999  # escapes count as R + 1
    idx = coder._indices(q)
    mag = np.minimum(np.abs(q), R + 1)
    expected = np.searchsorted(coder.edges, context_sums(mag), side="right")
    np.testing.assert_array_equal(coder.contexts(idx), expected)


def test_escapes_are_the_words_of_one_symbol_at_a_time(rng):
    """encode_escapes pushes all escapes in one call; the format is defined symbol by symbol (sign, exponent,
    mantissa per value, Uniform models), and files written by the per-symbol coder must decode the same."""
    import constriction
    from muzip.codec.entropy.ans import _MAX_EXP, decode_escapes, encode_escapes
    uniform = constriction.stream.model.Uniform
    values = rng.choice([-1, 1], 300) * rng.integers(32, 1 << 20, 300)
    values[::5] = 32  # m = 1: exponent 0, no mantissa
    reference = constriction.stream.stack.AnsCoder()
    for v in reversed(values.tolist()):
        m = abs(v) - 31
        e = m.bit_length() - 1
        if e:
            reference.encode_reverse(np.array([m - (1 << e)], np.int32), uniform(1 << e))
        reference.encode_reverse(np.array([e], np.int32), uniform(_MAX_EXP + 1))
        reference.encode_reverse(np.array([int(v < 0)], np.int32), uniform(2))
    coder = constriction.stream.stack.AnsCoder()
    encode_escapes(coder, values, 31)
    np.testing.assert_array_equal(coder.get_compressed(), reference.get_compressed())
    np.testing.assert_array_equal(decode_escapes(constriction.stream.stack.AnsCoder(coder.get_compressed()),
                                                 values.size, 31), values)


def test_rate_estimate_is_the_sum_of_table_costs(ctx_model, rng):
    from muzip.codec.entropy.ans import escape_bits
    coder = ctx_model.coder
    for scale in (0.2, 3.0, 40.0):  # mostly zeros .. many escapes
        q = np.rint(rng.laplace(0, scale, (51, 252))).astype(np.int32)
        idx = coder._indices(q)
        rows = coder._band_row[None, :] + coder.contexts(idx)
        expected = coder.costs[1].reshape(len(coder.probs[1]), -1)[rows, idx].sum(dtype=np.float64)
        assert coder.estimate_bits(q, 1, 0) == pytest.approx(expected + escape_bits(q, coder.radius), rel=1e-9)


def test_rate_estimate_matches_coded_size(ctx_model, clip):
    audio, sr = clip
    data = compress_array(audio, sr, 32, model=ctx_model)
    for q, levels in frame_symbols(data, ctx_model)[2:5]:
        estimate = sum(ctx_model.coder.estimate_bits(q[a], a, lv) for a, lv in enumerate(levels))
        actual = len(ctx_model.coder.encode(q, levels)) * 8
        assert abs(actual - estimate) < 0.01 * actual + 64


def test_damaged_payloads_raise_corrupt_file_error_only(ctx_model, clip, rng):
    audio, sr = clip
    data = compress_array(audio[:2 * sr], sr, 24, model=ctx_model)
    payload = next(ContainerReader(io.BytesIO(data)).frames()).frame.payload
    with pytest.raises(CorruptFileError):
        decode_payload(ctx_model.coder, payload[:-1], 176, [30, 32])  # a partial word
    with pytest.raises(CorruptFileError):
        decode_payload(ctx_model.coder, payload, 176, [30, 99])  # a level the model lacks
    for _ in range(20):  # random bytes decode to some symbols or fail cleanly; nothing else escapes
        junk = bytearray(payload)
        junk[2 + int(rng.integers(0, len(junk) - 2))] ^= 0xFF
        try:
            decode_payload(ctx_model.coder, bytes(junk), 176, [30, 32])
        except CorruptFileError:
            pass


def test_bad_tables_are_refused(model):
    cfg = ModelConfig.from_dict(dict(model.config, entropy="context", context_edges=EDGES, context_bands=16))
    with pytest.raises(ValueError):
        ContextCoder(np.ones((2, 8, 12, 64), np.uint32), cfg)  # wrong band count
    with pytest.raises(ValueError):
        ContextCoder(np.ones((2, 16, 12, 64), np.uint32), cfg)  # rows do not sum to 2**24


def test_codec_on_context_tables_is_honest_and_seekable(ctx_model, model, clip):
    audio, sr = clip
    for kbps in (12, 48):
        data = compress_array(audio, sr, kbps, model=ctx_model)
        actual = len(data) * 8 / (len(audio) / sr) / 1000
        assert abs(actual - kbps) / kbps < 0.05
    data = compress_array(audio, sr, 24, model=ctx_model)
    full, _ = decompress_bytes(data, model=ctx_model)
    part, _ = decompress_bytes(data, model=ctx_model, start=3.5, duration=2.25)
    s0 = int(3.5 * sr)
    np.testing.assert_allclose(part, full[s0:s0 + len(part)], atol=2e-4)
    # The same bits buy finer quantization than the static tables: lower levels, lower mel distance.
    static = compress_array(audio, sr, 24, model=model)
    lv_ctx = np.mean([lv[0] for _, lv in frame_symbols(data, ctx_model)])
    lv_static = np.mean([lv[0] for _, lv in frame_symbols(static, model)])
    assert lv_ctx < lv_static
    assert mel_distance(audio, full, sr) < mel_distance(audio, decompress_bytes(static, model=model)[0], sr)
