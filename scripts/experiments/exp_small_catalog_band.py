"""A low-rate file against a small catalog, band-limited (session 52): standardized by the catalog's tracks
alone (as session 51 shipped), or shrunk towards the training audio's statistics as the embedder's collection
statistics are (projection.Projection.stats: `prior_tracks` pseudo-tracks).

    .venv/bin/python -m scripts.experiments.exp_small_catalog_band [--sizes 2,3,5,10,20] [--draws 200]

Per leave-one-corpus-out fold: catalogs of m of the fold's 60-s excerpts drawn at random (seeded), and as the
query a copy at 16 or 22.05 kHz (exp_low_rate_neighbours's) of one excerpt outside that catalog: how often its
nearest catalog track has its label, band-limited under the catalog's statistics, under the shrunk ones (the
prior from the fold's training segments, which never saw the fold), and by embed-v5's held-out embedding with its
shrunk statistics (what `similar` reads for a full-rate file). Chance is the share of the catalog with the label.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.band_limited import view  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.experiments.exp_embed_v3 import unit  # noqa: E402
from scripts.experiments.exp_low_rate_neighbours import fold_setup, low_rate_descriptors  # noqa: E402
from scripts.models import embed_v3_data  # noqa: E402
from scripts.models.embed_v3_data import segment_descriptors  # noqa: E402

PRIOR_TRACKS = 20.0  # as embed-v5's config


def shrunk(V: np.ndarray, prior_mean: np.ndarray, prior_var: np.ndarray, k: float = PRIOR_TRACKS):
    """(mean, std) of rows V shrunk towards a prior, as projection.Projection.stats."""
    n = len(V)
    mean = (n * V.mean(axis=0) + k * prior_mean) / (n + k)
    var = (n * (V.var(axis=0) + (V.mean(axis=0) - mean) ** 2) + k * (prior_var + (prior_mean - mean) ** 2)) / (n + k)
    return mean, np.sqrt(var) + 1e-9


def standardizer(V: np.ndarray, top: float, prior=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of a catalog's band-limited views V, shrunk towards the training audio's where `prior` =
    (raw mean, raw variance, pseudo-tracks) is given, as `similar` could from an embedder's stored prior (the
    prior's variance of a re-centred value taken as its band's own: their covariance is not stored)."""
    n = len(V)
    if prior is None:
        return V.mean(axis=0), V.std(axis=0) + 1e-9
    raw_mean, raw_var, k = prior
    pm, pv = view(raw_mean, top)[0], view(raw_var, top, centre=False)[0]
    mean = (n * V.mean(axis=0) + k * pm) / (n + k)
    var = (n * (V.var(axis=0) + (V.mean(axis=0) - mean) ** 2) + k * (pv + (pm - mean) ** 2)) / (n + k)
    return mean, np.sqrt(var) + 1e-9


def nearest(q: np.ndarray, C: np.ndarray, mean: np.ndarray, std: np.ndarray) -> int:
    return int(np.argmax(unit((C - mean) / std) @ unit((q[None] - mean) / std)[0]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="2,3,5,10,20")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--rates", default="16000,22050")
    a = ap.parse_args()
    embed_v3_data.PATTERNS, embed_v3_data.PATTERN_FLOOR_DB = True, 10.0
    sizes = [int(m) for m in a.sizes.split(",")]
    for fold in L.FOLDS:
        tracks, y, X, _, _, W = fold_setup(fold)
        Xt, _, _ = segment_descriptors(L.training_files(fold), 6, coded=True)
        prior_raw = Xt[0::2]  # the training segments themselves (their coded versions after each)
        pm, pv = prior_raw.mean(axis=0), prior_raw.var(axis=0)
        rng = np.random.default_rng(0)
        for rate in [int(r) for r in a.rates.split(",")]:
            Xr = low_rate_descriptors(tracks, rate)
            top = 0.45 * rate
            N, Nr, Np = view(X, top), view(Xr, top), view(prior_raw, top)
            vpm, vpv = Np.mean(axis=0), Np.var(axis=0)  # the view's own prior, from the segments
            line = []
            for m in sizes:
                hits = np.zeros((5, a.draws))
                for d in range(a.draws):
                    pick = rng.choice(len(X), m + 1, replace=False)
                    cat, q = pick[:m], pick[m]
                    alone = (N[cat].mean(axis=0), N[cat].std(axis=0) + 1e-9)
                    hits[0, d] = y[cat[nearest(Nr[q], N[cat], *alone)]] == y[q]
                    hits[1, d] = y[cat[nearest(Nr[q], N[cat], *shrunk(N[cat], vpm, vpv))]] == y[q]
                    # as the product can: from the raw descriptor's prior mean and variance only
                    hits[4, d] = y[cat[nearest(Nr[q], N[cat], *standardizer(N[cat], top, (pm, pv, PRIOR_TRACKS)))]] \
                        == y[q]
                    mc, sc = shrunk(X[cat], pm, pv)
                    V = unit(((X[cat] - mc) / sc) @ W)
                    hits[2, d] = y[cat[int(np.argmax(V @ unit(((Xr[q:q + 1] - mc) / sc) @ W)[0]))]] == y[q]
                    hits[3, d] = np.mean(y[cat] == y[q])
                line.append(f"m={m}: " + " / ".join(f"{v:.3f}" for v in hits.mean(axis=1)))
            print(f"{fold} {rate} Hz (catalog's / shrunk / embedding / chance / shrunk from the raw prior): " + "; ".join(line), flush=True)


if __name__ == "__main__":
    main()
