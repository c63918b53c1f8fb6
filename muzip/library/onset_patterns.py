"""Onset patterns (after Pohle, Schnitzer, Schedl, Knees and Widmer 2009), read by embed-v4 and v5 beside the
descriptors (muzip.library.descriptors): the modulation spectrum of each band group's onset envelope, on a
log frequency axis, the median over windows.

The descriptors' rhythm group is the autocorrelation of the onset envelope summed over all bands: it says
which periodicities a track has, not where in the spectrum they sit (a walking bass against a hi-hat).
Computed inside each contiguous run of coefficients, as the descriptors are: a run shorter than WINDOW_S
(5.12 s), as each of `muzip index`'s 4-s runs is, gives one zero-padded window. That costs nothing measured
(the held-out recipe from 48 s in 4-s runs, against 8-s runs and one 48-s run: docs/EXPERIMENTS.md, sessions
46 and 47; version 2's floor is under each run's own mean); 2.56-s windows read the *styles* fold's rhythm worse (exp_style_cues patterns: P@1 alone 0.378
against 0.402).
"""

from __future__ import annotations

import numpy as np

from . import descriptors as D

GROUPS = 8  # of the descriptors' 40 mel bands, five each
WINDOW_S, HOP_S = 5.12, 1.28  # 128 and 32 of the descriptors' frame pairs (40 ms each at 44.1 kHz, 882 bins)
LOW_HZ, HIGH_HZ, BINS = 0.5, 12.0, 20
DIM = GROUPS * BINS
VERSION = 2  # the newest; bumped whenever the patterns change, so no catalog mixes two kinds
# Each version's floor under a band's mean in the run, in dB, over which its onsets are read (None: the
# descriptors' own flux). Version 2 (embed-v5, session 47): rises out of the band's near-silence, which a
# codec at 24 kbps fills with noise, count less; a track's patterns then read alike from its audio and its
# .mz (0.33 -> 0.22 of a standard deviation apart on games-A; docs/EXPERIMENTS.md).
FLOOR_DB = {1: None, 2: 10.0}


def onset_patterns(coeffs, rate: int, floor_db: float | None = FLOOR_DB[VERSION]) -> np.ndarray:
    """MDCT coefficients (A, n, C), or a list of runs of one track -> (DIM,) log modulation spectra, each
    group's bins after one another, scaled so that their mean is 1 before the log (level-free); floor_db:
    as FLOOR_DB."""
    runs = [coeffs] if isinstance(coeffs, np.ndarray) else list(coeffs)
    centres = np.geomspace(LOW_HZ, HIGH_HZ, BINS)  # interpolated: the low bins are finer than 1 / window
    spectra = []
    for run in runs:
        f = D._run_frames(run, rate)  # noqa: SLF001 - the descriptors' own positive flux
        if f is None:
            continue
        flux = f["flux"] if floor_db is None else _floored_flux(f["B"], floor_db)
        env = flux.reshape(len(flux), GROUPS, -1).sum(axis=2)
        frame_s = 2 * run.shape[2] / rate
        window, hop = int(round(WINDOW_S / frame_s)), int(round(HOP_S / frame_s))
        hz, win = np.fft.rfftfreq(window, frame_s), np.hanning(window)[:, None]
        for start in range(0, max(1, len(env) - window + 1), hop):
            seg = env[start:start + window]
            seg = np.pad(seg - seg.mean(axis=0), ((0, window - len(seg)), (0, 0)))
            m = np.abs(np.fft.rfft(seg * win, axis=0))
            spectra.append(np.stack([np.interp(centres, hz, m[:, g]) for g in range(GROUPS)]))
    if not spectra:
        return np.zeros(DIM)
    P = np.median(np.stack(spectra), axis=0).reshape(-1)
    return np.log(P / (P.mean() + D.EPS) + 1e-3)


def _floored_flux(B: np.ndarray, floor_db: float) -> np.ndarray:
    """Positive log-energy flux of each band of B (frames, bands), over a floor floor_db under its run mean."""
    floor = B.mean(axis=0) * 10 ** (-floor_db / 10) + D.EPS
    return np.maximum(np.diff(np.log10(B + floor), axis=0), 0.0)
