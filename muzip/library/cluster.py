"""Affinity Propagation on track embeddings (as Autogroove): clusters and their exemplar tracks.

Dense AP keeps three N x N float64 matrices (similarity, responsibility, availability): 24 N^2 bytes,
600 MB at 5,000 tracks and 8 TB at a million, and its iterations cost N^2 each. Up to DENSE_MAX tracks
muzip runs it directly on the cosine similarities; above, AP runs on the centroids of a k-means
(MiniBatchKMeans, K = CENTROIDS) and each track joins its centroid's cluster, the exemplar being the track
nearest the exemplar centroid.
scripts/bench/library_bench.py measures time and memory at 1k, 10k and 100k tracks (docs/LIBRARY-SEEN.md)."""

from __future__ import annotations

import warnings

import numpy as np

# Dense AP of 5,000 tracks took 98-100 s on 2 cores, 3,000 tracks 10-35 s, 2,000 5-17 s; the centroids' path
# 1-7 s at any size to 10,000 (scripts/experiments/exp_cluster_threshold.py, docs/logs/cluster_threshold_s54.log)
DENSE_MAX = 2000
CENTROIDS = 1000


def _ap(sim: np.ndarray, preference, seed: int):
    from sklearn.cluster import AffinityPropagation
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # "all samples have mutually equal similarities": fine
        ap = AffinityPropagation(affinity="precomputed", preference=preference, damping=0.7, max_iter=400,
                                 convergence_iter=30, random_state=seed).fit(sim)
    labels, centers = ap.labels_, ap.cluster_centers_indices_
    if centers is None or len(centers) == 0 or np.any(labels < 0):  # did not converge: one cluster
        return np.zeros(len(sim), int), np.array([int(np.argmax(sim.sum(axis=1)))])
    return labels, centers


def stand_ins(n: int, copies) -> tuple[np.ndarray, np.ndarray]:
    """(each of n rows' stand-in row: its recording's best copy, the rows that stand for a recording, sorted)
    for `copies`: groups of rows that hold one recording, best copy first (library.copies.recording_groups)."""
    stands_for = np.arange(n)
    for g in copies:
        stands_for[np.asarray(g, int)] = g[0]
    return stands_for, np.unique(stands_for)


def affinity_clusters(emb: np.ndarray, preference=None, seed: int = 0, copies=()):
    """-> (labels (N,), exemplar indices (K,)) for unit-norm embeddings (N, D). `copies`: groups of row indices
    that hold one recording, best copy first (library.copies.recording_groups), clustered as that one track,
    so its copies share a cluster (a copy at a low sample rate lies far from its original by embedding) and a
    recording held five times weighs as one."""
    if len(copies):
        stands_for, kept = stand_ins(len(emb), copies)
        labels, exemplars = affinity_clusters(emb[kept], preference, seed)
        return labels[np.searchsorted(kept, stands_for)], kept[exemplars]
    n = len(emb)
    if n == 0:
        return np.zeros(0, int), np.zeros(0, int)
    if n == 1:
        return np.zeros(1, int), np.zeros(1, int)
    if n <= DENSE_MAX:
        return _ap(emb @ emb.T, preference, seed)
    from sklearn.cluster import MiniBatchKMeans
    # One k-means++ start: its seeding of 1,000 centroids was 13 of the 17 s of a 10,000-track `cluster` with
    # three starts, and AP then groups the centroids anyway (session 44).
    km = MiniBatchKMeans(n_clusters=min(CENTROIDS, n // 5), random_state=seed, batch_size=4096, n_init=1).fit(emb)
    cents = km.cluster_centers_ / np.maximum(np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-9)
    c_labels, c_exemplars = _ap(cents @ cents.T, preference, seed)
    labels = c_labels[km.labels_]
    exemplars = np.array([int(np.argmax(emb @ cents[c])) for c in c_exemplars])
    return labels, exemplars


def numbered(labels, exemplars) -> list[tuple[int, np.ndarray]]:
    """The clusters as `muzip cluster` and `muzip map` number them: [(exemplar index, member indices)],
    largest first (ties in Affinity Propagation's order); cluster k is the list's entry k - 1."""
    labels = np.asarray(labels)
    out = [(int(ex), np.nonzero(labels == k)[0]) for k, ex in enumerate(exemplars)]
    out.sort(key=lambda c: -len(c[1]))
    return out


def cluster_numbers(labels, exemplars) -> np.ndarray:
    """(N,) each track's cluster number (1-based, as `numbered`)."""
    numbers = np.zeros(len(labels), int)
    for k, (_, members) in enumerate(numbered(labels, exemplars)):
        numbers[members] = k + 1
    return numbers


def clusters_json(labels, exemplars, paths) -> dict:
    return {"clusters": [{"exemplar": paths[ex], "members": [paths[i] for i in members]}
                         for ex, members in numbered(labels, exemplars)]}
