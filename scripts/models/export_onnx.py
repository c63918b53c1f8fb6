"""Export a shipped model's Keras networks to ONNX (the lean runtime), list them in SHA256SUMS and measure parity.

    .venv/bin/python -m scripts.models.export_onnx muzip-v1 [--tables-only]

Keras 3's own exporter (`Model.export(format="onnx")`, tf2onnx underneath) writes encoder.onnx and
decoder.onnx (float32: the files stay small and the parity is at rounding level), with tables.levels.npz,
through the one model-folder writer (muzip.nn.writer: the folder is rewritten beside the old one and
swapped in whole). The codec files must not change, and a shipped model's runtime files neither (their
sha256s are pinned in muzip.runtime.identity): that is checked before anything is moved. Re-exporting any
other model changes its identity, so files it made before stop naming it. Parity on tests/data/knolls_excerpt.ogg (stereo, as mid/side)
is printed and written to runtime.json.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from muzip.runtime import store  # noqa: E402
from muzip.nn.writer import folder_files, listed_sums, write_model_folder  # noqa: E402

CLIP = ROOT / "tests" / "data" / "knolls_excerpt.ogg"


def parity(folder: Path, keras_model, clip: Path) -> dict:
    """Keras vs onnxruntime (folder's ONNX files) on a real clip: encoder symbols at every 8th level, decoder
    output on the latents quantized at level 24 with the decoder's seeded noise (muzip.train.install)."""
    import soundfile as sf
    from muzip.codec import to_mid_side
    from muzip.train.install import codec_parity
    cfg = keras_model.config
    x, sr = sf.read(clip, dtype="float32", always_2d=True)
    assert sr == cfg["model_rate"]
    hop = cfg["hop"]
    ms = to_mid_side(x[: len(x) // hop * hop])[:, :, None]
    enc, dec = codec_parity(folder, keras_model.encoder, keras_model.decoder, cfg, ms)
    yk, yo = enc.keras, enc.onnx
    diffs = [int(np.count_nonzero(np.round(yk / s) != np.round(yo / s))) for s in keras_model.steps()[::8]]
    return {"clip": str(clip.relative_to(ROOT)), "latents": int(yk.size),
            "encoder_max_abs": enc.max_abs,
            "symbol_differences_per_level_0_8_16_24_32_40_48_56": diffs,
            "decoder_max_abs": dec.max_abs, "decoder_snr_db": dec.snr_db}


def runtime_section(folder: Path) -> list[str]:
    """The model card's lines about the exported runtime files (from runtime.json and SHA256SUMS)."""
    info = json.loads((folder / "runtime.json").read_text())
    sums = dict(line.split("  ")[::-1] for line in (folder / "SHA256SUMS").read_text().splitlines() if line)
    p = info["parity"]
    if "exported_with" not in info:  # written by muzip.train.install (muzip train, make_context_model --run)
        return [
            "## Runtime files (what `muzip` runs)",
            f"Exported by muzip.train.install with Keras {info['keras']} (`Model.export(format=\"onnx\")`), run by "
            "onnxruntime on the CPU; each is checked against SHA256SUMS before it is used.",
            "",
            *[f"- `{f}`: {(folder / f).stat().st_size:,} bytes, sha256 `{sums[f]}`" for f in info["files"]],
            f"- Parity with the Keras model on 2 s of training audio: encoder max abs difference "
            f"{p['encoder_max_abs']:.2g}; decoder max abs difference {p['decoder_max_abs']:.2g}, "
            f"SNR {p['decoder_snr_db']:.1f} dB (tested on the golden file: tests/runtime/test_runtime.py).",
            "",
        ]
    ew = info["exported_with"]
    return [
        "## Runtime files (what `muzip` runs)",
        f"Exported by `python -m scripts.models.export_onnx {folder.name}` with Keras {ew['keras']} "
        f"(`Model.export(format=\"onnx\")`, tf2onnx {ew['tf2onnx']}, opset {info['opset']}); float32; run by "
        "onnxruntime on the CPU. They are listed in SHA256SUMS and each is checked against it, from the bytes used, before it is used; the model's identity "
        "(written into .mz headers) covers the codec files only, so exporting again never orphans a file.",
        "",
        *[f"- `{f}`: {(folder / f).stat().st_size:,} bytes, sha256 `{sums[f]}`" for f in info["files"]],
        f"- Parity with the Keras model on `{p['clip']}` ({p['latents']:,} latents): encoder max abs difference "
        f"{p['encoder_max_abs']:.2g}, quantized symbols different at levels 0, 8, ..., 56: "
        f"{sum(p['symbol_differences_per_level_0_8_16_24_32_40_48_56'])}; decoder max abs difference "
        f"{p['decoder_max_abs']:.2g}, SNR {p['decoder_snr_db']:.1f} dB (tested: tests/runtime/test_runtime.py).",
        "",
    ]


def identity_unchanged(name: str):
    """A writer check: the codec files (SHA256SUMS lines) are the installed ones; for a shipped model, every
    file that runs is (muzip.runtime.identity pins them)."""
    from muzip.runtime import identity
    before, whole = identity.legacy_digest(name), identity.runtime_digest(name)

    def check(folder: Path) -> None:
        listed = listed_sums(folder)
        lines = "".join(f"{listed.get(f)}  {f}\n" for f in store.IDENTITY_FILES)
        if hashlib.sha256(lines.encode()).digest() != before:
            raise SystemExit("identity changed: SHA256SUMS must list the codec files first, unchanged")
        runtime = [f for f in store.RUNTIME_FILES if f in listed]
        lines += "".join(f"{listed[f]}  {f}\n" for f in runtime)
        if name in identity.SHIPPED_CODECS and hashlib.sha256(lines.encode()).digest() != whole:
            raise SystemExit(f"{name} is shipped: its runtime files are pinned (muzip.runtime.identity); "
                             "export under a new name")
    return check


def level_tables(folder: Path):
    """tables.levels.npz: tables.npz split into one member per (role, level), read as used (codec.entropy.tables)."""
    from muzip.codec.entropy.tables import write_level_tables
    with np.load(folder / "tables.npz", allow_pickle=False) as z:
        counts = z["counts"]
    return lambda path: write_level_tables(counts, path)


def runtime_card(folder: Path):
    """The writer's card callback: the old MODEL.md with its runtime section (its last) written anew; None
    where the model has no card."""
    if not (folder / "MODEL.md").is_file():
        return None
    text = (folder / "MODEL.md").read_text().split("## Runtime files")[0].rstrip("\n")
    return lambda new, info: text + "\n\n" + "\n".join(runtime_section(new))


def add_level_tables(name: str) -> None:
    """Only the per-level tables, for a model whose networks are already exported (no TensorFlow needed)."""
    folder = store.models_dir() / name
    check = identity_unchanged(name)
    info = json.loads((folder / "runtime.json").read_text())
    info["files"] = list(store.RUNTIME_FILES)
    files = {**folder_files(folder, skip=("MODEL.md",)), store.LEVEL_TABLES: level_tables(folder), "runtime.json": info}
    write_model_folder(folder.parent, name, identity=store.IDENTITY_FILES, runtime=store.RUNTIME_FILES, files=files,
                       card=runtime_card(folder), check=check)


def export(name: str) -> None:
    from muzip.codec import load_model
    from muzip.train.install import codec_exports
    model = load_model(name, "keras")
    folder = store.models_dir() / name
    check = identity_unchanged(name)
    exports = codec_exports(model.encoder, model.decoder, model.config, weights=False)  # copied: the identity stays
    files = {**folder_files(folder, skip=("MODEL.md", "runtime.json", "encoder.onnx", "decoder.onnx")),
             store.LEVEL_TABLES: level_tables(folder)}
    info = write_model_folder(folder.parent, name, identity=store.IDENTITY_FILES, runtime=store.RUNTIME_FILES,
                              files=files, exports=exports, parity=lambda new: parity(new, model, CLIP),
                              stamp=("exported_with", "opset"), card=runtime_card(folder), check=check)
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    from muzip.defaults import DEFAULT_MODEL
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    name = args[0] if args else DEFAULT_MODEL
    add_level_tables(name) if "--tables-only" in sys.argv else export(name)
