"""A file damaged in its middle. A FLAC is read on past each damaged frame: those frames silence, every other
sample bit-exact in its place, one warning (muzip.audio.flac_resync). An MP3, whose bad bytes mpg123 skips, is
said to be damaged (muzip.audio.mpg123_notes)."""

import io
import re
import shutil

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import AudioSource
from muzip.cli import cli
from muzip.errors import MuzipError

needs_mp3 = pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile writes no MP3")


def _read(path):
    with AudioSource(str(path)) as src:
        return np.concatenate(list(src.blocks(3000))), src.warnings


def _flac(rate=44100, channels=2, seconds=8, subtype="PCM_16", seed=0):
    rng = np.random.default_rng(seed)
    n = rate * seconds
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / rate)[:, None] + 0.1 * rng.standard_normal((n, channels))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), rate, format="FLAC", subtype=subtype)
    data = bytearray(buf.getvalue())
    return data, sf.read(io.BytesIO(bytes(data)), dtype="float32", always_2d=True)[0]


def _only_silence_differs(got, whole) -> int:
    """Samples that differ from the undamaged file's (all silence), after checking nothing moved."""
    assert got.shape == whole.shape  # nothing lost or added: the rest keeps its time
    wrong = np.abs(got - whole).max(axis=1) > 0
    assert not got[wrong].any()  # what differs is silence, never audio out of place
    return int(wrong.sum())


@pytest.mark.parametrize("rate,channels,subtype", [(44100, 2, "PCM_16"), (48000, 1, "PCM_24"), (8000, 6, "PCM_16")])
def test_one_flipped_bit_costs_one_frame_not_the_file(tmp_path, rate, channels, subtype):
    data, whole = _flac(rate, channels, subtype=subtype)
    data[len(data) // 3] ^= 0x10
    (tmp_path / "bit.flac").write_bytes(bytes(data))
    with AudioSource(str(tmp_path / "bit.flac"), downmix=channels > 2) as src:
        got = np.concatenate(list(src.blocks(3000)))
    if channels > 2:
        from muzip.audio.samples import downmix_to_stereo
        whole = downmix_to_stereo(whole)
    assert _only_silence_differs(got, whole) == 4096  # libFLAC's frame
    [warning] = src.warnings
    assert warning.startswith("the FLAC data is damaged in one place, from ")
    assert f"the {4096 / rate:.3f} s that would not decode are silence, the rest in its place (libsndfile: " in warning


def test_damage_in_three_places_each_costs_its_frames(tmp_path):
    data, whole = _flac()
    for where in (len(data) // 4, len(data) // 2, 2 * len(data) // 3):
        data[where:where + 2000] = bytes(2000)
    (tmp_path / "burst.flac").write_bytes(bytes(data))
    got, warnings = _read(tmp_path / "burst.flac")
    silent = _only_silence_differs(got, whole)
    assert silent % 4096 == 0 and 3 * 4096 <= silent <= 6 * 4096
    assert warnings == [f"the FLAC data is damaged in 3 places, from {warnings[0].split('from ')[1].split(' s')[0]} "
                        f"s: the {silent / 44100:.3f} s that would not decode are silence, the rest in its place "
                        f"(libsndfile: {warnings[0].split('libsndfile: ')[1]}"]


def test_damaged_flacs_are_read_with_everything_else_in_place(tmp_path):
    """Seeded flips, bursts, bytes inserted and deleted, one to three places a file (a review's fuzzing found
    ffmpeg's fill misplacing frames in 8 % of such files, session 57)."""
    base, whole = _flac(seconds=4, seed=3)
    rng = np.random.default_rng(7)
    for i in range(12):
        d = bytearray(base)
        for _ in range(int(rng.integers(1, 4))):
            a, k = int(rng.integers(len(d) // 10, len(d) - 40000)), int(rng.integers(1, 2000))
            kind = i % 4
            if kind == 0:
                d[a] ^= 1 << int(rng.integers(8))
            elif kind == 1:
                d[a:a + k] = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
            elif kind == 2:
                d[a:a] = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
            else:
                del d[a:a + k]
        (tmp_path / f"m{i}.flac").write_bytes(bytes(d))
        try:
            got, warnings = _read(tmp_path / f"m{i}.flac")
        except MuzipError as e:
            raise AssertionError(f"m{i}.flac refused: {e}") from None
        _only_silence_differs(got, whole)
        assert len(warnings) == 1 and "\n" not in warnings[0]


def test_compress_says_so_and_the_decoded_file_keeps_its_length(runner, tmp_path):
    data, whole = _flac(seconds=6)
    data[len(data) // 2] ^= 0x04
    (tmp_path / "song.flac").write_bytes(bytes(data))
    r = runner.invoke(cli, ["compress", str(tmp_path / "song.flac")])
    assert r.exit_code == 3, r.output  # warned
    assert "warning: " in r.stderr and "song.flac: the FLAC data is damaged in one place, from " in r.stderr
    assert runner.invoke(cli, ["decompress", str(tmp_path / "song.mz")]).exit_code == 0
    assert sf.info(str(tmp_path / "song.wav")).frames == len(whole)


def _mp3(seconds=6):
    n = 44100 * seconds
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / 44100)[:, None] + 0.1 * np.random.default_rng(5).random((n, 2))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), 44100, format="MP3", subtype="MPEG_LAYER_III")
    return bytearray(buf.getvalue())


@needs_mp3
def test_an_mp3_damaged_in_its_middle_is_said_to_be(tmp_path, capfd):
    data = _mp3()
    (tmp_path / "whole.mp3").write_bytes(bytes(data))
    at = len(data) // 2
    data[at:at + 600] = bytes(600)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    whole, none = _read(tmp_path / "whole.mp3")
    got, warnings = _read(tmp_path / "bad.mp3")
    assert none == [] and len(got) == len(whole)  # silent frames where the damaged ones were (session 58)
    assert len(warnings) == 1 and warnings[0].startswith("the MP3 data is damaged at byte ")
    # libsndfile writes VBR with a Xing frame: its frame count says how many are missing
    assert f"(of {len(data):,}): the " in warnings[0] and "ms of frames there are silence; the rest is in its" \
        " place" in warnings[0]
    assert abs(int(warnings[0].split("at byte ")[1].split(" ")[0].replace(",", "")) - at) < 2000
    assert "Illegal" not in capfd.readouterr().err  # mpg123's own notes still never reach the terminal


@needs_mp3
def test_what_follows_an_mp3s_audio_is_not_damage(tmp_path):
    data = _mp3(3) + b"TAG" + bytes(125) + b"junk at the end of the file" * 20
    (tmp_path / "tagged.mp3").write_bytes(bytes(data))
    _, warnings = _read(tmp_path / "tagged.mp3")
    assert not any("damaged" in w for w in warnings)


@needs_mp3
def test_compress_of_a_damaged_mp3_warns_and_exits_3(runner, tmp_path):
    data = _mp3(4)
    data[len(data) // 2:len(data) // 2 + 600] = bytes(600)
    (tmp_path / "song.mp3").write_bytes(bytes(data))
    r = runner.invoke(cli, ["compress", str(tmp_path / "song.mp3")])
    assert r.exit_code == 3 and "song.mp3: the MP3 data is damaged at byte " in r.stderr
    assert (tmp_path / "song.mz").exists()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_a_file_ffmpeg_decodes_whole_says_what_ffmpeg_found(tmp_path, monkeypatch):
    """pydub drops ffmpeg's messages: a damaged M4A decoded short without a word (muzip.audio.ffmpeg_report)."""
    import glob
    import os
    import subprocess
    import tempfile
    _, whole = _flac(seconds=6)
    sf.write(str(tmp_path / "in.wav"), whole, 44100)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "in.wav"), "-c:a", "aac", str(tmp_path / "a.m4a")],
                   check=True)
    data = bytearray((tmp_path / "a.m4a").read_bytes())
    data[len(data) // 2:len(data) // 2 + 2000] = bytes(2000)
    (tmp_path / "bad.m4a").write_bytes(bytes(data))
    monkeypatch.chdir(tmp_path)  # where that setting has ffprobe write its own reports, outside muzip's decode
    monkeypatch.setenv("FFREPORT", "level=8")  # a user's own setting is left as it was
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    tempfile.tempdir = None
    try:
        _, clean = _read(tmp_path / "a.m4a")
        _, warnings = _read(tmp_path / "bad.m4a")
    finally:
        tempfile.tempdir = None
    assert clean == []
    assert len(warnings) == 1 and warnings[0].startswith("ffmpeg found the data damaged while decoding it (")
    assert warnings[0].endswith("); read what it gave")
    assert os.environ["FFREPORT"] == "level=8" and not glob.glob(str(tmp_path / "tmp" / "*"))


def test_index_says_a_flacs_damage_though_it_stops_reading_early(runner, tmp_path):
    """`index` reads only the runs it samples: the damage it read past was never said (a review, session 57)."""
    data, _ = _flac(seconds=20)
    data[len(data) // 4] ^= 0x10
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "song.flac").write_bytes(bytes(data))
    r = runner.invoke(cli, ["index", str(tmp_path / "music"), "--db", str(tmp_path / "lib.db"), "-q", "-j", "1"])
    assert r.exit_code == 3, r.output
    assert "song.flac: the FLAC data is damaged in one place, from " in r.stderr


def test_a_flac_replaced_while_it_is_read_is_not_read_in(tmp_path):
    """Reading on past damage reads the file already open, not whatever now has its name."""
    import os
    data, whole = _flac(seconds=10)
    data[len(data) // 2] ^= 0x10
    (tmp_path / "song.flac").write_bytes(bytes(data))
    other, _ = _flac(seconds=10, seed=9)
    (tmp_path / "other.flac").write_bytes(bytes(other))
    got = []
    with AudioSource(str(tmp_path / "song.flac")) as src:
        for i, block in enumerate(src.blocks(4096)):
            got.append(block)
            if i == 5:
                os.replace(tmp_path / "other.flac", tmp_path / "song.flac")
    _only_silence_differs(np.concatenate(got), whole)


def test_a_flac_zeroed_from_its_middle_to_its_end_reads_as_cut(tmp_path):
    """A half-finished download (the rest of the file zeros): what is there, with a warning, at once."""
    data, whole = _flac(seconds=10)
    data[len(data) // 2:] = bytes(len(data) - len(data) // 2)
    (tmp_path / "half.flac").write_bytes(bytes(data))
    got, warnings = _read(tmp_path / "half.flac")
    assert 0.3 * len(whole) < len(got) < 0.7 * len(whole)
    np.testing.assert_array_equal(got, whole[:len(got)])
    assert len(warnings) == 1 and warnings[0].startswith("header promises 10.000 s (441000 samples) but the file holds")


def _zeroed(folder, data: bytearray, where: float, n: int):
    """(the MP3's samples, its warnings, those with `n` bytes zeroed at `where` of its length, their warnings)."""
    (folder / "whole.mp3").write_bytes(bytes(data))
    at = int(len(data) * where)
    data[at:at + n] = bytes(n)
    (folder / "bad.mp3").write_bytes(bytes(data))
    return (*_read(folder / "whole.mp3"), *_read(folder / "bad.mp3"))


@needs_mp3
def test_an_mp3_burst_too_long_for_mpg123_is_read_on_in_its_place(tmp_path):
    """mpg123 resyncs over about 1 KiB of bad bytes: a longer burst refused the whole MP3 (a review, session 57),
    then ffmpeg read on, skipping it (what followed came early). muzip's frame walk goes past it (session 58)."""
    whole, _, got, warnings = _zeroed(tmp_path, _mp3(), 1 / 2, 3000)
    assert got.shape == whole.shape
    np.testing.assert_allclose(got[:44100], whole[:44100], atol=1e-6)  # in line before the damage
    np.testing.assert_allclose(got[-44100:], whole[-44100:], atol=1e-6)  # and after it
    assert len(warnings) == 1 and "ms of frames there are silence; the rest is in its place" in warnings[0]


def _vbr_mp3_stating_no_length(seconds=10):
    """An MP3 as a streaming encoder writes it: VBR, no Xing frame (lameenc cannot go back to write one), so
    mpg123 estimates its length from the file's size and the first frame's bitrate, here under half of it."""
    lameenc = pytest.importorskip("lameenc")
    n = 44100 * seconds
    t = np.arange(n) / 44100
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
    x = x[:, None] + 0.05 * np.random.default_rng(0).standard_normal((n, 2))
    enc = lameenc.Encoder()
    enc.set_channels(2)
    enc.set_in_sample_rate(44100)
    enc.set_vbr(4)
    enc.set_vbr_quality(2)
    return bytearray(enc.encode((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()) + enc.flush())


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_a_damaged_vbr_mp3_that_states_no_length_is_read_to_its_end(tmp_path):
    """mpg123 stops at its estimate of such an MP3's end and ffmpeg reads on in line with it. Damage before that
    point made the two decoders drop different counts of frames there, the rest was refused as out of line, and
    the file read 4.2 s of 10 (session 58). Both now read the file through its repaired view (mp3_repair), and
    ffmpeg's frames are lined up with mpg123's within SEARCH."""
    whole, none, got, warnings = _zeroed(tmp_path, _vbr_mp3_stating_no_length(), 1 / 3, 600)
    assert none == [] and len(whole) > 9.9 * 44100
    assert abs(len(got) - len(whole)) <= 2 * 1152  # silence in place of mpg123's dropped frames, estimated in VBR
    assert len(got) > 9.9 * 44100  # read to its end
    h = 3 * 44100  # the last 3 s (the damage is at a third): all there, in line
    assert min(np.abs(got[-h:] - whole[len(whole) - h - s:len(whole) - s]).max()
               for s in range(0, 2 * 1152 + 1, 576)) < 1e-2
    assert len(warnings) == 1 and warnings[0].startswith("the MP3 data is damaged at byte "), warnings
    assert "about " in warnings[0] and "(a VBR MP3 does not say exactly how many)" in warnings[0]


def test_frames_mpg123_drops_from_a_cbr_mp3_are_silence_in_their_place(tmp_path):
    """mpg123 drops each frame whose header is damaged: what followed came out early (a frame, 26 ms, for each
    one). In a constant-bitrate MP3 the bytes it skipped say how many frames they held, and the frame headers
    before say where: silent frames there, everything after in its place (muzip.audio.mp3_repair)."""
    from muzip.restore.pairs import mp3_bytes
    n = 44100 * 8
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / 44100)[:, None] + 0.05 * np.random.default_rng(1).random((n, 2))
    data = bytearray(mp3_bytes(x.astype(np.float32), 44100, 128))
    (tmp_path / "whole.mp3").write_bytes(bytes(data))
    for at in (len(data) // 4, len(data) // 2):
        data[at:at + 600] = bytes(600)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    whole, _ = _read(tmp_path / "whole.mp3")
    got, warnings = _read(tmp_path / "bad.mp3")
    assert got.shape == whole.shape
    wrong = np.abs(got - whole).max(axis=1) > 1e-6
    assert wrong.sum() < 2 * 6 * 1152 and not wrong[-3 * 44100:].any()  # near the damage only
    said = [w for w in warnings if "damaged" in w]  # (the glitch after each place may be clipped: said too)
    assert len(said) == 1 and "in 2 places" in said[0]
    assert said[0].endswith("ms of frames there are silence; the rest is in its place")  # counted, not estimated
    ms = int(re.search(r"the (\d+) ms of frames", said[0]).group(1))
    assert ms in (104, 130)  # 2 places, 2 or 3 headers each in 600 bytes (418-byte frames)
