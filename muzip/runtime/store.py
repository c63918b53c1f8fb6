"""Installed models: find them by plain name, verify their files (sha256) and load one.

A model is a folder models/NAME/ holding config.json, tables.npz (integer entropy tables, read with
allow_pickle=False), Keras weights (*.weights.h5, HDF5: no pickle), the exported runtime files
(encoder.onnx, decoder.onnx), SHA256SUMS (one `sha256  filename` line per file) and MODEL.md.

A model's identity, written into every .mz header, is the sha256 of the SHA256SUMS lines of the files
that define the codec (config, weights, tables), in that order. Exported runtime files are listed in
SHA256SUMS too, and checked on load, but are derived from the weights, so adding them later (muzip 1.1
added the ONNX files) leaves the identity, and every file made before, valid.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .tables import LEVEL_TABLES, LevelTables

# What compress uses unless --model says otherwise. muzip-v1, not the better-sounding muzip-v2.1: v2.1's
# whole commands run 3-4x slower (a 60-minute file at 57x real time, not v1's 270x; a 10-s clip at 13x,
# not 34x: runs/exp/bench_s12_v21_as_default.log), below the CLI's speed targets. Every model ever shipped
# stays installed and decodes its files (tests/test_golden.py).
DEFAULT_MODEL = "muzip-v1"
IDENTITY_FILES = ("config.json", "encoder.weights.h5", "decoder.weights.h5", "tables.npz")
RUNTIME_FILES = ("encoder.onnx", "decoder.onnx", LEVEL_TABLES)
# A model name read from a file is looked up among installed models, never used as a path.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


def models_dir() -> Path:
    """$MUZIP_MODELS, else the models/ folder shipped beside the package."""
    env = os.environ.get("MUZIP_MODELS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


def user_models_dir() -> Path:
    """Where `muzip train` installs models: $MUZIP_USER_MODELS, else $XDG_DATA_HOME/muzip/models
    (default ~/.local/share/muzip/models)."""
    env = os.environ.get("MUZIP_USER_MODELS")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "muzip" / "models"


def model_roots() -> list[Path]:
    """The folders searched for models, in order: the shipped models, then the user's."""
    roots = [models_dir(), user_models_dir()]
    return [r for i, r in enumerate(roots) if r not in roots[:i]]


def _folders() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in model_roots():
        try:
            entries = sorted(root.iterdir()) if root.is_dir() else []
        except OSError:
            entries = []
        for p in entries:  # a shipped model's name cannot be taken over by a user's model
            if p.name not in found and _NAME.match(p.name) and (p / "SHA256SUMS").is_file():
                found[p.name] = p
    return found


def model_folder(name: str) -> Path:
    """The folder of installed model `name`; ModelError if there is none."""
    folder = _folders().get(resolve_name(name))
    if folder is None:  # removed between the two looks
        raise ModelError(f"model '{name}' is not installed")
    return folder


def installed_models(kind: str | None = None) -> list[str]:
    """Installed model names; `kind` ("codec" or "restorer") keeps only models of that kind."""
    names = sorted(_folders())
    return names if kind is None else [n for n in names if model_kind(n) == kind]


def model_kind(name: str) -> str:
    """"codec" (the default) or what config.json's "kind" says; "" if the config cannot be read."""
    try:
        return str(json.loads((_folders()[name] / "config.json").read_text()).get("kind", "codec"))
    except (OSError, ValueError, AttributeError, KeyError):
        return ""


def resolve_name(name: str | None) -> str:
    """The installed model called `name` (default: DEFAULT_MODEL); ModelError for anything else."""
    name = DEFAULT_MODEL if name is None else name
    if not isinstance(name, str) or not _NAME.match(name) or name not in installed_models():
        shown = name if isinstance(name, str) and name.isprintable() and len(name) <= 64 else repr(name)[:64]
        raise ModelError(f"model '{shown}' is not installed (installed: {', '.join(installed_models()) or 'none'}; "
                         f"models folders {', '.join(map(str, model_roots()))})")
    return name


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _listed(name: str) -> dict[str, str]:
    listed = {}
    for line in (model_folder(name) / "SHA256SUMS").read_text().splitlines():
        digest, _, fname = line.strip().partition("  ")
        if digest:
            listed[fname] = digest
    return listed


def identity_digest(name: str) -> bytes:
    """The 32-byte identity of an installed model (see the module docstring)."""
    listed = _listed(resolve_name(name))
    missing = [f for f in IDENTITY_FILES if f not in listed]
    if missing:
        raise ModelError(f"model '{name}': {', '.join(missing)} not listed in SHA256SUMS")
    return hashlib.sha256("".join(f"{listed[f]}  {f}\n" for f in IDENTITY_FILES).encode()).digest()


def verify(name: str, files=IDENTITY_FILES) -> None:
    """Check `files` of model `name` against SHA256SUMS; ModelError on any mismatch."""
    folder, listed = model_folder(name), _listed(name)
    for fname in files:
        if fname not in listed:
            raise ModelError(f"model '{name}': {fname} is not listed in SHA256SUMS")
        path = folder / fname
        if not path.is_file() or _sha256(path) != listed[fname]:
            raise ModelError(f"model '{name}': {fname} is missing or does not match its sha256")


def verified_bytes(name: str, fname: str) -> bytes:
    """The bytes of one model file, checked against SHA256SUMS: what is verified is what is used."""
    listed = _listed(name)
    if fname not in listed:
        raise ModelError(f"model '{name}': {fname} is not listed in SHA256SUMS")
    try:
        data = (model_folder(name) / fname).read_bytes()
    except OSError:
        data = None
    if data is None or hashlib.sha256(data).hexdigest() != listed[fname]:
        raise ModelError(f"model '{name}': {fname} is missing or does not match its sha256")
    return data


def write_sha256sums(folder: Path) -> None:
    """SHA256SUMS for a model folder: identity files first (in order), then runtime files present."""
    names = list(IDENTITY_FILES) + [f for f in RUNTIME_FILES if (folder / f).is_file()]
    (folder / "SHA256SUMS").write_text("".join(f"{_sha256(folder / f)}  {f}\n" for f in names))


def load_tables(name: str | None = None):
    """(config, counts, digest) of an installed model, verified; no network is loaded.

    counts is the per-(role, level) LevelTables where the model ships them (loaded as used), else the
    whole array from tables.npz."""
    name = resolve_name(name)
    try:
        config = json.loads(verified_bytes(name, "config.json"))
        if config.get("kind", "codec") != "codec":
            raise ModelError(f"model '{name}' is a {config.get('kind')}, not a codec model")
        if LEVEL_TABLES in _listed(name):
            counts = LevelTables(verified_bytes(name, LEVEL_TABLES), name)
        else:
            with np.load(io.BytesIO(verified_bytes(name, "tables.npz")), allow_pickle=False) as tables:
                counts = tables["counts"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model '{name}': cannot read its config or tables ({exc})") from None
    return config, counts, identity_digest(name)


def load_gain_counts(name: str):
    """The band-gain tables (muzip.band_gains) of a model whose config has "band_gains", verified."""
    try:
        with np.load(io.BytesIO(verified_bytes(resolve_name(name), "tables.npz")), allow_pickle=False) as tables:
            return tables["gain_counts"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model '{name}': cannot read its band-gain tables ({exc})") from None


def model_info(name: str) -> dict:
    """What `muzip models` shows: name, kind, identity, config summary, files, and whether they verify."""
    name = resolve_name(name)
    folder = model_folder(name)
    config = json.loads((folder / "config.json").read_text())
    listed = _listed(name)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    kind = str(config.get("kind", "codec"))
    if kind != "codec":  # muzip restore's restorer, the library's embedder: every listed file is checked
        try:
            verify(name, tuple(listed))
            status = "ok"
        except ModelError as exc:
            status = str(exc)
        digest = hashlib.sha256((folder / "SHA256SUMS").read_bytes()).hexdigest()
        return {"name": name, "kind": kind, "sha256": digest, "default": False,
                "model_rate": config.get("sample_rate"), "runtime": [f for f in listed if f.endswith(".onnx")],
                "size_bytes": size, "folder": str(folder), "status": status}
    try:
        verify(name, IDENTITY_FILES + tuple(f for f in RUNTIME_FILES if f in listed))
        status = "ok"
    except ModelError as exc:
        status = str(exc)
    return {"name": name, "kind": "codec", "sha256": identity_digest(name).hex(), "default": name == DEFAULT_MODEL,
            "model_rate": config["model_rate"], "frame_samples": config["frame_samples"],
            "runtime": [f for f in RUNTIME_FILES if f in listed], "size_bytes": size, "folder": str(folder),
            "status": status}


def backend() -> str:
    value = os.environ.get("MUZIP_BACKEND", "onnx").lower()
    if value not in ("onnx", "keras"):
        raise ModelError(f"MUZIP_BACKEND={value!r}: use 'onnx' (default) or 'keras'")
    return value


def load_model(name: str | None = None, backend_name: str | None = None):
    """The codec model `name` on the chosen backend (default onnx, MUZIP_BACKEND=keras for the reference)."""
    name = resolve_name(name)
    config, counts, digest = load_tables(name)
    model = _load_networks(name, config, digest, counts, backend_name)
    if "band_gains" in config:
        model.gain_counts = load_gain_counts(name)
    return model


def _load_networks(name, config, digest, counts, backend_name):
    if (backend_name or backend()) == "keras":
        from .keras_model import KerasCodecModel
        verify(name, ("encoder.weights.h5", "decoder.weights.h5"))
        return KerasCodecModel.load(name, model_folder(name), config, digest, counts)
    from .onnx_model import OnnxCodecModel
    networks = ("encoder.onnx", "decoder.onnx")
    missing = [f for f in networks if f not in _listed(name)]
    if missing:
        raise ModelError(f"model '{name}' has no exported runtime files ({', '.join(missing)}); "
                         "run scripts/export_onnx.py, or use MUZIP_BACKEND=keras")
    # Each network's file is checked when its session is made (onnx_model), from the bytes it runs.
    return OnnxCodecModel(name, model_folder(name), config, digest, counts)
