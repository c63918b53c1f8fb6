"""Harmony as a pattern: the 2-D Fourier transform magnitude of chroma patches (Bertin-Mahieux and Ellis 2012,
the cover-song feature: invariant to key and to where in time a pattern falls), beside embed-v3's vector
for segment retrieval (P@1) on the leave-one-corpus-out folds.

    .venv/bin/python -m scripts.experiments.exp_chroma_ftm [--configs 0.25x16,0.25x8,...] [--weights 0.3,0.5,0.7,1]

Each 15-s segment: librosa's CQT chroma at 22.05 kHz, averaged over blocks of BLOCK s, each block scaled to
its strongest class, patches of PATCH blocks at every block, the median over the patches of |FFT2|, square
root; standardized by the fold's segments. Scored alone, and concatenated with the held-out recipe's unit
vector (held_out_fold) at weight w before the cosine. No training: a probe of whether the descriptors miss
this, measured on the folds themselves (so the best configuration is chosen on them: an upper bound).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_folds import p_at_1  # noqa: E402
from scripts.experiments.exp_embed_v3 import held_out_fold, unit  # noqa: E402
from scripts.models.embed_v3_data import cached  # noqa: E402

HOP, SR = 512, 22050


def chroma_blocks(x: np.ndarray, block_s: float) -> np.ndarray:
    """(12, T) CQT chroma of the mixed-down segment, averaged over blocks of block_s seconds."""
    import librosa
    m = librosa.resample(x.mean(axis=1), orig_sr=L.RATE, target_sr=SR)
    c = librosa.feature.chroma_cqt(y=m, sr=SR, hop_length=HOP)
    per = max(1, int(round(block_s * SR / HOP)))
    T = c.shape[1] // per
    return c[:, :T * per].reshape(12, T, per).mean(axis=2)


def fourier_magnitude(c: np.ndarray, patch: int) -> np.ndarray:
    c = c / (c.max(axis=0, keepdims=True) + 1e-9)
    patches = [np.abs(np.fft.fft2(c[:, t:t + patch])) for t in range(c.shape[1] - patch + 1)]
    return np.sqrt(np.median(np.array(patches), axis=0).ravel())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default="0.25x16,0.25x8,0.25x32,0.5x8,0.5x16,0.125x32", help="BLOCKxPATCH,...")
    ap.add_argument("--weights", default="0.3,0.5,0.7,1")
    a = ap.parse_args()
    weights = [float(w) for w in a.weights.split(",")]
    folds = {fold: held_out_fold(fold) for fold in L.FOLDS}
    for config in a.configs.split(","):
        block, patch = float(config.split("x")[0]), int(config.split("x")[1])
        scores = []
        for fold, h in folds.items():
            F = [np.array([fourier_magnitude(cached(f"chromablk:{block}:{part}:" + p, lambda p=p, k=k: chroma_blocks(
                L.segments(L.excerpt(p))[k], block)), patch) for _, p in h["tracks"]]) for k, part in enumerate("AB")]
            E = np.concatenate(F)
            FA, FB = (unit((f - E.mean(axis=0)) / (E.std(axis=0) + 1e-9)) for f in F)
            VA, VB = (unit(((v - h["mc"]) / h["sc"]) @ h["W"]) for v in (h["A"], h["B"]))
            row = [p_at_1(FA, FB), p_at_1(VA, VB)] + [p_at_1(np.hstack([VA, w * FA]), np.hstack([VB, w * FB]))
                                                     for w in weights]
            scores.append(row)
            print(f"{fold} {config}: fourier alone {row[0]:.3f}, vector {row[1]:.3f}, "
                  + ", ".join(f"w {w:g} {r:.3f}" for w, r in zip(weights, row[2:])), flush=True)
        m = np.mean(scores, axis=0)
        print(f"mean {config}: fourier alone {m[0]:.3f}, vector {m[1]:.3f}, "
              + ", ".join(f"w {w:g} {r:.3f}" for w, r in zip(weights, m[2:])), flush=True)


if __name__ == "__main__":
    main()
