"""What a first-use review of the codec commands found (session 54)."""

import os
import shutil
from pathlib import Path

import pytest

from muzip.cli import cli

CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"


def _locked(monkeypatch, name):
    """As a user who may not read `name` sees it (the tests run as root, whom the file system lets read all)."""
    real_open, real_access = os.open, os.access

    def refused(path, *args, **kwargs):
        if os.fspath(path).endswith(name):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", refused)
    real_builtin_open = open

    def refused_builtin(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(name):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_builtin_open(path, *args, **kwargs)
    monkeypatch.setattr("builtins.open", refused_builtin)
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: not os.fspath(p).endswith(name)
                        and real_access(p, mode, *a, **k))


@pytest.mark.parametrize("command", ["compress", "decompress"])
def test_an_unreadable_input_is_one_line_and_the_batch_goes_on(runner, tmp_path, monkeypatch, command):
    if command == "compress":
        shutil.copy(CLIP, tmp_path / "a.ogg")
        shutil.copy(CLIP, tmp_path / "locked.ogg")
        inputs = [tmp_path / "a.ogg", tmp_path / "locked.ogg"]
    else:
        for name in ("a", "locked"):
            assert runner.invoke(cli, ["compress", "-q", str(CLIP), "-o", str(tmp_path / f"{name}.mz")]).exit_code == 0
        inputs = [tmp_path / "a.mz", tmp_path / "locked.mz"]
    _locked(monkeypatch, "locked" + inputs[1].suffix)
    out = tmp_path / "out"
    r = runner.invoke(cli, [command, "-q", "-j", "1", *map(str, inputs), "--output-dir", str(out)])
    assert r.exit_code == 1, r.output  # an input failed, the other was done: not a usage error (2)
    errors = [line for line in r.stderr.splitlines() if line.startswith("muzip: ")]
    assert len(errors) == 1 and f"locked{inputs[1].suffix}" in errors[0] and "permission denied" in errors[0].lower()
    assert [p.stem for p in out.iterdir()] == ["a"]


def _unlistable(monkeypatch, name):
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith(name):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)


def test_a_folder_that_cannot_be_listed_is_one_line_and_the_rest_is_done(runner, tmp_path, monkeypatch):
    music = tmp_path / "music"
    (music / "nope").mkdir(parents=True)
    shutil.copy(CLIP, music / "a.ogg")
    shutil.copy(CLIP, music / "nope" / "b.ogg")
    _unlistable(monkeypatch, "nope")
    out = tmp_path / "out"
    r = runner.invoke(cli, ["compress", "-q", "-j", "1", "-r", str(music), "--output-dir", str(out)])
    assert r.exit_code == 1, r.output  # it was skipped without a word, exit 0
    assert r.stderr.splitlines() == [f"muzip: {music / 'nope'}: cannot list the folder (Permission denied)"]
    assert sorted(p.name for p in out.rglob("*")) == ["a.mz"]
    r = runner.invoke(cli, ["index", "-q", "-j", "1", str(music), "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [f"muzip: {music / 'nope'}: cannot list the folder (Permission denied)"]


def test_an_output_ending_in_a_slash_is_a_folder(runner, tmp_path, monkeypatch):
    """`-o new/` wrote a file named `new`."""
    r = runner.invoke(cli, ["compress", "-q", str(CLIP), "-o", f"{tmp_path / 'new'}/"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "new" / "knolls_excerpt.mz").is_file()
    r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "new" / "knolls_excerpt.mz"), "-o", f"{tmp_path / 'wav'}/"])
    assert r.exit_code == 0 and (tmp_path / "wav" / "knolls_excerpt.wav").is_file()
    monkeypatch.chdir(tmp_path)  # an object's URI is no local folder (a review: it made ./s3:/bucket/)
    r = runner.invoke(cli, ["compress", "-q", str(CLIP), "-o", "s3://bucket/mz/"])
    assert r.exit_code == 1 and not (tmp_path / "s3:").exists()


def test_decompress_says_the_rate_it_writes_and_the_silence_it_pads(runner, tmp_path):
    """A 96-kHz file decoded to MP3 (48 kHz at most) was said to be 96000 Hz; a truncated file decoded to a
    stream said all its promised seconds were complete, where the end was silence."""
    import numpy as np
    import soundfile as sf
    import soxr
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    sf.write(tmp_path / "hi.flac", soxr.resample(x, sr, 96000), 96000)
    assert runner.invoke(cli, ["compress", "-q", str(tmp_path / "hi.flac"), "-o", str(tmp_path / "hi.mz")]).exit_code == 0
    r = runner.invoke(cli, ["decompress", str(tmp_path / "hi.mz"), "-o", str(tmp_path / "hi.mp3")])
    assert r.exit_code == 0 and "48000 Hz (resampled from 96000 Hz: MP3 has no 96000-Hz rate), 2 ch" in r.stderr
    assert sf.info(tmp_path / "hi.mp3").samplerate == 48000
    data = (tmp_path / "hi.mz").read_bytes()
    (tmp_path / "cut.mz").write_bytes(data[:len(data) // 2])
    r = runner.invoke(cli, ["decompress", "-c", str(tmp_path / "cut.mz")])
    assert r.exit_code == 3
    warned = [line for line in r.stderr.splitlines() if "truncated" in line][0]
    complete, padded = (float(v) for v in warned.split("decoded the ")[1].replace(" s that are complete, then ",
                                                                                 " ").split(" s of silence")[0].split())
    assert 4.0 < complete < 8.0 and abs(complete + padded - 12.0) < 0.01
    data = int.from_bytes(r.stdout_bytes[40:44], "little")  # a WAV header, 16-bit samples (96 kHz, stereo), INFO
    audio = np.frombuffer(r.stdout_bytes[44:44 + data], "<i2")
    assert not audio[int((complete + 0.05) * 96000) * 2:].any()  # what is said to be silence is


def test_info_of_a_truncated_file_says_what_its_frames_hold(runner, tmp_path):
    assert runner.invoke(cli, ["compress", "-q", str(CLIP), "-o", str(tmp_path / "a.mz")]).exit_code == 0
    data = (tmp_path / "a.mz").read_bytes()
    (tmp_path / "cut.mz").write_bytes(data[:len(data) // 2])
    r = runner.invoke(cli, ["info", str(tmp_path / "cut.mz")])
    assert r.exit_code == 3
    line = [x for x in r.stdout.splitlines() if x.startswith("duration:")][0]
    assert line.endswith("in its frames, of the 0:12.000 its header states") and "0:12.000 in" not in line
    r = runner.invoke(cli, ["info", "--json", str(tmp_path / "cut.mz")])
    import json
    i = json.loads(r.stdout)
    assert i["duration_s"] == 12.0 and 3.0 < i["held_s"] < 9.0


def test_eval_says_what_was_concealed_and_when_the_lengths_differ(runner, tmp_path):
    """eval compared a damaged or truncated .mz, or another recording, with exit 0 and not a word."""
    assert runner.invoke(cli, ["compress", "-q", str(CLIP), "-o", str(tmp_path / "a.mz")]).exit_code == 0
    data = bytearray((tmp_path / "a.mz").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 20] = bytes(b ^ 0xFF for b in data[middle:middle + 20])
    (tmp_path / "flip.mz").write_bytes(bytes(data))
    (tmp_path / "cut.mz").write_bytes(bytes(data[:middle - 100]))
    r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(CLIP), str(tmp_path / "flip.mz")])
    assert r.exit_code == 3, r.output
    assert any(line.startswith("muzip: warning: ") and line.endswith("(concealed)") for line in r.stderr.splitlines())
    r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(CLIP), str(tmp_path / "cut.mz")])
    assert r.exit_code == 3 and "file is truncated; compared the " in r.stderr
    assert "lasts 12.0 s and" in r.stderr and "compared over" in r.stderr
    r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(CLIP), str(tmp_path / "a.mz")])
    assert r.exit_code == 0 and "muzip:" not in r.stderr  # a whole file: nothing to say
    import soundfile as sf
    x, sr = sf.read(CLIP, dtype="float32")
    sf.write(tmp_path / "first9.wav", x[:9 * sr], sr)  # the comparison stops before the decoder's end
    r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(tmp_path / "first9.wav"), str(tmp_path / "flip.mz")])
    assert r.exit_code == 3 and "(concealed)" in r.stderr


@pytest.mark.parametrize("name", ["nosuch", "embed-v5"])
def test_a_model_that_is_no_codec_is_a_usage_error_before_any_file(runner, tmp_path, name):
    """It failed each file in turn, exit 1, listing embedders among the choices."""
    r = runner.invoke(cli, ["compress", "--model", name, str(CLIP), str(CLIP), "--output-dir", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert r.stderr.startswith(f"muzip: --model {name}: not an installed codec model (installed: muzip-v1, ")
    assert len(r.stderr.splitlines()) == 1 and "embed-v5" not in r.stderr.split("(installed")[1]
    assert not (tmp_path / "o").exists()


def test_a_name_collision_under_output_dir_does_not_advise_output_dir(runner, tmp_path):
    shutil.copy(CLIP, tmp_path / "song.ogg")
    shutil.copy(CLIP, tmp_path / "song.oga")
    r = runner.invoke(cli, ["compress", str(tmp_path / "song.ogg"), str(tmp_path / "song.oga"),
                            "--output-dir", str(tmp_path / "o")])
    assert r.exit_code == 2 and r.stderr.rstrip().endswith("song.mz; rename one")


def test_compress_refuses_an_audio_name_for_its_output_and_names_a_mz_input(runner, tmp_path):
    r = runner.invoke(cli, ["compress", str(CLIP), "-o", str(tmp_path / "song.wav")])
    assert r.exit_code == 2 and "compress writes a .mz file, not .wav" in r.stderr
    assert not (tmp_path / "song.wav").exists()
    assert runner.invoke(cli, ["compress", "-q", str(CLIP), "-o", str(tmp_path / "a.mz")]).exit_code == 0
    r = runner.invoke(cli, ["compress", str(tmp_path / "a.mz"), "-o", str(tmp_path / "b.mz")])
    assert r.exit_code == 1 and r.stderr.splitlines() == [
        f"muzip: {tmp_path / 'a.mz'}: a muzip .mz file, not audio (`muzip decompress` decodes it)"]
    r = runner.invoke(cli, ["test", str(tmp_path / "a.mz")])
    assert r.stderr.strip().endswith("ok (12 frames)")


def test_ray_given_before_a_lone_input_says_so(runner, tmp_path):
    """`compress --ray song.ogg -o x.mz` took the file for the Ray address, then said an input was missing."""
    r = runner.invoke(cli, ["compress", "--ray", str(CLIP), "-o", str(tmp_path / "x.mz")])
    assert r.exit_code == 2 and r.stderr == (f"muzip: --ray {CLIP}: is a file or folder, not HOST:PORT; for a local "
                                             "Ray, give --ray last or before another option\n")


def test_o_and_output_dir_together_are_a_usage_error_that_makes_nothing(runner, tmp_path):
    """restore -o z.wav --output-dir d made d, then failed naming an empty file."""
    for command, out in (("compress", "z.mz"), ("restore", "z.wav")):
        r = runner.invoke(cli, [command, str(CLIP), "-o", str(tmp_path / out), "--output-dir", str(tmp_path / "d")])
        assert r.exit_code == 2 and "contradict each other" in r.stderr
        assert not (tmp_path / "d").exists() and not (tmp_path / out).exists()


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5", "\u00b2", "3000000000"])
def test_a_thread_count_that_is_none_is_a_usage_error(runner, tmp_path, monkeypatch, value):
    """MUZIP_THREADS=abc or 0 was ignored without a word (a review, session 60)."""
    monkeypatch.setenv("MUZIP_THREADS", value)
    r = runner.invoke(cli, ["info", str(tmp_path / "x.mz")])
    assert r.exit_code == 2 and f"MUZIP_THREADS={value}: not a number of threads" in r.stderr
    monkeypatch.setenv("MUZIP_THREADS", "2")
    assert runner.invoke(cli, ["info", str(tmp_path / "x.mz")]).exit_code == 1  # on to the missing file


def test_a_folder_without_r_says_how_for_compress_as_for_decompress(runner, tmp_path):
    (tmp_path / "music").mkdir()
    for command in ("compress", "decompress"):
        r = runner.invoke(cli, [command, str(tmp_path / "music")])
        assert r.exit_code == 1 and r.stderr == f"muzip: {tmp_path / 'music'}: is a directory (use -r for folders)\n"


def test_a_name_not_utf8_is_shown_as_its_bytes_in_messages(runner, tmp_path):
    """compress printed "caf\\udce9.wav", index "caf\\xe9.wav" (a review, session 60): one form, the bytes'."""
    name = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.wav")
    try:
        open(os.fsencode(name), "wb").close()
    except OSError:
        pytest.skip("this file system keeps UTF-8 names only")
    r = runner.invoke(cli, ["compress", name])
    assert r.exit_code == 1 and "caf\\xe9.wav: " in r.stderr and "udc" not in r.stderr
