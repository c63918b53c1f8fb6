"""`muzip similar --playlist`: an instant mix ordered for smooth transitions, as M3U8 with relative paths."""

import json
import os

import numpy as np
import soundfile as sf

from muzip.cli import cli
from muzip.library import playlist as P

RATE = 44100


def test_the_mix_steps_to_the_nearest_track_and_stays_near_the_seed():
    angles = np.array([0.1, 0.2, 0.3, 0.4, 2.5])  # a path of small steps away from the seed, and a far track
    pool = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    seed = np.array([1.0, 0.0])
    assert P.order(seed, pool[::-1].copy(), 4) == [4 - k for k in range(4)]  # 0.1, 0.2, 0.3, 0.4: the far one last
    assert P.order(seed, pool, 10) == [0, 1, 2, 3, 4]  # never more than the pool


def test_m3u8_has_durations_titles_and_paths_relative_to_the_playlist(tmp_path):
    tracks = [{"path": str(tmp_path / "music" / "a b.flac"), "duration": 61.6,
               "tags": json.dumps({"ARTIST": "Band", "title": "Song\nOne"})},
              {"path": str(tmp_path / "music" / "sub" / "c.mz"), "duration": None, "tags": "{}"}]
    text = P.m3u8(tracks, str(tmp_path / "lists" / "mix.m3u8"))
    assert text.splitlines() == ["#EXTM3U", "#EXTINF:62,Band - Song One", "../music/a b.flac",
                                 "#EXTINF:-1,c", "../music/sub/c.mz"]
    assert P.m3u8(tracks[1:], None).splitlines()[-1] == str(tmp_path / "music" / "sub" / "c.mz").replace(os.sep, "/")


def _song(seed, seconds=6):
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * RATE) / RATE
    f = 110 * 2 ** (seed / 5)
    x = 0.2 * np.sin(2 * np.pi * f * t) + 0.02 * rng.standard_normal(len(t)) * (1 + seed % 3)
    return np.stack([x, x], axis=1).astype(np.float32)


def _indexed_songs(runner, tmp_path, n):
    """(folder of n songs s0..s{n-1}.wav, the catalog of them)."""
    lib = tmp_path / "music"
    lib.mkdir()
    for i in range(n):
        sf.write(lib / f"s{i}.wav", _song(i), RATE, subtype="PCM_16")
    db = tmp_path / "lib.db"
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lib), "--db", str(db)]).exit_code == 0
    return lib, db


def test_similar_writes_a_playlist_that_players_can_follow(runner, tmp_path):
    lib, db = _indexed_songs(runner, tmp_path, 6)
    out = tmp_path / "lists" / "mix.m3u8"
    out.parent.mkdir()
    r = runner.invoke(cli, ["similar", str(lib / "s2.wav"), "--db", str(db), "--playlist", "4", "-o", str(out)])
    assert r.exit_code == 0, r.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 9
    entries = lines[2::2]
    assert entries[0] == "../music/s2.wav" and len(set(entries)) == 4
    assert all((out.parent / e).resolve().is_file() for e in entries)
    assert all(line.startswith("#EXTINF:6,s") for line in lines[1::2])
    r = runner.invoke(cli, ["similar", str(lib / "s2.wav"), "--db", str(db), "--playlist", "4", "-o", str(out)])
    assert r.exit_code == 1 and "exists (use -f to overwrite)" in r.output
    r = runner.invoke(cli, ["similar", str(lib / "s2.wav"), "--db", str(db), "--playlist", "3", "--json"])
    mix = json.loads(r.output)
    assert [m["path"] for m in mix][0] == str(lib / "s2.wav") and len(mix) == 3
    r = runner.invoke(cli, ["similar", str(lib / "s2.wav"), "--db", str(db), "-o", str(out)])
    assert r.exit_code == 2 and "-o is for --playlist" in r.output
    both = tmp_path / "lists" / "both.m3u8"  # --json with -o: the file written, the JSON printed
    r = runner.invoke(cli, ["similar", str(lib / "s2.wav"), "--db", str(db), "--playlist", "3", "--json",
                            "-o", str(both)])
    assert r.exit_code == 0 and [m["path"] for m in json.loads(r.output)] == [m["path"] for m in mix]
    assert both.read_text(encoding="utf-8").splitlines()[2::2] == [os.path.relpath(m["path"], both.parent)
                                                                   for m in mix]
    # a catalog track whose file has gone is still a query by the name it was given
    gone = lib / "s5.wav"
    gone.unlink()
    cwd = os.getcwd()
    os.chdir(lib)
    try:
        r = runner.invoke(cli, ["similar", "s5.wav", "--db", str(db), "-n", "2", "--json"])
    finally:
        os.chdir(cwd)
    assert r.exit_code == 0 and len(json.loads(r.output)) == 2, r.output


def test_a_file_name_starting_with_a_hash_is_not_a_comment(tmp_path):
    text = P.m3u8([{"path": str(tmp_path / "#1 hit.ogg"), "duration": 3.0, "tags": "{}"}], str(tmp_path / "m.m3u8"))
    assert text.splitlines()[2] == "./#1 hit.ogg"


def test_a_catalog_of_an_earlier_muzip_still_makes_a_mix(runner, tmp_path):
    """No descriptors table (an earlier muzip's catalog, read-only): no fingerprints, the mix is made anyway."""
    import sqlite3

    from muzip.library.catalog import Catalog
    db = tmp_path / "old.db"
    rng = np.random.default_rng(0)
    with Catalog(str(db)) as cat:
        vecs = rng.standard_normal((5, 16)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        cat.put_many([{"path": str(tmp_path / f"{i}.mz"), "size": 1, "mtime": 0.0, "duration": 60.0, "rate": RATE, "channels": 2,
                       "tags": {}, "model": "m", "source": "mz", "dim": 16, "embedding": v.tobytes()}
                      for i, v in enumerate(vecs)], "embed-v2:0")
    for i in range(5):  # the files are there (a mix leaves out a track whose file has gone)
        (tmp_path / f"{i}.mz").write_bytes(b"")
    con = sqlite3.connect(db)
    con.execute("DROP TABLE descriptors")
    con.commit()
    con.close()
    seed = str(tmp_path / "0.mz")
    r = runner.invoke(cli, ["similar", seed, "--db", str(db), "--playlist", "3", "--json"])
    assert r.exit_code == 0, r.output
    assert [m["path"] for m in json.loads(r.output)][0] == seed and len(json.loads(r.output)) == 3
    r = runner.invoke(cli, ["similar", seed, "--db", str(db), "--playlist", "3"])  # an M3U8 of .mz files
    assert r.exit_code == 0 and r.stdout.startswith("#EXTM3U\n")
    assert r.stderr.strip() == "the mix: 3 of its 3 tracks are .mz files, which a player plays once decoded " \
                               "(`muzip decompress`)"


def test_a_seed_outside_the_catalog_keeps_its_duration_and_tags(runner, tmp_path):
    """An unindexed seed's #EXTINF had -1 and its file name (a first-use review); and it is embedded once."""
    import muzip.cli.library_cmds as L
    lib, db = _indexed_songs(runner, tmp_path, 4)
    seed = tmp_path / "new.flac"
    with sf.SoundFile(seed, "w", RATE, 2, format="FLAC") as f:
        f.title, f.artist = "Song", "Band"  # before the audio: FLAC's comments come first
        f.write(_song(7, seconds=9))
    real, calls = L._embed_one, []
    L._embed_one = lambda p: calls.append(p) or real(p)
    try:
        r = runner.invoke(cli, ["similar", str(seed), "--db", str(db), "--playlist", "3"])
    finally:
        L._embed_one = real
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1:3] == ["#EXTINF:9,Band - Song", str(seed).replace(os.sep, "/")]
    assert calls == [str(seed)]


def test_a_mix_leaves_out_what_a_player_could_not_open(runner, tmp_path):
    """A track whose file has gone since `index`, and a name with a line break (it would end the M3U8 line),
    are left out of the mix, one warning line each (exit 3); the plain listing is what the catalog holds."""
    lib, db = _indexed_songs(runner, tmp_path, 3)
    odd = lib / "new\nline.wav"
    sf.write(odd, _song(4), RATE, subtype="PCM_16")
    assert runner.invoke(cli, ["index", "-q", "-j", "1", str(lib), "--db", str(db)]).exit_code == 0
    (lib / "s1.wav").unlink()
    r = runner.invoke(cli, ["similar", str(lib / "s0.wav"), "--db", str(db), "--playlist", "4", "--json"])
    assert r.exit_code == 3, r.output
    assert [m["path"] for m in json.loads(r.stdout)] == [str(lib / "s0.wav"), str(lib / "s2.wav")]
    assert sorted(r.stderr.splitlines()) == [
        f"muzip: warning: {lib}/new\\nline.wav: a name an M3U8 line cannot hold (a line break, or not UTF-8); "
        "left out of the mix",
        f"muzip: warning: {lib}/s1.wav: gone from its folder (`muzip index PATH --prune` drops it); left out of "
        "the mix"]
    r = runner.invoke(cli, ["similar", str(lib / "s0.wav"), "--db", str(db), "--playlist", "4", "-o", "-"])
    assert r.exit_code == 3 and r.stdout.splitlines()[2::2] == [f"{lib}/s0.wav", f"{lib}/s2.wav"]  # -: stdout
    assert r.stderr.splitlines()[-1] == "the mix: 2 tracks of the 4 asked for (2 left out, above)"
    r = runner.invoke(cli, ["similar", str(lib / "s0.wav"), "--db", str(db), "-n", "3"])  # what the catalog holds
    assert r.exit_code == 0 and f"{lib}/new\\nline.wav" in r.stdout  # one line per track, whatever its name
    assert len(r.stdout.splitlines()) == 3 and f"{lib}/s1.wav" in r.stdout


def test_a_playlist_never_replaces_its_query_or_a_catalog_track(runner, tmp_path):
    """-f replaces a playlist, not audio: -o naming the query, a catalog track (a first-use review overwrote
    both) is refused with one line, and the file is untouched."""
    lib, db = _indexed_songs(runner, tmp_path, 3)
    query = tmp_path / "new.wav"
    sf.write(query, _song(5), RATE, subtype="PCM_16")
    for out in (query, lib / "s1.wav"):
        before = out.read_bytes()
        r = runner.invoke(cli, ["similar", str(query), "--db", str(db), "--playlist", "3", "-o", str(out), "-f"])
        assert r.exit_code == 1 and out.read_bytes() == before
        why = "is the input file" if out == query else "is a track of the catalog"
        assert r.output == f"muzip: {out}: {why}; refusing to overwrite it\n"


def test_a_playlist_follows_a_symlink_to_a_catalog_track_and_refuses(runner, tmp_path):
    lib, db = _indexed_songs(runner, tmp_path, 3)
    link = tmp_path / "mix.m3u8"
    link.symlink_to(lib / "s2.wav")
    before = (lib / "s2.wav").read_bytes()
    r = runner.invoke(cli, ["similar", str(lib / "s0.wav"), "--db", str(db), "--playlist", "2", "-o", str(link), "-f"])
    assert r.exit_code == 1 and "is a track of the catalog; refusing to overwrite it" in r.output
    assert (lib / "s2.wav").read_bytes() == before


def test_a_mix_of_object_store_tracks_keeps_their_uris(runner, tmp_path):
    """A catalog of s3:// objects (`index --ray`): the seed was turned into a local path and left out as gone."""
    from muzip.library.catalog import Catalog
    db = tmp_path / "objects.db"
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((4, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    with Catalog(str(db)) as cat:
        cat.put_many([{"path": f"s3://bucket/m/{i}.mz", "size": 1, "mtime": 0.0, "duration": 30.0, "rate": RATE,
                       "channels": 2, "tags": {}, "model": "m", "source": "mz", "dim": 16, "embedding": v.tobytes()}
                      for i, v in enumerate(vecs)], "embed-v2:0")
    r = runner.invoke(cli, ["similar", "s3://bucket/m/0.mz", "--db", str(db), "--playlist", "3",
                            "-o", str(tmp_path / "mix.m3u8")])
    assert r.exit_code == 0, r.output
    entries = (tmp_path / "mix.m3u8").read_text(encoding="utf-8").splitlines()[2::2]
    assert entries[0] == "s3://bucket/m/0.mz" and len(entries) == 3 and all(e.startswith("s3://") for e in entries)


def test_a_catalog_whose_disk_is_gone_gives_a_few_lines_not_one_per_candidate(runner, tmp_path):
    from muzip.cli.similar_cmd import SHOWN_LEFT_OUT
    from muzip.library.catalog import Catalog
    db = tmp_path / "lib.db"
    rng = np.random.default_rng(2)
    vecs = rng.standard_normal((12, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    (tmp_path / "0.wav").write_bytes(b"")  # the seed is there, the other eleven are not
    with Catalog(str(db)) as cat:
        cat.put_many([{"path": str(tmp_path / f"{i}.wav"), "size": 1, "mtime": 0.0, "duration": 30.0, "rate": RATE,
                       "channels": 2, "tags": {}, "model": "m", "source": "mz", "dim": 16, "embedding": v.tobytes()}
                      for i, v in enumerate(vecs)], "embed-v2:0")
    r = runner.invoke(cli, ["similar", str(tmp_path / "0.wav"), "--db", str(db), "--playlist", "3", "-o", "-"])
    assert r.exit_code == 3 and r.stdout.splitlines()[2::2] == [str(tmp_path / "0.wav")]
    lines = r.stderr.splitlines()
    assert len(lines) == SHOWN_LEFT_OUT - 2 + 2  # the first few, a count, the short mix
    assert lines[SHOWN_LEFT_OUT - 2] == "muzip: warning: 8 more tracks left out of the mix (gone from their " \
                                        "folders, or names an M3U8 line cannot hold)"
    assert lines[-1] == "the mix: 1 track of the 3 asked for (11 left out, above)"
