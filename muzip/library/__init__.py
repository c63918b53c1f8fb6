"""The muzip library: index, search, cluster, classify and map a collection, straight from `.mz` files.

* ``embed``: the embedding (band statistics of the codec's latents); ``sources``: latents from a `.mz`
  (entropy decoding only) or from audio (the encoder), and the per-file record of `muzip index`;
* ``catalog``: the SQLite catalog; ``search``: nearest tracks (exact, or usearch HNSW when large);
* ``cluster``: Affinity Propagation; ``classify``: logistic regression stored as .npz; ``tsne_map``: t-SNE.
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import ModelError

DEFAULT_EMBEDDER = "embed-v0"


def load_embedder(name: str = DEFAULT_EMBEDDER):
    """(normalizer, embedder id) of an installed embedder model (config.json + stats.npz, sha256-checked)."""
    import io

    from ..runtime.store import models_dir, resolve_name, verified_bytes
    from .embed import Normalizer
    name = resolve_name(name)
    config = json.loads(verified_bytes(name, "config.json"))
    if config.get("kind") != "embedder":
        raise ModelError(f"model '{name}' is not an embedder")
    try:
        with np.load(io.BytesIO(verified_bytes(name, "stats.npz")), allow_pickle=False) as z:
            mean, std = z["mean"], z["std"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model '{name}': cannot read stats.npz ({exc})") from None
    import hashlib
    digest = hashlib.sha256((models_dir() / name / "SHA256SUMS").read_bytes()).hexdigest()[:16]
    return Normalizer(mean, std), f"{name}:{digest}"
