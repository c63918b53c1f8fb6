"""Calls into libsndfile that soundfile's API does not make as muzip needs them."""

from __future__ import annotations

import numpy as np

from .lazy import soundfile as sf


def sf_message(err) -> str:
    s = str(getattr(err, "error_string", "") or err).strip()
    return s.removeprefix("Error : ").strip().rstrip(".")


def software_of(f: sf.SoundFile) -> str:
    """What made the file, as it says (WAV's ISFT, a Vorbis comment); "" where it cannot be read."""
    try:
        return str(f.software or "")
    except Exception:  # noqa: BLE001 - a note about the file must never fail its read
        return ""


def readf(f: sf.SoundFile, out: np.ndarray) -> tuple[int, str | None]:
    """Read into ``out``; (frames read, libsndfile error or None).

    soundfile's read() seeks after every read (a FLAC decoder re-seek each block) and, on
    an error, raises and discards the frames that were decoded; libsndfile's own
    sf_readf_float returns them, so we call it directly when soundfile exposes it."""
    ffi, snd, handle = getattr(sf, "_ffi", None), getattr(sf, "_snd", None), getattr(f, "_file", None)
    if ffi is None or snd is None or handle is None:
        try:
            return len(f.read(out.shape[0], dtype="float32", always_2d=True, out=out)), None
        except Exception as e:  # noqa: BLE001 - any soundfile failure is a read error
            return 0, sf_message(e)
    got = snd.sf_readf_float(handle, ffi.cast("float *", ffi.from_buffer(out)), out.shape[0])
    err = snd.sf_error(handle)
    return max(int(got), 0), (sf_message(ffi.string(snd.sf_error_number(err)).decode("utf-8", "replace"))
                              if err else None)
