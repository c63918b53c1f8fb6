"""Make a network-free codec model (codec.transform_model) from an installed band-gain one: muzip-v2.2 ->
muzip-v2.3. The decoder keeps only its learned un-weighting ("decoder_blocks": 0); the encoder (already
without blocks), the context tables and the envelope stay the base's. The band-gain tables are counted anew,
by coding training excerpts (scripts/data/corpus.py split, seed 0; never validation) through the new model,
since the gains now correct the un-weighted latents instead of the decoder network's output, and the noise
that fills the holes of coded bands in its place ("noise_fill", codec.quantizer.dequantize). tables.npz
also carries both weightings as float32, for the numpy runtime; runtime.json holds its parity with Keras.

    python -m scripts.models.make_transform_model [--base muzip-v2.2] [--name muzip-v2.3] [--out models]
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from scripts.models.make_gain_model import count_gain_tables

ROOT = Path(__file__).resolve().parents[2]


def keras_parts(base_folder, cfg):
    """The base's encoder, and the block-free decoder carrying the base decoder's un-weighting."""
    import h5py

    from muzip.nn.codec_net import build_decoder, build_encoder
    encoder = build_encoder(cfg)
    encoder.load_weights(base_folder / "encoder.weights.h5")
    decoder = build_decoder(cfg)
    with h5py.File(base_folder / "decoder.weights.h5", "r") as f:  # the base's unweight layer, by its path
        unweight = f["layers/channel_scale/vars/0"][:].astype(np.float32)
    decoder.get_layer("unweight").set_weights([unweight])
    return encoder, decoder


def runtime_parity(name, encoder, decoder, cfg) -> dict:
    """Keras vs the numpy runtime on 2 s of noise-like audio and on random latents."""
    from muzip.codec import load_model
    model = load_model(name)
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((2, 2 * cfg["model_rate"], 1)) * 0.1).astype(np.float32)
    lat = rng.laplace(0, 0.05, (2, 51, cfg["latent_channels"])).astype(np.float32)
    noise = np.zeros((2, 51, 0), np.float32)
    enc_ref, enc = np.asarray(encoder(audio)), model.encode(audio)
    dec_ref, dec = np.asarray(decoder([lat, noise])), model.decode_coefficients(lat, 0)
    return {"encoder_max_abs": float(np.abs(enc_ref - enc).max()),
            "encoder_max_rel": float(np.abs(enc_ref - enc).max() / np.abs(enc_ref).max()),
            "decoder_max_abs": float(np.abs(dec_ref - dec).max()),
            "decoder_max_rel": float(np.abs(dec_ref - dec).max() / np.abs(dec_ref).max())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="muzip-v2.2")
    ap.add_argument("--name", default="muzip-v2.3")
    ap.add_argument("--out", default="models")
    ap.add_argument("--files", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--noise-fill", type=float, default=0.2, help="holes in coded bands filled with noise of "
                    "+-this x the step (codec.quantizer.dequantize; 0: none)")
    args = ap.parse_args()
    os.chdir(ROOT)
    os.environ["MUZIP_USER_MODELS"] = str(Path(args.out).resolve())
    from muzip.codec.band_gains import BandGains
    from muzip.codec.entropy.ans import counts_from_histogram
    from muzip.nn.writer import folder_files, write_model_folder
    from muzip.runtime.store import IDENTITY_FILES, model_folder

    t0 = time.time()
    base_folder = model_folder(args.base)
    cfg = dict(json.loads((base_folder / "config.json").read_text()), decoder_blocks=0, noise_channels=0)
    if args.noise_fill:
        cfg["noise_fill"] = args.noise_fill
    encoder, decoder = keras_parts(base_folder, cfg)
    log_gains = {"encoder_log_gain": encoder.get_layer("weight").get_weights()[0].astype(np.float32),
                 "decoder_log_gain": decoder.get_layer("unweight").get_weights()[0].astype(np.float32)}
    with np.load(base_folder / "tables.npz") as t:
        counts = t["counts"]
    out = Path(args.out) / args.name

    def tables(gain_counts):
        return lambda path: np.savez_compressed(path, counts=counts, gain_counts=gain_counts, **log_gains)
    # with flat band-gain tables first: the gain tables are counted by coding through this very model
    flat = counts_from_histogram(np.ones((BandGains(cfg, None).n_contexts, 2 * cfg["band_gains"]["radius"] + 1)))
    write_model_folder(out.parent, out.name, identity=IDENTITY_FILES, files={
        "config.json": cfg, "encoder.weights.h5": base_folder / "encoder.weights.h5",
        "decoder.weights.h5": lambda path: decoder.save_weights(path), "tables.npz": tables(flat)})

    made = (f"python -m scripts.models.make_transform_model --base {args.base} --name {args.name} --out {args.out}"
            f" --files {args.files} --seconds {args.seconds:g} --noise-fill {args.noise_fill:g}")
    runtime = {"runtime": "numpy", "files": [], "parity": runtime_parity(args.name, encoder, decoder, cfg)}
    gain_counts, training = count_gain_tables(args.name, base_folder, args.files, args.seconds, made, t0)
    write_model_folder(out.parent, out.name, identity=IDENTITY_FILES, files={
        **folder_files(out, skip=("MODEL.md",)), "tables.npz": tables(gain_counts), "training.json": training,
        "runtime.json": runtime})
    print(f"wrote {out}: {training['gain_table_symbols']} gain symbols counted, parity {runtime['parity']}, "
          f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
