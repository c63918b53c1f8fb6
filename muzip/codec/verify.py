"""`muzip test`: check every frame's CRC and entropy decoding, without the network (no TensorFlow)."""

import hashlib
from dataclasses import dataclass, field

from ..container import ContainerReader
from ..errors import CorruptFileError
from .latents import read_latents
from .loader import load_tables
from .model import CodecModel


@dataclass
class VerifyResult:
    frames: int = 0
    problems: list = field(default_factory=list)


_MODELS: dict = {}  # model identity -> its tables and coders: verified on every call, built once


def _tables_model(name: str) -> CodecModel:
    """The model's config and entropy tables (verified), no networks: all that reading latents needs."""
    config, counts, digest = load_tables(name)
    model = _MODELS.get(digest)
    if model is None:
        gain_counts = None
        if config.band_gains is not None:
            from .loader import load_gain_counts
            gain_counts = load_gain_counts(name)
        model = _MODELS[digest] = CodecModel(name, config, digest, counts, gain_counts)
    return model


def verify_file(fileobj, digest=None) -> VerifyResult:
    """Decode every frame's symbols; `digest` (a hashlib object) is fed the symbols in order."""
    reader = ContainerReader(fileobj)
    result = VerifyResult()
    for frame in read_latents(reader, _tables_model(reader.header.model_id)):
        result.frames += 1
        if frame.error is not None:
            result.problems.append(frame.error)
        elif digest is not None:
            digest.update(frame.q.astype("<i4").tobytes())
            if frame.gains is not None:
                digest.update(frame.gains.astype("<i4").tobytes())
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


if __name__ == "__main__":  # python -m muzip.codec.verify FILE.mz: print the symbol digest (used by tests)
    import sys
    with open(sys.argv[1], "rb") as f:
        print(symbol_digest(f))
