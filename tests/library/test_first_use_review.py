"""What a first-use review found (session 50): a name in another encoding stopped the whole `index` run, a
named pipe hung it, `--db ""` threw the catalog away with exit 0; and smaller things (a full output, an
option that did nothing)."""

import json
import os
import threading

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from muzip.cli import cli

RATE = 44100


def _song(seed, seconds=5):
    rng = np.random.default_rng(seed)
    x = 0.1 * rng.standard_normal(seconds * RATE) * np.sin(np.arange(seconds * RATE) / RATE * (3 + seed))
    return np.stack([x, x], axis=1).astype(np.float32)


@pytest.fixture
def folder(tmp_path):
    lib = tmp_path / "music"
    lib.mkdir()
    for i in range(2):
        sf.write(lib / f"s{i}.wav", _song(i), RATE, subtype="PCM_16")
    return lib


def test_a_name_that_is_not_utf8_is_one_line_and_the_rest_is_indexed(runner, folder, tmp_path):
    latin1 = os.fsdecode(bytes(folder) + b"/caf\xe9.wav")  # a Latin-1 name from another system
    try:
        with open(os.fsencode(latin1), "wb") as f:  # (soundfile's own open takes UTF-8 names only)
            sf.write(f, _song(3), RATE, subtype="PCM_16", format="WAV")
    except OSError:  # a file system that keeps UTF-8 names only
        pytest.skip("this file system refuses a name that is not UTF-8")
    db = tmp_path / "lib.db"
    r = runner.invoke(cli, ["index", "-j", "1", str(folder), "--db", str(db), "--json"])
    assert r.exit_code == 1, r.output
    assert r.stderr == f"muzip: {folder}/caf\\xe9.wav: its name is not valid UTF-8, which a catalog cannot " \
                       "hold (rename the file)\n"
    summary = json.loads(r.stdout)
    assert (summary["indexed"], summary["failed"], summary["tracks"]) == (2, 1, 2)
    # as a query it is compared with the catalog all the same (it is only not stored)
    r = runner.invoke(cli, ["similar", latin1, "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    assert sorted(h["path"] for h in json.loads(r.stdout)) == [str(folder / "s0.wav"), str(folder / "s1.wav")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_reported_not_read(runner, folder, tmp_path):
    os.mkfifo(folder / "stream.wav")
    db = tmp_path / "lib.db"
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=runner.invoke(
        cli, ["index", "-q", "-j", "1", str(folder), str(folder / "stream.wav"), "--db", str(db)])), daemon=True)
    worker.start()
    worker.join(120)
    if worker.is_alive():  # the reader is blocked on the pipe: open its other end so the test run can end
        with open(folder / "stream.wav", "wb"):
            pass
        pytest.fail("index blocked on a named pipe")
    r = result["r"]
    assert r.exit_code == 1
    assert r.stderr == f"muzip: {folder}/stream.wav: not a regular file (a pipe, socket or device)\n"  # once
    r = runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db), "--json"])
    s = json.loads(r.stdout)  # the refused file is one of the files, counted as failed
    assert r.exit_code == 1 and s["failed"] == 1 and s["files"] == s["indexed"] + s["unchanged"] + s["failed"]


@pytest.mark.parametrize("name", ["", "  ", ":memory:"])
def test_a_catalog_sqlite_would_not_keep_is_a_usage_error(runner, folder, name, monkeypatch):
    monkeypatch.delenv("MUZIP_DB", raising=False)
    for args in (["index", str(folder), "--db", name], ["dupes", "--db", name]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 2 and "is not a catalog file name" in r.output, r.output
    monkeypatch.setenv("MUZIP_DB", "")  # an empty variable is no catalog: the option is missing
    r = runner.invoke(cli, ["dupes"])
    assert r.exit_code == 2 and "Missing option '--db'" in r.output


def test_map_draws_names_in_any_script_without_a_warning_per_glyph(tmp_path):
    """A file name in a script the font lacks is drawn as boxes; matplotlib's warning for each missing glyph
    (with its source line) reached the terminal before."""
    import warnings

    from muzip.library.tsne_map import draw
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        draw(xy, ["a", "a", "b"], {0: "音楽 🎵", 2: "plain"}, str(tmp_path / "m.png"), "3 tracks")
    assert (tmp_path / "m.png").stat().st_size > 1000
    assert not [w for w in seen if "Glyph" in str(w.message)]


def test_similar_names_a_bad_query_as_it_was_given(runner, folder, tmp_path, monkeypatch):
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    (tmp_path / "tiny.mz").write_bytes(b"MZ")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["similar", "tiny.mz", "--db", str(db)])
    assert r.exit_code == 1 and r.output.startswith("muzip: tiny.mz: "), r.output


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_output_is_named(runner, folder, tmp_path):
    """`> /dev/full` and `-o /dev/full` said `muzip: [Errno 28] No space left on device`, naming nothing."""
    import subprocess
    import sys
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    query = str(folder / "s0.wav")
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "muzip", "similar", query, "--db", str(db)], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert (r.returncode, r.stderr) == (1, "muzip: standard output: cannot write (No space left on device)\n")
    r = subprocess.run([sys.executable, "-m", "muzip", "similar", query, "--db", str(db), "--playlist", "2", "-o",
                        "/dev/full"], capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stderr) == (1, "muzip: /dev/full: cannot write (No space left on device)\n")


def test_map_says_a_classifier_without_color_label_is_unused(runner, tmp_path):
    r = runner.invoke(cli, ["map", "--db", str(tmp_path / "x.db"), "-o", str(tmp_path / "m.png"), "--classifier",
                            str(tmp_path / "g.clf")])
    assert r.exit_code == 2 and "--classifier is for --color label (the map is coloured by cluster)" in r.output
    assert not (tmp_path / "m.png").exists()


def test_index_says_when_files_it_holds_are_gone_from_the_folder(runner, folder, tmp_path):
    """A file renamed since the last run was two tracks, silently (and `dupes` paired the two names)."""
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    os.rename(folder / "s0.wav", folder / "renamed.wav")
    r = runner.invoke(cli, ["index", "-j", "1", str(folder), "--db", str(db)])
    assert r.exit_code == 0
    assert r.stderr.splitlines() == [f"{db}: 1 track whose file is gone from these folders stays in the catalog "
                                     "(`--prune` drops it)", f"{db}: 1 indexed, 1 unchanged, 0 failed, 0 pruned; 3 tracks"]
    r = runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db), "--json"])
    assert r.exit_code == 0 and (json.loads(r.stdout)["gone"], json.loads(r.stdout)["tracks"]) == (1, 3)
    r = runner.invoke(cli, ["index", "-j", "1", str(folder), "--db", str(db), "--prune"])
    assert r.exit_code == 0 and r.stderr == f"{db}: 0 indexed, 2 unchanged, 0 failed, 1 pruned; 2 tracks\n"


@pytest.mark.parametrize("fmt", ["ogg", "flac"])
def test_a_file_cut_short_is_indexed_with_a_warning(runner, folder, tmp_path, fmt):
    """Session 54's review: an Ogg cut at 40 % was indexed silently as a 2-s track (exit 0), where `compress`
    warns and exits 3; a cut FLAC said nothing either."""
    whole = tmp_path / f"whole.{fmt}"
    sf.write(whole, _song(5, seconds=8), RATE, format=fmt.upper())
    data = whole.read_bytes()
    (folder / f"cut.{fmt}").write_bytes(data[:len(data) * 2 // 5])
    r = runner.invoke(cli, ["index", "-j", "1", str(folder), "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 3, r.output
    warned = [line for line in r.stderr.splitlines() if line.startswith("muzip: warning: ")]
    assert len(warned) == 1 and f"cut.{fmt}: " in warned[0] and warned[0].endswith("that are there" if fmt == "ogg"
                                                                                  else "described what is there")
    assert "coded" not in warned[0]


def test_a_short_file_at_another_rate_is_read_to_its_end(runner, folder, tmp_path):
    """Session 54's review: 50 ms at 8 kHz was "no audio to embed": the resampler's delay held all of it back."""
    t = np.arange(400) / 8000
    sf.write(folder / "tiny.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 8000, subtype="PCM_16")
    from muzip.library.sampled import sampled_audio
    pieces, info = sampled_audio(str(folder / "tiny.wav"), RATE, RATE)
    assert info["rate"] == 8000 and abs(sum(len(p) for p in pieces) - 2205) <= 2
    r = runner.invoke(cli, ["index", "-j", "1", str(folder), "--db", str(tmp_path / "lib.db")])
    assert f"muzip: {folder / 'tiny.wav'}: too short to describe" in r.stderr.splitlines()  # the reason it has


def test_similar_marks_a_track_whose_file_is_gone(runner, folder, tmp_path):
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    (folder / "s1.wav").rename(folder / "renamed.wav")
    r = runner.invoke(cli, ["similar", str(folder / "s0.wav"), "--db", str(db)])
    assert r.exit_code == 0 and r.stdout.splitlines()[0].endswith(
        f"{folder / 's1.wav'}  (file gone: `index --prune` drops it)")


def test_a_walk_leaves_hidden_names_out_and_a_named_one_is_read(runner, folder, tmp_path):
    """Session 54's review: a Mac's "._s0.wav" beside each song failed one line each (exit 1), and a hidden
    folder was walked, where the codec's batch (`compress -r`) leaves both out."""
    (folder / "._s0.wav").write_bytes(b"\x00\x05\x16\x07" + bytes(60))  # AppleDouble metadata, not audio
    (folder / ".Trashes").mkdir()
    sf.write(folder / ".Trashes" / "old.wav", _song(7), RATE, subtype="PCM_16")
    sf.write(folder / ".kept.wav", _song(8), RATE, subtype="PCM_16")
    db = tmp_path / "lib.db"
    r = runner.invoke(cli, ["index", "-j", "1", "--json", str(folder), "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["indexed"] == 2
    r = runner.invoke(cli, ["index", "-j", "1", "--json", str(folder / ".kept.wav"), "--db", str(db)])
    assert r.exit_code == 0 and json.loads(r.stdout)["indexed"] == 1  # named on the command line: read
    out = tmp_path / "out"
    r = runner.invoke(cli, ["compress", "-r", "-q", str(folder), "--output-dir", str(out), "--bitrate", "24"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.rglob("*")) == ["s0.mz", "s1.mz"]


def test_an_output_in_a_folder_that_does_not_exist_is_refused_before_the_work(runner, folder, tmp_path, monkeypatch):
    """Session 54's review: `similar --playlist -o sub/mix.m3u8` did the mix, then failed to write it."""
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    from muzip.cli import similar_cmd

    def no_work(*args):
        raise AssertionError("the catalog was searched before the output was checked")
    monkeypatch.setattr(similar_cmd, "_query", no_work)
    mix = tmp_path / "sub" / "mix.m3u8"
    r = runner.invoke(cli, ["similar", str(folder / "s0.wav"), "--db", str(db), "--playlist", "2", "-o", str(mix)])
    assert r.exit_code == 1 and r.stderr == f"muzip: {mix}: cannot write (its folder does not exist)\n"
    assert not (tmp_path / "sub").exists()


def test_a_note_that_is_no_cut_is_not_an_index_warning(runner, folder, tmp_path, monkeypatch):
    """A review of session 54's change: every reader note (a cover art left out) became a warning, exit 3."""
    from muzip.audio import read as R
    real = R.read_metadata

    def with_a_note(path, f):
        tags, cover, notes = real(path, f)
        return tags, cover, [*notes, "cover art is 600 KiB, over the 512 KiB limit; left it out"]
    monkeypatch.setattr(R, "read_metadata", with_a_note)
    r = runner.invoke(cli, ["index", "-j", "1", str(folder), "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 0 and "warning" not in r.stderr, r.output


def test_classify_train_names_a_missing_or_wrong_folder_as_other_commands_do(tmp_path):
    runner = CliRunner()  # session 56: was Click's usage error (exit 2)
    r = runner.invoke(cli, ["classify", "train", str(tmp_path / "nope"), "-o", str(tmp_path / "c.clf")])
    assert r.exit_code == 1 and r.stderr == f"muzip: {tmp_path / 'nope'}: no such folder\n", r.output
    (tmp_path / "a.wav").write_bytes(b"")
    r = runner.invoke(cli, ["classify", "train", str(tmp_path / "a.wav"), "-o", str(tmp_path / "c.clf")])
    assert r.exit_code == 1 and "a.wav: not a folder (it holds a folder per label)" in r.stderr, r.output
