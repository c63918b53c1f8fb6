"""Pick the training snapshot with the best quality at equal *actual* bitrate on held-out training audio.

The RD lines in the training log compare snapshots at fixed quantizer levels, where a snapshot that
merely spends more bits looks better. This exports each candidate (to a temporary models folder),
codes the same held-out excerpts of training tracks at fixed bitrates with rate control, and ranks
by mean mel distance. Validation tracks are never used.

    python -m scripts.models.select_snapshot --run runs/v1 --steps 500 1000 2000 4000
"""

import argparse
import os
import tempfile
from argparse import Namespace
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]


def held_out_excerpts(n_tracks=3, seconds=20.0, seed=1):
    from scripts.data.corpus import split

    train, _ = split(str(ROOT / "data" / "raw"))
    rng = np.random.default_rng(seed)
    out = []
    for path in rng.permutation(train):
        info = sf.info(path)
        if info.samplerate != 44100 or info.channels != 2 or info.duration < seconds + 10:
            continue
        start = int(rng.uniform(5, info.duration - seconds - 5) * 44100)
        out.append(sf.read(path, start=start, frames=int(seconds * 44100), dtype="float32")[0])
        if len(out) == n_tracks:
            return out
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--steps", type=int, nargs="+", required=True)
    ap.add_argument("--kbps", type=float, nargs="+", default=[16, 32, 64])
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="muzip-select-")
    os.environ["MUZIP_MODELS"] = tmp
    from scripts.models.export_model import export
    from muzip.codec import compress_array, decompress_bytes
    from muzip.metrics import mel_distance
    from muzip.codec import load_model

    excerpts = held_out_excerpts()
    results = []
    for step in args.steps:
        name = f"cand{step}"
        export(Namespace(run=args.run, name=name, minutes=5.0, snapshot=str(step)))
        model = load_model(name)
        mels = {k: np.mean([mel_distance(x, decompress_bytes(compress_array(x, 44100, k, model=model), model=model)[0], 44100)
                            for x in excerpts]) for k in args.kbps}
        results.append((float(np.mean(list(mels.values()))), step, mels))
        print(f"step {step}: " + "  ".join(f"{k:g} kbps mel {v:.3f}" for k, v in mels.items()), flush=True)
    best = min(results)
    print(f"best: step {best[1]} (mean mel {best[0]:.3f} over {args.kbps} kbps, {len(excerpts)} held-out excerpts)")


if __name__ == "__main__":
    main()
