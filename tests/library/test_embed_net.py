"""embed-v2 (and the network design of the retired embed-v1): the trained track embedding (band sequences of the codec latents -> network on onnxruntime)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from muzip.codec import compress_array, to_mid_side
from muzip.library import load_embedder
from muzip.library import sources as S
from muzip.library.embed import EPS, POOL, SEQ_BANDS, band_sequence, feature_sequence
from muzip.library.net import windows
from muzip.codec import installed_models
from muzip.codec.config import read_model_json
from muzip.library.embed import FEATURES
from muzip.runtime import models_dir

DATA = Path(__file__).resolve().parents[1] / "data"


# the networks (embed-v1, v2); embed-v0 is statistics, embed-v3 and v3.1 projections of descriptors
# (test_projection.py)
NET_EMBEDDERS = [n for n in installed_models("embedder")
                 if read_model_json(n).get("features") in FEATURES]

def test_band_sequence_shapes_and_mono_side_floor():
    rng = np.random.default_rng(0)
    stereo = rng.standard_normal((2, 4 * 175, 252)).astype(np.float32)
    seq = band_sequence(stereo)
    assert seq.shape == (175, 72) and np.all(np.isfinite(seq))
    mono = band_sequence(stereo[:1])
    assert np.allclose(mono[:, :SEQ_BANDS], seq[:, :SEQ_BANDS])
    assert np.allclose(mono[:, SEQ_BANDS:], np.log(EPS))  # no side channel: the floor, not noise
    assert band_sequence(stereo[:, :POOL - 1]).shape == (0, 72)


def test_windows_cover_without_overlap():
    seq = np.arange(400)[:, None]
    w = windows(seq, 175)
    assert [len(x) for x in w] == [175, 175] and w[1][0, 0] == 175
    assert [len(x) for x in windows(seq[:100], 175)] == [100] and windows(seq[:0], 175) == []


@pytest.mark.parametrize("name", NET_EMBEDDERS)
def test_track_and_its_mz_embed_alike_and_unlike_other_music(model, tmp_path, name):
    embed, eid = load_embedder(name)
    assert eid.startswith(f"{name}:")
    x, sr = sf.read(DATA / "knolls_excerpt.ogg", dtype="float32", always_2d=True)
    wav, mz = tmp_path / "k.wav", tmp_path / "k.mz"
    sf.write(wav, x, sr)
    mz.write_bytes(compress_array(x, sr, 48, model=model))
    rng = np.random.default_rng(1)
    t = np.arange(len(x)) / sr
    other = (0.2 * np.sin(2 * np.pi * 220 * t) * (rng.random(len(t)) > 0.5))[:, None].repeat(2, 1)
    sf.write(tmp_path / "o.wav", other.astype(np.float32), sr)
    vec = {k: np.frombuffer(S.record(str(p), lambda name: model, embed)["embedding"], "<f4")
           for k, p in (("audio", wav), ("mz", mz), ("other", tmp_path / "o.wav"))}
    for v in vec.values():
        assert v.shape == (128,) and abs(float(np.linalg.norm(v)) - 1) < 1e-4
    assert float(vec["audio"] @ vec["mz"]) > 0.9
    assert float(vec["audio"] @ vec["mz"]) > float(vec["audio"] @ vec["other"]) + 0.2


@pytest.mark.parametrize("name", NET_EMBEDDERS)
def test_onnx_matches_the_keras_network(model, name):
    pytest.importorskip("tensorflow")
    import os
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from muzip.library.net_model import build_embed_net
    folder = models_dir() / name
    cfg = json.loads((folder / "config.json").read_text())
    net = build_embed_net(cfg)
    net.load_weights(folder / "embed.weights.h5")
    x, sr = sf.read(DATA / "knolls_excerpt.ogg", dtype="float32", always_2d=True)
    n = len(x) // 252 * 252
    seq = feature_sequence(model.encode(to_mid_side(x[:n])[:, :, None])[:, :n // 252], cfg["features"])
    assert seq.shape[1] == cfg["in_dim"]
    batch = np.stack([seq[:175], seq[175:350]]).astype(np.float32)
    embed, _ = load_embedder(name)
    got = embed.session.run(None, {embed.input: batch})[0]
    ref = np.asarray(net(batch))
    assert np.max(np.abs(got - ref)) < 1e-4 * max(1.0, float(np.abs(ref).max()))


@pytest.mark.parametrize("name", NET_EMBEDDERS)
def test_embedders_ship_no_pickle_and_load_without_tensorflow(tmp_path, name):
    folder = models_dir() / name
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".npy", ".keras"))]
    import subprocess
    code = (f"import sys; from muzip.library import load_embedder; e, _ = load_embedder('{name}'); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TF/Keras'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_contrastive_loss_prefers_matching_pairs():
    pytest.importorskip("tensorflow")
    from muzip.library.net_model import nt_xent
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 16)).astype(np.float32)
    matched = float(nt_xent(a, a + 0.01 * rng.standard_normal(a.shape).astype(np.float32), 0.1))
    shuffled = float(nt_xent(a, a[::-1].copy(), 0.1))
    assert matched < 0.1 < shuffled
