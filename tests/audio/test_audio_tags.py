"""Tags and cover art read by muzip.audio.AudioSource from each container."""

import base64
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from mutagen import id3
from mutagen.flac import FLAC, Picture

from muzip.audio import MAX_COVER_BYTES, TAG_KEYS, AudioSource
from muzip.audio.tags import clean_cover

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"j" * 900


def tone(path, fmt=None, subtype=None, rate=44100):
    x = (0.2 * np.sin(np.arange(rate // 4) / 5)).astype(np.float32)
    sf.write(path, x, rate, format=fmt, subtype=subtype)
    return path


def picture(kind, mime, data):
    p = Picture()
    p.type, p.mime, p.data = kind, mime, data
    return p


def open_info(path):
    with AudioSource(str(path)) as src:
        return src.info, src.warnings


def test_tag_keys():
    assert "discnumber" in TAG_KEYS and "comment" in TAG_KEYS
    from muzip.container import MAX_COVER_BYTES as CONTAINER_CAP
    assert MAX_COVER_BYTES == CONTAINER_CAP == 512 * 1024  # one cap, the container's


def test_flac_front_cover_preferred(tmp_path):
    p = tone(tmp_path / "a.flac")
    f = FLAC(p)
    f.add_picture(picture(4, "image/jpeg", JPEG))  # back cover first in the file
    f.add_picture(picture(3, "image/png", PNG))
    f["DISCNUMBER"], f["COMMENT"] = "2", "hello"
    f.save()
    info, warnings = open_info(p)
    assert info.cover == ("image/png", PNG)
    assert info.tags["discnumber"] == "2" and info.tags["comment"] == "hello" and warnings == []


def test_oversized_cover_dropped_with_warning(tmp_path):
    p = tone(tmp_path / "big.flac")
    f = FLAC(p)
    f.add_picture(picture(3, "image/jpeg", JPEG + b"\0" * (600 * 1024)))
    f.save()
    info, warnings = open_info(p)
    assert info.cover is None
    assert warnings == ["cover art is 601 KiB, over the 512 KiB limit; left it out"]


def test_mp3_id3_apic_tpos_comm(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3")
    p = tone(tmp_path / "a.mp3", "MP3", "MPEG_LAYER_III")
    t = id3.ID3()
    t.add(id3.TIT2(encoding=3, text=["Song"]))
    t.add(id3.TPOS(encoding=3, text=["1/2"]))
    t.add(id3.COMM(encoding=3, lang="eng", desc="", text=["note"]))
    t.add(id3.APIC(encoding=3, mime="image/jpeg", type=0, desc="other", data=JPEG))  # no front: taken
    t.save(str(p))
    info, _ = open_info(p)
    assert info.tags == {"title": "Song", "discnumber": "1/2", "comment": "note"}
    assert info.cover == ("image/jpeg", JPEG)


def test_wav_id3_chunk_cover(tmp_path):
    from mutagen.wave import WAVE

    p = tone(tmp_path / "a.wav")
    w = WAVE(p)
    w.add_tags()
    w.tags.add(id3.TPE1(encoding=3, text=["Band"]))
    w.tags.add(id3.APIC(encoding=3, mime="", type=3, desc="", data=PNG))  # no mime: sniffed
    w.save()
    info, _ = open_info(p)
    assert info.tags["artist"] == "Band" and info.cover == ("image/png", PNG)


@pytest.mark.parametrize("subtype,ext", [("VORBIS", "ogg"), ("OPUS", "opus")])
def test_ogg_metadata_block_picture(tmp_path, subtype, ext):
    if subtype not in sf.available_subtypes("OGG"):
        pytest.skip(f"no {subtype}")
    import mutagen

    p = tone(tmp_path / f"a.{ext}", "OGG", subtype, rate=48000)
    f = mutagen.File(p)
    f["DISCNUMBER"] = "3"
    f["METADATA_BLOCK_PICTURE"] = ["not base64 at all!",  # a broken one must not hide the good one
                                   base64.b64encode(picture(3, "image/jpeg", JPEG).write()).decode()]
    f.save()
    info, _ = open_info(p)
    assert info.tags["discnumber"] == "3" and info.cover == ("image/jpeg", JPEG)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
def test_m4a_covr_and_disk(tmp_path):
    from mutagen.mp4 import MP4, MP4Cover

    w = tone(tmp_path / "in.wav")
    m = tmp_path / "a.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(w), "-c:a", "aac", str(m)], check=True)
    f = MP4(m)
    f["disk"] = [(2, 3)]
    f["\xa9cmt"] = ["mp4 note"]
    f["covr"] = [MP4Cover(PNG, imageformat=MP4Cover.FORMAT_PNG)]
    f.save()
    info, _ = open_info(m)
    assert info.tags["discnumber"] == "2/3" and info.tags["comment"] == "mp4 note"  # as ID3 TPOS
    assert info.cover == ("image/png", PNG)


def test_no_cover_is_none(tmp_path):
    info, warnings = open_info(tone(tmp_path / "plain.flac"))
    assert info.cover is None and warnings == []


def test_clean_cover():
    assert clean_cover(None) is None and clean_cover(("image/png", b"")) is None
    assert clean_cover(("", JPEG)) == ("image/jpeg", JPEG)
    assert clean_cover(("image/png", b"x" * (MAX_COVER_BYTES + 1))) is None


def test_plain_wav_skips_mutagen_but_keeps_info_tags(tmp_path):
    from muzip.audio.tags import _wav_without_id3

    p = tone(tmp_path / "info.wav")
    with sf.SoundFile(p, "r+") as f:
        f.title = "Plain"
    assert _wav_without_id3(str(p))  # LIST/INFO only: libsndfile reads it, mutagen is not needed
    info, _ = open_info(p)
    assert info.tags["title"] == "Plain"
    for bad in (b"", b"RIFF\x00\x00", b"RIFF\xff\xff\xff\x7fWAVEfmt \xff\xff\xff\x7f"):  # short, lying sizes
        (tmp_path / "bad.wav").write_bytes(bad)
        assert not _wav_without_id3(str(tmp_path / "bad.wav"))


def test_wav_with_id3_chunk_is_read_by_mutagen(tmp_path):
    from mutagen.wave import WAVE
    from muzip.audio.tags import _wav_without_id3

    p = tone(tmp_path / "a.wav")
    w = WAVE(p)
    w.add_tags()
    w.tags.add(id3.TIT2(encoding=3, text=["From id3"]))
    w.save()
    assert not _wav_without_id3(str(p))
    assert open_info(p)[0].tags["title"] == "From id3"


LIBRARY_TAGS = {"lyrics": "la la\nla", "musicbrainz_trackid": "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae",
                "musicbrainz_albumid": "alb-9", "isrc": "USRC17607839", "organization": "A Label", "bpm": "120",
                "copyright": "(c) 2026", "replaygain_track_gain": "-6.20 dB", "replaygain_track_peak": "0.988"}


@pytest.mark.parametrize("ext", ["flac", "mp3", "wav", "ogg"])
def test_what_libraries_go_by_makes_the_round_trip(tmp_path, ext):
    """Session 56's review: ten keys were kept and the rest (lyrics, MusicBrainz ids, ISRC, ReplayGain...) were
    dropped without a word. FLAC tags in, through a .mz, out as each format, read back."""
    from click.testing import CliRunner

    from muzip.cli import cli
    src = tone(tmp_path / "a.flac")
    f = FLAC(src)
    for k, v in {**LIBRARY_TAGS, "label": LIBRARY_TAGS["organization"], "title": "t"}.items():
        if k != "organization":
            f[k.upper()] = [v]
    f.save()
    runner = CliRunner()
    for args in (["compress", "-q", str(src), "-o", str(tmp_path / "a.mz")],
                 ["decompress", "-q", str(tmp_path / "a.mz"), "-o", str(tmp_path / f"back.{ext}")]):
        assert runner.invoke(cli, args).exit_code == 0
    info, _ = open_info(tmp_path / f"back.{ext}")
    assert {k: v for k, v in info.tags.items() if k in LIBRARY_TAGS} == LIBRARY_TAGS


def test_a_tag_too_long_for_a_header_is_left_out_with_a_warning(tmp_path):
    """It failed the whole compress with an internal error (the header holds 65,535 bytes a value)."""
    from click.testing import CliRunner

    from muzip.cli import cli
    src = tone(tmp_path / "a.flac")
    f = FLAC(src)
    f["COMMENT"], f["TITLE"] = ["x" * 70_000], ["kept"]
    f.save()
    r = CliRunner().invoke(cli, ["compress", "-q", str(src), "-o", str(tmp_path / "a.mz")])
    assert r.exit_code == 3 and "tag comment is 70,000 bytes, over the 65,535 a .mz keeps; left it out" in r.stderr
    r = CliRunner().invoke(cli, ["info", "--json", str(tmp_path / "a.mz")])
    assert '"tags": {"title": "kept"}' in r.stdout


def test_several_musicbrainz_ids_opus_replaygain_and_mp4_freeform_atoms(tmp_path):
    """Session 56's second review: two artist ids came back as one invalid id "a; b"; Opus got REPLAYGAIN_* (RFC
    7845 says R128 only); an M4A's ----:com.apple.iTunes atoms (ReplayGain, ids) were dropped."""
    from mutagen.mp4 import MP4, MP4FreeForm
    from mutagen.oggopus import OggOpus

    from muzip.audio.tags import read_metadata, write_tags
    flac = tone(tmp_path / "a.flac")
    f = FLAC(flac)
    f["MUSICBRAINZ_ARTISTID"] = ["id-one", "id-two"]
    f.save()
    info, _ = open_info(flac)
    assert info.tags["musicbrainz_artistid"] == "id-one; id-two"
    out = tmp_path / "b.flac"
    shutil.copy(flac, out)
    write_tags(str(out), "flac", {"musicbrainz_artistid": "id-one; id-two"})
    assert FLAC(out)["MUSICBRAINZ_ARTISTID"] == ["id-one", "id-two"]
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg makes the Opus and M4A files")
    opus, m4a = tmp_path / "a.opus", tmp_path / "a.m4a"
    for path, codec in ((opus, "libopus"), (m4a, "aac")):
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(flac), "-c:a", codec, str(path)], check=True)
    write_tags(str(opus), "opus", {"title": "t", "replaygain_track_gain": "-6 dB"})
    assert "REPLAYGAIN_TRACK_GAIN" not in OggOpus(opus) and OggOpus(opus)["TITLE"] == ["t"]
    m = MP4(m4a)
    m["----:com.apple.iTunes:replaygain_track_gain"] = [MP4FreeForm(b"-6.20 dB")]
    m["----:com.apple.iTunes:MusicBrainz Release Group Id"] = [MP4FreeForm(b"rg-1")]
    m.save()
    tags = read_metadata(str(m4a))[0]
    assert tags["replaygain_track_gain"] == "-6.20 dB" and tags["musicbrainz_releasegroupid"] == "rg-1"
