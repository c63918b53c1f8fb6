"""muzip.nn.half: float16 weight files that load in Keras and run in onnxruntime with the same results."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from muzip.nn.half import MIN_ELEMENTS, halve_h5, halve_onnx  # noqa: E402


def _net():
    inp = keras.Input((None, 4))
    h = keras.layers.Conv1D(64, 5, padding="same", activation="relu")(inp)
    return keras.Model(inp, keras.layers.Conv1D(3, 1)(h))


def test_halved_files_are_smaller_and_keras_matches_onnx(tmp_path):
    net = _net()
    x = np.random.default_rng(0).standard_normal((2, 50, 4)).astype(np.float32)
    y_full = np.asarray(net(x))
    net.save_weights(tmp_path / "n.weights.h5")
    net.export(str(tmp_path / "n.onnx"), format="onnx", verbose=False)
    sizes = {p: (tmp_path / p).stat().st_size for p in ("n.weights.h5", "n.onnx")}

    assert halve_h5(tmp_path / "n.weights.h5") == 1  # only the 5x4x64 kernel is over MIN_ELEMENTS
    assert halve_onnx(tmp_path / "n.onnx") == 1
    for p, before in sizes.items():
        assert (tmp_path / p).stat().st_size < before - 4 * 5 * 4 * 64 // 3

    loaded = _net()
    loaded.load_weights(tmp_path / "n.weights.h5")
    assert all(w.dtype == "float32" for w in loaded.weights)
    kernel = next(w for w in loaded.weights if np.prod(w.shape) >= MIN_ELEMENTS)
    assert np.array_equal(np.asarray(kernel), np.asarray(kernel).astype(np.float16).astype(np.float32))
    y_keras = np.asarray(loaded(x))
    sess = ort.InferenceSession(str(tmp_path / "n.onnx"), providers=["CPUExecutionProvider"])
    y_onnx = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    assert y_onnx.dtype == np.float32
    assert np.abs(y_keras - y_onnx).max() < 1e-5  # the same rounded weights in both runtimes
    assert 0 < np.abs(y_keras - y_full).max() < 1e-2 * np.abs(y_full).max()  # rounding shows, and is small
