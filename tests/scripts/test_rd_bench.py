"""Pure parts of scripts/bench/rd_bench.py: log-bitrate interpolation, the seed design's PCA fit, the Opus helper.
Fast: no corpus, no model, no training."""

import math

import numpy as np
import pytest

from scripts.bench import rd_bench
from scripts.bench.rd_bench import SeedCodec
from scripts.bench.rd_report import compare, interp_log, verdict

SR = 44100


# ---------------------------------------------------------------- interpolation

def test_interp_log_known_points_and_midpoint():
    pts = [(16.0, 2.0), (64.0, 4.0)]
    assert interp_log(pts, 16.0) == 2.0
    assert interp_log(pts, 64.0) == 4.0
    assert interp_log(pts, 32.0) == pytest.approx(3.0)  # geometric midpoint -> arithmetic midpoint of values
    t = math.log(24 / 16) / math.log(64 / 16)
    assert interp_log(pts, 24.0) == pytest.approx(2.0 + 2.0 * t)


def test_interp_log_uses_the_two_neighbours_in_any_input_order():
    pts = [(64.0, 1.0), (16.0, 5.0), (32.0, 3.0), (128.0, 0.5)]
    assert interp_log(pts, 32.0) == 3.0
    assert interp_log(pts, math.sqrt(32 * 64)) == pytest.approx(2.0)
    assert interp_log(pts, math.sqrt(64 * 128)) == pytest.approx(0.75)


def test_interp_log_never_extrapolates():
    pts = [(16.0, 2.0), (32.0, 3.0), (64.0, 4.0)]
    assert interp_log(pts, 15.9) is None
    assert interp_log(pts, 64.1) is None
    assert interp_log([], 32.0) is None
    assert interp_log([(32.0, None), (64.0, 4.0)], 48.0) is None  # missing values are not points


def test_compare_and_verdict():
    mz = [dict(target=t, kbps=k, visqol=v) for t, k, v in ((8, 8.0, 2.0), (16, 15.8, 3.0), (32, 32.0, 3.3),
                                                           (64, 63.9, 3.5), (96, 96.0, 3.8))]
    mp3 = [dict(kbps=k, visqol=v) for k, v in ((16.2, 1.6), (32.3, 1.7), (64.4, 2.9))]
    rows = compare(mz, mp3, "visqol", higher_better=True)
    assert [r["target"] for r in rows] == [16, 32, 64]       # only 16..64
    assert rows[0]["diff"] is None and rows[0]["dominated"]  # below MP3's lowest rate, fewer bits, better score
    assert rows[1]["diff"] == pytest.approx(3.3 - interp_log([(16.2, 1.6), (32.3, 1.7)], 32.0))
    assert all(r["better"] for r in rows[1:])
    assert "**yes**" in verdict(rows, "MP3", "ViSQOL")
    opus = [dict(kbps=k, visqol=v) for k, v in ((12.8, 2.3), (32.8, 4.0), (64.9, 4.1))]
    rows = compare(mz, opus, "visqol", higher_better=True)
    text = verdict(rows, "Opus", "ViSQOL")
    assert "**no**" in text and "32 kbps" in text and "64 kbps" in text
    # a better baseline whose range starts above muzip's point: not comparable there, and not a win
    rows = compare(mz, [dict(kbps=k, visqol=v) for k, v in ((48.0, 4.0), (128.0, 4.5))], "visqol", True)
    assert rows[0]["diff"] is None and not rows[0]["dominated"]
    assert "**no**" in verdict(rows, "Vorbis", "ViSQOL")  # lost at 64 kbps
    # no point lost but some out of range -> undetermined, never "yes"
    rows = compare(mz, [dict(kbps=k, visqol=v) for k, v in ((8.0, 1.0), (20.0, 1.5))], "visqol", True)
    assert rows[0]["better"] and rows[1]["diff"] is None and rows[2]["diff"] is None
    assert "**undetermined**" in verdict(rows, "X", "ViSQOL")
    # mel distance: lower is better
    rows = compare([dict(target=32, kbps=32.0, mel=2.0)], [dict(kbps=16.0, mel=4.0), dict(kbps=64.0, mel=1.0)],
                   "mel", higher_better=False)
    assert rows[0]["diff"] == pytest.approx(-0.5) and rows[0]["better"]


# ---------------------------------------------------------------- seed design

def test_seed_pca_reconstructs_first_component_subspace_exactly(rng):
    # every 4-sample group of each channel is a multiple of that channel's direction v_c
    dirs = np.array([[1.0, 2.0, -0.5, 0.3], [0.2, -1.0, 0.7, 1.5]])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    z = rng.standard_normal((SR // 4, 2)) * 0.2
    x = np.einsum("gc,ck->gkc", z, dirs).reshape(-1, 2).astype(np.float32)   # (44100, 2)
    codec = SeedCodec.fit([x])
    for c in range(2):
        assert abs(float(np.dot(codec.w[c], dirs[c]))) == pytest.approx(1.0, abs=1e-6)
    data = codec.encode(x)
    y, sr = codec.decode(data)
    assert sr == SR and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1e-6)
    # 32 bits x 44100/4 groups x 2 channels: 1 s of stereo -> 705.6 kbps, nominal and actual
    assert SeedCodec.bitrate_kbps(SR, 2) == pytest.approx(705.6)
    assert len(data) * 8 / 1.0 / 1000 == pytest.approx(705.6)


def test_seed_pads_to_whole_groups(rng):
    x = rng.standard_normal((1001, 2)).astype(np.float32) * 0.1
    codec = SeedCodec.fit([x])
    y, _ = codec.decode(codec.encode(x))
    assert len(y) == 1004  # ceil(1001 / 4) groups
    # the projection never adds energy
    assert float(np.sum(y[:1001] ** 2)) <= float(np.sum(x ** 2)) + 1e-6


# ---------------------------------------------------------------- Opus via ffmpeg

@pytest.mark.skipif(rd_bench.ffmpeg_path() is None, reason="ffmpeg not installed")
def test_opus_round_trip_sine_32k():
    from muzip.metrics import align, snr_db

    t = np.arange(SR) / SR
    x = np.repeat((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None], 2, axis=1)
    try:
        data = rd_bench.opus_encode(x, 32)
    except rd_bench.FFmpegError as exc:  # an ffmpeg built without libopus
        if "libopus" in str(exc) or "Unknown encoder" in str(exc):
            pytest.skip(f"ffmpeg without libopus: {exc}")
        raise
    kbps = len(data) * 8 / 1.0 / 1000
    assert 20.0 <= kbps <= 45.0, kbps  # 32 kbps CBR plus Ogg/Opus headers over only 1 s
    y, sr = rd_bench.opus_decode(data)
    assert sr == 48000 and y.shape[1] == 2
    assert abs(len(y) - 48000) <= 960  # pre-skip and end trimming applied: about 1 s
    y44 = rd_bench.to_stereo_44k(y, sr)
    r, d, delay = align(x, y44, rd_bench.MAX_DELAY)
    assert abs(delay) <= 200
    assert len(r) == len(d) >= SR - 300
    assert snr_db(r, d) > 10.0


# ---------------------------------------------------------------- validation sets

def test_help_offers_the_band_validation_set(capsys):
    with pytest.raises(SystemExit) as e:
        rd_bench.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--set {wesnoth,band}" in out


def test_plot_draws_each_reference_model_in_its_own_style(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.axes
    from scripts.bench import rd_report
    drawn = []
    real = matplotlib.axes.Axes.plot

    def spy(self, *a, **k):
        drawn.append((k.get("label"), k.get("color"), k.get("marker")))
        return real(self, *a, **k)
    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    pts = [{"kbps": k, "visqol": 4.0, "mel": 2.0} for k in (12.0, 24.0)]
    results = {"muzip": pts, "muzip-v2.3": pts, "muzip-v2.1": pts, "opus": pts}
    rd_report.plot(tmp_path / "rd.png", results, "t")
    assert (tmp_path / "rd.png").stat().st_size > 0
    styles = {label: (color, marker) for label, color, marker in drawn}
    assert len({styles[n] for n in ("muzip-v2.3", "muzip-v2.1")}) == 2
    assert styles["muzip-v2.3"] not in (rd_report.STYLE["muzip"], rd_report.STYLE["opus"])
