"""Ship a restorer checkpoint as models/NAME/: config, Keras weights, ONNX runtime file, SHA256SUMS, card.

    .venv/bin/python -m scripts.models.export_restore runs/restore-v1 [--name restore-v1]

The generator's weights come from RUN/ckpt (scripts/models/train_restore.py). Keras exports restorer.onnx
(`Model.export(format="onnx")`, float32); parity Keras vs onnxruntime is measured on a real MP3 excerpt
and written into runtime.json. MODEL.md is rebuilt from the run (data, steps, wall time) and, when
docs/restore_results.json exists (scripts/bench/restore_bench.py), the measured quality.
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

FILES = ("config.json", "restorer.weights.h5", "restorer.onnx")


def parity(model, folder: Path) -> dict:
    """Keras vs onnxruntime (restorer.onnx) on 8 s of the test clip through LAME at 24 kbps, seeded noise."""
    import soundfile as sf
    from muzip.nn.writer import parity as compare
    from muzip.restore.pairs import mp3_pair
    from muzip.restore.runtime import frame_noise
    x, sr = sf.read(ROOT / "tests" / "data" / "knolls_excerpt.ogg", dtype="float32", always_2d=True)
    y = mp3_pair(x[:8 * sr], sr, 24)[:, :1]
    T = len(y) // 256 * 256
    audio = y[:T].T
    cond = np.array([np.log2(24 / 32), 0.4], np.float32)
    n = T // 256 + 1
    noise = frame_noise(0, 0, 0, n, model.input[2].shape[-1])[None]
    p = compare(model, folder / "restorer.onnx", [audio[:, :, None], np.broadcast_to(cond, (1, n, 2)), noise])
    return {"clip": "tests/data/knolls_excerpt.ogg (8 s, left channel, LAME 24 kbps)",
            "max_abs": p.max_abs, "snr_db": p.snr_db}


def card(name: str, cfg: dict, state: dict, info: dict, sums: dict) -> str:
    L = [f"# {name}: the MP3 restorer of `muzip restore`", "",
         "A GAN-trained restorer for heavily compressed music, after Lattner & Nistal (arXiv 2207.01667): a "
         "generator fed the lossy audio (as MDCT coefficients), the codec's bitrate and bandwidth, and noise z, "
         "trained against multi-period and multi-resolution STFT critics (muzip/nn).", "",
         "## Network", f"`muzip/restore/model.py`, config: `{json.dumps({k: v for k, v in cfg.items()})}`. "
         "It predicts a residual in the companded MDCT domain (hop 256), so untrained it returns its input exactly.",
         "", "## Data",
         "Training tracks of `scripts/data/fetch_corpus.sh` (scripts/data/corpus.py split(): the wesnoth validation tracks "
         "never seen), 80 tracks drawn with seed 0. Pairs made on the fly: random 0.74-s excerpts, level -6..0 dB, "
         "65% stereo / 35% mono, LAME (lameenc) CBR at 16/24/32/48/64 kbps, decoded by libsndfile, delay removed "
         "(1105 samples), resampled to 44.1 kHz; one channel per example.", "",
         "## Training", f"`scripts/models/train_restore.py` (TensorFlow backend, CPU, 2 cores): {state['step']} steps of batch "
         f"{state.get('batch')} x {state.get('samples')} samples; the first {state.get('recon_steps')} with the "
         "multi-scale mel loss alone, then LS-GAN + feature matching (x2) + mel loss (x15); AdamW 2e-4, betas (0.8, 0.99). "
         f"Wall time {state.get('wall_s', 0) / 3600:.2f} h. Deterministic variant trained: "
         f"{'yes' if state.get('deterministic') else 'no (z = 0 at inference is reported instead)'}.", "",
         "## Files", *[f"- `{f}`: {sums[f]}" for f in FILES],
         f"- Parity Keras vs onnxruntime on {info['parity']['clip']}: max abs {info['parity']['max_abs']:.2g}, "
         f"SNR {info['parity']['snr_db']:.1f} dB (tested: tests/restore/test_restore.py).", ""]
    results = ROOT / "docs" / "restore_results.json"
    if results.exists():
        L += ["## Measured quality", "From `scripts/bench/restore_bench.py` (see docs/RESTORE.md):", "",
              (ROOT / "docs" / "RESTORE.md").read_text().split("<!-- table -->")[1].strip()
              if "<!-- table -->" in (ROOT / "docs" / "RESTORE.md").read_text() else "(see docs/RESTORE.md)", ""]
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--name", default="restore-v1")
    a = ap.parse_args()
    from muzip.nn.writer import Export, listed_sums, write_model_folder
    from muzip.restore.model import build_restorer
    from muzip.runtime.store import models_dir
    run = Path(a.run)
    state = json.loads((run / "ckpt" / "state.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    cfg["kind"] = "restorer"
    model = build_restorer(cfg)
    model.load_weights(run / "ckpt" / "generator.weights.h5")
    n = 8  # frames of the call that builds the model before export
    inputs = [np.zeros((1, (n - 1) * cfg["hop"], 1), np.float32), np.zeros((1, n, cfg["cond_channels"]), np.float32),
              np.zeros((1, n, cfg["noise_channels"]), np.float32)]
    info = write_model_folder(models_dir(), a.name, identity=FILES[:2], runtime=FILES[2:], files={"config.json": cfg},
                              exports=[Export("restorer", model, inputs)], parity=lambda folder: parity(model, folder),
                              info={"step": state["step"], "wall_s": state.get("wall_s")},
                              card=lambda folder, info: card(a.name, cfg, state, info, listed_sums(folder)))
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
