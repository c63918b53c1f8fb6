"""Build hooks: a built wheel (and sdist) carries the shipped models, and the entropy coder's C loops.

The models live in the checkout's top-level models/ folder (the editable install reads them from there,
muzip.runtime.store.models_dir). A wheel has no checkout beside it, so build_py copies models/ into the
build as muzip/models/, where models_dir() finds it in an installed package. Everything else about the
package is declared in pyproject.toml.

muzip/codec/entropy/ans_kernels.c is built as a plain shared library (no Python API: entropy.native_loops
loads it with ctypes). It is optional: where no C compiler is found, muzip codes with numba's build of the
same loops, or constriction, the same bytes (entropy.compiled).
"""

from __future__ import annotations

import os
import shutil

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

MODELS_SRC = "models"  # top-level, beside this file
MODELS_PKG = os.path.join("muzip", "models")  # where it goes inside the built package
_JUNK = shutil.ignore_patterns(".*", "__pycache__", "*.pyc")


def _model_files() -> list[str]:
    """Every file under models/ that copytree (with _JUNK) would copy, as paths relative to this folder."""
    out = []
    for root, dirs, files in os.walk(MODELS_SRC):
        skip = _JUNK(root, dirs + files)
        dirs[:] = sorted(d for d in dirs if d not in skip)
        out += [os.path.join(root, f) for f in sorted(files) if f not in skip]
    return out


class BuildPyWithModels(build_py):
    """build_py, then copy models/ to <build_lib>/muzip/models/ (skipped for editable installs, which use
    the checkout's models/ in place)."""

    def run(self):
        if not self.editable_mode:
            # build/lib outlives a build: drop the last build's copy of the package so a module or model
            # removed from the tree since is not shipped again.
            shutil.rmtree(os.path.join(self.build_lib, "muzip"), ignore_errors=True)
        super().run()
        if self.editable_mode or not os.path.isdir(MODELS_SRC):
            return
        dest = os.path.join(self.build_lib, MODELS_PKG)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(MODELS_SRC, dest, ignore=_JUNK)

    def get_outputs(self, include_bytecode=1):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [
            os.path.join(self.build_lib, MODELS_PKG, os.path.relpath(f, MODELS_SRC)) for f in _model_files()
        ]

    def get_source_files(self):
        # sdist lists these: a wheel built from the sdist then has models/ to copy.
        return super().get_source_files() + _model_files()


ANS_KERNELS = Extension("muzip.codec.entropy._ans_kernels", ["muzip/codec/entropy/ans_kernels.c"],
                        extra_compile_args=["-O2", "-std=c99"], optional=True)

setup(cmdclass={"build_py": BuildPyWithModels}, ext_modules=[ANS_KERNELS])
