"""Keras set-up for muzip's networks: CPU unless asked, quiet TensorFlow, optional thread count.

Only training, exporting and the Keras reference backend (MUZIP_BACKEND=keras) come here; inference on
onnxruntime never imports Keras."""

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_native_stderr():
    """TensorFlow's C++ start-up chatter goes to fd 2 before any setting can stop it; mute it briefly."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stderr.flush()
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


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
