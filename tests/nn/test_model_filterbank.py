"""`"filterbank": "mdct"`: the frozen MDCT as a constant gives the same networks with smaller weight files."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from muzip.nn.codec_net import build_decoder, build_encoder  # noqa: E402
from muzip.nn.filterbank import fixed_basis

ROOT = Path(__file__).resolve().parents[2]


def test_constant_mdct_matches_the_frozen_weight_and_is_not_saved(tmp_path):
    cfg = dict(json.loads((ROOT / "models" / "muzip-v1" / "config.json").read_text()), hidden=16, decoder_blocks=1)
    assert not cfg["train_filterbank"] and cfg["hop"] == cfg["latent_channels"]
    old = build_encoder(cfg), build_decoder(cfg)
    new = build_encoder(dict(cfg, filterbank="mdct")), build_decoder(dict(cfg, filterbank="mdct"))
    rng = np.random.default_rng(3)
    for a, b in zip(old, new):
        for layer in b.layers:
            if layer.weights:  # every weight but the filterbank's has a twin; randomize so the test sees them
                values = [rng.standard_normal(w.shape).astype(np.float32) * 0.1 for w in layer.weights]
                layer.set_weights(values)
                a.get_layer(layer.name).set_weights(values)
        assert len(a.weights) == len(b.weights) + 1
        fb = a.get_layer("analysis" if "analysis" in [layer.name for layer in a.layers] else "synthesis")
        fb.set_weights([fixed_basis(cfg["hop"])[:, None, :]])  # the constant is the MDCT rounded to float16
    x = rng.standard_normal((2, cfg["hop"] * 20, 1)).astype(np.float32) * 0.1
    y_old, y_new = np.asarray(old[0](x)), np.asarray(new[0](x))
    np.testing.assert_allclose(y_new, y_old, atol=1e-6)
    noise = rng.uniform(-1, 1, (2, y_old.shape[1], cfg["noise_channels"])).astype(np.float32)
    np.testing.assert_allclose(np.asarray(new[1]([y_old, noise])), np.asarray(old[1]([y_old, noise])), atol=1e-6)
    old[0].save_weights(tmp_path / "old.weights.h5")
    new[0].save_weights(tmp_path / "new.weights.h5")
    assert (tmp_path / "new.weights.h5").stat().st_size < (tmp_path / "old.weights.h5").stat().st_size - 4 * cfg["hop"] ** 2
