"""What a decoder-network model's `.mz` holds of a track: how much of the MDCT it codes, and whether its decoder
keeps what it coded (issue 25: muzip-v1's files -0.08 on segment P@1 from their audio; session 48).

    .venv/bin/python -m scripts.experiments.exp_v1_information --model muzip-v1 --kbps 16,24,32,48,64,96
    .venv/bin/python -m scripts.experiments.exp_v1_information --model muzip-v1 --kbps 24 --hybrid

First, per bitrate: the share of the latents (= MDCT bins, companded and weighted) coded non-zero, overall and
in the mid channel below 5 kHz, over the first 20 s of 2 tracks per label of games-A, 1 of games-B and 4 of
styles. What is not coded, the decoder network fills from its context: muzip-v1 and v2 send no level for it
(v2.1 on code band gains).

--hybrid: 4 tracks per label of games-A and 3 of games-B (exp_latent_parity's), each read three ways: the
audio, the `.mz` decoded (what `muzip index` does) and the decoded audio with every coded MDCT bin put back
from the latents (dequantized, weighting divided out, expanded) before it is described. Printed: how the
decoder's coefficients correlate with the coded ones on the coded bins, a track's cosine with its own `.mz`
(descriptors standardized by the audio's), and the segment P@1 of the raw standardized descriptor (the two
15-s segments of each excerpt, each coded apart; each collection standardized by its own statistics).
"""
from __future__ import annotations

import argparse
import io

import numpy as np

from muzip.codec import compress_array, decompress_bytes, load_model, read_latents
from muzip.codec.quantizer import dequantize
from muzip.codec.transform import analyze, synthesize, to_mid_side
from muzip.codec.transform_model import expand
from muzip.container import ContainerReader
from scripts.bench import loco_sets as L
from scripts.experiments.exp_latent_parity import channel_weighting
from scripts.models import embed_v3_data as D

LOW_BINS_HZ = 5000.0


def coded_latents(mz: bytes, model) -> np.ndarray:
    """(A, n, C) the quantized latents of a .mz, frames in order."""
    P = model.config.latents_per_frame
    return np.concatenate([f.q[:, :P] for f in read_latents(ContainerReader(io.BytesIO(mz)), model)
                           if f.q is not None and f.q.shape[1] >= P], axis=1)


def latent_mdct(mz: bytes, model, weighting) -> np.ndarray:
    """(A, n, C) MDCT coefficients of the coded latents (zero where nothing was coded)."""
    cfg, steps, out = model.config, model.steps(), []
    P = cfg.latents_per_frame
    for fr in read_latents(ContainerReader(io.BytesIO(mz)), model):
        if fr.q is None or fr.q.shape[1] < P:
            continue
        deq = dequantize(fr.q[:, :P], steps[fr.levels], fr.index, cfg, fr.fill)
        out.append(expand(deq / weighting, cfg.compand_alpha))
    return np.concatenate(out, axis=1)


def coded_shares(model, rates):
    tracks = L.fold_tracks("games-A", 2) + L.fold_tracks("games-B", 1) + L.fold_tracks("styles", 1)[:4]
    cfg = model.config
    low = int(round(LOW_BINS_HZ / (cfg.model_rate / 2) * cfg.latent_channels))
    for kbps in rates:
        rows = []
        for _, p in tracks:
            x = L.excerpt(p)[:L.RATE * 20]
            mz = compress_array(x, L.RATE, kbps, model)
            nz = coded_latents(mz, model) != 0
            rows.append((nz.mean(), nz[0, :, :low].mean(), len(mz) * 8 / 20 / 1000))
        a = np.mean(rows, axis=0)
        print(f"{model.name} {kbps:g} kbps: coded {a[0]:.3f} of the latents, of the mid channel's below "
              f"{LOW_BINS_HZ / 1000:g} kHz {a[1]:.3f}; file {a[2]:.1f} kbps", flush=True)


def three_reads(x, model, weighting, kbps):
    """Descriptors of x's .mz decoded, and decoded with the coded bins put back; the decoder's correlation
    with the coded bins."""
    hop = model.config.hop
    mz = compress_array(x, L.RATE, kbps, model)
    y = decompress_bytes(mz, model)[0][:len(x)]
    ms = to_mid_side(np.asarray(y, np.float32))
    Y = analyze(np.pad(ms, ((0, 0), (hop, hop))), hop)
    C = latent_mdct(mz, model, weighting)
    n = min(Y.shape[1], C.shape[1])
    Y, C = Y[:, :n], C[:, :n]
    coded = C != 0
    h = synthesize(np.where(coded, C, Y), hop)  # mid/side, as the library describes it
    h = h[:, :h.shape[1] // D.HOP * D.HOP]
    c_h = analyze(np.pad(h, ((0, 0), (D.HOP, D.HOP))), D.HOP)
    return D.describe(D._coeffs(y), L.RATE), D.describe(c_h, L.RATE), np.corrcoef(Y[coded], C[coded])[0, 1]


def hybrid(model, kbps):
    weighting = channel_weighting(model)
    tracks = L.fold_tracks("games-A", 4) + L.fold_tracks("games-B", 3)
    whole = {"audio": [], "decoded": [], "coded bins put back": []}
    parts = {k: [] for k in whole}
    corrs = []
    for _, p in tracks:
        x = L.excerpt(p)
        for part, into in ((x, whole), *((s, parts) for s in L.segments(x))):
            into["audio"].append(D.describe(D._coeffs(part), L.RATE))
            d, h, corr = three_reads(part, model, weighting, kbps)
            into["decoded"].append(d), into["coded bins put back"].append(h)
            corrs.append(corr)
    print(f"{model.name} {kbps:g} kbps: the decoder's coefficients against the coded ones, on the coded bins: "
          f"correlation mean {np.mean(corrs):.3f}, lowest {np.min(corrs):.3f}")
    A = np.array(whole["audio"])
    mu, sd = A.mean(0), A.std(0) + 1e-9

    def unit(X, m, s):
        Z = (np.asarray(X) - m) / s
        return Z / np.linalg.norm(Z, axis=1, keepdims=True)
    for k, X in whole.items():
        own = np.sum(unit(A, mu, sd) * unit(X, mu, sd), 1)
        S = np.array(parts[k])
        Z = unit(S, S.mean(0), S.std(0) + 1e-9)
        G = Z @ Z.T
        np.fill_diagonal(G, -np.inf)
        p1 = np.mean(G.argmax(1) == (np.arange(len(Z)) ^ 1))  # segments alternate: a track's two are 2i, 2i+1
        print(f"  {k}: own cosine {own.mean():.3f} (lowest {own.min():.3f}); segment P@1 {p1:.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="muzip-v1")
    ap.add_argument("--kbps", default="24")
    ap.add_argument("--hybrid", action="store_true", help="the coded bins put back into the decoded audio")
    a = ap.parse_args()
    D.PATTERNS, D.PATTERN_FLOOR_DB = True, 10.0  # embed-v5's descriptor
    model = load_model(a.model)
    rates = [float(k) for k in a.kbps.split(",")]
    if a.hybrid:
        for kbps in rates:
            hybrid(model, kbps)
    else:
        coded_shares(model, rates)


if __name__ == "__main__":
    main()
