"""Make a band-gain codec model (muzip.band_gains) from an installed one: muzip-v2 -> muzip-v2.1.

The networks stay the base model's (weight files and encoder.onnx copied byte for byte); the decoder is
re-exported to stop before the fixed MDCT synthesis (config "decoder_output": "coefficients"), so the
runtime can rescale each band between the two. Band-gain tables are counted by coding training excerpts
(scripts/corpus.py split, seed 0; never validation) at several bitrates with flat tables, then the folder
gets SHA256SUMS, runtime.json (Keras vs onnxruntime parity) and training.json.

    python scripts/make_gain_model.py [--base muzip-v2] [--name muzip-v2.1] [--out models]
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
from corpus import split  # noqa: E402

COPIED = ("encoder.weights.h5", "decoder.weights.h5", "encoder.onnx")
RATES = (6, 8, 12, 16, 24, 32, 48)


def export_decoder(cfg, base_folder, folder):
    from muzip.model import build_decoder
    from muzip.nn.half import halve_onnx
    from muzip.runtime.base import decoder_noise
    from muzip.runtime.keras_model import quiet_native_stderr
    import onnxruntime as ort

    decoder = build_decoder(cfg)
    decoder.load_weights(base_folder / "decoder.weights.h5")
    lat = np.random.default_rng(0).laplace(0, 0.02, (2, 51, cfg["latent_channels"])).astype(np.float32)
    lat[np.abs(lat) < 0.02] = 0
    noise = np.stack([decoder_noise(cfg, 0, lat.shape[1], a) for a in range(2)])
    ref = np.asarray(decoder([lat, noise], training=False))
    with quiet_native_stderr():
        decoder.export(str(folder / "decoder.onnx"), format="onnx", verbose=False)
    halve_onnx(folder / "decoder.onnx")
    sess = ort.InferenceSession(str(folder / "decoder.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    out = sess.run(None, {names[0]: lat, names[1]: noise})[0]
    err = (out - ref).astype(np.float64)
    return {"decoder_max_abs": float(np.abs(err).max()),
            "decoder_snr_db": float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / max(np.sum(err ** 2), 1e-30)))}


def count_tables(name, excerpts):
    """Code the excerpts at RATES with the folder's current (flat) tables; histogram of (context, symbol)."""
    import muzip.band_gains as bg
    from muzip.codec import compress_array
    from muzip.entropy import counts_from_histogram
    from muzip.runtime import load_model

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
    from muzip.band_gains import BandGains, band_edges
    from muzip.runtime.store import model_folder, write_sha256sums

    t0 = time.time()
    base_folder = model_folder(args.base)
    base_cfg = json.loads((base_folder / "config.json").read_text())
    cfg = dict(base_cfg, decoder_output="coefficients", band_gains={
        "edges": band_edges(base_cfg["latent_channels"], args.bands, base_cfg["model_rate"]),
        "db": args.db, "radius": 40, "floor": 1e-11, "groups": 7, "stride_kbps": [14, 9]})
    out = Path(args.out) / args.name
    tmp = out.with_name(out.name + ".tmp")  # not a valid model name while it is being made
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in COPIED:
        shutil.copy2(base_folder / f, tmp / f)
    (tmp / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    parity = export_decoder(cfg, base_folder, tmp)
    with np.load(base_folder / "tables.npz") as t:
        counts = t["counts"]
    from muzip.entropy import counts_from_histogram
    flat = counts_from_histogram(np.ones((BandGains(cfg, None).n_contexts, 81)))
    np.savez_compressed(tmp / "tables.npz", counts=counts, gain_counts=flat)
    write_sha256sums(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)

    train, _ = split()
    rng = np.random.default_rng(0)
    picked = sorted(rng.choice(len(train), min(args.files, len(train)), replace=False))
    excerpts = [bench.read_excerpt(train[i], 20.0, args.seconds)[0] for i in picked]
    gain_counts, symbols = count_tables(args.name, excerpts)
    np.savez_compressed(out / "tables.npz", counts=counts, gain_counts=gain_counts)
    base_runtime = json.loads((base_folder / "runtime.json").read_text())  # encoder.onnx is the base's file
    parity["encoder_max_abs"] = base_runtime["parity"]["encoder_max_abs"]
    (out / "runtime.json").write_text(json.dumps({"runtime": "onnxruntime", "files": ["encoder.onnx", "decoder.onnx"],
                                                  "keras": base_runtime["keras"], "parity": parity}, indent=1) + "\n")
    made = (f"python scripts/make_gain_model.py --base {args.base} --name {args.name} --out {args.out}"
            f" --files {args.files} --seconds {args.seconds:g} --bands {args.bands} --db {args.db:g}")
    training = dict(json.loads((base_folder / "training.json").read_text()))
    training.update({"base_model": args.base, "gain_table_symbols": symbols, "gain_table_rates_kbps": list(RATES),
                     "gain_table_minutes": len(excerpts) * args.seconds / 60, "gain_table_seconds": round(time.time() - t0),
                     "commands": training.get("commands", []) + [made]})
    (out / "training.json").write_text(json.dumps(training, indent=1) + "\n")
    write_sha256sums(out)
    print(f"wrote {out}: {symbols} gain symbols counted, parity {parity}, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
