"""Render the parts of the corpus that are not plain audio files (run by scripts/data/fetch_corpus.sh):

    .venv/bin/python -m scripts.data.render_corpus [--raw data/raw] [--band data/band] [--tools data/tools] [--force]

1. Tracker modules (.xm .mod .s3m .it; fb-music-high's frozen-mainzik-2p.xm) -> PKG/rendered/NAME.flac beside the
   package, so that they are training audio: libxmp (Debian's libxmp4, unpacked by fetch_corpus.sh into
   data/tools/libxmp4 and loaded with ctypes; else a system libxmp), 44.1 kHz stereo 16-bit, cubic-spline
   interpolation, played once through (until the module ends or first loops back), at most MAX_MODULE_S.
2. Band-validation full mixes (scripts/data/corpus.py band_validation_songs()) -> data/band/SONG.flac: the sum of
   the song folder's stems (Frets on Fire plays song.ogg, the backing band, with guitar.ogg and any other stem at
   once), scaled by one gain per song so that its peak is BAND_PEAK_DBFS when the sum would exceed it (the stems
   are mastered loud: their sum peaks near +6 dBFS), 44.1 kHz stereo 16-bit FLAC. Streamed in blocks (bounded
   memory; two passes: peak, then write). data/band/manifest.json records each mix's stems, gain and length.

Files already rendered are kept (--force renders again). The output is deterministic for given inputs.
"""

import argparse
import ctypes
import ctypes.util
import glob
import json
import os
import sys

import numpy as np
import soundfile as sf

from scripts.data.corpus import BAND_DIR, band_songs, band_validation_songs

SR = 44100
BLOCK = 1 << 16                 # frames per block
BAND_PEAK_DBFS = -1.0
MODULE_EXTS = (".xm", ".mod", ".s3m", ".it")
MAX_MODULE_S = 20 * 60
XMP_PLAYER_INTERP, XMP_INTERP_SPLINE, XMP_END = 2, 2, 1   # xmp.h (libxmp 4)


def log(msg):
    print(f"render_corpus: {msg}", file=sys.stderr, flush=True)


def _replace(tmp, out):
    os.replace(tmp, out)
    return out


# ---------------------------------------------------------------- band mixes

def _stereo(x):
    return np.repeat(x, 2, axis=1) if x.shape[1] == 1 else x[:, :2]


def _blocks(stems):
    """Yield the stems' sum, (n, 2) float64 blocks; shorter stems are padded with silence."""
    files = [sf.SoundFile(p) for p in stems]
    try:
        for f, p in zip(files, stems):
            if f.samplerate != SR:
                raise ValueError(f"{p}: {f.samplerate} Hz (the band stems are expected at {SR} Hz)")
        while True:
            parts = [_stereo(f.read(BLOCK, dtype="float64", always_2d=True)) for f in files]
            n = max(len(x) for x in parts)
            if n == 0:
                return
            mix = np.zeros((n, 2))
            for x in parts:
                mix[: len(x)] += x
            yield mix
    finally:
        for f in files:
            f.close()


def mix_song(stems, out, peak_dbfs=BAND_PEAK_DBFS):
    """Write the sum of the stems to out (44.1 kHz stereo 16-bit FLAC); returns the manifest entry."""
    peak = frames = 0
    for mix in _blocks(stems):
        peak = max(peak, float(np.max(np.abs(mix))))
        frames += len(mix)
    target = 10 ** (peak_dbfs / 20)
    gain = target / peak if peak > target else 1.0
    tmp = out + ".tmp"
    with sf.SoundFile(tmp, "w", SR, 2, "PCM_16", format="FLAC") as f:
        for mix in _blocks(stems):
            f.write(mix * gain)
    _replace(tmp, out)
    return dict(stems=[os.path.basename(p) for p in stems], seconds=round(frames / SR, 3),
                peak_of_sum_dbfs=round(20 * np.log10(peak), 2) if peak else None, gain_db=round(20 * np.log10(gain), 2))


def render_band(raw="data/raw", band=BAND_DIR, force=False):
    """Render the band-validation mixes into band/; returns their paths."""
    songs = band_songs(raw)
    os.makedirs(band, exist_ok=True)
    manifest_path = os.path.join(band, "manifest.json")
    try:
        with open(manifest_path) as fh:
            manifest = json.load(fh)
    except (OSError, ValueError):
        manifest = {}
    outs = []
    for song in band_validation_songs(raw):
        out = os.path.join(band, f"{song}.flac")
        outs.append(out)
        if os.path.isfile(out) and song in manifest and not force:
            continue
        manifest[song] = mix_song(songs[song], out)
        manifest[song]["source"] = os.path.relpath(os.path.dirname(songs[song][0]), raw)
        log(f"{out}: {' + '.join(manifest[song]['stems'])}, {manifest[song]['seconds']:.1f} s, "
            f"gain {manifest[song]['gain_db']:+.2f} dB")
    with open(manifest_path + ".tmp", "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
    _replace(manifest_path + ".tmp", manifest_path)
    return outs


# ---------------------------------------------------------------- tracker modules (libxmp)

def find_libxmp(tools="data/tools"):
    for p in sorted(glob.glob(os.path.join(tools, "libxmp4", "usr", "lib", "**", "libxmp.so*"), recursive=True)):
        return p
    return ctypes.util.find_library("xmp")


def load_libxmp(path):
    lib = ctypes.CDLL(path)
    lib.xmp_create_context.restype = ctypes.c_void_p
    lib.xmp_load_module.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.xmp_start_player.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.xmp_set_player.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.xmp_play_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    for name in ("xmp_end_player", "xmp_release_module", "xmp_free_context"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
        getattr(lib, name).restype = None
    return lib


def render_module(lib, path, out, max_s=MAX_MODULE_S):
    """Play the module once through into out (44.1 kHz stereo 16-bit FLAC); returns its length in seconds."""
    ctx = lib.xmp_create_context()
    if lib.xmp_load_module(ctx, os.fsencode(path)) != 0:
        lib.xmp_free_context(ctx)
        raise RuntimeError(f"libxmp cannot load {path}")
    frames = 0
    tmp = out + ".tmp"
    try:
        if lib.xmp_start_player(ctx, SR, 0) != 0:  # format 0: signed 16-bit stereo
            raise RuntimeError(f"libxmp cannot play {path}")
        lib.xmp_set_player(ctx, XMP_PLAYER_INTERP, XMP_INTERP_SPLINE)
        buf = np.zeros((4096, 2), np.int16)
        with sf.SoundFile(tmp, "w", SR, 2, "PCM_16", format="FLAC") as f:
            while frames < max_s * SR:
                if lib.xmp_play_buffer(ctx, buf.ctypes.data, buf.nbytes, 1) == -XMP_END:  # 1: stop at first loop
                    break
                f.write(buf)
                frames += len(buf)
        lib.xmp_end_player(ctx)
    finally:
        lib.xmp_release_module(ctx)
        lib.xmp_free_context(ctx)
    _replace(tmp, out)
    return frames / SR


def module_files(raw="data/raw"):
    found = glob.glob(os.path.join(raw, "**", "*"), recursive=True)
    return sorted(p for p in found if p.lower().endswith(MODULE_EXTS) and os.path.isfile(p))


def rendered_path(raw, module):
    """raw/PKG/.../NAME.xm -> raw/PKG/rendered/NAME.flac"""
    pkg = os.path.relpath(module, raw).split(os.sep)[0]
    return os.path.join(raw, pkg, "rendered", os.path.splitext(os.path.basename(module))[0] + ".flac")


def render_modules(raw="data/raw", tools="data/tools", force=False):
    modules = module_files(raw)
    if not modules:
        return []
    lib_path = find_libxmp(tools)
    if lib_path is None:
        log(f"libxmp not found (fetch_corpus.sh unpacks it into {tools}/libxmp4): {len(modules)} tracker "
            "module(s) not rendered, left out of the corpus")
        return []
    lib = load_libxmp(lib_path)
    outs = []
    for m in modules:
        out = rendered_path(raw, m)
        outs.append(out)
        if os.path.isfile(out) and not force:
            continue
        os.makedirs(os.path.dirname(out), exist_ok=True)
        log(f"{out}: {render_module(lib, m, out):.1f} s from {os.path.basename(m)}")
    return outs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raw", default="data/raw", help="the unpacked packages (default data/raw)")
    ap.add_argument("--band", default=BAND_DIR, help=f"where the band-validation mixes go (default {BAND_DIR})")
    ap.add_argument("--tools", default="data/tools", help="where fetch_corpus.sh unpacked libxmp4 (default data/tools)")
    ap.add_argument("--force", action="store_true", help="render again files that exist")
    a = ap.parse_args(argv)
    render_modules(a.raw, a.tools, a.force)
    if band_songs(a.raw):
        render_band(a.raw, a.band, a.force)
    else:
        log(f"no band songs under {a.raw}: band validation mixes not rendered")


if __name__ == "__main__":
    main()
