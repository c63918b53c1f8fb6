"""Diagnostic (issue 9): where is muzip-v2's ViSQOL gap to Opus? Oracles applied to the decoded audio.

Each variant post-processes muzip-v2's decoded excerpt with knowledge the decoder does not have, to
bound what a lever could buy before building it:

* ``energy``: per 20-ms STFT frame and band (ERB-spaced), rescale the decoded band to the original's
  energy, filling bands the codec emptied with noise at that energy (what coded band energies plus an
  energy-preserving decoder could do, before paying their bits);
* ``energy-q``: the same with the gains quantized to 1.5 dB (as coded side information would be);
* ``scale-only``: rescale, never fill;
* ``no-noise``: the decoder's noise input set to zero (is the learned noise filling a cost?);
* ``ref-lowpass-N``: the *original* low-passed at N Hz (what losing the high band alone costs).

    MUZIP_USER_MODELS=runs/exp/models python -m scripts.experiments.exp_energy_oracle [--model muzip-v2] [--rates 16 24]
"""

import argparse
import os
from pathlib import Path

import numpy as np
import scipy.signal as ss

from scripts.bench import bench
from scripts.data.corpus import split

import muzip.codec.model as rtbase
from muzip.codec import compress_array, decompress_bytes
from muzip.evaluate import visqol_mos
from muzip.metrics import mel_distance
from muzip.codec import load_model

ROOT = Path(__file__).resolve().parents[2]

SR, NFFT, HOP = 44100, 1764, 882


def erb_edges(n_bands=32, fmax=20000.0):
    erb = lambda f: 21.4 * np.log10(1 + 0.00437 * f)  # noqa: E731
    inv = lambda e: (10 ** (e / 21.4) - 1) / 0.00437  # noqa: E731
    hz = inv(np.linspace(erb(50.0), erb(fmax), n_bands + 1))
    bins = np.unique(np.round(hz / (SR / NFFT)).astype(int))
    return np.concatenate([[0], bins[1:-1], [NFFT // 2 + 1]])


def energy_oracle(x, y, fill=True, quant_db=0.0, seed=0):
    """x, y (2, n). Match y's per-(frame, band) energy to x's in the STFT domain."""
    edges, rng, out = erb_edges(), np.random.default_rng(seed), []
    for a in range(len(x)):
        _, _, X = ss.stft(x[a], nperseg=NFFT, noverlap=NFFT - HOP, boundary="even")
        _, _, Y = ss.stft(y[a], nperseg=NFFT, noverlap=NFFT - HOP, boundary="even")
        Z = Y.copy()
        for lo, hi in zip(edges[:-1], edges[1:]):
            ex = np.sum(np.abs(X[lo:hi]) ** 2, axis=0) + 1e-12
            ey = np.sum(np.abs(Y[lo:hi]) ** 2, axis=0) + 1e-12
            g = np.sqrt(ex / ey)
            if quant_db:
                g = 10 ** (np.round(20 * np.log10(g) / quant_db) * quant_db / 20)
            empty = ey < ex * 1e-3
            Z[lo:hi] = Y[lo:hi] * np.where(empty, 1.0, g)
            if fill and empty.any():
                noise = rng.standard_normal((hi - lo, X.shape[1])) + 1j * rng.standard_normal((hi - lo, X.shape[1]))
                noise *= np.sqrt(ex / np.sum(np.abs(noise) ** 2, axis=0))
                Z[lo:hi] = np.where(empty, noise, Z[lo:hi])
        _, z = ss.istft(Z, nperseg=NFFT, noverlap=NFFT - HOP, boundary=True)
        out.append(z[: x.shape[1]])
    return np.stack(out).astype(np.float32)


def lowpass(x, hz):
    sos = ss.butter(12, hz, fs=SR, output="sos")
    return ss.sosfiltfilt(sos, x, axis=-1).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="muzip-v2")
    ap.add_argument("--rates", nargs="+", type=float, default=[16, 24])
    ap.add_argument("--excerpts", type=int, default=4)
    args = ap.parse_args()
    os.chdir(ROOT)
    _, val = split()
    model = load_model(args.model)
    xs = [bench.read_excerpt(p, 30.0, 30.0)[0].T for p in val[: args.excerpts]]  # (2, n)

    def score(name, kbps, ys):
        v = np.mean([visqol_mos(x.T, y.T, SR) for x, y in zip(xs, ys)])
        m = np.mean([mel_distance(x.T, y.T, SR) for x, y in zip(xs, ys)])
        print(f"| {name} | {kbps:g} | {v:.3f} | {m:.3f} |", flush=True)

    print("| variant | kbps | ViSQOL | mel |\n|---|---|---|---|")
    for hz in (8000, 12000, 16000):
        score(f"ref-lowpass-{hz}", 0, [lowpass(x, hz) for x in xs])
    real_noise = rtbase.decoder_noise
    for kbps in args.rates:
        coded = [compress_array(x.T, SR, kbps, model=model) for x in xs]
        ys = [decompress_bytes(d, model=model)[0].T for d in coded]
        score("base", kbps, ys)
        score("energy", kbps, [energy_oracle(x, y) for x, y in zip(xs, ys)])
        score("energy-q", kbps, [energy_oracle(x, y, quant_db=1.5) for x, y in zip(xs, ys)])
        score("scale-only", kbps, [energy_oracle(x, y, fill=False) for x, y in zip(xs, ys)])
        rtbase.decoder_noise = lambda cfg, f, n, c=0: np.zeros((n, cfg.get("noise_channels", 0)), np.float32)
        score("no-noise", kbps, [decompress_bytes(d, model=model)[0].T for d in coded])
        rtbase.decoder_noise = real_noise


if __name__ == "__main__":
    main()
