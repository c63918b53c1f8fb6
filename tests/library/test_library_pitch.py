"""Pitch features read from the codec's latents (muzip.library.pitch) and the embedder's supervised head."""

import numpy as np
import pytest
import soundfile as sf

from muzip.library import sources as S
from muzip.library.embed import FEATURES, POOL, feature_sequence
from muzip.library.pitch import CHROMA, LOW_MIDI, PITCH_DIM, fine_spectrum, pitch_sequence


def _latents(model, tmp_path, x, sr=44100):
    wav = tmp_path / "t.wav"
    sf.write(wav, np.stack([x, x], 1).astype(np.float32), sr)
    runs, _, _ = S._audio_runs(str(wav), lambda name: model, max_frames=1 << 30)  # noqa: SLF001
    return np.concatenate(runs, axis=1)


@pytest.mark.parametrize("midi", [60, 69, 74, 83])  # C4, A4, D5, B5
def test_a_tone_lands_on_its_pitch_class_and_semitone(model, tmp_path, midi):
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(3 * 44100) / 44100
    lat = _latents(model, tmp_path, 0.3 * np.sin(2 * np.pi * f0 * t))
    steps = lat.shape[1] // POOL
    spec = fine_spectrum(lat[0], POOL, steps)[4:-4].mean(axis=0)
    assert abs((spec.argmax() + 0.5) * 22050 / spec.size - f0) < 11.0  # within one ~11-Hz sub-bin
    seq = pitch_sequence(lat[0], POOL, steps)[4:-4].mean(axis=0)
    assert seq.shape == (PITCH_DIM,)
    assert seq[:CHROMA].argmax() == midi % 12
    assert seq[CHROMA:].argmax() == midi - LOW_MIDI


def test_v2_sequence_is_v1_plus_pitch_and_quiet_input_stays_finite():
    rng = np.random.default_rng(0)
    lat = rng.standard_normal((2, 4 * 175, 252)).astype(np.float32)
    v1 = feature_sequence(lat, "latent band sequence v1")
    v2 = feature_sequence(lat, "latent band and pitch sequence v2")
    assert v2.shape == (175, FEATURES["latent band and pitch sequence v2"])
    assert np.array_equal(v2[:, :v1.shape[1]], v1)
    silent = feature_sequence(np.zeros((1, 40, 252), np.float32), "latent band and pitch sequence v2")
    assert silent.shape == (10, v2.shape[1]) and np.all(np.isfinite(silent))
    with pytest.raises(ValueError):
        feature_sequence(lat, "no such features")


def test_label_head_loss_skips_unlabelled_views():
    pytest.importorskip("tensorflow")
    from muzip.library.net_model import masked_label_loss
    logits = np.array([[5.0, 0.0], [0.0, 5.0], [5.0, 0.0]], np.float32)
    right = float(masked_label_loss(logits, np.array([0, 1, -1], np.int32)))
    wrong = float(masked_label_loss(logits, np.array([1, 0, -1], np.int32)))
    assert right < 0.01 < 4.0 < wrong
    assert float(masked_label_loss(logits, np.array([-1, -1, -1], np.int32))) == 0.0
