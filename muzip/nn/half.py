"""Half-size model files: large float32 weights stored as float16, computed in float32.

A model folder in git stays under ~20 MB this way. Both the Keras weights and the ONNX export get the same
float16-rounded values, so the two runtimes still agree with each other; only the storage is halved.
In ONNX each halved initializer is followed by a Cast back to float32 (onnxruntime folds it once when the
session opens), so the graph's arithmetic, inputs and outputs stay float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MIN_ELEMENTS = 1024  # small tensors (scales, biases) stay float32: they are a rounding error in size


def halve_h5(path: Path) -> int:
    """Rewrite float32 datasets of a Keras .weights.h5 with at least MIN_ELEMENTS values as float16.

    Keras assigns stored values to its float32 variables with a cast, so loading is unchanged.
    Returns the number of datasets halved."""
    import h5py

    found = []
    with h5py.File(path, "r+") as f:
        f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset)
                     and obj.dtype == np.float32 and obj.size >= MIN_ELEMENTS else None)
        for name in found:
            data = f[name][()].astype(np.float16)
            del f[name]
            f.create_dataset(name, data=data)
    _repack(path)
    return len(found)


def _repack(path: Path) -> None:
    """HDF5 does not give back the space of deleted datasets: copy everything into a fresh file."""
    import h5py

    tmp = path.with_name(path.name + ".repack")
    with h5py.File(path, "r") as src, h5py.File(tmp, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for key in src:
            src.copy(src[key], dst, name=key)
    tmp.replace(path)


def halve_onnx(path: Path) -> int:
    """Store float32 initializers of at least MIN_ELEMENTS values as float16 followed by a Cast to float32.

    Returns the number of initializers halved."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < MIN_ELEMENTS:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "__fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                      name=init.name + "__to_fp32"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)  # a Cast must come before its users: the graph is topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(casts)
