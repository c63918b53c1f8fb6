"""`muzip restore --downmix`: the option the 6-channel error message suggests, shared with compress (issue 23,
item 6); `--model none` copies whatever the input is."""

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import downmix_to_stereo
from muzip.cli import cli
from muzip.codec import installed_models

pytestmark = pytest.mark.skipif("restore-v1" not in installed_models("restorer"), reason="restore-v1 not shipped")


def six_channels(seconds=2.0, rate=44100):
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.2 * np.sin(2 * np.pi * (200 + 100 * c) * t) for c in range(6)], 1).astype(np.float32)


def test_restore_has_the_downmix_option_its_message_suggests(tmp_path, runner):
    sf.write(tmp_path / "six.wav", six_channels(), 44100)
    r = runner.invoke(cli, ["restore", str(tmp_path / "six.wav")])
    assert r.exit_code == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "six.wav" in lines[0] and "6 channels" in lines[0] and "--downmix" in lines[0]
    assert not (tmp_path / "six.restored.wav").exists()
    for command in ("restore", "compress"):  # the one option, in both commands
        assert "--downmix" in runner.invoke(cli, [command, "--help"]).output


def test_downmix_of_a_lossless_input_is_the_readers_downmix(tmp_path, runner):
    x = six_channels()
    sf.write(tmp_path / "six.wav", x, 44100, subtype="FLOAT")
    r = runner.invoke(cli, ["restore", "--downmix", str(tmp_path / "six.wav"), "-o", str(tmp_path / "out.flac")])
    assert r.exit_code == 0, r.output
    assert "not restored (already lossless)" in r.stderr and "2 ch" in r.stderr
    y, sr = sf.read(tmp_path / "out.flac", dtype="float32", always_2d=True)
    assert sr == 44100 and y.shape == (len(x), 2)
    assert np.abs(y - downmix_to_stereo(x)).max() < 1.0 / 32768 + 1e-6  # the same mix, 16-bit rounding


def test_downmix_of_a_lossy_input_is_restored_in_stereo(tmp_path, runner):
    sf.write(tmp_path / "six.ogg", six_channels(), 44100, format="OGG", subtype="VORBIS", compression_level=1.0)
    r = runner.invoke(cli, ["restore", "--downmix", str(tmp_path / "six.ogg")])
    assert r.exit_code == 0, r.output
    assert "Vorbis" in r.stderr and "restored (seed 0)" in r.stderr
    info = sf.info(tmp_path / "six.restored.wav")
    assert info.channels == 2 and info.frames == 2 * 44100


def test_model_none_copies_a_lossy_input(tmp_path, runner):
    """Regression: a lossy input under --model none crashed (internal error: no restorer's rate)."""
    sf.write(tmp_path / "low.ogg", six_channels()[:, :2], 44100, format="OGG", subtype="VORBIS",
             compression_level=1.0)
    r = runner.invoke(cli, ["restore", "--model", "none", str(tmp_path / "low.ogg")])
    assert r.exit_code == 0, r.output
    assert "not restored (--model none)" in r.stderr
    assert sf.info(tmp_path / "low.restored.wav").channels == 2
