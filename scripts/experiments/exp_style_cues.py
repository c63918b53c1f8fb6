"""What tells the *styles* fold's pieces apart, and whether the shipped recipe can be made to read it
(issue 25, session 44). The held-out embed-v3.1 recipe per fold (LDA 128 of track identity, training segments
coded and played 1-4 % faster or slower), then one of:

    .venv/bin/python -m scripts.experiments.exp_style_cues groups      # each descriptor group alone
    .venv/bin/python -m scripts.experiments.exp_style_cues flatten     # LDA components re-weighted
    .venv/bin/python -m scripts.experiments.exp_style_cues rhythm      # the onset autocorrelation beside the vector
    .venv/bin/python -m scripts.experiments.exp_style_cues intervals   # chord-interval statistics beside it
    .venv/bin/python -m scripts.experiments.exp_style_cues whiten      # vectors whitened by the collection
    .venv/bin/python -m scripts.experiments.exp_style_cues adapt       # the collection as one more corpus
    .venv/bin/python -m scripts.experiments.exp_style_cues coded       # which groups a 24-kbps .mz changes
    .venv/bin/python -m scripts.experiments.exp_style_cues floor       # a noise floor under the music
    .venv/bin/python -m scripts.experiments.exp_style_cues patterns    # onset patterns per band beside the vector

- groups: 1-NN accuracy and segment P@1 from each group of the standardized descriptor alone (cosine).
- flatten: each LDA component scaled by its between-track variance ** (-a / 2); a = 0 is the recipe, a = 1
  weighs every component alike (the top components are timbre).
- rhythm / intervals: unit(vector) and w * unit(statistics) concatenated. Intervals: for each half-second
  chroma block of the descriptors' own chroma, the strength of each interval class sounding at once (the
  chroma's circular autocorrelation at 1-6 semitones) and the block's key-free profile magnitudes, mean and
  standard deviation over blocks: chord quality, which the descriptors' pooled chroma does not keep.
- whiten: the collection's projected vectors whitened by their own covariance, shrunk towards a multiple of
  the identity by s (s = 1 is the recipe): no labels, what a catalog could compute, so that what varies most
  in a collection (on *styles* the instrument, drawn per piece) weighs less.
- adapt: the collection's own tracks as one more training corpus of the discriminant, without labels: each
  track's middle (between its two retrieval segments) cut in two halves, the halves one class, as `index`
  could from the runs it samples; the projection refitted with them, alone or beside the recipe's vector.
- coded (session 45): the collection read from muzip-v2.7 `.mz` files at 24 kbps scores better than from
  its audio on some folds; each descriptor group of the audio replaced by the `.mz`'s, one at a time, to
  find which of the codec's changes does it.
- floor (session 45): white noise FLOOR_DB under each run's level added to the audio's coefficients
  before the descriptors (what a codec's noise fill does, and no listener hears), at use only.
- patterns (session 46): onset patterns (muzip/library/onset_patterns.py) beside the vector: where in
  the spectrum which periodicities sit, which the pooled onset autocorrelation sums away.
The weights are compared on the folds themselves: a better row would be an upper bound, not a result.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library import descriptors as D  # noqa: E402
from muzip.library.projection import fit_projection, per_corpus  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import METRICS, nearest_neighbour, p_at_1, score_vectors  # noqa: E402
from scripts.experiments.exp_embed_v3 import classifier_features, eval_vectors, unit  # noqa: E402
from scripts.models.embed_v3_data import _coeffs, cached, segment_descriptors  # noqa: E402


def descriptor_groups() -> dict:
    """Name -> indices of each statistic group of descriptors.descriptor, in its order."""
    sizes = [("cepstrum mean", D.CEPSTRA - 1), ("cepstrum sd", D.CEPSTRA - 1),
             ("cepstral covariance", (D.COV_CEPSTRA - 1) * D.COV_CEPSTRA // 2), ("spectral shape", D.BANDS),
             ("band sd", D.BANDS), ("flux", D.FLUX_GROUPS), ("dynamics", 3), ("rhythm", len(D.RHYTHM_LAGS_S) + 1),
             ("chroma profile", 12), ("key-free chroma", 6), ("chroma entropy, change", 2),
             ("flatness", 2 * (len(D.FLATNESS_OCTAVES) - 1)), ("stereo", D.STEREO_BANDS)]
    out, start = {}, 0
    for name, n in sizes:
        out[name] = np.arange(start, start + n)
        start += n
    assert start == D.DIM
    return out


def interval_statistics(x: np.ndarray) -> np.ndarray:
    c = D._run_frames(_coeffs(x), L.RATE)["chroma"]  # noqa: SLF001 - the descriptors' own chroma blocks
    ic = np.stack([np.sum(c * np.roll(c, -k, axis=1), axis=1) for k in range(1, 7)], axis=1)
    ic /= np.sum(c * c, axis=1, keepdims=True) + D.EPS
    mag = np.abs(np.fft.rfft(c, axis=1))[:, 1:7]
    return np.concatenate([ic.mean(0), ic.std(0), mag.mean(0), mag.std(0)])


def middle_halves(x: np.ndarray) -> np.ndarray:
    """Descriptors of the two halves of an excerpt between its retrieval segments (L.segments)."""
    n, seg = len(x), int(L.SEGMENT_S * L.RATE)
    mid = (seg + n - seg) // 2
    return np.stack([D.descriptor(_coeffs(part), L.RATE) for part in (x[seg:mid], x[mid:n - seg])])


def _fold(fold):
    Xt, yt, corpora = segment_descriptors(L.training_files(fold), 6, coded=True, varied=0.04)
    tracks = L.fold_tracks(fold)
    classes = sorted({lab for lab, _ in tracks})
    y = np.array([classes.index(lab) for lab, _ in tracks])
    X, A, B = eval_vectors(tracks)
    E = np.concatenate([X, A, B])
    return Xt, yt, corpora, tracks, y, (X, A, B), E.mean(axis=0), E.std(axis=0) + 1e-9


def _beside(stats, weights):
    """Rows of (weight, vectors function) for the vector with standardized `stats` (X, A, B) beside it."""
    S = np.concatenate(stats)
    m, s = S.mean(axis=0), S.std(axis=0) + 1e-9
    rows = [(f"beside, weight {w:g}", lambda V, i, w=w: unit(np.concatenate([V, w * unit((stats[i] - m) / s)], 1)))
            for w in weights]
    return rows + [("alone", lambda V, i: unit((stats[i] - m) / s))]


FLOOR_DB = (40, 60)
PATTERN_KEY = 3  # muzip/library/onset_patterns.py version 1 (1 and 3: 5.12-s windows, 2: 2.56-s)


def _floored(x, db, key):
    """The MDCT coefficients of x with white noise `db` under their mid channel's RMS added (seeded by key)."""
    import hashlib
    c = _coeffs(x)
    rng = np.random.default_rng(int(hashlib.sha1(key.encode()).hexdigest()[:8], 16))
    level = float(np.sqrt(np.mean(c[0].astype(np.float64) ** 2))) * 10 ** (-db / 20)
    return c + (level * rng.standard_normal(c.shape)).astype(np.float32)


def _with(v, c, idx):
    out = v.copy()
    out[:, idx] = c[:, idx]
    return out


def _whitener(P, shrink):
    """(d, d) symmetric inverse square root of the covariance of P, shrunk towards trace / d * I by `shrink`."""
    C = np.cov(P.T)
    w, Q = np.linalg.eigh((1 - shrink) * C + shrink * np.trace(C) / len(C) * np.eye(len(C)))
    return Q @ np.diag(w ** -0.5) @ Q.T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("groups", "flatten", "rhythm", "intervals", "whiten", "adapt", "coded", "floor",
                                         "patterns"))
    a = ap.parse_args()
    results = {}
    for fold in L.FOLDS:
        Xt, yt, corpora, tracks, y, XAB, mc, sc = _fold(fold)
        Z = [(v - mc) / sc for v in XAB]
        if a.what == "groups":
            print(fold, " | ".join(f"{g} {nearest_neighbour(unit(Z[0][:, i]), y)['accuracy_1nn']:.2f} / "
                                   f"{p_at_1(unit(Z[1][:, i]), unit(Z[2][:, i])):.2f}"
                                   for g, i in descriptor_groups().items()), flush=True)
            continue
        if a.what in ("coded", "floor"):
            from scripts.experiments.exp_embed_v3 import eval_vectors_mz
            W = fit_projection(Xt, yt, corpora, 128)["scalings"]
            coded = eval_vectors_mz(tracks, 24.0, "muzip-v2.7")
            variants = {"audio": XAB, ".mz 24 kbps": coded}
            if a.what == "floor":
                for db in FLOOR_DB:
                    F = np.array([cached(f"floor{db}:{D.VERSION}:" + p, lambda p=p, db=db: np.stack(
                        [D.descriptor(_floored(part, db, p), L.RATE) for part in (L.excerpt(p), *L.segments(L.excerpt(p)))]))
                        for _, p in tracks])
                    variants[f"audio, noise floor -{db} dB"] = [F[:, 0], F[:, 1], F[:, 2]]
            else:
                for g, idx in descriptor_groups().items():
                    variants[f"audio, {g} from the .mz"] = [_with(v, c, idx) for v, c in zip(XAB, coded)]
            for name, V in variants.items():
                E = np.concatenate(V)
                m, s = E.mean(axis=0), E.std(axis=0) + 1e-9
                r = score_vectors(*(unit(((v - m) / s) @ W) for v in V), y, features=classifier_features(V[0], W, m, s))
                results.setdefault(name, {})[fold] = r
                print(fold, name, " ".join(f"{k} {r[k]:.3f}" for k in METRICS), flush=True)
            continue
        if a.what == "flatten":
            from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
            n = min(128, len(np.unique(yt)) - 1)  # as fit_projection, for the components' variances
            lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto", n_components=n).fit(
                per_corpus(Xt, corpora), yt)
            W, ev = lda.scalings_[:, :n], np.maximum(lda.explained_variance_ratio_[:n], 1e-5)
            rows = [(f"a = {p:g}", lambda V, i, W=W * ev ** (-p / 2): unit(Z[i] @ W)) for p in (0, 0.25, 0.5, 1)]
        elif a.what == "whiten":
            W = fit_projection(Xt, yt, corpora, 128)["scalings"]
            rows = [(f"s = {s:g}", lambda V, i, T=_whitener(np.concatenate(Z) @ W, s): unit(Z[i] @ W @ T))
                    for s in (1.0, 0.8, 0.5, 0.2)]
        elif a.what == "adapt":
            W = fit_projection(Xt, yt, corpora, 128)["scalings"]
            M = np.array([cached("middle1:" + p, lambda p=p: middle_halves(L.excerpt(p))) for _, p in tracks])
            Wa = fit_projection(np.concatenate([Xt, M[:, 0], M[:, 1]]),
                                np.concatenate([yt, np.tile(yt.max() + 1 + np.arange(len(M)), 2)]),
                                np.concatenate([corpora, ["collection"] * (2 * len(M))]), 128)["scalings"]
            from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
            n = min(64, len(M) - 1)  # two halves a class: a fixed shrinkage (Ledoit-Wolf's fails on so few)
            Wc = LinearDiscriminantAnalysis(solver="eigen", shrinkage=0.5, n_components=n).fit(
                (np.concatenate([M[:, 0], M[:, 1]]) - mc) / sc, np.tile(np.arange(len(M)), 2)).scalings_[:, :n]
            rows = [("recipe", lambda V, i: V), ("refitted with the collection", lambda V, i: unit(Z[i] @ Wa)),
                    ("the collection's own discriminant", lambda V, i: unit(Z[i] @ Wc))]
            rows += [(f"beside it, weight {w:g}", lambda V, i, w=w: unit(np.concatenate([V, w * unit(Z[i] @ Wc)], 1)))
                     for w in (0.5, 0.75, 1.0, 1.5)]
        else:
            W = fit_projection(Xt, yt, corpora, 128)["scalings"]
            if a.what == "rhythm":
                stats = [z[:, descriptor_groups()["rhythm"]] for z in Z]
            elif a.what == "patterns":
                from muzip.library.onset_patterns import onset_patterns
                P = np.array([cached(f"patterns{PATTERN_KEY}:" + p, lambda p=p: np.stack(
                    [onset_patterns(_coeffs(part), L.RATE, None) for part in (L.excerpt(p), *L.segments(L.excerpt(p)))]))
                    for _, p in tracks])
                stats = [P[:, 0], P[:, 1], P[:, 2]]
            else:
                I = np.array([cached("intervals1:" + p, lambda p=p: np.stack(
                    [interval_statistics(part) for part in (L.excerpt(p), *L.segments(L.excerpt(p)))]))
                    for _, p in tracks])
                stats = [I[:, 0], I[:, 1], I[:, 2]]
            rows = [("recipe", lambda V, i: V)] + _beside(stats, (0.25, 0.5, 0.75))
        for name, f in rows:
            V = [f(unit(z @ W), i) for i, z in enumerate(Z)] if a.what not in ("flatten", "whiten") \
                else [f(None, i) for i in range(3)]
            r = score_vectors(*V, y, features=classifier_features(XAB[0], W, mc, sc))
            results.setdefault(name, {})[fold] = r
            print(fold, name, " ".join(f"{m} {r[m]:.3f}" for m in METRICS), flush=True)
    for name, r in results.items():
        print("mean", name, " ".join(f"{m} {np.mean([v[m] for v in r.values()]):.3f}" for m in METRICS))
    if results:
        nested(results)


def nested(results: dict) -> None:
    """Each fold scored with the row chosen on the other two (the mean of 1-NN accuracy, P@1 and NMI there):
    what choosing a weight on other collections would give, not an upper bound."""
    folds = list(next(iter(results.values())))
    crit = ("accuracy_1nn", "p_at_1", "nmi")
    picked = {}
    for f in folds:
        others = [g for g in folds if g != f]
        picked[f] = max(results, key=lambda n: np.mean([results[n][g][m] for g in others for m in crit]))
        print("nested", f, "chose", picked[f], " ".join(f"{m} {results[picked[f]][f][m]:.3f}" for m in METRICS))
    print("nested mean", " ".join(f"{m} {np.mean([results[picked[f]][f][m] for f in folds]):.3f}" for m in METRICS))


if __name__ == "__main__":
    main()
