"""Build models/embed-v0: the standardization statistics of muzip's library embedding.

    .venv/bin/python -m scripts.models.library_stats [--tracks 120]

The raw features (muzip.library.embed: band statistics of the codec's latents) of the training tracks
(scripts/data/corpus.py split(): never the validation tracks), from audio through the encoder; their mean
and standard deviation go into stats.npz, with config.json, SHA256SUMS and MODEL.md.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=120)
    a = ap.parse_args()
    from scripts.data.corpus import split
    from muzip.library.embed import MAX_FRAMES, RUN, feature_dim
    from muzip.library.sources import raw_features
    from muzip.codec import load_model
    from muzip.nn.writer import listed_sums, write_model_folder
    train, _ = split()
    model = load_model("muzip-v1")
    picks = [train[i] for i in np.random.default_rng(0).permutation(len(train))[:a.tracks]]
    t0 = time.time()
    feats = np.stack([raw_features(str(p), lambda name: model)[0] for p in picks])
    wall = time.time() - t0
    cfg = {"kind": "embedder", "codec": "muzip-v1", "features": "latent band statistics v0",
           "dim": int(feature_dim(model.config["latent_channels"])), "max_frames": MAX_FRAMES, "run": RUN}
    files = ("config.json", "stats.npz")

    def card(folder, info):
        sums = listed_sums(folder)
        return "\n".join([
            "# embed-v0: muzip's library embedding (no trained network)", "",
            f"A {cfg['dim']}-d track embedding computed from the muzip-v1 codec's latents (muzip/library/embed.py): per "
            "band (36 log-spaced groups of the 252 latent channels) the mean, standard deviation and mean frame-to-frame "
            "change of the log energy, the side/mid energy ratio in 6 bands, and the loudness envelope's autocorrelation "
            "at 16 lags from 0.25 to 2 s; from up to 48 one-second frames (12 runs of 4) spread over the track. A `.mz` "
            "is embedded from its entropy-decoded latents (no network); audio through the encoder.", "",
            "This folder holds only the standardization applied before L2 normalization: the mean and standard "
            f"deviation of the raw features over {len(picks)} training tracks of the corpus (scripts/data/corpus.py split(), "
            f"seed 0; validation tracks never used), computed by `scripts/models/library_stats.py` in {wall:.0f} s.", "",
            *[f"- `{f}`: sha256 `{sums[f]}`" for f in files], "",
            "Measured quality: docs/LIBRARY-SEEN.md (`scripts/bench/library_bench.py`).", ""])
    write_model_folder(ROOT / "models", "embed-v0", identity=files, card=card, files={
        "config.json": cfg, "stats.npz": lambda path: np.savez(path, mean=feats.mean(axis=0).astype(np.float32),
                                                               std=feats.std(axis=0).astype(np.float32))})
    print(json.dumps(cfg), f"{len(picks)} tracks in {wall:.0f} s")


if __name__ == "__main__":
    main()
