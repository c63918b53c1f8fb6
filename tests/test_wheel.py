"""A built wheel is a whole muzip: it carries every shipped model, and nothing of the checkout's runs/,
tests/, scripts/ or data/.

The wheel is built once (pip wheel, no build isolation, no network) and installed with --target into a
temporary folder; muzip then runs from a folder outside the checkout with PYTHONPATH pointing at that
install, so the wheel's copy shadows the editable checkout, and it must find its models inside itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("setuptools", reason="building the wheel needs setuptools")

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "knolls_excerpt.ogg"
CODECS = ("muzip-v1", "muzip-v2.1", "muzip-v2.2", "muzip-v2.3", "muzip-v2.4", "muzip-v2.5", "muzip-v2.6", "muzip-v2.7")


def _checkout_models() -> set[str]:
    return {p.name for p in (ROOT / "models").iterdir() if (p / "SHA256SUMS").is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(wheel path, install folder, work folder outside the checkout, model names at build time)."""
    tmp = tmp_path_factory.mktemp("wheel")
    models = _checkout_models()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    r = subprocess.run(pip + ["wheel", str(ROOT), "--no-deps", "--no-build-isolation", "--no-index", "-q",
                              "-w", str(tmp / "dist")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    wheels = list((tmp / "dist").glob("muzip-*.whl"))
    assert len(wheels) == 1, wheels
    site = tmp / "site"
    r = subprocess.run(pip + ["install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheels[0])],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    work = tmp / "work"
    work.mkdir()
    (tmp / "xdg").mkdir()
    return wheels[0], site, work, models


def _muzip(built, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    _, site, work, _ = built
    env = {k: v for k, v in os.environ.items() if k not in ("MUZIP_MODELS", "MUZIP_USER_MODELS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    env["XDG_DATA_HOME"] = str(work.parent / "xdg")  # no user models of this machine's user
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "muzip", *args]
    r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{cmd}\n{r.stdout}\n{r.stderr}"
    return r


def test_wheel_contents(built):
    wheel, _, _, models = built
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"muzip", "-".join(wheel.name.split("-")[:2]) + ".dist-info"}, tops  # name-version
    for stray in ("runs", "tests", "scripts", "data", "docs", "build"):
        assert not any(f"/{stray}/" in f"/{n}" for n in names if not n.startswith("muzip/models/")), stray
    shipped = {n.split("/")[2] for n in names if n.startswith("muzip/models/")}
    assert shipped == models
    for name in models:  # every file of every model, byte for byte
        folder = ROOT / "models" / name
        for f in folder.iterdir():
            if f.is_file() and not f.name.startswith("."):
                assert zipfile.ZipFile(wheel).read(f"muzip/models/{name}/{f.name}") == f.read_bytes(), f


def test_installed_wheel_uses_its_own_models(built):
    _, site, _, models = built
    r = _muzip(built, code="import muzip, muzip.runtime.store as s; print(muzip.__file__); print(s.models_dir())")
    package, folder = (Path(line).resolve() for line in r.stdout.splitlines())
    assert package.is_relative_to(site.resolve()), package
    assert folder == (site / "muzip" / "models").resolve(), folder

    listed = [json.loads(line) for line in _muzip(built, "models", "--json").stdout.splitlines()]
    assert {m["name"] for m in listed} == models
    for m in listed:
        assert m["status"] == "ok", m
        assert Path(m["folder"]).resolve().is_relative_to(folder), m
    assert "muzip-v1" in _muzip(built, "models").stdout


def test_wheel_carries_the_entropy_coders_c_loops(built):
    """Built with the wheel wherever a C compiler is (setup.py), and loaded from the installed package."""
    if not shutil.which("cc"):
        pytest.skip("no C compiler here: the wheel codes with numba's loops or constriction")
    wheel, site, _, _ = built
    assert any(n.startswith("muzip/codec/entropy/_ans_kernels") for n in zipfile.ZipFile(wheel).namelist())
    r = _muzip(built, code="from muzip.codec.entropy import compiled, native_loops; "
                           "print(compiled.native() is not None); print(native_loops.library_path())")
    loaded, path = r.stdout.splitlines()
    assert loaded == "True" and Path(path).resolve().is_relative_to(site.resolve()), r.stdout


@pytest.mark.parametrize("model", CODECS)
def test_installed_wheel_round_trip(built, model):
    import soundfile as sf

    work = built[2]
    mz, wav = work / f"{model}.mz", work / f"{model}.wav"
    _muzip(built, "compress", "-q", "-f", "-j", "1", "-b", "24", "--model", model, str(CLIP), "-o", str(mz))
    assert 0 < mz.stat().st_size < 24_000 / 8 * 12 * 1.2  # 12 s at about 24 kbps
    info = json.loads(_muzip(built, "info", "--json", str(mz)).stdout.splitlines()[0])
    assert model in json.dumps(info)
    _muzip(built, "decompress", "-q", "-f", "-j", "1", str(mz), "-o", str(wav))
    out = sf.info(str(wav))
    assert out.samplerate == 44100 and out.channels == 2 and abs(out.duration - 12.0) < 0.05
