"""scripts/bench/dupes_bench.py's readings through the commands, on the bundled clip, its 16-kHz copy and a
noise track: what `similar` marks, and whether `cluster` keeps the copies together."""

from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from muzip.cli import cli
from scripts.bench import dupes_bench

CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"


def test_similar_and_cluster_are_read_against_the_truth(tmp_path):
    import soxr
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    sf.write(tmp_path / "0.flac", x, sr)
    sf.write(tmp_path / "0_16k.flac", soxr.resample(x, sr, 16000), 16000)
    sf.write(tmp_path / "1.flac", (0.1 * np.random.default_rng(0).standard_normal(x.shape)).astype(np.float32), sr)
    db = str(tmp_path / "lib.db")
    assert CliRunner().invoke(cli, ["index", "-q", "-j", "1", str(tmp_path), "--db", db]).exit_code == 0
    truth_of = {str(tmp_path / "0.flac"): (0, "flac"), str(tmp_path / "0_16k.flac"): (0, "16k"),
                str(tmp_path / "1.flac"): (1, "flac")}
    got = dupes_bench.similar_copies(db, truth_of, n=2)
    assert (got["marked_precision"], got["marked_recall"], got["marked"], got["true_pairs"]) == (1.0, 1.0, 2, 2)
    # each file of 6 kinds has 5 copies; here the clip 1 (its 16-kHz copy), the noise none: mean 0.1
    assert got["copies_in_first_five"]["listed"] == {"16k": 0.2, "flac": 0.1}
    split = dupes_bench.clusters_split(db, truth_of)
    assert split["originals_split"] == 0 and split["clusters"] >= 1
    assert set(split["by_embedding_alone"]) == {"clusters", "originals_split"}


def test_another_recordings_copies_are_counted_once_and_named(tmp_path):
    import soxr
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    sf.write(tmp_path / "0.flac", x, sr)
    sf.write(tmp_path / "0_22k.flac", soxr.resample(x, sr, 22050), 22050)
    sf.write(tmp_path / "0_16k.flac", soxr.resample(x, sr, 16000), 16000)
    sf.write(tmp_path / "1.flac", (0.1 * np.random.default_rng(0).standard_normal(x.shape)).astype(np.float32), sr)
    db = str(tmp_path / "lib.db")
    assert CliRunner().invoke(cli, ["index", "-q", "-j", "1", str(tmp_path), "--db", db]).exit_code == 0
    truth_of = {str(tmp_path / "0.flac"): (0, "flac"), str(tmp_path / "0_22k.flac"): (0, "22k"),
                str(tmp_path / "0_16k.flac"): (0, "16k"), str(tmp_path / "1.flac"): (1, "flac")}
    got = dupes_bench.similar_copies(db, truth_of, n=3)
    # the noise's one other line is the clip, naming its two copies; by embedding its three lines repeat it twice
    assert got["other_recordings_repeated"]["listed"] == {"lines": 3 * 3 + 1, "repeating_an_earlier_line": 0}
    assert got["other_recordings_repeated"]["by embedding"]["repeating_an_earlier_line"] == 2
    assert got["copies_named"] == {"precision": 1.0, "recall": 1.0, "named": 2}
