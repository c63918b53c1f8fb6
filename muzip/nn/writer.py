"""The one model-folder writer: every model folder muzip installs or ships is written here, and every
exported network is checked against its Keras original by the one parity function, `parity`.

    write_model_folder(root, name, files={...}, exports=[Export("decoder", net, build=inputs)],
                       identity=(...), runtime=(...), parity=check, card=card)

A folder holds the files the caller gives (config.json and other JSON, entropy tables, files copied from
another folder), the Keras networks it exports (STEM.weights.h5, HDF5: no pickle; STEM.onnx from
`Model.export(format="onnx")`, optionally stored in float16 by muzip.nn.half), SHA256SUMS (the identity
files first, in the order given, then the runtime files present: muzip.runtime.store checks them on load,
and the identity of a codec model is the sha256 of its identity lines), runtime.json (the exporter's
versions and the measured Keras vs onnxruntime parity) and MODEL.md. Everything is written into a hidden
folder beside the target and swapped in whole, so an interrupted write never leaves half a model that
loads, and a failed check leaves the old folder as it was.

The writer knows no model kind: which files make the identity, which inputs a network takes and what the
card says are the caller's (muzip.train.install for codecs, scripts/models/ for the rest).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..runtime.store import file_sha256

SUMS = "SHA256SUMS"


@dataclass
class Export:
    """A Keras network written as STEM.weights.h5 and STEM.onnx.

    build: inputs the network is called on once before export (Keras exports called models only);
    half: large weights stored as float16 in both files (muzip.nn.half), and the network reloaded from
    the halved weights, so parity compares what ships; weights=False: STEM.weights.h5 is given as a file
    (copied) and only STEM.onnx is written (halved alone)."""

    stem: str
    model: Any
    build: Any = None
    half: bool = False
    weights: bool = True


@dataclass
class Parity:
    """A network's output on the same inputs from Keras and from onnxruntime running its exported file."""

    keras: np.ndarray
    onnx: np.ndarray

    @property
    def max_abs(self) -> float:
        return float(np.abs(self.keras - self.onnx).max())

    @property
    def max_rel(self) -> float:
        """max_abs over the largest Keras output magnitude (computed in float32)."""
        return float(np.abs(self.keras - self.onnx).max() / np.abs(self.keras).max())

    @property
    def snr_db(self) -> float:
        err = (self.keras - self.onnx).astype(np.float64)
        return float(10 * np.log10(np.sum(self.keras.astype(np.float64) ** 2) / max(np.sum(err ** 2), 1e-30)))


def onnx_session(path: Path, threads: int = 1):
    """An onnxruntime session of an ONNX file, made from its bytes as muzip.runtime.session makes every session."""
    from ..runtime.session import session_from_bytes
    return session_from_bytes(Path(path).read_bytes(), threads, f"cannot load {path}")


def parity(model, onnx, inputs) -> Parity:
    """Keras `model` vs onnxruntime on the same inputs (an array, or a list in the network's input order).

    onnx: the exported file, or a session of it (onnx_session) to run more on."""
    sess = onnx_session(onnx) if isinstance(onnx, (str, Path)) else onnx
    many = isinstance(inputs, (list, tuple))
    feeds = [np.ascontiguousarray(x, np.float32) for x in (inputs if many else [inputs])]
    ref = np.asarray(model(feeds if many else feeds[0], training=False), np.float32)
    got = sess.run(None, dict(zip([i.name for i in sess.get_inputs()], feeds)))[0]
    return Parity(ref, np.asarray(got, np.float32))


def listed_sums(folder: Path) -> dict[str, str]:
    """File name -> sha256, as the folder's SHA256SUMS lists them, in its order (for model cards)."""
    return dict(line.split("  ", 1)[::-1] for line in (Path(folder) / SUMS).read_text().splitlines() if line)


def folder_files(folder: Path, skip: Sequence[str] = ()) -> dict[str, Path]:
    """Every file of an existing model folder (but SHA256SUMS, always written anew, and `skip`), as `files`
    entries that copy it byte for byte: for rewriting a folder with some of its files changed."""
    return {p.name: p for p in sorted(Path(folder).iterdir())
            if p.is_file() and p.name != SUMS and p.name not in skip}


def _write_file(path: Path, content) -> None:
    if isinstance(content, Path):
        shutil.copy2(content, path)
    elif isinstance(content, (dict, list)):
        path.write_text(json.dumps(content, indent=1) + "\n")
    elif isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, (bytes, bytearray)):
        path.write_bytes(content)
    elif callable(content):
        content(path)
    else:
        raise TypeError(f"{path.name}: cannot write a {type(content).__name__}")


def _export(folder: Path, ex: Export) -> None:
    from .backend import quiet_native_stderr
    weights, onnx_file = folder / f"{ex.stem}.weights.h5", folder / f"{ex.stem}.onnx"
    if ex.weights:
        ex.model.save_weights(weights)
    if ex.build is not None:
        ex.model(ex.build)
    with quiet_native_stderr():
        ex.model.export(str(onnx_file), format="onnx", verbose=False)
    if ex.half:
        from .half import halve_h5, halve_onnx
        if ex.weights:
            halve_h5(weights)
        halve_onnx(onnx_file)
        if ex.weights:
            ex.model.load_weights(weights)


def _stamp(folder: Path, stamp: Sequence[str], exports: Sequence[Export]) -> dict:
    out = {}
    for key in stamp:
        if key == "keras":
            import keras
            out["keras"] = keras.__version__
        elif key == "exported_with":
            import keras
            import onnx
            import tf2onnx
            out["exported_with"] = {"keras": keras.__version__, "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__}
        elif key == "opset":  # of the last network exported
            import onnx
            out["opset"] = int(onnx.load(folder / f"{exports[-1].stem}.onnx").opset_import[0].version)
        else:
            raise ValueError(f"unknown runtime.json stamp {key!r}")
    return out


def write_model_folder(root: Path, name: str, *, identity: Sequence[str], runtime: Sequence[str] = (),
                       files: Mapping[str, Any] | None = None, exports: Sequence[Export] = (),
                       parity: Callable[[Path], dict] | dict | None = None,
                       stamp: Sequence[str] = ("keras", "opset"), info: dict | None = None,
                       card: Callable[[Path, dict | None], str] | None = None,
                       check: Callable[[Path], None] | None = None) -> dict | None:
    """Write root/name whole (replacing a folder of that name); returns runtime.json's content, or None.

    In order, in a hidden folder root/.NAME.writing/NAME:
    files: name -> content, written in the order given: a dict or list (JSON, indent 1), str (text),
      bytes, a Path (copied byte for byte) or a callable(path) that writes the file (tables);
    exports: each network's weights and ONNX file (Export);
    SHA256SUMS: the `identity` files (each must exist), then the `runtime` files that exist;
    runtime.json, when parity is given: {"runtime": "onnxruntime", "files": the runtime files present,
      the `stamp` entries ("keras": its version, "exported_with": keras/tf2onnx/onnx versions, "opset": of
      the last export), "parity": parity(folder) or the dict given, then `info`'s entries (overriding)};
    MODEL.md: card(folder, runtime.json content or None), where a card is given;
    check(folder): may raise to refuse the folder before it replaces the old one."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out, staging = root / name, root / f".{name}.writing"  # a dot name is never listed as a model
    shutil.rmtree(staging, ignore_errors=True)
    tmp = staging / name
    tmp.mkdir(parents=True)
    try:
        for fname, content in (files or {}).items():
            _write_file(tmp / fname, content)
        for ex in exports:
            _export(tmp, ex)
        listed = list(identity) + [f for f in runtime if f not in identity and (tmp / f).is_file()]
        (tmp / SUMS).write_text("".join(f"{file_sha256(tmp / f)}  {f}\n" for f in listed))
        result = None
        if parity is not None:
            result = {"runtime": "onnxruntime", "files": [f for f in runtime if (tmp / f).is_file()],
                      **_stamp(tmp, stamp, exports), "parity": parity(tmp) if callable(parity) else parity}
            result.update(info or {})
            (tmp / "runtime.json").write_text(json.dumps(result, indent=1) + "\n")
        if card is not None:
            (tmp / "MODEL.md").write_text(card(tmp, result))
        if check is not None:
            check(tmp)
        old = staging / ".replaced"  # never a model name: no clash with NAME
        if out.exists():
            out.rename(old)
        try:
            tmp.rename(out)
        except OSError:
            if old.exists():
                old.rename(out)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result
