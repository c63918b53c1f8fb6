"""What a first-use review of `muzip eval` found (session 55)."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli

CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"


@pytest.fixture
def wav(tmp_path):
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    sf.write(tmp_path / "ref.wav", x[:6 * sr], sr)
    return tmp_path / "ref.wav", x[:6 * sr], sr


def test_plot_never_overwrites_what_is_measured(runner, wav, tmp_path):
    ref, x, sr = wav
    sf.write(tmp_path / "deg.wav", x * 0.9, sr)
    before = ref.read_bytes()
    for target in (ref, tmp_path / "deg.wav"):
        r = runner.invoke(cli, ["eval", "--no-visqol", "-f", "--plot", str(target), str(ref), str(tmp_path / "deg.wav")])
        assert r.exit_code != 0 and ref.read_bytes() == before, r.output
    r = runner.invoke(cli, ["eval", "--no-visqol", "--plot", str(tmp_path / "p.jpg"), str(ref), str(tmp_path / "deg.wav")])
    assert r.exit_code == 2 and "ending in .png" in r.stderr and not (tmp_path / "p.jpg").exists()


def test_a_silent_file_gets_no_score_and_a_warning(runner, wav, tmp_path):
    """A silent degraded file scored SI-SDR +inf, an identical file's score, with exit 0."""
    ref, x, sr = wav
    sf.write(tmp_path / "silent.wav", np.zeros_like(x), sr)
    r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(ref), str(tmp_path / "silent.wav")])
    assert r.exit_code == 3, r.output
    res = json.loads(r.stdout)
    assert res["si_sdr_db"] is None and res["snr_db"] is None
    assert any("silent.wav is silent where it is compared" in w for w in res["warnings"])


def test_a_degraded_file_much_shorter_is_a_warning(runner, wav, tmp_path):
    """Its help says a file cut short is a warning (exit 3); it was a note, exit 0, with a perfect score."""
    ref, x, sr = wav
    sf.write(tmp_path / "first2.wav", x[:2 * sr], sr)
    r = runner.invoke(cli, ["eval", "--no-visqol", str(ref), str(tmp_path / "first2.wav")])
    assert r.exit_code == 3 and "muzip: warning: " in r.stderr and "compared over 2.0 s only" in r.stderr


def test_a_best_alignment_at_the_edge_of_the_search_is_a_warning():
    from types import SimpleNamespace

    from muzip.evaluate import _alignment_warnings
    ref, deg = SimpleNamespace(path="a.wav"), SimpleNamespace(path="b.wav")
    values = {"si_sdr_db": 3.0, "snr_db": 2.0}
    edge = SimpleNamespace(peaks=[0.5, 0.4], at_edge=True, delay=-4410, correlation=0.9)
    assert _alignment_warnings(ref, deg, edge, values) == [
        "the best alignment is at the edge of the +-0.1 s search (-4410 samples): the files do not line up (another "
        "recording, or a longer delay?)"]
    inside = SimpleNamespace(peaks=[0.5, 0.4], at_edge=False, delay=12, correlation=0.9)
    assert _alignment_warnings(ref, deg, inside, values) == [] and values["si_sdr_db"] == 3.0


def test_files_that_hardly_correlate_once_aligned_are_a_warning(runner, wav, tmp_path):
    """A copy 0.3 s late (past the +-0.1 s search) lined up on a spurious peak at +75 ms, exit 0, not a word."""
    ref, x, sr = wav
    late = np.concatenate([np.zeros((int(0.3 * sr), 2), np.float32), x])[:len(x)]
    sf.write(tmp_path / "late.wav", late, sr)
    r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(ref), str(tmp_path / "late.wav")])
    assert r.exit_code == 3 and any("the files hardly line up" in w for w in json.loads(r.stdout)["warnings"])
    assert runner.invoke(cli, ["compress", "-q", "-b", "6", str(ref), "-o", str(tmp_path / "r6.mz")]).exit_code == 0
    r = runner.invoke(cli, ["eval", "--no-visqol", str(ref), str(tmp_path / "r6.mz")])
    assert r.exit_code == 0 and "warning" not in r.stderr  # a codec at 6 kbps still lines up (0.96)


def test_visqol_leaves_silent_windows_out():
    """One silent 14-s window made the whole file's ViSQOL n/a."""
    from muzip.evaluate.visqol_windows import WindowedVisqol

    class Api:
        def measure_from_arrays(self, x, y, rate):
            class R:
                moslqo = float("nan") if np.sqrt(np.mean(x ** 2)) < 1e-2 else 4.0  # as ViSQOL scores silence
            return R()
    vq = WindowedVisqol(Api(), 16000, window_s=1.0)
    music = np.random.default_rng(0).standard_normal(16000 * 2).astype(np.float32)
    for block in (music, np.zeros(16000 * 2, np.float32), music):
        vq.update(block, block)
    assert vq.finish() == 4.0 and vq.unscored >= 1


@pytest.mark.parametrize("command", ["info", "test"])
def test_standard_input_named_twice_is_a_usage_error(runner, command):
    """The second read crashed: "internal error (ValueError: I/O operation on closed file.)"."""
    r = runner.invoke(cli, [command, "-", "-"], input=b"")
    assert r.exit_code == 2 and "can be read only once" in r.stderr


def test_info_writes_a_line_break_in_a_tag_as_an_escape(runner, wav, tmp_path):
    ref, x, sr = wav
    with sf.SoundFile(tmp_path / "t.flac", "w", sr, 2) as f:
        f.title = "Night\nbitrate:     999 kbps actual"
        f.write(x)
    assert runner.invoke(cli, ["compress", "-q", str(tmp_path / "t.flac")]).exit_code == 0
    r = runner.invoke(cli, ["info", str(tmp_path / "t.mz")])
    assert r.exit_code == 0 and "999 kbps" not in "".join(line.split(":", 1)[0] for line in r.stdout.splitlines())
    assert "Night\\nbitrate:     999 kbps actual" in r.stdout


def test_a_surround_file_is_said_to_be_mixed_down(runner, wav, tmp_path):
    ref, x, sr = wav
    six = np.concatenate([x, x[:, :1] * 0.5, x[:, :1] * 0.1, x], axis=1)  # L R C LFE Ls Rs
    sf.write(tmp_path / "s51.wav", six, sr)
    r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(ref), str(tmp_path / "s51.wav")])
    assert r.exit_code == 0 and "s51.wav: 6 channels, mixed down to stereo" in r.stderr, r.output


def test_a_copy_with_its_polarity_inverted_lines_up(runner, wav, tmp_path):
    """It was aligned 6 ms off (the largest raw correlation) and scored mel 2.4, where it sounds the same."""
    ref, x, sr = wav
    sf.write(tmp_path / "inv.wav", -x, sr)
    r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(ref), str(tmp_path / "inv.wav")])
    res = json.loads(r.stdout)
    assert r.exit_code == 0 and res["delay_samples"] == 0 and res["mel_distance"] < 0.01, res  # 16-bit rounding
    assert "degraded has its polarity inverted: compared inverted back" in res["notes"]


def test_files_that_do_not_line_up_are_not_called_inverted(runner, wav, tmp_path):
    """Two different recordings correlate near 0; the sign of that was taken as "polarity inverted", and the
    degraded file was inverted before SI-SDR and SNR (a review, session 62)."""
    ref, x, sr = wav
    for seed in range(4):  # either sign of a correlation near 0
        other = np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32) * 0.1
        sf.write(tmp_path / "other.wav", other, sr)
        r = runner.invoke(cli, ["eval", "--no-visqol", "--json", str(ref), str(tmp_path / "other.wav")])
        res = json.loads(r.stdout)
        assert r.exit_code == 3 and not any("inverted" in n for n in res["notes"]), res["notes"]
