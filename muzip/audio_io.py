"""Compatibility shim: audio I/O now lives in the ``muzip.audio`` package."""

from .audio import (DOWNMIX_51_SCALE, MAX_RATE, MIN_RATE, WRITABLE_FORMATS, AudioInfo, AudioSink,
                    AudioSource, StreamResampler, can_write, downmix_to_stereo, ffmpeg_available,
                    output_format_for)

__all__ = [
    "AudioInfo", "AudioSink", "AudioSource", "DOWNMIX_51_SCALE", "MAX_RATE", "MIN_RATE",
    "StreamResampler", "WRITABLE_FORMATS", "can_write", "downmix_to_stereo", "ffmpeg_available",
    "output_format_for",
]
