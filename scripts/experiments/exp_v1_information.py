"""What a decoder-network model's `.mz` holds of a track: how much of the MDCT it codes, and whether its decoder
keeps what it coded (issue 25: muzip-v1's files -0.08 on segment P@1 from their audio; session 48).

    .venv/bin/python -m scripts.experiments.exp_v1_information --model muzip-v1 --kbps 16,24,32,48,64,96
    .venv/bin/python -m scripts.experiments.exp_v1_information --model muzip-v1 --kbps 24 --hybrid

First, per bitrate: the share of the latents (= MDCT bins, companded and weighted) coded non-zero, overall and
in the mid channel below 5 kHz, over the first 20 s of 2 tracks per label of games-A, 1 of games-B and 4 of
styles. What is not coded, the decoder network fills from its context: muzip-v1 and v2 send no level for it
(v2.1 on code band gains).

--hybrid: 4 tracks per label of games-A and 3 of games-B (exp_latent_parity's), each read four ways: the
audio, the `.mz` decoded (what `muzip index` does), the decoded audio with every coded MDCT bin put back
from the latents (dequantized, weighting divided out, expanded) before it is described, and the decoded
audio with every uncoded latent raised to at least FLOOR_STEPS of its step. Printed: how the
decoder's coefficients correlate with the coded ones on the coded bins, a track's cosine with its own `.mz`
(descriptors standardized by the audio's), and the segment P@1 of the raw standardized descriptor (the two
15-s segments of each excerpt, each coded apart; each collection standardized by its own statistics).

--identity M1,M2@96,...: from exp_embed_v3's cached descriptors of every fold's segments (audio, and each
model's `.mz` at 24 kbps or the bitrate after @; run exp_embed_v3 with `--mz-model M --mz K` first), the
segment P@1 of each descriptor group alone; per band of the mean spectral shape, how well it tells tracks
apart (the variance of the tracks' means over the mean variance between a track's two segments) and how far
it is from the audio's.
"""
from __future__ import annotations

import argparse
import io

import numpy as np

from muzip.codec import compress_array, decompress_bytes, load_model, read_latents
from muzip.codec.transform import analyze, synthesize, to_mid_side
from muzip.codec.transform_model import compand, expand
from muzip.container import ContainerReader
from scripts.bench import loco_sets as L
from scripts.experiments.exp_latent_parity import channel_weighting, latent_coefficients
from scripts.models import embed_v3_data as D

LOW_BINS_HZ, TOP_HZ = 5000.0, 16000.0


def coded_latents(mz: bytes, model) -> np.ndarray:
    """(A, n, C) the quantized latents of a .mz, frames in order."""
    P = model.config.latents_per_frame
    return np.concatenate([f.q[:, :P] for f in read_latents(ContainerReader(io.BytesIO(mz)), model)
                           if f.q is not None and f.q.shape[1] >= P], axis=1)


def coded_shares(model, rates):
    tracks = L.fold_tracks("games-A", 2) + L.fold_tracks("games-B", 1) + L.fold_tracks("styles", 1)[:4]
    cfg = model.config
    low, top = (int(round(hz / (cfg.model_rate / 2) * cfg.latent_channels)) for hz in (LOW_BINS_HZ, TOP_HZ))
    for kbps in rates:
        rows = []
        for _, p in tracks:
            x = L.excerpt(p)[:L.RATE * 20]
            mz = compress_array(x, L.RATE, kbps, model)
            nz = coded_latents(mz, model) != 0
            rows.append((nz.mean(), nz[0, :, :low].mean(), nz[0, :, low:top].mean(), len(mz) * 8 / 20 / 1000))
        a = np.mean(rows, axis=0)
        print(f"{model.name} {kbps:g} kbps: coded {a[0]:.3f} of the latents; of the mid channel's below "
              f"{LOW_BINS_HZ / 1000:g} kHz {a[1]:.3f}, {LOW_BINS_HZ / 1000:g}-{TOP_HZ / 1000:g} kHz {a[2]:.3f}; "
              f"file {a[3]:.1f} kbps", flush=True)


# --hybrid's last read: the decoder's fill of each uncoded latent raised to at least this share of its step (the
# quantizer sent it to zero from anywhere under half a step, so the file bounds it from above only).
FLOOR_STEPS = 0.15


def _describe_ms(c, hop):
    """The descriptor of (A, n, hop) mid/side MDCT coefficients, resynthesized and analysed as the library does."""
    h = synthesize(np.asarray(c, np.float32), hop)
    h = h[:, :h.shape[1] // D.HOP * D.HOP]
    return D.describe(analyze(np.pad(h, ((0, 0), (D.HOP, D.HOP))), D.HOP), L.RATE)


def hybrid_reads(x, model, weighting, kbps):
    """({read: descriptor} of x's .mz: decoded, its coded bins put back, its uncoded bins floored), the
    decoder's correlation with the coded bins, and the share of uncoded latents it fills above half a step."""
    cfg, hop = model.config, model.config.hop
    mz = compress_array(x, L.RATE, kbps, model)
    y = decompress_bytes(mz, model)[0][:len(x)]
    Y = analyze(np.pad(to_mid_side(np.asarray(y, np.float32)), ((0, 0), (hop, hop))), hop)
    C = latent_coefficients(mz, model, weighting, 0.0, False)  # no fill: zero where nothing was coded
    steps = np.concatenate([np.repeat(model.steps()[f.levels][:, None], cfg.latents_per_frame, axis=1)
                            for f in read_latents(ContainerReader(io.BytesIO(mz)), model)
                            if f.q is not None and f.q.shape[1] >= cfg.latents_per_frame], axis=1)[..., None]
    n = min(Y.shape[1], C.shape[1])
    Y, C, steps = Y[:, :n], C[:, :n], steps[:, :n]
    coded = C != 0
    latent = compand(Y, cfg.compand_alpha) * weighting  # the decoder's output where the encoder's latents were
    over = float(np.mean((np.abs(latent) > steps / 2)[~coded]))
    floored = np.where(coded, latent, np.sign(latent) * np.maximum(np.abs(latent), FLOOR_STEPS * steps))
    reads = {"decoded": D.describe(D._coeffs(y), L.RATE),
             "coded bins put back": _describe_ms(np.where(coded, C, Y), hop),
             f"uncoded floored at {FLOOR_STEPS:g} step":
                 _describe_ms(expand(floored / weighting, cfg.compand_alpha), hop)}
    return reads, np.corrcoef(Y[coded], C[coded])[0, 1], over


def hybrid(model, kbps):
    weighting = channel_weighting(model)
    tracks = L.fold_tracks("games-A", 4) + L.fold_tracks("games-B", 3)
    whole, parts, corrs, overs = {}, {}, [], []
    for _, p in tracks:
        x = L.excerpt(p)
        for part, into in ((x, whole), *((s, parts) for s in L.segments(x))):
            into.setdefault("audio", []).append(D.describe(D._coeffs(part), L.RATE))
            reads, corr, over = hybrid_reads(part, model, weighting, kbps)
            for k, v in reads.items():
                into.setdefault(k, []).append(v)
            corrs.append(corr), overs.append(over)
    print(f"{model.name} {kbps:g} kbps: the decoder's coefficients against the coded ones, on the coded bins: "
          f"correlation mean {np.mean(corrs):.3f}, lowest {np.min(corrs):.3f}; uncoded latents it fills above half "
          f"a step (more than the quantizer let through): {np.mean(overs):.4f}")
    A = np.array(whole["audio"])
    mu, sd = A.mean(0), A.std(0) + 1e-9

    def unit(X, m, s):
        Z = (np.asarray(X) - m) / s
        return Z / np.linalg.norm(Z, axis=1, keepdims=True)
    for k, X in whole.items():
        own = np.sum(unit(A, mu, sd) * unit(X, mu, sd), 1)
        S = np.array(parts[k])
        p1 = _pair_p_at_1(S[0::2], S[1::2])  # segments alternate: a track's two are 2i, 2i+1
        print(f"  {k}: own cosine {own.mean():.3f} (lowest {own.min():.3f}); segment P@1 {p1:.3f}", flush=True)


# The descriptor's statistics in order (muzip/library/descriptors.py), and their sizes.
GROUPS = (("cepstra mean", 19), ("cepstra deviation", 19), ("cepstra covariance", 66), ("spectral shape", 40),
          ("band deviation", 40), ("flux", 10), ("dynamics", 3), ("rhythm", 25), ("chroma", 12), ("key-free chroma", 6),
          ("chroma entropy, change", 2), ("flatness", 10), ("stereo", 6))


def _pair_p_at_1(A, B) -> float:
    """Segment P@1 of standardized unit vectors: A[i]'s nearest among all others is B[i], and B[i]'s A[i]."""
    S = np.concatenate([A, B])
    S = (S - S.mean(0)) / (S.std(0) + 1e-9)
    S /= np.linalg.norm(S, axis=1, keepdims=True) + 1e-12
    G = S @ S.T
    np.fill_diagonal(G, -np.inf)
    n = len(A)
    return float(np.mean(G.argmax(1) == np.concatenate([np.arange(n) + n, np.arange(n)])))


def identity(models, folds=L.FOLDS):
    from muzip.library.descriptors import BANDS, DIM, HIGH_HZ, LOW_HZ, _mel
    from scripts.experiments.exp_embed_v3 import eval_vectors, eval_vectors_mz
    edges = np.cumsum([0] + [n for _, n in GROUPS])
    assert edges[-1] == DIM
    groups = {name: np.arange(edges[i], edges[i + 1]) for i, (name, _) in enumerate(GROUPS)}
    shape = groups["spectral shape"]
    p1, ratio, off = {}, {}, {}
    for fold in folds:
        tracks = L.fold_tracks(fold)
        reads = {"audio": eval_vectors(tracks)[1:]}
        for m in models:  # "muzip-v1" (24 kbps) or "muzip-v1@96"
            name, _, kbps = m.partition("@")
            reads[m] = eval_vectors_mz(tracks, float(kbps or 24), name)[1:]
        width = reads["audio"][0].shape[1]
        for name, cols in {**groups, "onset patterns": np.arange(DIM, width), "all": np.arange(width)}.items():
            for k, (A, B) in reads.items():
                p1.setdefault(name, {}).setdefault(k, []).append(_pair_p_at_1(A[:, cols], B[:, cols]))
        for k, (A, B) in reads.items():
            a, b = A[:, shape], B[:, shape]
            ratio.setdefault(k, []).append(np.var((a + b) / 2, axis=0) / np.mean((a - b) ** 2 / 2, axis=0))
            truth = np.concatenate(reads["audio"])[:, shape]
            off.setdefault(k, []).append(np.mean(np.abs(np.concatenate([a, b]) - truth), axis=0))
    keys = ["audio", *models]
    head = "".join(k.rjust(12) for k in keys)
    print("segment P@1 of each group alone (mean of the folds)\n" + "group".ljust(24) + head)
    for name, r in p1.items():
        print(name.ljust(24) + "".join(f"{np.mean(r[k]):12.3f}" for k in keys))
    hz = 700.0 * (10 ** (np.linspace(_mel(LOW_HZ), _mel(HIGH_HZ), BANDS + 1) / 2595.0) - 1)
    print("\nspectral shape per band: tracks' spread over a track's two segments (mean of the folds)\n"
          + "band".ljust(18) + head)
    for i in range(BANDS):
        print(f"{hz[i]:6.0f}-{hz[i + 1]:6.0f} Hz".ljust(18) + "".join(f"{np.mean(ratio[k], 0)[i]:12.1f}"
                                                                      for k in keys))
    print("\nspectral shape per band: how far a segment's is from its audio's, mean |difference| in dB (mean of the "
          "folds)\n" + "band".ljust(18) + head)
    for i in range(BANDS):  # the shape is in log10 energy: x 10 for dB
        print(f"{hz[i]:6.0f}-{hz[i + 1]:6.0f} Hz".ljust(18) + "".join(f"{10 * np.mean(off[k], 0)[i]:12.2f}"
                                                                      for k in keys))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="muzip-v1")
    ap.add_argument("--kbps", default="24")
    ap.add_argument("--hybrid", action="store_true", help="the coded bins put back into the decoded audio")
    ap.add_argument("--folds", default=",".join(L.FOLDS), help="with --identity: these folds only")
    ap.add_argument("--identity", help="comma-separated models: what each descriptor group keeps of a track "
                    "(from exp_embed_v3's cache)")
    a = ap.parse_args()
    D.PATTERNS, D.PATTERN_FLOOR_DB = True, 10.0  # embed-v5's descriptor
    if a.identity:
        return identity(a.identity.split(","), a.folds.split(","))
    model = load_model(a.model)
    rates = [float(k) for k in a.kbps.split(",")]
    if a.hybrid:
        for kbps in rates:
            hybrid(model, kbps)
    else:
        coded_shares(model, rates)


if __name__ == "__main__":
    main()
