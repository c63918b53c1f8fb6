"""`muzip test`: check every frame's CRC and entropy decoding, without the network (no TensorFlow)."""

import hashlib
from dataclasses import dataclass, field

from ..container import ContainerReader, joined_message
from ..errors import CorruptFileError
from .latents import read_latents
from .loader import load_tables
from .model import CodecModel


# What `muzip test` says of a file whose frames are all intact but whose index or trailer is not.
INDEX_DAMAGED = ("index or trailer damaged: no random access (decompress --start reads from the beginning); "
                 "the audio decodes")


@dataclass
class VerifyResult:
    frames: int = 0
    problems: list = field(default_factory=list)  # damage that loses audio: frames, truncation
    warnings: list = field(default_factory=list)  # damage that loses none: the index or trailer


_MODELS: dict = {}  # model identity -> its tables and coders: verified on every call, built once


def _tables_model(name: str, file_digest: bytes | None = None) -> CodecModel:
    """The model's config and entropy tables (verified), no networks: all that reading latents needs.
    file_digest: the identity a file names, to pick the exact version it needs."""
    from ..runtime.identity import accepted_digests
    from .loader import version_for
    name = version_for(name, file_digest)
    config, counts, digest = load_tables(name)
    model = _MODELS.get(digest)
    if model is None:
        gain_counts = None
        if config.band_gains is not None:
            from .loader import load_gain_counts
            gain_counts = load_gain_counts(name)
        model = _MODELS[digest] = CodecModel(name, config, digest, counts, gain_counts)
        model.accepted = accepted_digests(name)
    return model


def verify_file(fileobj, digest=None, progress=None) -> VerifyResult:
    """Decode every frame's symbols; `digest` (a hashlib object) is fed the symbols in order; `progress`
    (a callable) is given each frame's seconds as it is checked."""
    reader = ContainerReader(fileobj)
    result = VerifyResult()
    rate = reader.header.model_rate
    for frame in read_latents(reader, _tables_model(reader.header.model_id, reader.header.model_sha256)):
        result.frames += 1
        if progress is not None:
            progress((frame.num_samples or reader.header.frame_samples) / rate)  # a lost frame: a whole one
        if frame.error is not None:
            result.problems.append(frame.error)
        elif digest is not None:
            digest.update(frame.q.astype("<i4").tobytes())
            if frame.gains is not None:
                digest.update(frame.gains.astype("<i4").tobytes())
            if frame.envelope is not None:
                digest.update(frame.envelope.astype("<i4").tobytes())
    if reader.truncated:
        result.problems.append("file is truncated (no valid index at the end)")
    elif reader.joined_at is not None:
        result.warnings.append(joined_message(reader.joined_at))
    elif reader.index_damaged or (reader.seekable and not reader.load_index()):
        # The scan found every frame (and the index or the trailer that proves it), but random access,
        # which needs both, and a trailer that ends the file, would fail: say so (no plain "ok").
        result.warnings.append(INDEX_DAMAGED)
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
