"""Looking at a file's bytes ourselves, for what libsndfile does not tell us.

* which format a file claims to be (to say "corrupt FLAC" rather than "not audio"),
* how many frames a WAV header promises: libsndfile clamps ``frames`` to the data that
  is actually present, so a truncated WAV would otherwise go unnoticed,
* whether an Ogg stream ends with its end-of-stream page (Ogg has no length field),
* whether an MP3 states its length (a Xing/Info/VBRI frame count): without one, libsndfile's length is
  an estimate from the file size (counting an ID3v2 tag's bytes as audio), not a promise,
* which codec a file holds and at how many bits (``soundfile_codec``, ``stream_facts``): an M4A may be AAC or
  ALAC, and a 24-bit original passed through should stay 24-bit,
* how many frames an ffmpeg-read file's container states (``stream_facts``): ffmpeg 5's
  decoder output of an AAC M4A keeps the encoder's padding at the end (a 10.000 s source
  decodes to 10.008 s) although the MP4 edit list gives the exact length.

All functions read with ``os.pread`` (or ffprobe) so they never move the descriptor libsndfile
reads through, and return None / False on anything they do not understand.
"""

from __future__ import annotations

import json
import os
import shutil
import struct

from .lazy import soundfile as sf

# display name -> libsndfile major format; extensions that mean the same thing
_NATIVE = {"WAV": "WAV", "FLAC": "FLAC", "Ogg": "OGG", "MP3": "MP3", "AIFF": "AIFF"}
_EXT_NAME = {"wav": "WAV", "wave": "WAV", "flac": "FLAC", "ogg": "Ogg", "oga": "Ogg", "opus": "Ogg",
             "mp3": "MP3", "aif": "AIFF", "aiff": "AIFF", "aifc": "AIFF"}
_RIFF_PCM, _RIFF_FLOAT, _RIFF_EXTENSIBLE = 1, 3, 0xFFFE
_RIFF_MPEG = (0x50, 0x55)  # MPEG-1 Layer I/II, MPEG Layer III
# Streaming writers put 0, 0xFFFFFFFF or 0x7FFFFFFF-ish in the data size: "unknown", not a promise.
_PLACEHOLDER = 0x7FFFF000

# Extensions / magic numbers that are audio, but need ffmpeg.
FFMPEG_EXTS = {
    "m4a", "m4b", "mp4", "aac", "adts", "wma", "asf", "alac", "ape", "wv", "mka", "mkv",
    "webm", "ac3", "eac3", "dts", "amr", "3gp", "3g2", "ra", "rm", "mpc", "tta", "mov",
    "avi", "opus", "mp3", "mp2", "ogg", "oga", "spx", "aif", "aiff", "caf", "dsf", "dff",
}


def _head(path: str, n: int = 16) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _ext(path: str) -> str:
    return os.path.splitext(path)[1].lower().lstrip(".")


def claimed_native_format(path: str) -> str | None:
    """"WAV", "FLAC", "Ogg", "MP3" or "AIFF" when the magic number (else the extension) says so
    and this libsndfile reads that format; else None."""
    name = magic_format(path) or _EXT_NAME.get(_ext(path))
    if name is None or _NATIVE[name] not in sf.available_formats():
        return None
    return name


def magic_format(path: str) -> str | None:
    """"WAV", "FLAC", "Ogg", "AIFF" or "MP3" where the file's first bytes say so (not its name); else None."""
    h = _head(path)
    name = None
    if h[:4] in (b"RIFF", b"RF64", b"BW64") and h[8:12] == b"WAVE":
        name = "WAV"
    elif h[:4] == b"fLaC":
        name = "FLAC"
    elif h[:4] == b"OggS":
        name = "Ogg"
    elif h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        name = "AIFF"
    elif h[:3] == b"ID3" or (len(h) >= 2 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0 and (h[1] & 0x06) != 0):
        name = "MP3"  # ID3 tag, or an MPEG audio frame sync with a layer (not AAC's 00)
    return name


def looks_like_ffmpeg_audio(path: str) -> bool:
    if _ext(path) in FFMPEG_EXTS:
        return True
    head = _head(path)
    return (
        head[4:8] == b"ftyp"  # MP4 / M4A / 3GP
        or head[:4] == b"\x30\x26\xb2\x75"  # ASF (WMA)
        or (len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0)  # AAC ADTS
        or head[:4] in (b"MAC ", b"wvpk", b"\x1a\x45\xdf\xa3", b".ra\xfd", b"OggS")
        or head[:5] == b"#!AMR"
    )


def _riff_chunks(fd: int):
    """(id, size, position) of a RIFF/RF64 WAVE's chunks up to its data chunk (an RF64's data size from its ds64
    chunk; None where a streaming writer put a placeholder); nothing for another file. A WAVE has a handful of
    chunks: anything stranger is given up on."""
    head = os.pread(fd, 12, 0)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
        return
    pos, ds64 = 12, None
    for _ in range(64):
        ch = os.pread(fd, 8, pos)
        if len(ch) < 8:
            return
        cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
        if cid == b"ds64":
            body = os.pread(fd, 16, pos + 8)
            ds64 = struct.unpack("<Q", body[8:])[0] if len(body) == 16 else None
        if cid == b"data" and size == 0xFFFFFFFF and ds64 is not None:
            size = ds64 or None  # RF64: the real size
        elif cid == b"data" and (size >= _PLACEHOLDER or size == 0):
            size = None  # a streaming writer's "unknown"
        yield cid, size, pos
        if cid == b"data":
            return
        pos += 8 + size + (size & 1)


def _riff_tag(body: bytes) -> tuple[int, bool]:
    """A fmt chunk's format tag (an extensible one's subformat) and whether it was extensible."""
    tag = struct.unpack("<H", body[:2])[0]
    if tag == _RIFF_EXTENSIBLE and len(body) >= 26:
        return struct.unpack("<H", body[24:26])[0], True
    return tag, tag == _RIFF_EXTENSIBLE


def riff_format(fd: int) -> tuple[int, bool] | None:
    """A WAVE's format tag (1 PCM, 3 float, 0x55 MP3, 0x11 IMA ADPCM...; an extensible one's subformat) and
    whether its fmt chunk is the extensible kind; None for another file."""
    for cid, _, pos in _riff_chunks(fd):
        if cid == b"fmt ":
            body = os.pread(fd, 26, pos + 8)
            return _riff_tag(body) if len(body) >= 16 else None
    return None


def riff_data_cut(fd: int) -> tuple[int, int] | None:
    """(bytes a WAVE's data chunk states, bytes of it the file holds) where the file ends inside its data chunk,
    else None. For a WAV whose bytes do not map to frames (ADPCM, G.722), the only sign that it was cut."""
    for cid, size, pos in _riff_chunks(fd):
        if cid == b"data" and size is not None:
            held = os.fstat(fd).st_size - (pos + 8)
            return (size, max(held, 0)) if held < size else None
    return None


def riff_data_unsized(fd: int) -> bool:
    """Whether a WAVE's data chunk states 0 bytes and what follows it is no chunk: a recorder or streaming
    writer that stopped before it wrote the size, of which libsndfile reads no frames. (An empty WAV with a
    LIST chunk after its data is empty: its tags were read as samples in a first version.)"""
    for cid, size, pos in _riff_chunks(fd):
        if cid == b"data":
            end = os.fstat(fd).st_size
            if size is not None or struct.unpack("<I", os.pread(fd, 8, pos)[4:])[0] != 0 or end <= pos + 8:
                return False
            nxt = os.pread(fd, 8, pos + 8)
            return not (len(nxt) == 8 and all(32 <= b < 127 for b in nxt[:4])
                        and pos + 16 + struct.unpack("<I", nxt[4:])[0] <= end + 1)
    return False


def riff_cut_note(cut: tuple[int, int], read: str) -> str:
    """What is said of a WAV riff_data_cut found cut short, of which `read` (seconds) was read."""
    return f"the WAV's data chunk states {cut[0]:,} bytes but the file holds {cut[1]:,} (cut short); read the " \
        f"{read} that are there"


def riff_promised_frames(fd: int) -> int | None:
    """Frames the data chunk of a PCM/float RIFF/RF64 WAVE declares, or the fact chunk of one holding MPEG audio;
    None if unknown/streamed."""
    align, mpeg, fact = None, False, None
    for cid, size, pos in _riff_chunks(fd):
        if cid == b"fmt ":
            body = os.pread(fd, 26, pos + 8)
            if len(body) < 16:
                return None
            tag, align = _riff_tag(body)[0], struct.unpack("<H", body[12:14])[0]
            mpeg = tag in _RIFF_MPEG
            if tag not in (_RIFF_PCM, _RIFF_FLOAT, *_RIFF_MPEG) or align == 0:
                return None  # compressed WAV: bytes do not map to frames linearly
        elif cid == b"fact" and size >= 4:
            fact = struct.unpack("<I", os.pread(fd, 4, pos + 8).ljust(4, b"\0"))[0]
        elif cid == b"data" and mpeg:
            return fact or None  # the samples the encoder was given (with its delay)
        elif cid == b"data":
            return size // align if size is not None and align is not None else None
    return None


def ogg_cut_short(fd: int) -> bool:
    """True when the file does not end with a complete Ogg page flagged end-of-stream."""
    size = os.fstat(fd).st_size
    n = min(size, 1 << 16)  # an Ogg page is at most 65307 bytes
    tail = os.pread(fd, n, size - n)
    i = len(tail)
    while True:
        # Walk back over "OggS" candidates: the real last page is the one ending exactly at
        # EOF (a capture pattern inside packet data will not parse into such a page).
        i = tail.rfind(b"OggS", 0, i)
        if i < 0:
            return True
        if len(tail) - i >= 27 and tail[i + 4] == 0:
            nseg = tail[i + 26]
            lacing = tail[i + 27 : i + 27 + nseg]
            if len(lacing) == nseg and i + 27 + nseg + sum(lacing) == len(tail):
                return not tail[i + 5] & 0x04


_OPUS_FRAME_MS = [10, 20, 40, 60] * 3 + [10, 20] * 2 + [2.5, 5, 10, 20] * 4  # by a packet's TOC config


def _opus_packet_samples(packet: bytes) -> int:
    """A packet's samples at 48 kHz, from its TOC byte (RFC 6716 3.1); 0 for an empty one."""
    if not packet:
        return 0
    code = packet[0] & 3
    frames = 1 if code == 0 else 2 if code < 3 else (packet[1] & 0x3F if len(packet) > 1 else 0)
    return int(frames * _OPUS_FRAME_MS[packet[0] >> 3] * 48)


def opus_positions_off(fd: int) -> bool:
    """True when an Ogg Opus stream's pages state positions that are not where their packets end (ffmpeg's Opus of
    an Ogg Vorbis whose timestamps jitter: 488 samples off, then back). Such a file plays everywhere, but
    libsndfile 1.2.2 drifts from the packets' samples near such a page and then calls the file malformed. The last
    page may state less (the encoder's padding trimmed). False for anything else, or not understood."""
    pos, size, offset, samples, packets, head2 = 0, os.fstat(fd).st_size, None, 0, 0, b""
    serial, seq = b"", -1
    while pos + 27 <= size:
        head = os.pread(fd, 27, pos)
        follows = head[14:18] == serial and head[18:22] == ((seq + 1) & 0xFFFFFFFF).to_bytes(4, "little")
        if head[:4] != b"OggS" or (pos and not follows):
            return False  # not Ogg, another stream chained or multiplexed, a page missing: not judged here
        serial, seq, n = head[14:18], int.from_bytes(head[18:22], "little"), head[26]
        lacing = os.pread(fd, n, pos + 27)
        body = os.pread(fd, sum(lacing), pos + 27 + n)
        granule, at, ended = int.from_bytes(head[6:14], "little", signed=True), 0, False
        for size_ in lacing:
            head2 = (head2 + body[at:at + 2])[:2] if len(head2) < 2 else head2
            at += size_
            if size_ < 255:  # a packet ends here: OpusHead, OpusTags, then audio
                packets += 1
                samples += _opus_packet_samples(head2) if packets > 2 else 0
                ended, head2 = packets > 2, b""
        pos += 27 + n + sum(lacing)
        if not ended or granule < 0:
            continue
        if offset is None:
            offset = granule - samples
        elif granule != offset + samples and not (head[5] & 4 and granule < offset + samples):
            return True
    return False


# An AAC encoder pads the last frame of 1024 (HE-AAC: 2048) samples; ffmpeg's own encoder adds one more.
MAX_END_PADDING = 4096


# codecs that keep every sample, by the names libsndfile's subtypes and ffprobe give them
LOSSLESS_CODECS = frozenset({"pcm", "flac", "alac", "wavpack", "ape", "tta", "mlp", "truehd", "wmalossless", "tak"})
_SUBTYPE_CODECS = {"VORBIS": "vorbis", "OPUS": "opus", "MPEG_LAYER_III": "mp3", "MPEG_LAYER_II": "mp2",
                   "MPEG_LAYER_I": "mp1"}
_SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}


_CODEC_NAMES = {"aac": "AAC", "alac": "ALAC", "vorbis": "Vorbis", "opus": "Opus", "mp3": "MP3", "flac": "FLAC",
                "wavpack": "WavPack", "ape": "Monkey's Audio", "pcm": "PCM", "wmav2": "WMA",
                "wmalossless": "WMA Lossless", "ulaw": "u-law", "alaw": "A-law", "ima_adpcm": "IMA ADPCM",
                "ms_adpcm": "MS ADPCM", "gsm610": "GSM 6.10"}


def codec_name(codec: str) -> str:
    """A codec as people name it ("Opus", "AAC", "ALAC"); a muzip model's name as it is."""
    return codec if codec.startswith("muzip") else _CODEC_NAMES.get(codec, codec.upper())


def soundfile_codec(fmt: str, subtype: str) -> tuple[str, int | None]:
    """(codec, bits per sample or None) of a file libsndfile opened: "pcm", "flac", "alac", "vorbis", "opus",
    "mp3", or the subtype's own name ("ulaw", "ima_adpcm", ...); bits only for lossless codecs."""
    st = str(subtype).upper()
    if st.startswith("ALAC_"):
        return "alac", int(st[5:]) if st[5:].isdigit() else None
    codec = _SUBTYPE_CODECS.get(st) or ("flac" if fmt.lower() == "flac" else
                                        "pcm" if st in _SUBTYPE_BITS else st.lower())
    return codec, _SUBTYPE_BITS.get(st) if codec in LOSSLESS_CODECS else None


def stream_facts(path: str, timeout: float = 30.0) -> tuple[int | None, str | None, int | None]:
    """(frames, codec, bits) of the first audio stream, as ffprobe reads its container: frames at its sample
    rate as the container states them (duration_ts in the stream's time base: for an MP4, the edit list's
    length, without the encoder's priming and padding); the codec by ffprobe's name ("pcm_s24le" as "pcm"),
    bits per sample of a lossless one. Each None when ffprobe is missing, fails or does not say."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None, None, None
    import subprocess  # here: only files ffmpeg decodes get here (~5 ms of every start otherwise)
    from fractions import Fraction
    try:
        out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
                              "stream=codec_name,bits_per_raw_sample,bits_per_sample,duration_ts,time_base,"
                              "sample_rate", "-of", "json", "--", path],
                             capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=True).stdout
        stream = json.loads(out)["streams"][0]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError, TypeError):
        return None, None, None
    codec = str(stream.get("codec_name") or "").lower() or None
    if codec in ("pcm_mulaw", "pcm_alaw"):  # 8-bit companded: lossy, as libsndfile's ulaw/alaw
        codec = codec[4:].replace("mulaw", "ulaw")
    elif codec and codec.startswith("pcm_"):
        codec = "pcm"
    bits = None
    if codec in LOSSLESS_CODECS:
        for key in ("bits_per_raw_sample", "bits_per_sample"):
            try:
                bits = bits or int(stream.get(key) or 0) or None
            except (TypeError, ValueError):
                pass
    try:
        ticks, base, rate = int(stream["duration_ts"]), Fraction(stream["time_base"]), int(stream["sample_rate"])
        frames = round(ticks * base * rate)
        frames = frames if ticks > 0 and rate > 0 and frames > 0 else None
    except (ValueError, KeyError, TypeError, ZeroDivisionError):
        frames = None
    return frames, codec, bits


def stated_frames(path: str, timeout: float = 30.0) -> int | None:
    """The frames of stream_facts: None when ffprobe is missing, fails or the stream does not say."""
    return stream_facts(path, timeout)[0]


def trim_to_stated(decoded_frames: int, stated: int | None) -> int:
    """How many of the decoded frames to keep: the stated length when the decoder gave up to
    MAX_END_PADDING more (an encoder's padding); else all of them (a container whose length is
    wrong must not cut real audio)."""
    if stated is not None and 0 < decoded_frames - stated <= MAX_END_PADDING:
        return stated
    return decoded_frames
