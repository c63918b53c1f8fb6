"""The `muzip` command line: round trips, options, exit statuses and bad-input handling.

Most tests seed the CLI's model cache with the session `model` fixture, so the model is loaded once for
the whole file; `test_batch_one_bad_input` goes through the real loader (once per invocation).
"""

import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.container import MAGIC, ContainerReader, _FRAME_HEAD

from conftest import sine


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------





def invoke(runner, *args, input=None):
    result = runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=True)
    # Anything other than a clean exit (sys.exit / click's own exit) is an uncaught exception: a bug.
    if result.exc_info is not None and not isinstance(result.exc_info[1], SystemExit):
        import traceback
        raise AssertionError("uncaught exception in the CLI:\n"
                             + "".join(traceback.format_exception(*result.exc_info)))
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    return result


def err_lines(result):
    return [ln for ln in result.stderr.splitlines() if ln.strip()]


def assert_one_line_error(result, *needles):
    lines = [ln for ln in err_lines(result) if ln.startswith("muzip: ")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def listing(directory):
    return sorted(os.listdir(directory))


def no_part_files(directory):
    return not [n for n in os.listdir(directory) if n.endswith(".part")]


def peak_hz(x, rate):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spec) * rate / len(x)


# ---------------------------------------------------------------------------------------------
# help
# ---------------------------------------------------------------------------------------------

def test_help_for_every_command(runner):
    assert set(cli.list_commands(None)) >= {"compress", "decompress", "info", "test", "index", "restore", "eval"}
    for args in [["--help"], ["-h"]] + [[name, "--help"] for name in cli.list_commands(None)]:
        r = invoke(runner, *args)
        assert r.exit_code == 0, (args, r.output)
        assert "Usage:" in r.output, args
    r = invoke(runner, "--version")
    assert r.exit_code == 0 and "muzip" in r.output


def test_a_mistyped_command_gets_a_suggestion(runner):
    r = invoke(runner, "compres", "x.wav")
    assert r.exit_code == 2 and "No such command 'compres'. Did you mean 'compress'?" in r.stderr
    r = invoke(runner, "xyzzy")
    assert r.exit_code == 2 and "No such command 'xyzzy'." in r.stderr and "Did you mean" not in r.stderr


def test_no_arguments_is_a_usage_error(runner):
    for name in ("compress", "decompress", "info", "test"):
        r = invoke(runner, name)
        assert r.exit_code == 2, name
        assert "Usage:" in r.stderr


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------

def test_round_trip_stereo_44k(runner, fast_model, tmp_path):
    src_dir, out_dir = tmp_path / "a", tmp_path / "b"
    src_dir.mkdir()
    out_dir.mkdir()
    wav = src_dir / "x.wav"
    audio = sine(440, 2, 44100, channels=2)
    sf.write(wav, audio, 44100, subtype="PCM_16")
    before = sha(wav)

    r = invoke(runner, "compress", wav)
    assert r.exit_code == 0, r.stderr
    mz = src_dir / "x.mz"
    assert mz.is_file() and mz.read_bytes()[:4] == MAGIC
    assert sha(wav) == before                      # the input is never touched or deleted
    assert "x.mz" in r.stderr and "kbps" in r.stderr  # the summary line
    assert listing(src_dir) == ["x.mz", "x.wav"]

    # decompressing beside the original would overwrite it: refused, the original survives
    r = invoke(runner, "decompress", mz)
    assert r.exit_code == 1
    assert_one_line_error(r, "exists")
    assert sha(wav) == before

    os.replace(mz, out_dir / "x.mz")
    r = invoke(runner, "decompress", out_dir / "x.mz")
    assert r.exit_code == 0, r.stderr
    assert listing(out_dir) == ["x.mz", "x.wav"]
    dec, rate = sf.read(out_dir / "x.wav", dtype="float32", always_2d=True)
    assert rate == 44100
    assert dec.shape == audio.shape                # exact length, channels restored
    assert np.isfinite(dec).all()
    assert abs(peak_hz(dec[:, 0], rate) - 440) < 5
    assert abs(peak_hz(dec[:, 1], rate) - 440) < 5
    assert 0.1 < np.sqrt(np.mean(dec ** 2)) < 0.4   # sine of amplitude 0.3 has rms 0.21



def test_real_clip_ogg(runner, fast_model, tmp_path, clip):
    """The real 12 s OGG/Vorbis test clip: read through libsndfile, length and format restored."""
    import shutil
    from conftest import CLIP
    audio, rate = clip
    src = tmp_path / "knolls.ogg"
    shutil.copy(CLIP, src)
    r = invoke(runner, "compress", "-b", "48", src)
    assert r.exit_code == 0, r.stderr
    assert "knolls.mz" in r.stderr and "smaller" in r.stderr
    assert os.path.getsize(tmp_path / "knolls.mz") * 8 / (len(audio) / rate) / 1000 < 48 * 1.15
    r = invoke(runner, "decompress", "-q", tmp_path / "knolls.mz")
    assert r.exit_code == 0, r.stderr
    dec, sr = sf.read(tmp_path / "knolls.wav", dtype="float32", always_2d=True)
    assert sr == rate and dec.shape == audio.shape
    assert np.isfinite(dec).all()
    # loosely the same loudness as the original
    assert 0.5 < np.sqrt(np.mean(dec ** 2)) / np.sqrt(np.mean(audio ** 2)) < 2.0

@pytest.mark.parametrize("rate,channels", [(8000, 1), (96000, 2)])
def test_round_trip_restores_rate_and_channels(runner, fast_model, tmp_path, rate, channels):
    wav = tmp_path / "in.wav"
    audio = sine(330, 1.5, rate, channels=channels)[:-7]  # a length that is no whole number of anything
    sf.write(wav, audio, rate, subtype="PCM_16")
    r = invoke(runner, "compress", "-q", wav)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""                          # -q: no summary
    r = invoke(runner, "decompress", "-q", "-o", tmp_path / "out.wav", tmp_path / "in.mz")
    assert r.exit_code == 0, r.stderr
    i = sf.info(tmp_path / "out.wav")
    assert (i.samplerate, i.channels, i.frames) == (rate, channels, len(audio))
    dec, _ = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert abs(peak_hz(dec[:, 0], rate) - 330) < 5


def test_flac_output_keeps_tags(runner, fast_model, tmp_path):
    src = tmp_path / "tagged.flac"
    with sf.SoundFile(src, "w", samplerate=44100, channels=2, format="FLAC", subtype="PCM_16") as f:
        f.title = "Test Title"
        f.artist = "Some Artist"
        f.write(sine(440, 1.5, 44100, channels=2))
    r = invoke(runner, "compress", "-q", src)
    assert r.exit_code == 0, r.stderr
    out = tmp_path / "out.flac"
    r = invoke(runner, "decompress", "-q", "--format", "flac", "-o", out, tmp_path / "tagged.mz")
    assert r.exit_code == 0, r.stderr
    with sf.SoundFile(out) as f:
        assert f.format == "FLAC"
        assert (f.samplerate, f.channels, f.frames) == (44100, 2, int(1.5 * 44100))
        assert f.title == "Test Title"
        assert f.artist == "Some Artist"
    # default name: FILE.flac beside the .mz (tagged.flac exists -> -f needed, and the .mz is the input)
    r = invoke(runner, "decompress", "-q", "--format", "flac", tmp_path / "tagged.mz")
    assert r.exit_code == 1
    assert_one_line_error(r, "exists")


def test_info_and_test(runner, fast_model, tmp_path):
    src = tmp_path / "song.flac"
    with sf.SoundFile(src, "w", samplerate=48000, channels=2, format="FLAC", subtype="PCM_16") as f:
        f.title = "Knolls"
        f.artist = "Nobody"
        f.write(sine(440, 2.5, 48000, channels=2))
    r = invoke(runner, "compress", "-q", "-b", "32", src)
    assert r.exit_code == 0, r.stderr
    mz = tmp_path / "song.mz"

    r = invoke(runner, "info", mz)
    assert r.exit_code == 0, r.stderr
    text = r.output
    fields = dict(ln.split(":", 1) for ln in text.splitlines())
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["file"] == str(mz)
    assert fields["duration"].startswith("0:02.500") and "120000 samples" in fields["duration"]
    assert fields["sample rate"].startswith("48000 Hz")
    assert fields["channels"].startswith("2")
    assert fields["model"].startswith(fast_model.name)
    assert "kbps actual" in fields["bitrate"] and "32 kbps requested" in fields["bitrate"]
    actual = float(fields["bitrate"].split()[0])
    assert actual == pytest.approx(os.path.getsize(mz) * 8 / 2.5 / 1000, abs=0.06)
    n_frames, x, frame_s, unit = fields["frames"].split()
    assert (x, unit) == ("x", "s")
    assert int(n_frames) == math.ceil(2.5 / float(frame_s))
    assert fields["size"] == f"{os.path.getsize(mz):,} bytes"
    assert fields["tag title"] == "Knolls"
    assert fields["tag artist"] == "Nobody"
    assert "status" not in fields

    r = invoke(runner, "test", mz)
    assert r.exit_code == 0, r.stderr
    assert "ok" in r.stderr
    r = invoke(runner, "test", "-q", mz)
    assert r.exit_code == 0 and r.stderr == ""


def test_start_and_duration(runner, fast_model, tmp_path):
    rate = 22050
    audio = sine(440, 3, rate, channels=1)
    sf.write(tmp_path / "s.wav", audio, rate)
    assert invoke(runner, "compress", "-q", tmp_path / "s.wav").exit_code == 0
    mz = tmp_path / "s.mz"
    cases = [
        (["--start", "0.5", "--duration", "1.25"], int(round(1.25 * rate))),
        (["--start", "2"], len(audio) - 2 * rate),                     # to the end
        (["--duration", "0.3"], int(round(0.3 * rate))),
        (["--start", "2.5", "--duration", "5"], len(audio) - int(2.5 * rate)),  # clipped at the end
    ]
    for k, (opts, expected) in enumerate(cases):
        out = tmp_path / f"part{k}.wav"
        r = invoke(runner, "decompress", "-q", *opts, "-o", out, mz)
        assert r.exit_code == 0, (opts, r.stderr)
        i = sf.info(out)
        assert (i.frames, i.samplerate, i.channels) == (expected, rate, 1), opts
    # the excerpt is the same audio as the full decode at that place
    r = invoke(runner, "decompress", "-q", "-o", tmp_path / "full.wav", mz)
    assert r.exit_code == 0, r.stderr
    full, _ = sf.read(tmp_path / "full.wav", dtype="float32")
    part, _ = sf.read(tmp_path / "part0.wav", dtype="float32")
    seg = full[int(0.5 * rate):int(0.5 * rate) + len(part)]
    assert np.max(np.abs(seg - part)) < 0.05


def test_output_with_two_inputs_is_usage_error(runner, fast_model, tmp_path):
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, sine(440, 1, 16000), 16000)
    for cmd in ("compress", "decompress"):
        for opt in (["-o", tmp_path / "out"], ["-c"]):
            r = invoke(runner, cmd, *opt, tmp_path / "a.wav", tmp_path / "b.wav")
            assert r.exit_code == 2, (cmd, opt)
            assert "several inputs need a folder" in r.stderr or "only one input" in r.stderr
    r = invoke(runner, "compress", "-o", tmp_path / "out", tmp_path / "a.wav", tmp_path / "b.wav")
    assert f"there is no folder {tmp_path / 'out'} (-o {tmp_path / 'out'}/ or --output-dir" in r.stderr  # a review
    assert listing(tmp_path) == ["a.wav", "b.wav"]


def test_stdout_and_stdin(runner, fast_model, tmp_path):
    from muzip.codec import decompress_bytes
    rate = 32000
    audio = sine(440, 1.5, rate, channels=2)
    wav = tmp_path / "w.wav"
    sf.write(wav, audio, rate)

    # -c: the .mz goes to stdout, no file is written
    r = invoke(runner, "compress", "-c", "-q", wav)
    assert r.exit_code == 0, r.stderr
    data = r.stdout_bytes
    assert data[:4] == MAGIC
    assert listing(tmp_path) == ["w.wav"]
    dec, sr = decompress_bytes(data, model=fast_model)
    assert sr == rate and dec.shape == audio.shape

    # '-' reads a WAV from stdin; -o names the output
    wav_bytes = wav.read_bytes()
    r = invoke(runner, "compress", "-q", "-", "-o", tmp_path / "piped.mz", input=wav_bytes)
    assert r.exit_code == 0, r.stderr
    assert r.stdout_bytes == b""
    dec2, sr2 = decompress_bytes((tmp_path / "piped.mz").read_bytes(), model=fast_model)
    assert sr2 == rate and dec2.shape == audio.shape

    # '-' without -o: stdin to stdout
    r = invoke(runner, "compress", "-q", "-", input=wav_bytes)
    assert r.exit_code == 0, r.stderr
    assert r.stdout_bytes[:4] == MAGIC

    # decompress -c: a WAV stream on stdout, and '-' reads a .mz from stdin
    r = invoke(runner, "decompress", "-q", "-c", "-", input=data)
    assert r.exit_code == 0, r.stderr
    pcm, sr3 = sf.read(io.BytesIO(r.stdout_bytes), dtype="float32", always_2d=True)
    assert sr3 == rate and pcm.shape == audio.shape
    assert listing(tmp_path) == ["piped.mz", "w.wav"]



def test_decompress_stdin_defaults_to_stdout(runner, fast_model, tmp_path, monkeypatch):
    from muzip.codec import compress_array
    data = compress_array(sine(440, 1, 16000), 16000, model=fast_model)
    monkeypatch.chdir(tmp_path)
    r = invoke(runner, "decompress", "-q", "-", input=data)
    assert r.exit_code == 0, r.stderr
    assert listing(tmp_path) == []
    assert sf.info(io.BytesIO(r.stdout_bytes)).frames == 16000

# ---------------------------------------------------------------------------------------------
# batches and bad inputs
# ---------------------------------------------------------------------------------------------

def test_batch_one_bad_input(runner, tmp_path, monkeypatch):
    """Real model loading (MUZIP_MODELS from the environment), once for the whole batch."""
    import muzip.codec as ms
    calls = []
    real = ms.load_model

    def counting(*a, **k):
        calls.append(a)
        return real(*a, **k)
    monkeypatch.setattr(ms, "load_model", counting)
    from muzip.cli import codec_jobs
    monkeypatch.setattr(codec_jobs, "_MODELS", {})  # models cached by earlier tests (any order) would hide the load

    sf.write(tmp_path / "one.wav", sine(440, 1, 44100, 2), 44100)
    (tmp_path / "two.wav").write_bytes(b"this is not audio at all\n" * 40)
    sf.write(tmp_path / "three.wav", sine(660, 1, 16000, 1), 16000)
    r = invoke(runner, "compress", "-q", "-j", "1", *(tmp_path / n for n in ("one.wav", "two.wav", "three.wav")))
    assert r.exit_code == 1
    assert len(err_lines(r)) == 1, r.stderr
    assert_one_line_error(r, "two.wav")
    assert (tmp_path / "one.mz").is_file() and (tmp_path / "three.mz").is_file()
    assert not (tmp_path / "two.mz").exists()
    assert no_part_files(tmp_path)
    assert len(calls) == 1                         # the model is loaded once per invocation

    # the outputs are good
    r = invoke(runner, "test", "-q", tmp_path / "one.mz", tmp_path / "three.mz")
    assert r.exit_code == 0, r.stderr
    r = invoke(runner, "test", tmp_path / "one.mz", tmp_path / "three.mz")
    assert r.stderr.splitlines()[-1].startswith("batch: 2 files; ") and " in, " not in r.stderr  # it codes nothing


def _six_channel(path):
    sf.write(path, np.tile(sine(440, 1, 44100), (1, 6)) * 0.5, 44100)


def _make_bad(kind, tmp_path):
    """-> (path, expected substrings of the error)."""
    p = tmp_path / "bad.wav"
    if kind == "empty":
        p.write_bytes(b"")
        return p, ["bad.wav", "empty"]
    if kind == "not-audio":
        p.write_bytes(bytes(range(256)) * 20)
        return p, ["bad.wav"]
    if kind == "text-with-audio-extension":
        p = tmp_path / "bad.mp3"
        p.write_text("hello\n" * 100)
        return p, ["bad.mp3"]
    if kind == "missing":
        return tmp_path / "nothere.wav", ["nothere.wav", "no such file"]
    if kind == "rate-4000":
        sf.write(p, sine(440, 1, 4000), 4000)
        return p, ["bad.wav", "4000"]
    if kind == "six-channels":
        _six_channel(p)
        return p, ["bad.wav", "--downmix"]
    if kind == "directory":
        p = tmp_path / "adir"
        p.mkdir()
        return p, ["adir"]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["empty", "not-audio", "text-with-audio-extension", "missing", "rate-4000",
                                  "six-channels", "directory"])
def test_compress_bad_input(runner, fast_model, tmp_path, kind):
    path, needles = _make_bad(kind, tmp_path)
    before_list = listing(tmp_path)
    before = sha(path) if path.is_file() else None
    r = invoke(runner, "compress", path)
    assert r.exit_code == 1, r.output
    assert len(err_lines(r)) == 1, r.stderr
    assert_one_line_error(r, *needles)
    assert listing(tmp_path) == before_list        # no output, no .part left behind
    if before is not None:
        assert sha(path) == before


def test_zero_length_wav(runner, fast_model, tmp_path):
    sf.write(tmp_path / "z.wav", np.zeros((0, 2), np.float32), 44100)
    r = invoke(runner, "compress", tmp_path / "z.wav")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "z.mz").is_file()
    r = invoke(runner, "info", tmp_path / "z.mz")
    assert r.exit_code == 0, r.stderr
    assert "0:00.000" in r.output
    r = invoke(runner, "test", "-q", tmp_path / "z.mz")
    assert r.exit_code == 0, r.stderr
    r = invoke(runner, "decompress", "-o", tmp_path / "z2.wav", tmp_path / "z.mz")
    assert r.exit_code == 0, r.stderr
    i = sf.info(tmp_path / "z2.wav")
    assert (i.frames, i.samplerate, i.channels) == (0, 44100, 2)


def test_silence(runner, fast_model, tmp_path):
    sf.write(tmp_path / "s.wav", np.zeros((int(1.5 * 44100), 2), np.float32), 44100)
    assert invoke(runner, "compress", "-q", tmp_path / "s.wav").exit_code == 0
    r = invoke(runner, "decompress", "-q", "-o", tmp_path / "d.wav", tmp_path / "s.mz")
    assert r.exit_code == 0, r.stderr
    dec, rate = sf.read(tmp_path / "d.wav", dtype="float32", always_2d=True)
    assert dec.shape == (int(1.5 * 44100), 2) and rate == 44100
    assert np.max(np.abs(dec)) == 0.0  # digital silence stays digital silence (bias-free, noise-gated decoder)


def test_clipping_square_wave(runner, fast_model, tmp_path):
    rate = 44100
    t = np.arange(2 * rate) / rate
    square = np.where(np.sin(2 * np.pi * 220 * t) >= 0, 1.0, -1.0).astype(np.float32)
    sf.write(tmp_path / "sq.wav", np.stack([square, -square], axis=1), rate, subtype="FLOAT")
    assert invoke(runner, "compress", "-q", tmp_path / "sq.wav").exit_code == 0
    r = invoke(runner, "decompress", "-q", "-o", tmp_path / "d.wav", tmp_path / "sq.mz")
    assert r.exit_code == 0, r.stderr
    dec, sr = sf.read(tmp_path / "d.wav", dtype="float32", always_2d=True)
    assert dec.shape == (2 * rate, 2) and sr == rate
    assert np.isfinite(dec).all()
    assert dec.min() >= -1.0 and dec.max() <= 1.0
    assert np.sqrt(np.mean(dec ** 2)) > 0.3        # still loud: not collapsed to silence


def test_six_channels_with_downmix(runner, fast_model, tmp_path):
    _six_channel(tmp_path / "surround.wav")
    r = invoke(runner, "compress", "-q", "--downmix", tmp_path / "surround.wav")
    assert r.exit_code == 0, r.stderr
    r = invoke(runner, "decompress", "-q", tmp_path / "surround.mz")
    assert r.exit_code == 1 and "exists" in r.stderr  # surround.wav is the input
    r = invoke(runner, "decompress", "-q", "-o", tmp_path / "stereo.wav", tmp_path / "surround.mz")
    assert r.exit_code == 0, r.stderr
    i = sf.info(tmp_path / "stereo.wav")
    assert (i.channels, i.samplerate, i.frames) == (2, 44100, 44100)


@pytest.fixture
def four_second_mz(fast_model, tmp_path):
    from muzip.codec import compress_array
    audio = sine(440, 4, 44100, channels=2) + sine(1000, 4, 44100, channels=2, amp=0.1)
    path = tmp_path / "four.mz"
    path.write_bytes(compress_array(audio, 44100, 48, model=fast_model))
    return path, len(audio)


def test_corrupted_frames_are_concealed(runner, fast_model, tmp_path, four_second_mz, rng):
    mz, n = four_second_mz
    with open(mz, "rb") as f:
        reader = ContainerReader(f)
        assert reader.load_index()
        offsets, sizes = reader.frame_offsets, reader.frame_sizes
    assert len(offsets) >= 4
    data = bytearray(mz.read_bytes())
    hit = sorted(rng.choice(len(offsets), size=3, replace=False).tolist())
    for i in hit:  # one byte inside the payload of each chosen frame
        pos = int(rng.integers(offsets[i] + _FRAME_HEAD.size, offsets[i] + sizes[i] - 4))
        data[pos] ^= 0xFF
    bad = tmp_path / "bad.mz"
    bad.write_bytes(bytes(data))
    before = sha(bad)

    r = invoke(runner, "decompress", "-o", tmp_path / "out.wav", bad)
    assert r.exit_code == 3, r.stderr  # done, with warnings
    warnings = [ln for ln in err_lines(r) if ln.startswith("muzip: warning:")]
    assert len(warnings) == len(hit), r.stderr
    assert all("concealed" in w and "bad.mz" in w for w in warnings)
    for i in hit:
        assert any(f"frame {i}" in w for w in warnings), (i, r.stderr)
    dec, rate = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert dec.shape == (n, 2) and rate == 44100
    assert np.isfinite(dec).all()

    r = invoke(runner, "decompress", "--strict", "-o", tmp_path / "strict.wav", bad)
    assert r.exit_code == 1
    assert_one_line_error(r, "bad.mz", f"frame {hit[0]}")
    assert not (tmp_path / "strict.wav").exists()
    assert no_part_files(tmp_path)

    r = invoke(runner, "test", bad)
    assert r.exit_code == 1
    assert_one_line_error(r, "bad.mz", f"{len(hit)} problem")
    r = invoke(runner, "test", mz, bad, "-q")      # a good and a bad file: one failure line
    assert r.exit_code == 1 and len(err_lines(r)) == 1
    assert sha(bad) == before


def test_truncated_file(runner, fast_model, tmp_path, four_second_mz):
    mz, n = four_second_mz
    cut = tmp_path / "cut.mz"
    cut.write_bytes(mz.read_bytes()[: int(os.path.getsize(mz) * 0.6)])

    r = invoke(runner, "decompress", "-o", tmp_path / "out.wav", cut)
    assert r.exit_code == 3, r.stderr  # done, with warnings
    assert "truncated" in r.stderr
    i = sf.info(tmp_path / "out.wav")
    assert 0 < i.frames < n
    assert (i.samplerate, i.channels) == (44100, 2)
    dec, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert np.isfinite(dec).all() and np.sqrt(np.mean(dec ** 2)) > 0.05

    r = invoke(runner, "test", cut)
    assert r.exit_code == 1
    assert_one_line_error(r, "cut.mz", "truncated")

    r = invoke(runner, "info", cut)
    assert r.exit_code == 3, r.stderr  # what is there is described, with a warning (it said 0)
    assert "status:" in r.stdout and "truncated" in r.stdout
    assert r.stderr == f"muzip: warning: {cut}: truncated or index damaged (run 'muzip test')\n"
    r = invoke(runner, "info", "--json", cut)
    i = json.loads(r.stdout)
    coded_s = (i["n_frames"] - 0.5) * i["frame_samples"] / i["model_rate"]  # the last frame may be short
    assert i["truncated"] and i["actual_bitrate_bps"] > i["file_size"] * 8 / i["duration_s"]  # not over 4 s
    assert i["actual_bitrate_bps"] <= i["file_size"] * 8 / coded_s


def test_header_damage_is_an_error(runner, fast_model, tmp_path, four_second_mz):
    mz, _ = four_second_mz
    data = bytearray(mz.read_bytes())
    data[12] ^= 0xFF                                # inside the header body: CRC mismatch
    bad = tmp_path / "hdr.mz"
    bad.write_bytes(bytes(data))
    for cmd in (["decompress", "-o", tmp_path / "o.wav"], ["info"], ["test"]):
        r = invoke(runner, *cmd, bad)
        assert r.exit_code == 1, cmd
        assert_one_line_error(r, "hdr.mz", "header")
    assert not (tmp_path / "o.wav").exists() and no_part_files(tmp_path)


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEfmt hello", b"plain text\n" * 50])
def test_not_an_mz_file(runner, fast_model, tmp_path, content):
    fake = tmp_path / "fake.mz"
    fake.write_bytes(content)
    for cmd in (["decompress"], ["info"], ["test"]):
        r = invoke(runner, *cmd, fake)
        assert r.exit_code == 1, (cmd, r.output)
        assert len(err_lines(r)) == 1, r.stderr
        assert_one_line_error(r, "fake.mz", "not a muzip file")
    assert listing(tmp_path) == ["fake.mz"]
    for cmd in ("decompress", "info", "test"):
        r = invoke(runner, cmd, tmp_path / "missing.mz")
        assert r.exit_code == 1
        assert_one_line_error(r, "missing.mz", "no such file")
    assert listing(tmp_path) == ["fake.mz"]


def test_existing_output(runner, fast_model, tmp_path):
    sf.write(tmp_path / "x.wav", sine(440, 1, 44100, 2), 44100)
    (tmp_path / "x.mz").write_bytes(b"precious")
    r = invoke(runner, "compress", tmp_path / "x.wav")
    assert r.exit_code == 1
    assert_one_line_error(r, "x.mz", "exists")
    assert (tmp_path / "x.mz").read_bytes() == b"precious"
    assert listing(tmp_path) == ["x.mz", "x.wav"]

    r = invoke(runner, "compress", "-f", "-q", tmp_path / "x.wav")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "x.mz").read_bytes()[:4] == MAGIC
    assert listing(tmp_path) == ["x.mz", "x.wav"]

    # -o onto the input itself is refused even with -f: an audio file's name is refused as compress's output
    # before anything is read (session 54), and a name without an extension as the input file
    before = sha(tmp_path / "x.wav")
    r = invoke(runner, "compress", "-f", "-o", tmp_path / "x.wav", tmp_path / "x.wav")
    assert r.exit_code == 2 and "compress writes a .mz file, not .wav" in r.stderr
    assert sha(tmp_path / "x.wav") == before
    shutil.copy(tmp_path / "x.wav", tmp_path / "take")
    before = sha(tmp_path / "take")
    r = invoke(runner, "compress", "-f", "-o", tmp_path / "take", tmp_path / "take")
    assert r.exit_code == 1
    assert_one_line_error(r, "input")
    assert sha(tmp_path / "take") == before
    (tmp_path / "take").unlink()

    # decompress: same rules
    (tmp_path / "y.wav").write_bytes(b"keep me")
    r = invoke(runner, "decompress", "-o", tmp_path / "y.wav", tmp_path / "x.mz")
    assert r.exit_code == 1 and "exists" in r.stderr
    assert (tmp_path / "y.wav").read_bytes() == b"keep me"
    r = invoke(runner, "decompress", "-q", "-f", "-o", tmp_path / "y.wav", tmp_path / "x.mz")
    assert r.exit_code == 0, r.stderr
    assert sf.info(tmp_path / "y.wav").frames == 44100


@pytest.mark.parametrize("bitrate", ["200", "5", "0", "-3", "abc"])
def test_bitrate_out_of_range(runner, fast_model, tmp_path, bitrate):
    sf.write(tmp_path / "x.wav", sine(440, 1, 16000), 16000)
    r = invoke(runner, "compress", "-b", bitrate, tmp_path / "x.wav")
    assert r.exit_code == 2
    assert "bitrate" in r.stderr.lower() or "-b" in r.stderr
    assert listing(tmp_path) == ["x.wav"]


def test_bitrate_is_honoured(runner, fast_model, tmp_path):
    sf.write(tmp_path / "x.wav", sine(440, 3, 44100, 2) + sine(3000, 3, 44100, 2, amp=0.1), 44100)
    sizes = {}
    for b in ("12", "64"):
        out = tmp_path / f"x{b}.mz"
        r = invoke(runner, "compress", "-q", "-b", b, "-o", out, tmp_path / "x.wav")
        assert r.exit_code == 0, r.stderr
        sizes[b] = os.path.getsize(out)
    assert sizes["12"] < sizes["64"]
    assert sizes["64"] * 8 / 3 / 1000 <= 64 * 1.15


# ---------------------------------------------------------------------------------------------
# interruption, import hygiene
# ---------------------------------------------------------------------------------------------

def test_keyboard_interrupt_leaves_no_output(runner, fast_model, tmp_path, monkeypatch):
    import muzip.codec

    def interrupted(blocks, sample_rate, channels, num_samples, out, *a, **k):
        next(iter(blocks))
        out.write(b"\x89MZ\npartial data" * 100)
        raise KeyboardInterrupt
    monkeypatch.setattr(muzip.codec, "compress_blocks", interrupted)
    sf.write(tmp_path / "x.wav", sine(440, 1, 44100, 2), 44100)
    sf.write(tmp_path / "y.wav", sine(440, 1, 44100, 2), 44100)
    before = sha(tmp_path / "x.wav")
    r = invoke(runner, "compress", tmp_path / "x.wav", tmp_path / "y.wav")
    assert r.exit_code == 130
    assert "interrupted" in r.stderr
    assert listing(tmp_path) == ["x.wav", "y.wav"]  # no x.mz, no .part; the batch stops
    assert sha(tmp_path / "x.wav") == before


def test_keyboard_interrupt_while_decoding(runner, fast_model, tmp_path, four_second_mz, monkeypatch):
    import muzip.codec
    mz, _ = four_second_mz

    def interrupted(reader, model, make_sink, *a, **k):
        sink = make_sink(reader.header.sample_rate, reader.header.channels, 1000)
        sink.write(np.zeros((500, reader.header.channels), np.float32))
        raise KeyboardInterrupt
    monkeypatch.setattr(muzip.codec, "decompress_to", interrupted)
    r = invoke(runner, "decompress", mz)
    assert r.exit_code == 130
    assert listing(tmp_path) == ["four.mz"]


_NO_TF_SCRIPT = r"""
import json, sys
from click.testing import CliRunner
from muzip.cli import cli
runner = CliRunner()
results = {}
for args in (["--help"], ["info", sys.argv[1]], ["test", sys.argv[1]], ["info", sys.argv[2]]):
    r = runner.invoke(cli, args)
    crash = None if r.exception is None or isinstance(r.exception, SystemExit) else repr(r.exception)
    results.setdefault(args[0], []).append([r.exit_code, r.output[:300], r.stderr[:300], crash])
results["tensorflow"] = "tensorflow" in sys.modules
results["keras"] = "keras" in sys.modules
print(json.dumps(results))
"""


def test_info_test_and_help_do_not_import_tensorflow(fast_model, tmp_path):
    from muzip.codec import compress_array
    mz = tmp_path / "t.mz"
    mz.write_bytes(compress_array(sine(440, 1, 16000), 16000, model=fast_model))
    (tmp_path / "junk.mz").write_bytes(b"junk")
    proc = subprocess.run([sys.executable, "-c", _NO_TF_SCRIPT, str(mz), str(tmp_path / "junk.mz")],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["--help"][0][0] == 0 and "Usage:" in res["--help"][0][1]
    assert res["info"][0][0] == 0 and "sample rate" in res["info"][0][1]
    assert res["info"][1][0] == 1 and "not a muzip file" in res["info"][1][2]
    assert res["test"][0][0] == 0, res["test"]
    assert res["tensorflow"] is False
    assert res["keras"] is False


def test_missing_model_is_a_clear_error(runner, model, tmp_path, monkeypatch):
    from muzip.codec import compress_array
    mz = tmp_path / "x.mz"
    mz.write_bytes(compress_array(sine(440, 1, 44100), 44100, 32, model=model))
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("MUZIP_MODELS", str(empty))
    for command in ("decompress", "test"):
        r = invoke(runner, command, "-q", mz)
        assert r.exit_code == 1
        assert_one_line_error(r, "x.mz", "muzip-v1", "not installed")
    assert listing(tmp_path) == ["no-models", "x.mz"]


def test_output_that_is_the_input_is_refused_without_force_too(runner, fast_model, tmp_path):
    from muzip.codec import compress_array
    mz = tmp_path / "x.mz"
    mz.write_bytes(compress_array(sine(440, 1, 44100), 44100, 32, model=fast_model))
    before = sha(mz)
    r = invoke(runner, "compress", "-q", mz)  # the output name x.mz is the input itself: said as what it is
    assert r.exit_code == 1
    assert_one_line_error(r, "x.mz", "a muzip .mz file, not audio")
    assert sha(mz) == before


def test_reader_closing_the_pipe_is_quiet(model, tmp_path):
    from muzip.codec import compress_array
    mz = tmp_path / "x.mz"
    mz.write_bytes(compress_array(sine(440, 3, 44100, channels=2), 44100, 32, model=model))
    proc = subprocess.run(f'"{sys.executable}" -m muzip decompress -q -c "{mz}" | head -c 100 > /dev/null; '
                          'echo "${PIPESTATUS[0]}"', shell=True, executable="/bin/bash", capture_output=True, text=True)
    assert proc.stdout.strip() == "141"
    assert "Traceback" not in proc.stderr and "muzip:" not in proc.stderr


def test_a_command_imports_only_its_own_module():
    """Start-up: `muzip compress` does not build the library, restore or eval commands (lazy group)."""
    code = ("import sys\nfrom muzip.cli import cli\ntry:\n    cli(['compress', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('muzip.cli.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().splitlines()[-1].split())
    assert "muzip.cli.codec_cmds" in loaded
    assert not loaded & {"muzip.cli.library_cmds", "muzip.cli.classify_cmds", "muzip.cli.restore_cmd",
                         "muzip.cli.eval_cmd", "muzip.cli.similar_cmd", "muzip.cli.dupes_cmd", "muzip.cli.map_cmd"}


def test_decompress_of_a_non_mz_says_so_before_looking_at_the_output(runner, tmp_path):
    """`decompress song.flac` with a song.wav there said "song.wav: exists" (a first-use review)."""
    (tmp_path / "song.flac").write_bytes(b"fLaC" + b"\0" * 100)
    (tmp_path / "song.wav").write_bytes(b"precious")
    r = invoke(runner, "decompress", tmp_path / "song.flac")
    assert r.exit_code == 1 and r.stderr == f"muzip: {tmp_path / 'song.flac'}: not a muzip file (bad magic)\n"
    assert (tmp_path / "song.wav").read_bytes() == b"precious"

