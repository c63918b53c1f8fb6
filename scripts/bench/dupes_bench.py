"""Duplicate detection on made pairs (issue 25): the same recording across formats vs another take or a remaster.

    .venv/bin/python -m scripts.bench.dupes_bench [--tracks 24] [--seconds 90]   # log: docs/logs/dupes_*.log

From TRACKS corpus tracks (the first by path of each game package, SECONDS from each one's middle, written as
FLAC: the "originals"), the files a collection really holds: each original as MP3 at 128 kbps (lameenc), Opus
at 64 kbps (ffmpeg libopus), `.mz` at 16 kbps (the default model) and FLAC resampled to 22.05 and 16 kHz
(nothing above 11 / 8 kHz: an old rip, a low-bitrate MP3; since session 44) -- the same recording; and as two
things that are not: a *remaster* (a +2 dB/octave tilt above 1 kHz, 3 dB louder through a soft limiter) and
another *take* (played 2 % faster and higher: other timing). Every file is read as `muzip index` reads it
(muzip.library.coefficients) and fingerprinted (muzip.library.fingerprint); every pair of files is judged.
A pair is a true duplicate when both are the same original in formats of the first kind. Prints the pairs'
precision and recall, the bit error rates and level gaps of each kind of pair, and the same precision and
recall through the commands (`muzip index`, then `muzip dupes --json`: only nearest neighbours by embedding
and files of one duration are compared there), what `muzip similar` marks as the same recording
(session 51: copies listed first), and whether `muzip cluster` keeps each original's copies in one cluster.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
RATE = 44100
SAME = ("flac", "mp3", "opus", "mz", "22k", "16k")
LOW_RATES = {"22k": 22050, "16k": 16000}  # low-rate copies (an old rip, a low-bitrate MP3): no top octaves
OTHER = ("remaster", "take")


def originals(count: int, seconds: float):
    from scripts.bench import loco_sets as L
    from scripts.data.corpus import FIRST_CORPUS_PACKAGES
    per = max(1, -(-count // len(FIRST_CORPUS_PACKAGES)))
    picked = []
    for package in FIRST_CORPUS_PACKAGES:
        files = [f for f in L._unique(L.corpus_files(tuple(p for p in L.FOLDS["games-A"] + L.FOLDS["games-B"]
                                                            if p != package) + ("styles",)))
                 if f"/{package}/" in f and L._duration(f) >= seconds]
        picked += files[:per]
    out = []
    for path in picked[:count]:
        info = sf.info(path)
        start = max(0.0, (info.duration - seconds) / 2)
        x, sr = sf.read(path, start=int(start * info.samplerate), frames=int(seconds * info.samplerate),
                        dtype="float32", always_2d=True)
        x = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
        if sr != RATE:
            import soxr
            x = soxr.resample(x, sr, RATE).astype(np.float32)
        out.append((path, x))
    return out


def remaster(x):
    spec = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    gain = 10 ** (2.0 * np.log2(np.maximum(f, 1000.0) / 1000.0) / 20)
    y = np.fft.irfft(spec * gain[:, None], len(x), axis=0) * 10 ** (3 / 20)
    return (np.tanh(y * 1.5) / 1.5).astype(np.float32)


def take(x):
    import soxr
    return soxr.resample(x, RATE * 1.02, RATE).astype(np.float32)  # 2 % faster, a third of a semitone higher


def write_versions(folder: Path, k: int, x) -> dict:
    import lameenc

    from muzip.codec import compress_array, load_model
    paths = {}
    p = folder / f"{k}.flac"
    sf.write(p, x, RATE)
    paths["flac"] = p
    enc = lameenc.Encoder()
    enc.set_bit_rate(128)
    enc.set_in_sample_rate(RATE)
    enc.set_channels(2)
    enc.set_quality(2)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    (folder / f"{k}.mp3").write_bytes(enc.encode(pcm) + enc.flush())
    paths["mp3"] = folder / f"{k}.mp3"
    paths["opus"] = folder / f"{k}.opus"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(p), "-c:a", "libopus", "-b:a", "64k",
                    str(paths["opus"])], check=True)
    paths["mz"] = folder / f"{k}.mz"
    paths["mz"].write_bytes(compress_array(x, RATE, 16, load_model()))
    import soxr
    for name, rate in LOW_RATES.items():
        paths[name] = folder / f"{k}_{name}.flac"
        sf.write(paths[name], soxr.resample(x, RATE, rate), rate)
    for name, fn in (("remaster", remaster), ("take", take)):
        paths[name] = folder / f"{k}_{name}.flac"
        sf.write(paths[name], fn(x), RATE)
    return paths


def through_the_cli(folder: str, truth_of: dict) -> dict:
    """`muzip index` the files, then `muzip dupes --json`: the pairs inside its groups against the truth."""
    db = os.path.join(folder, "lib.db")
    subprocess.run([sys.executable, "-m", "muzip", "index", "-q", folder, "--db", db], check=True, cwd=ROOT)
    out = subprocess.run([sys.executable, "-m", "muzip", "dupes", "--db", db, "--json"], check=True, cwd=ROOT,
                         capture_output=True, text=True).stdout
    judged = {tuple(sorted(pair)) for g in json.loads(out)["groups"] for pair in itertools.combinations(g, 2)}
    truth = {tuple(sorted((a, b))) for a, b in itertools.combinations(truth_of, 2)
             if truth_of[a][0] == truth_of[b][0] and truth_of[a][1] in SAME and truth_of[b][1] in SAME}
    tp = len(judged & truth)
    return {"precision": tp / max(len(judged), 1), "recall": tp / max(len(truth), 1), "true_pairs": len(truth),
            "judged_pairs": len(judged)}, db


def clusters_split(db: str, truth_of: dict) -> dict:
    """`muzip cluster --json`: how many originals have their copies (the first kind) in more than one cluster,
    and the same for Affinity Propagation on the embeddings alone (the command before session 51)."""
    from click.testing import CliRunner

    from muzip.cli import cli
    from muzip.library.catalog import Catalog
    from muzip.library.cluster import affinity_clusters

    def split(cluster_of: dict) -> int:
        spread = {}
        for path, (k, kind) in truth_of.items():
            if kind in SAME:
                spread.setdefault(k, set()).add(cluster_of[path])
        return sum(len(v) > 1 for v in spread.values())
    r = CliRunner().invoke(cli, ["cluster", "--db", db, "--json"])
    clusters = json.loads(r.stdout)["clusters"]
    with Catalog(db, create=False) as cat:
        _, emb, paths = cat.embeddings()
    labels, exemplars = affinity_clusters(emb)
    return {"clusters": len(clusters),
            "originals_split": split({m: k for k, c in enumerate(clusters) for m in c["members"]}),
            "by_embedding_alone": {"clusters": len(exemplars), "originals_split": split(dict(zip(paths, labels)))}}


def similar_copies(db: str, truth_of: dict, n: int = 8) -> dict:
    """`muzip similar FILE --json -n N` of every catalogued file (in one process, through Click's runner): the
    copies it marks (`same_recording`) against the truth, and how many of its true copies (5 for a file of
    the first kind) its first five lines hold, as listed and as the file's own embedding alone would list them
    (every other track by cosine with it: the command before session 51); and of the other lines, how many
    repeat a recording an earlier one showed (session 52 lists each once), and the "copies" each names against
    the catalog's other files of its recording."""
    from click.testing import CliRunner

    from muzip.cli import cli
    from muzip.library.catalog import Catalog
    with Catalog(db, create=False) as cat:
        _, emb, paths = cat.embeddings()
    row = {p: k for k, p in enumerate(paths)}

    def copy(a, b):
        return a != b and truth_of[a][0] == truth_of[b][0] and truth_of[a][1] in SAME and truth_of[b][1] in SAME
    def recording(p):
        k, kind = truth_of[p]
        return (k, "same" if kind in SAME else kind)

    def repeats(order):  # lines whose recording an earlier line already showed (the query's own counts)
        return sum(recording(p) in {recording(q) for q in order[:i]} for i, p in enumerate(order) if i)
    marked = true_marked = true_pairs = 0
    lines = {"listed": [0, 0], "by embedding": [0, 0]}  # [lines, repeats]
    named = right = owed = 0  # the "copies" of the other recordings' lines: named, rightly, of all there are
    first = {"listed": {}, "by embedding": {}}
    for query, (_, kind) in sorted(truth_of.items()):
        r = CliRunner().invoke(cli, ["similar", query, "--db", db, "--json", "-n", str(n)])
        if r.exit_code != 0:
            raise RuntimeError(r.output)
        hits = json.loads(r.stdout)
        marked += sum(h["same_recording"] for h in hits)
        true_marked += sum(h["same_recording"] and copy(query, h["path"]) for h in hits)
        true_pairs += sum(copy(query, other) for other in truth_of)
        by_embedding = [paths[k] for k in np.argsort(-(emb @ emb[row[query]]), kind="stable") if paths[k] != query]
        for h in hits:
            if not h["same_recording"]:
                named += len(h["copies"])
                right += sum(recording(c) == recording(h["path"]) and c != h["path"] for c in h["copies"])
                owed += sum(recording(p) == recording(h["path"]) and p != h["path"] for p in truth_of)
        for name, order in (("listed", [h["path"] for h in hits]), ("by embedding", by_embedding[:n])):
            lines[name][0] += len(order)
            lines[name][1] += repeats([query, *order]) - sum(recording(p) == recording(query) for p in order)
        for name, order in (("listed", [h["path"] for h in hits]), ("by embedding", by_embedding)):
            if kind in SAME:
                found = sum(copy(query, p) for p in order[:len(SAME) - 1])
                first[name].setdefault(kind, []).append(found / (len(SAME) - 1))
    return {"marked_precision": true_marked / max(marked, 1), "marked_recall": true_marked / max(true_pairs, 1),
            "marked": marked, "true_pairs": true_pairs,
            "other_recordings_repeated": {name: {"lines": v[0], "repeating_an_earlier_line": v[1]}
                                          for name, v in lines.items()},
            "copies_named": {"precision": right / max(named, 1), "recall": right / max(owed, 1), "named": named},
            "copies_in_first_five": {name: {k: round(float(np.mean(v)), 3) for k, v in sorted(by.items())}
                                     for name, by in first.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=90.0)
    a = ap.parse_args()
    from muzip.codec import load_model
    from muzip.library.coefficients import coefficient_runs
    from muzip.library.fingerprint import MAX_BER, MAX_LEVEL_DB, duplicate, fingerprint
    items, truth_of = [], {}  # (original index, kind, fingerprint); path -> (original, kind)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (path, x) in enumerate(originals(a.tracks, a.seconds)):
            for kind, p in write_versions(Path(tmp), k, x).items():
                runs, rate, _ = coefficient_runs(str(p), load_model)
                items.append((k, kind, fingerprint(runs, rate)))
                truth_of[str(p)] = (k, kind)
            print(f"{k + 1}: {os.path.relpath(path, ROOT)}", flush=True)
        product, db = through_the_cli(tmp, truth_of)
        product["similar"] = similar_copies(db, truth_of)
        product["cluster"] = clusters_split(db, truth_of)
    tp = fp = fn = 0
    by_kind, misses = {}, []
    for (ka, ta, fa), (kb, tb, fb) in itertools.combinations(items, 2):
        same, rate, gap = duplicate(fa, fb, align=True)  # every pair's error rate, for the table
        truth = ka == kb and ta in SAME and tb in SAME
        tp += same and truth
        fp += same and not truth
        fn += truth and not same
        if truth != same:
            misses.append({"original": ka if ka == kb else [ka, kb], "files": [ta, tb], "ber": round(rate, 3),
                           "level_gap_db": round(gap, 2), "judged_duplicate": bool(same)})
        kind = "same" if truth else (f"{'/'.join(sorted({ta, tb} & set(OTHER)))} of the original"
                                     if ka == kb else "different tracks")
        by_kind.setdefault(kind, []).append((rate, gap, same))
    out = {"muzip_dupes": product, "originals": len({i[0] for i in items}), "files": len(items), "pairs": len(items) * (len(items) - 1) // 2,
           "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1), "true_pairs": tp + fn,
           "false_positives": fp, "false_negatives": fn, "max_ber": MAX_BER, "max_level_db": MAX_LEVEL_DB,
           "kinds": {k: {"pairs": len(v), "judged_duplicate": int(sum(s for *_, s in v)),
                         "ber_median": float(np.median([r for r, *_ in v])),
                         "ber_range": [float(min(r for r, *_ in v)), float(max(r for r, *_ in v))],
                         "level_gap_db_median": float(np.median([g for _, g, _ in v])),
                         "level_gap_db_range": [float(min(g for _, g, _ in v)), float(max(g for _, g, _ in v))]}
                     for k, v in sorted(by_kind.items())}, "misjudged": misses}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
