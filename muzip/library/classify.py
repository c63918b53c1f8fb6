"""Classifiers on track embeddings: multinomial logistic regression, stored without pickle.

A classifier file is an .npz (allow_pickle=False) holding the weights, the class names and a JSON
description; `load` rejects anything else with one clear error."""

from __future__ import annotations

import json
import zipfile

import numpy as np

from ..errors import MuzipError

FORMAT = "muzip-classifier-1"


class ClassifierError(MuzipError):
    """Not a muzip classifier file, or one for other embeddings."""


def cross_validate(X, y, groups, folds: int = 5, seed: int = 0) -> dict:
    """Accuracy and macro-F1 over folds split by track (no segment of a test track is trained on)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedGroupKFold
    k = min(folds, min(np.bincount(np.unique(y, return_inverse=True)[1])))
    if k < 2:
        return {"folds": 0, "accuracy": None, "macro_f1": None}
    pred = np.empty_like(y)
    for tr, te in StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(X, y, groups):
        clf = LogisticRegression(C=1.0, max_iter=2000).fit(X[tr], y[tr])
        pred[te] = clf.predict(X[te])
    return {"folds": int(k), "accuracy": float(accuracy_score(y, pred)), "macro_f1": float(f1_score(y, pred, average="macro"))}


def train(X, labels, embedder: str) -> dict:
    from sklearn.linear_model import LogisticRegression
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels])
    if len(classes) < 2:
        raise ClassifierError("need at least two labels (one subfolder per label)")
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(X, y)
    coef = clf.coef_ if len(classes) > 2 else np.vstack([-clf.coef_[0], clf.coef_[0]])
    bias = clf.intercept_ if len(classes) > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]])
    return {"classes": classes, "coef": coef.astype(np.float32), "bias": bias.astype(np.float32), "embedder": embedder}


def save(model: dict, path: str, extra: dict | None = None) -> None:
    meta = {"format": FORMAT, "classes": model["classes"], "embedder": model["embedder"], **(extra or {})}
    with open(path, "wb") as f:
        np.savez(f, coef=model["coef"], bias=model["bias"], meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))


def load(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            coef, bias = z["coef"].astype(np.float32), z["bias"].astype(np.float32)
    except FileNotFoundError:
        raise ClassifierError("no such file") from None
    except (OSError, ValueError, KeyError, UnicodeDecodeError, EOFError, zipfile.BadZipFile) as exc:
        raise ClassifierError(f"not a muzip classifier ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ClassifierError("not a muzip classifier (unknown format)")
    classes = meta.get("classes")
    if not isinstance(classes, list) or coef.ndim != 2 or coef.shape[0] != len(classes) or bias.shape != (len(classes),):
        raise ClassifierError("damaged classifier (shapes do not match)")
    return {"classes": [str(c) for c in classes], "coef": coef, "bias": bias, "embedder": meta.get("embedder"),
            "meta": meta}


def predict(model: dict, emb: np.ndarray) -> tuple[str, dict]:
    if emb.shape[-1] != model["coef"].shape[1]:
        raise ClassifierError(f"classifier expects {model['coef'].shape[1]}-d embeddings, got {emb.shape[-1]}")
    logits = model["coef"] @ emb + model["bias"]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    scores = {c: round(float(v), 6) for c, v in zip(model["classes"], p)}
    return model["classes"][int(np.argmax(p))], scores
