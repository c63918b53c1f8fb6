"""Audio input and output for muzip.

* ``read``: AudioSource (any file, or a WAV on stdin; errors are MuzipErrors, salvage
  notes go to ``warnings``), AudioInfo; ``samples``: downmix_to_stereo, clipping to full scale.
* ``write``: AudioSink (WAV, FLAC, Ogg Vorbis, Opus, MP3 with tags and cover),
  output_format_for, can_write, WRITABLE_FORMATS.
* ``resample``: StreamResampler.  ``tags``: the metadata muzip carries.
"""

from .ffmpeg_read import ffmpeg_available
from .info import AudioInfo
from .read import MAX_RATE, MIN_RATE, AudioSource
from .samples import DOWNMIX_51_SCALE, downmix_to_stereo
from .resample import StreamResampler
from .tags import MAX_COVER_BYTES, TAG_KEYS
from .write import WRITABLE_FORMATS, AudioSink, can_write, encoder_rate, output_format_for

__all__ = [
    "AudioInfo", "AudioSink", "AudioSource", "DOWNMIX_51_SCALE", "MAX_COVER_BYTES", "MAX_RATE",
    "MIN_RATE", "StreamResampler", "TAG_KEYS", "WRITABLE_FORMATS", "can_write", "downmix_to_stereo",
    "encoder_rate", "ffmpeg_available", "output_format_for",
]
