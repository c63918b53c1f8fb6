"""`muzip eval` and muzip.evaluate: alignment, metric values on known degradations, .mz input, plot,
missing optional dependencies and bad inputs; streaming against the whole-signal definitions. Signals are
2 s (or all 12 s) of the real test clip (44.1 kHz stereo)."""

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from muzip import evaluate as ev
from muzip import metrics
from muzip.cli import cli

NOTE = "ViSQOL: not installed (pip install 'muzip[eval]')"


@pytest.fixture(scope="module")
def music(clip):
    audio, sr = clip
    return np.ascontiguousarray(audio[sr: 3 * sr]), sr  # 2 s, stereo


def invoke(runner, *args):
    r = runner.invoke(cli, ["eval", *[str(a) for a in args]], catch_exceptions=True)
    if r.exc_info is not None and not isinstance(r.exc_info[1], SystemExit):
        import traceback
        raise AssertionError("".join(traceback.format_exception(*r.exc_info)))
    assert "Traceback" not in r.output
    return r


def read(path):
    import soundfile as sf
    return sf.read(path, dtype="float32", always_2d=True)[0]


def whole(ref, deg, sr):
    """The whole-signal definitions (muzip.metrics) of the four metrics evaluate streams."""
    return {"mel_distance": metrics.mel_distance(ref, deg, sr), "si_sdr_db": metrics.si_sdr_db(ref, deg),
            "lsd_db": metrics.log_spectral_distance(ref, deg, sr), "snr_db": metrics.snr_db(ref, deg)}


def with_noise(x, snr_db, rng):
    n = rng.standard_normal(x.shape)
    n *= np.sqrt(np.sum(x.astype(np.float64) ** 2) / np.sum(n ** 2) / 10 ** (snr_db / 10))
    return (x + n).astype(np.float32)


def test_identical(music, write_wav):
    x, sr = music
    a, b = write_wav("a.wav", x, sr), write_wav("b.wav", x, sr)
    res = ev.evaluate(a, b)
    assert res["delay_samples"] == 0 and res["compared_channels"] == 2
    assert res["mel_distance"] == 0.0 and res["lsd_db"] == 0.0
    assert res["snr_db"] == float("inf") and res["si_sdr_db"] == float("inf")
    assert res["bitrate_kbps"] is None
    if ev.have_visqol():  # installed in the dev venv (muzip[eval]), so this runs there
        assert 4.6 < res["visqol_mos"] <= 5.0
    assert json.loads(ev.format_json(res))["snr_db"] is None  # +inf is null in strict JSON


@pytest.mark.parametrize("delay", [300, -220])
def test_pure_delay_is_compensated(music, write_wav, delay):
    x, sr = music
    pad = np.zeros((abs(delay), 2), np.float32)
    y = np.concatenate([pad, x])[: len(x)] if delay > 0 else np.concatenate([x[-delay:], pad])
    res = ev.evaluate(write_wav("a.wav", x, sr), write_wav("b.wav", y, sr), visqol=None if delay > 0 else False)
    assert res["delay_samples"] == delay
    assert res["mel_distance"] == 0.0 and res["lsd_db"] == 0.0 and res["snr_db"] == float("inf")
    assert res["compared_seconds"] == pytest.approx((len(x) - abs(delay)) / sr)
    if delay > 0 and ev.have_visqol():
        assert res["visqol_mos"] > 4.6


def test_noise_at_known_snr(music, write_wav, rng):
    x, sr = music
    ref = write_wav("ref.wav", x, sr, subtype="FLOAT")
    r20 = ev.evaluate(ref, write_wav("n20.wav", with_noise(x, 20, rng), sr, subtype="FLOAT"), visqol=False)
    r40 = ev.evaluate(ref, write_wav("n40.wav", with_noise(x, 40, rng), sr, subtype="FLOAT"), visqol=False)
    assert r20["delay_samples"] == 0 and r40["delay_samples"] == 0
    assert abs(r20["snr_db"] - 20) < 0.2 and abs(r40["snr_db"] - 40) < 0.2
    assert abs(r20["si_sdr_db"] - 20) < 0.3
    assert r20["mel_distance"] > r40["mel_distance"] > 0
    assert r20["lsd_db"] > r40["lsd_db"] > 0


def test_other_rate_and_channels(music, write_wav):
    import soxr
    x, sr = music
    y = soxr.resample(x, sr, 48000, quality="VHQ").astype(np.float32)
    res = ev.evaluate(write_wav("a.wav", x, sr, "FLOAT"), write_wav("b48.wav", y, 48000, "FLOAT"), visqol=False)
    assert res["sample_rate"] == sr and res["degraded_sample_rate"] == 48000
    assert res["delay_samples"] == 0 and res["compared_channels"] == 2
    assert res["snr_db"] > 30 and res["mel_distance"] < 0.5
    assert any("resampled 48000 -> 44100" in n for n in res["notes"])
    # mono degraded against a stereo reference: both are mixed to mono
    res = ev.evaluate(write_wav("a.wav", x, sr, "FLOAT"), write_wav("m.wav", x.mean(axis=1), sr, "FLOAT"), visqol=False)
    assert res["compared_channels"] == 1 and res["snr_db"] > 100


def test_mz_degraded(runner, fast_model, music, write_wav, tmp_path):
    from muzip.codec import compress_array
    x, sr = music
    mz = tmp_path / "x.mz"
    mz.write_bytes(compress_array(x, sr, 32, model=fast_model))
    ref = write_wav("a.wav", x, sr)
    r = invoke(runner, ref, mz, "--json", "--no-visqol")
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["bitrate_kbps"] == pytest.approx(os.path.getsize(mz) * 8 / 2.0 / 1000, rel=1e-6)
    assert res["visqol_mos"] is None and res["compared_channels"] == 2
    assert abs(res["delay_samples"]) < 50 and 5 < res["snr_db"] < 60 and res["mel_distance"] > 0
    r = invoke(runner, ref, mz, "--no-visqol")
    assert r.exit_code == 0 and "kbps (actual)" in r.stdout
    # decoded block by block while compared: the whole-signal values of the decoded file
    from muzip.codec import decompress_bytes
    y, _ = decompress_bytes(mz.read_bytes(), fast_model)
    a, b, delay = metrics.align(read(ref), y, int(0.1 * sr))
    assert delay == res["delay_samples"]
    for key, value in whole(a, b, sr).items():
        assert res[key] == pytest.approx(value, rel=1e-9), key
    # a shorter reference stops the decoding early (its thread is joined); a .mz reference works too
    threads = threading.active_count()
    res = ev.evaluate(write_wav("short.wav", x[: sr // 2], sr), str(mz), get_model=lambda name: fast_model, visqol=False)
    assert res["compared_seconds"] <= 0.5 and threading.active_count() == threads
    res = ev.evaluate(str(mz), str(mz), get_model=lambda name: fast_model, visqol=False)
    assert res["mel_distance"] == 0.0 and res["reference_bitrate_kbps"] == res["bitrate_kbps"]


def test_plot(runner, music, write_wav, tmp_path):
    x, sr = music
    a = write_wav("a.wav", x, sr)
    b = write_wav("b.wav", with_noise(x, 30, np.random.default_rng(5)), sr)
    png = tmp_path / "p.png"
    r = invoke(runner, a, b, "--no-visqol", "--plot", png)
    assert r.exit_code == 0, r.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    r = invoke(runner, a, b, "--no-visqol", "--plot", png)  # exists: refused before any work
    assert r.exit_code == 1 and r.stderr.strip() == f"muzip: {png}: exists (use -f to overwrite)"
    r = invoke(runner, a, b, "--no-visqol", "--plot", png, "-f")
    assert r.exit_code == 0, r.stderr


def test_visqol_missing(runner, monkeypatch, music, write_wav):
    x, sr = music
    a, b = write_wav("a.wav", x, sr), write_wav("b.wav", x, sr)
    monkeypatch.setitem(sys.modules, "visqol", None)  # `import visqol` now raises ImportError
    r = invoke(runner, a, b)
    assert r.exit_code == 0
    assert r.stderr.strip().splitlines() == [f"muzip: {NOTE}"]
    assert "SNR:" in r.stdout and "mel distance:" in r.stdout and "ViSQOL MOS-LQO:     n/a" in r.stdout
    res = json.loads(invoke(runner, a, b, "--json").stdout)
    assert res["visqol_mos"] is None and res["mel_distance"] == 0.0 and NOTE in res["notes"]
    r = invoke(runner, a, b, "--visqol")  # explicitly required: an error naming what to install
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == ["muzip: --visqol needs visqol-python (pip install 'muzip[eval]')"]


def test_matplotlib_missing(runner, monkeypatch, music, write_wav, tmp_path):
    x, sr = music
    a = write_wav("a.wav", x, sr)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = invoke(runner, a, a, "--no-visqol", "--plot", tmp_path / "p.png")
    assert r.exit_code == 1 and not (tmp_path / "p.png").exists()
    assert r.stderr.strip().splitlines() == ["muzip: --plot needs matplotlib (pip install 'muzip[eval]')"]
    r = invoke(runner, a, a, "--no-visqol")  # without --plot matplotlib is not needed
    assert r.exit_code == 0 and "SNR:" in r.stdout


def test_help(runner):
    r = runner.invoke(cli, ["eval", "--help"])
    assert r.exit_code == 0 and "REFERENCE DEGRADED" in r.output and "--plot" in r.output
    assert "eval" in runner.invoke(cli, ["--help"]).output


def test_bad_inputs(runner, fast_model, music, write_wav, tmp_path):
    x, sr = music
    a = write_wav("a.wav", x, sr)
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all\n" * 20)
    bad_mz = tmp_path / "bad.mz"
    bad_mz.write_bytes(b"\x89MZ\n" + bytes(range(256)) * 4)
    cases = [(a, tmp_path / "missing.wav", "missing.wav: no such file"),
             (tmp_path / "missing.wav", a, "missing.wav: no such file"),
             (a, text, "notes.txt: not an audio file"),
             (a, bad_mz, "bad.mz: ")]
    empty = write_wav("empty.wav", np.zeros((0, 2), np.float32), sr)
    cases += [(a, empty, "empty.wav: no audio samples"), (empty, a, "empty.wav: no audio samples")]
    for ref, deg, expect in cases:
        r = invoke(runner, ref, deg, "--no-visqol")
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("muzip: ") and expect in lines[0], r.stderr
        assert r.stdout == ""


def test_no_tensorflow_for_plain_audio(music, write_wav):
    x, sr = music
    a, b = write_wav("a.wav", x, sr), write_wav("b.wav", x, sr)
    code = ("import sys; from muzip.cli import cli\n"
            "try:\n    cli(['eval', sys.argv[1], sys.argv[2], '--json'], prog_name='muzip')\n"
            "except SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'tensorflow imported'\n")
    p = subprocess.run([sys.executable, "-c", code, a, b], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["mel_distance"] == 0.0


@pytest.mark.parametrize("delay", [123, -57])
def test_streaming_matches_whole_signal(clip, write_wav, monkeypatch, delay):
    """All 12 s in blocks of 10007 samples, the delay estimated on a 2 s prefix: the values of
    metrics.align and the whole-signal functions, to rounding."""
    from scipy import signal
    from muzip.evaluate import stream
    monkeypatch.setattr(stream, "PREFIX_S", 2.0)
    monkeypatch.setattr(stream, "BLOCK", 10007)
    x, sr = clip
    b, a = signal.butter(4, 11000 / (sr / 2))
    y = signal.lfilter(b, a, x, axis=0) + 0.003 * np.random.default_rng(3).standard_normal(x.shape)
    y = np.roll(y, delay, axis=0).astype(np.float32)
    ref, deg = write_wav("a.wav", x, sr, "FLOAT"), write_wav("b.wav", y, sr, "FLOAT")
    res = ev.evaluate(ref, deg, visqol=False)
    r, d, found = metrics.align(x, y, int(0.1 * sr))
    assert res["delay_samples"] == found and abs(found - delay) <= 3  # plus the filter's group delay
    assert res["compared_seconds"] == len(r) / sr
    for key, value in whole(r, d, sr).items():
        assert res[key] == pytest.approx(value, rel=1e-9), key


def test_delay_found_after_a_silent_intro(music, write_wav, monkeypatch):
    """A near-silent start extends the prefix the delay is estimated on."""
    from muzip.evaluate import stream
    monkeypatch.setattr(stream, "PREFIX_S", 0.5)
    x, sr = music
    x = np.concatenate([np.zeros((int(1.2 * sr), 2), np.float32), x])
    y = np.concatenate([np.zeros((300, 2), np.float32), x])
    res = ev.evaluate(write_wav("a.wav", x, sr), write_wav("b.wav", y, sr), visqol=False)
    assert res["delay_samples"] == 300 and res["snr_db"] == float("inf")


@pytest.mark.skipif(not ev.have_visqol(), reason="visqol-python not installed")
def test_windowed_visqol_close_to_whole(clip):
    """12 s in 4 s windows, their scores averaged: close to ViSQOL on the whole signal (0.002 here); with
    the default 14 s windows, 12 s is one window: the whole-signal score."""
    from muzip.evaluate.visqol_windows import WindowedVisqol
    x, sr = clip
    y = with_noise(x, 25, np.random.default_rng(4))
    expect = ev.visqol_mos(x, y, sr)
    for window_s, windows, tol in ((4.0, 3, 0.02), (None, 1, 1e-3)):
        vq = WindowedVisqol(ev._visqol_api(), sr, *([window_s] if window_s else []))
        for i in range(0, len(x), 30000):
            vq.update(x[i:i + 30000], y[i:i + 30000])
        got = vq.finish()
        assert len(vq.windows) == windows and abs(got - expect) < tol, (window_s, got, expect)


def test_coarse_spectrogram_is_bounded(monkeypatch):
    """Frames are averaged in groups that double as needed: at most MAX_COLUMNS columns, same means."""
    from muzip.evaluate import plot
    monkeypatch.setattr(plot, "MAX_COLUMNS", 16)
    rng = np.random.default_rng(5)
    spec, frames = plot.CoarseSpectrogram(44100), []
    for k in (3, 1, 40, 7, 2, 30):  # 83 frames, in uneven batches
        s = rng.standard_normal((2, 2, k, 1025)) + 1j * rng.standard_normal((2, 2, k, 1025))
        spec.add(s[0], s[1])
        frames.append(np.stack([spec._basis @ (np.abs(v.mean(axis=0)) ** 2).T for v in s]))
    frames = np.concatenate(frames, axis=2)
    cols = spec.means()
    assert spec.group == 8 and cols.shape == (2, plot.N_MELS, 11)  # ceil(83 / 8)
    np.testing.assert_allclose(cols[:, :, 3], frames[:, :, 24:32].mean(axis=2))
    np.testing.assert_allclose(cols[:, :, -1], frames[:, :, 80:].mean(axis=2))
    assert spec.peak == pytest.approx(frames[0].max())
