"""Comparing a low-rate file with a catalog: a band-limited view of the raw descriptors.

A file sampled at 22.05 or 16 kHz has nothing above 11 or 8 kHz, and the embedding reads that as a change of
timbre: on the held-out folds a 22.05-kHz copy's nearest other track has its label 15-81 % of the time where
the track itself has 76-91 % (scripts/experiments/exp_low_rate_neighbours.py, docs/EXPERIMENTS.md session 51).
The band-limited view keeps, of a raw descriptor (muzip.library.descriptors, and the onset patterns after it
where the embedder reads them), only what the bands under the file's top frequency decide: those bands'
spectral shape (re-centred over them: the shape is level-free over all bands), spread, flux, flatness, stereo
and onset patterns (re-centred too), with the chroma, dynamics and rhythm; not the cepstra or their
covariance, which mix every band. Standardized by the catalog's own tracks and compared by cosine, a low-rate
copy's nearest other track has its label as often as the audio's has by the embedding, or more often
(0.82-0.91 at 22.05 kHz, 0.78-0.88 at 16 kHz), and its own original is its nearest track every time.
"""

from __future__ import annotations

import numpy as np

from . import descriptors as D
from . import onset_patterns as P

TOP_SHARE = 0.45  # of the sample rate: where a resampler's pass band ends
DIMS = (D.DIM + P.DIM, D.DIM)  # the raw descriptors this view reads: with the onset patterns (embed-v4, v5), or not
# Files whose top frequency is under the descriptors' top band edge are compared band-limited.
LOW_RATE_HZ = int(D.HIGH_HZ / TOP_SHARE)


def top_hz(rate) -> float | None:
    """The top frequency a file of this sample rate holds, where it is under the descriptors' top (None:
    compared by the embedding)."""
    return TOP_SHARE * rate if isinstance(rate, (int, float)) and 0 < rate < LOW_RATE_HZ else None


# A low-pass of the file's own (an old MP3, a rip upsampled from a low rate) read from its descriptor's mean
# spectral shape: across the band its edge falls in, the level drops CLIFF_DB (a resampler's or an MP3
# encoder's transition spans 0.5-1.5 kHz; music's own roll-off is gentler), and every band above that one stays
# STOP_DB under the three below it.
CLIFF_DB, STOP_DB = 20.0, 25.0
LOWEST_CUT_HZ = 1000.0
_SHAPE_AT = 2 * (D.CEPSTRA - 1) + (D.COV_CEPSTRA - 1) * D.COV_CEPSTRA // 2  # the mean spectral shape (log10)


def own_top_hz(raw: np.ndarray) -> float | None:
    """The top frequency a file's own low-pass leaves it, from its raw descriptor (own_tops); None where its
    spectrum runs on to the descriptors' top band."""
    raw = np.asarray(raw, np.float64).ravel()
    if raw.size not in DIMS:
        return None
    top = own_tops(raw[None])[0]
    return None if np.isnan(top) else float(top)


def own_tops(X: np.ndarray) -> np.ndarray:
    """(N,) own_top_hz of raw descriptors (N, dim), NaN where there is no edge: the top of the last band below
    the one the edge falls in (the lowest edge: an MP3's stop band can hold a second, weaker step)."""
    shape = 10.0 * np.asarray(X, np.float64)[:, _SHAPE_AT:_SHAPE_AT + D.BANDS]  # dB
    tops = _band_tops()
    above = np.maximum.accumulate(shape[:, ::-1], axis=1)[:, ::-1]  # above[:, b]: the loudest band from b up
    out = np.full(len(shape), np.nan)
    for b in range(D.BANDS - 2, 2, -1):  # from the top down, so the lowest edge is the one left
        if tops[b - 1] < LOWEST_CUT_HZ:
            break
        three = shape[:, b - 3:b]
        before = three.sum(axis=1) - three.max(axis=1) - three.min(axis=1)  # their median
        edge = (shape[:, b + 1] <= shape[:, b - 1] - CLIFF_DB) & (above[:, b + 1] <= before - STOP_DB)
        out[edge] = tops[b - 1]
    return out


def file_top_hz(rate, raw) -> float | None:
    """What a file holds: its sample rate's top (top_hz), or its own low-pass's (own_top_hz, where its raw
    descriptor is known) where that lies under OWN_MAX_HZ and a band or more under the rate's (a resampler's own
    edge, read from the bands, is the rate's); None: the whole band, compared by the embedding."""
    return file_tops(np.array([rate]), None if raw is None else np.asarray(raw, np.float64).reshape(1, -1))[0]


def file_tops(rates, X: np.ndarray | None) -> list:
    """file_top_hz of many files: sample rates (N,) and raw descriptors (N, dim) (None: not known)."""
    sampled = [top_hz(r) for r in (r.item() if hasattr(r, "item") else r for r in rates)]
    own = own_tops(X) if X is not None and X.shape[1] in DIMS else np.full(len(sampled), np.nan)
    return [s if not (o < OWN_MAX_HZ) or (s is not None and o >= OWN_SHARE * s) else float(o)
            for s, o in zip(sampled, own)]


OWN_SHARE = 0.9  # the bands' width up there is 7-8 % of their frequency
# An edge at or above this is left to the embedding: music at 44.1 kHz cut at 12.5-14 kHz (Vorbis and MP3 at
# 80-128 kbps) loses more with the cepstra than the embedding loses to its top (on the held-out folds the
# games-B collection's 1-NN 0.909 -> 0.879 with its Vorbis tracks' 13.6-kHz edges read; under 12 kHz
# unchanged; scripts/experiments/exp_own_lowpass.py, docs/EXPERIMENTS.md session 52).
OWN_MAX_HZ = 12000.0


def _band_tops() -> np.ndarray:
    mel = np.linspace(D._mel(D.LOW_HZ), D._mel(D.HIGH_HZ), D.BANDS + 1)  # noqa: SLF001 - the bands' own edges
    return (700.0 * (10 ** (mel / 2595.0) - 1))[1:]


def _groups_under(n_groups: int, bands_kept: int) -> list[bool]:
    return [g[-1] < bands_kept for g in np.array_split(np.arange(D.BANDS), n_groups)]


def view(X: np.ndarray, top: float, centre: bool = True) -> np.ndarray:
    """(N, D.DIM) raw descriptors, or (N, D.DIM + P.DIM) with onset patterns -> their band-limited view (the
    shape and the patterns re-centred over what is kept, unless not `centre`: the selection alone)."""
    X = np.atleast_2d(np.asarray(X, np.float64))
    if X.shape[1] not in DIMS:
        raise ValueError(f"a descriptor of {X.shape[1]} values is not one this view reads")
    kept = _band_tops() <= top
    nb = int(kept.sum())
    at = _SHAPE_AT  # the cepstra and covariance before it: dropped
    shape, spread = X[:, at:at + D.BANDS][:, kept], X[:, at + D.BANDS:at + 2 * D.BANDS][:, kept]
    at += 2 * D.BANDS
    flux = X[:, at:at + D.FLUX_GROUPS][:, _groups_under(D.FLUX_GROUPS, nb)]
    at += D.FLUX_GROUPS
    middle = X[:, at:at + 3 + len(D.RHYTHM_LAGS_S) + 1 + 12 + 6 + 2]  # dynamics, rhythm, chroma and its change
    at += middle.shape[1]
    octaves = np.array(D.FLATNESS_OCTAVES[1:]) <= top
    flat = X[:, at:at + 2 * len(octaves)].reshape(len(X), -1, 2)[:, octaves].reshape(len(X), -1)
    at += 2 * len(octaves)
    stereo = X[:, at:at + D.STEREO_BANDS][:, _groups_under(D.STEREO_BANDS, nb)]
    parts = [shape - centre * shape.mean(axis=1, keepdims=True), spread, flux, middle, flat, stereo]
    if X.shape[1] > D.DIM:
        pat = X[:, D.DIM:].reshape(len(X), P.GROUPS, P.BINS)[:, _groups_under(P.GROUPS, nb)].reshape(len(X), -1)
        parts.append(pat - centre * pat.mean(axis=1, keepdims=True))
    return np.concatenate(parts, axis=1)


def likeness(query_raw: np.ndarray, catalog_raw: np.ndarray, top: float, prior=None) -> np.ndarray:
    """(N,) cosine of the query's band-limited view with each catalog track's, standardized by the catalog's
    statistics, shrunk towards the training audio's (`prior`: the embedder's raw mean, variance and weight in
    tracks, as DescriptorEmbedder.stats shrinks them): by its own two tracks alone, a catalog's two tracks were
    exactly opposite, score -1.000 (a review, session 62)."""
    V = view(catalog_raw, top)
    n, mean, var = len(V), V.mean(axis=0), V.var(axis=0)
    if prior is not None:  # the view selects (and re-centres) values: the prior's mean seen so, its variances selected
        p_mean, p_var, k = view(prior[0], top)[0], view(prior[1], top, centre=False)[0], float(prior[2])
        pooled = (n * mean + k * p_mean) / (n + k)
        var = (n * (var + (mean - pooled) ** 2) + k * (p_var + (p_mean - pooled) ** 2)) / (n + k)
        mean = pooled
    std = np.sqrt(var) + 1e-9
    V = (V - mean) / std
    q = (view(query_raw, top)[0] - mean) / std
    V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    return V @ (q / max(float(np.linalg.norm(q)), 1e-12))


# Above this many tracks the catalog's raw descriptors (1.7 kB a track) are not all read for one query:
# a low-rate file is then compared by the embedding (`similar` says so).
CATALOG_MAX = 100_000


def nearest_band_limited(catalog, embedder: str, dim: int, query_raw: np.ndarray, top: float, n: int,
                         exclude=(), prior=None) -> list[dict] | None:
    """[{"id", "path", "score"}] of the n tracks (of those embedded by `embedder`, raw descriptors of `dim`
    values) most like the query in the band-limited view, best first, those in `exclude` left out; None where
    the catalog has tracks but none with such a descriptor (indexed by an earlier muzip). The caller checks
    the catalog's size against CATALOG_MAX first."""
    ids, raw = catalog.descriptors(embedder, dim)
    if len(ids) == 0:
        return [] if catalog.count() == 0 else None
    scores = likeness(query_raw, raw, top, prior)
    keep = ~np.isin(ids, np.fromiter(exclude, np.int64)) & np.isfinite(scores)
    ids, scores = ids[keep], scores[keep]
    best = np.argsort(-scores, kind="stable")[:n]
    paths = catalog.paths_of([int(i) for i in ids[best]])
    return [{"id": int(ids[k]), "path": paths[int(ids[k])], "score": round(float(scores[k]), 6)} for k in best]
