"""Installed models: find them by plain name and verify their files (sha256); loading is the codec's.

A model is a folder models/NAME/ holding config.json, tables.npz (integer entropy tables, read with
allow_pickle=False), Keras weights (*.weights.h5, HDF5: no pickle), the exported runtime files
(encoder.onnx, decoder.onnx), SHA256SUMS (one `sha256  filename` line per file) and MODEL.md.

A codec model's identity, written into every .mz header, covers every file that runs (runtime.identity).
A model that `muzip train` replaces is kept under ROOT/.replaced/NAME~ID12/, so the files that name the
older version keep decoding (load it by the key `replaced_version` gives).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

from ..defaults import DEFAULT_MODEL
from ..errors import ModelError

LEVEL_TABLES = "tables.levels.npz"  # per-(role, level) entropy tables, loaded as used (codec.entropy.tables)
IDENTITY_FILES = ("config.json", "encoder.weights.h5", "decoder.weights.h5", "tables.npz")
RUNTIME_FILES = ("encoder.onnx", "decoder.onnx", LEVEL_TABLES)
# A model name read from a file is looked up among installed models, never used as a path.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
REPLACED = ".replaced"  # a hidden folder in a models root: never a model name
_VERSION = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]{0,63})~[0-9a-f]{12}\Z")


def models_dir() -> Path:
    """The shipped models: $MUZIP_MODELS, else muzip/models/ inside the package (an installed wheel: the
    build copies the checkout's models/ there, setup.py), else the checkout's top-level models/ (a source
    tree or editable install)."""
    env = os.environ.get("MUZIP_MODELS")
    if env:
        return Path(env)
    return _package_models()


@functools.lru_cache(maxsize=1)
def _package_models() -> Path:  # the package does not move while it runs (asked ~30 times a model load)
    package = Path(__file__).resolve().parents[1]
    bundled = package / "models"
    return bundled if bundled.is_dir() else package.parent / "models"


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


def _mtime_ns(path: Path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


_scanned: dict = {}  # the last scan and what it was keyed on


def _folders() -> dict[str, Path]:
    """Installed model folders by key. The scan is kept while no models folder (nor its .replaced) has
    changed: a model is installed, replaced or removed by renaming or deleting its folder there, which
    changes the folder's mtime. Loading a model asks ~30 times (~15 ms of every start, scanned each time)."""
    key = tuple((str(r), _mtime_ns(r), _mtime_ns(r / REPLACED)) for r in model_roots())
    if _scanned.get("key") != key:
        _scanned.update(key=key, found=_scan())
    return dict(_scanned["found"])


def _scan() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in model_roots():
        try:
            entries = sorted(root.iterdir()) if root.is_dir() else []
        except OSError:
            entries = []
        for p in entries:  # a shipped model's name cannot be taken over by a user's model
            if p.name not in found and _NAME.match(p.name) and (p / "SHA256SUMS").is_file():
                found[p.name] = p
        try:
            kept = sorted((root / REPLACED).iterdir()) if (root / REPLACED).is_dir() else []
        except OSError:
            kept = []
        for p in kept:  # older versions of replaced models, keyed NAME~ID12
            if p.name not in found and _VERSION.match(p.name) and (p / "SHA256SUMS").is_file():
                found[p.name] = p
    return found


def unlisted_folders() -> list[Path]:
    """Folders in the models folders that hold a config.json but no SHA256SUMS: a model damaged (or half copied),
    which the scan passes over (`muzip models` names them)."""
    out = []
    for root in model_roots():
        try:
            entries = sorted(root.iterdir()) if root.is_dir() else []
        except OSError:
            continue
        out += [p for p in entries if _NAME.match(p.name) and (p / "config.json").is_file()
                and not (p / "SHA256SUMS").is_file()]
    return out


def base_name(key: str) -> str:
    """The model name of a key: NAME for NAME~ID12 (a replaced version), else the key itself."""
    return key.split("~", 1)[0]


def replaced_versions(name: str | None = None) -> list[str]:
    """Keys (NAME~ID12) of the kept older versions of model `name` (None: of every model)."""
    return [k for k in _folders() if "~" in k and (name is None or base_name(k) == name)]


def keep_replaced(root: Path, name: str, digest: bytes) -> Path | None:
    """Move root/name (identity `digest`) to root/.replaced/NAME~ID12 before a new version is installed;
    returns where it went (None if there was nothing to keep)."""
    folder = root / name
    if not (folder / "SHA256SUMS").is_file():
        return None
    kept = root / REPLACED / f"{name}~{digest.hex()[:12]}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    if kept.exists():  # the same version kept before: this copy adds nothing
        import shutil
        shutil.rmtree(folder)
    else:
        folder.rename(kept)
    return kept


def model_folder(name: str) -> Path:
    """The folder of installed model `name`; ModelError if there is none."""
    folder = _folders().get(resolve_name(name))
    if folder is None:  # removed between the two looks
        raise ModelError(f"model '{name}' is not installed")
    return folder


def installed_models() -> list[str]:
    """Installed model names, of every kind (codec.config.installed_models filters by kind); kept older
    versions are not listed."""
    return sorted(k for k in _folders() if "~" not in k)


def is_model_name(name) -> bool:
    """A name a model may have (letters, digits, . _ -; at most 64): never a path."""
    return isinstance(name, str) and bool(_NAME.match(name))


def resolve_name(name: str | None) -> str:
    """The installed model called `name` (default: DEFAULT_MODEL); ModelError for anything else."""
    name = DEFAULT_MODEL if name is None else name
    if not isinstance(name, str) or not (_NAME.match(name) or _VERSION.match(name)) or name not in _folders():
        shown = name if isinstance(name, str) and name.isprintable() and len(name) <= 64 else repr(name)[:64]
        raise ModelError(f"model '{shown}' is not installed (installed: {', '.join(installed_models()) or 'none'}; "
                         f"models folders {', '.join(map(str, model_roots()))})")
    return name


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def listed_files(name: str) -> dict[str, str]:
    """File name -> sha256, as SHA256SUMS lists them."""
    listed = {}
    for line in (model_folder(name) / "SHA256SUMS").read_text().splitlines():
        digest, _, fname = line.strip().partition("  ")
        if digest:
            listed[fname] = digest
    return listed


def verify(name: str, files=IDENTITY_FILES) -> None:
    """Check `files` of model `name` against SHA256SUMS; ModelError on any mismatch."""
    folder, listed = model_folder(name), listed_files(name)
    for fname in files:
        if not _NAME.match(fname) or fname.startswith("."):  # "../x", "a/b": no file of the model's folder
            raise ModelError(f"model '{name}': SHA256SUMS lists {fname!r}, which is no file of its folder")
        if fname not in listed:
            raise ModelError(f"model '{name}': {fname} is not listed in SHA256SUMS")
        path = folder / fname
        if not path.is_file() or file_sha256(path) != listed[fname]:
            raise ModelError(f"model '{name}': {fname} is missing or does not match its sha256")


def verified_bytes(name: str, fname: str) -> bytes:
    """The bytes of one model file, checked against SHA256SUMS: what is verified is what is used."""
    listed = listed_files(name)
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
    (folder / "SHA256SUMS").write_text("".join(f"{file_sha256(folder / f)}  {f}\n" for f in names))
