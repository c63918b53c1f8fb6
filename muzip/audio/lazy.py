"""soundfile, loaded on first use (importlib's LazyLoader): decoding a .mz to WAV, `info` and `test`
never touch libsndfile, and loading it (cffi and the shared library) is ~17 ms of a 0.35-s call."""

import importlib.util
import sys


def lazy_module(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ImportError(f"No module named {name!r}")
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


soundfile = lazy_module("soundfile")
