"""How close are the library descriptors read from a `.mz` to the audio's? (issue 25: `.mz` within 0.02)

    .venv/bin/python -m scripts.experiments.exp_descriptor_parity     # log: docs/logs/descriptor_parity_s38.log

For 4 tracks per label of games-A and 3 of games-B (scripts/bench/loco_sets.py excerpts), the descriptor
(muzip/library/descriptors.py) from the audio (the codec's MDCT) and from the excerpt coded by muzip-v2.7 at
16, 24 and 64 kbps, read as the decoder's coefficients (entropy decoding, dequantizing with the fill noise,
band gains applied; no synthesis). Standardized with the audio descriptors' statistics: each track's cosine
with its own `.mz`, whether its `.mz` is the nearest, and the descriptor dimensions that move most.
"""
import io

import numpy as np

from muzip.codec import compress_array, load_model, read_latents
from muzip.codec.quantizer import dequantize
from muzip.container import ContainerReader
from muzip.library.descriptors import audio_descriptor, descriptor
from scripts.bench import loco_sets as L

RATES = (16, 24, 64)


def mz_coeffs(mz: bytes, model) -> np.ndarray:
    """The decoder's MDCT coefficients (A, n, C) of a .mz."""
    steps, out = model.steps(), []
    for fr in read_latents(ContainerReader(io.BytesIO(mz)), model):
        deq = dequantize(fr.q, steps[fr.levels], fr.index, model.config, fr.fill)
        base = fr.index * model.config.latents_per_frame
        c = model.decode_coefficients(deq, base)
        if fr.gains is not None:
            c = np.stack([model.band_gains.apply(c[a], fr.gains[a], model.band_gains.noise_for(base, a), deq[a] != 0)
                          for a in range(len(c))])
        out.append(c)
    return np.concatenate(out, axis=1)


def main():
    model = load_model("muzip-v2.7")
    tracks = L.fold_tracks("games-A", 4) + L.fold_tracks("games-B", 3)
    rows = {k: [] for k in ("audio", *RATES)}
    for lab, p in tracks:
        x = L.excerpt(p)
        rows["audio"].append(audio_descriptor(x, L.RATE))
        for kbps in RATES:
            rows[kbps].append(descriptor(mz_coeffs(compress_array(x, L.RATE, kbps, model), model), L.RATE))
        print(lab, p.split("/")[-1], flush=True)
    R = {k: np.array(v) for k, v in rows.items()}
    mu, sd = R["audio"].mean(0), R["audio"].std(0) + 1e-9

    def unit(X):
        Z = (X - mu) / sd
        return Z / np.linalg.norm(Z, axis=1, keepdims=True)
    A = unit(R["audio"])
    cross, n = A @ A.T, len(A)
    print("audio vs other tracks, mean cosine %.3f" % ((cross.sum() - n) / (n * n - n)))
    for k in RATES:
        M = unit(R[k])
        c = np.sum(A * M, 1)
        print(k, "kbps: own .mz cosine mean %.3f min %.3f, nearest is own %.2f"
              % (c.mean(), c.min(), np.mean(np.argmax(A @ M.T, 1) == np.arange(n))))
        d = np.abs((R[k] - R["audio"]) / sd).mean(0)
        print("   worst descriptor dims (mean |z| diff):", np.argsort(-d)[:8], np.round(np.sort(d)[::-1][:8], 2))


if __name__ == "__main__":
    main()
