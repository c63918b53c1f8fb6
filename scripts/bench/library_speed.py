"""Whole-command speed of the library on a large catalog (issue 25's query targets).

    .venv/bin/python -m scripts.bench.library_speed [--tracks 10000] [--runs 3]    # log: docs/logs/library_speed_*.log

A synthetic catalog of TRACKS tracks (the default embedder's id; descriptors drawn around the training audio's
statistics in 50 clusters, projected as `muzip index` projects a catalog), then, as a user runs them:
`muzip similar` of a cataloged track (10 and 100 lines), of an audio file outside the catalog (the bundled clip; and as a
16-kHz file, compared band-limited since session 51), `muzip
cluster --json`, `muzip map` and `muzip dupes` (tracks of 90-420 s, fingerprints: `fingerprints`). Wall time
of each whole command (median of RUNS; cluster, map and dupes once). Then `map` and `cluster` of a second
catalog whose tracks are all other recordings (`fingerprints`: DISTINCT_BAND_SD), where t-SNE places every track,
and `similar` of one of its tracks; then `cluster` and `map` of such a catalog of half the size.
Targets: similar < 0.3 s (cataloged) and < 1 s (a file), cluster and map < 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "data" / "knolls_excerpt.ogg"


def fingerprints(n: int, rng, band_sd: float = 1.5) -> list[bytes]:
    """The bundled clip's fingerprint with each track's own mean band levels (the clip's, moved by a gain of
    sd 3 dB, a tilt of sd 1 dB/octave and `band_sd` dB per band). Those the level test of `dupes` passes are
    aligned with the clip's bits (the worst case: they all align): at 1.5 dB, 42 % of 10,000 tracks end up in
    groups of copies (session 53), far more than a collection holds; at DISTINCT_BAND_SD, none."""
    from muzip.codec import load_model
    from muzip.library import fingerprint as F
    from muzip.library.coefficients import coefficient_runs
    runs, rate, _ = coefficient_runs(str(CLIP), load_model)
    base = F.fingerprint(runs, rate)
    levels, _ = F.parse(base)
    octaves = np.log2(np.maximum((F.band_edges()[:-1] + F.band_edges()[1:]) / 2, 50.0) / 1000.0)
    start = 6  # the levels follow the magic and the run count
    out = []
    for _ in range(n):
        moved = levels + rng.normal(0, 3) + rng.normal(0, 1) * octaves + rng.normal(0, band_sd, levels.size)
        out.append(base[:start] + moved.astype("<f4").tobytes() + base[start + 4 * levels.size:])
    return out


def track_path(root: str, i: int) -> str:
    return os.path.join(root, f"album{i // 12:04d}", f"track{i:05d}.mz")


DISTINCT_BAND_SD = 8.0


def make_catalog(db: str, n: int, root: str, band_sd: float = 1.5) -> None:
    """The catalog, and an empty file for each track under `root`: an instant mix leaves out a track whose
    file is gone (session 50)."""
    from muzip.library import collection, load_embedder
    from muzip.library.catalog import Catalog
    embed, eid = load_embedder()  # the default embedder, as `muzip index` uses
    rng = np.random.default_rng(0)
    prints = fingerprints(n, rng, band_sd)
    durations = np.round(rng.uniform(90.0, 420.0, n), 1)
    sd = np.sqrt(embed.prior_var)
    centres = embed.prior_mean + sd * rng.standard_normal((50, sd.size))
    raw = (centres[rng.integers(0, 50, n)] + 0.5 * sd * rng.standard_normal((n, sd.size))).astype(np.float32)
    vecs = embed.project(raw, embed.stats())
    with Catalog(db) as cat:
        for lo in range(0, n, 2000):
            cat.put_many([{"path": track_path(root, i), "size": 1, "mtime": 0.0,
                           "duration": float(durations[i]), "rate": 44100, "channels": 2, "tags": {}, "model": "muzip-v2.7",
                           "source": "mz", "dim": int(vecs.shape[1]), "embedding": vecs[i].tobytes(),
                           "descriptor": raw[i].astype("<f4").tobytes(), "fingerprint": prints[i]}
                          for i in range(lo, min(n, lo + 2000))], eid)
        collection.refresh(cat, embed, eid)
    for i in range(n):
        os.makedirs(os.path.dirname(track_path(root, i)), exist_ok=True)
        open(track_path(root, i), "wb").close()


def low_rate_clip(folder: str) -> str:
    """The clip as a 16-kHz file: compared with the catalog band-limited, on every track's raw descriptor."""
    import soundfile as sf
    import soxr
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    path = os.path.join(folder, "clip16k.wav")
    sf.write(path, soxr.resample(x, sr, 16000), 16000, subtype="PCM_16")
    return path


LAST_OUTPUT = [""]  # the standard output of the last command timed


def grouped() -> int:
    """The tracks in groups of copies, from the last command timed (`muzip dupes --json`)."""
    return sum(len(g) for g in json.loads(LAST_OUTPUT[0])["groups"])


def timed(args, runs=1) -> float:
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "muzip", *map(str, args)], check=True, capture_output=True,
                              cwd=ROOT, text=True)
        walls.append(time.perf_counter() - t)
        LAST_OUTPUT[0] = done.stdout
    return float(np.median(walls))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    # muzip's modules compiled first, as `pip install` compiles them: a checkout run with PYTHONDONTWRITEBYTECODE
    # would compile them again in every command (~0.06 s of each, session 53)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "muzip")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "lib.db")
        t = time.perf_counter()
        music = os.path.join(tmp, "music")
        make_catalog(db, a.tracks, music)
        seed = track_path(music, 3)
        print(f"catalog of {a.tracks} tracks made in {time.perf_counter() - t:.1f} s", flush=True)
        timed(["similar", seed, "--db", db, "-n", "10"])  # builds the HNSW index once
        out = {"tracks": a.tracks,
               "similar_cataloged_s": timed(["similar", seed, "--db", db, "-n", "10"], a.runs),
               # a long listing: each line's copies are looked for (session 52), in one read for all of them
               "similar_cataloged_100_s": timed(["similar", seed, "--db", db, "-n", "100"], a.runs),
               "similar_file_s": timed(["similar", CLIP, "--db", db, "-n", "10"], a.runs),
               "similar_low_rate_file_s": timed(["similar", low_rate_clip(tmp), "--db", db, "-n", "10"], a.runs),
               "playlist_s": timed(["similar", seed, "--db", db, "--playlist", "20"], a.runs),
               "cluster_s": timed(["cluster", "--db", db, "--json"]),
               "map_s": timed(["map", "--db", db, "-o", os.path.join(tmp, "map.png")]),
               "dupes_s": timed(["dupes", "--db", db, "--json"])}
        out["tracks_in_copy_groups"] = grouped()
        # the worst case of t-SNE: every track another recording (a map places each recording once)
        distinct = os.path.join(tmp, "distinct.db")
        make_catalog(distinct, a.tracks, os.path.join(tmp, "distinct"), DISTINCT_BAND_SD)
        out["distinct_map_s"] = timed(["map", "--db", distinct, "-o", os.path.join(tmp, "distinct.png")])
        out["distinct_cluster_s"] = timed(["cluster", "--db", distinct, "--json"])
        timed(["dupes", "--db", distinct, "--json"])
        out["distinct_tracks_in_copy_groups"] = grouped()
        # a catalog with no copies: what a query costs where few fingerprints align (the first catalog's are
        # the worst case)
        d_seed = track_path(os.path.join(tmp, "distinct"), 3)
        out["distinct_similar_cataloged_s"] = timed(["similar", d_seed, "--db", distinct, "-n", "10"], a.runs)
        # half the size: `cluster` ran dense AP up to 5,000 tracks before session 54 (98-100 s there)
        half = os.path.join(tmp, "half.db")
        make_catalog(half, a.tracks // 2, os.path.join(tmp, "half"), DISTINCT_BAND_SD)
        out["half_tracks"] = a.tracks // 2
        out["half_cluster_s"] = timed(["cluster", "--db", half, "--json"])
        out["half_map_s"] = timed(["map", "--db", half, "-o", os.path.join(tmp, "half.png")])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
