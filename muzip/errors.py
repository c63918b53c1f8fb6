"""Exception hierarchy: every error a user can cause is a MuzipError with a one-line message.

The CLI prints ``muzip: <message>`` for these and exits non-zero; anything else is a bug.
"""


class MuzipError(Exception):
    """Base class for all errors muzip reports to users."""


class AudioReadError(MuzipError):
    """The input could not be read as audio (unknown format, empty, corrupt, no ffmpeg...)."""


class AudioFormatError(MuzipError):
    """The audio is readable but unsupported (sample rate or channel count out of range)."""


class NotMuzipError(MuzipError):
    """The input is not a .mz file (bad magic)."""


class UnsupportedVersionError(MuzipError):
    """The .mz file uses a format version this muzip cannot read."""


class CorruptFileError(MuzipError):
    """The .mz file is damaged where it cannot be concealed (header) or --strict was given."""


class ModelError(MuzipError):
    """A model is missing, does not match its checksum, or cannot be loaded."""


class OutputExistsError(MuzipError):
    """The output exists and --force was not given."""


class OutputWriteError(MuzipError):
    """An output could not be written (an object store refused the upload); the message names the output."""
