"""Issue 23: `muzip test` said "ok" for a file whose trailer had a flipped bit (the sequential scan never read the
trailer, random access refused it). Every bit of the index and the trailer is now covered: damage there, with
all frames intact, is a warning (exit 3: the audio decodes, random access is lost), never a plain "ok"; the
audio still decodes, sequentially, to the same samples."""

import io

import numpy as np
import pytest
from click.testing import CliRunner

from muzip.cli import cli
from muzip.cli.common import EXIT_FAIL, EXIT_OK, EXIT_WARN
from muzip.codec import compress_array, decompress_bytes
from muzip.codec.verify import INDEX_DAMAGED, verify_file
from muzip.container import TRAILER_SIZE, ContainerReader, index_size, read_info


class Pipe(io.RawIOBase):
    def __init__(self, data: bytes, most: int = 7):
        self._f, self._most = io.BytesIO(data), most

    def readable(self):
        return True

    def read(self, n=-1):
        return self._f.read(self._most if n is None or n < 0 else min(n, self._most))


@pytest.fixture(scope="module")
def small(model):
    """A small 2-frame file (few symbols: fast to check 800 times), its decoded audio, where its index starts."""
    x = (0.1 * np.random.default_rng(0).standard_normal((int(44100 * 1.5), 1))).astype(np.float32)
    data = compress_array(x, 44100, 6, model=model)
    r = ContainerReader(io.BytesIO(data))
    assert r.load_index() and r.n_frames == 2
    return data, decompress_bytes(data, model=model)[0], len(data) - TRAILER_SIZE - index_size(r.n_frames)


def flipped(data, byte, bit):
    d = bytearray(data)
    d[byte] ^= 1 << bit
    return bytes(d)


@pytest.fixture
def tables_once(monkeypatch, small):
    """verify_file's model tables, looked up and checked once (not per file: 800 files here)."""
    import muzip.codec.verify as verify
    reader = ContainerReader(io.BytesIO(small[0]))
    tables = verify._tables_model(reader.header.model_id, reader.header.model_sha256)
    monkeypatch.setattr(verify, "_tables_model", lambda *args, **kw: tables)


def test_every_bit_of_index_and_trailer_is_checked(small, tables_once):
    data, _, start = small
    assert verify_file(io.BytesIO(data)).warnings == [] and verify_file(Pipe(data)).warnings == []
    plain_ok = []
    for byte in range(start, len(data)):
        for bit in range(8):
            bad = flipped(data, byte, bit)
            for src in (io.BytesIO(bad), Pipe(bad)):
                res = verify_file(src)
                if res.problems or res.warnings != [INDEX_DAMAGED] or res.frames != 2:
                    plain_ok.append((byte - start, bit, res.problems, res.warnings))
    assert plain_ok == [], plain_ok[:5]


def test_sequential_decoding_survives_index_and_trailer_damage(small, model):
    data, audio, start = small
    for byte in range(start, len(data), 3):  # the index's fields and CRC, the trailer's sync, offset and CRC
        bad = flipped(data, byte, byte % 8)
        r = ContainerReader(io.BytesIO(bad))
        assert not r.load_index()
        events = list(r.frames())
        assert all(e.frame is not None for e in events) and len(events) == 2
        assert r.index_damaged and not r.truncated
        info = read_info(io.BytesIO(bad))
        assert info["index_damaged"] and not info["truncated"] and not info["index_valid"]
        np.testing.assert_array_equal(decompress_bytes(bad, model=model)[0], audio)


def test_missing_trailer_or_data_after_it_is_index_damage_but_a_cut_index_is_truncation(small):
    data, _, start = small
    assert verify_file(io.BytesIO(data[:-TRAILER_SIZE])).warnings == [INDEX_DAMAGED]  # trailer lost
    assert verify_file(Pipe(data + b"\0" * 5)).warnings == [INDEX_DAMAGED]  # junk after the trailer
    for cut in (data[:-40], data[:start + 3], data[:start]):  # index cut: the frames hold what the header states
        assert verify_file(io.BytesIO(cut)).warnings == [INDEX_DAMAGED]  # (it was "truncated", exit 1: session 62)
    from scripts.fuzz.fuzz_cases import set_header_fields
    for cut in (data[:start - 1], set_header_fields(data, num_samples=2**64 - 1)[:start + 3]):  # a frame cut; a length
        res = verify_file(io.BytesIO(cut))  # not stated (a stream's): nothing proves the frames are all there
        assert res.problems == ["file is truncated (no valid index at the end)"]
    # frame 1 damaged and the index too: truncated (the trailer points past the last good frame)
    r = ContainerReader(io.BytesIO(data))
    r.load_index()
    bad = flipped(flipped(data, r.frame_offsets[1] + 40, 0), start + 10, 0)
    res = verify_file(io.BytesIO(bad))
    assert res.problems and not res.warnings


@pytest.fixture
def cli_runner(monkeypatch, model):
    import muzip.cli.codec_jobs as jobs
    monkeypatch.setattr(jobs, "_MODELS", {model.name: model})
    return CliRunner()


def test_muzip_test_warns_with_exit_3_and_decompress_still_decodes(cli_runner, small, tmp_path):
    data, audio, start = small
    good, bad = tmp_path / "good.mz", tmp_path / "bad.mz"
    good.write_bytes(data)
    bad.write_bytes(flipped(data, len(data) - 6, 3))  # a bit of the trailer's CRC
    r = cli_runner.invoke(cli, ["test", str(good)])
    assert r.exit_code == EXIT_OK and "ok (2 frames)" in r.stderr
    r = cli_runner.invoke(cli, ["test", "-q", str(bad)])
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == EXIT_WARN, r.stderr
    assert lines == [f"muzip: warning: {bad}: {INDEX_DAMAGED} (2 frames ok)"] and "ok (" not in r.stderr
    r = cli_runner.invoke(cli, ["test", str(good), str(bad)])
    assert r.exit_code == EXIT_WARN and "good.mz: ok" in r.stderr
    r = cli_runner.invoke(cli, ["test", "-"], input=bad.read_bytes())
    assert r.exit_code == EXIT_WARN and "index or trailer damaged" in r.stderr
    r = cli_runner.invoke(cli, ["test", str(bad), str(tmp_path / "missing.mz")])
    assert r.exit_code == EXIT_FAIL  # a failure outranks a warning

    import soundfile as sf
    r = cli_runner.invoke(cli, ["decompress", "-q", str(bad), "-o", str(tmp_path / "bad.wav")])
    assert r.exit_code == EXIT_WARN and "index or trailer damaged" in r.stderr and "truncated" not in r.stderr
    r = cli_runner.invoke(cli, ["decompress", "-q", str(good), "-o", str(tmp_path / "good.wav")])
    assert r.exit_code == EXIT_OK, r.stderr
    np.testing.assert_array_equal(sf.read(tmp_path / "bad.wav")[0], sf.read(tmp_path / "good.wav")[0])
    r = cli_runner.invoke(cli, ["info", str(bad)])
    assert r.exit_code == EXIT_WARN and "index damaged" in r.stdout and "index damaged" in r.stderr

    r = cli_runner.invoke(cli, ["test", "--help"])
    assert "3 if every file decodes, but with warnings" in " ".join(r.output.split())
    assert "truncated input" not in r.output and "a file has damaged frames, is truncated" in r.output  # session 62


def test_a_damaged_index_never_lets_the_header_claim_more_audio_than_the_frames_hold(small, model):
    """With the index gone, the header's num_samples is only a claim: the decoder pads nothing beyond the frames
    (a crafted header of hours, a valid trailer and a broken index must not decode to hours of silence)."""
    from scripts.fuzz.fuzz_cases import set_header_fields
    data, audio, start = small
    for claim in (len(audio) * 1000, 2**32):
        bad = flipped(set_header_fields(data, num_samples=claim), start + 12, 2)  # a record size in the index
        r = ContainerReader(io.BytesIO(bad))
        list(r.frames())
        assert r.index_damaged and not r.truncated
        out = decompress_bytes(bad, model=model)[0]
        assert len(out) == len(audio)


def test_a_lost_index_is_a_warning_and_strict_refuses_a_cut_file(cli_runner, small, tmp_path):
    """A codec review (session 62): `muzip test` said "truncated", exit 1, of a file that had lost only its index
    (every frame whole, the length its header states); `decompress --strict` wrote half of a file cut in two,
    exit 3, where one damaged frame fails it."""
    data, audio, start = small
    lost, cut = tmp_path / "lost.mz", tmp_path / "cut.mz"
    lost.write_bytes(data[:start + 5])
    cut.write_bytes(data[:start - 30])
    r = cli_runner.invoke(cli, ["test", "-q", str(lost)])
    assert r.exit_code == EXIT_WARN and INDEX_DAMAGED in r.stderr and "truncated" not in r.stderr
    r = cli_runner.invoke(cli, ["test", "-q", str(cut)])
    assert r.exit_code == EXIT_FAIL and "truncated" in r.stderr
    r = cli_runner.invoke(cli, ["decompress", "-q", "--strict", str(lost), "-o", str(tmp_path / "lost.wav")])
    assert r.exit_code == EXIT_WARN and (tmp_path / "lost.wav").exists()  # nothing lost: strict decodes it
    r = cli_runner.invoke(cli, ["decompress", "-q", "--strict", str(cut), "-o", str(tmp_path / "cut.wav")])
    assert r.exit_code == EXIT_FAIL and not (tmp_path / "cut.wav").exists()
    assert r.stderr.strip() == f"muzip: {cut}: file is truncated (no valid index at the end): --strict writes nothing"
    r = cli_runner.invoke(cli, ["decompress", "-q", str(cut), "-o", str(tmp_path / "cut.wav")])
    assert r.exit_code == EXIT_WARN and (tmp_path / "cut.wav").exists()  # without --strict: what is there


def test_test_shows_how_far_it_has_checked(small, tables_once):
    """A 3-hour file's `muzip test` showed nothing on a terminal for 40 s (a review, session 62): verify_file
    says each frame's seconds as it checks it, for the bar."""
    data, audio, _ = small
    seen = []
    res = verify_file(io.BytesIO(data), progress=seen.append)
    assert res.frames == 2 and abs(sum(seen) - len(audio) / 44100) < 1e-3
