"""Transitional alias of muzip.runtime (the model store moved there in muzip 1.1)."""

from .runtime.store import (DEFAULT_MODEL, identity_digest as model_digest, installed_models, load_model,  # noqa: F401
                            load_tables, models_dir, verify, write_sha256sums)
