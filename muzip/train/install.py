"""Install a trained codec as a model folder, the layout muzip.runtime.store loads and verifies.

config.json, encoder/decoder weights (Keras HDF5, no pickle), tables.npz and tables.levels.npz (integer
tables), encoder.onnx and decoder.onnx (the lean runtime), SHA256SUMS, runtime.json (measured Keras
vs onnxruntime parity) and MODEL.md. Everything is written into a hidden temporary folder beside the
target and renamed into place, so an interrupted install never leaves half a model that loads.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

TRAIN_ONLY_KEYS = ("train_levels", "rate_lambda", "batch", "lr")


def _onnx_parity(folder: Path, keras_model, audio: np.ndarray) -> dict:
    """Keras vs onnxruntime on real audio (A, T, 1): encoder latents and decoded audio."""
    import onnxruntime as ort

    from ..runtime.base import decoder_noise

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    enc = ort.InferenceSession(str(folder / "encoder.onnx"), opts, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(folder / "decoder.onnx"), opts, providers=["CPUExecutionProvider"])
    yk = keras_model.encode(audio)
    yo = enc.run(None, {enc.get_inputs()[0].name: audio})[0]
    step = keras_model.steps()[24]
    lat = (np.round(yk / step) * step).astype(np.float32)
    noise = np.stack([decoder_noise(keras_model.config, 0, lat.shape[1], a) for a in range(len(lat))])
    ak = np.asarray(keras_model.decoder([lat, noise], training=False))
    names = [i.name for i in dec.get_inputs()]
    ao = dec.run(None, {names[0]: lat, names[1]: noise})[0]
    err = (ak - ao).astype(np.float64)
    return {"encoder_max_abs": float(np.abs(yk - yo).max()), "decoder_max_abs": float(np.abs(err).max()),
            "decoder_snr_db": float(10 * np.log10(np.sum(ak.astype(np.float64) ** 2) / max(np.sum(err ** 2), 1e-30)))}


def install(name: str, root: Path, encoder, decoder, cfg: dict, counts: np.ndarray, parity_audio: np.ndarray,
            card, training: dict, half: bool = False) -> Path:
    """Write root/name (replacing an older one of the same name); returns its folder.

    half: store the large weights as float16 in both the Keras and ONNX files (muzip.nn.half); the
    networks in memory are reloaded from the halved weights so parity compares the shipped files.

    card(folder, runtime_info) -> MODEL.md text; training: written as training.json."""
    import keras

    from ..runtime.keras_model import KerasCodecModel, quiet_native_stderr
    from ..runtime.store import RUNTIME_FILES
    from ..runtime.store import write_sha256sums
    from ..runtime.tables import write_level_tables

    cfg = {k: v for k, v in cfg.items() if k not in TRAIN_ONLY_KEYS}
    root.mkdir(parents=True, exist_ok=True)
    out, tmp = root / name, root / f".{name}.installing"  # a dot name is never listed as a model
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        (tmp / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
        encoder.save_weights(tmp / "encoder.weights.h5")
        decoder.save_weights(tmp / "decoder.weights.h5")
        np.savez_compressed(tmp / "tables.npz", counts=counts)
        if cfg.get("entropy", "levels") == "levels":  # context tables are small: tables.npz alone
            write_level_tables(counts, tmp / "tables.levels.npz")
        model = KerasCodecModel(name, cfg, b"\0" * 32, counts, encoder, decoder)
        model.encode(np.zeros((1, cfg["frame_samples"], 1), np.float32))  # Keras exports called models only
        model.decode(np.zeros((1, cfg["frame_samples"] // cfg["hop"] + 1, cfg["latent_channels"]), np.float32), 0)
        with quiet_native_stderr():
            encoder.export(str(tmp / "encoder.onnx"), format="onnx", verbose=False)
            decoder.export(str(tmp / "decoder.onnx"), format="onnx", verbose=False)
        if half:
            from ..nn.half import halve_h5, halve_onnx
            for stem, net in (("encoder", encoder), ("decoder", decoder)):
                halve_h5(tmp / f"{stem}.weights.h5")
                halve_onnx(tmp / f"{stem}.onnx")
                net.load_weights(tmp / f"{stem}.weights.h5")
        write_sha256sums(tmp)
        info = {"runtime": "onnxruntime", "files": [f for f in RUNTIME_FILES if (tmp / f).is_file()], "keras": keras.__version__,
                "parity": _onnx_parity(tmp, model, parity_audio)}
        (tmp / "runtime.json").write_text(json.dumps(info, indent=1) + "\n")
        (tmp / "training.json").write_text(json.dumps(training, indent=1) + "\n")
        (tmp / "MODEL.md").write_text(card(tmp, info))
        if out.exists():
            old = root / f".{name}.replaced"
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
