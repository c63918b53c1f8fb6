"""Read a .mz file's integer latents: what decode, `muzip test` and the library share.

read_latents() checks once that the file was made with the model given (its identity and frame layout),
then entropy-decodes the frames asked for, without any network: a damaged frame comes back with its
error, for the caller to conceal (decode), report (`muzip test`) or leave out (the library).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from ..container import ContainerReader, Header
from ..errors import CorruptFileError, ModelError
from .payload import decode_frame


@dataclass
class LatentFrame:
    index: int
    num_samples: int
    levels: list                    # the quantizer level of each audio channel
    q: np.ndarray | None            # integer latents (A, n, C); None where the frame is damaged
    gains: np.ndarray | None        # band-gain codes (A, n, bands) of band-gain models, else None
    error: str | None = None        # what is wrong with a damaged frame
    envelope: np.ndarray | None = None  # temporal-envelope codes (n, blocks) of envelope models, else None
    fill: np.ndarray | None = None      # fill levels (A,) of fill-level models' non-silent frames, else None


def check_model(header: Header, model) -> None:
    """ModelError unless the file names `model` exactly (its identity: every file that runs; the name may differ
    only where codec.version_for found the file's model by its identity, in a renamed folder); CorruptFileError
    if its frame layout disagrees with the model's."""
    if header.model_sha256 not in getattr(model, "accepted", (model.digest,)):
        raise ModelError(f"file was made with model '{header.model_id}' ({header.model_sha256.hex()[:12]}), "
                         f"but the loaded model is '{model.name}' ({model.sha256[:12]})")
    cfg = model.config  # the decoder's frame layout comes from the model, so the header must agree with it
    if (header.model_rate, header.frame_samples) != (cfg.model_rate, cfg.frame_samples):
        raise CorruptFileError(f"header is damaged (model rate {header.model_rate} Hz, {header.frame_samples} "
                               f"samples per frame; model '{model.name}' has {cfg.model_rate} Hz, "
                               f"{cfg.frame_samples})")


def read_latents(reader: ContainerReader, model, frames: Iterable[int] | range | None = None) -> Iterator[LatentFrame]:
    """LatentFrames of an open .mz, in order: every frame (frames=None), a range of indices, or the indices
    listed (increasing). The model is checked here, before anything is read (not when iteration starts),
    so a caller can check before it creates any output."""
    check_model(reader.header, model)
    return _decoded(reader, model, _events(reader, frames))


def _events(reader: ContainerReader, frames):
    """FrameEvents for the frames asked, by index when the file has one, else by scanning."""
    if frames is None:
        yield from reader.frames()
        return
    if isinstance(frames, range):
        lo, hi = frames.start, frames.stop
        if reader.load_index():
            for i in range(lo, min(hi, reader.n_frames)):
                yield reader.read_frame(i)
            return
        for event in reader.frames():
            if event.index >= hi:
                return
            if event.index >= lo:
                yield event
        return
    wanted = sorted({int(i) for i in frames})
    if not wanted:
        return
    if reader.load_index():
        for i in wanted:
            if i < reader.n_frames:
                yield reader.read_frame(i)
        return
    keep, last = set(wanted), wanted[-1]
    for event in reader.frames():
        if event.index > last:
            return
        if event.index in keep:
            yield event


def _decoded(reader: ContainerReader, model, events) -> Iterator[LatentFrame]:
    channels, per_frame = reader.header.channels, model.config.latents_per_frame
    coder, gains, envelope, fill = model.coder, model.band_gains, model.envelope, model.fill_levels
    for event in events:
        f = event.frame
        if f is None:
            yield LatentFrame(event.index, 0, [], None, None, event.error or f"frame {event.index}: damaged")
            continue
        levels = list(f.levels[:channels])
        try:
            q, s, env, fl = decode_frame(coder, gains, f.payload, per_frame + 1, levels, envelope, fill)
        except CorruptFileError as exc:
            yield LatentFrame(event.index, f.num_samples, levels, None, None, f"frame {event.index}: {exc}")
            continue
        yield LatentFrame(event.index, f.num_samples, levels, q, s, envelope=env, fill=fl)
