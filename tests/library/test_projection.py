"""embed-v3: the collection's statistics, the projection, and the catalog and classifier that keep them."""

import io
import json
import sqlite3

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.defaults import DEFAULT_EMBEDDER
from muzip.errors import ModelError
from muzip.library import descriptors as D
from muzip.library import load_embedder
from muzip.library.projection import PATTERN_FEATURES, DescriptorEmbedder, load_descriptor_embedder

RATE = 44100


@pytest.fixture(scope="module")
def embed():
    e, eid = load_embedder(DEFAULT_EMBEDDER)
    assert isinstance(e, DescriptorEmbedder) and eid.startswith(f"{DEFAULT_EMBEDDER}:")
    return e


def test_a_small_collection_leans_on_the_prior_and_a_large_one_on_itself(embed, rng):
    prior = embed.stats()
    raw_dim = embed.prior_mean.shape[0]  # the descriptors and, for embed-v4, the onset patterns after them
    np.testing.assert_allclose(prior, embed.stats(np.zeros((0, raw_dim))))
    shifted = embed.prior_mean + 3 * np.sqrt(embed.prior_var)
    one = embed.stats(shifted[None])
    many = embed.stats(shifted + 0.1 * np.sqrt(embed.prior_var) * rng.standard_normal((4000, raw_dim)))
    gap_one, gap_many = np.abs(one[0] - shifted).mean(), np.abs(many[0] - shifted).mean()
    assert gap_many < 0.05 * np.sqrt(embed.prior_var).mean() < gap_one
    assert np.all(many[1] < prior[1])  # a tight collection: its own, smaller spread


def test_what_a_whole_collection_shares_does_not_move_its_vectors(embed, rng):
    """A collection uniformly louder, brighter or coded (the same shift on every track) projects as before."""
    raw = embed.prior_mean + np.sqrt(embed.prior_var) * rng.standard_normal((3000, embed.prior_mean.shape[0]))
    a = embed.project(raw, embed.stats(raw))
    shift = np.sqrt(embed.prior_var) * rng.standard_normal(embed.prior_mean.shape[0])
    b = embed.project(raw + shift, embed.stats(raw + shift))
    assert a.shape == (3000, embed.dim)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(a * b, axis=1))) > 0.99


def test_a_damaged_or_foreign_projection_is_refused():
    good = {"scalings": np.eye(D.DIM)[:, :8], "prior_mean": np.zeros(D.DIM), "prior_var": np.ones(D.DIM)}
    config = {"features": f"mdct descriptors v{D.VERSION}"}

    def npz(**arrays):
        buf = io.BytesIO()
        np.savez(buf, **{**good, **arrays})
        return buf.getvalue()
    assert load_descriptor_embedder("x", config, npz()).dim == 8
    for bad in (npz(scalings=np.eye(7)), npz(prior_var=-np.ones(D.DIM)), npz(prior_mean=np.full(D.DIM, np.nan)),
                b"not a zip"):
        with pytest.raises(ModelError):
            load_descriptor_embedder("x", config, bad)
    with pytest.raises(ModelError, match="features"):
        load_descriptor_embedder("x", {"features": "mdct descriptors v1"}, npz())
    with pytest.raises(ModelError, match="onset patterns"):  # embed-v4's features: longer descriptors
        load_descriptor_embedder("x", {"features": PATTERN_FEATURES}, npz())


def test_embed_v4_reads_embed_v3s_descriptors_and_onset_patterns_after_them(rng):
    """embed-v4's raw descriptor is embed-v3's followed by the onset patterns, so a classifier of embed-v3 or
    v3.1 reads an embed-v4 catalog's descriptors (their first values), and not the other way round."""
    from muzip.library import load_embedder
    from muzip.library.identity import reads_descriptors_of, same_descriptors
    (v3, id3), (v31, id31), (v4, id4) = (load_embedder(n) for n in ("embed-v3", "embed-v3.1", "embed-v4"))
    x = np.tanh(rng.standard_normal((3, 40, 882)).astype(np.float32))  # 0.8 s of coefficients, one run
    runs = [x[:2], x[1:]]
    np.testing.assert_array_equal(v4.describe(runs, RATE)[:D.DIM], v3.describe(runs, RATE))
    assert v4.describe(runs, RATE).shape == (D.DIM + 160,)
    assert same_descriptors(id3, id31) and not same_descriptors(id31, id4)
    assert reads_descriptors_of(id31, id4) and reads_descriptors_of(id3, id31)
    assert not reads_descriptors_of(id4, id31)


def test_embed_v5_reads_its_own_version_of_the_onset_patterns(rng):
    """embed-v5's patterns read each band's onsets over a floor (onset patterns v2): its descriptors begin with
    embed-v3's, as embed-v4's do, and its patterns are not embed-v4's, so neither reads the other's catalog."""
    from muzip.library import load_embedder
    from muzip.library import onset_patterns as P
    from muzip.library.identity import reads_descriptors_of, same_descriptors
    (v31, id31), (v4, id4), (v5, id5) = (load_embedder(n) for n in ("embed-v3.1", "embed-v4", "embed-v5"))
    x = np.tanh(rng.standard_normal((2, 300, 882)).astype(np.float32)) * np.repeat(rng.random(30) > 0.5, 10)[:, None]
    four, five = v4.describe([x], RATE), v5.describe([x], RATE)
    np.testing.assert_array_equal(four[:D.DIM], five[:D.DIM])
    np.testing.assert_allclose(four[D.DIM:], P.onset_patterns([x], RATE, None), rtol=1e-6)
    np.testing.assert_allclose(five[D.DIM:], P.onset_patterns([x], RATE, 10.0), rtol=1e-6)
    assert np.abs(four[D.DIM:] - five[D.DIM:]).mean() > 0.01
    assert P.FLOOR_DB[P.VERSION] == 10.0 and P.FLOOR_DB[1] is None
    assert not same_descriptors(id4, id5)
    assert not reads_descriptors_of(id4, id5) and not reads_descriptors_of(id5, id4)
    assert reads_descriptors_of(id31, id5)


def _music(seed, seconds=8):
    """Distinct synthetic 'tracks' with a noise bed, a chord and a beat (varying with the seed)."""
    rng = np.random.default_rng(seed)
    n = seconds * RATE
    t = np.arange(n) / RATE
    root = 110 * 2 ** (rng.integers(0, 12) / 12)
    chord = sum(0.08 * np.sin(2 * np.pi * root * k * t) for k in (1, 1.25, 1.5, 2))
    beat = (np.sin(2 * np.pi * rng.uniform(1, 3) * t) > 0.9) * rng.standard_normal(n) * rng.uniform(0.05, 0.4)
    spec = np.fft.rfft(rng.standard_normal(n)) / np.maximum(np.fft.rfftfreq(n, 1 / RATE), 30.0) ** rng.uniform(0.3, 0.9)
    bed = np.fft.irfft(spec, n)
    bed *= rng.uniform(0.01, 0.05) / bed.std()
    x = chord + beat + bed
    return np.stack([x, x * rng.uniform(0.6, 1.0)], axis=1).astype(np.float32)


def _catalog_state(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    meta = dict(con.execute("SELECT key, value FROM meta"))
    described = con.execute("SELECT COUNT(*) FROM descriptors").fetchone()[0]
    emb = [np.frombuffer(b, "<f4") for (b,) in con.execute("SELECT embedding FROM tracks ORDER BY id")]
    con.close()
    return meta, described, np.stack(emb)


def test_index_projects_every_track_with_the_catalogs_statistics(runner, tmp_path, embed):
    lib = tmp_path / "music"
    lib.mkdir()
    for i in range(5):
        sf.write(lib / f"t{i}.wav", _music(i), RATE, subtype="PCM_16")
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lib), "--db", str(db)]).exit_code == 0
    meta, described, first = _catalog_state(db)
    stats = np.asarray(json.loads(meta["collection"])["stats"])
    assert described == 5 and stats.shape == (2, embed.prior_mean.shape[0]) and json.loads(meta["collection"])["embedder"].startswith(
        f"{DEFAULT_EMBEDDER}:")
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    sf.write(lib / "t5.wav", _music(5), RATE, subtype="PCM_16")  # a new track moves the statistics ...
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lib), "--db", str(db)]).exit_code == 0
    meta2, described2, second = _catalog_state(db)
    assert described2 == 6 and int(meta2["generation"]) > int(meta["generation"])
    assert not np.allclose(first, second[:5])  # ... and every stored vector follows them
    copy = tmp_path / "copy.wav"  # a file outside the catalog is projected with the catalog's statistics
    copy.write_bytes((lib / "t3.wav").read_bytes())
    r = runner.invoke(cli, ["similar", str(copy), "--db", str(db), "-n", "1", "--json"])
    hit = json.loads(r.output)[0]
    assert hit["path"].endswith("t3.wav") and hit["score"] > 0.999


def test_index_says_which_tracks_of_an_older_embedder_it_reads_again(runner, tmp_path, monkeypatch):
    """A catalog of embed-v3.1 indexed by embed-v4 on one of its two folders: that folder's tracks are read
    again, and the line before the run says the other folder's stay as they were."""
    from muzip.cli import library_cmds
    from muzip.library import load_embedder
    for sub, seeds in (("a", (1, 2)), ("b", (3,))):
        (tmp_path / sub).mkdir()
        for s in seeds:
            sf.write(tmp_path / sub / f"{s}.wav", _music(s, 5), RATE)
    db = str(tmp_path / "lib.db")
    monkeypatch.setitem(library_cmds._STATE, "embedder", load_embedder("embed-v3.1"))
    assert runner.invoke(cli, ["index", str(tmp_path / "a"), str(tmp_path / "b"), "--db", db, "-q", "-j", "1"]).exit_code == 0
    monkeypatch.setitem(library_cmds._STATE, "embedder", load_embedder(DEFAULT_EMBEDDER))
    r = runner.invoke(cli, ["index", str(tmp_path / "a"), "--db", db, "-j", "1"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == f"{db}: 2 tracks indexed with embed-v3.1; {DEFAULT_EMBEDDER} reads them again"
    assert lines[1].startswith(f"{db}: 1 track outside these paths stays indexed with embed-v3.1 until")
    assert f"{db}: 2 indexed, 0 unchanged, 0 failed" in r.output
    for cmd in (["similar", str(tmp_path / "a" / "1.wav")], ["cluster"]):  # two embedders' vectors: said so
        r = runner.invoke(cli, [*cmd, "--db", db])
        assert r.exit_code == 3 and f"muzip: warning: {db}: holds the vectors of 2 embedders (embed-v3.1, " \
            f"{DEFAULT_EMBEDDER})" in r.output, r.output
    # a classifier of the new embedder cannot read the older one's catalog: the cure is indexing, not training
    lab = tmp_path / "lab"
    for label, seeds in (("x", (4, 5)), ("y", (6, 7))):
        (lab / label).mkdir(parents=True)
        for s in seeds:
            sf.write(lab / label / f"{s}.wav", _music(s, 5), RATE)
    clf = str(tmp_path / "c.clf")
    assert runner.invoke(cli, ["classify", "train", str(lab), "-o", clf, "-q", "-j", "1"]).exit_code == 0
    old = str(tmp_path / "old.db")
    monkeypatch.setitem(library_cmds._STATE, "embedder", load_embedder("embed-v3.1"))
    assert runner.invoke(cli, ["index", str(tmp_path / "b"), "--db", old, "-q", "-j", "1"]).exit_code == 0
    monkeypatch.setitem(library_cmds._STATE, "embedder", load_embedder(DEFAULT_EMBEDDER))
    r = runner.invoke(cli, ["classify", "predict", clf, "--db", old])
    assert r.exit_code == 1 and "run `muzip index` on the library again" in r.output
    # embed-v4's descriptors are as long as embed-v5's, with another version of the patterns: the same cure
    v4 = str(tmp_path / "v4.db")
    monkeypatch.setitem(library_cmds._STATE, "embedder", load_embedder("embed-v4"))
    assert runner.invoke(cli, ["index", str(tmp_path / "b"), "--db", v4, "-q", "-j", "1"]).exit_code == 0
    monkeypatch.setitem(library_cmds._STATE, "embedder", load_embedder(DEFAULT_EMBEDDER))
    r = runner.invoke(cli, ["classify", "predict", clf, "--db", v4])
    assert r.exit_code == 1 and "embed-v4's; run `muzip index` on the library again" in r.output, r.output


def test_a_catalog_of_another_embedder_asks_to_be_indexed_again(runner, tmp_path):
    from muzip.library.catalog import Catalog
    db = tmp_path / "old.db"
    v = np.zeros(128, np.float32)
    v[0] = 1
    with Catalog(str(db)) as cat:
        cat.put_many([{"path": "/x/a.mz", "size": 1, "mtime": 0.0, "duration": 1.0, "rate": RATE, "channels": 2,
                       "tags": {}, "model": "m", "source": "mz", "dim": 128, "embedding": v.tobytes()}],
                     "embed-v2:0123456789abcdef")
    f = tmp_path / "q.wav"
    sf.write(f, _music(1), RATE)
    r = runner.invoke(cli, ["similar", str(f), "--db", str(db)])
    assert r.exit_code == 1 and "indexed with embed-v2" in r.output and "muzip index" in r.output


def test_a_classifier_keeps_its_training_collections_statistics(runner, tmp_path, embed):
    lab = tmp_path / "labelled"
    for label, seeds in (("a", range(0, 4)), ("b", range(10, 14))):
        (lab / label).mkdir(parents=True)
        for s in seeds:
            x = _music(s)
            if label == "b":
                x = np.clip(x * 6, -0.5, 0.5)  # distorted and loud: a timbre of its own
            sf.write(lab / label / f"{s}.wav", x, RATE, subtype="PCM_16")
    clf = tmp_path / "c.clf"
    r = runner.invoke(cli, ["classify", "train", str(lab), "-o", str(clf), "-q", "-j", "1"])
    assert r.exit_code == 0, r.output
    with np.load(clf) as z:
        meta = json.loads(z["meta"].tobytes())
    assert np.asarray(meta["collection_stats"]).shape == (2, embed.prior_mean.shape[0])
    r = runner.invoke(cli, ["classify", "predict", str(clf), str(lab / "b" / "12.wav"), str(lab / "a" / "2.wav"),
                            "--json", "-j", "1"])
    got = {json.loads(line)["path"].rsplit("/", 2)[-2]: json.loads(line)["label"] for line in r.stdout.splitlines()}
    assert got == {"a": "a", "b": "b"}
    assert meta["features"] == "projection+descriptor without flatness"
    with np.load(clf) as z:  # the vector and the standardized descriptor beside it, less its flatness (and patterns)
        assert z["coef"].shape == (2, 128 + D.DIM - len(D.FLATNESS_DIMS))
    # a catalog's tracks are read the same way: their descriptors under the classifier's statistics, so a
    # track's label and scores are its file's, whatever else the catalog holds (here louder, other music)
    other = tmp_path / "other"
    other.mkdir()
    for s in range(20, 23):
        sf.write(other / f"{s}.wav", np.clip(_music(s) * 3, -0.9, 0.9), RATE, subtype="PCM_16")
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", str(lab), str(other), "--db", str(db), "-q", "-j", "1"]).exit_code == 0
    r = runner.invoke(cli, ["classify", "predict", str(clf), "--db", str(db), "--json"])
    rows = {json.loads(line)["path"]: json.loads(line) for line in r.stdout.splitlines()}
    assert r.exit_code in (0, 3) and len(rows) == 11, r.output  # 3: louder, clipped music may be unlike them
    mine = [row for path, row in rows.items() if "/labelled/" in path]
    assert not any(row["unlike_training"] for row in mine)  # the training tracks themselves
    assert sum(row["label"] == row["path"].rsplit("/", 2)[-2] for row in mine) >= 7
    one = runner.invoke(cli, ["classify", "predict", str(clf), str(lab / "b" / "12.wav"), "--json", "-j", "1"])
    alone = json.loads(one.stdout)
    in_catalog = rows[alone["path"]]
    assert in_catalog["label"] == alone["label"]
    assert all(abs(in_catalog["scores"][k] - v) <= 2e-6 for k, v in alone["scores"].items())


def test_an_older_classifier_of_unit_vectors_still_predicts(runner, tmp_path):
    """A classifier trained before the descriptor branch (no "features" in its meta) reads the 128-d vectors."""
    from muzip.library import classify as C
    from muzip.library import load_embedder
    embed, eid = load_embedder("embed-v3")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((8, 128)).astype(np.float32)
    clf = tmp_path / "old.clf"
    C.save(C.train(X / np.linalg.norm(X, axis=1, keepdims=True), ["a"] * 4 + ["b"] * 4, eid), str(clf),
           {"collection_stats": embed.stats().tolist()})
    f = tmp_path / "q.wav"
    sf.write(f, _music(3), RATE)
    r = runner.invoke(cli, ["classify", "predict", str(clf), str(f), "-j", "1", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["label"] in ("a", "b")


def test_a_classifier_of_the_whole_descriptor_still_predicts(runner, tmp_path):
    """A classifier written before session 42 ("projection+descriptor") reads the descriptor with its flatness,
    from files and from a catalog (a predict with the wrong width would fail in the regression)."""
    from muzip.library import classify as C
    from muzip.library import load_embedder
    embed, eid = load_embedder("embed-v3")
    rng = np.random.default_rng(2)
    X = rng.standard_normal((8, 128 + D.DIM)).astype(np.float32)
    clf = tmp_path / "whole.clf"
    C.save(C.train(X, ["a"] * 4 + ["b"] * 4, eid), str(clf),
           {"collection_stats": embed.stats().tolist(), "features": "projection+descriptor"})
    folder = tmp_path / "music"
    folder.mkdir()
    for s in (3, 4):
        sf.write(folder / f"{s}.wav", _music(s), RATE)
    r = runner.invoke(cli, ["classify", "predict", str(clf), str(folder / "3.wav"), "-j", "1", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["label"] in ("a", "b")
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", str(folder), "--db", str(db), "-q", "-j", "1"]).exit_code == 0
    r = runner.invoke(cli, ["classify", "predict", str(clf), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    assert len(r.output.splitlines()) == 2
    # the catalog is the default embedder's (embed-v4: longer descriptors): a track reads as its file does
    from_file = runner.invoke(cli, ["classify", "predict", str(clf), str(folder / "3.wav"), "-j", "1", "--json"])
    by_path = {json.loads(ln)["path"]: json.loads(ln) for ln in r.output.splitlines()}
    np.testing.assert_allclose(list(by_path[str(folder / "3.wav")]["scores"].values()),
                               list(json.loads(from_file.output)["scores"].values()), atol=1e-5)


def test_flatness_dims_are_the_flatness_statistics():
    """FLATNESS_DIMS points at the flatness per octave: a pure tone has a spiky spectrum (flatness near 0 in its
    octave), white noise a flat one (near 0.56 for an MDCT's exponential power), the other blocks untouched."""
    rng = np.random.default_rng(0)
    t = np.arange(RATE * 4) / RATE
    tone = np.stack([0.3 * np.sin(2 * np.pi * 1500 * t)] * 2, axis=1)
    noise = 0.1 * rng.standard_normal((RATE * 4, 2))
    f_tone = D.audio_descriptor(tone.astype(np.float32), RATE)[D.FLATNESS_DIMS]
    f_noise = D.audio_descriptor(noise.astype(np.float32), RATE)[D.FLATNESS_DIMS]
    means_tone, means_noise = f_tone[0::2], f_noise[0::2]  # (mean, std) per octave
    assert means_tone[2] < 0.05  # 1-2 kHz holds the tone
    assert np.all((means_noise > 0.4) & (means_noise < 0.7))
    assert len(D.FLATNESS_DIMS) == 2 * (len(D.FLATNESS_OCTAVES) - 1) and D.FLATNESS_DIMS[-1] == D.DIM - D.STEREO_BANDS - 1


def test_a_classifier_of_another_embedder_is_refused(runner, tmp_path):
    from muzip.library import classify as C
    clf = tmp_path / "old.clf"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 128)).astype(np.float32)
    C.save(C.train(X / np.linalg.norm(X, axis=1, keepdims=True), ["a"] * 4 + ["b"] * 4, "embed-v2:0123456789abcdef"),
           str(clf))
    f = tmp_path / "q.wav"
    sf.write(f, _music(2), RATE)
    r = runner.invoke(cli, ["classify", "predict", str(clf), str(f), "-j", "1"])
    assert r.exit_code == 1 and f"trained on embed-v2 vectors, these are {DEFAULT_EMBEDDER}'s" in r.output
