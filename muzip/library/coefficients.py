"""MDCT coefficients of a track's sampled runs: the library's representation common to audio and every `.mz`.

- audio: decoded, resampled to RATE, mid/side, analysed by the codec's own MDCT (HOP bins, 20 ms);
- a `.mz` of a network-free model (muzip-v2.3 on: the frozen MDCT, companding, weightings): its sampled
  frames entropy-decoded (`read_latents`, model identity checked), dequantized with their fill noise and band
  gains applied: the decoder's coefficients, without synthesis;
- a `.mz` of a model with a decoder network (muzip-v1, v2, v2.1, v2.2): its sampled runs decoded to audio and
  analysed as audio.

Runs are those of `embed.frame_runs` (up to 48 one-second frames in runs of 4), so a track costs the same
whatever its length. muzip.library.descriptors reads any of them through bands in Hz.
"""

from __future__ import annotations

import numpy as np

from ..errors import AudioReadError
from .embed import MAX_FRAMES, frame_runs

RATE = 44100
HOP = 882
# A .mz without its index (cut short, or its end damaged): described from the frames that can be read, and
# said so (`muzip index` warns, exit 3, as decoding one does). A record's "warning" is never stored.
TRUNCATED = "file is truncated or its index damaged; described from the frames that could be read"
FRAME = 44100  # samples per sampled frame (one second)


def _analyse(x: np.ndarray) -> np.ndarray | None:
    """(n, ch) audio at RATE -> (A, n // HOP, HOP) coefficients (None when shorter than two hops)."""
    from ..codec.transform import analyze, to_mid_side
    x = np.asarray(x, np.float32)[:len(x) // HOP * HOP]
    if len(x) < 2 * HOP:
        return None
    return analyze(np.pad(to_mid_side(x), ((0, 0), (HOP, HOP))), HOP)


def _decoder_coefficients(reader, model, max_frames: int):
    """The decoder's coefficients of the sampled runs of a network-free model's .mz (no synthesis)."""
    from ..codec import read_latents
    from ..codec.quantizer import dequantize
    cfg = model.config
    P = cfg.latents_per_frame
    n = reader.n_frames if reader.load_index() else None
    runs = frame_runs(n, max_frames) if n is not None else [np.arange(max_frames)]
    steps, got, damaged = model.steps(), {}, 0
    for frame in read_latents(reader, model, sorted({int(i) for r in runs for i in r})):
        damaged += frame.error is not None
        if frame.error is not None or frame.q is None or frame.q.shape[1] < P:
            continue  # damaged (left out of the statistics) or a silent frame coded as one zero vector
        base = frame.index * P
        deq = dequantize(frame.q[:, :P], steps[frame.levels], frame.index, cfg, frame.fill)
        c = model.decode_coefficients(deq, base)
        if frame.gains is not None and model.band_gains is not None:
            c = np.stack([model.band_gains.apply(c[a], frame.gains[a][:P], model.band_gains.noise_for(base, a),
                                                 deq[a] != 0) for a in range(len(c))])
        got[frame.index] = c
    return [np.concatenate([got[int(i)] for i in r if int(i) in got], axis=1) for r in runs
            if any(int(i) in got for i in r)], damaged


def coefficient_runs(path: str, get_model, max_frames: int = MAX_FRAMES):
    """(list of (A, n, C) coefficient runs, their sample rate, track info) of an audio file or a .mz."""
    from .sampled import decoded_runs, is_mz, mz_seconds, sampled_audio
    if not is_mz(path):
        if path.lower().endswith(".mz"):  # as `muzip decompress` says it, not as an audio decoder would
            raise AudioReadError("not a muzip file (bad magic)")
        pieces, info = sampled_audio(path, RATE, FRAME, max_frames)
        info["model"] = ""  # no codec model: the MDCT of the audio itself
        runs = [c for c in map(_analyse, pieces) if c is not None]
        rate = RATE
    else:
        from ..codec import version_for
        from ..container import ContainerReader
        with open(path, "rb") as f:
            reader = ContainerReader(f)
            h = reader.header
            model = get_model(version_for(h.model_id, h.model_sha256))
            if model.config.network_free:
                (runs, damaged), rate = _decoder_coefficients(reader, model, max_frames), model.config.model_rate
                info = {"duration": mz_seconds(path, reader), "rate": h.sample_rate,
                        "channels": h.channels, "tags": dict(h.tags or {}), "model": model.name, "source": "mz",
                        "codec": model.name}
            else:
                pieces, info = decoded_runs(path, reader, model, RATE, max_frames)
                runs, rate = [c for c in map(_analyse, pieces) if c is not None], RATE
                damaged = info.pop("damaged_frames", 0)
            said = [TRUNCATED] if not reader.load_index() else []  # what `muzip test` calls truncated: described
            if damaged:  # as `eval` and `test` say it: one damaged frame used to pass without a word
                said.append(f"{damaged} damaged frame{'s' * (damaged > 1)} (CRC) left out of its description "
                            "(`muzip test` names them)")
            if said:
                info["warning"] = "; ".join(said)
    if not runs:
        raise AudioReadError("no audio to embed (empty, or every sampled frame is damaged)")
    return runs, rate, info
