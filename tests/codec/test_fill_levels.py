"""Coded fill levels (codec.fill_levels, config "fill_levels"): the encoder picks a level per frame and audio
channel from the source's spectral flatness, the payload carries it as a byte, and the dequantizer fills
the holes of coded bands with noise of that level."""

import json

import numpy as np
import pytest

from muzip.codec import ModelConfig
from muzip.codec.fill_levels import FillLevels
from muzip.codec.payload import decode_frame, join_payload
from muzip.codec.quantizer import dequantize
from muzip.errors import CorruptFileError, ModelError
from muzip.runtime.store import model_folder

SPEC = {"scale": 0.5, "window": 4096, "hop": 1024, "band_hz": [2000.0, 8000.0],
        "maps": [[0, 0.13, 0.65, 0.1, 0.4], [48, 0.2, 0.6, 0.2, 0.4]]}


@pytest.fixture(scope="module")
def base_cfg():
    cfg = json.loads((model_folder("muzip-v2.4") / "config.json").read_text())
    cfg.pop("noise_fill")
    return cfg


@pytest.fixture(scope="module")
def fill(base_cfg):
    return FillLevels(dict(base_cfg, fill_levels=SPEC))


def test_the_map_follows_the_bitrate(fill):
    assert fill.map_for(6) == fill.map_for(24) == fill.map_for(47.9) == (0.13, 0.65, 0.1, 0.4)
    assert fill.map_for(48) == fill.map_for(96) == (0.2, 0.6, 0.2, 0.4)


def test_a_tone_gets_a_low_level_and_noise_the_highest(fill, rng):
    t = np.arange(44100) / 44100
    tone = np.stack([0.3 * np.sin(2 * np.pi * 3000 * t), 0.01 * np.sin(2 * np.pi * 5000 * t)])
    noise = rng.standard_normal((2, 44100)) * 0.1
    sf_tone, sf_noise = fill.flatness(tone), fill.flatness(noise)
    assert np.all(sf_tone < 0.01) and np.all(sf_noise > 0.5)  # white noise: ~0.56 (exponential power)
    low = fill.levels(fill.codes_for(tone, 24))
    high = fill.levels(fill.codes_for(noise, 24))
    np.testing.assert_allclose(low, 0.13, atol=0.5 / 255 + 0.01 * 0.65)  # a0 + a1 x ~0
    np.testing.assert_allclose(high, 0.4, atol=0.5 / 255)  # 0.13 + 0.65 x 0.56 = 0.49, clipped at hi
    short = fill.levels(fill.codes_for(noise[:, :4000], 24))
    np.testing.assert_allclose(short, 0.13, atol=0.5 / 255)  # shorter than a window: flatness 0, level a0


def test_levels_parse_from_the_payload_and_a_short_one_is_refused(fill):
    levels, used = fill.parse(bytes([0, 255, 7]), 2)
    assert used == 2 and levels.tolist() == pytest.approx([0.0, 0.5])
    with pytest.raises(CorruptFileError, match="fill"):
        fill.parse(b"\x10", 2)


def test_decode_frame_reads_fill_bytes_only_in_frames_with_coded_latents(fill):
    class Coder:  # latents of a frame: non-zero unless the payload says 'zero'
        def decode(self, data, n, levels):
            q = np.zeros((2, n, 4), np.int32)
            if data != b"zero":
                q[0, 0, 1] = 1
            return q

    class Gains:
        def decode(self, words, q):
            return words  # what is left for the gains, to check the split

    payload = join_payload(b"\x02\x00code", bytes([51, 102]) + b"gain")
    q, gains, env, levels = decode_frame(Coder(), Gains(), payload, 51, [10, 12], None, fill)
    assert gains == b"gain" and env is None and levels == pytest.approx([0.1, 0.2])
    q, gains, env, levels = decode_frame(Coder(), Gains(), join_payload(b"\x02\x00zero", b""), 51, [10, 12],
                                         None, fill)
    assert levels is None and gains == b""
    with pytest.raises(CorruptFileError):
        decode_frame(Coder(), Gains(), join_payload(b"\x02\x00code", b"\x01"), 51, [10, 12], None, fill)


def test_dequantize_scales_the_noise_by_each_channels_level(base_cfg):
    q = np.zeros((2, 3, 882), np.int32)
    q[:, 1, 100] = 2
    steps = np.array([0.01, 0.01])
    cfg = dict(base_cfg, fill_levels=SPEC)
    deq = dequantize(q, steps, 3, cfg, np.array([0.4, 0.0], np.float32))
    assert deq[0, 1, 100] == pytest.approx(0.02) and deq[1, 1, 100] == pytest.approx(0.02)
    holes = np.delete(deq[0, 1], 100)
    assert 0.0035 < np.abs(holes).max() <= 0.004 + 1e-9  # +-0.4 x step, in the coded band only
    assert np.count_nonzero(np.delete(deq[1, 1], 100)) == 0  # level 0: no noise
    half = dequantize(q, steps, 3, cfg, np.array([0.2, 0.0], np.float32))
    np.testing.assert_allclose(half[0], np.where(q[0] != 0, deq[0], deq[0] / 2), rtol=1e-6)  # same noise, half


@pytest.mark.parametrize("bad", [{"scale": 0.0}, {"scale": 0.7}, {"hop": 0}, {"maps": []},
                                 {"maps": [[0, 0.1, 0.5, 0.3, 0.2]]}, {"band_hz": [2000]}, {"window": "x"}])
def test_a_bad_fill_levels_config_is_refused(base_cfg, bad):
    with pytest.raises(ModelError, match="fill_levels"):
        ModelConfig.from_dict(dict(base_cfg, fill_levels=dict(SPEC, **bad)))


def test_fill_levels_need_band_gains(base_cfg):
    cfg = {k: v for k, v in base_cfg.items() if k not in ("band_gains", "envelope")}
    with pytest.raises(ModelError, match="fill_levels needs band_gains"):
        ModelConfig.from_dict(dict(cfg, fill_levels=SPEC))
    assert ModelConfig.from_dict(dict(base_cfg, fill_levels=SPEC)).fill_levels == SPEC


def test_muzip_v25_codes_a_low_level_for_a_tone_and_a_high_one_for_noise(rng):
    import io

    from muzip.codec import compress_array, decompress_bytes, load_model
    from muzip.codec.latents import read_latents
    from muzip.container import ContainerReader
    model = load_model("muzip-v2.5")
    t = np.arange(3 * 44100) / 44100
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3520 * t)
    noise = rng.standard_normal(3 * 44100) * 0.1
    audio = np.stack([np.concatenate([tone, noise])] * 2, axis=1).astype(np.float32)
    data = compress_array(audio, 44100, 24, model=model)
    frames = list(read_latents(ContainerReader(io.BytesIO(data)), model))
    mid = [f.fill[0] for f in frames]
    assert all(f.fill is not None and f.fill.shape == (2,) for f in frames)
    assert max(mid[:2]) < 0.15 and min(mid[4:]) > 0.35  # frame 2 and 3 hold both
    out, sr = decompress_bytes(data, model=model)
    assert sr == 44100 and out.shape == audio.shape and np.isfinite(out).all()


TILT = {"pivot_hz": 2000.0, "lo_hz": 250.0, "hi_hz": 16000.0, "levels": [0.15, 0.3], "db_per_octave": [1.0, -1.0]}


def test_tilt_gains_follow_the_level_and_are_flat_outside_their_range(base_cfg):
    from muzip.codec.fill_levels import tilt_gains
    cfg = dict(base_cfg, fill_levels=dict(SPEC, tilt=TILT))
    assert tilt_gains(dict(base_cfg, fill_levels=SPEC), np.array([0.1])) is None  # no tilt: nothing to do
    g = tilt_gains(cfg, np.array([0.1, 0.225, 0.4]))
    f = (np.arange(882) + 0.5) * 25.0
    at = int(np.argmin(np.abs(f - 4000)))  # one octave above the pivot
    assert g.shape == (3, 882) and g.dtype == np.float32
    np.testing.assert_allclose(g[0, at], 10 ** (np.log2(f[at] / 2000) / 20), rtol=1e-5)  # +1 dB an octave
    np.testing.assert_allclose(g[2, at], 10 ** (-np.log2(f[at] / 2000) / 20), rtol=1e-5)  # -1 dB
    np.testing.assert_allclose(g[1], 1.0, atol=1e-6)  # halfway: 0 dB
    assert g[0, 0] == g[0, 5] and g[0, -1] == g[0, -30]  # clipped below 250 Hz and above 16 kHz


def test_a_tilted_model_codes_and_decodes_with_the_precision_the_bytes_ask_for(base_cfg, clip):
    from muzip.codec import compress_array, decompress_bytes, load_model
    from muzip.metrics import mel_distance
    audio, sr = clip
    plain, tilted = load_model("muzip-v2.5"), load_model("muzip-v2.5")
    tilted.config = ModelConfig.from_dict(dict(plain.config, fill_levels=dict(plain.config["fill_levels"],
                                                                              tilt=dict(TILT, db_per_octave=[3, -3]))))
    a, b = compress_array(audio, sr, 24, model=plain), compress_array(audio, sr, 24, model=tilted)
    assert a != b
    ya, yb = decompress_bytes(a, model=plain)[0], decompress_bytes(b, model=tilted)[0]
    wrong = decompress_bytes(b, model=plain)[0]  # the same file decoded without dividing by the tilt
    da, db_, dw = (mel_distance(audio, y, sr) for y in (ya, yb, wrong))
    assert db_ < da + 0.5 and dw > db_ + 0.05, (da, db_, dw)


@pytest.mark.parametrize("bad", [{"levels": [0.3, 0.15]}, {"db_per_octave": [1.0]}, {"db_per_octave": [9, 0]},
                                 {"pivot_hz": 100.0}, {"levels": []}])
def test_a_bad_tilt_is_refused(base_cfg, bad):
    with pytest.raises(ModelError, match="tilt"):
        ModelConfig.from_dict(dict(base_cfg, fill_levels=dict(SPEC, tilt=dict(TILT, **bad))))
