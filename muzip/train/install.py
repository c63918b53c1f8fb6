"""Install a trained codec as a model folder, the layout muzip.runtime.store loads and verifies.

config.json, encoder/decoder weights (Keras HDF5, no pickle), tables.npz and tables.levels.npz (integer
tables), encoder.onnx and decoder.onnx (the lean runtime), SHA256SUMS, runtime.json (measured Keras
vs onnxruntime parity), training.json and MODEL.md, written by the one model-folder writer
(muzip.nn.writer: built beside the target and swapped in whole, so an interrupted install never leaves
half a model that loads). What makes it a codec is here: the identity files, the tables, and the
decoder's inputs (quantized latents and the seeded noise) for the parity check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TRAIN_ONLY_KEYS = ("train_levels", "rate_lambda", "batch", "lr")
PARITY_LEVEL = 24  # quantizer level of the latents the decoder's parity is measured on


def codec_parity(folder: Path, encoder, decoder, cfg, audio: np.ndarray):
    """Keras vs onnxruntime (folder's encoder.onnx and decoder.onnx) on real audio (A, T, 1): the encoder's
    latents, and the decoder's output from them quantized at level 24, with the decoder's seeded noise.
    Returns the two muzip.nn.writer.Parity."""
    from ..codec.model import decoder_noise
    from ..codec.quantizer import level_steps
    from ..nn.writer import parity

    enc = parity(encoder, folder / "encoder.onnx", audio)
    step = level_steps(cfg)[PARITY_LEVEL]
    lat = (np.round(enc.keras / step) * step).astype(np.float32)
    noise = np.stack([decoder_noise(cfg, 0, lat.shape[1], a) for a in range(len(lat))])
    return enc, parity(decoder, folder / "decoder.onnx", [lat, noise])


def codec_exports(encoder, decoder, cfg, half: bool = False, weights: bool = True):
    """The two networks of a codec as writer exports, each called once on zeros of its input shapes.
    weights=False: the weight files are given (copied), only the ONNX files are exported."""
    from ..codec.model import decoder_noise
    from ..nn.writer import Export

    n = cfg["frame_samples"] // cfg["hop"] + 1
    return [Export("encoder", encoder, np.zeros((1, cfg["frame_samples"], 1), np.float32), half, weights),
            Export("decoder", decoder, [np.zeros((1, n, cfg["latent_channels"]), np.float32),
                                        decoder_noise(cfg, 0, n)[None]], half, weights)]


def _parity(folder: Path, encoder, decoder, cfg, audio: np.ndarray) -> dict:
    enc, dec = codec_parity(folder, encoder, decoder, cfg, audio)
    return {"encoder_max_abs": enc.max_abs, "decoder_max_abs": dec.max_abs, "decoder_snr_db": dec.snr_db}


def install(name: str, root: Path, encoder, decoder, cfg: dict, counts: np.ndarray, parity_audio: np.ndarray,
            card, training: dict, half: bool = False) -> Path:
    """Write root/name (replacing an older one of the same name); returns its folder.

    half: store the large weights as float16 in both the Keras and ONNX files (muzip.nn.half); the
    networks in memory are reloaded from the halved weights so parity compares the shipped files.

    card(folder, runtime_info) -> MODEL.md text; training: written as training.json. A model of that name
    is not lost: it is kept under root/.replaced/ (runtime.store.keep_replaced), so its files still decode.
    A shipped model's name is refused (ModelError)."""
    from ..codec.entropy.tables import write_level_tables
    from ..nn.writer import write_model_folder
    from ..runtime.store import IDENTITY_FILES, LEVEL_TABLES, RUNTIME_FILES

    cfg = {k: v for k, v in cfg.items() if k not in TRAIN_ONLY_KEYS}
    files = {"config.json": cfg, "tables.npz": lambda p: np.savez_compressed(p, counts=counts)}
    if cfg.get("entropy", "levels") == "levels":  # context tables are small: tables.npz alone
        files[LEVEL_TABLES] = lambda p: write_level_tables(counts, p)
    files["training.json"] = training
    return _replacing(root, name, lambda: write_model_folder(
        root, name, identity=IDENTITY_FILES, runtime=RUNTIME_FILES, files=files,
        exports=codec_exports(encoder, decoder, cfg, half),
        parity=lambda folder: _parity(folder, encoder, decoder, cfg, parity_audio), stamp=("keras",), card=card))


def install_tables(name: str, root: Path, base_folder: Path, tables: dict, card, training: dict) -> Path:
    """Install a network-free model whose tables muzip.train.adapt counted: the base's config, weight files
    and runtime.json (the same channel weightings, so the same parity), and the new tables.npz (`tables`:
    its arrays). Replacing and refusing as install() does."""
    import json

    from ..nn.writer import write_model_folder
    from ..runtime.store import IDENTITY_FILES

    files = {"config.json": base_folder / "config.json", "encoder.weights.h5": base_folder / "encoder.weights.h5",
             "decoder.weights.h5": base_folder / "decoder.weights.h5",
             "tables.npz": lambda p: np.savez_compressed(p, **tables), "training.json": training,
             "runtime.json": json.loads((base_folder / "runtime.json").read_text())}
    return _replacing(root, name, lambda: write_model_folder(root, name, identity=IDENTITY_FILES, files=files,
                                                             card=lambda folder, runtime: card(folder)))


def _replacing(root: Path, name: str, write) -> Path:
    """write() root/name, keeping the version it replaces under root/.replaced/ (put back if nothing new
    was installed); a shipped model's name is refused (ModelError)."""
    from ..errors import ModelError
    from ..runtime.identity import identity_digest, is_shipped_name
    from ..runtime.store import installed_models, keep_replaced

    if is_shipped_name(name):
        raise ModelError(f"'{name}' is a shipped model's name; files name it, so it is never replaced")
    kept = None
    if (root / name / "SHA256SUMS").is_file() and name in installed_models():
        kept = keep_replaced(root, name, identity_digest(name))
    try:
        write()
    except BaseException:
        if kept is not None and not (root / name).exists():
            kept.rename(root / name)  # nothing new installed: the old version stays where it was
        raise
    return root / name
