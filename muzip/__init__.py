"""muzip: a neural music codec (Keras Conv1D transform, integer-table entropy coding, .mz container)."""

import os as _os

__version__ = "1.2.0"

# onnxruntime 1.32's Linux and macOS builds write a device id and a queue of telemetry events into ~/.cache as
# they are imported; a local codec has no business doing that. Off unless the user set it (before any import).
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
