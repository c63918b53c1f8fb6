"""How alike a track's onset patterns read from its audio and from its 24-kbps .mz, for ways of reading each
band's onsets (session 47; muzip/library/onset_patterns.py). The patterns alone, per fold:

    .venv/bin/python -m scripts.experiments.exp_pattern_floor [--modes band,bfloor10,...] [--model muzip-v2.7]

Modes: band (version 1: the descriptors' flux of each band's log energy), group (the flux of each band
group's summed energy), bfloorN (each band's energy over a floor N dB under its mean in the run: version 2
is bfloor10), ffloorN (over a floor N dB under the frame's loudest band). For each: the per-value distance
of audio and .mz patterns in the collection's standard deviations, per band group, and the patterns alone
(standardized, cosine) as the benchmark reads a vector: segment P@1 and 1-NN of the label, from audio and
from .mz. The mel band energies of every excerpt and segment, and of their .mz, are computed once (~8 min,
cached under embed_v3_data.CACHE).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library import descriptors as D  # noqa: E402
from muzip.library import onset_patterns as O  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.models.embed_v3_data import CACHE, _coeffs, mz_runs  # noqa: E402


def _bands(runs, rate):
    """[(mel band energies (frames, 40), frame seconds)] of each run long enough to describe."""
    return [(f["B"], 2 * r.shape[2] / rate) for r in runs if (f := D._run_frames(r, rate)) is not None]  # noqa: SLF001


def fold_bands(fold: str, model: str) -> tuple[list, list, np.ndarray]:
    """(audio, .mz) band energies of each track's excerpt and two segments, and the labels; cached."""
    path = CACHE / f"pattern_floor_{fold}_{model}.npz"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        rows, labels = {}, []
        for t, (lab, p) in enumerate(L.fold_tracks(fold)):
            labels.append(lab)
            parts = L.excerpt(p), *L.segments(L.excerpt(p))
            for src, got in (("a", [_bands([_coeffs(x)], L.RATE) for x in parts]),
                             ("z", [_bands(*mz_runs(x, 24, model)) for x in parts])):
                for i, runs in enumerate(got):
                    for j, (B, frame_s) in enumerate(runs):
                        rows[f"{src}/{t}/{i}/{j}"] = B.astype(np.float32)
                        rows[f"frame_s/{src}/{t}/{i}/{j}"] = np.float64(frame_s)
        np.savez(path, labels=np.array(labels), **rows)
    with np.load(path) as z:
        labels, keys = z["labels"], [k for k in z.files if k[0] in "az"]
        out = {"a": [[[] for _ in range(3)] for _ in labels], "z": [[[] for _ in range(3)] for _ in labels]}
        for k in sorted(keys, key=lambda k: [int(v) if v.isdigit() else v for v in k.split("/")]):
            src, t, i, _ = k.split("/")
            out[src][int(t)][int(i)].append((z[k].astype(np.float64), float(z["frame_s/" + k])))
    return out["a"], out["z"], labels


def envelope(B: np.ndarray, mode: str) -> np.ndarray:
    """(frames - 1, GROUPS) onset envelope of band energies B under a mode (the module docstring)."""
    def grouped(flux):
        return flux.reshape(len(flux), O.GROUPS, -1).sum(axis=2)
    if mode == "band":
        return grouped(np.maximum(np.diff(np.log10(B + D.EPS), axis=0), 0))
    if mode == "group":
        return np.maximum(np.diff(np.log10(B.reshape(len(B), O.GROUPS, -1).sum(axis=2) + D.EPS), axis=0), 0)
    if mode.startswith("bfloor"):
        return grouped(O._floored_flux(B, float(mode[6:])))  # noqa: SLF001 - version 2's own reading
    if mode.startswith("ffloor"):
        floor = B.max(axis=1, keepdims=True) * 10 ** (-float(mode[6:]) / 10) + D.EPS
        return grouped(np.maximum(np.diff(np.log10(B + floor), axis=0), 0))
    raise SystemExit(f"exp_pattern_floor: unknown mode {mode}")


def patterns(runs, mode: str) -> np.ndarray:
    """onset_patterns' modulation spectra of runs [(B, frame seconds)] with the envelope of `mode`."""
    centres, spectra = np.geomspace(O.LOW_HZ, O.HIGH_HZ, O.BINS), []
    for B, frame_s in runs:
        env = envelope(B, mode)
        window, hop = int(round(O.WINDOW_S / frame_s)), int(round(O.HOP_S / frame_s))
        hz, win = np.fft.rfftfreq(window, frame_s), np.hanning(window)[:, None]
        for start in range(0, max(1, len(env) - window + 1), hop):
            seg = env[start:start + window]
            seg = np.pad(seg - seg.mean(axis=0), ((0, window - len(seg)), (0, 0)))
            m = np.abs(np.fft.rfft(seg * win, axis=0))
            spectra.append(np.stack([np.interp(centres, hz, m[:, g]) for g in range(O.GROUPS)]))
    P = np.median(np.stack(spectra), axis=0).reshape(-1)
    return np.log(P / (P.mean() + D.EPS) + 1e-3)


def _unit_standardized(E):
    Z = (E - E.mean(axis=0)) / (E.std(axis=0) + 1e-9)
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


def segment_p_at_1(A, B) -> float:
    Z = _unit_standardized(np.concatenate([A, B]))
    S = Z @ Z.T
    np.fill_diagonal(S, -np.inf)
    n = len(A)
    return float(np.mean(S.argmax(axis=1) == np.r_[np.arange(n, 2 * n), np.arange(n)]))


def one_nn(X, y) -> float:
    Z = _unit_standardized(X)
    S = Z @ Z.T
    np.fill_diagonal(S, -np.inf)
    return float(np.mean(y[S.argmax(axis=1)] == y))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modes", default="band,group,bfloor5,bfloor10,bfloor20,ffloor30,ffloor40,ffloor50")
    ap.add_argument("--folds", default=",".join(L.FOLDS))
    ap.add_argument("--model", default="muzip-v2.7")
    a = ap.parse_args()
    for fold in a.folds.split(","):
        audio, coded, y = fold_bands(fold, a.model)
        for mode in a.modes.split(","):
            pa = np.array([[patterns(part, mode) for part in track] for track in audio])
            pz = np.array([[patterns(part, mode) for part in track] for track in coded])
            sd = pa.reshape(-1, pa.shape[-1]).std(axis=0) + 1e-9
            apart = (np.abs(pa - pz) / sd).mean(axis=(0, 1)).reshape(O.GROUPS, -1).mean(axis=1)
            print(f"{fold:8s} {mode:9s} apart (SD) per group " + " ".join(f"{v:.2f}" for v in apart)
                  + f" mean {apart.mean():.3f} | P@1 audio {segment_p_at_1(pa[:, 1], pa[:, 2]):.3f} "
                  f".mz {segment_p_at_1(pz[:, 1], pz[:, 2]):.3f} | 1-NN audio {one_nn(pa[:, 0], y):.3f} "
                  f".mz {one_nn(pz[:, 0], y):.3f}", flush=True)


if __name__ == "__main__":
    main()
