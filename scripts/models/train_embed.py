"""Train the library's embedding network (embed-v2; embed-v1 with --features v1): contrastive, on CPU.

    .venv/bin/python -m scripts.models.train_embed prepare               # features of every track -> data/embed2/
    .venv/bin/python -m scripts.models.train_embed train --run runs/embed-v2 --steps 1200 --label-weight 1.0
    .venv/bin/python -m scripts.models.export_embed runs/embed-v2        # -> models/embed-v2

prepare: for each track of the corpus (scripts/data/fetch_corpus.sh), the styles renders (data/styles) and
the unlabelled music21 pool (data/extra, scripts/data/render_styles.py --classes ...), the latents' log
band energies (muzip.library.embed.band_sequence) of the track's first 5 minutes, four ways: from the audio
(encoder, unquantized) and from its .mz at 24, 48 and 96 kbps (entropy-decoded, as `muzip index`
reads a .mz); a styles piece also rendered with another instrument (data/styles_alt) adds that
rendering's audio and 48-kbps versions. One float16 .npz per track, keyed by the track's path under data/.

train: two 4-s windows of one track, each from a random one of its four versions, with a random gain
(+-6 dB) and spectral tilt (+-3 dB), are a positive pair; the other tracks of the batch are the
negatives (NT-Xent, temperature 0.1). Labels are never used. Validation tracks of the corpus
(scripts/data/corpus.py) are never trained on; `--exclude FILE` leaves out more (the benchmark's test folds).
Checkpoints (weights .h5 + state JSON, no pickle) every 250 steps; a re-run resumes.
"""

import argparse
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "data" / "embed2"  # v2 sequences; their first 72 columns are v1's (data/embed held only those)
FEATURES = "latent band and pitch sequence v2"
VERSIONS = ("audio", "mz24", "mz48", "mz96")
ALT_VERSIONS = ("alt_audio", "alt_mz48")  # the same piece with another instrument (render_styles.py --alt)
SOURCES = ("raw", "styles", "extra")  # folders under data/
MAX_SECONDS = 300  # the first 5 minutes of a track (planetblupi's run ~28 min)


def track_key(path) -> str:
    rel = os.path.relpath(os.path.abspath(path), ROOT / "data")
    return hashlib.sha1(rel.encode()).hexdigest()[:16]


def all_tracks() -> list[str]:
    """Every track, once: drascula-music ships each track six times (one folder per language), and a copy
    left in training would put a test track's twin among the positives and negatives. First path kept."""
    from scripts.data.corpus import audio_files
    out, seen = [], set()
    for s in SOURCES:
        if (ROOT / "data" / s).is_dir():
            for p in audio_files(str(ROOT / "data" / s)):
                digest = hashlib.sha1(Path(p).read_bytes()).hexdigest()
                if digest not in seen:
                    seen.add(digest)
                    out.append(p)
    return out


def _get_model(name=None, _cache={}):  # noqa: B006 - one model per worker process
    from muzip.codec import load_model
    if "m" not in _cache:
        _cache["m"] = load_model(None)
    return _cache["m"]


def _versions(path: str, kbps_list=(24, 48, 96), prefix="") -> dict:
    """Band sequences of one file's first MAX_SECONDS: from its audio, and from its .mz at each rate."""
    from muzip.codec import compress_array
    from muzip.library import sources as S
    from muzip.library.embed import feature_sequence
    import soundfile as sf
    x, sr = sf.read(path, dtype="float32", always_2d=True, frames=int(MAX_SECONDS * sf.info(path).samplerate))
    if len(x) < sr:
        return {}
    model = _get_model()
    with tempfile.NamedTemporaryFile(suffix=".wav", dir=CACHE) as tmp:
        sf.write(tmp.name, x, sr, format="WAV", subtype="FLOAT")
        runs, _, _ = S._audio_runs(tmp.name, _get_model, max_frames=1 << 30)  # noqa: SLF001 - whole track
    out = {f"{prefix}audio": feature_sequence(np.concatenate(runs, axis=1), FEATURES).astype(np.float16)}
    for kbps in kbps_list:
        with tempfile.NamedTemporaryFile(suffix=".mz", dir=CACHE) as tmp:
            tmp.write(compress_array(x, sr, bitrate_kbps=kbps, model=model))
            tmp.flush()
            mz, _, _ = S._mz_runs(tmp.name, _get_model, max_frames=1 << 30)  # noqa: SLF001
        out[f"{prefix}mz{kbps}"] = feature_sequence(np.concatenate(mz, axis=1), FEATURES).astype(np.float16)
    return out


def alt_path(path: str) -> str | None:
    """The other rendering of a styles piece (data/styles_alt, same relative path), if rendered."""
    rel = os.path.relpath(os.path.abspath(path), ROOT / "data" / "styles")
    alt = ROOT / "data" / "styles_alt" / rel
    return str(alt) if not rel.startswith("..") and alt.is_file() else None


def prepare_one(path: str) -> str:
    dst = CACHE / f"{track_key(path)}.npz"
    alt = alt_path(path)
    if dst.exists():
        with np.load(dst, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        if alt is None or ALT_VERSIONS[0] in out:
            return f"kept {path}"
    else:
        out = _versions(path)
        if not out:
            return f"too short {path}"
        out["path"] = np.array(os.path.relpath(path, ROOT / "data"))
    if alt is not None:
        out.update(_versions(alt, (48,), prefix="alt_"))
    n = min(len(v) for k, v in out.items() if k != "path")
    part = dst.with_suffix(".part.npz")
    np.savez(part, **{k: (v if k == "path" else v[:n]) for k, v in out.items()})
    os.replace(part, dst)
    return f"done {path} ({n / 43.75:.0f} s{', two renderings' if alt else ''})"


def prepare(jobs: int):
    from multiprocessing import Pool
    CACHE.mkdir(parents=True, exist_ok=True)
    tracks = all_tracks()
    t0 = time.time()
    with Pool(jobs) as pool:
        for i, msg in enumerate(pool.imap_unordered(prepare_one, tracks)):
            print(f"[{i + 1}/{len(tracks)} {time.time() - t0:.0f}s] {msg}", flush=True)


def track_label(path) -> str | None:
    """The label a track carries for the supervised head: its corpus package or its styles class (None: the
    unlabelled music21 pool)."""
    rel = Path(os.path.relpath(os.path.abspath(path), ROOT / "data")).parts
    if len(rel) > 2 and rel[0] in ("raw", "styles"):
        return f"{rel[0]}/{rel[1]}"
    return None


def load_cache(paths, with_paths: bool = False, in_dim: int | None = None):
    """(V, T, F) float32 stacks of the versions of each track (those prepared), their first in_dim features;
    with_paths: also their paths."""
    out, kept = [], []
    for p in paths:
        f = CACHE / f"{track_key(p)}.npz"
        if f.exists():
            with np.load(f, allow_pickle=False) as z:
                seqs = [z[v] for v in VERSIONS + ALT_VERSIONS if v in z.files]
            n = min(len(v) for v in seqs)  # two renderings of a piece may differ by a fraction of a second
            out.append(np.stack([v[:n, :in_dim] for v in seqs]).astype(np.float32))
            kept.append(p)
    return (out, kept) if with_paths else out


def training_tracks(exclude=()) -> list[str]:
    from scripts.data.corpus import band_held_out, split
    _, val = split(str(ROOT / "data" / "raw"))
    skip = {os.path.abspath(p) for p in list(val) + list(exclude)} | band_held_out(str(ROOT / "data" / "raw"))
    return [p for p in all_tracks() if os.path.abspath(p) not in skip]


def augment(x: np.ndarray, rng) -> np.ndarray:
    """Random gain and spectral tilt, applied exactly to log(p + EPS) energies (v2's chroma shares: unchanged,
    its semitone energies: the gain)."""
    from muzip.library.embed import EPS, SEQ_BANDS, SIDE_BANDS
    from muzip.library.pitch import CHROMA
    g = rng.uniform(-6, 6) / 10 * np.log(10)  # dB of power -> natural log
    tilt = rng.uniform(-3, 3) / 10 * np.log(10)
    nb = SEQ_BANDS + SIDE_BANDS
    gain = np.full(x.shape[-1], g)
    gain[:nb] += tilt * np.concatenate([np.linspace(-0.5, 0.5, SEQ_BANDS), np.linspace(-0.5, 0.5, SIDE_BANDS)])
    out = np.log(np.maximum(np.exp(x) - EPS, 0.0) * np.exp(gain) + EPS)
    out[..., nb:nb + CHROMA] = x[..., nb:nb + CHROMA]  # shares: log(share + 0.01), not energies
    return out.astype(np.float32)


def batches(data, batch: int, window: int, rng, labels=None):
    """Endless (B, 2, window, F) positive pairs from B distinct tracks, with their label ids (-1: none)."""
    labels = np.full(len(data), -1, np.int32) if labels is None else np.asarray(labels, np.int32)
    while True:
        picks = rng.choice(len(data), size=min(batch, len(data)), replace=False)
        out = np.empty((len(picks), 2, window, data[0].shape[-1]), np.float32)
        for i, k in enumerate(picks):
            v = data[k]
            for j in range(2):
                t = rng.integers(0, max(1, v.shape[1] - window + 1))
                seg = v[rng.integers(0, v.shape[0]), t:t + window]
                if len(seg) < window:  # short track: repeat it
                    seg = np.resize(seg, (window, seg.shape[1]))
                out[i, j] = augment(seg, rng)
        yield out, labels[picks]


def feature_stats(data):
    allx = np.concatenate([v[0] for v in data])
    return allx.mean(axis=0), allx.std(axis=0) + 1e-3


def train_net(data, steps: int, seed: int = 0, batch: int = 48, log=print, run: Path | None = None,
              ckpt_every: int = 250, labels=None, label_weight: float = 0.0):
    """Train the embedder on prepared tracks (list of (V, T, F)); returns (keras net, config, state).

    labels: one label (str) or None per track; with label_weight > 0 a head learns them (ContrastiveModel)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    from muzip.library.net_model import DEFAULT_CONFIG, ContrastiveModel, build_embed_net
    from muzip.library.embed import FEATURES
    cfg = dict(DEFAULT_CONFIG)
    cfg["in_dim"] = int(data[0].shape[-1])  # v1 or v2 sequences, as load_cache was asked for
    cfg["features"] = next(k for k, v in FEATURES.items() if v == cfg["in_dim"])
    keras.utils.set_random_seed(seed)
    net = build_embed_net(cfg)
    mean, std = feature_stats(data)
    net.get_layer("norm").set_weights([mean.astype(np.float32), std.astype(np.float32)])
    names = sorted({v for v in labels or () if v is not None})
    ids = None if labels is None else [names.index(v) if v is not None else -1 for v in labels]
    cfg["label_weight"] = float(label_weight) if names else 0.0
    cfg["labels"] = names if cfg["label_weight"] else []
    model = ContrastiveModel(net, cfg["temperature"], len(names), cfg["label_weight"])
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4))
    state = {"step": 0, "seconds": 0.0, "losses": []}
    if run and (run / "state.json").exists():
        state = json.loads((run / "state.json").read_text())
        net.load_weights(run / "embed.weights.h5")
        log(f"resumed at step {state['step']}")
    rng = np.random.default_rng([seed, state["step"]])
    gen = batches(data, batch, cfg["window"], rng, ids)
    while state["step"] < steps:
        n = min(ckpt_every, steps - state["step"])
        lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * state["step"] / steps))  # cosine decay, per chunk
        model.optimizer.learning_rate.assign(lr)
        t0 = time.time()
        h = model.fit(gen, steps_per_epoch=n, epochs=1, verbose=0)
        state["step"] += n
        state["seconds"] += time.time() - t0
        state["losses"].append([state["step"], float(h.history["loss"][-1])])
        log(f"step {state['step']}/{steps} loss {h.history['loss'][-1]:.3f} ({state['seconds']:.0f} s)")
        if run:
            run.mkdir(parents=True, exist_ok=True)
            net.save_weights(run / "embed.part.weights.h5")
            os.replace(run / "embed.part.weights.h5", run / "embed.weights.h5")
            (run / "state.json.part").write_text(json.dumps(state))
            os.replace(run / "state.json.part", run / "state.json")
    return net, cfg, state


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("-j", "--jobs", type=int, default=2)
    t = sub.add_parser("train")
    t.add_argument("--run", default=str(ROOT / "runs" / "embed-v1"))
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--exclude", help="file listing tracks to leave out, one path per line")
    t.add_argument("--features", choices=["v1", "v2"], default="v2", help="v1: band energies only")
    t.add_argument("--label-weight", type=float, default=0.0,
                   help="weight of the supervised head on the tracks' package/class labels (0: self-supervised)")
    a = ap.parse_args()
    if a.cmd == "prepare":
        return prepare(a.jobs)
    exclude = Path(a.exclude).read_text().split("\n") if a.exclude else []
    tracks = training_tracks(exclude)
    data, kept = load_cache(tracks, with_paths=True, in_dim=72 if a.features == "v1" else None)
    run = Path(a.run)
    print(f"{len(data)} tracks prepared of {len(tracks)}, {sum(v.shape[1] for v in data) / 43.75 / 3600:.1f} h",
          flush=True)
    net, cfg, state = train_net(data, a.steps, a.seed, run=run, labels=[track_label(p) for p in kept],
                                label_weight=a.label_weight)
    (run / "config.json").write_text(json.dumps(cfg, indent=1))
    (run / "training.json").write_text(json.dumps({
        "tracks": [os.path.relpath(p, ROOT / "data") for p in tracks], "steps": state["step"],
        "seconds": state["seconds"], "losses": state["losses"]}, indent=1))


if __name__ == "__main__":
    main()
