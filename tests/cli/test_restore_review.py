"""What the restore review of session 54 left, fixed in session 55: output names that contradict --format,
--seed with --deterministic, and the exit statuses `models --help` lists."""

import shutil
from pathlib import Path

import pytest

from muzip.cli import cli

CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"


@pytest.fixture
def coded(runner, tmp_path):
    mz = tmp_path / "a.mz"
    assert runner.invoke(cli, ["compress", "-q", str(CLIP), "-o", str(mz)]).exit_code == 0
    return mz


@pytest.mark.parametrize("args, said", [
    (["-o", "x.wav", "--format", "flac"], "-o x.wav names a WAV file but --format is flac"),
    (["-o", "x.flac", "--format", "wav"], "-o x.flac names a FLAC file but --format is wav"),
    (["-o", "x.mz", "--format", "wav"], "-o x.mz names a muzip .mz file"),
    (["-o", "x.m4a"], "-o x.m4a names an M4A file; this command writes WAV, FLAC, OGG, OPUS or MP3"),
])
def test_decompress_refuses_a_name_of_another_format(runner, tmp_path, coded, monkeypatch, args, said):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["decompress", str(coded), *args])
    assert r.exit_code == 2 and said in r.stderr, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mz"]  # nothing written


@pytest.mark.parametrize("args, said", [
    (["-o", "x.wav", "--format", "flac"], "-o x.wav names a WAV file but --format is flac"),
    (["-o", "x.mp3"], "-o x.mp3: this command writes WAV or FLAC"),
    (["-o", "x.aiff"], "-o x.aiff names an AIFF file; this command writes WAV or FLAC"),
    (["--seed", "3", "--deterministic"], "--seed and --deterministic contradict each other"),
])
def test_restore_refuses_what_contradicts(runner, tmp_path, monkeypatch, args, said):
    shutil.copy(CLIP, tmp_path / "a.ogg")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["restore", "--model", "none", "a.ogg", *args])
    assert r.exit_code == 2 and said in r.stderr, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ogg"]


def test_a_matching_name_and_format_still_write(runner, tmp_path, coded, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["decompress", "-q", str(coded), "-o", "x.flac", "--format", "FLAC"]).exit_code == 0
    assert (tmp_path / "x.flac").read_bytes()[:4] == b"fLaC"
    r = runner.invoke(cli, ["decompress", "-q", str(coded), "-o", "raw.pcm", "--format", "wav"])
    assert r.exit_code == 0 and (tmp_path / "raw.pcm").read_bytes()[:4] == b"RIFF"  # an unknown extension: as asked
    r = runner.invoke(cli, ["decompress", "-q", str(coded), "-o", "voice.ogg", "--format", "opus"])
    assert r.exit_code == 0 and b"OpusHead" in (tmp_path / "voice.ogg").read_bytes()[:200]  # .ogg is Ogg: Opus too
    r = runner.invoke(cli, ["decompress", "-q", str(coded), "-o", "out."])
    assert r.exit_code == 2 and "cannot tell the format" in r.stderr


def test_restore_keeps_the_note_of_a_decoded_file_it_passes_through(runner, tmp_path, coded):
    """A WAV muzip decoded, copied by `restore` ("not restored"), is still the .mz it came from to the library."""
    from muzip.audio import AudioSource
    from muzip.audio.tags import read_decoded_mark
    assert runner.invoke(cli, ["decompress", "-q", str(coded), "-o", str(tmp_path / "d.wav")]).exit_code == 0
    r = runner.invoke(cli, ["restore", "--model", "none", str(tmp_path / "d.wav"), "-o", str(tmp_path / "r.flac")])
    assert r.exit_code == 0, r.output
    with AudioSource(str(tmp_path / "r.flac")) as src:
        assert read_decoded_mark(src.info.software)[0] == "muzip-v2.7"


def test_models_help_lists_only_the_statuses_it_can_have(runner):
    text = runner.invoke(cli, ["models", "--help"]).output
    assert "Exit status" in text and "every model's files verify" in text
    assert "with warnings" not in text and "an input failed" not in text


def test_compress_of_a_file_at_its_own_bitrate_is_about_its_size(runner, tmp_path):
    """It said "1.0x smaller than the input" of a 64-kbps MP3 coded at 64 kbps."""
    import lameenc
    import numpy as np
    import soundfile as sf
    x, rate = sf.read(CLIP, dtype="float32", always_2d=True)
    enc = lameenc.Encoder()
    enc.set_bit_rate(64)
    enc.set_in_sample_rate(rate)
    enc.set_channels(2)
    (tmp_path / "a.mp3").write_bytes(enc.encode((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()) + enc.flush())
    r = runner.invoke(cli, ["compress", "-b", "64", str(tmp_path / "a.mp3")])
    assert r.exit_code == 0 and r.stderr.rstrip().endswith("kbps, about the input's size"), r.output
