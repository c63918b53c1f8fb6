"""Another projection of the same descriptors (a refit of embed-v3): a catalog is re-projected from its stored
descriptors instead of read again, and a classifier of either projection still reads it."""

import io
import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.cli import library_cmds
from muzip.library import descriptors as D
from muzip.library import load_embedder
from muzip.library.catalog import Catalog
from muzip.library.collection import adopt_described
from muzip.library.identity import same_descriptors
from muzip.runtime.store import file_sha256, model_folder

RATE = 44100


def _music(seed, seconds=6):
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * RATE) / RATE
    x = sum(0.1 * np.sin(2 * np.pi * 110 * 2 ** (rng.integers(0, 12) / 12) * k * t) for k in (1, 1.5, 2))
    x = x + rng.uniform(0.01, 0.1) * rng.standard_normal(len(t)) * (np.sin(2 * np.pi * rng.uniform(1, 3) * t) > 0.8)
    return np.stack([x, 0.8 * x], axis=1).astype(np.float32)


@pytest.fixture
def refit(tmp_path, monkeypatch):
    """A user-installed 'embed-v3x': embed-v3 with its projection's columns rotated (another fit, same input)."""
    root = tmp_path / "user-models"
    folder = root / "embed-v3x"
    shutil.copytree(model_folder("embed-v3"), folder)
    with np.load(folder / "projection.npz") as z:
        arrays = dict(z)
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((arrays["scalings"].shape[1],) * 2))
    arrays["scalings"] = arrays["scalings"] @ q
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (folder / "projection.npz").write_bytes(buf.getvalue())
    names = [line.split()[1] for line in (folder / "SHA256SUMS").read_text().splitlines() if line.strip()]
    (folder / "SHA256SUMS").write_text("".join(f"{file_sha256(folder / n)}  {n}\n" for n in names))
    monkeypatch.setenv("MUZIP_USER_MODELS", str(root))
    return load_embedder("embed-v3x")


def _use(monkeypatch, embedder):
    monkeypatch.setitem(library_cmds._STATE, "embedder", embedder)


def _vectors(db):
    import sqlite3
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT path, embedder, embedding FROM tracks ORDER BY path").fetchall()
    con.close()
    return [r[1] for r in rows], np.stack([np.frombuffer(r[2], "<f4") for r in rows])


def test_a_catalog_of_another_projection_is_reprojected_not_read_again(runner, tmp_path, monkeypatch, refit):
    v3 = load_embedder("embed-v3")
    assert same_descriptors(v3[1], refit[1]) and not same_descriptors(v3[1], "embed-v2:0123456789abcdef")
    lib = tmp_path / "music"
    lib.mkdir()
    for i in range(4):
        sf.write(lib / f"t{i}.wav", _music(i), RATE, subtype="PCM_16")
    db, fresh = tmp_path / "lib.db", tmp_path / "fresh.db"
    _use(monkeypatch, v3)
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lib), "--db", str(db)]).exit_code == 0
    alone = tmp_path / "alone.db"  # taken over on its own, before index's final refresh
    shutil.copy(db, alone)
    with Catalog(str(alone)) as cat:
        assert adopt_described(cat, refit[0], refit[1]) == 4
    _use(monkeypatch, refit)
    r = runner.invoke(cli, ["index", "-j", "1", str(lib), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert (summary["indexed"], summary["unchanged"], summary["reprojected"]) == (0, 4, 4)
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lib), "--db", str(fresh)]).exit_code == 0
    ids, got = _vectors(db)
    fresh_ids, want = _vectors(fresh)
    assert set(ids) == set(fresh_ids) == {refit[1]}
    np.testing.assert_allclose(got, want, atol=1e-5)  # as if indexed with the new projection from the start
    alone_ids, at_once = _vectors(alone)  # in the same transaction as the relabelling: never a mix
    assert set(alone_ids) == {refit[1]}
    np.testing.assert_allclose(at_once, want, atol=1e-5)
    again = json.loads(runner.invoke(cli, ["index", "-j", "1", str(lib), "--db", str(db), "--json"]).output)
    assert again["reprojected"] == 0 and again["unchanged"] == 4


def test_a_classifier_of_the_earlier_projection_reads_the_reprojected_catalog(runner, tmp_path, monkeypatch, refit):
    lab = tmp_path / "labelled"
    for label, seeds in (("a", range(0, 3)), ("b", range(10, 13))):
        (lab / label).mkdir(parents=True)
        for s in seeds:
            x = _music(s) if label == "a" else np.clip(_music(s) * 8, -0.4, 0.4)
            sf.write(lab / label / f"{s}.wav", x, RATE, subtype="PCM_16")
    clf, db = tmp_path / "c.clf", tmp_path / "lib.db"
    _use(monkeypatch, load_embedder("embed-v3"))
    assert runner.invoke(cli, ["classify", "train", str(lab), "-o", str(clf), "-q", "-j", "1"]).exit_code == 0
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lab), "--db", str(db)]).exit_code == 0
    before = runner.invoke(cli, ["classify", "predict", str(clf), "--db", str(db), "--json"])
    assert before.exit_code == 0, before.output
    _use(monkeypatch, refit)
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lab), "--db", str(db)]).exit_code == 0
    after = runner.invoke(cli, ["classify", "predict", str(clf), "--db", str(db), "--json"])
    assert after.exit_code == 0, after.output
    rows = lambda r: {(d["path"], d["label"]) for d in map(json.loads, r.output.splitlines())}  # noqa: E731
    assert len(rows(after)) == 6 and rows(after) == rows(before)
    one = runner.invoke(cli, ["classify", "predict", str(clf), str(lab / "b" / "11.wav"), "-j", "1", "--json"])
    assert one.exit_code == 0 and json.loads(one.output)["label"] == dict(rows(before))[str(lab / "b" / "11.wav")]


def test_a_classifier_whose_projection_is_gone_asks_to_be_trained_again(runner, tmp_path, monkeypatch, refit):
    from muzip.library import classify as C
    v3, v3_id = load_embedder("embed-v3")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 128 + D.DIM - len(D.FLATNESS_DIMS))).astype(np.float32)
    clf = tmp_path / "x.clf"
    C.save(C.train(X, ["a"] * 3 + ["b"] * 3, refit[1]), str(clf),
           {"collection_stats": v3.stats().tolist(), "features": "projection+descriptor without flatness"})
    f = tmp_path / "q.wav"
    sf.write(f, _music(5), RATE)
    _use(monkeypatch, (v3, v3_id))
    ok = runner.invoke(cli, ["classify", "predict", str(clf), str(f), "-j", "1", "--json"])
    # through embed-v3x's projection (exit 3: the file is unlike the random vectors it was trained on, as is said)
    assert ok.exit_code == 3 and json.loads(ok.stdout)["label"] in ("a", "b") and "unlike every track" in ok.stderr
    shutil.rmtree(model_folder("embed-v3x"))
    gone = runner.invoke(cli, ["classify", "predict", str(clf), str(f), "-j", "1"])
    assert gone.exit_code == 1 and "embed-v3x" in gone.output and "train it again" in gone.output
    assert "Traceback" not in gone.output
