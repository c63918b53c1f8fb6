"""Measure the library on the corpus: classify, segment retrieval, clustering, .mz vs audio, speed, AP scaling.

    .venv/bin/python -m scripts.bench.library_bench [--per-label 20] [--quick]     # writes docs/LIBRARY-SEEN.md

Labelled set *soundtracks*: corpus tracks (data/raw, scripts/data/fetch_corpus.sh; up to 20 per package, the
first by path: drascula alone has 186), labelled by their package. One sample per track, so every split is by track. For each track: muzip's embedding from the
audio and from its .mz (64 kbps), and two segment embeddings (first and second half of the track).
Baseline (classical): librosa MFCC (20), chroma (12) and spectral-contrast (7) means and standard
deviations at 22.05 kHz (the first 120 s; segments: its two halves), standardized. Metrics:
classify accuracy and macro-F1 (logistic regression, 5-fold StratifiedGroupKFold by track), segment
retrieval P@1 (is the nearest other segment the same track's other half), NMI of Affinity
Propagation clusters against the labels. Speed: embedding time per track over its duration (x real
time, one process; MUZIP_THREADS=1 so it is per core). AP scaling: time and peak RSS of
muzip.library.cluster on synthetic unit vectors (50 Gaussian clusters, 130-d) at 1k, 10k and 100k.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

from muzip.defaults import EMBED_MODEL  # noqa: E402
from muzip.library import load_embedder  # noqa: E402
from muzip.library import sources as S  # noqa: E402
from muzip.library.embed import frame_runs  # noqa: E402
from scripts.bench.classical_features import classical_vector, standardized_unit  # noqa: E402
from scripts.bench.library_folds import folds, labelled_tracks, p_at_1, styles_tracks  # noqa: E402


def half_embeddings(path, model, embed):
    """Embeddings of the first and second half of a track (audio path), from runs inside each half."""
    runs, _, info = S._audio_runs(path, lambda name: model)  # noqa: SLF001 - the bench reuses the latents
    lat = np.concatenate(runs, axis=1)
    P = model.config["frame_samples"] // model.config["hop"]
    n = lat.shape[1] // P
    halves = []
    for lo, hi in ((0, n // 2), (n // 2, n)):
        rs = [r for r in frame_runs(n) if lo <= r[0] and r[-1] < hi] or [np.arange(lo, max(hi, lo + 1))]
        halves.append(embed([lat[:, r[0] * P:(r[-1] + 1) * P] for r in rs if r[0] * P < lat.shape[1]], model))
    return halves


def classical(path, seconds=120.0):
    import librosa
    y, sr = librosa.load(path, sr=22050, mono=True, duration=seconds)
    half = len(y) // 2
    return classical_vector(y, sr), classical_vector(y[:half], sr), classical_vector(y[half:], sr)


unit = standardized_unit


def scores(X, y):
    from sklearn.metrics import normalized_mutual_info_score
    from muzip.library.classify import cross_validate
    from muzip.library.cluster import affinity_clusters
    cv = cross_validate(X, y, groups=np.arange(len(y)))
    labels, _ = affinity_clusters(X)
    return {"accuracy": cv["accuracy"], "macro_f1": cv["macro_f1"], "nmi": float(normalized_mutual_info_score(y, labels)),
            "clusters": int(labels.max() + 1)}


AP_CODE = """
import json, sys, time
import numpy as np
from muzip.library.cluster import affinity_clusters
n = int(sys.argv[1]); rng = np.random.default_rng(0)
centres = rng.standard_normal((50, 130))
X = centres[rng.integers(0, 50, n)] + 0.5 * rng.standard_normal((n, 130))
X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
t = time.perf_counter(); labels, ex = affinity_clusters(X); wall = time.perf_counter() - t
print(json.dumps({"n": n, "wall_s": wall, "clusters": len(ex)}))
"""


# On Linux a child's peak RSS starts at its parent's at fork time (and survives exec): this process holds
# hundreds of MB, so the measured run is started by a small intermediate process that reports its child's.
WRAP = ("import json, resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True, "
        "check=True); r = json.loads(p.stdout.strip().splitlines()[-1]); "
        "r['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; print(json.dumps(r))")


def ap_scaling(sizes):
    out = []
    for n in sizes:
        p = subprocess.run([sys.executable, "-c", WRAP, sys.executable, "-c", AP_CODE, str(n)], capture_output=True,
                           text=True, cwd=ROOT, check=True)
        out.append(json.loads(p.stdout.strip().splitlines()[-1]))
        print("AP", out[-1], flush=True)
    return out


def measure_set(tracks, model, embedders, fold_steps):
    """Every metric of one labelled set. embedders: name -> (embed callable, id); the first is embed-v0."""
    classes = sorted({lab for lab, _ in tracks})
    y = np.array([classes.index(lab) for lab, _ in tracks])
    rows = {k: [] for k in ("cls", "clsA", "clsB")}
    for name in embedders:
        rows.update({(name, k): [] for k in ("audio", "mz", "segA", "segB")})
    t_audio = {name: 0.0 for name in embedders}
    t_mz = dict(t_audio)
    dur = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (lab, p) in enumerate(tracks):
            dur += sf.info(p).duration
            mz = os.path.join(tmp, f"{i}.mz")
            # muzip-v1, the embedders' latent space: its .mz is embedded straight from the entropy-decoded latents
            # (a default-model .mz is decoded and re-encoded first: README, "Known limits")
            subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", "-j", "1", "-b", "64", "--model", EMBED_MODEL,
                            p, "-o", mz],
                           check=True, cwd=ROOT)
            for name, (embed, _) in embedders.items():
                t = time.perf_counter()
                rows[(name, "audio")].append(S.record(p, lambda _n: model, embed)["embedding"])
                t_audio[name] += time.perf_counter() - t
                t = time.perf_counter()
                rows[(name, "mz")].append(S.record(mz, lambda _n: model, embed)["embedding"])
                t_mz[name] += time.perf_counter() - t
                a_half, b_half = half_embeddings(p, model, embed)
                rows[(name, "segA")].append(a_half)
                rows[(name, "segB")].append(b_half)
            c, ca, cb = classical(p)
            rows["cls"].append(c)
            rows["clsA"].append(ca)
            rows["clsB"].append(cb)
            print(f"{i + 1}/{len(tracks)} {lab} {Path(p).name}", flush=True)
    E = {k: np.stack([np.frombuffer(v, "<f4") if isinstance(v, bytes) else v for v in vs]).astype(np.float32)
         for k, vs in rows.items()}
    for k in ("cls", "clsA", "clsB"):
        E[k] = unit(E[k])
    out = {"tracks": len(tracks), "classes": classes, "counts": {c: int((y == i).sum()) for i, c in enumerate(classes)},
           "hours": dur / 3600, "embedders": {name: eid for name, (_, eid) in embedders.items()},
           "classical": {**scores(E["cls"], y), "p_at_1": p_at_1(E["clsA"], E["clsB"])}, "by_embedder": {}}
    for name in embedders:
        a, m = E[(name, "audio")], E[(name, "mz")]
        cross = a @ a.T
        out["by_embedder"][name] = {
            "audio": {**scores(a, y), "p_at_1": p_at_1(E[(name, "segA")], E[(name, "segB")])},
            "mz": {**scores(m, y), "p_at_1": None},
            "mz_vs_audio": {"self_cosine_mean": float(np.mean(np.sum(a * m, axis=1))),
                            "self_cosine_min": float(np.min(np.sum(a * m, axis=1))),
                            "other_tracks_cosine_mean": float((cross.sum() - np.trace(cross)) / (len(y) ** 2 - len(y))),
                            "nearest_is_own_mz": float(np.mean(np.argmax(a @ m.T, axis=1) == np.arange(len(y))))},
            "speed": {"from_mz_x": dur / t_mz[name], "from_audio_x": dur / t_audio[name]}}
    if fold_steps:
        from scripts.bench import embed_eval
        v0 = next(iter(embedders))
        out["folds"] = embed_eval.evaluate(
            [p for _, p in tracks], y, {"classical": (E["cls"], E["clsA"], E["clsB"]),
                                        v0: (E[(v0, "audio")], E[(v0, "segA")], E[(v0, "segB")])}, fold_steps)
        out["folds"].update(seed_rows(tracks))
        tag_steps(out["folds"], fold_steps)
    return out, E, y, classes


def tag_steps(folds: dict, steps: int) -> None:
    """Record how long the per-fold networks trained (the docs name it)."""
    for key, row in folds.items():
        if key.endswith("(per-fold networks)") and key.startswith("embed-v2"):
            row.setdefault("steps", steps)


def seed_rows(tracks) -> dict:
    """The seeds' CNN and autoencoder designs on the same folds (scripts/bench/seed_baselines.py)."""
    from scripts.bench import seed_baselines
    classes = sorted({lab for lab, _ in tracks})
    y = np.array([classes.index(lab) for lab, _ in tracks])
    return seed_baselines.evaluate([p for _, p in tracks], y, folds(y))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-label", type=int, default=20, help="tracks per label, first by path (0: all)")
    ap.add_argument("--quick", action="store_true", help="4 tracks per label, AP at 1k only; prints only")
    ap.add_argument("--only", choices=["soundtracks", "styles", "sets", "ap", "seeds", "folds"],
                    help="re-measure one part (sets: both labelled sets; seeds: only the seeds' designs on both; "
                         "folds: only muzip's per-fold networks on both) into the last results")
    ap.add_argument("--fold-steps", type=int, default=1200,
                    help="training steps of each per-fold network (0: skip the fold evaluation; with --only, keep "
                         "the folds of the last results)")
    ap.add_argument("--merge-folds", metavar="JSON",
                    help="merge the output line of `python -m scripts.bench.embed_eval SET` (the same per-fold evaluation as "
                         "--only folds, one set) into the last results and rewrite docs/LIBRARY-SEEN.md")
    a = ap.parse_args()
    results = ROOT / "docs" / "library_results.json"
    if a.merge_folds:
        run = json.loads(Path(a.merge_folds).read_text().strip().splitlines()[-1])
        res = json.loads(results.read_text())
        recipe = {("v2", 1.0): "embed-v2", ("v1", 0.0): "embed-v1"}.get((run["features"], run["label_weight"]))
        if recipe is None or run["steps"] != a.fold_steps:
            raise SystemExit(f"library_bench: {a.merge_folds} is not a shipped recipe at {a.fold_steps} steps")
        m = dict(next(v for k, v in run.items() if k.endswith("(per-fold networks)")), steps=run["steps"])
        res["sets"][run["set"]]["folds"][f"{recipe} (per-fold networks)"] = m
        results.write_text(json.dumps(res, indent=1))
        (ROOT / "docs" / "LIBRARY-SEEN.md").write_text(markdown(res))
        return
    from muzip.codec import installed_models, load_model
    model = load_model(EMBED_MODEL)
    # every shipped embedder of the codec's latents (embed-v1 is no longer shipped: its session-4 figures stay in
    # the per-fold table); embed-v3 projects descriptors with a collection's statistics and is measured
    # leave-one-corpus-out by scripts/bench/library_loco.py
    embedders = {name: e for name in installed_models("embedder")
                 for e in [load_embedder(name)] if not hasattr(e[0], "describe")}
    res = json.loads(results.read_text()) if a.only and results.exists() else {"sets": {}}
    n = 4 if a.quick else a.per_label
    for name, tracks in (("soundtracks", labelled_tracks(n)), ("styles", styles_tracks(n))):
        if not tracks or (a.only and a.only not in (name, "sets", "seeds", "folds")):
            continue
        if a.only == "folds":
            from scripts.bench import embed_eval
            y = np.array([sorted({lab for lab, _ in tracks}).index(lab) for lab, _ in tracks])
            res["sets"][name]["folds"].update(embed_eval.evaluate([p for _, p in tracks], y, {}, a.fold_steps))
            tag_steps(res["sets"][name]["folds"], a.fold_steps)
            print(json.dumps(res["sets"][name]["folds"], indent=1), flush=True)
            continue
        if a.only == "seeds":
            res["sets"][name]["folds"].update(seed_rows(tracks))
            print(json.dumps(res["sets"][name]["folds"], indent=1), flush=True)
            continue
        kept = res["sets"].get(name, {}).get("folds")
        res["sets"][name], E, y, classes = measure_set(tracks, model, embedders, 0 if a.quick else a.fold_steps)
        if kept and "folds" not in res["sets"][name]:  # --fold-steps 0: whole-set rows only, folds as last measured
            res["sets"][name]["folds"] = kept
        print(json.dumps(res["sets"][name], indent=1), flush=True)
        if name == "soundtracks" and not a.quick:
            from muzip.library.cluster import affinity_clusters
            from muzip.library.tsne_map import draw, tsne_2d
            emb = E[("embed-v2", "audio")]  # the shipped network (trained on these tracks and labels too)
            _, ex = affinity_clusters(emb)
            draw(tsne_2d(emb), [classes[i] for i in y], {int(i): Path(tracks[i][1]).stem for i in ex},
                 str(ROOT / "docs" / "library_map_seen.png"), f"{len(y)} corpus tracks by package; AP exemplars labelled")
    if not a.only or a.only == "ap":
        res["ap_scaling"] = ap_scaling([1000] if a.quick else [1000, 10000, 100000])
    if a.quick:
        return
    results.write_text(json.dumps(res, indent=1))
    (ROOT / "docs" / "LIBRARY-SEEN.md").write_text(markdown(res))


def markdown(res) -> str:
    from muzip.library.cluster import CENTROIDS, DENSE_MAX

    def row(name, m):
        p1 = "n/a" if m.get("p_at_1") is None else f"{m['p_at_1']:.3f}"
        return f"| {name} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {p1} | {m['nmi']:.3f} ({m['clusters']} clusters) |"
    L = ["# The muzip library: measured", "",
         "Generated by `scripts/bench/library_bench.py` (run by `make bench`; the *styles* set needs "
         "`scripts/data/render_styles.py` first, embed-v1's per-fold networks `python -m scripts.models.train_embed prepare`). "
         "One sample per track, so every split is by track.", ""]
    about = {"soundtracks": "corpus tracks, one label per Debian package (up to 20 per package, the first by path)",
             "styles": "music21 corpus pieces rendered through FluidSynth (FluidR3 GM), one GM program per piece drawn "
                       "from a pool shared by all classes (scripts/data/render_styles.py), the first 60 s"}
    for name, r in res["sets"].items():
        L += [f"## {name}", "",
              f"{r['tracks']} {about[name]} ({r['hours']:.1f} h): " + ", ".join(f"{c} {n}" for c, n in r["counts"].items())
              + ".", ""]
        if "folds" in r:
            f = r["folds"]
            L += ["### Every track a test track once, never trained on", "",
                  "5 folds by track. muzip's embedding network is trained from scratch for each fold without the "
                  "fold's test tracks, their audio or their labels (scripts/bench/embed_eval.py). embed-v2's recipe: band "
                  "energies and pitch features of the latents (muzip/library/pitch.py), the contrastive loss plus a "
                  "supervised head on the other tracks' labels (package, style class; both sets), and each styles "
                  "piece's second rendering with another instrument as a positive (render_styles.py --alt). The "
                  "embed-v1 row is the self-supervised band-energy network as measured in session 4. embed-v2's rows come "
                  f"from `python -m scripts.bench.embed_eval SET --steps {f.get('embed-v2 (per-fold networks)', {}).get('steps', 600)} > LOG` and `python -m scripts.bench.library_bench --merge-folds LOG` "
                  "(the same evaluation as `--only folds`). Classification is the logistic regression of those folds. Segment P@1 and "
                  "NMI are computed among each fold's test tracks (about a fifth of the set) and averaged, for every "
                  "feature set alike.", "",
                  "| features | accuracy | macro-F1 | segment P@1 (per fold) | NMI (per fold) |", "|---|---:|---:|---:|---:|"]
            for key, label in (("embed-v2 (per-fold networks)", "**embed-v2** (network per fold), from audio"),
                               ("embed-v1 (per-fold networks)", "embed-v1 (network per fold, session 4), from audio")):
                if key in f:
                    m = f[key]
                    L.append(f"| {label} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['p_at_1_fold']:.3f} | "
                             f"{m['nmi_fold']:.3f} |")
            for other, label in (("embed-v0", "embed-v0 (no network), from audio"),
                                 ("classical", "classical: MFCC + chroma + contrast statistics")):
                m = r["by_embedder"]["embed-v0"]["audio"] if other == "embed-v0" else r["classical"]
                L.append(f"| {label} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {f[other]['p_at_1_fold']:.3f} | "
                         f"{f[other]['nmi_fold']:.3f} |")
            for label, m in f.items():
                if label.startswith("seed:"):
                    L.append(f"| {label} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['p_at_1_fold']:.3f} | "
                             f"{m['nmi_fold']:.3f} |")
            L.append("")
        L += ["### Whole set", "",
              "embed-v0 and the classical features have no training; the shipped embed-v1 (without labels) and "
              "embed-v2 (with labels) were trained on tracks that include these, so their rows here are not "
              "held-out figures: the per-fold table is. These rows alone are re-measured by "
              "`python -m scripts.bench.library_bench --only sets --fold-steps 0` (the per-fold tables of the last results are kept).",
              "", "| features | accuracy | macro-F1 | segment P@1 | NMI of AP clusters |", "|---|---:|---:|---:|---:|"]
        for emb, m in r["by_embedder"].items():
            L += [row(f"muzip {emb}, from audio", m["audio"]), row(f"muzip {emb}, from .mz (64 kbps)", m["mz"])]
        L += [row("classical: MFCC + chroma + contrast statistics", r["classical"]), ""]
        for emb, m in r["by_embedder"].items():
            mv = m["mz_vs_audio"]
            L += [f"{emb} (`{r['embedders'][emb]}`): a track and its .mz, cosine {mv['self_cosine_mean']:.3f} on average "
                  f"(lowest {mv['self_cosine_min']:.3f}) against {mv['other_tracks_cosine_mean']:.3f} between different "
                  f"tracks; the nearest .mz of a track's audio is its own in {mv['nearest_is_own_mz']:.0%} of tracks. "
                  f"Speed (one core, model loaded): from .mz {m['speed']['from_mz_x']:.0f}x real time (target >= 300x), "
                  f"from audio {m['speed']['from_audio_x']:.0f}x.", ""]
    L += ["Accuracy and macro-F1: logistic regression, 5-fold cross-validation split by track. Segment P@1: the two "
          "halves of each track embedded separately; the share whose nearest other half is its own. NMI: Affinity "
          "Propagation (default preference) against the labels.",
          "", "## Affinity Propagation scaling", "",
          f"Synthetic 130-d unit vectors (50 clusters); dense AP up to {DENSE_MAX:,} tracks, AP over {CENTROIDS:,} "
          "k-means centroids above. Peak RSS of the measuring process (a fresh one per size).", "",
          "| tracks | wall s | clusters | peak RSS MB |", "|---:|---:|---:|---:|",
          *[f"| {a['n']:,} | {a['wall_s']:.1f} | {a['clusters']} | {a['peak_rss_mb']:.0f} |" for a in res["ap_scaling"]], "",
          "Dense AP would need 24 N^2 bytes: 2.4 GB at 10k, 240 GB at 100k.", "",
          "![t-SNE map of the corpus](library_map_seen.png)", "",
          "The map: t-SNE of the shipped embed-v2's embeddings of the soundtracks set, from audio, coloured by "
          "package, with the Affinity Propagation exemplars labelled. embed-v2 was trained with these tracks' package "
          "labels (its supervised head), so the clean separation shows what the shipped network does on a library "
          "it has seen, not held-out performance (the per-fold tables are that).", "",
          "The seeds' designs (scripts/bench/seed_baselines.py) are trained per fold on the fold's training tracks, like "
          "embed-v1's networks. VGG16 transfer learning (the capstone's second model) needs ImageNet weights, which "
          "cannot be fetched offline, so it is not measured.", ""]
    return "\n".join(L)


if __name__ == "__main__":
    main()
