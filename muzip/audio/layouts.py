"""Where each channel of a file of more than two plays: what `--downmix` mixes by (samples.downmix_to_stereo).

Names are WAVE_FORMAT_EXTENSIBLE's speakers (MASK_SPEAKERS, in its mask's bit order, which is also the order
ffmpeg hands channels over in). A file says its layout in a WAV's channel mask, a FLAC's
WAVEFORMATEXTENSIBLE_CHANNEL_MASK comment (ffmpeg writes one for a layout that is not its count's default), or
its container as ffprobe reads it (M4A, CAF...); else its count's default order is taken: WAV's and FLAC's
(WAV_ORDER), or Ogg Vorbis' and Opus' (VORBIS_ORDER, as libsndfile hands them over).
"""

from __future__ import annotations

import os
import struct

WAV_ORDER = {3: ("FL", "FR", "FC"), 4: ("FL", "FR", "BL", "BR"), 5: ("FL", "FR", "FC", "BL", "BR"),
             6: ("FL", "FR", "FC", "LFE", "BL", "BR"), 7: ("FL", "FR", "FC", "LFE", "BC", "SL", "SR"),
             8: ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR")}
VORBIS_ORDER = {3: ("FL", "FC", "FR"), 4: ("FL", "FR", "BL", "BR"), 5: ("FL", "FC", "FR", "BL", "BR"),
                6: ("FL", "FC", "FR", "BL", "BR", "LFE"), 7: ("FL", "FC", "FR", "SL", "SR", "BC", "LFE"),
                8: ("FL", "FC", "FR", "SL", "SR", "BL", "BR", "LFE")}
MASK_SPEAKERS = ("FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR",
                 "TBL", "TBC", "TBR")
# ffmpeg's named layouts (libavutil/channel_layout.c); others it prints as "FL+FR+FC+BC"
_FFMPEG = {"3.0": "FL+FR+FC", "3.0(back)": "FL+FR+BC", "4.0": "FL+FR+FC+BC", "quad": "FL+FR+BL+BR",
           "quad(side)": "FL+FR+SL+SR", "3.1": "FL+FR+FC+LFE", "2.1": "FL+FR+LFE", "5.0": "FL+FR+FC+BL+BR",
           "5.0(side)": "FL+FR+FC+SL+SR", "4.1": "FL+FR+FC+LFE+BC", "5.1": "FL+FR+FC+LFE+BL+BR",
           "5.1(side)": "FL+FR+FC+LFE+SL+SR", "6.0": "FL+FR+FC+BC+SL+SR", "6.0(front)": "FL+FR+FLC+FRC+SL+SR",
           "hexagonal": "FL+FR+FC+BL+BR+BC", "6.1": "FL+FR+FC+LFE+BC+SL+SR", "6.1(back)": "FL+FR+FC+LFE+BL+BR+BC",
           "6.1(front)": "FL+FR+LFE+FLC+FRC+SL+SR", "7.0": "FL+FR+FC+BL+BR+SL+SR",
           "7.0(front)": "FL+FR+FC+FLC+FRC+SL+SR",
           "7.1": "FL+FR+FC+LFE+BL+BR+SL+SR", "7.1(wide)": "FL+FR+FC+LFE+BL+BR+FLC+FRC",
           "7.1(wide-side)": "FL+FR+FC+LFE+FLC+FRC+SL+SR", "octagonal": "FL+FR+FC+BL+BR+BC+SL+SR"}


def from_mask(mask: int, channels: int) -> tuple | None:
    """The speakers of a channel mask, where it names as many as there are channels."""
    bits = [i for i in range(32) if mask >> i & 1]
    return tuple(MASK_SPEAKERS[i] for i in bits) if len(bits) == channels and bits[-1] < len(MASK_SPEAKERS) \
        else None


def from_ffmpeg(name: str, channels: int) -> tuple | None:
    """The speakers of ffprobe's channel_layout, in the order ffmpeg hands the channels over (its mask's)."""
    names = _FFMPEG.get(name, name).split("+")
    if len(names) != channels or not set(names) <= set(MASK_SPEAKERS):
        return None
    return tuple(sorted(names, key=MASK_SPEAKERS.index))


def _wav_mask(fd: int) -> int:
    from .probe import _RIFF_EXTENSIBLE, _riff_chunks
    for cid, _, pos in _riff_chunks(fd):
        if cid == b"fmt ":
            body = os.pread(fd, 24, pos + 8)
            extensible = len(body) == 24 and struct.unpack("<H", body[:2])[0] == _RIFF_EXTENSIBLE
            return struct.unpack("<I", body[20:24])[0] if extensible else 0
    return 0


def _flac_mask(path: str) -> int:
    try:
        from mutagen.flac import FLAC
        value = (FLAC(path).tags or {}).get("WAVEFORMATEXTENSIBLE_CHANNEL_MASK") or ["0"]
        return int(str(value[0]), 0)
    except Exception:  # noqa: BLE001 - mutagen's errors, a malformed value: the default order then
        return 0


def channel_layout(fd: int, fmt: str, channels: int, path: str | None = None) -> tuple | None:
    """The speakers of a file libsndfile reads (`fd` open on it; `fmt` its format's name), or None: its count's
    WAV order."""
    if channels <= 2:
        return None
    if fmt == "ogg":
        return VORBIS_ORDER.get(channels)
    if fmt in ("wav", "wavex", "rf64"):
        return from_mask(_wav_mask(fd), channels)
    if fmt == "flac" and path:
        return from_mask(_flac_mask(path), channels)
    if path and fmt in ("caf", "aiff"):
        return ffmpeg_layout(path, channels)
    return None


def ffmpeg_layout(path: str, channels: int, timeout: float = 30.0) -> tuple | None:
    """The speakers of the first audio stream as ffprobe reads its container's layout; None where it says none."""
    import shutil
    import subprocess
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None or channels <= 2:
        return None
    try:
        out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
                              "stream=channel_layout", "-of", "csv=p=0", "--", path], capture_output=True,
                             timeout=timeout, stdin=subprocess.DEVNULL, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return from_ffmpeg(out.decode("utf-8", "replace").strip(), channels)
