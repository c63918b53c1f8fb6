"""Ship a trained Keras network as models/NAME/: the one recipe every export script follows.

config.json, STEM.weights.h5 (Keras, no pickle), STEM.onnx (`Model.export(format="onnx")`), SHA256SUMS
(checked on every load by muzip.runtime.store), runtime.json (opset, Keras version, measured Keras vs
onnxruntime parity) and MODEL.md. Everything is written into a temporary folder first and swapped in
whole, so an interrupted export never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def ship(name: str, model, cfg: dict, stem: str, build_inputs, parity: Callable[[Path], dict],
         card: Callable[[dict, dict], str], info: dict | None = None, out_dir: Path | None = None) -> dict:
    """Export `model` as out_dir/name (default: the models folder); returns runtime.json's content.

    build_inputs: arrays that the model is called on once (Keras exports called models only);
    parity(folder) -> dict, measured against folder/STEM.onnx; card(info, sums) -> MODEL.md text."""
    import keras
    import onnx
    from ..runtime.store import models_dir
    files = ("config.json", f"{stem}.weights.h5", f"{stem}.onnx")
    out = (out_dir or models_dir()) / name
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp) / name
        tmp.mkdir()
        (tmp / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
        model.save_weights(tmp / files[1])
        model(build_inputs)
        model.export(str(tmp / files[2]), format="onnx", verbose=False)
        sums = {f: hashlib.sha256((tmp / f).read_bytes()).hexdigest() for f in files}
        (tmp / "SHA256SUMS").write_text("".join(f"{sums[f]}  {f}\n" for f in files))
        info = {"runtime": "onnxruntime", "files": [files[2]], "keras": keras.__version__,
                "opset": int(onnx.load(tmp / files[2]).opset_import[0].version), "parity": parity(tmp),
                **(info or {})}
        (tmp / "runtime.json").write_text(json.dumps(info, indent=1) + "\n")
        (tmp / "MODEL.md").write_text(card(info, sums))
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(tmp, out)
    return info
