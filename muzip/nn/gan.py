"""A backend-agnostic GAN training step (Keras 3 stateless API) with resumable checkpoints.

The generator maps a list of inputs to a waveform (B, T, 1); the discriminator is
muzip.nn.discriminators.build_discriminator. One step = one critic update (LS-GAN) and one generator
update (adversarial + feature matching + weighted reconstruction). With `adversarial=False` the step
is the reconstruction loss alone (the usual warm-up before the critics start).

The losses are shared; only the update differs by backend: under JAX a pure step over the stateless
API (jax.value_and_grad, jax.jit); under TensorFlow, whose optimizers have no stateless_apply, the
variables are updated in place (tf.GradientTape, tf.function).
Checkpoints: generator.weights.h5, discriminator.weights.h5, optimizer variables in an .npz
(allow_pickle=False on load) and state.json with the step count -- no pickle anywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np

from .discriminators import split_outputs
from .losses import feature_matching_loss, lsgan_discriminator_loss, lsgan_generator_loss


def _d_loss(critic, target, fake):
    real_logits, _ = critic(target)
    fake_logits, _ = critic(fake)
    loss = lsgan_discriminator_loss(real_logits, fake_logits)
    return loss, {"d": loss}


def _g_loss(trainer, gen, critic, real_feats, inputs, target):
    y = gen(inputs)
    fake_logits, fake_feats = critic(y)
    adv, fm, rec = lsgan_generator_loss(fake_logits), feature_matching_loss(real_feats, fake_feats), trainer.recon_loss(target, y)
    return adv + trainer.fm_weight * fm + trainer.recon_weight * rec, {"adv": adv, "fm": fm, "recon": rec}


def _recon_loss(trainer, gen, inputs, target):
    loss = trainer.recon_loss(target, gen(inputs))
    return loss, {"recon": loss}


class GanTrainer:
    def __init__(self, generator, discriminator, recon_loss, lr=2e-4, recon_weight=15.0, fm_weight=2.0):
        self.G, self.D, self.recon_loss = generator, discriminator, recon_loss
        self.recon_weight, self.fm_weight = recon_weight, fm_weight
        self.g_opt = keras.optimizers.AdamW(lr, beta_1=0.8, beta_2=0.99, weight_decay=0.0, clipnorm=10.0)
        self.d_opt = keras.optimizers.AdamW(lr, beta_1=0.8, beta_2=0.99, weight_decay=0.0, clipnorm=10.0)
        self.g_opt.build(self.G.trainable_variables)
        self.d_opt.build(self.D.trainable_variables)
        self.step_count = 0
        self._jax = keras.backend.backend() == "jax"
        if not self._jax and keras.backend.backend() != "tensorflow":
            raise RuntimeError(f"GAN training supports the jax and tensorflow backends, not {keras.backend.backend()}")
        self._state = None  # JAX only: (params, fixed, optimizer state) of both networks between steps
        self._steps = {}

    def _critic_of(self, d_params=None, d_fixed=None):
        if d_params is None:  # stateful (TensorFlow)
            return lambda audio: split_outputs(self.D(audio, training=True), self.D.num_critics)
        return lambda audio: split_outputs(self.D.stateless_call(d_params, d_fixed, audio)[0], self.D.num_critics)

    def _gen_of(self, g_params=None, g_fixed=None):
        if g_params is None:
            return lambda inputs: self.G(inputs, training=True)
        return lambda inputs: self.G.stateless_call(g_params, g_fixed, inputs)[0]

    # -- JAX: pure functions of (params, optimizer state), compiled with jax.jit --
    def _jax_step(self, adversarial):
        import jax

        def step(state, inputs, target):
            g_params, g_fixed, g_opt, d_params, d_fixed, d_opt = state
            logs = {}
            if adversarial:
                fake = jax.lax.stop_gradient(self._gen_of(g_params, g_fixed)(inputs))
                (_, logs), grads = jax.value_and_grad(
                    lambda p: _d_loss(self._critic_of(p, d_fixed), target, fake), has_aux=True)(d_params)
                d_params, d_opt = self.d_opt.stateless_apply(d_opt, grads, d_params)
                critic = self._critic_of(d_params, d_fixed)
                _, real_feats = critic(target)
                fn = lambda p: _g_loss(self, self._gen_of(p, g_fixed), critic, real_feats, inputs, target)  # noqa: E731
            else:
                fn = lambda p: _recon_loss(self, self._gen_of(p, g_fixed), inputs, target)  # noqa: E731
            (_, g_logs), grads = jax.value_and_grad(fn, has_aux=True)(g_params)
            g_params, g_opt = self.g_opt.stateless_apply(g_opt, grads, g_params)
            return (g_params, g_fixed, g_opt, d_params, d_fixed, d_opt), {**logs, **g_logs}
        return jax.jit(step)

    # -- TensorFlow: stateful variables, GradientTape, compiled with tf.function --
    def _tf_step(self, adversarial):
        import tensorflow as tf

        def step(inputs, target):
            logs = {}
            gen, critic = self._gen_of(), self._critic_of()
            if adversarial:
                fake = tf.stop_gradient(gen(inputs))
                with tf.GradientTape() as tape:
                    d_loss, logs = _d_loss(critic, target, fake)
                self.d_opt.apply(tape.gradient(d_loss, self.D.trainable_variables), self.D.trainable_variables)
                _, real_feats = critic(target)
            with tf.GradientTape() as tape:
                if adversarial:
                    g_loss, g_logs = _g_loss(self, gen, critic, real_feats, inputs, target)
                else:
                    g_loss, g_logs = _recon_loss(self, gen, inputs, target)
            self.g_opt.apply(tape.gradient(g_loss, self.G.trainable_variables), self.G.trainable_variables)
            return {**logs, **g_logs}
        return tf.function(step)

    # -- driving it --
    def _owners(self):
        return (self.G.trainable_variables, self.G.non_trainable_variables, self.g_opt.variables,
                self.D.trainable_variables, self.D.non_trainable_variables, self.d_opt.variables)

    def _scatter(self):
        """JAX: write the step's values back into the Keras variables (before saving or evaluating)."""
        if self._state is None:
            return
        for variables, values in zip(self._owners(), self._state):
            for v, value in zip(variables, values):
                v.assign(value)

    def train_step(self, inputs, target, adversarial=True) -> dict[str, float]:
        adversarial = bool(adversarial)
        if adversarial not in self._steps:
            self._steps[adversarial] = self._jax_step(adversarial) if self._jax else self._tf_step(adversarial)
        if self._jax:
            if self._state is None:
                self._state = tuple([v.value for v in vs] for vs in self._owners())
            self._state, logs = self._steps[adversarial](self._state, inputs, target)
        else:
            logs = self._steps[adversarial](inputs, target)
        self.step_count += 1
        return {k: float(v) for k, v in logs.items()}

    def save(self, folder, extra: dict | None = None) -> None:
        """Atomically replace the checkpoint in `folder` (a crash mid-save leaves the previous one)."""
        self._scatter()
        folder = Path(folder)
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        self.G.save_weights(tmp / "generator.weights.h5")
        self.D.save_weights(tmp / "discriminator.weights.h5")
        np.savez(tmp / "optimizers.npz", **{f"g{i}": np.asarray(v) for i, v in enumerate(self.g_opt.variables)},
                 **{f"d{i}": np.asarray(v) for i, v in enumerate(self.d_opt.variables)})
        (tmp / "state.json").write_text(json.dumps({"step": self.step_count, **(extra or {})}, indent=1))
        old = folder.with_name(folder.name + ".old")
        _rmtree(old)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        _rmtree(old)

    def load(self, folder) -> dict:
        folder = Path(folder)
        self.G.load_weights(folder / "generator.weights.h5")
        self.D.load_weights(folder / "discriminator.weights.h5")
        with np.load(folder / "optimizers.npz", allow_pickle=False) as z:
            for i, v in enumerate(self.g_opt.variables):
                v.assign(z[f"g{i}"])
            for i, v in enumerate(self.d_opt.variables):
                v.assign(z[f"d{i}"])
        state = json.loads((folder / "state.json").read_text())
        self.step_count = int(state["step"])
        self._state = None
        return state


def _rmtree(path: Path) -> None:
    import shutil
    shutil.rmtree(path, ignore_errors=True)
