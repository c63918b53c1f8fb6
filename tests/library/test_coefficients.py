"""muzip.library.coefficients: one MDCT representation from audio and from every model's .mz."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from muzip.codec import compress_array, load_model
from muzip.errors import AudioReadError
from muzip.library import descriptors as D
from muzip.library.coefficients import HOP, RATE, coefficient_runs


CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"  # the bundled 12-s clip


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    """The bundled clip (real music: synthetic noise beds read differently through a decoder network that
    drops what it takes for noise), as 44.1-kHz WAV."""
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    assert sr == RATE
    folder = tmp_path_factory.mktemp("coeffs")
    path = folder / "music.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    return folder, path, x


def _mz(folder, x, model, kbps):
    path = folder / f"{model}-{kbps}.mz"
    if not path.exists():
        path.write_bytes(compress_array(x, RATE, kbps, load_model(model)))
    return path


def _runs(path):
    return coefficient_runs(str(path), load_model)


def test_audio_is_analysed_by_the_codecs_mdct(music):
    _, path, _ = music
    runs, rate, info = _runs(path)
    assert rate == RATE and info["source"] == "audio" and info["rate"] == RATE
    assert len(runs) == 1 and runs[0].shape[0] == 2 and runs[0].shape[2] == HOP
    assert runs[0].shape[1] == pytest.approx(12 * RATE / HOP, abs=2)


# mean |difference| of the spectral shape, log10 units: v1's decoder network fills the top octave ~10 dB above
# this clip's (3 dB on average over the bands)
@pytest.mark.parametrize("model, shape_tolerance", [("muzip-v2.7", 0.15), ("muzip-v1", 0.4)])
def test_a_mz_lands_next_to_its_audio(music, model, shape_tolerance):
    """The decoder's coefficients (network-free v2.7) or the decoded runs (v1) describe the same music."""
    folder, path, x = music
    audio = D.descriptor(_runs(path)[0], RATE)
    runs, rate, info = _runs(_mz(folder, x, model, 64))
    assert info["source"] == "mz" and info["model"] == model and rate == RATE
    assert all(r.shape[0] == 2 and r.shape[2] == HOP for r in runs)
    coded = D.descriptor(runs, rate)
    shape = slice(2 * (D.CEPSTRA - 1) + (D.COV_CEPSTRA - 1) * D.COV_CEPSTRA // 2, None)
    shape = slice(shape.start, shape.start + D.BANDS)
    assert np.corrcoef(audio[shape], coded[shape])[0, 1] > 0.95
    assert np.abs(coded[shape] - audio[shape]).mean() < shape_tolerance


def test_nothing_to_read_is_an_audio_error(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((100, 2), np.float32), RATE)
    with pytest.raises(AudioReadError):
        _runs(path)
