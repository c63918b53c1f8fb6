"""muzip restore: aligned training pairs, detection, seamless seeded chunked inference, and the command."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from conftest import CLIP, sine
from muzip.cli import cli
from muzip.metrics import find_delay
from muzip.restore.detect import bandwidth_hz
from muzip.restore.pairs import mp3_bytes, mp3_pair
from muzip.codec import installed_models

pytestmark = pytest.mark.skipif("restore-v1" not in installed_models("restorer"), reason="restore-v1 not shipped")
COND = np.array([np.log2(24 / 32), 0.35], np.float32)
HAVE_FFMPEG = shutil.which("ffmpeg") is not None


@pytest.fixture(scope="module")
def restorer():
    from muzip.restore.runtime import Restorer
    return Restorer("restore-v1")


def _restore(restorer, x, chunk_frames=1024, seed=0, deterministic=False, cond=COND):
    from muzip.restore.runtime import restore_blocks
    blocks = (x[i:i + 10000] for i in range(0, len(x), 10000))
    return np.concatenate(list(restore_blocks(restorer, blocks, x.shape[1], cond, seed, deterministic, chunk_frames)))


@pytest.mark.parametrize("kbps,channels", [(16, 1), (24, 2), (32, 2), (64, 1)])
def test_mp3_pairs_are_aligned(kbps, channels):
    rng = np.random.default_rng(1)
    x = np.zeros((44100 * 2, channels), np.float32)
    x[30000:34000] = rng.uniform(-0.5, 0.5, (4000, 1))  # a burst: its delay shows in the cross-correlation
    y = mp3_pair(x, 44100, kbps)
    assert y.shape == x.shape
    assert find_delay(x, y, 4000) == 0


def test_bandwidth_follows_the_low_pass():
    rng = np.random.default_rng(2)
    noise = rng.standard_normal((44100 * 4, 1)).astype(np.float32) * 0.1
    spec = np.fft.rfft(noise[:, 0])
    spec[np.fft.rfftfreq(len(noise), 1 / 44100) > 8000] = 0
    lowpassed = np.fft.irfft(spec, len(noise))[:, None].astype(np.float32)
    assert 7000 < bandwidth_hz(lowpassed, 44100) < 8600
    assert bandwidth_hz(noise, 44100) > 20000
    y = mp3_pair(np.repeat(noise, 2, axis=1), 44100, 16)  # LAME at 16 kbps stereo codes at 8 kHz
    assert bandwidth_hz(y, 44100) < 4500


def test_bandwidth_of_a_short_mp3_is_its_low_pass():
    """LAME's rounding noise above its 64-kbps low-pass came within 50 dB of the clip's first half second
    (read as 19 kHz, the 6-s file as 11 kHz); that noise has no cliff of its own, so the cliff is read."""
    import io

    import lameenc
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)

    def mp3_at_44k(part):  # as ffmpeg's libmp3lame writes it (lameenc alone would resample to 32 kHz)
        enc = lameenc.Encoder()
        enc.set_bit_rate(64), enc.set_in_sample_rate(sr), enc.set_out_sample_rate(sr), enc.set_channels(2)
        data = bytes(enc.encode((np.clip(part, -1, 1) * 32767).round().astype("<i2").tobytes()) + enc.flush())
        return sf.read(io.BytesIO(data), dtype="float32")[0]
    long = bandwidth_hz(mp3_at_44k(x[:sr * 6]), sr)
    assert 9000 < long < 13000
    for seconds in (0.5, 1.0):
        assert 5000 < bandwidth_hz(mp3_at_44k(x[:int(sr * seconds)]), sr) < long + 1000
    # a loud partial (1.3 kHz, everything 20 dB under it above) is no low-pass: what lies above a cliff must
    # be 20 dB under the music too (a first version read this 0.74-s excerpt as 1.3 kHz)
    assert bandwidth_hz(mp3_pair(x[int(sr * 3.6):int(sr * 4.34)], sr, 64), sr) > 8000


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
@pytest.mark.parametrize("seconds", [0.5, 2.0])
def test_bandwidth_of_a_short_low_rate_mp3_is_its_low_pass(tmp_path, seconds):
    """The clip's first 0.5 s as a 32-kbps MP3 (ffmpeg's LAME: low-pass near 3 kHz here) read 21.8 kHz (a review,
    session 60): its 1-4 kHz median lay 50 dB under its bass, so rounding noise near Nyquist was "content", and
    the top 250 Hz, with nothing measured above them, counted as a cliff. (0.3 s still reads 21.9 kHz: a rule by
    the loudest bin fixed it and under-read bass-heavy music, 7.3 kHz for 15.)"""
    p = tmp_path / "short.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(CLIP), "-t", str(seconds), "-c:a", "libmp3lame", "-b:a",
                    "32k", str(p)], check=True)
    y, sr = sf.read(p, dtype="float32")
    assert 1500 < bandwidth_hz(y, sr) < 6000


def test_chunk_edges_are_seamless(restorer):
    x = sine(997, 6, 44100, 2)  # 997 Hz: no period lines up with the 256-sample hop
    small = _restore(restorer, x, chunk_frames=16)  # an edge every 93 ms
    whole = _restore(restorer, x, chunk_frames=4096)
    assert small.shape == whole.shape == x.shape
    assert np.abs(small - whole).max() < 1e-5
    d = np.abs(np.diff(small[:, 0]))  # no click: no jump bigger than the sine's own slope allows
    assert d.max() < 2 * np.pi * 997 / 44100 * 0.3 * 3


def test_same_seed_same_output_and_z0_is_deterministic(restorer):
    x = sine(440, 2, 44100, 1) + np.random.default_rng(3).normal(0, 0.01, (88200, 1)).astype(np.float32)
    a, b = _restore(restorer, x, seed=5), _restore(restorer, x, seed=5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, _restore(restorer, x, seed=6))
    assert np.array_equal(_restore(restorer, x, seed=5, deterministic=True),
                          _restore(restorer, x, seed=6, deterministic=True))


def test_runtime_matches_keras(restorer):
    keras = pytest.importorskip("keras")  # noqa: F841 - the reference path needs the train extra
    from muzip.restore.model import build_restorer
    from muzip.restore.runtime import frame_noise
    from muzip.runtime import models_dir
    model = build_restorer(restorer.config)
    model.load_weights(models_dir() / "restore-v1" / "restorer.weights.h5")
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    y = mp3_pair(x[:3 * sr], sr, 24)[:, :1]
    T = len(y) // 256 * 256
    n = T // 256 + 1
    noise = frame_noise(0, 0, 0, n, restorer.config["noise_channels"])[None]
    ref = np.asarray(model([y[None, :T], np.broadcast_to(COND, (1, n, 2)), noise]))[0, :, 0]
    got = restorer.run_frames(y[:T].T, COND, 0, 0, False)[0]
    assert np.abs(ref - got).max() < 1e-5


def _lame_file(path, x, kbps):
    path.write_bytes(mp3_bytes(x, 44100, kbps))
    return path


def test_restore_command_mp3(tmp_path, runner):
    x = sine(330, 3, 44100, 2)
    src = _lame_file(tmp_path / "song.mp3", x, 24)
    r = runner.invoke(cli, ["restore", str(src)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "song.restored.wav"
    info = sf.info(out)
    assert info.samplerate == 44100 and info.channels == 2
    decoded = sf.info(src)  # untagged LAME: the encoder delay is cut, the (unknowable) padding stays
    assert abs(info.frames - (decoded.frames - 1105) * 44100 / decoded.samplerate) <= 1
    assert "MP3, 24 kbps" in r.output and "restored (seed 0)" in r.output
    y, _ = sf.read(out, dtype="float32")
    assert find_delay(x, y[:len(x)], 2000) == 0  # aligned with the original
    # what it is, for a library (dupes ranks it as the 24-kbps MP3 it came from, not as an original)
    from muzip.audio import AudioSource
    from muzip.audio.tags import read_decoded_mark
    with AudioSource(str(out)) as restored:
        assert read_decoded_mark(restored.info.software) == ("mp3", 24.0)
        assert "by restore-v1" in restored.info.software


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
def test_restore_keeps_the_exact_duration_of_a_tagged_mp3(tmp_path, runner):
    wav = tmp_path / "in.wav"
    sf.write(wav, sine(330, 3, 44100, 1), 44100)
    mp3 = tmp_path / "tagged.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "32k", str(mp3)], check=True)
    r = runner.invoke(cli, ["restore", "-q", str(mp3), "-o", str(tmp_path / "out.flac")])
    assert r.exit_code == 0, r.output
    assert sf.info(tmp_path / "out.flac").frames == 3 * 44100


def test_good_input_is_copied_unchanged(tmp_path, runner):
    x = sine(440, 2, 32000, 1)
    sf.write(tmp_path / "a.wav", x, 32000, subtype="PCM_16")
    _lame_file(tmp_path / "b.mp3", sine(440, 2, 44100, 2), 160)
    r = runner.invoke(cli, ["restore", str(tmp_path / "a.wav"), str(tmp_path / "b.mp3")])
    assert r.exit_code == 0, r.output
    assert r.output.count("not restored (") == 2
    y, sr = sf.read(tmp_path / "a.restored.wav", dtype="float32", always_2d=True)
    assert sr == 32000 and np.array_equal(y, sf.read(tmp_path / "a.wav", dtype="float32", always_2d=True)[0])


def test_bad_input_is_one_line_and_the_batch_goes_on(tmp_path, runner):
    (tmp_path / "bad.mp3").write_bytes(b"not an mp3 at all" * 100)
    good = _lame_file(tmp_path / "good.mp3", sine(440, 1, 44100, 1), 32)
    r = runner.invoke(cli, ["restore", "-q", str(tmp_path / "bad.mp3"), str(good)])
    assert r.exit_code == 1
    lines = [line for line in r.output.splitlines() if line.startswith("muzip: ")]
    assert len(lines) == 1 and "bad.mp3" in lines[0] and "Traceback" not in r.output
    assert (tmp_path / "good.restored.wav").exists() and not (tmp_path / "bad.restored.wav").exists()


def test_models_lists_the_restorer(runner):
    r = runner.invoke(cli, ["models", "--json"])
    kinds = {m["name"]: m["kind"] for m in map(json.loads, r.output.splitlines())}
    assert kinds["restore-v1"] == "restorer" and kinds["muzip-v1"] == "codec" and kinds["embed-v0"] == "embedder"
    assert r.exit_code == 0


def test_golden_restore_files_still_restore_the_same(tmp_path, runner):
    from pathlib import Path
    golden = Path(__file__).resolve().parents[1] / "data" / "golden" / "restore"
    for name in installed_models("restorer"):
        mp3, rec = golden / f"{name}.mp3", golden / f"{name}.npz"
        assert mp3.is_file() and rec.is_file(), f"{name} has no golden files: run python -m scripts.models.make_restore_golden"
        r = runner.invoke(cli, ["restore", "-q", "--model", name, str(mp3), "-o", str(tmp_path / f"{name}.wav")])
        assert r.exit_code == 0, r.output
        y, rate = sf.read(tmp_path / f"{name}.wav", dtype="float32", always_2d=True)
        with np.load(rec) as z:
            assert rate == int(z["rate"]) and y.shape[1] == int(z["channels"])
            assert np.abs(y[:, 0] - z["left"].astype(np.float32)).max() < 2e-3  # float16 records, runtime rounding


def test_a_model_that_is_no_restorer_is_refused_before_any_file(runner, tmp_path):
    """--model nosuch failed every file in turn (exit 1), listing codecs and embedders as installed."""
    for name in ("nosuch", "muzip-v1"):
        r = runner.invoke(cli, ["restore", "--model", name, str(tmp_path / "a.mp3"), str(tmp_path / "b.mp3")])
        assert r.exit_code == 2 and f"'{name}' is not an installed restorer (installed: restore-v1" in r.output
        assert r.output.count("not an installed restorer") == 1 and "embed-v0" not in r.output


def test_digital_silence_stays_silent_and_the_gate_makes_no_seam(restorer):
    """The generator's noise made a gap of digital silence -80 dBFS of hiss, even at z = 0, and a silent file
    read 22.1 kHz wide (a review, session 61). A gap stays exact zeros; the sound around it is as before; any
    chunking gates alike."""
    from muzip.restore.runtime import _silence_gate
    rate = 44100
    x = sine(997, 6, rate, 2)
    x[2 * rate:4 * rate] = 0  # a 2-s gap, as an MP3 decoder gives it
    for deterministic in (False, True):
        small = _restore(restorer, x, chunk_frames=16, deterministic=deterministic)
        whole = _restore(restorer, x, chunk_frames=4096, deterministic=deterministic)
        assert np.abs(small - whole).max() < 1e-5
        gap = whole[2 * rate + 2 * 256:4 * rate - 2 * 256]
        assert np.all(gap == 0) and np.abs(whole[:2 * rate - 256]).max() > 0.1
    seg = np.ones((2, 256 * 10), np.float32)
    assert np.all(_silence_gate(seg, 256, 256, 256 * 8) == 1)
    seg[:, 256 * 3:256 * 8] = 0  # frames 3-7 silent: 4-6 gated, ramps inside 3 and 7
    g = _silence_gate(seg, 256, 0, 256 * 10)
    assert np.all(g[:, :256 * 3 + 128] == 1) and np.all(g[:, 256 * 4 + 128:256 * 6 + 129] == 0)
    assert np.all(np.abs(np.diff(g[0])) <= 1 / 256 + 1e-6)  # ramped over a frame
    assert bandwidth_hz(np.zeros((rate * 2, 2), np.float32), rate) == 0.0


def test_a_silent_start_is_read_past_for_the_bandwidth(tmp_path, runner, monkeypatch):
    """A low-rate file whose first minute was digital silence (a hidden track) read "silent in its first minute"
    and was conditioned as full band: nothing was restored (session 61's leftover). The probe now reads on to
    the first minute of sound, holding the silence as its length; here a minute is made a second."""
    import muzip.restore.pipeline as P
    monkeypatch.setattr(P, "PROBE_SECONDS", 1)
    rate = 44100
    x = np.zeros((rate * 6, 2), np.float32)
    x[rate * 4:] = np.random.default_rng(3).standard_normal((rate * 2, 2)).astype(np.float32) * 0.1
    import lameenc
    enc = lameenc.Encoder()  # at 44.1 kHz, as ffmpeg's LAME writes it: the silence spans two 64-k-sample blocks
    enc.set_bit_rate(48), enc.set_in_sample_rate(rate), enc.set_out_sample_rate(rate), enc.set_channels(2)
    src = tmp_path / "hidden.mp3"
    src.write_bytes(bytes(enc.encode((x * 32767).round().astype("<i2").tobytes()) + enc.flush()))
    r = runner.invoke(cli, ["restore", str(src), "-o", str(tmp_path / "out.wav")])
    assert r.exit_code == 0, r.output
    band = float(r.output.split("bandwidth ")[1].split(" kHz")[0])
    assert 6 < band < 18 and "silent in" not in r.output  # LAME's low-pass at 48 kbps, not the silence
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert len(y) == len(sf.read(src)[0]) - 1105  # the silence kept as a length comes back whole, LAME's delay cut
    assert np.all(y[:rate * 3] == 0) and np.abs(y[rate * 4 + 2000:]).max() > 0.05


def test_the_probe_holds_silence_as_a_length_and_cuts_the_delay():
    from muzip.restore.pipeline import _probe, _skip
    loud = np.full((5, 1), 0.5, np.float32)
    blocks = [np.zeros((4, 1), np.float32), np.full((3, 1), 1e-7, np.float32), loud, loud, loud]
    held = _probe(iter(blocks), 8, silent_as_length=True)
    assert [b if isinstance(b, int) else len(b) for b in held] == [4, 3, 5, 5]  # stops at 8 of sound
    assert all(isinstance(b, np.ndarray) for b in _probe(iter(blocks), 8, silent_as_length=False))
    cut = _skip(held, 9)  # the delay runs through both silences into the first sound
    assert [b if isinstance(b, int) else len(b) for b in cut] == [3, 5] and np.all(cut[0] == 0.5)
    assert _skip([4, loud], 2)[0] == 2
