"""Make a network-free codec model (codec.transform_model) from an installed band-gain one: muzip-v2.2 ->
muzip-v2.3. The decoder keeps only its learned un-weighting ("decoder_blocks": 0); the encoder (already
without blocks), the context tables and the envelope stay the base's. The band-gain tables are counted anew,
by coding training excerpts (scripts/data/corpus.py split, seed 0; never validation) through the new model,
since the gains now correct the un-weighted latents instead of the decoder network's output, and the noise
that fills the holes of coded bands in its place ("noise_fill", codec.quantizer.dequantize). tables.npz
also carries both weightings as float32, for the numpy runtime; runtime.json holds its parity with Keras.

    python -m scripts.models.make_transform_model [--base muzip-v2.2] [--name muzip-v2.3] [--out models]

muzip-v2.4 is the same with banded entropy coding (codec.entropy.banded; its latent tables counted on
--table-files training excerpts of --table-seconds, every 2nd quantizer level from 16 to 46, before the
band-gain tables) and fill noise drawn per frame (band_gains "fill_noise": "frame"):

    python -m scripts.models.make_transform_model --name muzip-v2.4 --entropy banded --fill-noise-source frame

muzip-v2.5 is v2.4 (its latent tables kept: a banded base's are not counted again) with the fill level
coded per frame (codec.fill_levels, FILL_LEVELS below) instead of a fixed noise_fill:

    python -m scripts.models.make_transform_model --base muzip-v2.4 --name muzip-v2.5 --entropy banded \
        --fill-noise-source frame --fill-levels

muzip-v2.6 is v2.5 with empty bands folded from the decoded spectrum below (band_gains.fold) and the
quantizer's precision tilted by the fill level (fill_levels.tilt), chosen in docs/logs/fold_plus_tilt_s33.log:

    python -m scripts.models.make_transform_model --base muzip-v2.5 --name muzip-v2.6 --entropy banded \
        --fill-noise-source frame --fill-levels --set 'band_gains.fold={"min_hz":2000,"mix":0.5}' \
        --set 'fill_levels.tilt={"pivot_hz":2000,"lo_hz":250,"hi_hz":16000,"levels":[0.15,0.3],"db_per_octave":[3,-1]}'
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from scripts.models.config_changes import changed_config
from scripts.models.make_gain_model import count_gain_tables

ROOT = Path(__file__).resolve().parents[2]
CLASS_WIDTH, CLASS_EDGES = 32, [1, 2, 3, 5, 9, 17, 32]  # scripts/experiments/exp_banded_entropy.py
# Level = clip(a0 + a1 x flatness, lo, hi) (a map per bitrate is possible; one map did best against Opus
# at 12-64 kbps): scripts/experiments/exp_adaptive_fill.py, docs/EXPERIMENTS.md "muzip 2.0, lever 4".
FILL_LEVELS = {"scale": 0.5, "window": 4096, "hop": 1024, "band_hz": [2000.0, 8000.0],
               "maps": [[0, 0.13, 0.65, 0.1, 0.4]]}


def training_excerpts(files: int, seconds: float):
    """(excerpts, their files relative to the repository): `files` training tracks (split(), seed 0; never
    validation), `seconds` from 20 s in."""
    from scripts.bench import bench
    from scripts.data.corpus import split
    train, _ = split()
    picked = sorted(np.random.default_rng(0).choice(len(train), min(files, len(train)), replace=False))
    return ([bench.read_excerpt(train[i], 20.0, seconds)[0] for i in picked],
            [str(Path(train[i]).resolve().relative_to(ROOT)) for i in picked])


def balanced_excerpts(per_package: float, seconds: float):
    """(excerpts, their files relative to the repository): about `per_package` seconds of every training
    package (scripts/data/corpus.py package_of), in `seconds` excerpts taken from its files in turn (seeded
    order), each file's at offsets spread over it; a package with less audio gives what it has. Against
    training_excerpts(), whose uniform pick of files is two-thirds drascula-music (186 of the 271 files)."""
    import soundfile as sf

    from scripts.bench import bench
    from scripts.data.corpus import package_of, split
    train, _ = split()
    rng = np.random.default_rng(0)
    excerpts, paths = [], []
    for package in sorted({package_of(p) for p in train}):
        files = [train[i] for i in rng.permutation(len(train)) if package_of(train[i]) == package]
        durations = {p: sf.info(p).duration for p in files}
        want = int(per_package // seconds)
        slots = [(p, k) for k in range(64) for p in files if (k + 1) * seconds <= durations[p]][:want]
        for path, k in sorted(slots):
            taken = sum(1 for q, _ in slots if q == path)
            start = (durations[path] - seconds) * (k + 0.5) / taken  # spread: the k-th of `taken` excerpts
            excerpts.append(bench.read_excerpt(path, start, seconds)[0])
            paths.append(f"{Path(path).resolve().relative_to(ROOT)}@{start:.0f}s")
    return excerpts, paths


def banded_tables(name, cfg, files: int, seconds: float, per_package: float = 0.0):
    """Banded latent tables counted through model folder `name` (its numpy encoder), and what was used
    (per_package > 0: balanced_excerpts(), else training_excerpts())."""
    from muzip.codec import load_model, to_mid_side
    from muzip.train.tables import CONTEXT_LEVELS, context_tables
    excerpts, paths = (balanced_excerpts(per_package, seconds) if per_package > 0
                       else training_excerpts(files, seconds))
    counts, frames = context_tables(load_model(name).encode, cfg, [to_mid_side(x) for x in excerpts], CONTEXT_LEVELS)
    return counts, {"latent_table_frames": frames, "latent_table_files": paths,
                    "latent_table_levels": list(CONTEXT_LEVELS)}


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
    ap.add_argument("--entropy", choices=("context", "banded"), default="context",
                    help="context: the base's tables; banded: counted anew (codec.entropy.banded)")
    ap.add_argument("--fill-noise-source", choices=("vector", "frame"), default="vector",
                    help="band-gain fill noise: a generator per latent vector, or per frame (faster)")
    ap.add_argument("--fill-levels", action="store_true",
                    help="code the fill level per frame (codec.fill_levels) instead of a fixed --noise-fill")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="change a config key after the others (a dotted key inside an object), e.g. "
                    "band_gains.fold={...}; repeatable")
    ap.add_argument("--recount", action="store_true", help="count a banded base's latent tables again")
    ap.add_argument("--per-package", type=float, default=0.0, metavar="SECONDS",
                    help="count every table on about this much audio of each training package (balanced_excerpts) "
                    "instead of --table-files / --files picked uniformly")
    ap.add_argument("--table-files", type=int, default=60)
    ap.add_argument("--table-seconds", type=float, default=30.0)
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
    cfg.pop("noise_fill", None)
    if args.fill_levels:
        cfg["fill_levels"] = FILL_LEVELS
    elif args.noise_fill:
        cfg["noise_fill"] = args.noise_fill
    if args.fill_noise_source != "vector":
        cfg["band_gains"] = dict(cfg["band_gains"], fill_noise=args.fill_noise_source)
    cfg = changed_config(cfg, args.set)
    recount = args.entropy == "banded" and (cfg.get("entropy") != "banded" or args.recount)
    if args.entropy == "banded":
        cfg.pop("context_bands", None)
        cfg.update(entropy="banded", class_width=CLASS_WIDTH, class_edges=CLASS_EDGES)
    encoder, decoder = keras_parts(base_folder, cfg)
    log_gains = {"encoder_log_gain": encoder.get_layer("weight").get_weights()[0].astype(np.float32),
                 "decoder_log_gain": decoder.get_layer("unweight").get_weights()[0].astype(np.float32)}
    with np.load(base_folder / "tables.npz") as t:
        latent_tables = {k: t[k] for k in ("counts", "class_counts") if k in t}
    if recount:  # flat until counted through the folder's own encoder
        from muzip.codec.entropy.banded import count_banded_tables
        flat_banded = count_banded_tables([], cfg)
        latent_tables = {"counts": flat_banded.latents, "class_counts": flat_banded.classes}
    out = Path(args.out) / args.name

    def tables(gain_counts):
        return lambda path: np.savez_compressed(path, gain_counts=gain_counts, **latent_tables, **log_gains)
    # with flat band-gain tables first: the gain tables are counted by coding through this very model
    flat = counts_from_histogram(np.ones((BandGains(cfg, None).n_contexts, 2 * cfg["band_gains"]["radius"] + 1)))
    write_model_folder(out.parent, out.name, identity=IDENTITY_FILES, files={
        "config.json": cfg, "encoder.weights.h5": base_folder / "encoder.weights.h5",
        "decoder.weights.h5": lambda path: decoder.save_weights(path), "tables.npz": tables(flat)})

    made = (f"python -m scripts.models.make_transform_model --base {args.base} --name {args.name} --out {args.out}"
            f" --files {args.files} --seconds {args.seconds:g} --noise-fill {args.noise_fill:g}"
            f" --entropy {args.entropy} --fill-noise-source {args.fill_noise_source}"
            f" --table-files {args.table_files} --table-seconds {args.table_seconds:g}"
            + (" --fill-levels" if args.fill_levels else "") + (" --recount" if args.recount else "")
            + (f" --per-package {args.per_package:g}" if args.per_package else "")
            + "".join(f" --set '{change}'" for change in args.set))
    counted = {}
    if not recount and args.entropy == "banded":  # the base's banded tables, and what they were counted on
        base_training = json.loads((base_folder / "training.json").read_text())
        counted = {k: v for k, v in base_training.items() if k.startswith("latent_table_")}
    if recount:
        banded, counted = banded_tables(args.name, cfg, args.table_files, args.table_seconds, args.per_package)
        latent_tables = {"counts": banded.latents, "class_counts": banded.classes}
        write_model_folder(out.parent, out.name, identity=IDENTITY_FILES,
                           files={**folder_files(out, skip=("MODEL.md",)), "tables.npz": tables(flat)})
    runtime = {"runtime": "numpy", "files": [], "parity": runtime_parity(args.name, encoder, decoder, cfg)}
    chosen = balanced_excerpts(args.per_package / 2, args.seconds) if args.per_package > 0 else None
    gain_counts, training = count_gain_tables(args.name, base_folder, args.files, args.seconds, made, t0, chosen)
    training.update(counted)
    write_model_folder(out.parent, out.name, identity=IDENTITY_FILES, files={
        **folder_files(out, skip=("MODEL.md",)), "tables.npz": tables(gain_counts), "training.json": training,
        "runtime.json": runtime})
    print(f"wrote {out}: {training['gain_table_symbols']} gain symbols counted, parity {runtime['parity']}, "
          f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
