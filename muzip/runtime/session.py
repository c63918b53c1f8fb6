"""The one onnxruntime session factory: every network muzip runs (codec, restorer, embedder) starts here.

A session is built from the bytes of a model file that were checked against its SHA256SUMS, so what is
verified is what runs; on the CPU only (a GPU is never taken by default), quiet, without spinning threads.
"""

from __future__ import annotations

import os

from ..defaults import MAX_THREADS
from ..errors import ModelError
from .store import verified_bytes


def cpu_threads() -> int:
    """MUZIP_THREADS, else every core this process may use (onnxruntime's own default, one per physical
    core, measured 10% slower on this 2-vCPU machine)."""
    value = os.environ.get("MUZIP_THREADS", "").strip()
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_THREADS:  # else the CLI refuses it
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def open_session(model: str, fname: str, threads: int = 1):
    """An onnxruntime InferenceSession of installed model `model`'s file `fname`, on `threads` intra-op threads."""
    return session_from_bytes(verified_bytes(model, fname), threads, f"model '{model}': cannot load {fname}")


def session_from_bytes(data: bytes, threads: int = 1, what: str = "cannot load an ONNX file"):
    """A session of ONNX bytes the caller has at hand, with open_session's options (the model writer checks a
    file it has just exported this way, before the folder is installed); ModelError `what (reason)` if invalid."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # same speed here, less CPU burnt
    try:
        return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        raise ModelError(f"{what} ({exc})") from None
