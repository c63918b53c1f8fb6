"""muzip.audio.mp3_repair: the frame walk finds no damage in undamaged MP3s, counts what a burst took, and leaves
out bytes inserted between frames (session 58)."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from muzip.audio.mp3_repair import RepairedView, find_damage
from muzip.restore.pairs import mp3_bytes


def _places(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return find_damage(fd), fd
    finally:
        os.close(fd)


def _cbr(seconds=4, rate=44100, kbps=128):
    n = rate * seconds
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / rate)[:, None] + 0.05 * np.random.default_rng(2).random((n, 2))
    return bytearray(mp3_bytes(x.astype(np.float32), rate, kbps))


def _boundaries(data):
    """Byte offsets of the frame headers of an undamaged CBR MP3 (no tags), by walking it."""
    from muzip.audio.mp3_frames import frame_at
    pos, out = data.index(b"\xff"), []
    while pos + 4 <= len(data) and (frame := frame_at(bytes(data[pos:pos + 4]), 0)) is not None:
        out.append(pos)
        pos += frame.size
    return out


@pytest.mark.parametrize("rate,kbps", [(44100, 128), (22050, 48), (16000, 32), (8000, 8)])
def test_undamaged_mp3s_have_no_places(tmp_path, rate, kbps):
    (tmp_path / "a.mp3").write_bytes(bytes(_cbr(3, rate, kbps)))
    assert _places(tmp_path / "a.mp3")[0] == []


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_two_tagged_mp3s_one_after_the_other_have_no_places(tmp_path):
    for i in range(2):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=f={440 + 100 * i}:d=3",
                        "-metadata", "title=x", "-c:a", "libmp3lame", "-q:a", "2", str(tmp_path / f"p{i}.mp3")],
                       check=True)
    (tmp_path / "both.mp3").write_bytes((tmp_path / "p0.mp3").read_bytes() + (tmp_path / "p1.mp3").read_bytes())
    assert _places(tmp_path / "both.mp3")[0] == []  # b's ID3v2 tag and Xing frame are no damage


def test_a_burst_counts_the_frames_whose_headers_it_hit(tmp_path):
    data = _cbr()
    heads = _boundaries(data)
    at = heads[40] + 10  # from inside frame 40 to inside frame 42: headers 41 and 42 gone
    data[at:heads[42] + 20] = bytes(heads[42] + 20 - at)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    (place,), _ = _places(tmp_path / "bad.mp3")
    assert (place.start, place.end, place.frames, place.exact) == (heads[41], heads[43], 2, True)
    assert len(place.silent) == heads[43] - heads[41]  # a CBR view keeps the file's size


def test_bytes_inserted_between_frames_are_left_out(tmp_path):
    data = _cbr()
    heads = _boundaries(data)
    data[heads[30]:heads[30]] = b"\x00\x11" * 50 + b"\xff\xfb\x90\x00" * 10  # 140 bytes: under half a frame
    (tmp_path / "junk.mp3").write_bytes(bytes(data))
    (place,), _ = _places(tmp_path / "junk.mp3")
    assert (place.start, place.end, place.frames, bytes(place.silent)) == (heads[30], heads[30] + 140, 0, b"")


def test_the_view_reads_as_the_file_with_the_places_replaced(tmp_path):
    data = _cbr()
    heads = _boundaries(data)
    data[heads[20] + 5:heads[21] + 5] = bytes(heads[21] - heads[20])
    data[heads[60]:heads[60]] = b"\x01" * 133
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    fd = os.open(tmp_path / "bad.mp3", os.O_RDONLY)
    try:
        places = find_damage(fd)
        view = RepairedView(fd, places)
        expected = bytes(data[:places[0].start]) + bytes(places[0].silent) \
            + bytes(data[places[0].end:places[1].start]) + bytes(data[places[1].end:])
        assert view.read() == expected == b"".join(view.chunks())
        view.seek(places[0].start + 100)
        view.read(10)
        assert view.original_offset() == places[0].end  # inside the silence: past the bytes it replaced
        view.seek(places[1].start - 7)
        assert view.read(20) == expected[places[1].start - 7:places[1].start + 13]
        assert view.original_offset() == places[1].start + 13 + 133  # past the bytes left out
    finally:
        os.close(fd)


def test_silence_is_made_as_it_is_read():
    from muzip.audio.mp3_repair import Silence
    padded, plain = b"P" * 5, b"q" * 4
    whole = padded * 3 + plain * 7
    silence = Silence(padded, plain, 3, 10)
    assert len(silence) == len(whole) and bytes(silence) == whole
    rng = np.random.default_rng(0)
    for a, b in rng.integers(0, len(whole) + 3, (200, 2)):
        assert silence[a:b] == whole[a:b]


def test_index_says_an_mp3s_damage_though_it_stops_reading_early(runner, tmp_path):
    """`index` reads only the runs it samples. When mpg123 dropped frames the file read short, so the reader went
    to its end and said the damage; with silent frames in their place it stopped early and said nothing (a
    review, session 58)."""
    from muzip.cli import cli
    data = _cbr(seconds=20)
    heads = _boundaries(data)
    at = heads[len(heads) // 4] + 10
    data[at:at + 900] = bytes(900)
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "song.mp3").write_bytes(bytes(data))
    r = runner.invoke(cli, ["index", str(tmp_path / "music"), "--db", str(tmp_path / "lib.db"), "-q", "-j", "1"])
    assert r.exit_code == 3, r.output
    assert "song.mp3: the MP3 data is damaged at byte " in r.stderr and "ms of frames there are silence" in r.stderr


# -- session 58's second review -------------------------------------------------------------------------------

def test_a_flipped_bitrate_bit_in_a_cbr_header_costs_that_frame_only(tmp_path):
    """The header, valid with another bitrate, was walked with a wrong size: the file counted as VBR and the rest
    came a frame late."""
    data = _cbr()
    heads = _boundaries(data)
    data[heads[50] + 2] ^= 0x10  # bitrate index 9 -> 8
    (tmp_path / "flip.mp3").write_bytes(bytes(data))
    (place,), _ = _places(tmp_path / "flip.mp3")
    assert (place.start, place.end, place.frames, place.exact) == (heads[50], heads[51], 1, True)


def test_a_long_cbr_burst_is_counted_by_the_bitrate_not_the_last_frames(tmp_path):
    data = _cbr(seconds=60)
    heads = _boundaries(data)
    a, b = heads[100] + 7, heads[1300] + 7  # headers 101..1300 gone: 1200 frames
    data[a:b] = bytes(b - a)
    (tmp_path / "long.mp3").write_bytes(bytes(data))
    (place,), _ = _places(tmp_path / "long.mp3")
    assert (place.start, place.end, place.frames, place.exact) == (heads[101], heads[1301], 1200, True)


def test_a_burst_of_ff_bytes_is_found_past(tmp_path):
    data = _cbr()
    heads = _boundaries(data)
    data[heads[20] + 9:heads[40] + 9] = b"\xff" * (heads[40] - heads[20])  # every byte a sync
    (tmp_path / "ff.mp3").write_bytes(bytes(data))
    (place,), _ = _places(tmp_path / "ff.mp3")
    assert (place.start, place.end, place.frames) == (heads[21], heads[41], 20)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_tags_between_two_mp3s_are_no_damage(tmp_path):
    """ffmpeg writes an ID3v1 tag after the audio and an ID3v2 before it: `cat a.mp3 a.mp3` read as damaged."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:d=3", "-metadata", "title=x",
                    "-write_id3v1", "1", "-c:a", "libmp3lame", "-b:a", "128k", str(tmp_path / "a.mp3")], check=True)
    one = (tmp_path / "a.mp3").read_bytes()
    assert one[-128:-125] == b"TAG"
    (tmp_path / "aa.mp3").write_bytes(one + one)
    assert _places(tmp_path / "aa.mp3")[0] == []


def test_damage_right_after_the_xing_frame_is_a_place(tmp_path):
    """The first frame after the encoder's Xing frame: before, the walk took the damage for junk ahead of the
    first frame, and nothing was repaired."""
    import io

    import soundfile as sf
    n = 44100 * 4
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / 44100)[:, None] + 0.05 * np.random.default_rng(3).random((n, 2))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), 44100, format="MP3", subtype="MPEG_LAYER_III")  # VBR, with a Xing frame
    data = bytearray(buf.getvalue())
    from muzip.audio.mp3_frames import frame_at, is_xing_frame
    first = bytes(data).index(b"\xff\xfb")  # libsndfile writes no ID3v2 tag ahead of it
    assert is_xing_frame(bytes(data[first:first + 256]), 0)
    audio = first + frame_at(bytes(data[first:first + 4]), 0).size
    data[audio:audio + 200] = bytes(200)
    (tmp_path / "head.mp3").write_bytes(bytes(data))
    (place,), _ = _places(tmp_path / "head.mp3")
    assert place.start == audio and place.frames == 1 and place.exact  # the Xing frame's count says one


def test_a_damaged_vbr_mp3_cut_short_gets_no_seconds_of_silence(tmp_path):
    """Its Xing frame states more frames than the cut file holds: all of them were given to the damaged place
    (7.5 s of silence), and the cut went unsaid."""
    import io

    import soundfile as sf

    from muzip.audio import AudioSource
    n = 44100 * 12
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / 44100)[:, None] + 0.05 * np.random.default_rng(4).random((n, 2))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), 44100, format="MP3", subtype="MPEG_LAYER_III")
    data = bytearray(buf.getvalue())
    data[len(data) // 8:len(data) // 8 + 900] = bytes(900)
    (tmp_path / "cut.mp3").write_bytes(bytes(data[:3 * len(data) // 4]))
    places, _ = _places(tmp_path / "cut.mp3")
    assert len(places) == 1 and places[0].frames <= 4
    with AudioSource(str(tmp_path / "cut.mp3")) as src:
        got = sum(len(b) for b in src.blocks(44100))
    assert got < 0.8 * n and any("header promises" in w for w in src.warnings), src.warnings


def _read(path):
    from muzip.audio import AudioSource
    with AudioSource(str(path)) as src:
        return np.concatenate(list(src.blocks(44100))), src.warnings


@pytest.mark.parametrize("frame", [0, 1])
def test_a_vbr_mp3s_first_audio_frames_damaged_read_in_their_time(tmp_path, frame):
    """Frame 0 right after the Xing frame: mpg123 took the Xing frame for a stray sync and read without the
    stated length and gapless trim (47 samples early, "header promises 4.470 s"). Frame 1: the walk had met one
    bitrate, took the VBR stream for CBR and the lost frame for 522 inserted bytes (1,152 samples early)."""
    import io

    import soundfile as sf

    from muzip.audio.mp3_frames import frame_at, start_damaged
    n = 44100 * 4
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / 44100)[:, None] + 0.05 * np.random.default_rng(3).random((n, 2))
    x[:, 0] += 0.2 * np.random.default_rng(5).standard_normal(n) * (np.arange(n) % 4410 < 50)  # bitrates vary
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), 44100, format="MP3", subtype="MPEG_LAYER_III")
    data = bytearray(buf.getvalue())
    (tmp_path / "good.mp3").write_bytes(bytes(data))
    at = bytes(data).index(b"\xff\xfb")
    for _ in range(frame + 1):
        at += frame_at(bytes(data[at:at + 4]), 0).size
    data[at:at + 200] = bytes(200)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    fd = os.open(tmp_path / "bad.mp3", os.O_RDONLY)
    try:
        assert start_damaged(fd, sf.info(str(tmp_path / "bad.mp3")).frames)  # the first eight frames are walked
    finally:
        os.close(fd)
    good, _ = _read(tmp_path / "good.mp3")
    bad, warnings = _read(tmp_path / "bad.mp3")
    assert len(bad) == len(good) == n
    assert len(warnings) == 1 or "clipped" in warnings[1], warnings  # the frame after the damage: a glitch
    assert warnings[0].startswith(f"the MP3 data is damaged at byte {at:,} ") and "26 ms of frames" in warnings[0]
    np.testing.assert_array_equal(bad[44100:], good[44100:])  # the rest in its place, sample for sample


@pytest.mark.parametrize("frame", [0, 1, 2])
def test_a_cbr_mp3s_first_headers_damaged_read_in_their_time(tmp_path, frame):
    """No Xing frame (lameenc). Frame 0's header: libsndfile refused the file and ffmpeg dropped the frame
    unsaid. Frame 1's: mpg123 took frame 0 for a stray sync and skipped both, unsaid. Frame 2's: the walk found
    no three frames in a row ahead of it and took the first two for junk (1,152 samples early)."""
    data = _cbr()
    (tmp_path / "good.mp3").write_bytes(bytes(data))
    at = _boundaries(data)[frame]
    data[at:at + 60] = bytes(60)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    good, _ = _read(tmp_path / "good.mp3")
    bad, warnings = _read(tmp_path / "bad.mp3")
    assert len(bad) == len(good)
    assert warnings[0].startswith(f"the MP3 data is damaged at byte {at:,} ") and "26 ms of frames" in warnings[0]
    np.testing.assert_array_equal(bad[44100:], good[44100:])


def test_junk_ahead_of_a_cbr_mp3s_first_frame_is_no_damage(tmp_path):
    """Bytes that are no whole number of its frames: junk, as before (no silence, no warning)."""
    data = _cbr()
    (tmp_path / "good.mp3").write_bytes(bytes(data))
    (tmp_path / "junk.mp3").write_bytes(bytes(range(7, 207)) + bytes(data))
    good, _ = _read(tmp_path / "good.mp3")
    got, warnings = _read(tmp_path / "junk.mp3")
    assert warnings == [] and len(got) == len(good)
    np.testing.assert_allclose(got, good, atol=1e-4)  # mpg123 starts its decoder on the junk: 2e-5 apart


def _ffmpeg_mp3(tmp_path, name, *args, music=False):
    path = tmp_path / name
    source = ["-i", os.path.join(os.path.dirname(__file__), "..", "data", "knolls_excerpt.ogg")] if music else \
        ["-f", "lavfi", "-i", "sine=f=330:d=6", "-af", "volume=0.5"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *source, "-c:a", "libmp3lame", *args, str(path)], check=True)
    return path, bytearray(path.read_bytes())


def _heads(data, n=4):
    from muzip.audio.mp3_frames import frame_at
    at = [bytes(data).index(b"\xff")]
    while len(at) < n:
        at.append(at[-1] + frame_at(bytes(data[at[-1]:at[-1] + 4]), 0).size)
    return at  # at[0]: the Info frame


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_an_mpeg2_mp3s_second_frame_damaged_is_read_in_its_time(tmp_path):
    """A review (session 59): libsndfile refused some 16-kHz MP3s whose second audio frame is damaged (ffmpeg read
    them two frames early, unsaid); it opens this one, and mpg123 resyncs over the damage as it does, unsaid (337
    samples short and early). Any file libsndfile refuses is walked now, and the first eight frames of any MP3."""
    good, data = _ffmpeg_mp3(tmp_path, "c16.mp3", "-ar", "16000", "-b:a", "32k")
    at = _heads(data)[2]
    data[at:at + 40] = bytes(40)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    want, _ = _read(good)
    got, warnings = _read(tmp_path / "bad.mp3")
    assert len(got) == len(want) and warnings[0].startswith(f"the MP3 data is damaged at byte {at:,} ")
    np.testing.assert_array_equal(got[16000:], want[16000:])


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_an_info_frames_damaged_header_is_no_lost_audio(tmp_path):
    """It held no audio: no silence is put in for it (a review: 26 ms were, and said), and no damage is said."""
    good, data = _ffmpeg_mp3(tmp_path, "c128.mp3", "-b:a", "128k")
    data[_heads(data)[0]:_heads(data)[0] + 4] = bytes(4)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    want, _ = _read(good)
    got, warnings = _read(tmp_path / "bad.mp3")
    assert warnings == [] and len(got) > len(want) + 1105  # the encoder's delay and padding the Info frame trimmed
    np.testing.assert_allclose(got[1105:1105 + len(want)], want, atol=1e-4)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_a_small_vbr_mp3_without_a_xing_frame_reads_to_its_end(tmp_path):
    """libsndfile stopped at mpg123's estimate of its end, 1.3 s of 6, and had read the file's bytes ahead, so
    nothing seemed to follow; damaged near its start, through its repaired view, the same (a review, session 59)."""
    good, _ = _ffmpeg_mp3(tmp_path, "v8.mp3", "-ar", "8000", "-ac", "1", "-q:a", "5", "-write_xing", "0")
    got, warnings = _read(good)
    assert len(got) == 86 * 576 and warnings == []  # its every frame, as ffmpeg decodes it
    music, data = _ffmpeg_mp3(tmp_path, "m8.mp3", "-ar", "8000", "-ac", "1", "-q:a", "5", "-write_xing", "0",
                              music=True)
    at = _heads(data)[1]
    data[at:at + 1500] = bytes(1500)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    want, _ = _read(music)
    got, warnings = _read(tmp_path / "bad.mp3")
    assert abs(len(got) - len(want)) <= 2 * 576 and "about" in warnings[0]  # estimated: a VBR MP3 states no count


def test_zeros_ahead_of_a_cbr_mp3_are_padding_whatever_their_length(tmp_path):
    """417 zero bytes ahead of a 32-kbps MP3 are four of its frames to the byte: padding, not four frames lost."""
    n = 44100 * 3
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / 44100)[:, None] + 0.05 * np.random.default_rng(2).random((n, 2))
    data = mp3_bytes(x.astype(np.float32), 44100, 32)
    (tmp_path / "good.mp3").write_bytes(data)
    (tmp_path / "pad.mp3").write_bytes(bytes(417) + data)
    want, _ = _read(tmp_path / "good.mp3")
    got, warnings = _read(tmp_path / "pad.mp3")
    assert warnings == [] and len(got) == len(want)


def test_an_mp3_whose_view_decodes_nothing_is_refused_as_before(tmp_path):
    """A damaged two-frame MP3 (from a review's fuzzing): its repaired view gave 0 samples, which were taken for a
    0-s file; the file is refused, as before."""
    from muzip.errors import MuzipError
    with pytest.raises(MuzipError, match="corrupt or truncated MP3"):
        _read(os.path.join(os.path.dirname(__file__), "..", "data", "damaged_two_frames.mp3"))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_a_vbr_mp3_whose_xing_frame_states_no_count_reads_whole(tmp_path):
    """mpg123 stops at its estimate and ffmpeg reads on, trimming LAME's 1,105-sample delay where mpg123 does not:
    the two never lined up in steps of 192 samples, and half the file was "bytes that follow" (a review, session
    59). ffmpeg_resume.GAPLESS's shifts are tried too."""
    import struct

    from muzip.audio.mp3_frames import _xing_fields, first_frame, frame_at
    good, data = _ffmpeg_mp3(tmp_path, "v.mp3", "-q:a", "4", music=True)
    fd = os.open(good, os.O_RDONLY)
    try:
        at, head, i = first_frame(fd)
    finally:
        os.close(fd)
    (flags, off), end = _xing_fields(head, i), at + frame_at(head, i).size
    data[at - i + off - 4:at - i + off + 4] = struct.pack(">I", flags & ~1)  # no "frames" flag, the count dropped
    data[end - 4:end - 4] = bytes(4)  # the frame keeps its size
    (tmp_path / "nocount.mp3").write_bytes(bytes(data))
    want, _ = _read(good)
    got, warnings = _read(tmp_path / "nocount.mp3")
    assert warnings == [] and len(got) >= len(want)  # whole: its delay and padding kept, no stated length to trim by
    np.testing.assert_allclose(got[1105:1105 + len(want)], want, atol=1e-2)
