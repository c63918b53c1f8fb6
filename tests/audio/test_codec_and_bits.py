"""What a file holds (session 55): its codec (an M4A is AAC or ALAC, an Ogg Vorbis or Opus) and a lossless
stream's bits per sample, read by the reader; 24-bit output that keeps a 24-bit original's samples."""

import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import AudioSink, AudioSource
from muzip.audio.probe import LOSSLESS_CODECS, soundfile_codec, stream_facts
from muzip.cli import cli

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def _samples_24(rng, n=4000, channels=2):
    return (rng.integers(-2 ** 23, 2 ** 23, (n, channels)) / 2 ** 23).astype(np.float32)


@pytest.mark.parametrize("fmt, subtype, want", [
    ("WAV", "PCM_16", ("pcm", 16)), ("WAV", "PCM_24", ("pcm", 24)), ("WAV", "FLOAT", ("pcm", 32)),
    ("FLAC", "PCM_24", ("flac", 24)), ("OGG", "VORBIS", ("vorbis", None)), ("OGG", "OPUS", ("opus", None)),
    ("MP3", "MPEG_LAYER_III", ("mp3", None)), ("CAF", "ALAC_24", ("alac", 24)), ("WAV", "ULAW", ("ulaw", None)),
])
def test_soundfile_codec_names(fmt, subtype, want):
    assert soundfile_codec(fmt, subtype) == want
    assert (want[0] in LOSSLESS_CODECS) == (want[1] is not None)


@pytest.mark.parametrize("fmt, subtype, codec, bits", [
    ("WAV", "PCM_24", "pcm", 24), ("FLAC", "PCM_16", "flac", 16), ("FLAC", "PCM_24", "flac", 24),
    ("OGG", "VORBIS", "vorbis", None),
])
def test_the_reader_says_codec_and_bits(tmp_path, rng, fmt, subtype, codec, bits):
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(str(path), _samples_24(rng) * 0.5, 44100, format=fmt, subtype=subtype)
    with AudioSource(str(path)) as src:
        assert (src.info.codec, src.info.bits) == (codec, bits)


def test_a_wav_on_standard_input_says_its_bits(rng):
    buf = io.BytesIO()
    sf.write(buf, _samples_24(rng), 44100, format="WAV", subtype="PCM_24")
    buf.seek(0)
    with AudioSource("-", stdin=buf) as src:
        assert (src.info.codec, src.info.bits) == ("pcm", 24)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
@pytest.mark.parametrize("args, codec, bits", [(["-c:a", "alac", "-sample_fmt", "s32p"], "alac", 24),
                                                (["-c:a", "alac", "-sample_fmt", "s16p"], "alac", 16),
                                                (["-c:a", "aac", "-b:a", "96k"], "aac", None)])
def test_an_m4a_is_told_alac_or_aac(tmp_path, rng, args, codec, bits):
    sf.write(str(tmp_path / "a.wav"), _samples_24(rng, 44100) * 0.5, 44100, subtype="PCM_24")
    made = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(tmp_path / "a.wav"), *args,
                           str(tmp_path / "a.m4a")], capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"this ffmpeg cannot make it ({made.stderr.strip()[-200:]})")
    assert stream_facts(str(tmp_path / "a.m4a"))[1:] == (codec, bits)
    with AudioSource(str(tmp_path / "a.m4a")) as src:
        assert (src.info.format, src.info.codec, src.info.bits) == ("m4a", codec, bits)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
def test_companded_pcm_through_ffmpeg_is_lossy(tmp_path, rng):
    sf.write(str(tmp_path / "a.wav"), _samples_24(rng, 8000) * 0.5, 8000, subtype="PCM_16")
    made = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(tmp_path / "a.wav"), "-c:a", "pcm_mulaw",
                           str(tmp_path / "mu.mka")], capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"this ffmpeg cannot make it ({made.stderr.strip()[-200:]})")
    assert stream_facts(str(tmp_path / "mu.mka"))[1:] == ("ulaw", None)  # as libsndfile names it in a WAV


def test_stream_facts_without_ffprobe(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert stream_facts(str(tmp_path / "a.m4a")) == (None, None, None)


class _Pipe(io.BytesIO):
    def seekable(self):
        return False


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_24_bit_output_keeps_24_bit_samples(rng, fmt):
    x = _samples_24(rng)
    buf = io.BytesIO()
    with AudioSink(buf, 48000, 2, fmt, bits=24) as sink:
        sink.write(x[:1000])
        sink.write(x[1000:])
    buf.seek(0)
    assert sf.info(buf).subtype == "PCM_24"
    buf.seek(0)
    y, rate = sf.read(buf, dtype="float32")
    assert rate == 48000 and np.array_equal(x, y)


def test_24_bit_wav_to_a_pipe_has_its_sizes_up_front(rng):
    x = _samples_24(rng, 500, 1)
    pipe = _Pipe()
    with AudioSink(pipe, 44100, 1, "wav", num_samples=500, bits=24) as sink:
        sink.write(x)
    data = pipe.getvalue()
    assert int.from_bytes(data[40:44], "little") == 500 * 3 and int.from_bytes(data[34:36], "little") == 24
    y, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert np.array_equal(x[:, 0], y)


def test_other_sample_sizes_are_refused():
    with pytest.raises(Exception, match="16 or 24"):
        AudioSink(io.BytesIO(), 44100, 2, "wav", bits=20)


def test_restore_passes_a_24_bit_original_through_bit_for_bit(runner, tmp_path, rng):
    x = _samples_24(rng, 44100)
    sf.write(str(tmp_path / "hi.flac"), x * 0.5, 44100, subtype="PCM_24")
    src, _ = sf.read(str(tmp_path / "hi.flac"), dtype="float32")
    for out in ("hi.restored.wav", "hi.restored.flac"):
        r = runner.invoke(cli, ["restore", str(tmp_path / "hi.flac"), "-o", str(tmp_path / out)])
        assert r.exit_code == 0, r.output
        assert "FLAC, lossless" in r.stderr and "not restored (already lossless)" in r.stderr and "24-bit" in r.stderr
        assert sf.info(str(tmp_path / out)).subtype == "PCM_24"
        y, _ = sf.read(str(tmp_path / out), dtype="float32")
        assert np.array_equal(src, y)


def test_restore_names_the_codec_not_its_container(runner, tmp_path, rng):
    sf.write(str(tmp_path / "a.opus"), _samples_24(rng, 48000) * 0.3, 48000, format="OGG", subtype="OPUS")
    r = runner.invoke(cli, ["restore", "--model", "none", str(tmp_path / "a.opus")])
    assert r.exit_code == 0 and "a.opus -> " in r.stderr and ": Opus, " in r.stderr, r.output


@pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg")
def test_a_g722_wav_is_read_not_called_corrupt(tmp_path):
    """libsndfile refuses a G.722 WAV (a phone system's recording) and pydub asked ffmpeg for 4-bit PCM
    ("Unknown encoder 'pcm_s4le'"), so a sound file was said to be "corrupt or truncated WAV data" (session 60)."""
    t = np.arange(16000 * 2) / 16000
    sf.write(tmp_path / "src.wav", 0.4 * np.sin(2 * np.pi * 300 * t), 16000)
    subprocess.run(["ffmpeg", "-v", "error", "-i", tmp_path / "src.wav", "-c:a", "g722", tmp_path / "g722.wav"],
                   check=True)
    want = np.frombuffer(subprocess.run(["ffmpeg", "-v", "error", "-i", tmp_path / "g722.wav", "-f", "s16le", "-"],
                                        capture_output=True, check=True).stdout, "<i2") / 32768
    with AudioSource(str(tmp_path / "g722.wav")) as src:
        got = np.concatenate(list(src.blocks(1 << 14)))
        assert (src.info.sample_rate, src.info.codec, src.warnings) == (16000, "adpcm_g722", [])
    np.testing.assert_allclose(got[:, 0], want, atol=1e-6)
    assert len(want) == 32000
