"""A file under several names (a symlink, a hard link) in the library: read once by `index`, a track per name,
and never offered by `dupes` as a copy to delete."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.library.catalog import Catalog
from muzip.library.links import by_file

CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """clip.flac, a symlink and a hard link to it, and an MP3 of it (a copy: another file)."""
    import lameenc
    folder = tmp_path_factory.mktemp("links")
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    sf.write(folder / "clip.flac", x, sr)
    os.symlink("clip.flac", folder / "alias.flac")
    os.link(folder / "clip.flac", folder / "hard.flac")
    enc = lameenc.Encoder()
    enc.set_bit_rate(128)
    enc.set_in_sample_rate(sr)
    enc.set_channels(2)
    (folder / "clip.mp3").write_bytes(enc.encode((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()) + enc.flush())
    return folder


def _counted(monkeypatch):
    """The names of the files embedded (by index and by classify train), in order."""
    from muzip.cli import classify_cmds, library_cmds
    calls, real = [], library_cmds._embed_one
    for module in (library_cmds, classify_cmds):
        monkeypatch.setattr(module, "_embed_one", lambda p: calls.append(Path(p).name) or real(p))
    return calls


def test_by_file_stands_the_file_itself_for_its_names(linked):
    names = [str(linked / n) for n in ("alias.flac", "clip.flac", "clip.mp3", "hard.flac", "gone.flac")]
    got = {Path(k).name: [Path(p).name for p in v] for k, v in by_file(names).items()}
    assert got == {"clip.flac": ["clip.flac", "alias.flac", "hard.flac"], "clip.mp3": ["clip.mp3"],
                   "gone.flac": ["gone.flac"]}


def test_index_reads_a_file_once_and_keeps_a_track_for_each_name(runner, linked, tmp_path, monkeypatch):
    calls = _counted(monkeypatch)
    db = tmp_path / "lib.db"
    r = runner.invoke(cli, ["index", "-j", "1", str(linked), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["indexed"] == 4
    assert sorted(calls) == ["clip.flac", "clip.mp3"]  # the links are not decoded again
    with Catalog(str(db), create=False) as cat:
        ids, emb, paths = cat.embeddings()
    by_name = {Path(p).name: e for p, e in zip(paths, emb)}
    assert sorted(by_name) == ["alias.flac", "clip.flac", "clip.mp3", "hard.flac"]
    assert np.array_equal(by_name["alias.flac"], by_name["clip.flac"])
    assert np.array_equal(by_name["hard.flac"], by_name["clip.flac"])


def test_dupes_shows_a_files_other_names_beside_it_not_as_copies(runner, linked, tmp_path):
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(linked), "--db", str(db)]).exit_code == 0
    r = runner.invoke(cli, ["dupes", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [sorted(Path(p).name for p in g) for g in out["groups"]] == [["clip.flac", "clip.mp3"]]
    assert {Path(k).name: sorted(Path(p).name for p in v) for k, v in out["links"].items()} == {
        "clip.flac": ["alias.flac", "hard.flac"]}
    r = runner.invoke(cli, ["dupes", "--db", str(db)])
    lines = r.stdout.splitlines()
    assert lines[0] == "group 1 (2 files, the best copy first)" and len(lines) == 3
    assert any(line.endswith(f"clip.flac  (FLAC, 44.1 kHz; best)  (also named {linked / 'alias.flac'}, "
                             f"{linked / 'hard.flac'})")
               for line in lines)
    assert "1 file under more than one name (symlinks or hard links: deleting a name frees nothing)" in r.stderr
    r = runner.invoke(cli, ["cluster", "--db", str(db)])  # one line a file, its other names counted
    assert r.stdout.splitlines()[0].startswith("cluster 1 (4 tracks, 2 files), exemplar ")
    assert sorted(r.stdout.splitlines()[1:]) == [f"  {linked / 'clip.flac'}  (+2 other names)", f"  {linked / 'clip.mp3'}"]


def test_a_file_held_only_under_several_names_has_no_duplicates(runner, linked, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    shutil.copy(linked / "clip.flac", folder / "clip.flac")
    os.symlink("clip.flac", folder / "alias.flac")
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    r = runner.invoke(cli, ["dupes", "--db", str(db)])
    assert r.exit_code == 0 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"{db}: 1 file under more than one name (symlinks or hard links: deleting a name frees nothing)",
        f"{db}: no duplicates among 1 file"]


def test_a_file_that_fails_fails_under_each_of_its_names(runner, tmp_path, monkeypatch):
    calls = _counted(monkeypatch)
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / "bad.flac").write_bytes(b"not audio at all" * 64)
    os.symlink("bad.flac", folder / "link.flac")
    r = runner.invoke(cli, ["index", "-j", "1", str(folder), "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 1 and calls == ["bad.flac"]
    errors = [line for line in r.stderr.splitlines() if line.startswith("muzip: ")]
    assert len(errors) == 2
    reasons = {line.split(": ", 2)[1]: line.split(": ", 2)[2] for line in errors}
    assert set(reasons) == {str(folder / "bad.flac"), str(folder / "link.flac")}
    assert len(set(reasons.values())) == 1  # one file, one reason


def test_similar_lists_no_name_of_the_querys_own_file_as_its_copy(runner, linked, tmp_path):
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(linked), "--db", str(db)]).exit_code == 0
    elsewhere = tmp_path / "elsewhere.flac"  # a name the catalog does not hold: the file is embedded as a query
    os.symlink(linked / "clip.flac", elsewhere)
    for query in (linked / "clip.flac", linked / "alias.flac", linked / "hard.flac", elsewhere):
        r = runner.invoke(cli, ["similar", str(query), "--db", str(db), "--json"])
        assert r.exit_code == 0, r.output
        assert [(Path(h["path"]).name, h["same_recording"]) for h in json.loads(r.stdout)] == [("clip.mp3", True)]
    r = runner.invoke(cli, ["similar", str(linked / "clip.mp3"), "--db", str(db), "--json"])
    hits = json.loads(r.stdout)  # the FLAC once, under the file's own name
    assert [(Path(h["path"]).name, h["copies"]) for h in hits] == [("clip.flac", [])]


def test_classify_train_counts_a_file_once_whatever_its_names(runner, tmp_path, monkeypatch):
    from test_library import RATE, _track
    music, labels = tmp_path / "music", tmp_path / "labels"
    for label in ("tone", "noise"):
        (music / label).mkdir(parents=True)
        for i in range(3):
            sf.write(music / label / f"{label}{i}.wav", _track(label, i), RATE, subtype="PCM_16")
        os.symlink(music / label / f"{label}0.wav", music / label / f"{label}0_again.wav")  # a second name
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(music), "--db", str(db)]).exit_code == 0
    labels.mkdir()
    for label in ("tone", "noise"):  # label folders that are links to the catalog's folders
        os.symlink(music / label, labels / label)
    calls = _counted(monkeypatch)
    r = runner.invoke(cli, ["classify", "train", str(labels), "-o", str(tmp_path / "c.npz"), "--db", str(db),
                            "-j", "1", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["tracks"], out["from_catalog"], out["folds"]) == (6, 6, 3) and calls == []
    os.utime(music / "tone" / "tone1.wav", (1, 1))  # changed since indexed: embedded again, once
    r = runner.invoke(cli, ["classify", "train", str(labels), "-o", str(tmp_path / "c.npz"), "-f", "--db", str(db),
                            "-j", "1", "--json"])
    assert json.loads(r.stdout)["tracks"] == 6 and calls == ["tone1.wav"]
    (music / "noise" / "noise1.wav").unlink()
    (music / "noise" / "noise2.wav").unlink()
    r = runner.invoke(cli, ["classify", "train", str(music), "-o", str(tmp_path / "d.npz"), "--db", str(db), "-j", "1"])
    assert r.exit_code == 0, r.output
    assert "no cross-validation: label noise has 1 recording, and each needs 2 or more" in r.stderr


def test_dupes_and_cluster_write_a_line_break_in_a_name_as_an_escape(runner, linked, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    shutil.copy(linked / "clip.flac", folder / "clip.flac")
    shutil.copy(linked / "clip.mp3", folder / "new\nline.mp3")
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    for command in (["dupes"], ["cluster"]):
        r = runner.invoke(cli, [*command, "--db", str(db)])
        assert r.exit_code == 0, r.output
        lines = r.stdout.splitlines()
        assert len(lines) == 3 and any(line.split("  (")[0] == f"  {folder}/new\\nline.mp3" for line in lines), lines


def test_map_draws_a_file_once_whatever_its_names(runner, linked, tmp_path):
    """Its names used to be drawn as points on a ring around it, and counted as tracks."""
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(linked), "--db", str(db)]).exit_code == 0
    r = runner.invoke(cli, ["map", "--db", str(db), "-o", str(tmp_path / "map.png")])
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines()[-1] == f"{tmp_path / 'map.png'}: 2 tracks, 1 cluster"
