"""Latents of a track's sampled frames: entropy-decoded from a `.mz` (no network), or encoded from audio; and
the per-file catalog record of every embedder (embed-v3 reads coefficients instead: muzip.library.coefficients).

Every vector of a latent embedder (embed-v0, v2) must come from one latent space: EMBED_MODEL's (muzip-v1),
which those embedders were trained on and audio is encoded into. A `.mz` of another codec model (muzip-v2, -v2.1: other
transforms, other latents) has its sampled frames decoded and encoded again with that
model (decoding seeks: the rest of the file is never decoded).

`record(path)` is the pure per-file function of `muzip index`: path -> catalog record (a dict), so a
distributed engine can map it over a collection."""

from __future__ import annotations

import os

import numpy as np

from ..defaults import EMBED_MODEL
from ..errors import AudioReadError
from .catalog_reads import vector_problem
from .embed import MAX_FRAMES, features, frame_runs
from .sampled import decoded_runs, is_mz, mz_seconds, sampled_audio  # noqa: F401 - is_mz: part of this module's face


def _mz_runs(path: str, get_model, max_frames: int = MAX_FRAMES):
    from ..codec import read_latents, version_for
    from ..container import ContainerReader
    with open(path, "rb") as f:
        reader = ContainerReader(f)
        h = reader.header
        model = get_model(version_for(h.model_id, h.model_sha256))  # the exact version the file names
        space = get_model(EMBED_MODEL)
        if model.name != space.name:
            return _reencoded_runs(path, reader, model, space, max_frames)
        P, F = model.config.latents_per_frame, model.config.frame_samples
        steps = model.steps()
        indexed = reader.load_index()
        n = reader.n_frames if indexed else None
        runs = frame_runs(n, max_frames) if indexed else [np.arange(max_frames)]
        got = {}
        for frame in read_latents(reader, model, sorted({int(i) for r in runs for i in r})):  # model checked there
            if frame.error is not None:
                continue  # a damaged frame is left out of the statistics
            q = frame.q
            if q.shape[1] < P and frame.num_samples == F:
                q = np.pad(q, ((0, 0), (0, P - q.shape[1]), (0, 0)))  # a silent frame, coded as one zero vector
            got[frame.index] = (q[:, :P] * steps[frame.levels][:, None, None]).astype(np.float32)
        out = [np.concatenate([got[int(i)] for i in r if int(i) in got], axis=1) for r in runs
               if any(int(i) in got for i in r)]
        info = {"duration": mz_seconds(path, reader), "rate": h.sample_rate,
                "channels": h.channels, "tags": dict(h.tags or {}), "model": model.name, "source": "mz",
                "codec": model.name}
        return out, model, info


def _audio_runs(path: str, get_model, max_frames: int = MAX_FRAMES):
    model = get_model(EMBED_MODEL)
    cfg = model.config
    pieces, meta = sampled_audio(path, cfg.model_rate, cfg.frame_samples, max_frames)
    out = [lat for lat in (_encode(model, x) for x in pieces) if lat is not None]
    return out, model, {**meta, "model": model.name}


def _encode(model, x: np.ndarray):
    """Model-rate audio (n, ch) -> unquantized latents (A, n // hop, C); None if shorter than a hop."""
    from ..codec import to_mid_side
    hop = model.config.hop
    x = x[:len(x) // hop * hop]
    if len(x) < hop:
        return None
    return model.encode(to_mid_side(x)[:, :, None])[:, :len(x) // hop]


def _reencoded_runs(path: str, reader, model, space, max_frames: int):
    """_mz_runs for a .mz whose codec model is not `space`: decode each sampled run, encode it with `space`."""
    pieces, info = decoded_runs(path, reader, model, space.config.model_rate, max_frames)
    info.pop("damaged_frames", None)  # an older embedder's path: left out of the statistics, as its latents' are
    out = [lat for lat in (_encode(space, x) for x in pieces) if lat is not None]
    return out, space, info


def track_runs(path: str, get_model):
    """(latent runs, codec model, track info) of an audio file or a .mz."""
    runs, model, info = (_mz_runs if is_mz(path) else _audio_runs)(path, get_model)
    if not runs:
        raise AudioReadError("no audio to embed (empty, or every sampled frame is damaged)")
    return runs, model, info


def raw_features(path: str, get_model) -> tuple[np.ndarray, dict]:
    """(raw band-statistics vector, track info) of an audio file or a .mz (embed-v0's features)."""
    runs, model, info = track_runs(path, get_model)
    rate = model.config.model_rate / model.config.hop
    return features(runs, rate), info


def record(path: str, get_model, embed) -> dict:
    """The catalog record of one file: what `muzip index` stores (embedding as float32 bytes).
    embed: (latent runs, codec model) -> unit vector (muzip.library.load_embedder); or an embedder of
    descriptors (embed-v3: `describe`), whose record also holds the raw descriptor and whose embedding is
    projected with its prior statistics until the catalog's own are known (muzip.library.collection)."""
    st = os.stat(path)
    if hasattr(embed, "describe"):
        from .coefficients import coefficient_runs
        runs, rate, info = coefficient_runs(path, get_model)
        raw = embed.describe(runs, rate)
        problem = vector_problem(raw / max(float(np.linalg.norm(raw)), 1e-12))
        if problem is not None:
            raise AudioReadError(f"cannot embed ({problem})")
        emb = embed.project(raw[None], embed.stats())[0]
        from .fingerprint import fingerprint
        extra = {"descriptor": np.asarray(raw, "<f4").tobytes(), "fingerprint": fingerprint(runs, rate)}
    else:
        runs, model, info = track_runs(path, get_model)
        emb = np.asarray(embed(runs, model), np.float32).ravel()
        extra = {}
    problem = vector_problem(emb)
    if problem is not None:  # never stored: it would poison every search and clustering
        raise AudioReadError(f"cannot embed ({problem})")
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime": st.st_mtime, **info,
            "dim": int(emb.size), "embedding": emb.astype("<f4").tobytes(), **extra}


def stored_codec(path: str, get_model) -> tuple[str | None, float | None]:
    """(codec, kbps) of a file as `record` stores them, from its header alone: for a track that a catalog of an
    earlier muzip holds without them (its file unchanged, so not read again). (None, None) where it cannot tell."""
    try:
        if is_mz(path):
            from ..codec import version_for
            from ..container import ContainerReader
            with open(path, "rb") as f:
                h = ContainerReader(f).header
            return get_model(version_for(h.model_id, h.model_sha256)).name, None
        import soundfile as sf
        from ..audio.probe import soundfile_codec, stream_facts
        from ..audio.tags import read_decoded_mark
        from ..native import quiet_native_stderr
        from types import SimpleNamespace

        from ..audio.tags import read_metadata
        from .sampled import stream_kbps
        try:
            with quiet_native_stderr(), sf.SoundFile(path) as f:
                codec, software = soundfile_codec(f.format, f.subtype)[0], str(f.software or "")
                info = SimpleNamespace(codec=codec, format=f.format.lower(), cover=read_metadata(path, f)[1])
                duration = f.frames / f.samplerate if 0 < f.frames < 2 ** 62 else None
            if duration and info.format == "mp3":  # as AudioSource estimates a length the file does not state
                from ..audio.mp3_frames import mp3_audio_share, mp3_states_length
                with open(path, "rb") as fh:
                    if not mp3_states_length(fh.fileno()):
                        duration *= mp3_audio_share(fh.fileno())
        except Exception:  # noqa: BLE001 - not libsndfile's: ffmpeg's reader names its codec (ffprobe)
            return stream_facts(path)[1], None
        decoded = read_decoded_mark(software)  # a file muzip decoded: the model's, at its file's bitrate
        return decoded if decoded else (codec, stream_kbps(path, info, duration))
    except Exception:  # noqa: BLE001 - only a label is at stake: the track stays as it was
        return None, None
