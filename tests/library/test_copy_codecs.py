"""Which copy of a recording is the best (session 55): by the codec `index` stores, not the extension alone. An
ALAC M4A is lossless; a WAV that `muzip decompress` wrote is the lossy .mz it was decoded from."""

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.library.copies import best_first, copy_label

CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"
MINUTE = 60.0


def _facts(path, codec=None, kbps=None, size_kbps=None, rate=44100):
    return {"path": path, "codec": codec, "kbps": kbps, "rate": rate, "channels": 2, "duration": MINUTE,
            "size": int((size_kbps or 1411) * 125 * MINUTE), "top": None}


def _ranked(*facts):
    return [f["path"] for f in sorted(facts, key=best_first)]


def test_alac_in_an_m4a_is_lossless_and_a_decoded_wav_is_lossy():
    alac = _facts("a.m4a", "alac", size_kbps=900)
    flac = _facts("a.flac", "flac", size_kbps=800)
    mp3 = _facts("a.mp3", "mp3", size_kbps=320)
    aac = _facts("b.m4a", "aac", size_kbps=256)
    decoded = _facts("a.wav", "muzip-v2.7", kbps=24.0)  # 1411 kbps of bytes, 24 kbps of information
    assert _ranked(decoded, aac, mp3, flac, alac) == ["a.m4a", "a.flac", "a.mp3", "b.m4a", "a.wav"]


def test_a_track_indexed_before_codecs_were_stored_goes_by_its_extension():
    wav, mp3, m4a = _facts("a.wav"), _facts("a.mp3", size_kbps=320), _facts("a.m4a", size_kbps=900)
    assert _ranked(m4a, mp3, wav) == ["a.wav", "a.m4a", "a.mp3"]  # an M4A's codec unknown: lossy, by its bytes
    assert _ranked(_facts("flac", size_kbps=900), _facts("x.flac")) == ["x.flac", "flac"]  # "flac" is no extension


@pytest.mark.parametrize("facts, label", [
    (_facts("x/a.flac", "flac"), "FLAC, 44.1 kHz"),
    (_facts("a.m4a", "alac", rate=96000), "ALAC, 96 kHz"),
    (_facts("a.wav", "pcm"), "WAV, 44.1 kHz"),
    (_facts("a.mp3", "mp3", size_kbps=192), "MP3 at 192 kbps"),
    (_facts("a.opus", "opus", size_kbps=96, rate=48000), "Opus at 96 kbps"),
    (_facts("a.wav", "muzip-v2.7", kbps=24.4), "muzip-v2.7 at 24 kbps, decoded to WAV"),
    (_facts("a.mz", "muzip-v2.7", size_kbps=16), "muzip-v2.7 at 16 kbps"),
    (_facts("old.wav"), "WAV, 44.1 kHz"),
    (_facts("old.mp3", size_kbps=128), "MP3 at 128 kbps"),
    ({**_facts("a.flac", "flac"), "top": 11000.0}, "FLAC, 44.1 kHz, band to 11.0 kHz"),
    ({**_facts("a.flac", "flac", rate=16000), "top": 7200.0}, "FLAC, 16 kHz"),  # its rate's band: said by the rate
    (_facts("music/Track01", "pcm"), "PCM, 44.1 kHz"),  # no extension: not the file's name in capitals
    (_facts("dec", "muzip-v2.7", kbps=16.0), "muzip-v2.7 at 16 kbps, decoded to PCM"),
    (_facts("a.wav", "ulaw", size_kbps=64, rate=8000), "u-law at 64 kbps"),
    (_facts("a.restored.wav", "mp3", kbps=64.0), "MP3 at 64 kbps, restored to WAV"),  # muzip restore's output
    (_facts("a.mp3", "mp3", kbps=128.4, size_kbps=300), "MP3 at 128 kbps"),  # its audio's, not its cover's bytes
    (_facts("a.ogg", "muzip-v2.7", kbps=24.0), "muzip-v2.7 at 24 kbps, decoded to OGG"),
])
def test_copy_label(facts, label):
    assert copy_label(facts) == label


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    """The clip as FLAC, a 128-kbps MP3 and a WAV decoded from a 16-kbps .mz of it, indexed."""
    import lameenc
    from click.testing import CliRunner
    runner = CliRunner()
    root = tmp_path_factory.mktemp("codecs")
    (root / "music").mkdir()
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    sf.write(root / "music" / "clip.flac", x, sr)
    enc = lameenc.Encoder()
    enc.set_bit_rate(128)
    enc.set_in_sample_rate(sr)
    enc.set_channels(2)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    (root / "music" / "clip.mp3").write_bytes(enc.encode(pcm) + enc.flush())
    for args in (["compress", "-q", "-b", "16", str(root / "music" / "clip.flac"), "-o", str(root / "clip16.mz")],
                 ["decompress", "-q", str(root / "clip16.mz"), "-o", str(root / "music" / "decoded.wav")],
                 ["index", "-q", "-j", "1", str(root / "music"), "--db", str(root / "lib.db")]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 0, r.output
    return root


def test_dupes_puts_a_decoded_wav_after_the_mp3(runner, held):
    r = runner.invoke(cli, ["dupes", "--db", str(held / "lib.db")])
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and lines[0] == "group 1 (3 files, the best copy first)", r.output
    assert [Path(line.split("  (")[0].strip()).name for line in lines[1:]] == ["clip.flac", "clip.mp3", "decoded.wav"]
    assert lines[3].endswith("(muzip-v2.7 at 16 kbps, decoded to WAV)")
    group, = json.loads(runner.invoke(cli, ["dupes", "--db", str(held / "lib.db"), "--json"]).stdout)["groups"]
    assert [Path(p).name for p in group] == ["clip.flac", "clip.mp3", "decoded.wav"]


def test_a_catalog_of_an_earlier_muzip_reads_and_gains_the_columns(runner, held, tmp_path):
    old = tmp_path / "old.db"
    old.write_bytes((held / "lib.db").read_bytes())
    with sqlite3.connect(old) as con:
        con.execute("ALTER TABLE tracks DROP COLUMN codec")
        con.execute("ALTER TABLE tracks DROP COLUMN kbps")
    r = runner.invoke(cli, ["dupes", "--db", str(old)])  # read-only: by the extensions
    assert r.exit_code == 0 and "(WAV, 44.1 kHz; best)" in r.stdout, r.output
    before = {row[0]: row[1:] for row in sqlite3.connect(old).execute("SELECT path, embedding, mtime FROM tracks")}
    r = runner.invoke(cli, ["index", "-j", "1", str(held / "music"), "--db", str(old), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["unchanged"] == 3, r.output
    with sqlite3.connect(old) as con:
        assert {"codec", "kbps"} <= {row[1] for row in con.execute("PRAGMA table_info(tracks)")}
        # the unchanged files are not embedded again; their codecs are read from their headers
        stored = {Path(p).name: (c, k) for p, c, k in con.execute("SELECT path, codec, kbps FROM tracks")}
        assert {p: row for p, *row in con.execute("SELECT path, embedding, mtime FROM tracks")} == {
            p: list(row) for p, row in before.items()}
    fresh = {Path(p).name: (c, k) for p, c, k in sqlite3.connect(held / "lib.db").execute(
        "SELECT path, codec, kbps FROM tracks")}
    assert stored == fresh and stored["decoded.wav"][0] == "muzip-v2.7" and stored["clip.flac"] == ("flac", None)
    assert stored["clip.mp3"][0] == "mp3" and 125 < stored["clip.mp3"][1] < 135  # its audio's bitrate
    r = runner.invoke(cli, ["dupes", "--db", str(old)])
    assert "decoded.wav  (muzip-v2.7 at 16 kbps, decoded to WAV)" in r.stdout, r.output


def test_stored_codec_reads_a_header_as_index_would(held, tmp_path):
    from muzip.cli.codec_jobs import get_model
    from muzip.library.sources import stored_codec
    assert stored_codec(str(held / "music" / "clip.flac"), get_model) == ("flac", None)
    codec, kbps = stored_codec(str(held / "music" / "decoded.wav"), get_model)
    assert codec == "muzip-v2.7" and 15 < kbps < 17
    assert stored_codec(str(held / "clip16.mz"), get_model) == ("muzip-v2.7", None)
    (tmp_path / "junk.wav").write_bytes(b"RIFF" + bytes(40))
    assert stored_codec(str(tmp_path / "junk.wav"), get_model) == (None, None)  # left unknown, nothing raised


def test_a_stereo_copy_is_kept_before_a_mono_one():
    """Session 56: a WAV of two equal channels made of a stereo FLAC was the "best" copy (lossless, 2 channels,
    the larger file); the stereo image it lost now ranks it after any stereo copy, lossy ones too."""
    flac = _facts("a.flac", "flac", size_kbps=900)
    dual = {**_facts("a_mono.wav", "pcm"), "mono": True}
    mp3 = {**_facts("a.mp3", "mp3", size_kbps=320), "mono": False}
    one = {**_facts("a1.flac", "flac", size_kbps=500), "channels": 1, "mono": True}
    assert _ranked(one, dual, mp3, flac) == ["a.flac", "a.mp3", "a_mono.wav", "a1.flac"]
    assert copy_label(dual) == "WAV, 44.1 kHz, mono in 2 channels" and copy_label(one) == "FLAC, 44.1 kHz, mono"


def test_dupes_says_which_copy_is_mono(runner, tmp_path):
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    (tmp_path / "music").mkdir()
    sf.write(tmp_path / "music" / "clip.flac", x, sr)
    sf.write(tmp_path / "music" / "clip_mono.wav", np.repeat(x.mean(axis=1, keepdims=True), 2, axis=1), sr)
    r = runner.invoke(cli, ["index", "-q", "-j", "1", str(tmp_path / "music"), "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 0, r.output
    lines = runner.invoke(cli, ["dupes", "--db", str(tmp_path / "lib.db")]).stdout.splitlines()
    assert [line.strip() for line in lines[1:]] == [f"{tmp_path / 'music' / 'clip.flac'}  (FLAC, 44.1 kHz; best)",
                                                    f"{tmp_path / 'music' / 'clip_mono.wav'}  (WAV, 44.1 kHz, mono in "
                                                    "2 channels)"], lines


def test_a_cover_picture_is_not_counted_in_a_copys_bitrate(runner, tmp_path):
    """Session 56: an MP3's bitrate was its bytes over its duration, so a 300-kB cover made a 128-kbps MP3 of 12 s
    read as ~330 kbps, and rank as the better lossy copy."""
    import lameenc
    from mutagen.id3 import APIC, ID3
    x, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    (tmp_path / "music").mkdir()
    sf.write(tmp_path / "music" / "clip.flac", x, sr)
    for name, kbps in (("covered.mp3", 128), ("plain.mp3", 160)):
        enc = lameenc.Encoder()
        enc.set_bit_rate(kbps)
        enc.set_in_sample_rate(sr)
        enc.set_channels(2)
        (tmp_path / "music" / name).write_bytes(enc.encode((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
                                                + enc.flush())
    tags = ID3()
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="front", data=b"\xff\xd8" + bytes(300_000)))
    tags.save(tmp_path / "music" / "covered.mp3")
    r = runner.invoke(cli, ["index", "-q", "-j", "1", str(tmp_path / "music"), "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 0, r.output
    lines = [line.strip() for line in runner.invoke(cli, ["dupes", "--db", str(tmp_path / "lib.db")]).stdout.splitlines()]
    assert lines[2].startswith(str(tmp_path / "music" / "plain.mp3")) and lines[2].endswith("(MP3 at 160 kbps)"), lines
    assert lines[3].startswith(str(tmp_path / "music" / "covered.mp3")), lines  # found: its duration is right too
    assert 126 <= int(lines[3].rsplit("(MP3 at ", 1)[1].split(" kbps)")[0]) <= 130, lines  # ID3 frames, padding
    from muzip.cli.codec_jobs import get_model
    from muzip.library.sources import stored_codec  # an older catalog's track: the same, from its header
    codec, kbps = stored_codec(str(tmp_path / "music" / "covered.mp3"), get_model)
    assert codec == "mp3" and 126 <= kbps <= 130


def test_mono_is_read_below_where_a_lossy_coder_adds_side_of_its_own():
    """An AAC of two equal channels (ffmpeg's, 96 kbps) measured side/mid -9.5 -9.1 -7.4 -3.2 -1.6 -1.4 (log10)
    in the six stereo bands: mono, though its top bands look stereo; music is wide in the low ones too."""
    from muzip.library import descriptors as D
    rows = np.zeros((4, D.DIM))
    rows[:, D.DIM - 6:] = [[-9.5, -9.1, -7.4, -3.2, -1.6, -1.4], [-10] * 6, [-13.2, -13.0, -13.1, -11.1, -8.9, -8.0],
                           [-0.4, -0.7, -1.0, -0.0, -0.2, -0.8]]
    assert D.is_mono(rows).tolist() == [True, True, True, False]


def test_a_mz_cover_picture_is_not_counted_in_its_bitrate(tmp_path, model):
    """A 6-kbps .mz with a large cover ranked above a 128-kbps MP3 as "314 kbps" (a review, session 60): its
    rate is its audio's, as compress says it."""
    from muzip.codec import compress_blocks
    x = (0.1 * np.sin(np.arange(44100 * 4) / 9))[:, None].repeat(2, 1).astype(np.float32)
    with open(tmp_path / "a.mz", "wb") as f:
        compress_blocks([x], 44100, 2, len(x), f, model, 6, cover=("image/png", bytes(300_000)))
    size = (tmp_path / "a.mz").stat().st_size
    mz = {"path": str(tmp_path / "a.mz"), "codec": model.name, "kbps": None, "size": size, "duration": 4.0,
          "rate": 44100, "channels": 2}
    mp3 = {"path": str(tmp_path / "b.mp3"), "codec": "mp3", "kbps": 128.0, "size": 64_000, "duration": 4.0,
           "rate": 44100, "channels": 2}
    assert sorted([mz, mp3], key=best_first)[0] is mp3
    assert copy_label(mz).startswith(f"{model.name} at ") and int(copy_label(mz).split(" at ")[1].split()[0]) < 12
