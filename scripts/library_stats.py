"""Build models/embed-v0: the standardization statistics of muzip's library embedding.

    .venv/bin/python scripts/library_stats.py [--tracks 120]

The raw features (muzip.library.embed: band statistics of the codec's latents) of the training tracks
(scripts/corpus.py split(): never the validation tracks), from audio through the encoder; their mean
and standard deviation go into stats.npz, with config.json, SHA256SUMS and MODEL.md.
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=120)
    a = ap.parse_args()
    from corpus import split
    from muzip.library.embed import MAX_FRAMES, RUN, feature_dim
    from muzip.library.sources import raw_features
    from muzip.runtime import load_model
    train, _ = split()
    model = load_model("muzip-v1")
    picks = [train[i] for i in np.random.default_rng(0).permutation(len(train))[:a.tracks]]
    t0 = time.time()
    feats = np.stack([raw_features(str(p), lambda name: model)[0] for p in picks])
    wall = time.time() - t0
    out = ROOT / "models" / "embed-v0"
    out.mkdir(parents=True, exist_ok=True)
    cfg = {"kind": "embedder", "codec": "muzip-v1", "features": "latent band statistics v0",
           "dim": int(feature_dim(model.config["latent_channels"])), "max_frames": MAX_FRAMES, "run": RUN}
    (out / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    np.savez(out / "stats.npz", mean=feats.mean(axis=0).astype(np.float32), std=feats.std(axis=0).astype(np.float32))
    files = ("config.json", "stats.npz")
    sums = {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in files}
    (out / "SHA256SUMS").write_text("".join(f"{sums[f]}  {f}\n" for f in files))
    (out / "MODEL.md").write_text("\n".join([
        "# embed-v0: muzip's library embedding (no trained network)", "",
        f"A {cfg['dim']}-d track embedding computed from the muzip-v1 codec's latents (muzip/library/embed.py): per "
        "band (36 log-spaced groups of the 252 latent channels) the mean, standard deviation and mean frame-to-frame "
        "change of the log energy, the side/mid energy ratio in 6 bands, and the loudness envelope's autocorrelation "
        "at 16 lags from 0.25 to 2 s; from up to 48 one-second frames (12 runs of 4) spread over the track. A `.mz` "
        "is embedded from its entropy-decoded latents (no network); audio through the encoder.", "",
        "This folder holds only the standardization applied before L2 normalization: the mean and standard "
        f"deviation of the raw features over {len(picks)} training tracks of the corpus (scripts/corpus.py split(), "
        f"seed 0; validation tracks never used), computed by `scripts/library_stats.py` in {wall:.0f} s.", "",
        *[f"- `{f}`: sha256 `{sums[f]}`" for f in files], "",
        "Measured quality: docs/LIBRARY.md (`scripts/library_bench.py`).", ""]))
    print(json.dumps(cfg), f"{len(picks)} tracks in {wall:.0f} s")


if __name__ == "__main__":
    main()
