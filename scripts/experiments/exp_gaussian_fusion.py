"""Musly's timbre similarity from embed-v3's own descriptors, alone and fused with the vector's cosine (issue 25).

    .venv/bin/python -m scripts.experiments.exp_gaussian_fusion

embed-v3's descriptor holds a single-Gaussian timbre model (the mean of c1..c11 and the matrix logarithm of
their covariance, muzip/library/descriptors.py). Read back as Gaussians, compared by the symmetric
Kullback-Leibler divergence (as Musly's timbre method), optionally through mutual proximity (MP), and fused
with the recipe vector's cosine as z-scored similarities: cos + w x MP. On each held-out fold (the recipe
refitted without the fold's corpus, from the exp_embed_v3 --coded descriptor cache): 1-NN accuracy and
macro-F1, segment P@1, AP NMI (columns in that order), as scripts/bench/library_loco.py computes them.
"""
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np
from scipy.linalg import expm
from sklearn.metrics import normalized_mutual_info_score as nmi_score, accuracy_score, f1_score
from muzip.library.projection import fit_projection
from muzip.library.cluster import _ap
from scripts.bench import loco_sets as L
from scripts.bench.library_loco import _splits
from scripts.experiments.exp_embed_v3 import eval_vectors, unit
from scripts.models.embed_v3_data import segment_descriptors
K = 11; iu = np.triu_indices(K)
def gauss(d):
    m = d[:K]; Lv = d[38:38 + len(iu[0])]
    Lm = np.zeros((K, K)); Lm[iu] = Lv; Lm = Lm + Lm.T - np.diag(np.diag(Lm))
    Lm = Lm / (np.sqrt(2.0) - (np.sqrt(2.0) - 1.0) * np.eye(K))
    C = expm(Lm); return m, C, np.linalg.inv(C)
def skl(G):
    n = len(G); D = np.zeros((n, n))
    for i in range(n):
        mi, Ci, Ii = G[i]
        for j in range(i + 1, n):
            mj, Cj, Ij = G[j]; dm = mi - mj
            v = 0.25 * (np.trace(Ii @ Cj) + np.trace(Ij @ Ci) + dm @ (Ii + Ij) @ dm - 2 * K)
            D[i, j] = D[j, i] = v
    return D
def mp(D):
    n = len(D); off = ~np.eye(n, dtype=bool)
    mu = np.array([D[i, off[i]].mean() for i in range(n)]); sd = np.array([D[i, off[i]].std() for i in range(n)]) + 1e-9
    from scipy.stats import norm
    return norm.sf(D, mu[:, None], sd[:, None]) * norm.sf(D, mu[None, :], sd[None, :])  # similarity
def zs(S):
    n = len(S); off = ~np.eye(n, dtype=bool); v = S[off]; return (S - v.mean()) / (v.std() + 1e-9)
def scores(S, y, n):
    # S over [X; A; B] (3n x 3n)
    SX = S[:n, :n]; pred = np.empty_like(y)
    for tr, te in _splits(y): pred[te] = y[tr][np.argmax(SX[np.ix_(te, tr)], axis=1)]
    SAB = S[n:, n:].copy(); np.fill_diagonal(SAB, -np.inf)
    pair = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    p1 = np.mean(np.argmax(SAB, 1) == pair)
    lab, _ = _ap(SX, None, 0)
    return accuracy_score(y, pred), f1_score(y, pred, average="macro"), p1, nmi_score(y, lab)
tot = {}
for fold in L.FOLDS:
    Xt, yt, corpora = segment_descriptors(L.training_files(fold), 6, coded=True)
    W = fit_projection(Xt, yt, corpora, 128)["scalings"]
    tracks = L.fold_tracks(fold); classes = sorted({l for l, _ in tracks}); y = np.array([classes.index(l) for l, _ in tracks])
    X, A, B = eval_vectors(tracks); E = np.concatenate([X, A, B]); mc, sc = E.mean(0), E.std(0) + 1e-9
    V = unit(((E - mc) / sc) @ W); S_cos = V @ V.T
    D = skl([gauss(d) for d in E]); S_mp = mp(D); S_kl = -D
    n = len(X)
    for name, S in [("cos", S_cos), ("kl-mp", S_mp), ("kl", zs(S_kl)), ("cos+0.5mp", zs(S_cos) + 0.5 * zs(S_mp)), ("cos+1mp", zs(S_cos) + zs(S_mp)), ("cos+0.3mp", zs(S_cos) + 0.3 * zs(S_mp))]:
        r = scores(S, y, n); tot.setdefault(name, []).append(r)
        print(fold, name, " ".join(f"{v:.3f}" for v in r), flush=True)
for k, v in tot.items():
    print("mean", k, " ".join(f"{x:.3f}" for x in np.mean(v, 0)))
