"""Load an installed codec model: its verified config and tables, and its networks on a backend.

The default backend is onnxruntime on the CPU: importing it costs ~0.2 s, where TensorFlow costs ~4 s.
`MUZIP_BACKEND=keras` runs the Keras reference model instead (tests, development; needs muzip[train]).
"""

from __future__ import annotations

import hashlib
import io
import os

import numpy as np

from ..defaults import DEFAULT_EMBEDDER, DEFAULT_MODEL
from ..errors import ModelError
from ..runtime.identity import accepted_digests, identity_digest, runtime_digest
from ..runtime.store import (IDENTITY_FILES, LEVEL_TABLES, RUNTIME_FILES, is_model_name, listed_files, model_folder,
                             model_roots, replaced_versions, resolve_name, verified_bytes, verify)
from .config import ModelConfig, load_config, read_model_json
from .entropy.banded import BandedTables
from .entropy.tables import LevelTables


def load_tables(name: str | None = None):
    """(config, counts, digest) of an installed codec model, verified; no network is loaded.

    counts is the per-(role, level) LevelTables where the model ships them (loaded as used), a BandedTables
    for banded entropy, else the whole array from tables.npz."""
    name = resolve_name(name)
    config = load_config(name)
    try:
        if LEVEL_TABLES in listed_files(name):
            counts = LevelTables(verified_bytes(name, LEVEL_TABLES), name)
        else:
            with np.load(io.BytesIO(verified_bytes(name, "tables.npz")), allow_pickle=False) as tables:
                counts = tables["counts"]
                if config.entropy == "banded":
                    counts = BandedTables(counts, tables["class_counts"])
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model '{name}': cannot read its config or tables ({exc})") from None
    return config, counts, identity_digest(name)


def load_gain_counts(name: str):
    """The band-gain tables (codec.band_gains) of a model whose config has "band_gains", verified."""
    try:
        with np.load(io.BytesIO(verified_bytes(resolve_name(name), "tables.npz")), allow_pickle=False) as tables:
            return tables["gain_counts"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model '{name}': cannot read its band-gain tables ({exc})") from None


def load_log_gains(name: str):
    """The two channel weightings of a network-free model (codec.transform_model), from its verified tables.npz."""
    from .transform_model import LOG_GAIN_KEYS
    try:
        with np.load(io.BytesIO(verified_bytes(resolve_name(name), "tables.npz")), allow_pickle=False) as tables:
            return tuple(tables[key] for key in LOG_GAIN_KEYS)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model '{name}': cannot read its channel weightings ({exc})") from None


def backend() -> str:
    value = os.environ.get("MUZIP_BACKEND", "onnx").lower()
    if value not in ("onnx", "keras"):
        raise ModelError(f"MUZIP_BACKEND={value!r}: use 'onnx' (default) or 'keras'")
    return value


def version_for(name: str, digest: bytes | None) -> str:
    """The key of the installed version of model `name` that a file with identity `digest` needs: the
    model itself, or an older version kept when `muzip train` replaced it (runtime.store)."""
    try:
        name = resolve_name(name)
    except ModelError:
        found = _installed_as(digest) if is_model_name(name) else None  # a path or junk named: refused
        if found is not None:  # its exact files under another name (a renamed folder): the identity decides
            return found
        from .config import installed_models
        raise ModelError(f"model '{name}' is not installed (installed codec models: "
                         f"{', '.join(installed_models('codec')) or 'none'}; models folders "
                         f"{', '.join(map(str, model_roots()))})") from None
    if digest is None or digest in accepted_digests(name):
        return name
    for key in replaced_versions(name):
        try:
            if digest in accepted_digests(key):
                return key
        except ModelError:  # a damaged kept version: not the one
            continue
    # the name is another model's now (a folder renamed, another put in its place): the file's own, if installed
    return _installed_as(digest) or name  # else read_latents names both identities


def _installed_as(digest: bytes | None) -> str | None:
    """The installed codec model or kept version whose identity is `digest`, if any (only by the identity muzip
    1.2 on writes: a user model's file from before names it by a digest of fewer files, found by its name only)."""
    from .config import installed_models
    if digest is None:
        return None
    for key in (*installed_models("codec"), *replaced_versions()):
        try:
            if identity_digest(key) == digest:  # every file that runs, as the file's were
                return key
        except ModelError:  # a damaged one, or a kept version of no codec: not it
            continue
    return None


def load_model(name: str | None = None, backend_name: str | None = None, digest: bytes | None = None):
    """The codec model `name` (default DEFAULT_MODEL) on the chosen backend (default onnx,
    MUZIP_BACKEND=keras for the reference). digest: the identity a file names, to load the exact version
    it needs."""
    name = version_for(name, digest) if digest is not None else resolve_name(name)
    config, counts, digest = load_tables(name)
    gain_counts = load_gain_counts(name) if config.band_gains is not None else None
    if (backend_name or backend()) == "keras":
        from .keras_model import KerasCodecModel
        verify(name, ("encoder.weights.h5", "decoder.weights.h5"))
        model = KerasCodecModel.load(name, model_folder(name), config, digest, counts, gain_counts)
        model.accepted = accepted_digests(name)
        return model
    if config.network_free:
        from .transform_model import TransformCodecModel
        model = TransformCodecModel(name, config, digest, counts, load_log_gains(name), gain_counts)
        model.accepted = accepted_digests(name)
        return model
    from .onnx_model import OnnxCodecModel
    missing = [f for f in ("encoder.onnx", "decoder.onnx") if f not in listed_files(name)]
    if missing:
        raise ModelError(f"model '{name}' has no exported runtime files ({', '.join(missing)}); "
                         "run scripts/models/export_onnx.py, or use MUZIP_BACKEND=keras")
    # Each network's file is checked when its session is made (runtime.session), from the bytes it runs.
    model = OnnxCodecModel(name, config, digest, counts, gain_counts)
    model.accepted = accepted_digests(name)
    return model


def model_info(name: str) -> dict:
    """What `muzip models` shows: name, kind, identity, config summary, files, and whether they verify."""
    name = resolve_name(name)
    folder = model_folder(name)
    listed = listed_files(name)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    try:
        config = read_model_json(name, verified=False)
    except ModelError as exc:  # a config.json that is no JSON: what its sha256 says comes first
        try:
            verify(name, tuple(listed))
            status = str(exc)
        except ModelError as damaged:
            status = str(damaged)
        return {"name": name, "kind": "unknown", "sha256": None, "default": False, "model_rate": None,
                "runtime": [], "size_bytes": size, "folder": str(folder), "status": status}
    kind = str(config.get("kind", "codec"))
    if kind != "codec":  # muzip restore's restorer, the library's embedder: every listed file is checked
        try:
            verify(name, tuple(listed))
            status = "ok"
        except ModelError as exc:
            status = str(exc)
        digest = hashlib.sha256((folder / "SHA256SUMS").read_bytes()).hexdigest()
        return {"name": name, "kind": kind, "sha256": digest,
                "default": kind == "embedder" and name == DEFAULT_EMBEDDER,  # muzip index's; no default restorer
                "model_rate": config.get("sample_rate"), "runtime": [f for f in listed if f.endswith(".onnx")],
                "size_bytes": size, "folder": str(folder), "status": status}
    try:
        network_free = ModelConfig.from_dict(config, name).network_free
    except ModelError:
        network_free = False
    runs = IDENTITY_FILES + tuple(f for f in RUNTIME_FILES if f in listed)
    try:
        verify(name, runs)
        digest = identity_digest(name).hex()  # a shipped model whose files differ from what shipped: refused
        status = "ok"
        try:  # every other file it lists too (its card, say), as the docs promise: none of them runs
            verify(name, tuple(f for f in listed if f not in runs))
        except ModelError as exc:
            status = f"{exc}; it still codes and decodes (that file does not run)"
    except ModelError as exc:
        digest = runtime_digest(name).hex() if set(IDENTITY_FILES) <= set(listed) else None
        status = str(exc)
        if _runs_without_its_weights(name, listed, network_free):
            status += "; it still codes and decodes (only MUZIP_BACKEND=keras and `muzip train` read that file)"
    return {"name": name, "kind": "codec", "sha256": digest, "default": name == DEFAULT_MODEL,
            "model_rate": config["model_rate"], "frame_samples": config["frame_samples"],
            "runtime": ["numpy"] if network_free else [f for f in RUNTIME_FILES if f in listed], "size_bytes": size, "folder": str(folder),
            "status": status}


def _runs_without_its_weights(name: str, listed: dict, network_free: bool) -> bool:
    """True where only a Keras weights file of a codec is damaged and the default runtime never reads one: the model
    is network-free or exported to ONNX, every other file verifies, and its identity is whole (listed weights)."""
    weights = ("encoder.weights.h5", "decoder.weights.h5")
    exported = all(f in listed for f in ("encoder.onnx", "decoder.onnx"))
    if not (network_free or exported) or not all(f in listed for f in weights):
        return False
    try:
        verify(name, ("config.json", "tables.npz") + tuple(f for f in RUNTIME_FILES if f in listed))
        identity_digest(name)  # a shipped model's files all as shipped, by their listed sums
    except ModelError:
        return False
    try:
        verify(name, weights)
    except ModelError:
        return True  # so it is a weights file that is damaged
    return False


__all__ = ["ModelConfig", "backend", "load_gain_counts", "load_model", "load_tables", "model_info", "version_for"]
