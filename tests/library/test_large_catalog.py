"""A large catalog is kept up to date by what changed: its record of changes, the ANN index updated in place,
the projection's statistics frozen until the catalog doubles."""

import json
import sqlite3

import numpy as np
import pytest

from muzip.library import collection, load_embedder, search
from muzip.library import descriptors as D
from muzip.library.catalog import Catalog

DIM = 24


def _records(vectors, start=0, prefix="/x/"):
    return [{"path": f"{prefix}{start + i}.mz", "size": 1, "mtime": 0.0, "duration": 1.0, "rate": 44100,
             "channels": 2, "tags": {}, "model": "m", "source": "mz", "dim": int(v.size),
             "embedding": np.asarray(v, "<f4").tobytes()} for i, v in enumerate(vectors)]


def _unit(rng, n, dim=DIM):
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _exact(cat, query, n):
    ids, emb, paths = cat.embeddings()
    order = np.argsort(-(emb @ query), kind="stable")[:n]
    return [paths[i] for i in order]


def test_every_write_records_its_tracks_and_an_untracked_write_is_noticed(tmp_path, rng):
    db = str(tmp_path / "c.db")
    with Catalog(db) as cat:
        cat.put_many(_records(_unit(rng, 5)), "e")
        g1 = cat.generation()
        assert cat.changed_since(0).tolist() == [1, 2, 3, 4, 5] and cat.changed_since(g1).tolist() == []
        cat.put_many(_records(_unit(rng, 1), start=2) + _records(_unit(rng, 1), start=9), "e")  # one replaced
        g2 = cat.generation()
        assert cat.changed_since(g1).tolist() == [3, 6]
        cat.prune(keep=lambda p: not p.endswith("/0.mz"))
        assert cat.changed_since(g2).tolist() == [1] and cat.changed_since(g1).tolist() == [1, 3, 6]
        assert cat.changed_since(cat.generation() + 1) is None  # a generation the catalog never had
    con = sqlite3.connect(db)  # what an earlier muzip's write does: the generation moves, nothing is recorded
    with con:
        con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    con.close()
    with Catalog(db) as cat:
        assert cat.changed_since(g2) is None
        before = cat.generation()
        cat.put_many(_records(_unit(rng, 1), start=20), "e")  # tracked again from here on
        assert cat.changed_since(before).tolist() == [7] and cat.changed_since(g2) is None


def _index_meta(db):
    with open(db + ".usearch.json") as f:
        return json.load(f)


def test_the_ann_index_is_updated_by_what_changed_and_answers_as_a_rebuilt_one(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(search, "EXACT_MAX", 10)
    db = str(tmp_path / "c.db")
    with Catalog(db) as cat:
        cat.put_many(_records(_unit(rng, 400)), "e")
        assert search.prepare(cat) and _index_meta(db)["count"] == 400
        built = []
        monkeypatch.setattr(search, "_built", lambda *a, _real=search._built: built.append(1) or _real(*a))
        cat.put_many(_records(_unit(rng, 10), start=400), "e")  # new tracks
        cat.put_many(_records(_unit(rng, 3), start=5), "e")  # tracks whose embedding changed
        bad = np.full(DIM, np.nan, np.float32)
        cat.put_many(_records([bad], start=7), "e")  # one that goes bad: left out, and named
        cat.prune(keep=lambda p: not p.endswith("/9.mz"))
        query = _unit(rng, 1)[0]
        hits = search.nearest(cat, query, 8)
        assert built == [] and _index_meta(db)["count"] == 400 + 10 - 1 - 1
        assert _index_meta(db)["churn"] == 4 and _index_meta(db)["generation"] == cat.generation()
        assert cat.left_out == ["track /x/7.mz: embedding is not finite (NaN or infinity); left out"]
        exact = _exact(cat, query, 8)  # HNSW is approximate (its graph depends on thread timing): 7-8 of 8 seen
        assert hits[0]["path"] == exact[0] and len({h["path"] for h in hits} & set(exact)) >= 6
        for probe in (5, 6, 402):  # the changed and the new tracks are found as themselves
            assert search.nearest(cat, cat.lookup(f"/x/{probe}.mz")[1], 1)[0]["path"] == f"/x/{probe}.mz"
        assert search.nearest(cat, query, 8) == hits  # read back from the saved files


def test_the_ann_index_is_rebuilt_when_most_of_it_changed_or_the_catalog_cannot_say(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(search, "EXACT_MAX", 10)
    db = str(tmp_path / "c.db")
    with Catalog(db) as cat:
        cat.put_many(_records(_unit(rng, 100)), "e")
        search.prepare(cat)
        cat.put_many(_records(_unit(rng, 30)), "e")  # 30 % replaced: past REBUILD_SHARE
        search.prepare(cat)
        assert _index_meta(db)["churn"] == 0
        cat.put_many(_records(_unit(rng, 5)), "e")
        search.prepare(cat)
        assert _index_meta(db)["churn"] == 5
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    con.close()
    with Catalog(db, create=False) as cat:
        search.prepare(cat)
        assert _index_meta(db)["churn"] == 0 and _index_meta(db)["generation"] == cat.generation()


@pytest.fixture(scope="module")
def embed():
    return load_embedder("embed-v3")


def _described(embed, rng, n, start):
    raw = embed.prior_mean + np.sqrt(embed.prior_var) * rng.standard_normal((n, D.DIM))
    provisional = embed.project(raw, embed.stats())
    recs = _records(provisional, start=start)
    for r, d in zip(recs, raw):
        r["descriptor"] = d.astype("<f4").tobytes()
    return recs


def test_a_large_catalogs_statistics_stay_frozen_until_it_doubles(tmp_path, rng, monkeypatch, embed):
    e, eid = embed
    monkeypatch.setattr(collection, "FREEZE_AT", 20)
    with Catalog(str(tmp_path / "c.db")) as cat:
        cat.put_many(_described(e, rng, 24, 0), eid)
        assert collection.refresh(cat, e, eid) == 24
        stats, tracks, _ = cat.collection(eid, D.DIM)
        _, before, _ = cat.embeddings()
        assert collection.refresh(cat, e, eid) == 0  # nothing new: nothing written
        cat.put_many(_described(e, rng, 10, 24), eid)
        assert collection.refresh(cat, e, eid) == 10  # only the new tracks, with the stored statistics
        frozen, tracks2, _ = cat.collection(eid, D.DIM)
        _, after, _ = cat.embeddings()
        assert tracks2 == tracks == 24 and np.array_equal(frozen, stats)
        assert np.array_equal(after[:24], before)
        ids, raw = cat.descriptors(eid, D.DIM)
        np.testing.assert_allclose(after[24:], e.project(raw[24:], stats), atol=1e-6)
        cat.put_many(_described(e, rng, 20, 34), eid)  # 54 tracks > 2 x 24: statistics computed again
        assert collection.refresh(cat, e, eid) == 54
        restat, tracks3, _ = cat.collection(eid, D.DIM)
        assert tracks3 == 54 and not np.allclose(restat, stats)


def test_a_small_catalog_is_always_projected_with_its_current_statistics(tmp_path, rng, embed):
    e, eid = embed
    with Catalog(str(tmp_path / "c.db")) as cat:
        cat.put_many(_described(e, rng, 6, 0), eid)
        collection.refresh(cat, e, eid)
        cat.put_many(_described(e, rng, 1, 6), eid)
        assert collection.refresh(cat, e, eid) == 7
        ids, raw = cat.descriptors(eid, D.DIM)
        stats = e.stats(raw[np.lexsort(raw.T[::-1])])
        np.testing.assert_array_equal(cat.embeddings()[1], e.project(raw, stats))


def test_index_of_new_files_updates_a_large_catalog_instead_of_rebuilding_it(runner, tmp_path, monkeypatch):
    import soundfile as sf

    from muzip.cli import cli
    monkeypatch.setattr(search, "EXACT_MAX", 2)
    monkeypatch.setattr(collection, "FREEZE_AT", 2)
    lib, db = tmp_path / "music", str(tmp_path / "lib.db")
    lib.mkdir()
    rng = np.random.default_rng(3)
    for i in range(9):
        x = 0.1 * rng.standard_normal((2 * 44100, 2)) * np.sin(np.arange(2 * 44100) / (200 + 100 * i))[:, None]
        sf.write(lib / f"t{i}.wav", x.astype(np.float32), 44100, subtype="PCM_16")
    moved = tmp_path / "t8.wav"  # indexed by the second run: one track in nine, under REBUILD_SHARE
    (lib / "t8.wav").rename(moved)
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lib), "--db", db]).exit_code == 0
    first = _index_meta(db)
    with Catalog(db, create=False) as cat:
        _, before, _ = cat.embeddings()
    built = []
    monkeypatch.setattr(search, "_built", lambda *a, _real=search._built: built.append(1) or _real(*a))
    moved.rename(lib / "t8.wav")
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lib), "--db", db]).exit_code == 0
    with Catalog(db, create=False) as cat:
        _, after, paths = cat.embeddings()
        assert built == [] and _index_meta(db)["count"] == first["count"] + 1 == 9
        assert np.array_equal(after[:8], before)  # statistics frozen: the earlier tracks' vectors stay
    r = runner.invoke(cli, ["similar", str(lib / "t8.wav"), "--db", db, "-n", "2", "--json"])
    hits = json.loads(r.output)
    assert r.exit_code == 0 and len(hits) == 2 and str(lib / "t8.wav") not in [h["path"] for h in hits]
    with Catalog(db, create=False) as cat:
        assert [h["path"] for h in hits] == _exact(cat, after[8], 3)[1:]


def test_the_codec_runtime_loads_after_the_vector_index():
    """usearch's extension carries its own C++ runtime; onnxruntime imported after it crashed the process
    (a `similar --playlist` decodes a .mz outside the catalog after its search). A fresh interpreter: the
    import order is the point."""
    import subprocess
    import sys
    code = ("from muzip.library import search; search._index_class()(ndim=4, metric='cos', dtype='f16'); "
            "import onnxruntime; print('loaded')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "loaded"), done.stderr[-500:]


def test_clusters_above_the_dense_limit_come_from_k_means_centroids(rng, monkeypatch):
    """Above DENSE_MAX, AP groups k-means centroids: well-separated groups are still found, and every
    exemplar is a member of its own cluster."""
    from sklearn.metrics import normalized_mutual_info_score

    from muzip.library import cluster as K
    monkeypatch.setattr(K, "DENSE_MAX", 100)
    centres = rng.standard_normal((5, 32))
    truth = np.repeat(np.arange(5), 120)
    emb = centres[truth] + 0.15 * rng.standard_normal((600, 32))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels, exemplars = K.affinity_clusters(emb)
    assert normalized_mutual_info_score(truth, labels) > 0.9
    assert all(labels[ex] == k for k, ex in enumerate(exemplars))


def test_an_index_of_another_catalog_or_written_over_is_never_used(tmp_path, rng, monkeypatch):
    """A review (session 62): a catalog made anew in the same place with as many tracks (the same generation)
    took the old catalog's index (recall@10 0.002), and an index file written over in place gave NaN scores
    and wrong neighbours, exit 0. The index now names its catalog and the hash of its bytes."""
    import os
    import shutil
    monkeypatch.setattr(search, "EXACT_MAX", 10)
    one, other = str(tmp_path / "one.db"), str(tmp_path / "other.db")
    for db in (one, other):
        with Catalog(db) as cat:
            cat.put_many(_records(_unit(rng, 300)), "e")
            search.prepare(cat)
    meta = _index_meta(one)
    assert meta["catalog"] and meta["catalog"] != _index_meta(other)["catalog"] and len(meta["sha256"]) == 64
    for suffix in (".usearch", ".usearch.json"):
        shutil.copy(one + suffix, other + suffix)  # the other catalog, with the first one's index beside it
    with Catalog(other, create=False) as cat:
        query = _unit(rng, 1)[0]
        assert search.nearest(cat, query, 1)[0]["path"] == _exact(cat, query, 1)[0]
        assert _index_meta(other)["catalog"] == cat.identity()  # rebuilt for it
    size = os.path.getsize(one + ".usearch")
    with open(one + ".usearch", "r+b") as f:  # written over in its middle, the size kept
        f.seek(size // 3)
        f.write(np.random.default_rng(0).bytes(size // 3))
    search._OPENED.clear()
    with Catalog(one, create=False) as cat:
        hits = search.nearest(cat, cat.lookup("/x/7.mz")[1], 3)
        assert hits[0]["path"] == "/x/7.mz" and all(np.isfinite(h["score"]) for h in hits)
        assert _index_meta(one)["file"] == [os.stat(one + ".usearch").st_mtime_ns, size]


def test_an_index_of_the_same_bytes_with_another_time_is_hashed_once(tmp_path, rng, monkeypatch):
    """A copy or a restore changes the index file's time, not its bytes: every query hashed it again (a second
    a query at a million tracks; a diff review, session 62). The first hash that matches is noted."""
    import os
    monkeypatch.setattr(search, "EXACT_MAX", 10)
    db = str(tmp_path / "c.db")
    with Catalog(db) as cat:
        cat.put_many(_records(_unit(rng, 200)), "e")
        search.prepare(cat)
    os.utime(db + ".usearch", (1, 1))
    hashed = []
    monkeypatch.setattr(search, "_sha256", lambda p, _real=search._sha256: hashed.append(p) or _real(p))
    for _ in range(3):
        search._OPENED.clear()
        with Catalog(db, create=False) as cat:
            assert search.nearest(cat, cat.lookup("/x/3.mz")[1], 1)[0]["path"] == "/x/3.mz"
    assert hashed == [db + ".usearch"] and _index_meta(db)["file"][0] == 1_000_000_000
