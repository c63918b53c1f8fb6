"""muzip-v2.3 to v2.5: codec models with no network blocks, run in numpy (muzip.codec.transform_model). They
load no session, match their Keras definition, and keep the codec's guarantees (bitrate, seeks, concealment,
clicks). v2.4 differs in its entropy coder (codec.entropy.banded) and its band-gain fill noise, v2.5 in its
fill level, coded per frame (codec.fill_levels)."""

import io
import json

import numpy as np
import pytest

from test_codec import _flip_in_frame, assert_no_clicks_at_frame_boundaries
from muzip.codec import ModelConfig, compress_array, compress_blocks, decompress_bytes, load_model
from muzip.codec.transform_model import TransformCodecModel, compand, expand
from muzip.errors import ModelError
from muzip.metrics import mel_distance
from muzip.runtime.store import listed_files, model_folder

NAME = "muzip-v2.3"


@pytest.fixture(scope="module", params=["muzip-v2.3", "muzip-v2.4", "muzip-v2.5", "muzip-v2.6", "muzip-v2.7"])
def tmodel(request):
    return load_model(request.param)


@pytest.fixture(scope="module")
def coded(tmodel, clip):
    audio, sr = clip
    data = compress_array(audio, sr, 24, model=tmodel)
    return data, decompress_bytes(data, model=tmodel)[0]


def test_it_loads_in_numpy_with_no_network_file(tmodel):
    assert isinstance(tmodel, TransformCodecModel) and tmodel.config.network_free
    assert not [f for f in listed_files(tmodel.name) if f.endswith(".onnx")]
    runtime = json.loads((model_folder(tmodel.name) / "runtime.json").read_text())
    assert runtime["runtime"] == "numpy"
    assert runtime["parity"]["decoder_max_rel"] < 1e-5 and runtime["parity"]["encoder_max_rel"] < 2e-3
    from muzip.codec.loader import model_info
    assert model_info(tmodel.name)["runtime"] == ["numpy"]  # what `muzip models` shows


def test_compand_and_expand_are_inverse(rng):
    x = (rng.standard_normal(10000) * np.logspace(-6, 0, 10000)).astype(np.float64)
    np.testing.assert_allclose(expand(compand(x, 0.75), 0.75), x, atol=1e-12, rtol=1e-9)
    assert compand(np.zeros(3), 0.75).tolist() == [0.0, 0.0, 0.0]  # zero latents decode to exact silence


def test_the_numpy_runtime_matches_the_keras_definition(tmodel, clip, monkeypatch):
    """The Keras model (MUZIP_BACKEND=keras: its fixed MDCT is a float16-rounded basis) and the numpy one
    (scipy's exact DCT-IV) agree to -60 dB on the encoder and exactly on the decoder's un-weighting."""
    pytest.importorskip("keras")
    keras_model = load_model(tmodel.name, backend_name="keras")
    audio = clip[0][:2 * 44100].T[:, :, None].copy()
    ref, got = np.asarray(keras_model.encode(audio)), tmodel.encode(audio)
    assert np.abs(ref - got).max() < 1e-3 * np.abs(ref).max()
    lat = np.random.default_rng(0).laplace(0, 0.05, (2, 51, 882)).astype(np.float32)
    np.testing.assert_allclose(keras_model.decode_coefficients(lat, 0), tmodel.decode_coefficients(lat, 0),
                               rtol=1e-5, atol=1e-7)


def test_only_a_block_free_mdct_model_is_network_free():
    cfg = json.loads((model_folder(NAME) / "config.json").read_text())
    assert ModelConfig.from_dict(cfg).network_free
    assert not ModelConfig.from_dict(dict(cfg, decoder_blocks=3, noise_channels=16)).network_free
    assert not ModelConfig.from_dict(dict(cfg, encoder_blocks=1)).network_free


def test_weightings_that_do_not_fit_the_config_are_refused(tmodel):
    with pytest.raises(ModelError, match="weightings"):
        TransformCodecModel(tmodel.name, tmodel.config, tmodel.digest, tmodel.counts, (np.zeros(10), np.zeros(10)))
    with pytest.raises(ModelError, match="weightings"):
        TransformCodecModel(tmodel.name, tmodel.config, tmodel.digest, tmodel.counts,
                            (np.full(882, np.nan), np.zeros(882)))


@pytest.mark.parametrize("kbps", [12, 24, 64])
def test_bitrate_is_honest(tmodel, clip, kbps):
    audio, sr = clip
    actual = len(compress_array(audio, sr, kbps, model=tmodel)) * 8 / (len(audio) / sr) / 1000
    assert 0.9 * kbps <= actual <= 1.01 * kbps, (kbps, actual)


def test_it_is_as_good_as_the_model_with_the_decoder_network_at_64_kbps(tmodel, clip):
    """The measured reason for dropping the network (docs/EXPERIMENTS.md): at 64 kbps its mel distance was lower."""
    audio, sr = clip
    with_net = load_model("muzip-v2.2")
    ours = decompress_bytes(compress_array(audio, sr, 64, model=tmodel), model=tmodel)[0]
    theirs = decompress_bytes(compress_array(audio, sr, 64, model=with_net), model=with_net)[0]
    assert mel_distance(audio, ours, sr) < mel_distance(audio, theirs, sr)


def test_seek_and_streaming_match_the_whole_file(tmodel, clip, coded):
    audio, sr = clip
    data, full = coded
    part, _ = decompress_bytes(data, model=tmodel, start=3.5, duration=2.25)
    s0 = int(3.5 * sr)
    np.testing.assert_allclose(part, full[s0:s0 + len(part)], atol=2e-4)
    out = io.BytesIO()
    compress_blocks((audio[i:i + 1000] for i in range(0, len(audio), 1000)), sr, 2, len(audio), out, tmodel, 24)
    assert out.getvalue() == data


def test_damaged_frame_is_concealed_and_others_decode(tmodel, coded, clip):
    sr = clip[1]
    data, good = coded
    bad, _ = decompress_bytes(_flip_in_frame(data, 5), model=tmodel)
    np.testing.assert_allclose(bad[:4 * sr], good[:4 * sr], atol=2e-4)
    np.testing.assert_allclose(bad[7 * sr:], good[7 * sr:], atol=2e-4)


def test_no_clicks_at_frame_boundaries_and_silence_stays_silent(tmodel):
    assert_no_clicks_at_frame_boundaries(tmodel)
    silence = np.zeros((3 * 44100, 2), np.float32)
    assert np.abs(decompress_bytes(compress_array(silence, 44100, 24, model=tmodel), model=tmodel)[0]).max() == 0.0


def test_noise_fill_fills_only_the_holes_of_coded_bands_and_repeats_exactly(tmodel):
    from muzip.codec.fill_levels import tilt_gains
    from muzip.codec.quantizer import dequantize
    cfg, steps = tmodel.config, np.array([0.01, 0.02])
    alpha = cfg.get("noise_fill", 0.3)  # fill-level models: a coded level of 0.3 for both channels
    fill = np.array([alpha, alpha]) if cfg.fill_levels else None
    q = np.zeros((2, 5, 882), np.int32)
    q[0, 1, 100] = 3   # one coded latent: its band (by band_gains.edges) gets noise in its other bins
    q[1, 4, 700] = -1
    deq = dequantize(q, steps, 7, cfg, fill)
    # a tilting model (fill_levels.tilt) divides each bin by its precision factor: the step there is step / g
    g = tilt_gains(cfg, fill) if fill is not None else None
    g = np.ones((2, 882), np.float32) if g is None else g
    edges = np.asarray(cfg["band_gains"]["edges"])
    b0 = np.searchsorted(edges, 100, side="right") - 1
    lo, hi = edges[b0], edges[b0 + 1]
    assert deq[0, 1, 100] == pytest.approx(0.03 / g[0, 100])
    holes = (deq[0, 1, lo:hi] * g[0, lo:hi])[np.arange(lo, hi) != 100]
    assert np.all(holes != 0) and np.abs(holes).max() <= alpha * 0.01 * (1 + 1e-5)
    assert not deq[0, 1, :lo].any() and not deq[0, 1, hi:].any() and not deq[0, [0, 2, 3, 4]].any()
    assert np.abs(np.delete(deq[1, 4] * g[1], 700)).max() <= alpha * 0.02 * (1 + 1e-5)  # side's own step
    np.testing.assert_array_equal(deq, dequantize(q, steps, 7, cfg, fill))  # seeded by (frame, channel)
    assert not np.array_equal(deq[0, 1], dequantize(q, steps, 8, cfg, fill)[0, 1])
    assert not dequantize(np.zeros_like(q), steps, 7, cfg, fill).any()  # silence stays silent


def test_a_bad_noise_fill_is_refused():
    cfg = json.loads((model_folder(NAME) / "config.json").read_text())
    for bad in (-0.1, 0.6, "0.2", True):
        with pytest.raises(ModelError, match="noise_fill"):
            ModelConfig.from_dict(dict(cfg, noise_fill=bad))
    with pytest.raises(ModelError, match="noise_fill"):
        ModelConfig.from_dict({k: v for k, v in cfg.items() if k not in ("band_gains", "envelope")})
