"""muzip.nn.writer: one folder, swapped in whole; SHA256SUMS identity first; parity; a refused check keeps the old folder."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("onnxruntime")

from muzip.nn.writer import Export, listed_sums, parity, write_model_folder  # noqa: E402


def _net():
    inp = keras.Input((None, 4))
    return keras.Model(inp, keras.layers.Conv1D(3, 1)(keras.layers.Conv1D(64, 5, padding="same")(inp)))


def test_writer_folder_sums_runtime_card_and_refusal(tmp_path):
    net, x = _net(), np.random.default_rng(0).standard_normal((2, 40, 4)).astype(np.float32)
    measure = lambda folder: {"max_abs": parity(net, folder / "n.onnx", x).max_abs}  # noqa: E731
    info = write_model_folder(tmp_path, "m", identity=("config.json", "n.weights.h5"), runtime=("n.onnx", "absent"),
                              files={"config.json": {"a": 1}, "t.npz": lambda p: np.savez(p, v=np.arange(3))},
                              exports=[Export("n", net, x, half=True)], parity=measure, info={"step": 7},
                              card=lambda folder, info: f"# m\n{sorted(listed_sums(folder))}\n")
    folder = tmp_path / "m"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no staging left
    assert list(listed_sums(folder)) == ["config.json", "n.weights.h5", "n.onnx"]
    assert list(info) == ["runtime", "files", "keras", "opset", "parity", "step"] and info["files"] == ["n.onnx"]
    assert info["parity"]["max_abs"] < 1e-5 and json.loads((folder / "runtime.json").read_text()) == info
    assert (folder / "config.json").read_text() == '{\n "a": 1\n}\n' and (folder / "MODEL.md").is_file()

    def refuse(folder):
        raise SystemExit("no")
    with pytest.raises(SystemExit):
        write_model_folder(tmp_path, "m", identity=("config.json",), files={"config.json": {"a": 2}}, check=refuse)
    assert json.loads((folder / "config.json").read_text()) == {"a": 1}  # the old folder, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
