"""Ship an embedder run as models/NAME/: config, Keras weights, ONNX runtime file, SHA256SUMS, model card.

    .venv/bin/python -m scripts.models.export_embed runs/embed-v2 [--name embed-v2]

Keras exports embed.onnx (`Model.export(format="onnx")`, float32, any window length); parity Keras vs
onnxruntime is measured on the band sequence of the test clip and written into runtime.json. MODEL.md
is built from the run (data, steps, wall time) and, when docs/library_results.json exists
(scripts/bench/library_bench.py), the measured quality.
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

FILES = ("config.json", "embed.weights.h5", "embed.onnx")


def test_clip_sequence(features: str) -> np.ndarray:
    import soundfile as sf
    from muzip.codec import to_mid_side
    from muzip.library.embed import feature_sequence
    from muzip.codec import load_model
    x, sr = sf.read(ROOT / "tests" / "data" / "knolls_excerpt.ogg", dtype="float32", always_2d=True)
    model = load_model("muzip-v1")
    n = len(x) // model.config["hop"] * model.config["hop"]
    return feature_sequence(model.encode(to_mid_side(x[:n])[:, :, None])[:, :n // model.config["hop"]], features)


def parity(net, folder: Path, cfg: dict) -> dict:
    """Keras vs onnxruntime (embed.onnx) on the windows of the test clip's band sequence; a short window runs."""
    from muzip.nn.writer import onnx_session, parity as compare
    seq = test_clip_sequence(cfg["features"])
    w = cfg["window"]
    batch = np.stack([seq[i:i + w] for i in range(0, len(seq) - w + 1, w)]).astype(np.float32)
    s = onnx_session(folder / "embed.onnx")
    p = compare(net, s, batch)
    short = s.run(None, {s.get_inputs()[0].name: batch[:1, :w // 3]})[0]  # any length runs
    return {"clip": "tests/data/knolls_excerpt.ogg (muzip-v1 encoder, unquantized)", "windows": int(len(batch)),
            "max_abs": p.max_abs, "max_rel": p.max_rel, "short_window_ok": bool(np.all(np.isfinite(short)))}


def card(name: str, cfg: dict, training: dict, info: dict, sums: dict) -> str:
    by_source = {}
    for t in training["tracks"]:
        by_source[t.split("/")[0]] = by_source.get(t.split("/")[0], 0) + 1
    supervised = cfg.get("label_weight", 0) > 0
    pitch = ("; and 12 chroma shares and 48 semitone energies read from a finer spectrum of the mid channel's "
             "latents (muzip/library/pitch.py)" if cfg["features"] != "latent band sequence v1" else "")
    L = [f"# {name}: the library's trained track embedding", "",
         f"A contrastive{'' if supervised else ', self-supervised'} embedding of muzip-v1 codec latents "
         "(muzip/library/net_model.py): per 23-ms step the log energies of 64 mid-channel and 8 side-channel "
         f"bands of the latents (muzip.library.embed.band_sequence){pitch}, a Conv1D stack with residual pairs and pooling, mean and standard "
         f"deviation over time, two dense layers: a {cfg['dim']}-d segment vector. A track is 12 runs of 4 s "
         "spread over it; its embedding is the normalized mean of its unit segment vectors. A `.mz` goes in "
         "through its entropy-decoded latents (no decoder network), audio through the codec's encoder.", "",
         f"Config: `{json.dumps(cfg)}`.", "",
         "## Data",
         f"{len(training['tracks'])} tracks, never a validation track of scripts/data/corpus.py: "
         + ", ".join(f"{n} from data/{s}" for s, n in sorted(by_source.items()))
         + " (raw: scripts/data/fetch_corpus.sh; styles and extra: music21 renders, scripts/data/render_styles.py). "
         + (f"A supervised head (weight {cfg['label_weight']}) learns each track's label: {', '.join(cfg['labels'])}; "
            "it is dropped at export. " if supervised else "Labels are never used. ")
         + "Each track prepared four ways: from its audio and from its .mz at 24, 48 and 96 kbps; a styles piece "
         "also from its second rendering with another instrument (scripts/models/train_embed.py prepare).", "",
         "## Training",
         f"`python -m scripts.models.train_embed train` (TensorFlow backend, CPU, 2 cores): {training['steps']} steps, batch 48 "
         "tracks x 2 windows of 4 s, each from a random version with random gain (+-6 dB) and tilt (+-3 dB); "
         f"NT-Xent at temperature {cfg['temperature']}{' plus the label cross-entropy' if supervised else ''}; AdamW 1e-3, cosine decay. Wall time "
         f"{training['seconds'] / 60:.1f} min; final loss {training['losses'][-1][1]:.3f}.", "",
         "## Files", *[f"- `{f}`: sha256 `{sums[f]}`" for f in FILES],
         f"- Parity Keras vs onnxruntime on {info['parity']['clip']}, {info['parity']['windows']} windows: "
         f"max abs {info['parity']['max_abs']:.2g} (relative {info['parity']['max_rel']:.2g}).", ""]
    results = ROOT / "docs" / "library_results.json"
    if results.exists():
        L += ["## Measured quality", f"From `scripts/bench/library_bench.py`: docs/LIBRARY-SEEN.md ({name} rows; the benchmark "
              "trains its own copy per test fold, so no test track is ever trained on).", ""]
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--name", default="embed-v2")
    a = ap.parse_args()
    from muzip.library.net_model import build_embed_net
    from muzip.nn.writer import Export, listed_sums, write_model_folder
    from muzip.runtime.store import models_dir
    run = Path(a.run)
    cfg = json.loads((run / "config.json").read_text())
    training = json.loads((run / "training.json").read_text())
    net = build_embed_net(cfg)
    net.load_weights(run / "embed.weights.h5")
    info = write_model_folder(models_dir(), a.name, identity=FILES[:2], runtime=FILES[2:], files={"config.json": cfg},
                              exports=[Export("embed", net, np.zeros((1, cfg["window"], cfg["in_dim"]), np.float32))],
                              parity=lambda folder: parity(net, folder, cfg), info={"steps": training["steps"]},
                              card=lambda folder, info: card(a.name, cfg, training, info, listed_sums(folder)))
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
