"""Keras set-up for muzip's networks: CPU unless asked, quiet TensorFlow, optional thread count.

Only training, exporting and the Keras reference backend (MUZIP_BACKEND=keras) come here; inference on
onnxruntime never imports Keras."""

import os

from ..native import quiet_native_stderr  # noqa: F401 - here for the callers that set up Keras


def configure_backend() -> None:
    """CPU unless the user opts in (MUZIP_DEVICE=gpu); quiet TensorFlow; optional MUZIP_THREADS."""
    if os.environ.get("MUZIP_DEVICE", "cpu").lower() != "gpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    threads = os.environ.get("MUZIP_THREADS")
    if threads and os.environ["KERAS_BACKEND"] == "tensorflow":
        with quiet_native_stderr():
            import tensorflow as tf  # backend set-up only; the network itself is backend-agnostic
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))
        except RuntimeError:
            pass  # already initialised in this process
