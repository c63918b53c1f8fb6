"""Every model ever shipped keeps decoding its files: golden .mz per model, checked symbol by symbol."""

import json
from pathlib import Path

import pytest

from muzip.codec import decompress_bytes
from muzip.codec import installed_models, load_model
from muzip.codec.verify import symbol_digest

from conftest import shipped_codecs

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
CASES = sorted(GOLDEN.glob("*.json"))


def test_every_shipped_model_has_a_golden_file():
    assert shipped_codecs(), "no model installed"
    for name in shipped_codecs():
        assert (GOLDEN / f"{name}.mz").is_file(), f"{name} has no golden file: run python -m scripts.models.make_golden"


@pytest.mark.parametrize("meta_path", CASES, ids=[p.stem for p in CASES])
def test_golden_file_decodes_to_recorded_symbols(meta_path):
    meta = json.loads(meta_path.read_text())
    mz = meta_path.with_suffix(".mz")
    assert meta["model"] in installed_models("codec"), f"model {meta['model']} was removed: shipped models must stay"
    with open(mz, "rb") as f:
        assert symbol_digest(f) == meta["symbol_sha256"]
    audio, rate = decompress_bytes(mz.read_bytes(), model=load_model(meta["model"]))
    assert rate == meta["sample_rate"]
    assert audio.shape == (meta["num_samples"], meta["channels"])
    assert load_model(meta["model"]).sha256 == meta["model_sha256"]
