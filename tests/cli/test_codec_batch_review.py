"""What a review of the codec's batch commands found (session 62): a broken link under `-r --output-dir` blamed on
the output folder, `-c --output-dir` taken without a word, a file name's newline splitting a message in two,
and `--start` past what a cut file holds writing an empty WAV."""

import os

import numpy as np
import soundfile as sf

from muzip.cli import cli
from muzip.cli.common import one_line


def _tone(path, seconds=3.0, rate=44100):
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * 2, 1), rate)


def test_a_broken_link_in_a_folder_is_the_input_that_fails(runner, tmp_path, monkeypatch):
    (tmp_path / "M" / "f").mkdir(parents=True)
    _tone(tmp_path / "M" / "a.wav", 1)
    os.symlink(tmp_path / "nowhere.wav", tmp_path / "M" / "f" / "d.wav")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["compress", "-q", "-r", "--output-dir", "out", "M"])
    assert r.exit_code == 1
    assert r.stderr.strip() == "muzip: M/f/d.wav: no such file (a broken link)"  # was out/f/d.mz's folder
    assert (tmp_path / "out" / "a.mz").exists() and not (tmp_path / "out" / "f").exists()


def test_c_and_output_dir_contradict(runner, tmp_path):
    _tone(tmp_path / "a.wav", 1)
    for command in ("compress", "decompress", "restore"):
        r = runner.invoke(cli, [command, "-c", "--output-dir", str(tmp_path / "o"), str(tmp_path / "a.wav")])
        assert r.exit_code == 2 and "-c and --output-dir contradict each other" in r.output, command


def test_a_name_with_a_newline_stays_one_line(runner, tmp_path):
    assert one_line("a\nb\rc\x1bd\te\x9b\u2028\u202e") == "a\\nb\\rc\\x1bd\te\\x9b\\u2028\\u202e"
    src = tmp_path / "new\nline.wav"
    src.write_bytes(b"RIFF junk")
    r = runner.invoke(cli, ["compress", str(src), str(tmp_path / "missing\n.wav")])
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 3 and lines[0].startswith(f"muzip: {tmp_path}/new\\nline.wav: ")
    assert lines[1] == f"muzip: {tmp_path}/missing\\n.wav: no such file", lines


def test_start_past_what_a_cut_file_holds_is_an_error(runner, tmp_path):
    _tone(tmp_path / "a.wav", 4)
    assert runner.invoke(cli, ["compress", "-q", "-b", "24", str(tmp_path / "a.wav")]).exit_code == 0
    data = (tmp_path / "a.mz").read_bytes()
    (tmp_path / "cut.mz").write_bytes(data[:len(data) // 2])  # holds about 2 s of the 4 its header states
    r = runner.invoke(cli, ["decompress", "-q", "--start", "3", str(tmp_path / "cut.mz"), "-o", str(tmp_path / "o.wav")])
    assert r.exit_code == 1 and "is past the end of what the file holds" in r.stderr, r.output
    assert not (tmp_path / "o.wav").exists()  # an empty WAV, exit 3, before
    r = runner.invoke(cli, ["decompress", "-q", "--start", "0.5", str(tmp_path / "cut.mz"), "-o", str(tmp_path / "o.wav")])
    assert r.exit_code == 3 and 0 < sf.info(tmp_path / "o.wav").frames < 2 * 44100


def test_a_file_of_a_few_milliseconds_is_coded(runner, tmp_path):
    """A one-shot of 100-300 samples had as budget a share of its header's cost: it decoded silent (300 samples
    at 24 kbps) or 10 dB quiet (100 at 64). Each frame now gets at least 30 ms' worth of bits."""
    for n, kbps in ((300, 24), (100, 64)):
        t = np.arange(n) / 44100
        x = np.stack([0.5 * np.sin(2 * np.pi * 1000 * t)] * 2, 1)
        sf.write(tmp_path / f"s{n}.wav", x, 44100)
        assert runner.invoke(cli, ["compress", "-q", "-b", str(kbps), str(tmp_path / f"s{n}.wav")]).exit_code == 0
        size = (tmp_path / f"s{n}.mz").stat().st_size
        r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / f"s{n}.mz"), "-o", str(tmp_path / f"d{n}.wav")])
        y = sf.read(tmp_path / f"d{n}.wav")[0]
        assert r.exit_code == 0 and y.shape == x.shape and size < 600
        level = 20 * np.log10(np.sqrt((y ** 2).mean()) / np.sqrt((x ** 2).mean()))
        assert abs(level) < 1.5 and np.sqrt(((y - x) ** 2).mean()) < 0.1, (n, kbps, level)
