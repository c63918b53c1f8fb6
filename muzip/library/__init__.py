"""The muzip library: index, search, cluster, classify and map a collection, straight from `.mz` files.

* ``embed``: features of the codec's latents (embed-v0: band statistics; embed-v1: band sequences, and
  embed-v2: band and pitch sequences (``pitch``), into the trained network of ``net``, exported from
  ``net_model``); ``sources``: latents from a `.mz`
  (entropy decoding only) or from audio (the encoder), and the per-file record of `muzip index`;
* ``catalog``: the SQLite catalog; ``search``: nearest tracks (exact, or usearch HNSW when large);
* ``coefficients`` and ``descriptors``: MDCT coefficients of a track's audio or of any `.mz`, and their
  statistics in Hz-defined bands, and ``onset_patterns`` beside them (embed-v4, v5); ``projection``: embed-v3,
  v3.1, v4 and v5 (the default), which standardize descriptors by
  the collection's own statistics (``collection``: kept by the catalog and by classifiers) and project them;
* ``cluster``: Affinity Propagation; ``classify``: logistic regression stored as .npz; ``tsne_map``: t-SNE.
"""

from __future__ import annotations

import numpy as np

from ..defaults import DEFAULT_EMBEDDER
from ..errors import ModelError


class StatsEmbedder:
    """embed-v0: standardized band statistics of the latents (no network)."""

    def __init__(self, normalizer):
        self.normalizer = normalizer

    def __call__(self, runs, model) -> np.ndarray:
        from .embed import features
        return self.normalizer(features(runs, model.config.model_rate / model.config.hop))


def load_embedder(name: str = DEFAULT_EMBEDDER):
    """(embedder, embedder id) of an installed embedder model, its files sha256-checked. The embedder maps
    (latent runs, codec model) to a unit vector; the id (name and a digest of its SHA256SUMS) is stored
    with every catalog record, so a catalog made with another embedder is re-embedded, never mixed."""
    import io

    from ..runtime.store import verified_bytes
    from .identity import embedder_identity
    name, config, embedder_id = embedder_identity(name)
    if config.get("kind") != "embedder":
        raise ModelError(f"model '{name}' is not an embedder")
    from .embed import FEATURES
    if str(config.get("features", "")).startswith("mdct descriptors"):  # embed-v3: descriptors, projected
        from .projection import load_descriptor_embedder
        return load_descriptor_embedder(name, config, verified_bytes(name, "projection.npz")), embedder_id
    if config.get("features") in FEATURES:  # a trained network on latent sequences (embed-v1, embed-v2)
        from .net import load_net_embedder
        return load_net_embedder(name, config), embedder_id
    from .embed import Normalizer
    try:
        with np.load(io.BytesIO(verified_bytes(name, "stats.npz")), allow_pickle=False) as z:
            mean, std = z["mean"], z["std"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model '{name}': cannot read stats.npz ({exc})") from None
    return StatsEmbedder(Normalizer(mean, std)), embedder_id
