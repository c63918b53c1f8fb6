"""embed-v3, v3.1, v4 and v5: track descriptors (v4, v5: with onset patterns after them), standardized by the
collection's own statistics, through a learned projection.

A track's descriptor (muzip.library.descriptors, from the coefficients of its audio or of any `.mz`) is
standardized by the statistics of the collection it is compared within (a catalog's tracks, a classifier's
training files), as Musly sets its "style" from the collection it serves: what is typical of a collection
(its production, its era, its codec) is what tells its tracks apart least. Small collections borrow
`prior_tracks` tracks' worth of the training audio's statistics. The projection is a linear discriminant
learned without labels, a training file's segments being one class (track identity), on training audio
standardized per corpus, i.e. the way it is used (scripts/models/make_embed_v3.py; the leave-one-corpus-out
measurement: scripts/experiments/exp_embed_v3.py, docs/EXPERIMENTS.md).
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import ModelError
from . import descriptors as D
from . import onset_patterns as P

# What an embedder's projection reads, and its length: the descriptors (embed-v3, embed-v3.1), or the
# descriptors and a version of the onset patterns after them (embed-v4: version 1, session 46; embed-v5: 2).
FEATURES = f"mdct descriptors v{D.VERSION}"
PATTERN_VERSIONS = {f"{FEATURES} + onset patterns v{v}": v for v in P.FLOOR_DB}
PATTERN_FEATURES = f"{FEATURES} + onset patterns v{P.VERSION}"  # the newest
DIMS = {FEATURES: D.DIM, **{f: D.DIM + P.DIM for f in PATTERN_VERSIONS}}


class DescriptorEmbedder:
    """describe(coefficient runs, rate) -> raw descriptor; project(raw (N, DIM), stats) -> unit vectors."""

    def __init__(self, name: str, config: dict, arrays: dict):
        self.name, self.config = name, config
        self.scalings = np.asarray(arrays["scalings"], np.float64)
        self.prior_mean = np.asarray(arrays["prior_mean"], np.float64)
        self.prior_var = np.asarray(arrays["prior_var"], np.float64)
        self.prior_tracks = float(config.get("prior_tracks", 20))
        self.patterns = PATTERN_VERSIONS.get(config.get("features"))  # None: descriptors alone
        dim = DIMS[config.get("features")]
        if (self.scalings.ndim != 2 or self.scalings.shape[0] != dim
                or self.prior_mean.shape != (dim,) or self.prior_var.shape != (dim,)
                or not all(np.all(np.isfinite(a)) for a in (self.scalings, self.prior_mean, self.prior_var))
                or np.any(self.prior_var <= 0)):
            raise ModelError(f"model '{name}': its projection does not match {config.get('features')}")
        self.dim = self.scalings.shape[1]

    def describe(self, runs, rate: int) -> np.ndarray:
        if self.patterns is None:
            return D.descriptor(runs, rate).astype(np.float32)
        patterns = P.onset_patterns(runs, rate, P.FLOOR_DB[self.patterns])
        return np.concatenate([D.descriptor(runs, rate), patterns]).astype(np.float32)

    def stats(self, raw: np.ndarray | None = None) -> np.ndarray:
        """(2, DIM) mean and standard deviation of a collection's raw descriptors (N, DIM), shrunk towards
        the training audio's by prior_tracks pseudo-tracks; the prior alone for None or no rows."""
        k = self.prior_tracks
        if raw is None or len(raw) == 0:
            return np.stack([self.prior_mean, np.sqrt(self.prior_var)])
        raw = np.asarray(raw, np.float64)
        n = len(raw)
        mean = (n * raw.mean(axis=0) + k * self.prior_mean) / (n + k)
        # the pooled second moment about the new mean: the collection's spread plus how far it sits from the prior
        var = (n * (raw.var(axis=0) + (raw.mean(axis=0) - mean) ** 2)
               + k * (self.prior_var + (self.prior_mean - mean) ** 2)) / (n + k)
        return np.stack([mean, np.sqrt(var)])

    def project(self, raw: np.ndarray, stats: np.ndarray) -> np.ndarray:
        """(N, DIM) raw descriptors -> (N, dim) unit float32 vectors under a collection's stats (2, DIM)."""
        z = (np.asarray(raw, np.float64) - stats[0]) / stats[1]
        v = z @ self.scalings  # a collection's standardized descriptors are centred already
        return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def features(self, raw: np.ndarray, stats: np.ndarray, flatness: bool = False) -> np.ndarray:
        """What a classifier reads: the unit vector and the standardized descriptor beside it, without the
        flatness per octave unless asked (classifiers written before session 42 read it).
        The projection keeps what tells tracks apart; a label can live in what it leaves out (a soundtrack's
        production: leave-one-corpus-out accuracy 0.853 -> 0.890, docs/EXPERIMENTS.md session 39). Flatness is
        what a codec's noise fill moves: without it a classifier reads an older model's .mz as its audio
        (muzip-v2.1 at 24 kbps: accuracy 0.026 below the audio's with it, 0.008 without; session 42).
        The onset patterns are left out too: they are there for the projection (read beside it, they cost
        the leave-one-corpus-out regression 0.04 of accuracy; session 46)."""
        z = (np.asarray(raw, np.float64) - stats[0]) / stats[1]
        z = z[:, :D.DIM]
        if not flatness:
            z = np.delete(z, D.FLATNESS_DIMS, axis=1)
        return np.concatenate([self.project(raw, stats), z.astype(np.float32)], axis=1)


def load_descriptor_embedder(name: str, config: dict, npz_bytes: bytes) -> DescriptorEmbedder:
    if config.get("features") not in DIMS:
        raise ModelError(f"model '{name}': features '{config.get('features')}', this muzip reads "
                         + " or ".join(f"'{f}'" for f in DIMS))
    try:
        with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("scalings", "prior_mean", "prior_var")}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model '{name}': cannot read projection.npz ({exc})") from None
    return DescriptorEmbedder(name, config, arrays)


def per_corpus(X: np.ndarray, corpora: np.ndarray) -> np.ndarray:
    """Each corpus's rows standardized by that corpus's own statistics."""
    Z = np.empty_like(X, dtype=np.float64)
    for c in np.unique(corpora):
        m = corpora == c
        Z[m] = (X[m] - X[m].mean(axis=0)) / (X[m].std(axis=0) + 1e-9)
    return Z


def fit_projection(X: np.ndarray, tracks: np.ndarray, corpora: np.ndarray, dims: int = 128) -> dict:
    """The arrays of projection.npz from training segments' raw descriptors X (M, DIM), each segment's
    training file (the class: track identity) and corpus (standardized apart)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    Z = per_corpus(np.asarray(X, np.float64), np.asarray(corpora))
    n = min(dims, len(np.unique(tracks)) - 1, X.shape[1])
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto", n_components=n).fit(Z, tracks)
    return {"scalings": lda.scalings_[:, :n].astype(np.float64),
            "prior_mean": X.mean(axis=0).astype(np.float64), "prior_var": (X.var(axis=0) + 1e-12).astype(np.float64)}
