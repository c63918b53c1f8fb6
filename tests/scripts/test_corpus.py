"""scripts/data/corpus.py (the training / validation split) and scripts/data/render_corpus.py (band mixes, tracker
modules) on a small corpus made here; fast: no Debian packages, no model."""

import json
import os
import struct

import numpy as np
import pytest
import soundfile as sf

from scripts.data import corpus, render_corpus

SR = 44100
FOF = "fretsonfire-songs-muldjord/usr/share/games/fretsonfire/data/songs/muldjord"
WES = "wesnoth-1.16-music/usr/share/games/wesnoth/1.16/data/core/music"


def _wav(path, x, sr=SR):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, x, sr, subtype="FLOAT")
    return path


def _tone(seconds, freq, amp, channels=2, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    x = amp * np.sin(2 * np.pi * freq * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


@pytest.fixture
def raw(tmp_path, monkeypatch):
    """A corpus of 3 packages: wesnoth (one track >= 192 kbps, one below), another package, and 3 band songs of
    which the first 2 (by name) are band validation."""
    r = tmp_path / "raw"
    kbps = {"hi.wav": 256.0, "lo.wav": 128.0}
    _wav(str(r / WES / "hi.wav"), _tone(0.2, 440, 0.1))
    _wav(str(r / WES / "lo.wav"), _tone(0.2, 440, 0.1))
    _wav(str(r / "nexuiz-music/music/a.wav"), _tone(0.2, 220, 0.1))
    for song in ("gamma", "alpha", "beta"):
        _wav(str(r / FOF / song / "song.wav"), _tone(0.3, 110, 0.7))
        _wav(str(r / FOF / song / "guitar.wav"), _tone(0.25, 330, 0.6, channels=1))  # shorter, mono
        _wav(str(r / FOF / song / "preview.wav"), _tone(0.1, 110, 0.5))
    (r / FOF / "alpha" / "notes.mid").write_bytes(b"MThd")
    monkeypatch.setattr(corpus, "file_kbps", lambda p: kbps.get(os.path.basename(p), 1411.2))
    monkeypatch.setattr(corpus, "BAND_VALIDATION_SONGS", 2)
    return str(r)


def test_band_songs_and_deterministic_validation_choice(raw):
    songs = corpus.band_songs(raw)
    assert sorted(songs) == ["alpha", "beta", "gamma"]
    assert [os.path.basename(p) for p in songs["alpha"]] == ["guitar.wav", "song.wav"]  # no preview, no .mid
    assert corpus.band_validation_songs(raw) == ["alpha", "beta"]
    held = corpus.band_held_out(raw)
    assert len(held) == 6 and all(os.path.isabs(p) for p in held)  # 2 songs x (2 stems + preview)
    assert not any("gamma" in p for p in held)


def test_split_keeps_wesnoth_validation_and_leaves_band_validation_out_of_training(raw):
    train, val = corpus.split(raw)
    names = lambda ps: sorted(os.path.relpath(p, raw) for p in ps)  # noqa: E731
    assert names(val) == [f"{WES}/hi.wav"]
    assert names(train) == sorted([f"{WES}/lo.wav", "nexuiz-music/music/a.wav", f"{FOF}/gamma/guitar.wav",
                                   f"{FOF}/gamma/preview.wav", f"{FOF}/gamma/song.wav"])
    assert not set(train) & set(val)
    train_first, val_first = corpus.split(raw, packages=("wesnoth-1.16-music", "nexuiz-music"))
    assert val_first == val and names(train_first) == sorted([f"{WES}/lo.wav", "nexuiz-music/music/a.wav"])
    assert corpus.package_of(val[0], raw) == "wesnoth-1.16-music"


def test_validation_sets_by_name(raw, tmp_path):
    band = str(tmp_path / "band")
    assert corpus.validation_set("wesnoth", raw, band) == corpus.split(raw)[1]
    with pytest.raises(SystemExit, match="render_corpus"):
        corpus.validation_set("band", raw, band)  # not rendered yet
    with pytest.raises(ValueError, match="unknown validation set"):
        corpus.validation_set("nope", raw, band)
    outs = render_corpus.render_band(raw, band)
    assert corpus.validation_set("band", raw, band) == outs == [os.path.join(band, "alpha.flac"),
                                                                 os.path.join(band, "beta.flac")]
    assert tuple(corpus.VALIDATION_SETS) == ("wesnoth", "band")


def test_band_mix_is_the_sum_of_the_stems_scaled_under_the_peak(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(render_corpus, "BLOCK", 1000)  # several blocks, a partial last one
    band = str(tmp_path / "band")
    render_corpus.render_band(raw, band)
    stems = corpus.band_songs(raw)["alpha"]
    want = sf.read(stems[1], always_2d=True)[0].astype(np.float64)        # song.wav (stereo, 0.3 s)
    g = sf.read(stems[0], always_2d=True)[0][:, 0].astype(np.float64)    # guitar.wav (mono, 0.25 s)
    want[: len(g)] += g[:, None]
    info = sf.info(os.path.join(band, "alpha.flac"))
    assert (info.samplerate, info.channels, info.format, info.subtype) == (SR, 2, "FLAC", "PCM_16")
    got = sf.read(os.path.join(band, "alpha.flac"), always_2d=True)[0]
    assert len(got) == len(want)
    peak = 10 ** (render_corpus.BAND_PEAK_DBFS / 20)
    gain = peak / np.abs(want).max()                                       # the sum peaks at 1.3: scaled
    assert np.abs(got - want * gain).max() < 2 / 32768
    assert np.abs(got).max() == pytest.approx(peak, abs=1 / 32768)
    man = json.loads((tmp_path / "band" / "manifest.json").read_text())
    assert sorted(man) == ["alpha", "beta"]
    assert man["alpha"]["stems"] == ["guitar.wav", "song.wav"] and man["alpha"]["source"] == f"{FOF}/alpha"
    assert man["alpha"]["gain_db"] == pytest.approx(20 * np.log10(gain), abs=0.01)
    # kept on a second run; a quiet sum is not scaled up
    mtime = os.path.getmtime(os.path.join(band, "alpha.flac"))
    render_corpus.render_band(raw, band)
    assert os.path.getmtime(os.path.join(band, "alpha.flac")) == mtime
    quiet = [_wav(str(tmp_path / "q" / n), _tone(0.1, 100, 0.1)) for n in ("a.wav", "b.wav")]
    assert render_corpus.mix_song(quiet, str(tmp_path / "q.flac"))["gain_db"] == 0.0


def _tiny_mod(path):
    """A 4-channel ProTracker module: one pattern whose first row plays a looped square wave (64 rows at speed 6,
    125 BPM: 7.68 s)."""
    samples = struct.pack(">22sHBBHH", b"square", 32, 0, 64, 0, 32) + struct.pack(">22sHBBHH", b"", 0, 0, 0, 0, 1) * 30
    head = b"tiny".ljust(20, b"\0") + samples + bytes([1, 127]) + bytes(128) + b"M.K."
    pattern = bytearray(64 * 4 * 4)
    pattern[0:4] = bytes([0x00 | (428 >> 8), 428 & 0xFF, 0x10, 0x00])  # sample 1, period 428 (C-2)
    with open(path, "wb") as f:
        f.write(head + bytes(pattern) + bytes([100] * 32 + [156] * 32))


def test_tracker_module_renders_once_through(tmp_path):
    lib = render_corpus.find_libxmp(os.path.join(os.path.dirname(__file__), "..", "..", "data", "tools"))
    if lib is None:
        pytest.skip("libxmp not found (scripts/data/fetch_corpus.sh unpacks it into data/tools)")
    raw = tmp_path / "raw"
    os.makedirs(raw / "fb-music-high/usr/share/snd")
    _tiny_mod(str(raw / "fb-music-high/usr/share/snd/tiny.mod"))
    tools = os.path.join(os.path.dirname(__file__), "..", "..", "data", "tools")
    outs = render_corpus.render_modules(str(raw), tools)
    assert outs == [str(raw / "fb-music-high/rendered/tiny.flac")]
    x, sr = sf.read(outs[0], always_2d=True)
    assert sr == SR and x.shape[1] == 2
    assert 7.0 < len(x) / SR < 8.5
    assert np.sqrt(np.mean(x[: SR] ** 2)) > 0.01
    assert corpus.audio_files(str(raw)) == outs  # the rendering is training audio; the module is not
