"""AudioSource: single-pass block reading of any input, with every failure a MuzipError.

Anything libsndfile opens (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF...) is streamed in constant memory; other formats
(m4a, aac, wma...) are decoded in memory by ffmpeg; ``-`` streams a WAV from stdin (a WAV file too, whose data chunk
states 0 bytes). What file content can do to us:

* unreadable, corrupt or truncated data raises AudioReadError, from the constructor or ``blocks()``, never a
  soundfile/numpy/struct exception; a FLAC damaged in its middle is read on past it (flac_resync);
* a header that promises more than the file holds (a cut WAV, FLAC or MP3, an Ogg stream without its last page)
  is read as far as it goes, with a note in ``warnings`` (an MP3 promises only in a Xing/Info/VBRI frame);
* native decoders' prints on fd 2 are not shown: muzip's lines are the only ones. An MP3's damaged frames (where
  mpg123 notes some, or its first ones) are read as silent ones in their place, with one warning: mp3_repair;
* ffmpeg's decode of an MP4/M4A keeps the AAC encoder's padding: it is cut to the container's length;
* samples outside full scale (float WAV, AIFF...: |x| > 1, +-Inf, NaN) are clipped to [-1, 1], NaN -> 0,
  with one warning giving the count (clip_full_scale): one bad sample should not cost the file, and a float
  WAV at 1e4..1e12 x full scale overshot the bitrate many times over.  What lossy decoders output near
  full scale overshoots it a little, as their signal always did: passed on up to MAX_OVERSHOOT (+-2, +6 dB).
"""

from __future__ import annotations

import os
import sys
from contextlib import closing, suppress
from typing import BinaryIO, Iterator

import numpy as np

from ..errors import AudioFormatError, AudioReadError
from ..native import quiet_native_stderr
from .ffmpeg_resume import OVERLAP, PAGE_SLACK, a_cut_frame, from_start, resume
from .flac_resync import damage_note, read_on
from .info import AudioInfo
from .libsndfile_calls import readf, sf_message, software_of
from .samples import MAX_OVERSHOOT, clip_full_scale, clipped_warning, downmix_to_stereo
from .ffmpeg_read import decode_whole
from .lazy import soundfile as sf
from .mpg123_notes import (Mpg123Notes, appended_mp3, mp3_damaged, mp3_goes_on, mp3_read_on, mp3_repaired,
                           repaired_at_start)
from .mp3_frames import mp3_audio_share, mp3_states_length
from .layouts import channel_layout
from .probe import (ogg_cut_short, opus_positions_off, riff_cut_note, riff_data_cut, riff_data_unsized,
                    riff_promised_frames, soundfile_codec)
from .tags import kept_tags, read_metadata
from .wavstream import WavStreamReader, is_pipe, open_unsized

MIN_RATE, MAX_RATE = 8000, 192000

_MAX_READ_SAMPLES = 1 << 20  # per libsndfile read, all channels together
# What may follow a decoder's last frame: an ID3v1 tag, Lyrics3, a small APE tag; more is another MP3 appended
# (read on by ffmpeg_resume), a chained Ogg stream (named)
TAIL_BYTES = 8192
# An MP3's Xing/Info frame count and libsndfile's (gapless) output may differ a little: allow two MPEG
# frames or 1 %. Without that frame an MP3 promises nothing (mp3_frames.mp3_states_length).
_MP3_SLACK_FRAMES, _MP3_SLACK_FRACTION = 2304, 0.01


def _mp3_slack(frames: int | None) -> int:
    return max(_MP3_SLACK_FRAMES, int((frames or 0) * _MP3_SLACK_FRACTION))


_LOSSY_SUBTYPES = ("VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III")


def _kind(fmt: str) -> str:
    """Format name for messages: "FLAC", "WAV", "Ogg", "MP3"..."""
    return {"ogg": "Ogg", "wavex": "WAV", "rf64": "WAV"}.get(fmt, fmt.upper())


def _secs(frames: int, rate: int) -> str:
    return f"{frames / rate:.3f} s ({frames} samples)"


class AudioSource:
    """Open an audio file (or ``-`` for a WAV on stdin) for single-pass block reading. After ``blocks()`` is
    exhausted, ``samples_read`` is the number of frames delivered and ``warnings`` holds one-line notes (no
    file name) about what was salvaged."""

    def __init__(self, path_or_dash: str, downmix: bool = False, stdin: BinaryIO | None = None):
        self.path = path_or_dash
        self.name = "-" if path_or_dash == "-" else os.fspath(path_or_dash)
        self.warnings: list[str] = []
        self.cut_notes: list[str] = []  # of those, a file cut short or damaged (final with warnings)
        self.samples_read = 0
        self._downmix = downmix
        self._fd: int | None = None
        self._sf: sf.SoundFile | None = None
        self._wav: WavStreamReader | None = None
        self._mem: np.ndarray | None = None
        self._promised, self._slack = None, 0  # frames the header promises (when it says), the shortfall tolerated
        self._ogg_cut = False
        self._riff_cut: tuple[int, int] | None = None  # a WAV whose bytes are not its frames' (ADPCM) cut short
        self._cut: str | None = None  # decoder error at EOF: the last frame is incomplete
        self._clipped = 0  # samples outside [-limit, limit] (and NaN), clipped
        self._limit = 1.0  # MAX_OVERSHOOT for lossy decoders' output (set when opened)
        self._finished, self._software, self._by_ffmpeg, self._about = False, "", False, None  # see _raw_blocks
        self._codec, self._bits, self._layout = None, None, None  # what the stream holds (probe), its speakers
        self._mp3_notes: Mpg123Notes | None = None
        self._damaged: list[tuple[int, int, str]] = []  # (from, to, libsndfile's error): a FLAC's silenced frames
        self._spliced = None  # a FLAC read on past damage, a damaged MP3's repaired view: where its decoder reads
        self._mp3_view = False  # a damaged MP3's mp3_repair.RepairedView (None: no damage found; False: not looked)
        cover, self._pipe = None, None
        try:
            if self.path != "-" and is_pipe(self.name):  # <(ffmpeg ... -f wav -), /dev/stdin: read as `-` is
                self._pipe = stdin = open(self.name, "rb")
            if self.path == "-" or self._pipe is not None:
                stream = stdin if stdin is not None else sys.stdin.buffer
                self._wav = WavStreamReader(stream, self.name)
                rate, in_ch, frames, fmt = self._wav.rate, self._wav.channels, self._wav.frames, "wav"
                (tags, notes), self._software = kept_tags(self._wav.tags), self._wav.software
                self.warnings += notes
                self._promised = frames
                self._codec, self._bits, self._layout = "pcm", 8 * self._wav.width, self._wav.layout
            else:
                rate, in_ch, frames, fmt, tags, cover = self._open_path(self.name)
            self.source_channels = in_ch
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
        self.info = AudioInfo(rate, min(in_ch, 2), frames, fmt, tags, cover, self._codec, self._bits, self._software,
                              self._about)

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
        # Our own descriptor: its offset shows how far libsndfile got when a decode fails; probe.py preads it.
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as e:
            why = "permission denied" if isinstance(e, PermissionError) else f"cannot read ({e.strerror})"
            raise AudioReadError(f"{path}: {why}") from None
        try:  # mpg123 prints notes on fd 2 as it opens an MP3; which decoder runs is known only once open: all muted
            with quiet_native_stderr():
                f = sf.SoundFile(self._fd, closefd=False)
        except Exception as e:  # noqa: BLE001 - libsndfile rejected it: an MP3 with its first header damaged?
            said = sf_message(e)  # before the repaired view's opens, which leave libsndfile another last error
            if not repaired_at_start(self, None):
                os.close(self._fd)
                self._fd = None
                return self._open_ffmpeg(path, said)
            f = self._sf
        self._sf = f
        # MPEG audio in a WAV: libsndfile times it by the byte rate, which a VBR stream's is not (3 s of 20 read,
        # unsaid); ffmpeg decodes it, streamed, to the length its fact chunk states (_raw_blocks)
        self._by_ffmpeg = f.format in ("WAV", "WAVEX", "RF64") and str(f.subtype).startswith("MPEG_")
        self._codec, self._bits = soundfile_codec(f.format, f.subtype)
        self._software = software_of(f)
        self._limit = MAX_OVERSHOOT if str(f.subtype).upper() in _LOSSY_SUBTYPES else 1.0
        tags, cover, notes = read_metadata(path, f)
        self.warnings += notes
        frames = stated = f.frames if 0 <= f.frames < 2**62 else None
        fmt = f.format.lower()
        try:
            self._layout = channel_layout(self._fd, fmt, f.channels, path)
            if fmt == "mp3" and frames and repaired_at_start(self, frames):
                f, frames = self._sf, self._sf.frames
            if fmt in ("wav", "wavex", "rf64"):
                self._promised = riff_promised_frames(self._fd)
                if self._by_ffmpeg:  # MPEG audio: the fact chunk's length a promise, as an MP3's Xing frame count,
                    frames, self._slack = None, _mp3_slack(self._promised)  # not exact (a .mz header's length)
                self._riff_cut = riff_data_cut(self._fd)  # said where no promise in frames is (an ADPCM WAV)
            elif fmt == "flac" and frames:
                self._promised = frames
            elif fmt == "mp3" and frames and mp3_states_length(self._fd):
                # Only a Xing/Info/VBRI frame count is a promise; without one, libsndfile's length is
                # the file size over the first frame's bitrate (an ID3v2 tag's bytes counted as audio,
                # a VBR file's guessed from one frame), which a cut file shrinks with anyway.
                self._promised = frames
                self._slack = _mp3_slack(frames)
            elif fmt == "mp3" and frames:  # the estimate, over the bytes that are audio (not a cover picture's)
                frames = round(frames * mp3_audio_share(self._fd))
            elif fmt == "ogg":
                self._ogg_cut = ogg_cut_short(self._fd)
                self._by_ffmpeg = str(f.subtype) == "OPUS" and opus_positions_off(self._fd)  # pages walked: none gone
                frames = None if self._by_ffmpeg else frames  # its last page's position is not its length
                # libsndfile's length is the last page's position: a page gone in the middle decodes short
                self._promised, self._slack = (frames, PAGE_SLACK) if frames else (None, 0)
        except OSError:
            pass  # only a warning is at stake
        self._about = (self._promised or stated) if self._by_ffmpeg else None  # AudioInfo.about_samples
        if fmt in ("wav", "wavex") and not f.frames and riff_data_unsized(self._fd) and (got := open_unsized(path)):
            (self._pipe, self._wav), self._sf, frames = got, None, None  # its size 0 is "unknown": read to the end
            f.close()
        return f.samplerate, f.channels, frames, fmt, tags, cover

    def _open_ffmpeg(self, path: str, sf_msg: str):
        got = decode_whole(path, sf_msg)
        self._mem, self._codec, self._bits, self._layout = got.samples, got.codec, got.bits, got.layout
        self.cut_notes += got.damage  # said as a cut is: the sound is not the file's
        tags, cover, notes = read_metadata(path)
        self.warnings += notes
        return got.rate, got.samples.shape[1], got.samples.shape[0], got.ext, tags, cover

    @property
    def damage_seen(self) -> list[str]:
        """What the damage read past so far costs, a FLAC's or an MP3's (also for a reader that stops early)."""
        mp3 = self._mp3_notes.warnings(self._fd, TAIL_BYTES, self._mp3_view, self.info.sample_rate) \
            if self._mp3_notes is not None else []
        return ([damage_note(self._damaged, self.info.sample_rate)] if self._damaged else []) + mp3

    @property
    def cut_short(self) -> str | None:
        """What is known at open of a file cut short (None: nothing): an Ogg stream without its end-of-stream page
        (its length reads as where it was cut). A read to the end says more, in ``warnings``."""
        return "the Ogg stream ends without its end-of-stream page (file cut short?)" if self._ogg_cut else None

    # -- reading -------------------------------------------------------------------------
    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        """Yield float32 blocks of shape (n, channels), 0 < n <= block_frames, in order. Raises AudioReadError
        on data that cannot be decoded; when exhausted normally, ``warnings`` and ``samples_read`` are final."""
        if block_frames <= 0:
            raise ValueError("block_frames must be positive")
        for block in self._raw_blocks(block_frames):
            if block.shape[0] == 0:
                continue
            block, clipped = clip_full_scale(block, self._limit)  # before the downmix: it keeps what is in range
            self._clipped += clipped
            if block.shape[1] > 2:
                block = downmix_to_stereo(block, self._layout)
            self.samples_read += block.shape[0]
            yield np.ascontiguousarray(block, dtype=np.float32)
        self._finish()

    def _raw_blocks(self, n: int) -> Iterator[np.ndarray]:
        # ffmpeg's word for a frame cut off, in a WAV whose data chunk is cut short: the cut, which _finish says
        rest = self._by_ffmpeg and from_start(self.name, self._sf.channels, self._sf.samplerate, n, lambda said:
                                              None if self._riff_cut and a_cut_frame(said) else AudioReadError(
                                                  f"{self.name}: corrupt or truncated "
                                                  f"{_kind(self.info.format)} data (ffmpeg: {said})"))
        if rest:  # an Opus whose page positions are off (libsndfile drifts, then stops), MPEG audio in a WAV
            with closing(rest):
                yield from rest
        elif self._sf is not None:
            yield from self._sf_blocks(n)
        elif self._wav is not None:
            yield from self._wav.blocks(n)
        elif self._mem is not None:
            for i in range(0, self._mem.shape[0], n):
                yield self._mem[i : i + n]

    def _sf_blocks(self, n: int) -> Iterator[np.ndarray]:
        f = self._sf
        n = max(1, min(n, _MAX_READ_SAMPLES // f.channels))
        # mpg123 prints "Note: Illegal Audio-MPEG-Header ..." as it decodes: fd 2 goes to a file around each MP3
        # read (two dup2s a block; not across the yield, where the caller prints). Other decoders are silent.
        mute = self.info.format == "mp3"
        self._mp3_notes = Mpg123Notes() if mute else None
        tail = np.empty((0, f.channels), np.float32)  # the last frames handed out (ffmpeg_resume lines up on them)
        while True:
            out = np.empty((n, f.channels), np.float32)  # fresh: the caller may keep blocks
            with quiet_native_stderr(mute, into=self._mp3_notes and self._mp3_notes.fd):
                got, err = readf(f, out)
            if mute and self._mp3_view is False and mp3_damaged(self, err, got, TAIL_BYTES) and mp3_repaired(self):
                f = self._sf  # the same file through its repaired view, at the samples already handed out
                continue
            if err is not None and self.info.format == "flac" and self._fd is not None:
                again = self._flac_read_on(err, got)
                if got:
                    yield out[:got]
                for i in range(0, again or 0, n):  # the damaged frames' samples: silence, in their place
                    yield np.zeros((min(n, again - i), f.channels), np.float32)
                if again is None:
                    return
                f = self._sf
                continue
            if err is not None:
                at = self.samples_read + got
                tail = np.concatenate([tail, out[max(0, got - OVERLAP):got]])[-OVERLAP:]
                rest = resume(self.name, at, tail, f.channels, f.samplerate, n, self.info.num_samples,
                              lambda said: self._ffmpeg_failed(err, at, said)) if self.info.format == "ogg" else \
                    mp3_read_on(self, err, at, tail, f, n) if self.info.format == "mp3" and not self._at_eof() else None
                if rest is None:
                    self._decode_error(err, at)
                try:
                    if got:
                        yield out[:got]
                    yield from rest or ()
                finally:
                    if rest is not None:
                        rest.close()  # ffmpeg ended, also when the reader stops early
                return
            if got == 0:
                if self.info.format == "mp3" and mp3_goes_on(self, TAIL_BYTES):
                    yield from appended_mp3(self, tail, f, n)
                elif self.info.format == "ogg" and self._bytes_left() > TAIL_BYTES:  # ffmpeg stops there too
                    self.warnings.append(f"{self._bytes_left()} bytes follow the Ogg stream's "
                                         f"{_secs(self.samples_read, self.info.sample_rate)} (another stream chained "
                                         "after it?); read those")
                return
            tail = np.concatenate([tail, out[max(0, got - OVERLAP):got]])[-OVERLAP:]  # a copy: blocks may change
            yield out[:got]

    def _flac_read_on(self, err: str, got: int) -> int | None:
        """Samples of silence before the first frame after a damaged one that decodes, the decoder moved there
        (flac_resync); None where none does: damaged to its end, said as a cut."""
        at = self.samples_read + got
        found = read_on(self._fd, self._offset(), at, self._sf.channels)
        if found is None:
            self._cut = err
            return None
        place, decoder, self._spliced = found
        self._sf.close()
        self._sf = decoder
        self._damaged.append((at, place, err))
        return place - at

    def _offset(self) -> int:  # how far into the file the decoder has read (through a repaired or spliced view)
        return self._spliced.original_offset() if self._spliced else os.lseek(self._fd, 0, os.SEEK_CUR)

    def _bytes_left(self) -> int:
        try:
            return os.fstat(self._fd).st_size - self._offset()
        except (OSError, TypeError):
            return 0

    def _at_eof(self) -> bool:
        try:
            return self._offset() >= os.fstat(self._fd).st_size
        except (OSError, TypeError):
            return False

    def _decode_error(self, msg: str, at_frame: int) -> None:
        """A decode error once libsndfile has read to the end of the file (it reads ahead 16-32 KiB) is a cut-off
        last frame (code what is there, warn); earlier it is corruption (fail)."""
        if self._at_eof():
            self._cut = msg
            return
        raise self._corrupt(msg, at_frame)

    def _ffmpeg_failed(self, msg: str, at_frame: int, ffmpeg_said: str) -> AudioReadError | None:
        """What ffmpeg finding damage means: corruption (raised by ffmpeg_resume), or a cut (warned of) where
        libsndfile stopped within its read-ahead of the end."""
        if self._at_eof():
            self._cut = f"{msg}; ffmpeg: {ffmpeg_said}"
            return None
        return self._corrupt(msg, at_frame, ffmpeg_said)

    def _corrupt(self, msg: str, at_frame: int, ffmpeg_said: str | None = None) -> AudioReadError:
        also = f"; ffmpeg: {ffmpeg_said}" if ffmpeg_said else ""
        return AudioReadError(f"{self.name}: corrupt or truncated {_kind(self.info.format)} data at "
                              f"{at_frame / self.info.sample_rate:.3f} s (libsndfile: {msg}{also})")

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        rate, got, promised = self.info.sample_rate, self.samples_read, self._promised
        if promised is not None and got + self._slack < promised:
            said = "the stream's last page states" if self.info.format == "ogg" else "header promises"
            self.cut_notes.append(f"{said} {_secs(promised, rate)} but the file holds "
                                  f"{_secs(got, rate)}; read what is there")
        elif self._cut is not None:
            self.cut_notes.append(f"the {_kind(self.info.format)} data is cut short or damaged near its end "
                                  f"(libsndfile: {self._cut}); read the {_secs(got, rate)} before it")
        elif self._ogg_cut:
            self.cut_notes.append(f"{self.cut_short}; read the {_secs(got, rate)} that are there")
        elif self._riff_cut:
            self.cut_notes.append(riff_cut_note(self._riff_cut, _secs(got, rate)))
        self.cut_notes += self.damage_seen
        self.warnings += self.cut_notes
        if self._clipped:
            self.warnings.append(clipped_warning(self._clipped, self._limit))

    def _close_decoder(self) -> None:
        if self._sf is not None:
            with suppress(Exception):  # closing a damaged file must not mask the real error
                self._sf.close()
            self._sf = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        self._close_decoder()
        for kept in (self._mp3_notes, self._pipe):
            if kept is not None:
                kept.close()
        self._mem = self._wav = self._pipe = None

    def __enter__(self) -> "AudioSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
