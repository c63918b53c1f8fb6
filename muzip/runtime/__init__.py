"""Inference runtime: the model store and the sessions that run a shipped model.

The default backend is onnxruntime on the CPU: importing it costs ~0.2 s, where TensorFlow costs ~4 s.
`MUZIP_BACKEND=keras` runs the Keras reference model instead (tests, development; needs muzip[train]).
"""

from .store import (DEFAULT_MODEL, identity_digest, installed_models, load_model, load_tables, model_info,
                    model_folder, model_roots, models_dir, resolve_name, user_models_dir, verify, write_sha256sums)

__all__ = ["DEFAULT_MODEL", "identity_digest", "installed_models", "load_model", "load_tables", "model_info",
           "model_folder", "model_roots", "models_dir", "resolve_name", "user_models_dir", "verify", "write_sha256sums"]
