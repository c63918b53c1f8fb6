"""`muzip test`: check every frame's CRC and entropy decoding, without the network (no TensorFlow)."""

import hashlib
from dataclasses import dataclass, field

from .band_gains import BandGains, decode_frame
from .container import ContainerReader
from .entropy import coder_for
from .errors import CorruptFileError
from .runtime import load_tables
from .runtime.store import load_gain_counts


@dataclass
class VerifyResult:
    frames: int = 0
    problems: list = field(default_factory=list)


_CODERS: dict = {}  # model identity -> entropy coder: the tables are verified on every call, built once


def verify_file(fileobj, digest=None) -> VerifyResult:
    """Decode every frame's symbols; `digest` (a hashlib object) is fed the symbols in order."""
    reader = ContainerReader(fileobj)
    h = reader.header
    config, counts, model_id_digest = load_tables(h.model_id)
    if model_id_digest != h.model_sha256:
        raise CorruptFileError(f"made with a different '{h.model_id}' than the one installed")
    if (h.model_rate, h.frame_samples) != (config["model_rate"], config["frame_samples"]):
        raise CorruptFileError("header is damaged (model rate or frame size does not match its model)")
    coder = _CODERS.get(model_id_digest)
    if coder is None:
        gains = BandGains(config, load_gain_counts(h.model_id)) if "band_gains" in config else None
        coder = _CODERS[model_id_digest] = (coder_for(config, counts), gains)
    per_frame = config["frame_samples"] // config["hop"]
    result = VerifyResult()
    for event in reader.frames():
        result.frames += 1
        if event.frame is None:
            result.problems.append(event.error or f"frame {event.index}: damaged")
            continue
        try:
            q, s = decode_frame(*coder, event.frame.payload, per_frame + 1, list(event.frame.levels[:h.channels]))
            if digest is not None:
                digest.update(q.astype("<i4").tobytes())
                if s is not None:
                    digest.update(s.astype("<i4").tobytes())
        except CorruptFileError as exc:
            result.problems.append(f"frame {event.index}: {exc}")
    if reader.truncated:
        result.problems.append("file is truncated (no valid index at the end)")
    return result


def symbol_digest(fileobj) -> str:
    """sha256 of all decoded integer symbols: equal on every machine for the same file (golden tests)."""
    digest = hashlib.sha256()
    result = verify_file(fileobj, digest)
    if result.problems:
        raise CorruptFileError("; ".join(result.problems[:3]))
    return digest.hexdigest()


if __name__ == "__main__":  # python -m muzip.verify FILE.mz: print the symbol digest (used by tests)
    import sys
    with open(sys.argv[1], "rb") as f:
        print(symbol_digest(f))
