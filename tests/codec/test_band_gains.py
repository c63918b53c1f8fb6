"""Band-gain corrections (muzip.codec.band_gains): exact integer coding, the decoder's rescale/fill, the numpy MDCT."""

import numpy as np
import pytest

from muzip.codec.band_gains import LEVEL, RATIO_MAX, UNCHANGED, BandGains, band_edges, fill_rng
from muzip.codec.payload import decode_frame, join_payload, split_payload
from muzip.codec.entropy.ans import counts_from_histogram
from muzip.errors import CorruptFileError
from muzip.codec.transform import analyze, synthesize

C = 882
CFG = {"band_gains": {"edges": band_edges(C, 21, 44100), "db": 3.0, "radius": 40, "floor": 1e-11, "groups": 7,
                      "stride_kbps": [14, 9]}}


@pytest.fixture
def gains():
    return BandGains(CFG, None)


def test_band_edges_cover_the_spectrum():
    edges = band_edges(C, 21, 44100)
    assert edges[0] == 0 and edges[-1] == C and np.all(np.diff(edges) > 0)
    assert np.diff(edges)[0] < np.diff(edges)[-1]  # ERB: narrow low bands, wide high ones


def test_symbols_are_ratios_where_latents_are_coded_and_levels_where_not(gains, rng):
    orig = rng.standard_normal((6, C))
    some, none = np.ones((6, gains.bands), int), np.zeros((6, gains.bands), int)
    assert np.all(gains.indices(orig, orig * 0.5, some, 1) == 2)  # decoded 6 dB low: +2 steps of 3 dB
    assert np.all(gains.indices(orig, orig * 1e-6, some, 1) == 10)  # ratios are capped at +-30 dB
    level = gains.indices(orig, orig * 0.5, none, 1)  # no latents: the original's level above the floor
    expected = np.round(10 * np.log10(gains._energies(orig) / (1e-11 * gains.width)) / 3.0)
    np.testing.assert_array_equal(level, expected)
    pooled = gains.indices(orig, orig * 0.5, some[:3], 2)  # stride 2: one symbol per two vectors
    assert pooled.shape == (3, gains.bands) and np.all(pooled == 2)


def test_apply_restores_band_energy_whatever_the_decoder_put_in_empty_bands(gains, rng):
    orig = rng.standard_normal((4, C)).astype(np.float32)
    decoded = orig * 0.25
    lo, hi = gains.edges[10], gains.edges[11]
    decoded[:, lo:hi] = 0  # a band the codec emptied (no latents)...
    decoded[1, lo:hi] = orig[1, lo:hi] * 50.0  # ...where the decoder still put something, too loud
    q = np.ones((4, C), int)
    q[:, lo:hi] = 0
    nz = gains.nonzero(q, 1)
    codes = gains.expand(gains.indices(orig, decoded, nz, 1), nz, 1, 4)
    out = gains.apply(decoded, codes, fill_rng(100, 0))
    err = 10 * np.log10(gains._energies(out) / gains._energies(orig))
    assert np.all(np.abs(err[:, :10]) <= 1.5 + 1e-6)  # within half a step
    assert np.all(np.abs(err[1, 10]) <= 1.5 + 1e-6)  # scaled down to the coded level, not up by a ratio
    assert np.all(np.abs(err[:, 10]) < 4.0)  # noise fill: the coded level in expectation
    np.testing.assert_array_equal(out, gains.apply(decoded, codes, fill_rng(100, 0)))  # seeded by position


def test_sparse_fill_raises_a_sparse_band_in_its_uncoded_bins(rng):
    sparse_gains = BandGains({"band_gains": dict(CFG["band_gains"], sparse_fill=0.5)}, None)
    decoded = rng.standard_normal((2, C)).astype(np.float32) * 0.01  # the network's noise where q is 0
    lo, hi = sparse_gains.edges[15], sparse_gains.edges[16]
    coded = np.zeros((2, C), bool)
    coded[:, lo:lo + 3] = True  # 3 of the band's bins coded (sparse) ...
    coded[:, sparse_gains.edges[5]:sparse_gains.edges[6]] = True  # ... and a dense band
    decoded[coded] = 1.0
    codes = np.zeros((2, sparse_gains.bands), np.int32)
    codes[:, 15] = codes[:, 5] = 2  # both raised by 6 dB
    out = sparse_gains.apply(decoded, codes, fill_rng(0, 0), coded)
    np.testing.assert_allclose(out[:, lo:lo + 3], 1.0)  # coded bins keep their level ...
    target = sparse_gains._energies(decoded)[:, 15] * 10 ** 0.6
    np.testing.assert_allclose(sparse_gains._energies(out)[:, 15], target, rtol=1e-5)  # ... the rest takes the lack
    dense = slice(sparse_gains.edges[5], sparse_gains.edges[6])
    np.testing.assert_allclose(out[:, dense], decoded[:, dense] * 10 ** 0.3, rtol=1e-6)  # dense: scaled as before
    old = BandGains(CFG, None).apply(decoded, codes, fill_rng(0, 0), coded)  # models without sparse_fill
    np.testing.assert_allclose(old[:, lo:hi], decoded[:, lo:hi] * 10 ** 0.3, rtol=1e-6)


def test_stride_follows_the_bitrate(gains):
    assert [gains.stride_for(k) for k in (6, 9, 12, 14, 32)] == [4, 2, 2, 1, 1]


def test_unchanged_rows_are_left_alone(gains, rng):
    d = rng.standard_normal((3, C)).astype(np.float32)
    s = np.full((3, gains.bands), UNCHANGED, np.int32)
    np.testing.assert_array_equal(gains.apply(d, s, fill_rng(0, 0)), d)


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_entropy_coding_round_trips_exactly(rng, stride):
    hist = rng.integers(0, 50, (7 * 4 * 18, 81)).astype(float)
    g = BandGains(CFG, counts_from_histogram(hist + 0.5))
    q = rng.integers(-2, 3, (2, 51, C)) * (rng.random((2, 51, C)) < 0.05)
    nz = np.stack([g.nonzero(q[a], stride) for a in range(2)])
    s = np.clip(np.rint(rng.normal(2, 6, nz.shape)), -40, 40).astype(np.int32)
    s = np.where(nz > 0, np.clip(s, -RATIO_MAX, RATIO_MAX), s)  # what an encoder writes (see below)
    data = g.encode(s, nz, stride)
    codes = g.decode(data, q)
    np.testing.assert_array_equal(codes, np.stack([g.expand(s[a], nz[a], stride, 51) for a in range(2)]))
    bits = float(g.costs[g.contexts(s[0], nz[0]), s[0] + 40].sum() + g.costs[g.contexts(s[1], nz[1]), s[1] + 40].sum())
    assert abs((len(data) - 1) * 8 - bits) < 0.05 * bits + 64  # the tables' cost is the coded size


def test_encoder_cap_is_the_decoders_limit(gains, rng):
    """Issue 23: the decoder took ratio symbols up to the alphabet's +-40 steps (+-120 dB), the encoder caps them
    at +-RATIO_MAX (+-30 dB). One constant for both: anything beyond it is damage, never a gain."""
    orig = rng.standard_normal((6, C))
    some = np.ones((6, gains.bands), int)
    assert np.all(gains.indices(orig, orig * 1e-9, some, 1) == RATIO_MAX)  # the encoder's cap...
    assert np.all(gains.indices(orig, orig * 1e9, some, 1) == -RATIO_MAX)
    q = np.zeros((1, 6, C), np.int64)
    q[0, :, :] = 1  # latents in every band: every symbol is a ratio
    nz = gains.nonzero(q[0], 1)[None]
    for edge in (RATIO_MAX, -RATIO_MAX):  # ...decodes
        s = np.full(nz.shape, edge, np.int32)
        codes = gains.decode(gains.encode(s, nz, 1), q)
        assert np.all(codes == edge)
    for beyond in (RATIO_MAX + 1, -RATIO_MAX - 1, 40, -40):  # ...and one step past it is a damaged frame
        s = np.zeros(nz.shape, np.int32)
        s[0, 3, 5] = beyond
        with pytest.raises(CorruptFileError, match="band gains are damaged"):
            gains.decode(gains.encode(s, nz, 1), q)
    # level symbols (bands without latents) keep the whole alphabet: an absolute level, not a gain
    q[0, :, gains.edges[5]:gains.edges[6]] = 0
    nz = gains.nonzero(q[0], 1)[None]
    s = np.where(nz == 0, 40, 0).astype(np.int32)
    codes = gains.decode(gains.encode(s, nz, 1), q)
    assert np.all(codes[0, :, 5] == 40 + LEVEL)


def test_silent_frame_has_no_gains_and_damage_is_reported(gains, rng):
    q0 = np.zeros((2, 50, C), np.int64)
    assert np.all(gains.decode(b"", q0) == UNCHANGED)
    with pytest.raises(CorruptFileError):
        gains.decode(b"\x01\x02\x03\x04", q0)
    q1 = q0.copy()
    q1[0, 3, 7] = 1
    with pytest.raises(CorruptFileError):
        gains.decode(b"\x03\x00\x00\x00\x00", q1)  # stride 3 does not exist
    with pytest.raises(CorruptFileError):
        split_payload(b"\xff\xff\x00\x00abc")
    assert split_payload(join_payload(b"lat", b"gain")) == (b"lat", b"gain")


def test_decode_frame_without_gains_is_the_plain_payload():
    class Coder:
        def decode(self, data, n, levels):
            return np.zeros((1, n, 2), np.int32)
    q, s, _, _ = decode_frame(Coder(), None, b"\x03\x00abcd", 51, [10])
    assert q.shape == (1, 3, 2) and s is None


def test_numpy_mdct_is_the_keras_filterbank_and_perfectly_reconstructs(rng):
    hop = 64
    x = rng.standard_normal((2, hop * 12)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (hop, hop)))  # latent 0 is centred on sample 0
    coeffs = analyze(padded, hop)
    assert coeffs.shape == (2, 13, hop)
    y = synthesize(coeffs, hop)  # samples from latent 0's centre: [0, 12 hop)
    np.testing.assert_allclose(y, x, atol=1e-5)  # the exact MDCT: perfect reconstruction
    keras = pytest.importorskip("keras")
    from muzip.nn.codec_net import Analysis, Synthesis
    # the network's layers use the basis rounded to float16 (muzip.nn.filterbank.fixed_basis): near, not exact
    k = np.asarray(Analysis(hop, hop, fixed=True)(keras.ops.convert_to_tensor(x[:, :, None])))
    np.testing.assert_allclose(k, coeffs, atol=3e-3 * np.abs(coeffs).max())
    ks = np.asarray(Synthesis(hop, hop, fixed=True)(keras.ops.convert_to_tensor(coeffs)))[:, :, 0]
    np.testing.assert_allclose(ks, synthesize(coeffs, hop), atol=3e-3 * np.abs(ks).max())


def test_frame_fill_noise_is_the_same_whichever_calls_cut_the_file(rng):
    """fill_noise "frame" (a generator per frame and channel, not per vector): the noise a vector gets depends
    on its absolute position only, so the encoder's per-frame analysis and the decoder's groups agree."""
    cfg = {"band_gains": dict(CFG["band_gains"], fill_noise="frame"), "frame_samples": 44100, "hop": 882}
    gains = BandGains(cfg, None)
    decoded = np.zeros((120, C), np.float32)  # every band empty: all fill
    codes = np.full((120, gains.bands), 20, np.int32) + LEVEL
    whole = gains.apply(decoded, codes, gains.noise_for(30, 1))
    parts = np.concatenate([gains.apply(decoded[a:b], codes[a:b], gains.noise_for(30 + a, 1))
                            for a, b in ((0, 7), (7, 70), (70, 120))])
    np.testing.assert_array_equal(whole, parts)
    assert np.all(whole != 0) and not np.array_equal(whole, gains.apply(decoded, codes, gains.noise_for(30, 0)))
    with pytest.raises(ValueError, match="fill_noise"):
        BandGains({"band_gains": dict(CFG["band_gains"], fill_noise="sample")}, None)


def test_fold_fills_an_empty_band_with_the_spectrum_below_at_the_coded_level(rng):
    """band_gains "fold" (off in every shipped model): an empty band above min_hz gets the band-width of
    decoded spectrum just below it, scaled to its coded level and mixed with the noise (mix 1: no noise)."""
    cfg = {"model_rate": 44100, "band_gains": dict(CFG["band_gains"], fold={"min_hz": 2000, "mix": 1.0})}
    folding, plain = BandGains(cfg, None), BandGains(CFG, None)
    orig = rng.standard_normal((3, C)).astype(np.float32)
    decoded = orig.copy()
    b = 15
    lo, hi = folding.edges[b], folding.edges[b + 1]
    decoded[:, lo:hi] = 0
    q = np.ones((3, C), int)
    q[:, lo:hi] = 0
    nz = folding.nonzero(q, 1)
    codes = folding.expand(folding.indices(orig, decoded, nz, 1), nz, 1, 3)
    out, noise = folding.apply(decoded, codes, fill_rng(5, 0)), plain.apply(decoded, codes, fill_rng(5, 0))
    src = out[:, 2 * lo - hi:lo]
    for t in range(3):
        assert np.corrcoef(out[t, lo:hi], src[t])[0, 1] > 0.999  # a scaled copy of the spectrum below
    np.testing.assert_allclose(np.mean(out[:, lo:hi] ** 2, axis=1),
                               folding.floor * 10 ** ((codes[:, b] - LEVEL) * 0.3), rtol=1e-4)  # its coded level
    np.testing.assert_array_equal(np.delete(out, np.s_[lo:hi], axis=1), np.delete(noise, np.s_[lo:hi], axis=1))
    half = BandGains({"model_rate": 44100, "band_gains": dict(CFG["band_gains"], fold={"min_hz": 2000, "mix": 0.5})},
                     None).apply(decoded, codes, fill_rng(5, 0))
    np.testing.assert_allclose(half[:, lo:hi], (out[:, lo:hi] + noise[:, lo:hi]) / np.sqrt(2), rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="fold"):
        BandGains({"model_rate": 44100, "band_gains": dict(CFG["band_gains"], fold={"min_hz": 2000, "mix": 0})}, None)


def test_a_bad_fold_in_a_config_is_a_model_error():
    import json

    from muzip.codec import ModelConfig
    from muzip.errors import ModelError
    from muzip.runtime.store import model_folder
    cfg = json.loads((model_folder("muzip-v2.5") / "config.json").read_text())
    ok = dict(cfg, band_gains=dict(cfg["band_gains"], fold={"min_hz": 2000, "mix": 0.5}))
    assert ModelConfig.from_dict(ok).band_gains["fold"]["mix"] == 0.5
    for fold in ({"min_hz": 2000, "mix": 2}, {"mix": 0.5}, {"min_hz": 10, "mix": 0.5}):
        with pytest.raises(ModelError, match="fold"):
            ModelConfig.from_dict(dict(cfg, band_gains=dict(cfg["band_gains"], fold=fold)))


DELTA_CFG = {"band_gains": dict(CFG["band_gains"], level_delta=True)}


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_level_delta_round_trips_exactly_and_costs_what_its_tables_say(rng, stride):
    """muzip-v2.7: a level after a level in the same band is coded as its change (mod 2R + 1), in its own
    tables; every symbol decodes to what was coded, whatever the levels (the alphabet's ends included)."""
    g0 = BandGains(DELTA_CFG, None)
    hist = rng.integers(0, 50, (g0.n_contexts, 81)).astype(float)
    g = BandGains(DELTA_CFG, counts_from_histogram(hist + 0.5))
    assert g.n_contexts == 7 * 4 * 18 + 7 * 6 and BandGains(CFG, None).n_contexts == 7 * 4 * 18
    q = rng.integers(-2, 3, (2, 51, C)) * (rng.random((2, 51, C)) < 0.03)
    nz = np.stack([g.nonzero(q[a], stride) for a in range(2)])
    s = np.clip(np.cumsum(rng.integers(-3, 4, nz.shape), axis=1) + 20, -40, 40).astype(np.int32)
    s[0, :, 0] = np.where(np.arange(s.shape[1]) % 2, 40, -40)  # jumps across the whole alphabet
    s = np.where(nz > 0, np.clip(s, -RATIO_MAX, RATIO_MAX), s)
    data = g.encode(s, nz, stride)
    np.testing.assert_array_equal(g.decode(data, q), np.stack([g.expand(s[a], nz[a], stride, 51) for a in range(2)]))
    bits = sum(float(g.costs[g.coded(s[a], nz[a])].sum()) for a in range(2))
    assert abs((len(data) - 1) * 8 - bits) < 0.05 * bits + 64
    hist = g.histogram(s, nz)
    assert hist.shape == (g.n_contexts, 81) and hist.sum() == s.size and hist[g0._delta_base:].sum() > 0


def test_level_delta_codes_slow_levels_in_fewer_bits(rng):
    """Levels that move a step at a time cost less as changes than under the capped-previous contexts."""
    q = np.zeros((1, 200, C), np.int64)
    q[0, :, :10] = 1  # the low bands coded (ratios), the rest levels
    plain, delta = BandGains(CFG, None), BandGains(DELTA_CFG, None)
    nz = plain.nonzero(q[0], 1)
    levels = (25 + np.cumsum(rng.integers(-1, 2, nz.shape), axis=0)).astype(np.int32)
    s = np.where(nz > 0, 0, np.clip(levels, -40, 40)).astype(np.int32)
    # tables counted on the signal itself, as make_transform_model counts them on training audio
    tables = [BandGains(c, counts_from_histogram(g.histogram(s[None], nz[None]) + 0.5)) for c, g in
              ((CFG, plain), (DELTA_CFG, delta))]
    sizes = [len(t.encode(s[None], nz[None], 1)) for t in tables]
    assert sizes[1] < 0.6 * sizes[0], sizes


def test_damaged_level_delta_gains_decode_to_symbols_in_range_or_an_error(rng):
    g = BandGains(DELTA_CFG, None)
    q = np.zeros((2, 51, C), np.int64)
    q[:, :, :30] = 1
    nz = np.stack([g.nonzero(q[a], 1) for a in range(2)])
    s = np.where(nz > 0, 0, 22).astype(np.int32)
    data = bytearray(g.encode(s, nz, 1))
    for i in range(200):
        bad = bytearray(data)
        bad[1 + rng.integers(0, len(bad) - 1)] ^= 1 << int(rng.integers(0, 8))
        try:
            codes = g.decode(bytes(bad), q)
        except CorruptFileError:
            continue
        levels = codes[codes >= LEVEL // 2] - LEVEL
        assert np.all(np.abs(levels) <= 40) and np.all(np.abs(codes[codes < LEVEL // 2]) <= RATIO_MAX)
