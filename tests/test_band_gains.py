"""Band-gain corrections (muzip.band_gains): exact integer coding, the decoder's rescale/fill, the numpy MDCT."""

import numpy as np
import pytest

from muzip.band_gains import UNCHANGED, BandGains, band_edges, decode_frame, fill_rng, join_payload, split_payload
from muzip.entropy import counts_from_histogram
from muzip.errors import CorruptFileError
from muzip.runtime.base import analyze, synthesize

C = 882
CFG = {"band_gains": {"edges": band_edges(C, 21, 44100), "db": 3.0, "radius": 31, "floor": 1e-9, "groups": 7}}


@pytest.fixture
def gains():
    return BandGains(CFG, None)


def test_band_edges_cover_the_spectrum():
    edges = band_edges(C, 21, 44100)
    assert edges[0] == 0 and edges[-1] == C and np.all(np.diff(edges) > 0)
    assert np.diff(edges)[0] < np.diff(edges)[-1]  # ERB: narrow low bands, wide high ones


def test_indices_measure_the_energy_ratio(gains, rng):
    orig = rng.standard_normal((5, C))
    s = gains.indices(orig, orig * 0.5)  # decoded 6 dB low -> +2 steps of 3 dB
    assert np.all(s == 2)
    s = gains.indices(orig, np.zeros_like(orig))  # empty: ratio to the floor (1e-9 per bin, about 90 dB below)
    expected = np.round(10 * np.log10(gains._energies(orig) / (1e-9 * gains.width)) / 3.0)
    np.testing.assert_array_equal(s, np.clip(expected, -31, 31))
    assert np.all(gains.indices(orig * 1e3, np.zeros_like(orig)) == 31)  # clipped at the radius


def test_apply_restores_band_energy_and_fills_empty_bands(gains, rng):
    orig = rng.standard_normal((4, C)).astype(np.float32)
    decoded = orig * 0.25
    lo, hi = gains.edges[10], gains.edges[11]
    decoded[:, lo:hi] = 0  # a band the codec emptied
    decoded[1, lo:hi] = orig[1, lo:hi] * 1e-7  # below the floor: also 'empty'
    small = BandGains(dict(band_gains=dict(CFG["band_gains"], radius=31, floor=1e-4)), None)
    s = small.indices(orig, decoded)
    out = small.apply(decoded, s, fill_rng(100, 0))
    e_orig, e_out = small._energies(orig), small._energies(out)
    assert np.all(np.abs(10 * np.log10(e_out[:, :10] / e_orig[:, :10])) <= 1.5 + 1e-6)  # within half a step
    assert np.all(np.abs(10 * np.log10(e_out[:, 10] / e_orig[:, 10])) < 4.0)  # noise fill: expected energy, random
    again = small.apply(decoded, s, fill_rng(100, 0))
    np.testing.assert_array_equal(out, again)  # seeded by absolute position: the same on every call


def test_unchanged_rows_are_left_alone(gains, rng):
    d = rng.standard_normal((3, C)).astype(np.float32)
    s = np.full((3, gains.bands), UNCHANGED, np.int32)
    np.testing.assert_array_equal(gains.apply(d, s, fill_rng(0, 0)), d)


def test_entropy_coding_round_trips_exactly(rng):
    hist = rng.integers(0, 50, (7 * 4 * 18, 63)).astype(float)
    g = BandGains(CFG, counts_from_histogram(hist + 0.5))
    q = rng.integers(-2, 3, (2, 50, C)) * (rng.random((2, 50, C)) < 0.1)
    s = np.clip(np.rint(rng.normal(2, 4, (2, 50, g.bands))), -31, 31).astype(np.int32)
    words = g.encode(s, q)
    np.testing.assert_array_equal(g.decode(words, q), s)
    bits = g.estimate_bits(s, q)
    assert abs(len(words) * 8 - bits) < 0.05 * bits + 64  # the estimate is the coded size


def test_silent_frame_has_no_gains_and_damage_is_reported(gains, rng):
    q0 = np.zeros((2, 50, C), np.int64)
    assert gains.encode(np.zeros((2, 50, gains.bands), np.int32), q0) == b""
    assert np.all(gains.decode(b"", q0) == UNCHANGED)
    with pytest.raises(CorruptFileError):
        gains.decode(b"\x01\x02\x03\x04", q0)
    with pytest.raises(CorruptFileError):
        split_payload(b"\xff\xff\x00\x00abc")
    assert split_payload(join_payload(b"lat", b"gain")) == (b"lat", b"gain")


def test_decode_frame_without_gains_is_the_plain_payload():
    class Coder:
        def decode(self, data, n, levels):
            return np.zeros((1, n, 2), np.int32)
    q, s = decode_frame(Coder(), None, b"\x03\x00abcd", 51, [10])
    assert q.shape == (1, 3, 2) and s is None


def test_numpy_mdct_is_the_keras_filterbank_and_perfectly_reconstructs(rng):
    hop = 64
    x = rng.standard_normal((2, hop * 12)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (hop, hop)))  # latent 0 is centred on sample 0
    coeffs = analyze(padded, hop)
    assert coeffs.shape == (2, 13, hop)
    y = synthesize(coeffs, hop)  # samples from latent 0's centre: [0, 12 hop)
    np.testing.assert_allclose(y, x, atol=2e-3)  # float16-rounded basis: near, not exact
    keras = pytest.importorskip("keras")
    from muzip.model import Analysis, Synthesis
    k = np.asarray(Analysis(hop, hop, fixed=True)(keras.ops.convert_to_tensor(x[:, :, None])))
    np.testing.assert_allclose(k, coeffs, atol=1e-5)
    ks = np.asarray(Synthesis(hop, hop, fixed=True)(keras.ops.convert_to_tensor(coeffs)))[:, :, 0]
    np.testing.assert_allclose(ks, synthesize(coeffs, hop), atol=1e-5)
