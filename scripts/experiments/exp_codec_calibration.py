"""Does a codec model's band response, measured once, bring its `.mz` descriptors back to the audio's?
(issue 25: `.mz` within 0.02 of audio; muzip-v1's decoder fills the top octave ~10 dB loud.)

    .venv/bin/python -m scripts.experiments.exp_codec_calibration [--model muzip-v1] [--files 12]

Calibration: excerpts of fretsonfire-songs-muldjord and fb-music-high (packages no leave-one-corpus-out fold
evaluates), coded at each bitrate and decoded; per descriptor band (muzip.library.descriptors.band_matrix,
mid channel, the codec's MDCT) the log ratio of decoded to source power, pooled over the files.
Evaluation: games-A / games-B tracks (scripts/bench/loco_sets.py excerpts), descriptor of the audio against
that of the decoded `.mz`, raw and with the band response divided out; standardized by the audio
descriptors' statistics, the cosine of a track with its own `.mz`, and the dimensions that move most.
"""
import argparse
import json

import numpy as np

from muzip.codec import compress_array, decompress_bytes, load_model
from muzip.codec.transform import analyze, to_mid_side
from muzip.library.descriptors import band_matrix, descriptor
from scripts.bench import loco_sets as L

HOP = 882
CALIBRATION_SOURCES = ("fretsonfire-songs-muldjord", "fb-music-high", "data/band/")  # in no fold


def coefficients(x):
    x = np.asarray(x, np.float32)[:len(x) // HOP * HOP]
    return analyze(np.pad(to_mid_side(x), ((0, 0), (HOP, HOP))), HOP)


def band_power(c):
    return ((np.asarray(c[0], np.float64) ** 2) @ band_matrix(HOP, L.RATE)).sum(axis=0)


def coded(x, kbps, model):
    y, _ = decompress_bytes(compress_array(x, L.RATE, kbps, model), model)
    return y[:len(x)]


def equalize(c, response_db):
    """Divide a band response (dB per descriptor band) out of coefficients (A, n, C)."""
    M = band_matrix(c.shape[-1], L.RATE)
    gain = 10 ** (-(M @ response_db) / 20.0)
    return c * gain.astype(c.dtype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="muzip-v1")
    ap.add_argument("--kbps", default="16,24,32,48,64")
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    model = load_model(a.model)
    rates = [float(k) for k in a.kbps.split(",")]
    cal = sorted(p for p in L.corpus_files() if any(k in p for k in CALIBRATION_SOURCES))
    cal = cal[::max(1, len(cal) // a.files)][:a.files]
    excerpts = [L.excerpt(p)[:30 * L.RATE] for p in cal]
    response = {}
    for kbps in rates:
        src = sum(band_power(coefficients(x)) for x in excerpts)
        dec = sum(band_power(coefficients(coded(x, kbps, model))) for x in excerpts)
        response[kbps] = 10 * np.log10((dec + 1e-12) / (src + 1e-12))
        print(f"{kbps:g} kbps response dB (bands 0..39):", np.round(response[kbps], 1), flush=True)
    tracks = L.fold_tracks("games-A", 4) + L.fold_tracks("games-B", 3)
    test_kbps = 24.0 if 24.0 in response else rates[0]
    audio, raw, fixed = [], [], []
    for lab, p in tracks:
        x = L.excerpt(p)
        audio.append(descriptor(coefficients(x), L.RATE))
        c = coefficients(coded(x, test_kbps, model))
        raw.append(descriptor(c, L.RATE))
        fixed.append(descriptor(equalize(c, response[test_kbps]), L.RATE))
    A, R, F = map(np.array, (audio, raw, fixed))
    mu, sd = A.mean(0), A.std(0) + 1e-9

    def unit(X):
        Z = (X - mu) / sd
        return Z / np.linalg.norm(Z, axis=1, keepdims=True)
    for name, X in (("raw", R), ("equalized", F)):
        c = np.sum(unit(A) * unit(X), 1)
        d = np.abs((X - A) / sd).mean(0)
        print(f"{name} {test_kbps:g} kbps: own .mz cosine mean {c.mean():.3f} min {c.min():.3f};"
              f" worst dims {np.argsort(-d)[:8]} {np.round(np.sort(d)[::-1][:8], 2)}", flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"model": a.model, "files": cal, "response_db": {str(k): np.round(v, 3).tolist()
                                                                        for k, v in response.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
