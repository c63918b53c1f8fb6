"""The classical baseline of the library benchmarks: MFCC, chroma and spectral-contrast statistics.

librosa MFCC (20), chroma (12) and spectral contrast (7) of a mono signal, their means and standard
deviations over time (78 values); standardized over the evaluated set and L2-normalized, so cosine
similarity, a logistic regression and Affinity Propagation can use them as they use muzip's embeddings.
"""

from __future__ import annotations

import numpy as np


def classical_vector(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa
    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    c = librosa.feature.chroma_stft(y=y, sr=sr)
    k = librosa.feature.spectral_contrast(y=y, sr=sr)
    f = np.concatenate([m, c, k])
    return np.concatenate([f.mean(axis=1), f.std(axis=1)])


def standardized_unit(X: np.ndarray) -> np.ndarray:
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-9)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
