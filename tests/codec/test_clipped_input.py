"""Issue 23: a float WAV at 1e12 x full scale gave `internal error`, at 1e4..1e8 x full scale 2,224 kbps for
`-b 64`. Out-of-range samples (and +-Inf, NaN) are clipped to [-1, 1] where audio is read and again where it is
encoded: `compress` exits with one warning giving the count, at the bitrate asked for, with either model."""

import io

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from muzip.cli import cli
from muzip.cli.common import EXIT_OK, EXIT_WARN
from muzip.audio.samples import MAX_OVERSHOOT
from muzip.codec import compress_array, compress_blocks, decompress_bytes, load_model

SECONDS = 6  # long enough for muzip-v2.1's rate control to settle (its first frames' gains are estimated)


@pytest.fixture(scope="module")
def music(clip):
    audio, sr = clip
    return np.ascontiguousarray(audio[:SECONDS * sr]), sr


@pytest.fixture(scope="module")
def cli_models():
    """Both models, loaded once for every CLI call in this module."""
    return {name: load_model(name) for name in ("muzip-v1", "muzip-v2.1")}


@pytest.fixture
def runner(monkeypatch, cli_models):
    import muzip.cli.codec_jobs as jobs
    monkeypatch.setattr(jobs, "_MODELS", dict(cli_models))
    return CliRunner()


def invoke(runner, *args):
    r = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
    if r.exc_info is not None and not isinstance(r.exc_info[1], SystemExit):
        raise AssertionError(f"uncaught exception: {r.exc_info[1]!r}")
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    return r


def hostile(music, kind):
    x, sr = music
    if kind == "inf/nan":
        y = x.copy()
        y[1000, 0], y[2000, 1], y[3000, 0], y[4000, 1] = np.inf, -np.inf, np.nan, np.nan
        return y, sr, 4
    y = x * np.float32(float(kind))
    return y, sr, int(np.count_nonzero(np.abs(y) > 1))


@pytest.mark.parametrize("name", ["muzip-v1", "muzip-v2.1"])
@pytest.mark.parametrize("kind", ["1e4", "1e8", "1e12", "inf/nan"])
def test_compress_clips_out_of_range_input_with_one_warning_at_an_honest_bitrate(runner, music, tmp_path, name,
                                                                                   kind):
    x, sr, outside = hostile(music, kind)
    wav, mz = tmp_path / "in.wav", tmp_path / "in.mz"
    sf.write(wav, x, sr, subtype="FLOAT")
    r = invoke(runner, "compress", "-q", "-b", "64", "--model", name, wav, "-o", mz)
    # done, with a warning: the documented status 3 (README, `--help`), as for every warning compress gives
    assert r.exit_code == EXIT_WARN, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == [f"muzip: warning: {wav}: clipped {outside} samples outside full scale to [-1, 1] "
                     "(|x| > 1, Inf or NaN; NaN -> 0)"], r.stderr
    kbps = mz.stat().st_size * 8 / SECONDS / 1000
    assert abs(kbps - 64) / 64 < 0.05, f"{name}: requested 64 kbps, got {kbps:.1f}"
    r = invoke(runner, "decompress", "-q", mz, "-o", tmp_path / "out.wav")
    assert r.exit_code == EXIT_OK, r.stderr
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert y.shape == x.shape and np.isfinite(y).all() and np.abs(y).max() < 2.0


@pytest.mark.parametrize("name", ["muzip-v1", "muzip-v2.1"])
def test_the_encoder_clips_for_every_caller(cli_models, music, name):
    """compress_array / compress_blocks (no AudioSource in front) clip too, beyond +-MAX_OVERSHOOT (+6 dB: a lossy
    decoder's overshoot stays as it always was), count what they clipped, and code exactly what clipping first
    would have coded, at the bitrate asked for."""
    model = cli_models[name]
    x, sr, _ = hostile(music, "1e12")
    x = x[:3 * sr]
    x[100, 0], x[200, 1] = np.nan, -np.inf
    outside = int(np.count_nonzero(~(np.abs(x) <= MAX_OVERSHOOT)))
    out = io.BytesIO()
    stats = compress_blocks((x[i:i + 10000] for i in range(0, len(x), 10000)), sr, 2, len(x), out, model, 64)
    assert stats["clipped"] == outside
    clipped = np.clip(np.nan_to_num(x, nan=0.0), -MAX_OVERSHOOT, MAX_OVERSHOOT)
    assert out.getvalue() == compress_array(clipped, sr, 64, model=model)
    assert np.isfinite(decompress_bytes(out.getvalue(), model=model)[0]).all()
    assert len(out.getvalue()) * 8 / 3 / 1000 < 64 * 1.1  # not 2,224 kbps
    ordinary = io.BytesIO()
    a = music[0][:sr] * 1.8  # within the overshoot allowed: coded as it is
    assert compress_blocks(iter([a]), sr, 2, sr, ordinary, model, 24)["clipped"] == 0
