"""The library commands: index (incremental, resumable, pruning), similar, cluster, classify, map."""

import contextlib
import json
import multiprocessing as mp
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.codec import compress_array
from muzip.defaults import DEFAULT_MODEL

RATE = 44100


def _track(kind, seed, seconds=6):
    """Distinct synthetic 'tracks': tones with a beat, or filtered noise, varying with the seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * RATE) / RATE
    if kind == "tone":
        f = 150 * 2 ** (seed % 7 / 3)
        x = 0.3 * np.sin(2 * np.pi * f * t) * (0.6 + 0.4 * (np.sin(2 * np.pi * (1 + seed % 3) * t) > 0))
    else:
        x = rng.standard_normal(len(t)) * 0.1
        spec = np.fft.rfft(x)
        spec[np.fft.rfftfreq(len(t), 1 / RATE) < 2000 + 500 * (seed % 5)] *= 0.05
        x = np.fft.irfft(spec, len(t))
    return np.stack([x, x * 0.8], axis=1).astype(np.float32)


@pytest.fixture()
def library(tmp_path, model):
    root = tmp_path / "music"
    for label in ("tone", "noise"):
        (root / label).mkdir(parents=True)
        for i in range(4):
            sf.write(root / label / f"{label}{i}.wav", _track(label, i), RATE, subtype="PCM_16")
    (root / "tone" / "tone0_copy.mz").write_bytes(compress_array(_track("tone", 0), RATE, 64, model=model))
    return root


def _index(runner, *args):
    r = runner.invoke(cli, ["index", "-q", "-j", "1", "--json", *map(str, args)])
    return r, (json.loads(r.output.strip().splitlines()[-1]) if r.output.strip() else None)


def test_index_is_incremental_and_prunes(runner, library, tmp_path):
    db = tmp_path / "lib.db"
    r, s = _index(runner, library, "--db", db)
    assert r.exit_code == 0, r.output
    assert s == {"catalog": str(db), "files": 9, "indexed": 9, "unchanged": 0, "failed": 0, "pruned": 0, "gone": 0,
                 "tracks": 9, "reprojected": 0}
    r, s = _index(runner, library, "--db", db)
    assert s["indexed"] == 0 and s["unchanged"] == 9
    sf.write(library / "noise" / "noise1.wav", _track("noise", 11), RATE, subtype="PCM_16")  # changed
    os.remove(library / "noise" / "noise2.wav")
    r, s = _index(runner, library, "--db", db, "--prune")
    assert (s["indexed"], s["unchanged"], s["pruned"], s["tracks"]) == (1, 7, 1, 8)
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # WAL only while it writes


def test_unreadable_file_is_one_line_and_the_rest_is_indexed(runner, library, tmp_path):
    (library / "tone" / "broken.flac").write_bytes(b"fLaC" + b"\x00" * 50)
    r = runner.invoke(cli, ["index", "-j", "1", str(library), "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 1
    errors = [line for line in r.output.splitlines() if line.startswith("muzip: ")]
    assert len(errors) == 1 and "broken.flac" in errors[0] and "Traceback" not in r.output
    assert "9 indexed" in r.output


def test_a_failed_file_is_named_as_the_command_line_names_it(runner, library, tmp_path, monkeypatch):
    (library / "tone" / "broken.flac").write_bytes(b"fLaC" + b"\x00" * 50)
    monkeypatch.chdir(library.parent)
    r = runner.invoke(cli, ["index", "-q", "-j", "1", f"{library.name}/tone", "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 1
    assert r.stderr.startswith(f"muzip: {library.name}/tone/broken.flac: "), r.stderr  # not its absolute path


def _killed_index(library, db):
    """Index with a batch of 2, and die like kill -9 while embedding the 5th file."""
    import muzip.cli.library_cmds as L
    from click.testing import CliRunner
    L.BATCH = 2
    real, calls = L._embed_one, []

    def dying(path):
        calls.append(path)
        if len(calls) == 5:
            os._exit(137)
        return real(path)
    L._embed_one = dying
    CliRunner().invoke(cli, ["index", "-q", "-j", "1", str(library), "--db", str(db)])


def test_a_killed_index_loses_at_most_a_batch_and_resumes(runner, library, tmp_path):
    db = tmp_path / "lib.db"
    p = mp.get_context("fork").Process(target=_killed_index, args=(library, db))
    p.start()
    p.join(120)
    assert p.exitcode == 137
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 4  # two whole batches
    r, s = _index(runner, library, "--db", db)
    assert r.exit_code == 0 and (s["unchanged"], s["indexed"], s["tracks"]) == (4, 5, 9)



def test_ctrl_c_keeps_what_index_had_embedded(runner, library, tmp_path, monkeypatch):
    """The help's promise: a run after an interruption does only what is left (here 3 of 9 files were done,
    under a batch of 32 that had not been written yet)."""
    import muzip.cli.library_cmds as L
    from muzip.signals import Interrupted
    real, calls = L._embed_one, []

    def interrupted(path):
        calls.append(path)
        if len(calls) == 4:
            raise Interrupted(2)
        return real(path)
    monkeypatch.setattr(L, "_embed_one", interrupted)
    db = tmp_path / "lib.db"
    with pytest.raises(Interrupted):  # muzip.cli.main turns it into "muzip: interrupted", exit 130
        runner.invoke(cli, ["index", "-q", "-j", "1", str(library), "--db", str(db)])
    monkeypatch.setattr(L, "_embed_one", real)
    r, s = _index(runner, library, "--db", db)
    assert r.exit_code == 0 and (s["unchanged"], s["indexed"], s["tracks"]) == (3, 6, 9)


CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"


def _clip_and_copies(library, models):
    """The bundled clip (real music: embed-v3's descriptors read synthetic tones' codec noise as a change of
    timbre) as library/clip.wav, and its .mz by each (model, kbps)."""
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    sf.write(library / "clip.wav", x, sr, subtype="PCM_16")
    from muzip.codec import load_model
    for name, kbps in models:
        (library / f"clip_{name}.mz").write_bytes(compress_array(x, sr, kbps, model=load_model(name)))


def test_similar_finds_the_mz_of_a_track_first(runner, library, tmp_path):
    _clip_and_copies(library, [(DEFAULT_MODEL, 24)])
    db = tmp_path / "lib.db"
    _index(runner, library, "--db", db)
    r = runner.invoke(cli, ["similar", str(library / "clip.wav"), "--db", str(db), "-n", "3", "--json"])
    hits = json.loads(r.output)
    assert [set(h) for h in hits] == [{"path", "score", "same_recording", "copies"}] * 3
    assert hits[0]["path"].endswith(f"clip_{DEFAULT_MODEL}.mz") and hits[0]["score"] > 0.9
    assert [h["same_recording"] for h in hits] == [True, False, False]  # its .mz is a copy; the tones are not
    assert all(str(library / "clip.wav") != h["path"] for h in hits)  # itself left out
    assert hits == sorted(hits, key=lambda h: -h["score"])
    outside = tmp_path / "new.wav"
    sf.write(outside, _track("noise", 3), RATE)  # not in the catalog: embedded on the fly
    r = runner.invoke(cli, ["similar", str(outside), "--db", str(db), "-n", "1", "--json"])
    assert json.loads(r.output)[0]["path"].endswith("noise3.wav")
    r = runner.invoke(cli, ["similar", "nowhere.wav", "--db", str(db)])
    assert r.exit_code == 1 and r.output.startswith("muzip: nowhere.wav")


def test_an_mz_of_another_codec_model_is_embedded_in_the_same_space(runner, library, tmp_path):
    # the default's .mz is read as its decoder's coefficients; v2.1's and v1's (decoder networks) are decoded
    _clip_and_copies(library, [(DEFAULT_MODEL, 24), ("muzip-v2.1", 32), ("muzip-v1", 64)])
    db = tmp_path / "lib.db"
    _index(runner, library, "--db", db)
    r = runner.invoke(cli, ["similar", str(library / "clip.wav"), "--db", str(db), "-n", "3", "--json"])
    hits = {h["path"].rsplit("/", 1)[-1]: h["score"] for h in json.loads(r.output)}
    assert set(hits) == {f"clip_{DEFAULT_MODEL}.mz", "clip_muzip-v2.1.mz", "clip_muzip-v1.mz"}
    # embed-v5 reads the default's 24-kbps .mz at 0.91 here, v2.1's at 0.91, v1's at 0.68 (embed-v4: 0.89, 0.89,
    # 0.64; embed-v3.1: 0.94 for the default's): its onset patterns' floor leaves out the noise fill's flux
    assert hits[f"clip_{DEFAULT_MODEL}.mz"] > 0.85 and hits["clip_muzip-v2.1.mz"] > 0.85
    assert hits["clip_muzip-v1.mz"] > 0.6  # v1's decoder fills the top octave ~10 dB above the source


def test_ann_index_agrees_with_exact_search(tmp_path, monkeypatch):
    from muzip.library import search
    from muzip.library.catalog import Catalog
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((300, 24)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    with Catalog(str(tmp_path / "c.db")) as cat:
        cat.put_many([{"path": f"/x/{i}.mz", "size": 1, "mtime": 0.0, "duration": 1.0, "rate": RATE, "channels": 2,
                       "tags": {}, "model": "m", "source": "mz", "dim": 24, "embedding": e.tobytes()}
                      for i, e in enumerate(emb)], "e")
        exact = search.nearest(cat, emb[7], 5)
        monkeypatch.setattr(search, "EXACT_MAX", 10)
        monkeypatch.setattr(search, "ADD_THREADS", 1)  # concurrent adds lost a neighbour in 1 of 300 builds
        ann = search.nearest(cat, emb[7], 5)
        assert os.path.exists(str(tmp_path / "c.db") + ".usearch")
        assert [h["path"] for h in ann] == [h["path"] for h in exact]
        assert search.nearest(cat, emb[7], 5) == ann  # reloaded from the file, same answer


def test_cluster_json_covers_every_track_once(runner, library, tmp_path):
    db = tmp_path / "lib.db"
    _index(runner, library, "--db", db)
    r = runner.invoke(cli, ["cluster", "--db", str(db), "--json"])
    out = json.loads(r.output)
    members = [m for c in out["clusters"] for m in c["members"]]
    assert len(members) == len(set(members)) == 9
    assert all(c["exemplar"] in c["members"] for c in out["clusters"])


@contextlib.contextmanager
def _chdir(path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def test_classify_train_predict_and_a_bad_classifier(runner, library, tmp_path):
    clf = tmp_path / "kinds.clf"
    r = runner.invoke(cli, ["classify", "train", str(library), "-o", str(clf), "-j", "1", "--json", "-q"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["classes"] == ["noise", "tone"] and res["tracks"] == 9 and res["accuracy"] is not None
    new = tmp_path / "n.wav"
    sf.write(new, _track("noise", 9), RATE)
    r = runner.invoke(cli, ["classify", "predict", str(clf), str(new), "--json", "-j", "1"])
    line = json.loads(r.output)
    assert set(line) == {"path", "label", "scores", "nearest", "unlike_training"} and line["label"] == "noise"
    assert abs(sum(line["scores"].values()) - 1) < 1e-4
    sf.write(tmp_path / "m.wav", _track("tone", 9), RATE)  # files in the order given, named as given
    with _chdir(tmp_path):
        r = runner.invoke(cli, ["classify", "predict", str(clf), "n.wav", "m.wav", "n.wav", "-j", "1"])
    # a file named twice is labelled once (the help says so), where it was first named
    assert [ln.split("\t")[::2] for ln in r.stdout.splitlines()] == [["noise", "n.wav"], ["tone", "m.wav"]], r.output
    db = tmp_path / "lib.db"  # no FILES, no --db: the session's catalog ($MUZIP_DB), as the other commands take it
    assert _index(runner, library, "--db", db)[0].exit_code == 0
    r = runner.invoke(cli, ["classify", "predict", str(clf), "-j", "1"], env={"MUZIP_DB": str(db)})
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 9, r.output
    r = runner.invoke(cli, ["classify", "predict", str(clf)], env={"MUZIP_DB": ""})
    assert r.exit_code == 2 and "give FILES or --db LIBRARY (or set MUZIP_DB)" in r.stderr
    (tmp_path / "fake.clf").write_bytes(b"PK\x03\x04 not really")
    r = runner.invoke(cli, ["classify", "predict", str(tmp_path / "fake.clf"), str(new)])
    assert r.exit_code == 1 and "not a muzip classifier" in r.output and "Traceback" not in r.output
    pickled = tmp_path / "obj.clf"
    with open(pickled, "wb") as f:  # a pickled object array: must be refused, never unpickled
        np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    r = runner.invoke(cli, ["classify", "predict", str(pickled), str(new)])
    assert r.exit_code == 1 and "not a muzip classifier" in r.output


def test_classify_train_never_replaces_a_file_without_force(runner, library, tmp_path):
    """A catalog given as -o by mistake (or last week's classifier) stays as it was: -f to overwrite."""
    db = tmp_path / "lib.db"
    _index(runner, library, "--db", db)
    before = db.read_bytes()
    r = runner.invoke(cli, ["classify", "train", str(library), "-o", str(db), "-j", "1", "-q"])
    assert r.exit_code == 1 and r.output.strip() == f"muzip: {db}: exists (use -f to overwrite)"
    assert db.read_bytes() == before
    clf = tmp_path / "kinds.clf"
    clf.write_bytes(b"last week's")
    r = runner.invoke(cli, ["classify", "train", str(library), "-o", str(clf), "-f", "-j", "1", "-q"])
    assert r.exit_code == 0, r.output
    assert clf.read_bytes()[:2] == b"PK"  # the new classifier (.npz)


def test_map_draws_a_png(runner, library, tmp_path):
    db = tmp_path / "lib.db"
    _index(runner, library, "--db", db)
    png = tmp_path / "map.png"
    r = runner.invoke(cli, ["map", "--db", str(db), "-o", str(png), "--color", "folder"])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10000
    track = library / "tone" / "tone0.wav"  # -o naming a track by mistake: refused, even with -f
    before = track.read_bytes()
    r = runner.invoke(cli, ["map", "--db", str(db), "-o", str(track), "-f"])
    assert r.exit_code == 2 and "ending in .png" in r.output and track.read_bytes() == before


def test_a_truncated_mz_is_indexed_with_a_warning(runner, library, tmp_path):
    """As decoding one does: what can be read is used, the file is named with the reason, exit 3."""
    whole = (library / "tone" / "tone0_copy.mz").read_bytes()
    cut = tmp_path / "cut.mz"
    cut.write_bytes(whole[:len(whole) * 2 // 3])
    db = tmp_path / "lib.db"
    r = runner.invoke(cli, ["index", "-q", "-j", "1", str(cut), "--db", str(db), "--json"])
    assert r.exit_code == 3, r.output
    assert f"muzip: warning: {cut}: file is truncated" in r.stderr and json.loads(r.stdout)["indexed"] == 1
    whole_db = tmp_path / "whole.db"  # `similar` of it, outside a catalog: the same warning (it said nothing)
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(library / "tone"), "--db", str(whole_db)]).exit_code == 0
    r = runner.invoke(cli, ["similar", str(cut), "--db", str(whole_db), "-n", "1"])
    assert r.exit_code == 3, r.output
    assert r.stderr == f"muzip: warning: {cut}: file is truncated or its index damaged; described from the frames " \
                       "that could be read\n" and len(r.stdout.splitlines()) == 1


def test_the_catalog_can_come_from_muzip_db(runner, library, tmp_path):
    db = tmp_path / "lib.db"
    _index(runner, library, "--db", db)
    r = runner.invoke(cli, ["cluster", "--json"], env={"MUZIP_DB": str(db)})
    assert r.exit_code == 0 and len(json.loads(r.output)["clusters"]) >= 1
    r = runner.invoke(cli, ["similar", str(library / "tone" / "tone1.wav"), "--count", "2", "--json"],
                      env={"MUZIP_DB": str(db)})
    assert r.exit_code == 0 and len(json.loads(r.output)) == 2
    r = runner.invoke(cli, ["dupes"], env={"MUZIP_DB": None})
    assert r.exit_code == 2 and "MUZIP_DB" in r.output


def test_library_commands_refuse_a_missing_catalog(runner, tmp_path):
    for args in (["similar", "x.wav"], ["cluster"], ["map", "-o", str(tmp_path / "m.png")]):
        r = runner.invoke(cli, [*args, "--db", str(tmp_path / "none.db")])
        assert r.exit_code == 1 and "no such catalog" in r.output


def test_a_corrupt_file_is_named_once(runner, tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"garbage\n")
    r = runner.invoke(cli, ["index", "-q", str(bad), "--db", str(tmp_path / "l.db")])
    line = [x for x in r.output.splitlines() if x.startswith("muzip: ")][0]
    assert r.exit_code == 1 and line.count(str(bad)) == 1
    fake = tmp_path / "fake.mz"  # named .mz, not one: said as `muzip decompress` says it
    fake.write_bytes(b"garbage\n" * 40)
    r = runner.invoke(cli, ["index", "-q", str(fake), "--db", str(tmp_path / "l.db")])
    assert r.exit_code == 1 and r.output.strip() == f"muzip: {fake}: not a muzip file (bad magic)"
