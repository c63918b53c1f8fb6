"""How far a track moves when it is played a few per cent faster or slower (a PAL transfer runs 4.2 % fast;
tape, turntable and resampling errors are of that size), or is a copy at a lower sample rate (an old rip: no
top octaves; --rates, session 49), for the embed-v3 recipe fitted per leave-one-corpus-out fold with and
without sped-up training segments (exp_embed_v3 --varied), and with low-passed ones (--lowpass).

    .venv/bin/python -m scripts.experiments.exp_speed_robustness [--varied 0,0.02,0.04] [--speeds 0.96,1.04]
    .venv/bin/python -m scripts.experiments.exp_speed_robustness --varied 0.04 --patterns   # embed-v4's recipe
    .venv/bin/python -m scripts.experiments.exp_speed_robustness --varied 0.04 --patterns --pattern-floor 10   # embed-v5's
    ... --varied 0.04 --patterns --pattern-floor 10 --rates 22050,16000 --lowpass 6,16   # low-rate copies

Each fold's 60-s excerpts are the collection (standardized by the fold's excerpts and segments, as
exp_embed_v3); each excerpt played at SPEED (tempo and pitch together, soxr) is the query: how often its own
original is its nearest track, and their mean cosine. For scale, the same for the benchmark's classical
statistics (scripts/bench/classical_features.py, standardized by the collection's excerpts).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.descriptors import VERSION  # noqa: E402
from muzip.library.projection import fit_projection  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.experiments.exp_embed_v3 import eval_vectors, unit  # noqa: E402
from scripts.models import embed_v3_data  # noqa: E402
from scripts.models.embed_v3_data import _coeffs, cached, describe, floor_key, segment_descriptors  # noqa: E402


def sped_audio(path: str, speed: float) -> np.ndarray:
    import soxr
    return soxr.resample(L.excerpt(path), L.RATE * speed, L.RATE).astype(np.float32)


def sped_descriptor(path: str, speed: float) -> np.ndarray:
    return describe(_coeffs(sped_audio(path, speed)), L.RATE)


def low_rate_audio(path: str, rate: int) -> np.ndarray:
    """The excerpt as a copy at `rate`, read back at L.RATE as `muzip index` reads a low-rate file."""
    import soxr
    return soxr.resample(soxr.resample(L.excerpt(path), L.RATE, rate), rate, L.RATE).astype(np.float32)


def classical(x: np.ndarray) -> np.ndarray:
    """The benchmark's classical statistics, from the mono 22.05-kHz signal it reads (library_loco._to22)."""
    from scripts.bench.classical_features import classical_vector
    from scripts.bench.library_loco import _to22
    return classical_vector(_to22(x), 22050)


def own_first(Q: np.ndarray, V: np.ndarray) -> str:
    sim = Q @ V.T
    first = np.mean(np.argmax(sim, axis=1) == np.arange(len(V)))
    return f"own track first {first:.3f}, cosine {np.mean(np.diag(sim)):.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--varied", default="0,0.02,0.04", help="the training's speed changes (0: as shipped)")
    ap.add_argument("--speeds", default="0.96,1.04")
    ap.add_argument("--rates", default="", help="also copies at these sample rates (Hz, comma-separated)")
    ap.add_argument("--lowpass", default="", help="LO,HI: also the training with low-passed segments "
                    "(exp_embed_v3 --lowpass)")
    ap.add_argument("--lowpass-coded", action="store_true", help="with --lowpass: as low-rate copies with their "
                    "coded versions (exp_embed_v3 --lowpass-coded)")
    ap.add_argument("--patterns", action="store_true", help="the descriptors with onset patterns (embed-v4)")
    ap.add_argument("--pattern-floor", type=float, help="with --patterns: their floor (onset_patterns.FLOOR_DB; "
                    "10: version 2, embed-v5)")
    ap.add_argument("--floor", type=float, default=0.0, help="white noise this many dB under each run's level added "
                    "before describing, in training and at use (exp_embed_v3 --floor; session 50)")
    ap.add_argument("--floor-above", type=float, default=0.0, help="with --floor: the noise only above this many "
                    "Hz (session 50)")
    a = ap.parse_args()
    embed_v3_data.FLOOR_DB = a.floor
    embed_v3_data.FLOOR_ABOVE_HZ = a.floor_above
    embed_v3_data.PATTERNS = a.patterns
    embed_v3_data.PATTERN_FLOOR_DB = a.pattern_floor
    speeds = [float(s) for s in a.speeds.split(",")]
    rates = [int(r) for r in a.rates.split(",") if r]
    lowpass = [None] + ([embed_v3_data.lowpass_band(a.lowpass)] if a.lowpass else [])
    for fold in L.FOLDS:
        tracks = L.fold_tracks(fold)
        X, A, B = eval_vectors(tracks)
        E = np.concatenate([X, A, B])
        mc, sc = E.mean(axis=0), E.std(axis=0) + 1e-9
        sped = {s: np.array([cached(f"{floor_key()}sped{VERSION}:{s}:" + p, lambda p=p, s=s: sped_descriptor(p, s))
                             for _, p in tracks]) for s in speeds}
        copies = {f"speed {s:g}": Xs for s, Xs in sped.items()}
        copies.update({f"{r} Hz": np.array([cached(f"{floor_key()}lowrate{VERSION}:{r}:" + p, lambda p=p, r=r: describe(
            _coeffs(low_rate_audio(p, r)), L.RATE)) for _, p in tracks]) for r in rates})
        C = np.array([cached("classical:1.0:" + p, lambda p=p: classical(L.excerpt(p))) for _, p in tracks])
        cm, cs = C.mean(axis=0), C.std(axis=0) + 1e-9
        out = []
        for s in speeds:
            Cs = np.array([cached(f"classical:{s}:" + p, lambda p=p, s=s: classical(sped_audio(p, s)))
                           for _, p in tracks])
            out.append(f"speed {s:g}: " + own_first(unit((Cs - cm) / cs), unit((C - cm) / cs)))
        for r in rates:
            Cs = np.array([cached(f"classical:{r}Hz:" + p, lambda p=p, r=r: classical(low_rate_audio(p, r)))
                           for _, p in tracks])
            out.append(f"{r} Hz: " + own_first(unit((Cs - cm) / cs), unit((C - cm) / cs)))
        print(f"{fold}, classical statistics: " + "; ".join(out), flush=True)
        for varied in (float(v) for v in a.varied.split(",")):
            for lp in lowpass:
                Xt, yt, corpora = segment_descriptors(L.training_files(fold), 6, coded=True, varied=varied,
                                                      lowpass=lp, lowpass_coded=a.lowpass_coded)
                W = fit_projection(Xt, yt, corpora, 128)["scalings"]
                V = unit(((X - mc) / sc) @ W)
                out = [f"{name}: " + own_first(unit(((Xs - mc) / sc) @ W), V) for name, Xs in copies.items()]
                low = "" if lp is None else f", low-passed {lp[0]:g}-{lp[1]:g} kHz"
                print(f"{fold}, training varied {varied:g}{low}: " + "; ".join(out), flush=True)


if __name__ == "__main__":
    main()
