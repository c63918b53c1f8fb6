"""AudioSink: write float32 blocks as WAV (16- or 24-bit PCM, streams to pipes), FLAC (16- or 24-bit),
Ogg Vorbis, Ogg Opus or MP3, carrying the tags and the cover picture.

* WAV is written by hand: the header goes out first (sizes from ``num_samples``, or
  0xFFFFFFFF when unknown and patched in close() when the file is seekable), and the tags
  follow the data as a ``LIST/INFO`` chunk (which libsndfile reads) -- after the data so
  that readers which assume a 44-byte header still work.  Tags INFO has no field for
  (discnumber, albumartist, composer) and the cover go into an ``id3 `` chunk as well
  (mutagen, ffmpeg and most players read it).  On a non-seekable stream of unknown length
  these chunks are left out: a reader taking the data to EOF would play them as noise.
* The other formats go through libsndfile and need a seekable file object (the CLI spools
  pipes); the tags and cover are then added with mutagen.
* libsndfile writes through callbacks into Python (soundfile's virtual I/O). A signal handler that raised
  inside one would be printed by cffi and lost ("Exception ignored from cffi callback"), so the handlers
  wait until libsndfile returns (``_signals_deferred``); and once the sink is abandoned (an error, a signal)
  or its file closed, the callbacks do nothing (``_GuardedFile``), so SoundFile's own clean-up cannot write
  to a closed file.
* Opus and MP3 encoders take a fixed set of rates: other rates are resampled (soxr HQ) to
  the nearest supported rate at or above it, else the highest (``output_rate``) -- a
  lossy format was asked for, so a rate change is the smaller surprise than an error.
"""

from __future__ import annotations

import functools
import io
import os
import signal
import threading
from contextlib import contextmanager

import numpy as np
from .lazy import soundfile as sf

from ..errors import AudioFormatError
from .resample import StreamResampler
from .tags import SOUNDFILE_KEYS, clean_cover, clean_tags, set_soundfile_tags, write_tags
from .wav_header import FMT_AND_DATA, U32, check_wav_params, describe, wav_header, wav_trailer

WRITABLE_FORMATS = ("wav", "flac", "ogg", "opus", "mp3")
_EXTENSIONS = {".wav": "wav", ".wave": "wav", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg",
               ".opus": "opus", ".mp3": "mp3"}
# format -> (libsndfile format, subtype, name for messages)
_SF_FORMATS = {"flac": ("FLAC", "PCM_16", "FLAC"), "ogg": ("OGG", "VORBIS", "Ogg Vorbis"),
               "opus": ("OGG", "OPUS", "Opus"), "mp3": ("MP3", "MPEG_LAYER_III", "MP3")}
# (max rate, max channels) checked before libsndfile sees them: beyond these it fails, and
# for Vorbis (> 200 kHz, 256..1024 channels) libsndfile 1.2 then crashes cleaning up.
# Opus/MP3 rates are input rates, resampled (soxr takes any sane ratio).
_LIMITS = {"flac": (655350, 8), "ogg": (200000, 255), "opus": (768000, 255), "mp3": (768000, 2)}
_RATES = {"opus": (8000, 12000, 16000, 24000, 48000),
          "mp3": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)}


def output_format_for(path) -> str | None:
    """The format an output file name asks for (".flac" -> "flac"), or None."""
    return _EXTENSIONS.get(os.path.splitext(os.fspath(path))[1].lower())


@functools.lru_cache(maxsize=None)
def can_write(fmt: str) -> bool:
    """Whether this installation can write ``fmt`` (one of WRITABLE_FORMATS)."""
    fmt = fmt.lower()
    if fmt == "wav":
        return True
    if fmt not in _SF_FORMATS:
        return False
    major, subtype, _ = _SF_FORMATS[fmt]
    try:  # listed is not always usable (encoder library missing): try a tiny write
        if major not in sf.available_formats() or subtype not in sf.available_subtypes(major):
            return False
        with sf.SoundFile(io.BytesIO(), "w", 48000, 1, format=major, subtype=subtype) as f:
            f.write(np.zeros((960, 1), np.float32))
        return True
    except Exception:  # noqa: BLE001
        return False


def encoder_rate(fmt: str, rate: int) -> int:
    """The rate ``fmt`` is written at for input at ``rate`` (see the module docs)."""
    rates = _RATES.get(fmt)
    if rates is None or rate in rates:
        return rate
    return min((r for r in rates if r >= rate), default=rates[-1])


_DEFERRED_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


@contextmanager
def _signals_deferred():
    """Run a libsndfile call with the Python signal handlers held back; a signal that arrived meanwhile is
    handled (its handler raises, say) once the call has returned, in ordinary Python code."""
    if threading.current_thread() is not threading.main_thread():  # handlers run in the main thread only
        yield
        return
    caught: list = []
    saved: dict = {}

    def hold(signum, frame):
        caught.append((signum, frame))

    def put_back():
        for sig, handler in saved.items():
            signal.signal(sig, handler)

    try:
        for sig in _DEFERRED_SIGNALS:
            handler = signal.getsignal(sig)
            if callable(handler):
                saved[sig] = handler
                signal.signal(sig, hold)
    except BaseException:  # a signal while swapping them: the handlers as they were, then unwind
        put_back()
        raise
    try:
        yield
    finally:
        put_back()
        if caught:
            signum, frame = caught[0]
            saved[signum](signum, frame)


class _GuardedFile:
    """The file object libsndfile is given: the real one until the sink is abandoned or the file is closed,
    then a sink that takes every call and does nothing (see the module docs)."""

    def __init__(self, f):
        self.f, self.dead, self.error = f, False, None
        self.name = getattr(f, "name", "<file>")

    def _live(self) -> bool:
        if self.dead:
            return False
        try:
            return not self.f.closed
        except Exception:  # noqa: BLE001
            return True

    def write(self, data) -> int:
        if not self._live():
            return len(data)
        try:
            return self.f.write(data)
        except OSError as e:  # raised inside libsndfile's callback it would be printed, not raised: kept, and
            self.error, self.dead = e, True  # raised by the sink once libsndfile has returned (raise_kept)
            return 0

    def raise_kept(self) -> None:
        if self.error is not None:
            raise self.error

    def read(self, n: int = -1) -> bytes:
        return self.f.read(n) if self._live() else b""

    def readinto(self, buf) -> int:
        if not self._live():
            return 0
        readinto = getattr(self.f, "readinto", None)
        if readinto is not None:
            return readinto(buf)
        data = self.f.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.f.seek(offset, whence) if self._live() else 0

    def tell(self) -> int:
        return self.f.tell() if self._live() else 0

    def flush(self) -> None:
        if self._live():
            self.f.flush()


def _seekable(f) -> bool:
    try:
        return bool(f.seekable())
    except Exception:  # noqa: BLE001
        return False


class AudioSink:
    """Write float32 blocks to ``fileobj`` (a binary file object, or a path) as ``format``.

    ``num_samples`` (frames) lets a WAV header be right up front, which a pipe needs; ``bits`` (16 or 24) is
    the sample size of WAV and FLAC (a 24-bit original passed through keeps its lowest bits); ``software``
    names what made the audio (WAV's ISFT, a "software" comment elsewhere; not in MP3s);
    ``tags`` and ``cover`` ((mime, bytes)) are written where the format can hold them.
    ``frames_written`` counts the frames given to write(); ``output_rate`` is the rate in
    the file (differs from ``sample_rate`` only for Opus/MP3, see the module docs).
    """

    def __init__(self, fileobj, sample_rate: int, channels: int, format: str = "wav",
                 num_samples: int | None = None, tags: dict | None = None,
                 cover: tuple[str, bytes] | None = None, bits: int = 16, software: str | None = None):
        self.rate, self.channels, self.format = int(sample_rate), int(channels), str(format).lower()
        if bits not in (16, 24):
            raise AudioFormatError(f"cannot write {bits}-bit samples (muzip writes 16 or 24)")
        self.bits, self._width = bits, bits // 8
        if self.format not in WRITABLE_FORMATS:
            raise AudioFormatError(f"unknown output format {format!r} (muzip writes {', '.join(WRITABLE_FORMATS)})")
        if self.rate < 1 or self.channels < 1:
            raise AudioFormatError(f"cannot write {describe(self.channels, self.rate)}")
        if not can_write(self.format):
            raise AudioFormatError(f"this libsndfile cannot write {_SF_FORMATS[self.format][2]}; "
                                   "use --format wav or flac")
        if self.format == "wav":
            check_wav_params(self.rate, self.channels, self._width)  # before anything is written
        self.num_samples, self.frames_written = num_samples, 0
        self.tags, self.cover, self.software = clean_tags(tags), clean_cover(cover), software
        self.output_rate = encoder_rate(self.format, self.rate)
        self._own = isinstance(fileobj, (str, os.PathLike))
        self._closed = False
        self._sf: sf.SoundFile | None = None
        self._guard: _GuardedFile | None = None
        self._rs: StreamResampler | None = None
        if not self._own and self.format != "wav" and not _seekable(fileobj):
            raise ValueError(f"{self.format} output needs a seekable file (use WAV for pipes)")
        self.f = open(fileobj, "w+b") if self._own else fileobj
        try:
            if self.format == "wav":
                self._open_wav()
            else:
                self._open_sf()
        except BaseException:
            if self._own:
                self.f.close()
            raise

    def _open_wav(self) -> None:
        self._seekable = _seekable(self.f)
        self._start = self.f.tell() if self._seekable else 0
        self._trailer = wav_trailer(self.tags, self.cover, self.software)
        if not self._seekable and not self.num_samples:
            self._trailer = b""  # unknown (or 0, which readers also take as "to EOF") on a pipe
        data = None if self.num_samples is None else self.num_samples * self.channels * self._width
        # Seekable: the header is patched in close() anyway; a pipe gets the final sizes now.
        self.f.write(wav_header(self.rate, self.channels, data, len(self._trailer), self.bits))

    def _open_sf(self) -> None:
        major, subtype, name = _SF_FORMATS[self.format]
        max_rate, max_channels = _LIMITS[self.format]
        if self.rate > max_rate or self.channels > max_channels:
            raise AudioFormatError(f"cannot write {name} with {describe(self.channels, self.rate)} "
                                   f"(at most {max_channels} channels, {max_rate} Hz)")
        self._guard = _GuardedFile(self.f)
        try:
            with _signals_deferred():
                self._sf = sf.SoundFile(self._guard, "w", samplerate=self.output_rate, channels=self.channels,
                                        format=major, subtype="PCM_24" if self.bits == 24 and major == "FLAC"
                                        else subtype)
        except Exception as e:  # noqa: BLE001 - libsndfile refused these parameters
            msg = str(getattr(e, "error_string", "") or e).removeprefix("Error : ").strip().rstrip(".")
            raise AudioFormatError(f"cannot write {name} with {describe(self.channels, self.output_rate)} "
                                   f"(libsndfile: {msg})") from None
        if self.format != "mp3":  # libsndfile writes MP3 tags as Latin-1: mutagen does those
            set_soundfile_tags(self._sf, self.tags)
            if self.software:
                self._sf.software = self.software
        if self.output_rate != self.rate:
            self._rs = StreamResampler(self.rate, self.output_rate, self.channels)

    def write(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            raise ValueError(f"block has {x.shape[1]} channels, sink expects {self.channels}")
        self._emit(x)
        self.frames_written += x.shape[0]

    def _emit(self, x: np.ndarray, last: bool = False) -> None:
        if self._rs is not None:
            x = self._rs.process(x, last=last)
        if self._sf is not None and self.format != "flac":
            if x.shape[0]:
                x = np.clip(x, -1.0, 1.0)  # lossy encoders take float directly
                with _signals_deferred():
                    try:
                        self._sf.write(x)
                    finally:
                        self._guard.raise_kept()
            return
        if self.bits == 24:
            self._emit_24(x)
            return
        # x * 32768 matches soundfile's int16 -> float32 (/32768), so 16-bit audio
        # passes through bit-exactly; +1.0 clips to 32767.
        pcm = np.clip(np.round(np.clip(x, -1.0, 1.0) * 32768.0), -32768, 32767).astype("<i2")
        if self._sf is not None:
            with _signals_deferred():
                try:
                    self._sf.write(pcm)
                finally:
                    self._guard.raise_kept()
        else:
            self.f.write(pcm.tobytes())

    def _emit_24(self, x: np.ndarray) -> None:
        # As for 16 bits: x * 2**23 undoes soundfile's reading of 24-bit audio (a float32 holds 24 bits exactly).
        pcm = np.clip(np.round(np.clip(x, -1.0, 1.0).astype(np.float64) * 8388608.0), -8388608, 8388607).astype("<i4")
        if self._sf is not None:  # libsndfile keeps an int32's top 24 bits for PCM_24
            with _signals_deferred():
                try:
                    self._sf.write(pcm << 8)
                finally:
                    self._guard.raise_kept()
        else:
            self.f.write(pcm.view(np.uint8).reshape(-1, 4)[:, :3].tobytes())

    def close(self, _check: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._sf is not None:
                if self._rs is not None:
                    self._emit(np.zeros((0, self.channels), np.float32), last=True)
                with _signals_deferred():
                    try:
                        self._sf.close()
                    finally:
                        self._guard.raise_kept()
                skip = SOUNDFILE_KEYS if self.format != "mp3" else ()
                write_tags(self.f, self.format, self.tags, self.cover, skip=skip)
            else:
                self._close_wav(_check)
            self.f.flush()
        finally:
            if self._own:
                self.f.close()

    def _close_wav(self, check: bool) -> None:
        data = self.frames_written * self.channels * self._width
        # No trailer when the data size cannot be told (too big for RIFF, or 0 = "to EOF").
        fits = 0 < data and data + len(self._trailer) <= U32 - FMT_AND_DATA
        if self._seekable:
            trailer = self._trailer if fits else b""
            self.f.write(trailer)
            end = self.f.tell()
            self.f.seek(self._start)
            self.f.write(wav_header(self.rate, self.channels, data, len(trailer), self.bits))
            self.f.seek(end)
        elif self.num_samples != self.frames_written:
            if self.num_samples is not None and check:
                raise ValueError(f"WAV header promised {self.num_samples} frames, "
                                 f"{self.frames_written} written to a non-seekable stream")
        elif fits:
            self.f.write(self._trailer)  # the header written up front already counts it

    def __enter__(self) -> "AudioSink":
        return self

    def abandon(self) -> None:
        """Stop without finishing the file (an error or a signal: the caller removes it): libsndfile is
        closed with its writes dropped, and nothing more is written."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._guard is not None:
                self._guard.dead = True
            if self._sf is not None:
                with _signals_deferred():
                    self._sf.close()
        except Exception:  # noqa: BLE001 - the file is being thrown away
            pass
        finally:
            if self._own:
                self.f.close()

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None or self._sf is None:  # a WAV is finished either way (plain Python, quick)
            self.close(_check=exc_type is None)
        else:
            self.abandon()
