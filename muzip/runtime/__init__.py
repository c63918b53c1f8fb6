"""The runtime: the model store (find installed models, verify their files) and the one onnxruntime
session factory. Loading a codec model is the codec's (muzip.codec.load_model)."""

from .session import cpu_threads, open_session
from .identity import identity_digest
from .store import (installed_models, model_folder, model_roots, models_dir, resolve_name,
                    user_models_dir, verified_bytes, verify, write_sha256sums)

__all__ = ["cpu_threads", "identity_digest", "installed_models", "model_folder", "model_roots", "models_dir",
           "open_session", "resolve_name", "user_models_dir", "verified_bytes", "verify", "write_sha256sums"]
