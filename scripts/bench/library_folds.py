"""The library bench's labelled sets and fold protocol, shared by library_bench, embed_eval and seed_baselines.

A labelled set is a list of (label, path), one sample per track. Folds: 5, StratifiedGroupKFold by track,
seed 0 (as muzip.library.classify.cross_validate). Unsupervised metrics (segment P@1 between track halves,
NMI of Affinity Propagation) are computed among each fold's test tracks and averaged over folds.
"""

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FOLDS = 5


def labelled_tracks(per_label):
    """The *soundtracks* set: corpus tracks (data/raw) of the first corpus's packages (FIRST_CORPUS_PACKAGES: the
    packages added later stay out, so the set is the one docs/LIBRARY-SEEN.md measured) labelled by their package, the
    first per_label by path."""
    from scripts.data.corpus import FIRST_CORPUS_PACKAGES, audio_files
    out = {}
    for p in audio_files(str(ROOT / "data" / "raw")):
        package = Path(p).relative_to(ROOT / "data" / "raw").parts[0]
        if package in FIRST_CORPUS_PACKAGES:
            out.setdefault(package, []).append(p)
    return [(lab, p) for lab, ps in sorted(out.items()) for p in (ps[:per_label] if per_label else ps)]


def styles_tracks(per_label):
    """The *styles* set rendered by scripts/data/render_styles.py: data/styles/<class>/*.flac."""
    root = ROOT / "data" / "styles"
    if not root.is_dir():
        return []
    out = []
    for cls in sorted(p.name for p in root.iterdir() if p.is_dir()):
        files = sorted(str(f) for f in (root / cls).glob("*.flac"))
        out += [(cls, f) for f in (files[:per_label] if per_label else files)]
    return out


def folds(y):
    from sklearn.model_selection import StratifiedGroupKFold
    cv = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    return list(cv.split(np.zeros(len(y)), y, groups=np.arange(len(y))))


def p_at_1(A, B):
    """Segments A[i], B[i] of track i: share of segments whose nearest other segment is their pair."""
    X = np.concatenate([A, B])
    sim = X @ X.T
    np.fill_diagonal(sim, -np.inf)
    n = len(A)
    pair = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    return float(np.mean(np.argmax(sim, axis=1) == pair))


def per_fold_unsupervised(vectors_of, y, splits):
    """Mean over folds of segment P@1 and AP NMI among each fold's test tracks."""
    from sklearn.metrics import normalized_mutual_info_score
    from muzip.library.cluster import affinity_clusters
    p1, nmi = [], []
    for k, (_, te) in enumerate(splits):
        X, A, B = vectors_of(k, te)
        p1.append(p_at_1(A, B))
        labels, _ = affinity_clusters(X)
        nmi.append(float(normalized_mutual_info_score(y[te], labels)))
    return {"p_at_1_fold": float(np.mean(p1)), "nmi_fold": float(np.mean(nmi))}
