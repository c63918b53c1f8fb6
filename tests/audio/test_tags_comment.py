"""The comment tag survives compress -> decompress like the others (issue 23, item 8): ffmpeg writes
`-metadata comment=...` into an MP3 as a TXXX:comment frame, which was dropped; iTunes' COMM:iTunNORM
data is not a comment."""

import pytest
import soundfile as sf

from muzip.audio import TAG_KEYS, AudioSink, AudioSource, can_write
from muzip.audio.tags import clean_tags, read_metadata

from conftest import sine

ALL = {k: f"{k} value" for k in TAG_KEYS}
ALL.update(tracknumber="3", discnumber="2", date="2021")


def _mp3(path, frames):
    """An MP3 (muzip's own writer, no tags) with the ID3 frames given, as another program wrote them."""
    if not can_write("mp3"):
        pytest.skip("this libsndfile cannot write MP3")
    from mutagen import id3
    with AudioSink(str(path), 44100, 2, "mp3") as sink:
        sink.write(sine(440, 1, 44100, 2))
    tag = id3.ID3()
    for frame in frames:
        tag.add(frame)
    tag.save(str(path))
    return path


def test_ffmpegs_txxx_comment_is_read(tmp_path):
    from mutagen import id3
    p = _mp3(tmp_path / "ff.mp3", [id3.TIT2(encoding=3, text=["T"]),
                                    id3.TXXX(encoding=3, desc="comment", text=["from ffmpeg"]),
                                    id3.TXXX(encoding=3, desc="ALBUM ARTIST", text=["AA"]),
                                    id3.TXXX(encoding=3, desc="MusicBrainz Album Id", text=["x"])])
    tags = read_metadata(str(p))[0]
    assert tags == {"title": "T", "comment": "from ffmpeg", "albumartist": "AA", "musicbrainz_albumid": "x"}  # kept: session 56


def test_itunes_normalisation_data_is_not_the_comment(tmp_path):
    from mutagen import id3
    p = _mp3(tmp_path / "it.mp3", [id3.COMM(encoding=3, lang="eng", desc="iTunNORM", text=[" 0000020A 00000221"]),
                                    id3.COMM(encoding=3, lang="eng", desc="iTunSMPB", text=[" 00000000 00000210"]),
                                    id3.COMM(encoding=3, lang="eng", desc="", text=["the real one"])])
    assert read_metadata(str(p))[0] == {"comment": "the real one"}
    only = _mp3(tmp_path / "only.mp3", [id3.COMM(encoding=3, lang="eng", desc="iTunNORM", text=[" 0000020A"])])
    assert read_metadata(str(only))[0] == {}


def test_clean_tags_maps_txxx_keys():
    assert clean_tags({"TXXX:comment": "c", "txxx:composer": "x", "TXXX:TXXX:comment": "no", "TXXX:": "no"}) == \
        {"comment": "c", "composer": "x"}


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "opus", "mp3"])
def test_every_tag_including_comment_survives_a_write_and_a_read(tmp_path, fmt):
    if not can_write(fmt):
        pytest.skip(f"no {fmt} encoder")
    path = tmp_path / f"t.{fmt}"
    with AudioSink(str(path), 44100, 2, fmt, tags=ALL) as sink:
        sink.write(sine(440, 1, 44100, 2))
    with AudioSource(str(path)) as src:  # Opus carries R128 gains, not ReplayGain's tags (RFC 7845)
        assert src.info.tags == {k: v for k, v in ALL.items() if fmt != "opus" or not k.startswith("replaygain_")}


@pytest.mark.parametrize("out_fmt", ["wav", "flac", "mp3"])
def test_comment_from_an_ffmpeg_style_mp3_survives_compress_and_decompress(runner, fast_model, tmp_path, out_fmt):
    from mutagen import id3

    from muzip.cli import cli
    if not can_write(out_fmt):
        pytest.skip(f"no {out_fmt} encoder")
    _mp3(tmp_path / "song.mp3", [id3.TIT2(encoding=3, text=["Title"]),
                                 id3.TXXX(encoding=3, desc="comment", text=["a comment"]),
                                 id3.TPE1(encoding=3, text=["Artist"])])
    r = runner.invoke(cli, ["compress", "-q", str(tmp_path / "song.mp3")])
    assert r.exit_code in (0, 3), r.output  # 3: an MP3's length is an estimate
    r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "song.mz"), "-o", str(tmp_path / f"out.{out_fmt}")])
    assert r.exit_code == 0, r.output
    out = tmp_path / f"out.{out_fmt}"
    with sf.SoundFile(out) as f:
        tags = read_metadata(str(out), f)[0]
    assert tags == {"title": "Title", "comment": "a comment", "artist": "Artist"}
