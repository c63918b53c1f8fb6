"""`muzip dupes` and its fingerprints: one recording in several formats, not another take or a remaster."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.codec import compress_array, load_model
from muzip.library import fingerprint as F
from muzip.library.coefficients import coefficient_runs

CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"


def _remaster(x, sr):  # another master: brighter above 1 kHz, 3 dB louder through a soft limiter
    spec = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(len(x), 1 / sr)
    y = np.fft.irfft(spec * (10 ** (2 * np.log2(np.maximum(f, 1000) / 1000) / 20))[:, None], len(x), axis=0)
    return (np.tanh(y * 10 ** (3 / 20) * 1.5) / 1.5).astype(np.float32)


def _take(x, sr):  # another performance: 2 % faster (other timing)
    import soxr
    return soxr.resample(x, sr * 1.02, sr).astype(np.float32)


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    import lameenc
    folder = tmp_path_factory.mktemp("dupes")
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    sf.write(folder / "clip.flac", x, sr)
    (folder / "clip16.mz").write_bytes(compress_array(x, sr, 16, load_model()))
    enc = lameenc.Encoder()
    enc.set_bit_rate(128)
    enc.set_in_sample_rate(sr)
    enc.set_channels(2)
    (folder / "clip.mp3").write_bytes(enc.encode((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()) + enc.flush())
    import soxr
    sf.write(folder / "clip16k.flac", soxr.resample(x, sr, 16000), 16000)  # a low-rate copy: nothing above 8 kHz
    sf.write(folder / "remaster.flac", _remaster(x, sr), sr)
    sf.write(folder / "take.flac", _take(x, sr), sr)
    rng = np.random.default_rng(0)
    sf.write(folder / "noise.wav", (0.1 * rng.standard_normal(x.shape)).astype(np.float32), sr)
    return folder


def _fp(path):
    runs, rate, _ = coefficient_runs(str(path), load_model)
    return F.fingerprint(runs, rate)


def test_a_fingerprint_reads_back_and_damage_is_refused(versions):
    fp = _fp(versions / "clip.flac")
    levels, runs = F.parse(fp)
    assert levels.shape == (F.D.BANDS,) and len(runs) >= 1 and runs[0].dtype == np.uint8
    for bad in (fp[:-3], b"MZF0" + fp[4:], fp + b"\0", b""):
        with pytest.raises(ValueError):
            F.parse(bad)


def test_formats_are_one_recording_and_a_take_or_remaster_is_not(versions):
    flac = _fp(versions / "clip.flac")
    for name in ("clip16.mz", "clip.mp3", "clip16k.flac"):
        same, ber, gap = F.duplicate(flac, _fp(versions / name))
        assert same and ber < F.MAX_BER and gap < F.MAX_LEVEL_DB, (name, ber, gap)
    same, ber, gap = F.duplicate(flac, _fp(versions / "remaster.flac"), align=True)
    assert not same and ber < F.MAX_BER and gap > F.MAX_LEVEL_DB  # one performance, another master
    assert np.isnan(F.duplicate(flac, _fp(versions / "remaster.flac"))[1])  # told apart without aligning
    one, _ = F.same_recording(flac, _fp(versions / "take.flac"))
    assert not one


def _with_levels(fp, levels):
    return fp[:6] + np.asarray(levels, "<f4").tobytes() + fp[6 + 4 * F.D.BANDS:]


def test_a_treble_shelf_is_not_a_low_pass_and_the_prefilter_keeps_every_same_master(versions):
    """A master 12 dB brighter from 7 kHz up is another master (a low-pass's stop band lies near the weaker
    file's floor); and low_band_excess, which spares `dupes` the alignment, never drops a pair level_gap
    accepts -- even with near-silent low bands that level_gap leaves out."""
    flac = _fp(versions / "clip.flac")
    levels, _ = F.parse(flac)
    bright = levels + 12.0 * (F.band_edges()[:-1] >= 7000)
    assert F.level_gap(flac, _with_levels(flac, bright)) >= F.MAX_LEVEL_DB
    assert not F.duplicate(flac, _with_levels(flac, bright))[0]
    quiet = levels.copy()
    quiet[:2] = levels.max() - 55  # two bass bands under both files' floor, far apart
    other = _with_levels(_fp(versions / "clip.mp3"), np.r_[levels.max() - 100, levels.max() - 100,
                                                           F.parse(_fp(versions / "clip.mp3"))[0][2:]])
    pairs = [(_with_levels(flac, quiet), other)] + [(flac, _fp(versions / n)) for n in
                                                    ("clip.mp3", "clip16.mz", "clip16k.flac", "remaster.flac")]
    for a, b in pairs:
        excess = F.low_band_excess(F.levels(b)[None], F.levels(a))[0]
        assert excess < 0 or F.level_gap(a, b) >= F.MAX_LEVEL_DB
    assert F.level_gap(*pairs[0]) < F.MAX_LEVEL_DB  # the near-silent bands left out: still one master


def test_a_copy_cut_too_low_to_tell_a_remaster_is_not_judged(versions, tmp_path):
    """At 11 kHz sampling (nothing above 5.5 kHz) the levels left to compare cannot tell a treble-boosted
    remaster from the original (docs/EXPERIMENTS.md, session 44): one recording, but never called one master."""
    import soxr
    x, sr = sf.read(versions / "clip.flac", dtype="float32", always_2d=True)
    sf.write(tmp_path / "clip11k.flac", soxr.resample(x, sr, 11025), 11025)
    low = _fp(tmp_path / "clip11k.flac")
    one, _ = F.same_recording(_fp(versions / "clip.flac"), low)
    assert one and F.level_gap(_fp(versions / "clip.flac"), low) == float("inf")


def test_dupes_finds_a_low_rate_copy_that_is_no_embedding_neighbour(runner, versions, tmp_path, monkeypatch):
    """With one embedding neighbour each, the 16-kHz copy is still compared with its original: by the levels of
    the bands it keeps."""
    import muzip.library.copies as K
    monkeypatch.setattr(K, "NEIGHBOURS", 1)
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    r = runner.invoke(cli, ["dupes", "--db", str(db), "--json"])
    groups = [sorted(Path(p).name for p in g) for g in json.loads(r.stdout)["groups"]]
    assert groups == [["clip.flac", "clip.mp3", "clip16.mz", "clip16k.flac"]]


def test_dupes_groups_them_through_the_catalog(runner, versions, tmp_path):
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    r = runner.invoke(cli, ["dupes", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    groups = [sorted(Path(p).name for p in g) for g in json.loads(r.stdout)["groups"]]
    assert groups == [["clip.flac", "clip.mp3", "clip16.mz", "clip16k.flac"]]
    r = runner.invoke(cli, ["dupes", "--db", str(db)])
    lines = r.stdout.splitlines()
    assert lines[0] == "group 1 (4 files, the best copy first)"
    # the copy to keep first, each file said what it is: the band it holds, lossless, then by bitrate
    assert [line.split()[0].rsplit("/", 1)[1] for line in lines[1:]] == ["clip.flac", "clip.mp3", "clip16.mz",
                                                                         "clip16k.flac"]
    assert lines[1].endswith("(FLAC, 44.1 kHz; best)") and "(MP3 at 12" in lines[2]
    assert "(muzip-v2.7 at 1" in lines[3] and lines[4].endswith("(FLAC, 16 kHz)")
    # an instant mix plays a recording once, whichever of its files comes up
    r = runner.invoke(cli, ["similar", str(versions / "clip.flac"), "--db", str(db), "--playlist", "4", "--json"])
    mix = [Path(m["path"]).name for m in json.loads(r.stdout)]
    assert mix[0] == "clip.flac" and len(mix) == 4 and not {"clip.mp3", "clip16.mz", "clip16k.flac"} & set(mix)


def test_similar_lists_the_copies_of_a_recording_first_and_marks_them(runner, versions, tmp_path):
    """A 16-kHz copy lies far from its original by embedding; `similar` finds it by fingerprint, lists it first
    with the other copies, and marks them; another take and a remaster are not marked (they may be near)."""
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    copies = {"clip.flac", "clip.mp3", "clip16.mz", "clip16k.flac"}
    for query in sorted(copies):
        r = runner.invoke(cli, ["similar", str(versions / query), "--db", str(db), "-n", "6", "--json"])
        assert r.exit_code == 0, r.output
        hits = json.loads(r.stdout)
        marked = [Path(h["path"]).name for h in hits if h["same_recording"]]
        assert sorted(marked) == sorted(copies - {query}), query
        assert [h["same_recording"] for h in hits] == [True] * 3 + [False] * 3  # the copies first
        first = [h["score"] for h in hits]
        assert first[:3] == sorted(first[:3], reverse=True) and first[3:] == sorted(first[3:], reverse=True)
    r = runner.invoke(cli, ["similar", str(versions / "clip16k.flac"), "--db", str(db), "-n", "2"])
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and all(line.endswith("  (same recording)") for line in lines), r.stdout
    r = runner.invoke(cli, ["similar", str(versions / "take.flac"), "--db", str(db), "-n", "6", "--json"])
    assert not any(h["same_recording"] for h in json.loads(r.stdout))


def test_similar_lists_another_recording_once_whatever_its_copies(runner, versions, tmp_path):
    """Another recording's four files are one line: its best copy (the FLAC: the highest rate, then the largest
    file) at its nearest copy's score, the others named in "copies" -- not four of the n lines."""
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    r = runner.invoke(cli, ["similar", str(versions / "take.flac"), "--db", str(db), "-n", "6", "--json"])
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)
    names = [Path(h["path"]).name for h in hits]
    assert sorted(names) == ["clip.flac", "noise.wav", "remaster.flac"], names  # every recording, each once
    clip = hits[names.index("clip.flac")]
    assert sorted(Path(p).name for p in clip["copies"]) == ["clip.mp3", "clip16.mz", "clip16k.flac"]
    r_all = runner.invoke(cli, ["similar", str(versions / "take.flac"), "--db", str(db), "-n", "1", "--json"])
    nearest = json.loads(r_all.stdout)[0]
    assert nearest["score"] == max(h["score"] for h in hits) and hits[0] == nearest
    text = runner.invoke(cli, ["similar", str(versions / "take.flac"), "--db", str(db), "-n", "6"]).stdout
    line = [t for t in text.splitlines() if "clip.flac" in t]
    assert len(line) == 1 and line[0].endswith("  (+3 copies)") and "clip.mp3" not in text, text


def test_a_listing_at_a_terminal_shows_another_recording_once_with_its_copies(runner, versions, tmp_path):
    """As a person sees it (a pseudo-terminal): the same lines as on a pipe, the clip's four files one line."""
    import subprocess
    import sys

    from terminal import ENV, run_in_pty
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    args = ["similar", str(versions / "take.flac"), "--db", str(db), "-n", "6"]
    code, screen = run_in_pty(args, tmp_path)
    piped = subprocess.run([sys.executable, "-m", "muzip", *args], cwd=tmp_path, env=ENV, capture_output=True,
                           text=True, timeout=120)
    assert code == 0 and piped.returncode == 0 and piped.stderr == "", screen
    assert screen.replace("\r\n", "\n") == piped.stdout
    lines = piped.stdout.splitlines()
    assert len(lines) == 3 and sum("clip" in line for line in lines) == 1
    assert [line for line in lines if "clip.flac" in line][0].endswith("  (+3 copies)")


def test_another_recordings_line_shows_the_copy_holding_most_of_the_band(runner, versions, tmp_path, monkeypatch):
    """A FLAC upsampled from 16 kHz is larger than the MP3 of the same recording and of the same rate, but holds
    nothing above 8 kHz: the MP3 is the line, the FLAC its copy; the copies' order does not depend on -n; the
    listing reads the catalog's fingerprints for several lines at once."""
    import shutil

    import soxr

    from muzip.library.catalog import Catalog
    folder = tmp_path / "lib"
    folder.mkdir()
    for name in ("clip.mp3", "clip16.mz", "take.flac", "noise.wav"):
        shutil.copy(versions / name, folder / name)
    x, sr = sf.read(versions / "clip.flac", dtype="float32", always_2d=True)
    sf.write(folder / "up16.flac", soxr.resample(soxr.resample(x, sr, 16000), 16000, sr), sr, subtype="PCM_24")
    assert (folder / "up16.flac").stat().st_size > (folder / "clip.mp3").stat().st_size
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    reads = []
    real = Catalog.fingerprints_within

    def spy(self, embedder, windows):
        reads.append(windows)
        return real(self, embedder, windows)
    monkeypatch.setattr(Catalog, "fingerprints_within", spy)

    def listed(n):
        r = runner.invoke(cli, ["similar", str(folder / "take.flac"), "--db", str(db), "-n", str(n), "--json"])
        assert r.exit_code == 0, r.output
        return {Path(h["path"]).name: [Path(c).name for c in h["copies"]] for h in json.loads(r.stdout)}
    three = listed(3)
    assert len(reads[1:][0]) == 3  # after the query's copies: the first three hits' looked for in one read
    assert three["clip.mp3"] in (["clip16.mz", "up16.flac"], ["up16.flac", "clip16.mz"])
    assert listed(1) == {"clip.mp3": three["clip.mp3"]}


def test_similar_of_a_file_outside_the_catalog_finds_its_copy(runner, versions, tmp_path):
    """A new low-rate rip of a catalogued recording, not indexed: its copies first, by its own fingerprint."""
    import soxr
    folder = tmp_path / "lib"
    folder.mkdir()
    for name in ("clip.flac", "remaster.flac", "take.flac", "noise.wav"):
        (folder / name).write_bytes((versions / name).read_bytes())
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    x, sr = sf.read(versions / "clip.flac", dtype="float32", always_2d=True)
    rip = tmp_path / "rip22k.flac"
    sf.write(rip, soxr.resample(x, sr, 22050), 22050)
    r = runner.invoke(cli, ["similar", str(rip), "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)
    assert Path(hits[0]["path"]).name == "clip.flac" and hits[0]["same_recording"]
    assert sum(h["same_recording"] for h in hits) == 1 and len(hits) == 4


def test_a_copy_the_query_misses_is_found_through_another_copy(versions, monkeypatch):
    """As `dupes` groups through any pair: the 16-kHz copy judged apart from the MP3 (as happens a few dB apart
    in the bands both keep), each judged one with the FLAC, so a query of the 16-kHz copy still finds the MP3."""
    import muzip.library.copies as C
    names = ["clip.flac", "clip.mp3", "remaster.flac", "take.flac"]
    fps = {name: _fp(versions / name) for name in names + ["clip16k.flac"]}
    name_of = {fp: name for name, fp in fps.items()}
    one = {frozenset(p) for p in [("clip16k.flac", "clip.flac"), ("clip.flac", "clip.mp3")]}
    monkeypatch.setattr(C, "duplicate", lambda a, b, align=False: (
        frozenset((name_of[a], name_of[b])) in one, 0.0, 0.0))
    vectors = np.eye(len(names), 8, dtype=np.float32)

    class Catalog:
        def count(self):
            return len(names)

        def count_lasting(self, duration, gap):
            return len(names)

        def fingerprints_within(self, embedder, windows):
            return [(i + 1, name, 30.0, fps[name]) for i, name in enumerate(names)]

        def vectors_of(self, ids, dim):
            return np.array(ids), vectors[np.array(ids) - 1], [names[i - 1] for i in ids], {}
    query = np.zeros(8, np.float32)
    query[3] = 1.0  # nearest by embedding: the take, not the copies
    copies = C.copies_in_catalog(Catalog(), "e", fps["clip16k.flac"], 30.0, query)
    assert sorted(path for _, path in copies) == ["clip.flac", "clip.mp3"]
    one.remove(frozenset(("clip.flac", "clip.mp3")))
    assert [path for _, path in C.copies_in_catalog(Catalog(), "e", fps["clip16k.flac"], 30.0, query)] == ["clip.flac"]


def test_a_mix_plays_the_seeds_recording_once_even_where_two_copies_are_judged_apart(runner, versions, tmp_path,
                                                                                      monkeypatch):
    """The seed's copies are found as `similar` lists them (through each other) and left out of its mix: the MP3,
    judged apart from the 16-kHz seed, is not played after it."""
    import muzip.library.copies as C
    from muzip.library.catalog import Catalog
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    with Catalog(str(db), create=False) as cat:
        name_of = {fp: Path(p).name for _, p, _, fp in cat.fingerprints(cat.embedders()[0])}
    real = C.duplicate
    monkeypatch.setattr(C, "duplicate", lambda a, b, align=False: (False, 1.0, 9.0) if {
        name_of[a], name_of[b]} == {"clip.mp3", "clip16k.flac"} else real(a, b, align))
    r = runner.invoke(cli, ["similar", str(versions / "clip16k.flac"), "--db", str(db), "--json"])
    assert {Path(h["path"]).name for h in json.loads(r.stdout) if h["same_recording"]} == {
        "clip.flac", "clip.mp3", "clip16.mz"}
    r = runner.invoke(cli, ["similar", str(versions / "clip16k.flac"), "--db", str(db), "--playlist", "4", "--json"])
    mix = [Path(h["path"]).name for h in json.loads(r.stdout)]
    assert mix[0] == "clip16k.flac" and len(mix) == 4 and not {"clip.flac", "clip.mp3", "clip16.mz"} & set(mix)


def test_a_mix_plays_a_recording_once_where_its_copies_are_judged_apart_pair_by_pair(runner, versions, tmp_path,
                                                                                   monkeypatch):
    """The MP3 and the 16-kHz rip judged apart pair by pair are one recording through the FLAC (as `similar`
    lists them): a mix that came to the rip first does not play the MP3 as well."""
    import shutil
    import sqlite3

    import muzip.library.copies as C
    from muzip.library.catalog import Catalog
    folder = tmp_path / "music"
    shutil.copytree(versions, folder)
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    con = sqlite3.connect(db)  # the rip made the seed's nearest track: the mix comes to it first
    (seed,), = con.execute("SELECT embedding FROM tracks WHERE path = ?", (str(folder / "take.flac"),))
    con.execute("UPDATE tracks SET embedding = ? WHERE path = ?", (seed, str(folder / "clip16k.flac")))
    con.commit()
    con.close()
    with Catalog(str(db), create=False) as cat:
        name_of = {fp: Path(p).name for _, p, _, fp in cat.fingerprints(cat.embedders()[0])}
    real = C.duplicate
    monkeypatch.setattr(C, "duplicate", lambda a, b, align=False: (False, 1.0, 9.0) if {
        name_of.get(a), name_of.get(b)} == {"clip.mp3", "clip16k.flac"} else real(a, b, align))
    r = runner.invoke(cli, ["similar", str(folder / "take.flac"), "--db", str(db), "--playlist", "7", "--json"])
    mix = [Path(h["path"]).name for h in json.loads(r.stdout)]
    assert mix[0] == "take.flac", r.output
    assert [n for n in mix if n in {"clip.flac", "clip.mp3", "clip16.mz", "clip16k.flac"}] == ["clip.flac"]


def test_cluster_and_map_keep_the_copies_of_a_recording_together(runner, versions, tmp_path):
    """Copies count as one track in Affinity Propagation: each shares its recording's cluster, however far a
    low-rate copy lies by embedding, and `map` numbers the clusters as `cluster` does."""
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    r = runner.invoke(cli, ["cluster", "--db", str(db), "--json", "--preference", "0.5"])  # many small clusters
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["clusters"]
    clusters = [{Path(p).name for p in c["members"]} for c in out]
    copies = {"clip.flac", "clip.mp3", "clip16.mz", "clip16k.flac"}
    assert sum(bool(c & copies) for c in clusters) == 1 and any(copies <= c for c in clusters)
    # the copy standing in for them is the best one (the highest rate, then the largest file): the FLAC
    assert not {Path(c["exemplar"]).name for c in out} & (copies - {"clip.flac"})
    assert sum(len(c) for c in clusters) == 7


def test_the_map_places_a_recordings_copies_around_its_best_copy(runner, versions, tmp_path, monkeypatch):
    """On the map a 16-kHz rip, a 16-kbps `.mz` and an MP3 lie on a small ring around their FLAC (t-SNE places
    the recording once), not where their own embeddings would put them; the other recordings lie apart."""
    from muzip.library import tsne_map
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    seen = {}
    monkeypatch.setattr(tsne_map, "draw", lambda xy, groups, labelled, f, title: seen.update(xy=xy))
    r = runner.invoke(cli, ["map", "--db", str(db), "-o", str(tmp_path / "m.png")])
    assert r.exit_code == 0, r.output
    from muzip.library.catalog import Catalog
    with Catalog(str(db), create=False) as cat:
        names = [Path(p).name for p in cat.embeddings()[2]]
    xy = dict(zip(names, seen["xy"]))
    copies = ("clip.mp3", "clip16.mz", "clip16k.flac")
    extent = float(np.ptp([xy[n] for n in names if n not in copies], axis=0).max())  # the recordings' places
    ring = [np.linalg.norm(xy[n] - xy["clip.flac"]) / extent for n in copies]
    assert np.allclose(ring, tsne_map.COPY_RING, rtol=1e-3), ring
    apart = [np.linalg.norm(xy[n] - xy["clip.flac"]) / extent for n in ("take.flac", "remaster.flac", "noise.wav")]
    assert min(apart) > 5 * tsne_map.COPY_RING, apart


def test_affinity_clusters_cluster_a_group_of_copies_as_its_medoid():
    from muzip.library.cluster import affinity_clusters
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16))
    emb = np.concatenate([c + 0.05 * rng.standard_normal((4, 16)) for c in centres])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels, _ = affinity_clusters(emb)
    assert len(set(labels[:4])) == 1 and labels[0] != labels[4]  # three clusters of four
    labels, exemplars = affinity_clusters(emb, copies=[[0, 5]])  # row 5 is a copy of row 0, far by embedding
    assert labels[0] == labels[5] and len(labels) == 12 and set(labels[exemplars]) == set(labels)
    for members in ([1, 2, 3], [4, 6, 7], [8, 9, 10, 11]):  # the others as before, whichever of 0 and 5 stands in
        assert len(set(labels[members])) == 1


def test_a_low_rate_copy_has_its_recordings_neighbours(runner, versions, tmp_path):
    """The other tracks are compared with the recording's best copy (the highest rate, then the largest file):
    a 16-kHz rip lists the FLAC's neighbours with the FLAC's scores; the copies keep their likeness to the rip."""
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0

    def listed(name):
        r = runner.invoke(cli, ["similar", str(versions / name), "--db", str(db), "--json"])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)
    flac, rip = listed("clip.flac"), listed("clip16k.flac")
    others = [(h["path"], h["score"]) for h in flac if not h["same_recording"]]
    assert [(h["path"], h["score"]) for h in rip if not h["same_recording"]] == others and len(others) == 3
    r = runner.invoke(cli, ["similar", str(versions / "clip16k.flac"), "--db", str(db), "--json", "-n", "1"])
    assert [Path(h["path"]).name for h in json.loads(r.stdout)] == [Path(rip[0]["path"]).name]
    # the copies' scores are their likeness to the rip itself: the FLAC's is not 1
    assert 0 < [h["score"] for h in rip if h["path"].endswith("clip.flac")][0] < 0.99


def test_a_crowded_duration_window_narrows_and_still_holds_the_copies(runner, versions, tmp_path, monkeypatch):
    """Where many tracks last as long as the query (a large catalog), only those within MIN_GAP_S of it are read:
    copies last the same within an encoder's padding."""
    import muzip.library.copies as C
    from muzip.library.catalog import Catalog
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(versions), "--db", str(db)]).exit_code == 0
    with Catalog(str(db), create=False) as cat:
        duration = cat.tracks()[0]["duration"]
        assert cat.count_lasting(duration, 1.5) == 7 and cat.count_lasting(duration + 100, 1.5) == 0
    seen = []
    real = Catalog.fingerprints_within

    def spy(self, embedder, windows):
        seen.extend(round((hi - lo) / 2, 9) for lo, hi in windows)
        return real(self, embedder, windows)
    monkeypatch.setattr(Catalog, "fingerprints_within", spy)
    monkeypatch.setattr(C, "WINDOW_MAX", 1)
    r = runner.invoke(cli, ["similar", str(versions / "clip16k.flac"), "--db", str(db), "--json"])
    assert {Path(h["path"]).name for h in json.loads(r.stdout) if h["same_recording"]} == {
        "clip.flac", "clip.mp3", "clip16.mz"}
    assert seen and set(seen) == {C.MIN_GAP_S}  # the query's copies, and each listed recording's


def test_a_query_of_unknown_length_reads_no_large_catalog_whole():
    import muzip.library.copies as C

    class Large:
        def count(self):
            return C.WINDOW_MAX + 1

        def fingerprints_within(self, *args):
            raise AssertionError("read the whole catalog")
    assert C.copies_in_catalog(Large(), "e", b"MZF1...", None, np.zeros(8, np.float32)) == []


def test_a_mix_plays_each_recording_as_its_best_copy_a_player_can_open(runner, versions, tmp_path):
    """Whichever copy of a recording the mix comes to first, it plays the best one (the FLAC, not the 16-kbps
    `.mz` or the 16-kHz rip); where that file is gone from its folder, the next best (the 128-kbps MP3), and a
    file a player opens before a `.mz`."""
    import shutil
    folder = tmp_path / "music"
    shutil.copytree(versions, folder)
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(folder), "--db", str(db)]).exit_code == 0
    import sqlite3
    con = sqlite3.connect(db)  # the 16-kbps `.mz` made the seed's nearest track: the mix comes to it first
    (seed,), = con.execute("SELECT embedding FROM tracks WHERE path = ?", (str(folder / "take.flac"),))
    con.execute("UPDATE tracks SET embedding = ? WHERE path = ?", (seed, str(folder / "clip16.mz")))
    con.commit()
    con.close()
    copies = {"clip.flac", "clip.mp3", "clip16.mz", "clip16k.flac"}

    def played():
        r = runner.invoke(cli, ["similar", str(folder / "take.flac"), "--db", str(db), "--playlist", "4", "--json"])
        mix = [Path(h["path"]).name for h in json.loads(r.stdout)]
        assert mix[0] == "take.flac" and len(mix) == 4, r.output
        return [name for name in mix if name in copies]
    assert played() == ["clip.flac"]
    (folder / "clip.flac").unlink()
    assert played() == ["clip.mp3"]
    (folder / "clip.mp3").unlink()  # a file a player opens before a `.mz`, though the rip holds less of the band
    assert played() == ["clip16k.flac"]
