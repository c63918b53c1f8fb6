"""Audio input/output: streaming readers, a PCM-16 writer and a streaming resampler.

Reading: anything libsndfile opens (WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF...) is
streamed with soundfile in constant memory; other formats (m4a, aac, wma...) are
decoded in memory with pydub + ffmpeg; ``-`` streams a WAV from stdin.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
import warnings
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf

from .errors import AudioFormatError, AudioReadError
from .tags import add_flac_tags, clean_tags, read_tags, set_soundfile_tags

MIN_RATE, MAX_RATE = 8000, 192000

# Fixed downmix scale for 5.1: the worst case of L + 0.707*C + 0.707*Ls is
# 1 + 2*0.7071 = 2.414, so multiplying by 1/2.414 (~0.414, about -7.7 dB) can never
# clip.  Other channel counts are plain averages, which cannot clip (scale 1).
_M = 0.7071
DOWNMIX_51_SCALE = 1.0 / (1.0 + 2 * _M)

# Extensions / magic numbers that are audio, but need ffmpeg.
_FFMPEG_EXTS = {
    "m4a", "m4b", "mp4", "aac", "adts", "wma", "asf", "alac", "ape", "wv", "mka", "mkv",
    "webm", "ac3", "eac3", "dts", "amr", "3gp", "3g2", "ra", "rm", "mpc", "tta", "mov",
    "avi", "opus", "mp3", "mp2", "ogg", "oga", "spx", "aif", "aiff", "caf", "dsf", "dff",
}


def _looks_like_ffmpeg_audio(path: str) -> bool:
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext in _FFMPEG_EXTS:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return (
        head[4:8] == b"ftyp"  # MP4 / M4A / 3GP
        or head[:4] == b"\x30\x26\xb2\x75"  # ASF (WMA)
        or (len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0)  # AAC ADTS
        or head[:4] in (b"MAC ", b"wvpk", b"\x1a\x45\xdf\xa3", b".ra\xfd", b"OggS")
        or head[:5] == b"#!AMR"
    )


def ffmpeg_available() -> bool:
    """pydub needs both ffmpeg (decode) and ffprobe (stream info)."""
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


@dataclass
class AudioInfo:
    sample_rate: int
    channels: int  # output channels (after any downmix)
    num_samples: int | None  # frames per channel; None when unknown (streamed stdin WAV)
    format: str  # "wav", "flac", "ogg", "mp3", "m4a", ...
    tags: dict[str, str] = field(default_factory=dict)


def downmix_to_stereo(x: np.ndarray) -> np.ndarray:
    """Mix (n, c>2) float32 to (n, 2).

    6 channels are taken as 5.1 in L R C LFE Ls Rs order: L' = L + .707C + .707Ls,
    R' = R + .707C + .707Rs, LFE dropped, then scaled by DOWNMIX_51_SCALE (fixed, no
    clipping possible).  Other counts: L' = mean of even channels, R' = mean of odd ones.
    """
    c = x.shape[1]
    if c <= 2:
        return x
    if c == 6:
        left = x[:, 0] + _M * x[:, 2] + _M * x[:, 4]
        right = x[:, 1] + _M * x[:, 2] + _M * x[:, 5]
        out = np.stack([left, right], axis=1) * DOWNMIX_51_SCALE
    else:
        out = np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1)
    return np.ascontiguousarray(out, dtype=np.float32)


class AudioSource:
    """Open an audio file (or ``-`` for a WAV on stdin) for single-pass block reading."""

    def __init__(self, path_or_dash: str, downmix: bool = False, stdin: BinaryIO | None = None):
        self.path = path_or_dash
        self.name = "-" if path_or_dash == "-" else os.fspath(path_or_dash)
        self._downmix = downmix
        self._sf: sf.SoundFile | None = None
        self._wav: _WavStreamReader | None = None
        self._mem: np.ndarray | None = None
        if self.path == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            self._wav = _WavStreamReader(stream, "-")
            rate, in_ch, frames, fmt, tags = self._wav.rate, self._wav.channels, self._wav.frames, "wav", {}
        else:
            rate, in_ch, frames, fmt, tags = self._open_path(self.name)
        self.source_channels = in_ch
        try:
            if not (MIN_RATE <= rate <= MAX_RATE):
                raise AudioFormatError(
                    f"{self.name}: sample rate {rate} Hz not supported (muzip reads {MIN_RATE}..{MAX_RATE} Hz)")
            if in_ch < 1:
                raise AudioFormatError(f"{self.name}: no audio channels")
            if in_ch > 2 and not downmix:
                raise AudioFormatError(
                    f"{self.name}: {in_ch} channels; muzip codes mono or stereo (use --downmix)")
        except BaseException:
            self.close()
            raise
        self.info = AudioInfo(rate, min(in_ch, 2), frames, fmt, tags)

    # -- opening -------------------------------------------------------------------------
    def _open_path(self, path: str):
        if os.path.isdir(path):
            raise AudioReadError(f"{path}: is a directory")
        try:
            size = os.path.getsize(path)
        except FileNotFoundError:
            raise AudioReadError(f"{path}: no such file") from None
        except OSError as e:
            raise AudioReadError(f"{path}: cannot read ({e.strerror})") from None
        if size == 0:
            raise AudioReadError(f"{path}: empty file")
        try:
            f = sf.SoundFile(path)
        except PermissionError:
            raise AudioReadError(f"{path}: permission denied") from None
        except Exception as e:  # noqa: BLE001 - libsndfile rejected it; maybe ffmpeg can
            sf_msg = str(getattr(e, "error_string", "") or e).strip().rstrip(".")
            return self._open_ffmpeg(path, sf_msg)
        self._sf = f
        tags = read_tags(path, f)
        frames = f.frames if 0 <= f.frames < 2**62 else None
        return f.samplerate, f.channels, frames, f.format.lower(), tags

    def _open_ffmpeg(self, path: str, sf_msg: str):
        audio_like = _looks_like_ffmpeg_audio(path)
        if not ffmpeg_available():
            if audio_like:
                raise AudioReadError(f"{path}: format not supported by libsndfile; install ffmpeg to read it")
            raise AudioReadError(f"{path}: not an audio file (libsndfile: {sf_msg})")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pydub import AudioSegment
        try:
            seg = AudioSegment.from_file(path)
        except Exception as e:  # noqa: BLE001 - pydub raises assorted errors
            lines = [ln for ln in str(e).splitlines() if ln.strip()]
            detail = lines[-1].strip()[:200] if lines else type(e).__name__
            if audio_like:
                raise AudioReadError(f"{path}: cannot decode (ffmpeg: {detail})") from None
            raise AudioReadError(f"{path}: not an audio file (libsndfile: {sf_msg})") from None
        width = seg.sample_width
        raw = np.frombuffer(seg.raw_data, dtype={1: np.uint8, 2: "<i2", 4: "<i4"}.get(width, np.uint8))
        if width == 1:
            data = (raw.astype(np.float32) - 128.0) / 128.0
        elif width == 3:
            data = _int24_to_float(seg.raw_data)
        else:
            data = raw.astype(np.float32) / float(2 ** (8 * width - 1))
        ch = seg.channels
        self._mem = data[: len(data) // ch * ch].reshape(-1, ch)
        ext = os.path.splitext(path)[1].lower().lstrip(".") or "ffmpeg"
        return seg.frame_rate, ch, self._mem.shape[0], ext, read_tags(path)

    # -- reading -------------------------------------------------------------------------
    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        """Yield float32 blocks of shape (n, channels), 0 < n <= block_frames, in order."""
        if block_frames <= 0:
            raise ValueError("block_frames must be positive")
        for block in self._raw_blocks(block_frames):
            if block.shape[0] == 0:
                continue
            if block.shape[1] > 2:
                block = downmix_to_stereo(block)
            yield np.ascontiguousarray(block, dtype=np.float32)

    def _raw_blocks(self, n: int) -> Iterator[np.ndarray]:
        if self._sf is not None:
            while True:
                b = self._sf.read(n, dtype="float32", always_2d=True)
                if b.shape[0] == 0:
                    return
                yield b
        elif self._wav is not None:
            yield from self._wav.blocks(n)
        elif self._mem is not None:
            for i in range(0, self._mem.shape[0], n):
                yield self._mem[i : i + n]

    def close(self) -> None:
        if self._sf is not None:
            self._sf.close()
            self._sf = None
        self._mem = None
        self._wav = None

    def __enter__(self) -> "AudioSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _int24_to_float(buf: bytes) -> np.ndarray:
    b = np.frombuffer(buf[: len(buf) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    v = np.where(v >= 1 << 23, v - (1 << 24), v)
    return v.astype(np.float32) / float(1 << 23)


# ---------------------------------------------------------------------------------------
# WAV on a non-seekable stream
# ---------------------------------------------------------------------------------------

_WAVE_FORMAT_PCM, _WAVE_FORMAT_FLOAT, _WAVE_FORMAT_EXTENSIBLE = 1, 3, 0xFFFE


class _WavStreamReader:
    """Minimal RIFF/RF64 WAVE parser for pipes: PCM 8/16/24/32-bit, float 32/64-bit."""

    def __init__(self, stream: BinaryIO, name: str):
        self.stream, self.name = stream, name
        head = self._read(12)
        if len(head) == 0:
            raise AudioReadError(f"{name}: empty input")
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            raise AudioReadError(f"{name}: not a WAV stream (stdin must be RIFF/WAVE)")
        ds64_data = None
        fmt = None
        while True:
            ch = self._read(8)
            if len(ch) < 8:
                raise AudioReadError(f"{name}: truncated WAV header (no data chunk)")
            cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
            if cid == b"data":
                break
            if size == 0xFFFFFFFF:
                raise AudioReadError(f"{name}: malformed WAV header")
            body = self._read(size + (size & 1))
            if len(body) < size:
                raise AudioReadError(f"{name}: truncated WAV header")
            if cid == b"fmt ":
                fmt = body[:size]
            elif cid == b"ds64" and size >= 16:
                ds64_data = struct.unpack("<Q", body[8:16])[0]
        if fmt is None or len(fmt) < 16:
            raise AudioReadError(f"{name}: WAV stream has no fmt chunk before data")
        tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
            tag = struct.unpack("<H", fmt[24:26])[0]
        width = bits // 8
        ok = (tag == _WAVE_FORMAT_PCM and bits in (8, 16, 24, 32)) or (
            tag == _WAVE_FORMAT_FLOAT and bits in (32, 64))
        if not ok:
            raise AudioReadError(f"{name}: unsupported WAV encoding (format {tag:#x}, {bits}-bit)")
        if channels < 1:
            raise AudioReadError(f"{name}: WAV stream has 0 channels")
        self.tag, self.width, self.rate, self.channels = tag, width, rate, channels
        self.frame_bytes = width * channels
        if head[:4] == b"RF64" and size == 0xFFFFFFFF and ds64_data is not None:
            size = ds64_data
        if size in (0, 0xFFFFFFFF):
            self.frames = None  # streaming convention: read to EOF
        else:
            self.frames = size // self.frame_bytes
        self._remaining = self.frames

    def _read(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            b = self.stream.read(n - got)
            if not b:
                break
            chunks.append(b)
            got += len(b)
        return b"".join(chunks)

    def _decode(self, buf: bytes) -> np.ndarray:
        if self.tag == _WAVE_FORMAT_FLOAT:
            x = np.frombuffer(buf, dtype="<f4" if self.width == 4 else "<f8").astype(np.float32)
        elif self.width == 1:
            x = (np.frombuffer(buf, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
        elif self.width == 2:
            x = np.frombuffer(buf, dtype="<i2").astype(np.float32) / 32768.0
        elif self.width == 3:
            x = _int24_to_float(buf)
        else:
            x = (np.frombuffer(buf, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
        return x.reshape(-1, self.channels)

    def blocks(self, n: int) -> Iterator[np.ndarray]:
        """Yield blocks; an early EOF just ends the stream (num_samples is then an over-estimate)."""
        while self._remaining is None or self._remaining > 0:
            want = n if self._remaining is None else min(n, self._remaining)
            buf = self._read(want * self.frame_bytes)
            whole = len(buf) // self.frame_bytes
            if whole == 0:
                return
            if self._remaining is not None:
                self._remaining -= whole
            yield self._decode(buf[: whole * self.frame_bytes])
            if whole < want:
                return


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def _wav_header(sample_rate: int, channels: int, data_bytes: int | None) -> bytes:
    if data_bytes is None or data_bytes > 0xFFFFFFFF - 36:
        riff = data = 0xFFFFFFFF
    else:
        riff, data = 36 + data_bytes, data_bytes
    return (
        b"RIFF" + struct.pack("<I", riff) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, _WAVE_FORMAT_PCM, channels, sample_rate,
                                sample_rate * channels * 2, channels * 2, 16)
        + b"data" + struct.pack("<I", data)
    )


def _seekable(f) -> bool:
    try:
        return bool(f.seekable())
    except Exception:  # noqa: BLE001
        return False


class AudioSink:
    """Write float32 blocks as 16-bit PCM, to ``"wav"`` (streams to pipes) or ``"flac"``.

    ``fileobj`` is a binary file object (or a path).  WAV headers are written up front
    from ``num_samples`` (0xFFFFFFFF sizes if unknown, patched in close() when the file
    is seekable).  FLAC needs a seekable target; it is written with soundfile and tags
    become Vorbis comments.
    """

    def __init__(self, fileobj, sample_rate: int, channels: int, format: str = "wav",
                 num_samples: int | None = None, tags: dict | None = None):
        self._own = isinstance(fileobj, (str, os.PathLike))
        self.f = open(fileobj, "w+b") if self._own else fileobj
        self.rate, self.channels, self.format = int(sample_rate), int(channels), format.lower()
        self.num_samples, self.frames_written = num_samples, 0
        self.tags = clean_tags(tags)
        self._closed = False
        self._sf: sf.SoundFile | None = None
        if self.format == "wav":
            self._seekable = _seekable(self.f)
            self._start = self.f.tell() if self._seekable else 0
            data = None if num_samples is None else num_samples * self.channels * 2
            self.f.write(_wav_header(self.rate, self.channels, data))
        elif self.format == "flac":
            if not _seekable(self.f):
                raise ValueError("FLAC output needs a seekable file (use WAV for pipes)")
            self._sf = sf.SoundFile(self.f, "w", samplerate=self.rate, channels=self.channels,
                                    format="FLAC", subtype="PCM_16")
            set_soundfile_tags(self._sf, self.tags)
        else:
            raise ValueError(f"unsupported output format {format!r} (wav or flac)")

    def write(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            raise ValueError(f"block has {x.shape[1]} channels, sink expects {self.channels}")
        # x * 32768 matches soundfile's int16 -> float32 (/32768), so 16-bit audio
        # passes through bit-exactly; +1.0 clips to 32767.
        pcm = np.clip(np.round(np.clip(x, -1.0, 1.0) * 32768.0), -32768, 32767).astype("<i2")
        if self._sf is not None:
            self._sf.write(pcm)
        else:
            self.f.write(pcm.tobytes())
        self.frames_written += x.shape[0]

    def close(self, _check: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._sf is not None:
                self._sf.close()
                add_flac_tags(self.f, self.tags)
            elif self.num_samples != self.frames_written:
                if self._seekable:
                    end = self.f.tell()
                    data = self.frames_written * self.channels * 2
                    self.f.seek(self._start)
                    self.f.write(_wav_header(self.rate, self.channels, data))
                    self.f.seek(end)
                elif self.num_samples is not None and _check:
                    raise ValueError(f"WAV header promised {self.num_samples} frames, "
                                     f"{self.frames_written} written to a non-seekable stream")
            self.f.flush()
        finally:
            if self._own:
                self.f.close()

    def __enter__(self) -> "AudioSink":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(_check=exc_type is None)


class StreamResampler:
    """Streaming resampler (soxr); identity pass-through when the rates are equal."""

    def __init__(self, in_rate: int, out_rate: int, channels: int, quality: str = "HQ"):
        self.in_rate, self.out_rate, self.channels = int(in_rate), int(out_rate), int(channels)
        self._rs = None
        if self.in_rate != self.out_rate:
            import soxr

            self._rs = soxr.ResampleStream(self.in_rate, self.out_rate, self.channels,
                                           dtype="float32", quality=quality)

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if self._rs is None:
            return x
        y = self._rs.resample_chunk(x, last=last)
        return np.ascontiguousarray(y, dtype=np.float32).reshape(-1, self.channels)
