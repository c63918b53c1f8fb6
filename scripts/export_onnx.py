"""Export a shipped model's Keras networks to ONNX (the lean runtime), list them in SHA256SUMS and measure parity.

    .venv/bin/python scripts/export_onnx.py muzip-v1 [--tables-only]

Keras 3's own exporter (`Model.export(format="onnx")`, tf2onnx underneath) writes encoder.onnx and
decoder.onnx (float32: the files stay small and the parity is at rounding level). The model's identity
(sha256 of the codec files' SHA256SUMS lines) must not change: that is checked before anything is moved.
Parity on tests/data/knolls_excerpt.ogg (stereo, as mid/side) is printed and written to runtime.json.
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from muzip.runtime import store  # noqa: E402
from muzip.runtime.keras_model import quiet_native_stderr  # noqa: E402


def parity(name: str, clip: Path) -> dict:
    """Keras vs onnxruntime on a real clip: encoder symbols at every 8th level, decoder audio."""
    import soundfile as sf
    from muzip.codec import to_mid_side
    keras_model = store.load_model(name, "keras")
    onnx_model = store.load_model(name, "onnx")
    x, sr = sf.read(clip, dtype="float32", always_2d=True)
    assert sr == keras_model.config["model_rate"]
    hop = keras_model.config["hop"]
    ms = to_mid_side(x[: len(x) // hop * hop])[:, :, None]
    yk, yo = keras_model.encode(ms), onnx_model.encode(ms)
    steps = keras_model.steps()
    diffs = [int(np.count_nonzero(np.round(yk / s) != np.round(yo / s))) for s in steps[::8]]
    lat = (np.round(yk / steps[24]) * steps[24]).astype(np.float32)
    ak, ao = keras_model.decode(lat, 0), onnx_model.decode(lat, 0)
    err = ak - ao
    return {"clip": str(clip.relative_to(ROOT)), "latents": int(yk.size),
            "encoder_max_abs": float(np.abs(yk - yo).max()),
            "symbol_differences_per_level_0_8_16_24_32_40_48_56": diffs,
            "decoder_max_abs": float(np.abs(err).max()),
            "decoder_snr_db": float(10 * np.log10(np.sum(ak.astype(np.float64) ** 2) / max(np.sum(err.astype(np.float64) ** 2), 1e-30)))}


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
            f"SNR {p['decoder_snr_db']:.1f} dB (tested on the golden file: tests/test_runtime.py).",
            "",
        ]
    ew = info["exported_with"]
    return [
        "## Runtime files (what `muzip` runs)",
        f"Exported by `python scripts/export_onnx.py {folder.name}` with Keras {ew['keras']} "
        f"(`Model.export(format=\"onnx\")`, tf2onnx {ew['tf2onnx']}, opset {info['opset']}); float32; run by "
        "onnxruntime on the CPU. They are listed in SHA256SUMS and each is checked against it, from the bytes used, before it is used; the model's identity "
        "(written into .mz headers) covers the codec files only, so exporting again never orphans a file.",
        "",
        *[f"- `{f}`: {(folder / f).stat().st_size:,} bytes, sha256 `{sums[f]}`" for f in info["files"]],
        f"- Parity with the Keras model on `{p['clip']}` ({p['latents']:,} latents): encoder max abs difference "
        f"{p['encoder_max_abs']:.2g}, quantized symbols different at levels 0, 8, ..., 56: "
        f"{sum(p['symbol_differences_per_level_0_8_16_24_32_40_48_56'])}; decoder max abs difference "
        f"{p['decoder_max_abs']:.2g}, SNR {p['decoder_snr_db']:.1f} dB (tested: tests/test_runtime.py).",
        "",
    ]


def write_level_tables_for(folder: Path) -> None:
    """tables.levels.npz: tables.npz split into one member per (role, level), read as used (runtime/tables.py)."""
    from muzip.runtime.tables import write_level_tables
    with np.load(folder / "tables.npz", allow_pickle=False) as z:
        write_level_tables(z["counts"], folder / "tables.levels.npz")


def add_level_tables(name: str) -> None:
    """Only the per-level tables, for a model whose networks are already exported (no TensorFlow needed)."""
    folder = store.models_dir() / name
    before = store.identity_digest(name)
    write_level_tables_for(folder)
    store.write_sha256sums(folder)
    if store.identity_digest(name) != before:
        raise SystemExit("identity changed: SHA256SUMS must list the codec files first, unchanged")
    info = json.loads((folder / "runtime.json").read_text())
    info["files"] = list(store.RUNTIME_FILES)
    (folder / "runtime.json").write_text(json.dumps(info, indent=1) + "\n")
    card = folder / "MODEL.md"
    if card.is_file():
        text = card.read_text().split("## Runtime files")[0].rstrip("\n")
        card.write_text(text + "\n\n" + "\n".join(runtime_section(folder)))


def export(name: str) -> None:
    import keras
    model = store.load_model(name, "keras")
    folder = store.models_dir() / name
    before = store.identity_digest(name)
    cfg = model.config
    with tempfile.TemporaryDirectory() as tmp:
        model.encode(np.zeros((1, cfg["frame_samples"], 1), np.float32))  # Keras exports called models only
        model.decode(np.zeros((1, cfg["frame_samples"] // cfg["hop"] + 1, cfg["latent_channels"]), np.float32), 0)
        with quiet_native_stderr():
            model.encoder.export(os.path.join(tmp, "encoder.onnx"), format="onnx", verbose=False)
            model.decoder.export(os.path.join(tmp, "decoder.onnx"), format="onnx", verbose=False)
        for f in ("encoder.onnx", "decoder.onnx"):
            shutil.copy(os.path.join(tmp, f), folder / f)
    write_level_tables_for(folder)
    store.write_sha256sums(folder)
    if store.identity_digest(name) != before:
        raise SystemExit("identity changed: SHA256SUMS must list the codec files first, unchanged")
    import onnx
    import tf2onnx
    info = {"runtime": "onnxruntime", "files": list(store.RUNTIME_FILES),
            "exported_with": {"keras": keras.__version__, "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__},
            "opset": int(onnx.load(folder / "decoder.onnx").opset_import[0].version),
            "parity": parity(name, ROOT / "tests" / "data" / "knolls_excerpt.ogg")}
    (folder / "runtime.json").write_text(json.dumps(info, indent=1) + "\n")
    card = folder / "MODEL.md"
    if card.is_file():  # the runtime section is the card's last; replace it
        text = card.read_text().split("## Runtime files")[0].rstrip("\n")
        card.write_text(text + "\n\n" + "\n".join(runtime_section(folder)))
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    name = args[0] if args else store.DEFAULT_MODEL
    add_level_tables(name) if "--tables-only" in sys.argv else export(name)
