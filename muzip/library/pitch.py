"""Pitch features from the codec's latents: finer frequency than the latents' 87.5-Hz channels.

A latent channel c of consecutive frames is (after undoing the 0.75 power-law companding; the channel's
gain is a constant factor) the sequence of one MDCT bin. A stationary partial inside bin c turns that
sequence into a sinusoid whose rate tells where in the bin the partial lies, so a DCT-IV across SUB
frames of each channel splits the bin into SUB sub-bins (CELT's time-frequency resolution change): ~11 Hz
over 46 ms at 44.1 kHz, enough for semitones from ~150 Hz. From that spectrum, per POOL latent steps:

* chroma: the share of the energy 150 Hz - 4 kHz in each of the 12 pitch classes (log);
* a semitone spectrum: log energy of the 48 semitones C3..B6 (register, number of voices).

Harmony, mode and melodic range are what tell a Bach chorale from a Palestrina mass or a fiddle tune once
the instrument is drawn at random; band energies alone carry none of it.
"""

from __future__ import annotations

import numpy as np

SUB = 8  # frames per DCT: 8 x 5.7 ms = 46 ms, 87.5 / 8 = 11 Hz sub-bins
CHROMA = 12
SEMITONES = 48  # C3 (130.8 Hz) .. B6
LOW_MIDI = 48
PITCH_DIM = CHROMA + SEMITONES
TOP_HZ = 4000.0  # chroma from 150 Hz to here; the semitones stop lower (B6, 1976 Hz)
EPS = 1e-2  # as muzip.library.embed.EPS: near the quantizer's step, so a .mz and its audio read alike
_COMPAND_ALPHA = 0.75  # muzip-v1's companding power (models/muzip-v1/config.json)


def _dct4(n: int) -> np.ndarray:
    k = np.arange(n)
    window = np.sin(np.pi * (k + 0.5) / n)  # sine window: less leakage between sub-bins
    return (window[:, None] * np.sqrt(2.0 / n) * np.cos(np.pi / n * (k[:, None] + 0.5) * (k[None, :] + 0.5))
            ).astype(np.float32)


def fine_spectrum(mid: np.ndarray, pool: int, steps: int) -> np.ndarray:
    """(steps, C * SUB) power of latents (n, C) on a grid SUB times finer in frequency, one row per `pool` frames."""
    n, C = mid.shape
    u = np.sign(mid) * np.abs(mid).astype(np.float32) ** (1.0 / _COMPAND_ALPHA)
    u = np.concatenate([u, np.zeros((max(0, steps * pool + SUB - n), C), np.float32)])
    idx = np.arange(steps)[:, None] * pool + np.arange(SUB)[None, :]
    s = np.einsum("tnc,nj->tcj", u[idx], _dct4(SUB), optimize=True) ** 2  # (steps, C, SUB)
    s[:, 1::2] = s[:, 1::2, ::-1]  # an odd bin's sequence runs down in frequency as the partial goes up
    return s.reshape(steps, C * SUB)


def _pitch_matrix(C: int, rate: float) -> np.ndarray:
    """(C * SUB, PITCH_DIM) 0/1 map of fine bins to pitch classes (150 Hz - 4 kHz) and to semitones C3..B6."""
    key = (C, rate)
    if key not in _MATRICES:
        f = (np.arange(C * SUB) + 0.5) * rate / 2 / (C * SUB)
        note = np.round(69 + 12 * np.log2(np.maximum(f, 1.0) / 440.0)).astype(int)
        m = np.zeros((C * SUB, PITCH_DIM), np.float32)
        band = np.flatnonzero((f >= 150) & (f <= TOP_HZ))
        m[band, note[band] % 12] = 1.0
        semi = np.flatnonzero((note >= LOW_MIDI) & (note < LOW_MIDI + SEMITONES))
        m[semi, CHROMA + note[semi] - LOW_MIDI] = 1.0
        m[:, CHROMA:] /= np.maximum(m[:, CHROMA:].sum(axis=0), 1.0)  # mean power per semitone
        _MATRICES[key] = m
    return _MATRICES[key]


_MATRICES: dict = {}


def pitch_sequence(mid: np.ndarray, pool: int, steps: int, rate: float = 44100.0) -> np.ndarray:
    """(steps, PITCH_DIM) float32: log chroma shares and log semitone energies of mid-channel latents (n, C)."""
    if steps == 0:
        return np.zeros((0, PITCH_DIM), np.float32)
    C = mid.shape[1]
    used = min(C, int(np.ceil(TOP_HZ / (rate / 2 / C))) + 1)  # channels above 4 kHz feed neither map
    p = fine_spectrum(mid[:, :used], pool, steps) @ _pitch_matrix(C, rate)[:used * SUB]
    chroma = p[:, :CHROMA]
    share = chroma / (chroma.sum(axis=1, keepdims=True) + EPS)
    return np.concatenate([np.log(share + 0.01), np.log(p[:, CHROMA:] + EPS)], axis=1).astype(np.float32)
