"""The shared GAN parts (muzip/nn): losses, critics' shapes, the restorer's identity start, checkpoints.

Nothing here trains: the trainer is built and its checkpoint written and read back."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")  # the train extra

from muzip.nn import losses  # noqa: E402
from muzip.nn.discriminators import build_discriminator, split_outputs  # noqa: E402
from muzip.restore.config import DEFAULT_CONFIG, receptive_frames  # noqa: E402
from muzip.restore.model import build_restorer  # noqa: E402


def test_lsgan_and_feature_matching_values():
    ones, zeros = [np.ones((2, 3), np.float32)], [np.zeros((2, 3), np.float32)]
    assert float(losses.lsgan_discriminator_loss(ones, zeros)) == 0.0  # a perfect critic
    assert float(losses.lsgan_discriminator_loss(zeros, ones)) == 2.0
    assert float(losses.lsgan_generator_loss(ones)) == 0.0
    f = [np.full((1, 4, 2), 0.5, np.float32)]
    assert float(losses.feature_matching_loss(f, f)) == 0.0
    assert abs(float(losses.feature_matching_loss(f, [np.zeros_like(f[0])])) - 0.5) < 1e-7


def test_mel_loss_is_zero_for_identical_and_grows_with_damage():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 8192, 1)).astype(np.float32) * 0.1
    mel = losses.MultiScaleMelLoss(44100)
    assert float(mel(x, x)) < 1e-6
    small, big = float(mel(x, x * 0.9)), float(mel(x, x * 0.3))
    assert 0 < small < big


def test_critics_give_logits_and_features_for_any_length():
    d = build_discriminator()
    for n in (4096, 5000):
        logits, feats = split_outputs(d(np.zeros((2, n, 1), np.float32)), d.num_critics)
        assert len(logits) == d.num_critics == 7
        assert all(np.asarray(v).shape[0] == 2 for v in logits + feats)


def test_untrained_restorer_returns_its_input():
    cfg = dict(DEFAULT_CONFIG)
    g = build_restorer(cfg)
    rng = np.random.default_rng(1)
    T = 40 * cfg["hop"]
    x = (rng.standard_normal((1, T, 1)) * 0.2).astype(np.float32)
    n = T // cfg["hop"] + 1
    y = np.asarray(g([x, np.zeros((1, n, 2), np.float32), rng.uniform(-1, 1, (1, n, 16)).astype(np.float32)]))
    assert y.shape == x.shape and np.abs(y - x).max() < 1e-4  # residual starts at 0; the MDCT reconstructs
    assert receptive_frames(cfg) == 31


def test_checkpoint_round_trip_without_pickle(tmp_path):
    from muzip.nn.gan import GanTrainer
    cfg = dict(DEFAULT_CONFIG, hidden=16, dilations=[1, 2])
    trainer = GanTrainer(build_restorer(cfg), build_discriminator(periods=(2,), ffts=(256,)),
                         losses.MultiScaleMelLoss(44100, scales=((256, 20),)))
    trainer.step_count = 42
    w = trainer.G.get_layer("proj_out").get_weights()
    trainer.G.get_layer("proj_out").set_weights([v + 0.5 for v in w])
    trainer.save(tmp_path / "ckpt", {"note": "x"})
    trainer.save(tmp_path / "ckpt", {"note": "y"})  # replaced atomically, no leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    with np.load(tmp_path / "ckpt" / "optimizers.npz", allow_pickle=False) as z:
        assert len(z.files) == len(trainer.g_opt.variables) + len(trainer.d_opt.variables)
    other = GanTrainer(build_restorer(cfg), build_discriminator(periods=(2,), ffts=(256,)),
                       losses.MultiScaleMelLoss(44100, scales=((256, 20),)))
    state = other.load(tmp_path / "ckpt")
    assert state["note"] == "y" and other.step_count == 42
    for a, b in zip(other.G.get_layer("proj_out").get_weights(), trainer.G.get_layer("proj_out").get_weights()):
        assert np.array_equal(a, b)
    assert json.loads((tmp_path / "ckpt" / "state.json").read_text())["step"] == 42
