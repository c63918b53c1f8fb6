"""What a low-rate file's neighbours are worth when the catalog holds no copy of it (session 51): the label of
its nearest track, by the embedding as `similar` reads it, and by a band-limited view of the stored raw
descriptors (only what bands under the copy's Nyquist decide).

    .venv/bin/python -m scripts.experiments.exp_low_rate_neighbours [--rates 22050,16000]

Per leave-one-corpus-out fold (embed-v5's recipe fitted per fold, as exp_speed_robustness: `--varied 0.04
--patterns --pattern-floor 10`), the fold's 60-s excerpts are the collection; each excerpt is a query as
itself and as a copy at RATE (exp_speed_robustness.low_rate_audio), its own original left out of the
collection: how often the nearest other track has the query's label (1-NN accuracy), and how often a copy's
nearest track of all is its own original. The band-limited view is muzip.library.band_limited's (the bands
under 0.45 RATE), standardized by the collection's full-band tracks, cosine, as `muzip similar` compares a
low-rate file with a catalog. And the labels a logistic regression trained on the audio's training split gives
the test tracks as copies: the classifier `muzip classify` reads (its main head), and one trained on the
band-limited view (its head for RATE, muzip.library.classify.LOW_RATES), over the benchmark's splits.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.band_limited import view  # noqa: E402
from muzip.library.descriptors import VERSION  # noqa: E402
from muzip.library.projection import fit_projection  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.experiments.exp_embed_v3 import eval_vectors, unit  # noqa: E402
from scripts.experiments.exp_speed_robustness import low_rate_audio  # noqa: E402
from scripts.models import embed_v3_data  # noqa: E402
from scripts.models.embed_v3_data import _coeffs, cached, describe, floor_key, segment_descriptors  # noqa: E402


def scores(Q: np.ndarray, V: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(1-NN label accuracy with the query's own track left out, share whose own track is nearest of all)."""
    sim = Q @ V.T
    own = np.mean(np.argmax(sim, axis=1) == np.arange(len(V)))
    np.fill_diagonal(sim, -np.inf)
    return float(np.mean(y[np.argmax(sim, axis=1)] == y)), float(own)


def classified(F_train_test, F_queries, y) -> float:
    """Accuracy of a logistic regression (muzip.library.classify) trained on F's training tracks, predicting
    the test tracks from F_queries (the same tracks as copies), over the benchmark's splits by track."""
    from muzip.library.classify import fit_logistic
    from scripts.bench.library_loco import _splits
    pred = np.empty_like(y)
    for tr, te in _splits(y):
        coef, bias = fit_logistic(F_train_test[tr], y[tr])
        labels = np.unique(y[tr])
        pred[te] = labels[np.argmax(F_queries[te] @ coef.T + bias, axis=1)]
    return float(np.mean(pred == y))


def fold_setup(fold: str):
    """(tracks, labels, excerpt descriptors, collection mean, deviation, projection) of a fold: embed-v5's
    recipe fitted on its training corpora (exp_speed_robustness's)."""
    tracks = L.fold_tracks(fold)
    X, A, B = eval_vectors(tracks)
    E = np.concatenate([X, A, B])
    Xt, yt, corpora = segment_descriptors(L.training_files(fold), 6, coded=True, varied=0.04)
    return (tracks, np.array([lab for lab, _ in tracks]), X, E.mean(axis=0), E.std(axis=0) + 1e-9,
            fit_projection(Xt, yt, corpora, 128)["scalings"])


def low_rate_descriptors(tracks, rate: int) -> np.ndarray:
    """The excerpts' descriptors as copies at `rate` (cached as exp_speed_robustness caches them)."""
    return np.array([cached(f"{floor_key()}lowrate{VERSION}:{rate}:" + p, lambda p=p: describe(
        _coeffs(low_rate_audio(p, rate)), L.RATE)) for _, p in tracks])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default="22050,16000")
    a = ap.parse_args()
    embed_v3_data.PATTERNS, embed_v3_data.PATTERN_FLOOR_DB = True, 10.0
    rates = [int(r) for r in a.rates.split(",")]
    for fold in L.FOLDS:
        tracks, y, X, mc, sc, W = fold_setup(fold)
        V = unit(((X - mc) / sc) @ W)
        from scripts.experiments import exp_embed_v3 as X3
        X3.LR_PATTERNS = False  # embed-v5's classifier reads the descriptor without the onset patterns
        yi = np.unique(y, return_inverse=True)[1]
        F = X3.classifier_features(X, W, mc, sc)
        out = [f"audio by embedding 1-NN {scores(V, V, y)[0]:.3f}, classified {classified(F, F, yi):.3f}"]
        for r in rates:
            Xr = low_rate_descriptors(tracks, r)
            acc, own = scores(unit(((Xr - mc) / sc) @ W), V, y)
            out.append(f"{r} Hz by embedding 1-NN {acc:.3f} (own first {own:.3f})")
            N = view(X, 0.45 * r)
            mn, sn = N.mean(axis=0), N.std(axis=0) + 1e-9
            Vn = unit((N - mn) / sn)
            acc_a = scores(Vn, Vn, y)[0]
            acc, own = scores(unit((view(Xr, 0.45 * r) - mn) / sn), Vn, y)
            out.append(f"{r} Hz band-limited 1-NN {acc:.3f} (own first {own:.3f}; audio so {acc_a:.3f})")
            Nr = (view(Xr, 0.45 * r) - mn) / sn
            out.append(f"{r} Hz classified {classified(F, X3.classifier_features(Xr, W, mc, sc), yi):.3f}, "
                       f"band-limited {classified((N - mn) / sn, Nr, yi):.3f} (audio so "
                       f"{classified((N - mn) / sn, (N - mn) / sn, yi):.3f})")
        print(f"{fold} ({len(tracks)} tracks): " + "; ".join(out), flush=True)


if __name__ == "__main__":
    main()
