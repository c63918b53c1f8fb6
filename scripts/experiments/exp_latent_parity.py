"""The descriptors of an older model's `.mz` read from its latents, without its decoder network (issue 25).

    .venv/bin/python -m scripts.experiments.exp_latent_parity --model muzip-v1 --kbps 16,24,64 --fill 0,0.25,0.5

muzip-v1, v2, v2.1 and v2.2 have no encoder network: their latents are the MDCT (hop = latent channels),
companded and weighted per channel, which the decoder network then refines. Read as such -- dequantized,
the zero latents filled with seeded noise of +-fill x step (the quantizer sent them to zero from within half
a step), the weighting divided out, expanded -- they are MDCT coefficients like the network-free models'.
(The product decodes these models' sampled runs instead: what this measures is why, docs/EXPERIMENTS.md.)
Tracks: 4 per label of games-A and 3 of games-B (scripts/bench/loco_sets.py excerpts); the descriptor of the
audio against that of the `.mz` read from its latents, and decoded to audio (what `muzip index` did),
standardized by the audio descriptors' statistics: a track's cosine with its own `.mz`.
"""
import argparse
import io

import numpy as np

from muzip.codec import compress_array, decompress_bytes, load_model, read_latents
from muzip.codec.quantizer import dequantize
from muzip.codec.transform import analyze
from muzip.codec.transform_model import compand, expand
from muzip.container import ContainerReader
from muzip.library.descriptors import band_matrix, descriptor
from scripts.bench import loco_sets as L
from scripts.experiments.exp_codec_calibration import coefficients


def channel_weighting(model) -> np.ndarray:
    """(C,) the encoder's gain per channel over compand(MDCT), probed with seeded noise (the encoder of these
    models has no other layer: the residual is ~1e-6 of the latents)."""
    cfg = model.config
    x = np.random.default_rng(0x77656967).standard_normal((1, cfg.frame_samples)).astype(np.float32) * 0.1
    latents = model.encode(x[:, :, None])[0].astype(np.float64)
    ref = compand(analyze(np.pad(x, ((0, 0), (cfg.hop, cfg.hop))), cfg.hop), cfg.compand_alpha)[0]
    n = min(len(latents), len(ref))
    return (np.sum(latents[:n] * ref[:n], axis=0) / np.sum(ref[:n] ** 2, axis=0)).astype(np.float32)


def latent_coefficients(mz: bytes, model, weighting, fill: float, every_hole: bool) -> np.ndarray:
    """(A, n, C) MDCT coefficients read from a .mz's latents: dequantized, zero latents given seeded noise of
    +-fill x step (those sharing a descriptor band with a coded one, or every one), weighting divided out."""
    cfg, steps, out = model.config, model.steps(), []
    P = cfg.latents_per_frame
    for fr in read_latents(ContainerReader(io.BytesIO(mz)), model):
        if fr.q is None or fr.q.shape[1] < P:
            continue
        deq = dequantize(fr.q[:, :P], steps[fr.levels], fr.index, cfg, fr.fill)
        M = band_matrix(deq.shape[-1], cfg.model_rate)
        for ch in range(len(deq)):
            coded = deq[ch] != 0
            holes = ~coded & ((M.sum(1) > 0)[None, :] if every_hole else (((coded @ M) > 0) @ M.T > 0))
            noise = np.random.default_rng([fr.index, ch]).uniform(-1, 1, coded.shape).astype(np.float32)
            deq[ch] = np.where(holes, noise * np.float32(fill * steps[fr.levels[ch]]), deq[ch])
        out.append(expand(deq / weighting, cfg.compand_alpha))
    return np.concatenate(out, axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="muzip-v1")
    ap.add_argument("--kbps", default="24")
    ap.add_argument("--fill", default="0.25")
    ap.add_argument("--every-hole", action="store_true", help="fill every zero latent, not only those in a band "
                    "with a coded one")
    ap.add_argument("--decoded", action="store_true", help="also decode to audio, as muzip index does")
    a = ap.parse_args()
    model = load_model(a.model)
    weighting = channel_weighting(model)
    rates = [float(k) for k in a.kbps.split(",")]
    fills = [float(f) for f in a.fill.split(",")]
    tracks = L.fold_tracks("games-A", 4) + L.fold_tracks("games-B", 3)
    rows = {}
    for lab, p in tracks:
        x = L.excerpt(p)
        rows.setdefault("audio", []).append(descriptor(coefficients(x), L.RATE))
        for kbps in rates:
            mz = compress_array(x, L.RATE, kbps, model)
            for fill in fills:
                c = latent_coefficients(mz, model, weighting, fill, a.every_hole)
                rows.setdefault((kbps, fill), []).append(descriptor(c, model.config.model_rate))
            if a.decoded:
                y, _ = decompress_bytes(mz, model)
                rows.setdefault((kbps, "decoded"), []).append(descriptor(coefficients(y[:len(x)]), L.RATE))
    A = np.array(rows.pop("audio"))
    mu, sd = A.mean(0), A.std(0) + 1e-9

    def unit(X):
        Z = (X - mu) / sd
        return Z / np.linalg.norm(Z, axis=1, keepdims=True)
    for key, X in rows.items():
        X = np.array(X)
        c = np.sum(unit(A) * unit(X), 1)
        nearest = np.mean(np.argmax(unit(A) @ unit(X).T, 1) == np.arange(len(A)))
        d = np.abs((X - A) / sd).mean(0)
        print(f"{a.model} {key[0]:g} kbps, {key[1]}: own cosine mean {c.mean():.3f} min {c.min():.3f}, own nearest"
              f" {nearest:.2f}; worst dims {np.argsort(-d)[:6]} {np.round(np.sort(d)[::-1][:6], 2)}", flush=True)


if __name__ == "__main__":
    main()
