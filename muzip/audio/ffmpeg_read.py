"""What libsndfile cannot open, decoded whole by ffmpeg (through pydub): M4A, AAC, WMA, ... (read.AudioSource).

Every failure is an AudioReadError that says what the file is: a muzip .mz, a native format's corrupt data, audio
that needs ffmpeg, or no audio at all. ffprobe says the codec (AAC or ALAC in an M4A), a lossless stream's bits,
and for an MP4 the length its edit list states: ffmpeg 5 hands over the AAC encoder's padding at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import AudioReadError
from .ffmpeg_resume import a_cut_frame
from .layouts import ffmpeg_layout
from .probe import (
    LOSSLESS_CODECS, claimed_native_format, looks_like_ffmpeg_audio, riff_cut_note, riff_data_cut, riff_format,
    stream_facts, trim_to_stated,
)
from .wavstream import int24_to_float


def ffmpeg_available() -> bool:
    """pydub needs both ffmpeg (decode) and ffprobe (stream info)."""
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


@dataclass
class Decoded:
    samples: np.ndarray  # (frames, channels) float32
    rate: int
    ext: str  # the format's name: the file's extension ("m4a"), else "ffmpeg"
    codec: str | None
    bits: int | None
    # notes of a WAV's data chunk cut short and of the errors ffmpeg found while decoding (ffmpeg_report)
    damage: list[str] = field(default_factory=list)
    layout: tuple | None = None  # where each channel plays (layouts.MASK_SPEAKERS), as the container says


def _head_says_mp4(path: str) -> bool:
    """An ISO base media file (M4A, MP4, 3GP, MOV with ftyp), by its first box."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8)[4:8] == b"ftyp"
    except OSError:
        return False


# How a file in each format libsndfile reads begins, whatever follows (damage there is "corrupt", not "not audio")
_STARTS = {"WAV": (b"RIFF", b"RF64", b"BW64"), "FLAC": b"fLaC", "Ogg": b"OggS", "AIFF": b"FORM"}


def mz_not_audio(path: str) -> AudioReadError:
    """What is said of a .mz given where audio is read."""
    return AudioReadError(f"{path}: a muzip .mz file, not audio (`muzip decompress` decodes it)")


def _riff(path: str, probe):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        return probe(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def _pydub_read(path: str, segment):
    """pydub asks ffmpeg for PCM of the stream's own bits per sample, which a 4-bit ADPCM stream has no encoder
    for (a G.722 WAV: "Unknown encoder 'pcm_s4le'"); its decoder named, pydub takes ffmpeg's 16-bit PCM.
    pydub reads a file named .wav itself, as PCM whatever an extensible fmt chunk's subformat says (an MP3 as
    noise): such a file goes to ffmpeg under another name (a link; piped, ffmpeg cannot seek in it)."""
    fmt = _riff(path, riff_format)
    try:
        if fmt is not None and fmt[1] and fmt[0] != 1:
            with tempfile.TemporaryDirectory(prefix="muzip-") as tmp:
                os.symlink(os.path.abspath(path), os.path.join(tmp, "audio"))
                return segment.from_file(os.path.join(tmp, "audio"))
        return segment.from_file(path)
    except Exception as e:  # noqa: BLE001 - pydub raises assorted errors
        codec = stream_facts(path)[1]
        if "Unknown encoder 'pcm_" not in str(e) or not codec or codec == "pcm":
            raise
        return segment.from_file(path, codec=codec)


def _no_mp3_audio(path: str) -> bool:
    from .mp3_frames import states_no_audio
    try:
        with open(path, "rb") as f:
            return bool(states_no_audio(f.fileno()))
    except (OSError, ValueError, IndexError):
        return False


def decode_whole(path: str, sf_msg: str) -> Decoded:
    """`path` decoded by ffmpeg; sf_msg: what libsndfile said of it (for the message where ffmpeg fails too)."""
    from ..container.format import MAGIC
    with open(path, "rb") as f:
        first = f.read(4)
        if first == MAGIC:  # said as what it is, not left to ffmpeg to fail on
            raise mz_not_audio(path)
    native = claimed_native_format(path)
    if native in _STARTS and not first.startswith(_STARTS[native]):  # an MP3 may start with junk, not these
        raise AudioReadError(f"{path}: not audio (named as {native}, but it does not start as {native} data)")
    audio_like = native is not None or looks_like_ffmpeg_audio(path)
    if not ffmpeg_available():
        if native:
            raise AudioReadError(f"{path}: corrupt or truncated {native} data (libsndfile: {sf_msg})")
        if audio_like:
            raise AudioReadError(f"{path}: format not supported by libsndfile; install ffmpeg to read it")
        raise AudioReadError(f"{path}: not an audio file (libsndfile: {sf_msg})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    from .ffmpeg_report import ffmpeg_errors
    try:
        with ffmpeg_errors() as said:
            seg = _pydub_read(path, AudioSegment)
        if seg.channels < 1 or seg.sample_width not in (1, 2, 3, 4) or seg.frame_rate < 1:
            raise ValueError(f"unusable stream ({seg.channels} ch, {seg.sample_width}-byte samples)")
    except Exception as e:  # noqa: BLE001 - pydub raises assorted errors
        lines = [ln for ln in str(e).splitlines() if ln.strip()]
        detail = lines[-1].strip()[:200] if lines else type(e).__name__
        if native == "MP3" and _no_mp3_audio(path):
            raise AudioReadError(f"{path}: no audio in it (an MP3 whose Info frame states 0 frames)") from None
        if native:
            raise AudioReadError(f"{path}: corrupt or truncated {native} data (libsndfile: {sf_msg})") from None
        if audio_like:
            raise AudioReadError(f"{path}: cannot decode (ffmpeg: {detail})") from None
        raise AudioReadError(f"{path}: not an audio file (libsndfile: {sf_msg})") from None
    width = seg.sample_width
    if width == 1:
        data = (np.frombuffer(seg.raw_data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        data = int24_to_float(seg.raw_data)
    else:
        raw = np.frombuffer(seg.raw_data[: len(seg.raw_data) // width * width], dtype=f"<i{width}")
        data = raw.astype(np.float32) / float(2 ** (8 * width - 1))
    ch = seg.channels
    mem = data[: len(data) // ch * ch].reshape(-1, ch)
    stated, codec, bits = stream_facts(path)
    if codec in LOSSLESS_CODECS and not bits:
        bits = 8 * width  # what ffmpeg handed over: pydub asks for 24 or 32 bits where the stream has them
    if _head_says_mp4(path):
        # ffmpeg hands over the AAC encoder's padding at the end (a 10.000 s M4A decodes to 441344
        # samples); the MP4's edit list (ffprobe's duration_ts) states the exact length. Only MP4s:
        # elsewhere (ADTS, MP3 without a Xing frame) ffprobe's length is a bitrate estimate.
        mem = mem[: trim_to_stated(mem.shape[0], stated)]
    ext = os.path.splitext(path)[1].lower().lstrip(".") or "ffmpeg"
    cut = _riff(path, riff_data_cut)
    cut = [riff_cut_note(cut, f"{mem.shape[0] / seg.frame_rate:.3f} s ({mem.shape[0]} samples)")] if cut else []
    if cut:  # a frame cut off at the end of a WAV cut short is the cut (said); other damage is still said
        said = [line for line in said if not a_cut_frame(line)]
    more = f"; {len(said) - 1} more message{'s' if len(said) > 2 else ''}" if len(said) > 1 else ""
    damage = cut + ([f"ffmpeg found the data damaged while decoding it ({said[0][:200]}{more}); read what it gave"]
                    if said else [])
    layout = ffmpeg_layout(path, ch) if ch > 2 else None  # where each channel plays, for --downmix
    return Decoded(mem, seg.frame_rate, ext, codec, bits, damage, layout)
