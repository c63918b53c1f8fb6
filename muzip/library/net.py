"""The trained track embedders (embed-v1, -v2) on onnxruntime: latents -> sequence -> network -> vector.

Each sampled run of frames (muzip.library.embed.frame_runs: 12 runs of 4 s spread over the track) is
cut into windows of the length the network was trained on; every window gives a segment embedding,
L2-normalized, and the track's embedding is their normalized mean: the direction that is, on average,
closest to all of its segments, so cosine similarity between tracks compares their typical sound.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .embed import FEATURES, feature_sequence


def windows(seq: np.ndarray, length: int) -> list[np.ndarray]:
    """Non-overlapping windows of `length` steps; a shorter sequence is one window of its own length."""
    if len(seq) <= length:
        return [seq] if len(seq) else []
    return [seq[i:i + length] for i in range(0, len(seq) - length + 1, length)]


class NetEmbedder:
    """Callable on the latent runs of a track (list of (A, n, C)) -> unit float32 vector."""

    def __init__(self, name: str, config: dict, threads: int = 1):
        from ..runtime.session import open_session
        self.name, self.config = name, config
        self.session = open_session(name, "embed.onnx", threads)
        self.input = self.session.get_inputs()[0].name
        self.window = int(config["window"])
        self.features = config["features"]

    def segments(self, runs) -> np.ndarray:
        """(S, dim) unit segment embeddings of the runs' windows."""
        wins = [w for lat in runs for w in windows(feature_sequence(lat, self.features), self.window)]
        if not wins:
            raise ModelError("track too short to embed")
        full = [w for w in wins if len(w) == self.window]
        outs = []
        if full:  # one batched call for the usual case
            outs.append(self.session.run(None, {self.input: np.stack(full).astype(np.float32)})[0])
        for w in wins:
            if len(w) != self.window:
                outs.append(self.session.run(None, {self.input: w[None].astype(np.float32)})[0])
        z = np.concatenate(outs)
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-9)

    def __call__(self, runs, model=None) -> np.ndarray:
        m = self.segments(runs).mean(axis=0)
        return (m / max(float(np.linalg.norm(m)), 1e-9)).astype(np.float32)


def load_net_embedder(name: str, config: dict) -> NetEmbedder:
    if config.get("features") not in FEATURES:
        raise ModelError(f"model '{name}': unknown features '{config.get('features')}'")
    return NetEmbedder(name, config)
