"""Shared network parts: layers, GAN discriminators and losses, and the backend-agnostic GAN trainer.

Everything here is Keras 3 with keras.ops only (no tf.*), so it trains under TensorFlow on a CPU and
under JAX on a GPU. Importing this package imports Keras: inference never does (muzip.runtime).
"""
