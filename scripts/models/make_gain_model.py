"""Make a band-gain codec model (muzip.band_gains) from an installed one: muzip-v2 -> muzip-v2.1.

The networks stay the base model's (weight files and encoder.onnx copied byte for byte); the decoder is
re-exported to stop before the fixed MDCT synthesis (config "decoder_output": "coefficients"), so the
runtime can rescale each band between the two. Band-gain tables are counted by coding training excerpts
(scripts/data/corpus.py split, seed 0; never validation) at several bitrates with flat tables, then the folder
gets SHA256SUMS, runtime.json (Keras vs onnxruntime parity) and training.json.

    python -m scripts.models.make_gain_model [--base muzip-v2] [--name muzip-v2.1] [--out models]
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from scripts.bench import bench
from scripts.data.corpus import split

ROOT = Path(__file__).resolve().parents[2]

COPIED = ("encoder.weights.h5", "decoder.weights.h5", "encoder.onnx")
RATES = (6, 8, 12, 16, 24, 32, 48)


def coefficient_decoder(cfg, base_folder):
    """The base model's decoder network built to stop before the MDCT synthesis, with latents and noise to
    build it and measure its parity on."""
    from muzip.codec.model import decoder_noise
    from muzip.nn.codec_net import build_decoder

    decoder = build_decoder(cfg)
    decoder.load_weights(base_folder / "decoder.weights.h5")
    lat = np.random.default_rng(0).laplace(0, 0.02, (2, 51, cfg["latent_channels"])).astype(np.float32)
    lat[np.abs(lat) < 0.02] = 0
    noise = np.stack([decoder_noise(cfg, 0, lat.shape[1], a) for a in range(2)])
    return decoder, [lat, noise]


def count_tables(name, excerpts):
    """Code the excerpts at RATES with the folder's current (flat) tables; histogram of (context, symbol)."""
    import muzip.codec.band_gains as bg
    from muzip.codec import compress_array
    from muzip.codec.entropy.ans import counts_from_histogram
    from muzip.codec import load_model

    model = load_model(name)
    gains = model.band_gains
    hist = np.zeros((gains.n_contexts, 2 * gains.radius + 1))
    real = bg.BandGains.encode

    def encode(self, s, nz, stride):
        hist[...] += self.histogram(s, nz)
        return real(self, s, nz, stride)
    bg.BandGains.encode = encode
    try:
        for kbps in RATES:
            for x in excerpts:
                compress_array(x, 44100, kbps, model=model)
    finally:
        bg.BandGains.encode = real
    return counts_from_histogram(hist + 0.5), int(hist.sum())


def count_gain_tables(name, base_folder, files: int, seconds: float, made: str, t0: float, chosen=None):
    """(gain_counts, training.json content) for model folder `name`, whose gain tables are still flat: the
    tables counted by coding `files` training excerpts of `seconds` (split(), seed 0) through it, or the
    `chosen` (excerpts, their paths), and the base's training.json with the counting and the command
    `made` added."""
    if chosen is None:
        train, _ = split()
        rng = np.random.default_rng(0)
        picked = sorted(rng.choice(len(train), min(files, len(train)), replace=False))
        chosen = ([bench.read_excerpt(train[i], 20.0, seconds)[0] for i in picked],
                  [str(Path(train[i]).resolve().relative_to(ROOT)) for i in picked])
    excerpts, paths = chosen
    gain_counts, symbols = count_tables(name, excerpts)
    training = dict(json.loads((base_folder / "training.json").read_text()))
    training.update({"base_model": base_folder.name, "gain_table_symbols": symbols,
                     "gain_table_rates_kbps": list(RATES), "gain_table_minutes": len(excerpts) * seconds / 60,
                     "gain_table_seconds": round(time.time() - t0), "commands": training.get("commands", []) + [made],
                     "gain_table_files": paths})
    return gain_counts, training


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="muzip-v2")
    ap.add_argument("--name", default="muzip-v2.1")
    ap.add_argument("--out", default="models")
    ap.add_argument("--files", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--bands", type=int, default=21)
    ap.add_argument("--db", type=float, default=3.0)
    args = ap.parse_args()
    os.chdir(ROOT)
    os.environ["MUZIP_USER_MODELS"] = str(Path(args.out).resolve())
    from muzip.codec.band_gains import BandGains, band_edges
    from muzip.codec.entropy.ans import counts_from_histogram
    from muzip.nn.writer import Export, folder_files, parity as compare, write_model_folder
    from muzip.runtime.store import IDENTITY_FILES, RUNTIME_FILES, model_folder

    t0 = time.time()
    base_folder = model_folder(args.base)
    base_cfg = json.loads((base_folder / "config.json").read_text())
    cfg = dict(base_cfg, decoder_output="coefficients", band_gains={
        "edges": band_edges(base_cfg["latent_channels"], args.bands, base_cfg["model_rate"]),
        "db": args.db, "radius": 40, "floor": 1e-11, "groups": 7, "stride_kbps": [14, 9]})
    out = Path(args.out) / args.name
    with np.load(base_folder / "tables.npz") as t:
        counts = t["counts"]
    flat = counts_from_histogram(np.ones((BandGains(cfg, None).n_contexts, 81)))
    base_runtime = json.loads((base_folder / "runtime.json").read_text())  # encoder.onnx is the base's file
    decoder, inputs = coefficient_decoder(cfg, base_folder)

    def measure(folder):
        p = compare(decoder, folder / "decoder.onnx", inputs)
        return {"decoder_max_abs": p.max_abs, "decoder_snr_db": p.snr_db,
                "encoder_max_abs": base_runtime["parity"]["encoder_max_abs"]}
    # with flat band-gain tables first: the gain tables are counted by coding through this very model
    info = write_model_folder(out.parent, out.name, identity=IDENTITY_FILES, runtime=RUNTIME_FILES, files={
        **{f: base_folder / f for f in COPIED}, "config.json": cfg,
        "tables.npz": lambda path: np.savez_compressed(path, counts=counts, gain_counts=flat)},
        exports=[Export("decoder", decoder, inputs, half=True, weights=False)], parity=measure, stamp=("keras",),
        info={"keras": base_runtime["keras"]})
    parity = info["parity"]

    made = (f"python -m scripts.models.make_gain_model --base {args.base} --name {args.name} --out {args.out}"
            f" --files {args.files} --seconds {args.seconds:g} --bands {args.bands} --db {args.db:g}")
    gain_counts, training = count_gain_tables(args.name, base_folder, args.files, args.seconds, made, t0)
    write_model_folder(out.parent, out.name, identity=IDENTITY_FILES, runtime=RUNTIME_FILES, files={
        **folder_files(out), "tables.npz": lambda path: np.savez_compressed(path, counts=counts, gain_counts=gain_counts),
        "training.json": training})
    print(f"wrote {out}: {training['gain_table_symbols']} gain symbols counted, parity {parity}, "
          f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
