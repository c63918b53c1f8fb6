"""Files with a low-pass of their own at 44.1 kHz (session 52): does `band_limited.own_top_hz` find the edge,
does it fire on music that has none, and what comparing such a file band-limited gives.

    .venv/bin/python -m scripts.experiments.exp_own_lowpass [--kinds up22050,up16000,mp3:64,mp3:48]

An old MP3 (LAME at 48-64 kbps, kept at 44.1 kHz, cuts at 7-11 kHz) or a rip upsampled from 22.05 or 16 kHz
is sampled at 44.1 kHz, so its rate says nothing. Per leave-one-corpus-out fold (embed-v5's recipe fitted
without the fold, as exp_low_rate_neighbours), each 60-s excerpt is made into each kind of copy at 44.1 kHz.
Reported: the detected top of every copy and of every original, and of every training segment of the fold
and its coded version as fold_setup reads them (by corpus: some of the corpus's own audio is low-passed); and,
for the originals and each kind of copy as queries, as exp_low_rate_neighbours reads them, the label of the
nearest other track and whether a query's own original is its nearest of all: by the embedding (what `similar`
did), and band-limited below the detected top where one is found under each of --below (else the embedding).
"""

from __future__ import annotations

import argparse
import io
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.band_limited import own_top_hz, view  # noqa: E402
from muzip.library.descriptors import VERSION  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.experiments.exp_embed_v3 import unit  # noqa: E402
from scripts.experiments.exp_low_rate_neighbours import fold_setup, low_rate_descriptors, scores  # noqa: E402
from scripts.models import embed_v3_data  # noqa: E402
from scripts.models.embed_v3_data import _coeffs, cached, describe, floor_key, segment_descriptors  # noqa: E402


def mp3_audio(path: str, kbps: int) -> np.ndarray:
    """The excerpt through LAME at `kbps` (its own low-pass for that rate), decoded at 44.1 kHz."""
    import lameenc
    import soundfile as sf
    x = L.excerpt(path)
    x = np.repeat(x, 2, axis=1) if x.shape[1] == 1 else x
    enc = lameenc.Encoder()
    enc.set_bit_rate(kbps)
    enc.set_in_sample_rate(L.RATE)
    enc.set_out_sample_rate(L.RATE)  # LAME would resample a low bitrate to 22.05-32 kHz: its rate would say it
    enc.set_channels(2)
    enc.set_quality(2)
    data = enc.encode((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()) + enc.flush()
    y, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    assert rate == L.RATE
    return y


def copies(tracks, kind: str) -> np.ndarray:
    if kind.startswith("up"):  # the same audio as exp_low_rate_neighbours's low-rate copies, read at 44.1 kHz
        return low_rate_descriptors(tracks, int(kind[2:]))
    key = f"{floor_key()}ownlowpass{VERSION}:{kind}:"
    return np.array([cached(key + p, lambda p=p: describe(_coeffs(mp3_audio(p, int(kind.split(':')[1]))), L.RATE)) for _, p in tracks])


def tops_of(X: np.ndarray) -> np.ndarray:
    return np.array([np.nan if t is None else t for t in map(own_top_hz, X)])


def summary(t: np.ndarray) -> str:
    found = t[np.isfinite(t)]
    if not len(found):
        return f"found 0/{len(t)}"
    return f"found {len(found)}/{len(t)}, top median {np.median(found) / 1000:.1f} kHz " \
           f"({found.min() / 1000:.1f}-{found.max() / 1000:.1f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", default="up22050,up16000,mp3:64,mp3:48")
    ap.add_argument("--below", default="16000,12000,11000", help="kHz: an edge at or above is left to the embedding")
    a = ap.parse_args()
    a.below = [float(b) for b in a.below.split(",")]
    embed_v3_data.PATTERNS, embed_v3_data.PATTERN_FLOOR_DB = True, 10.0
    for fold in L.FOLDS:
        tracks, y, X, mc, sc, W = fold_setup(fold)
        Xt, _, corpora = segment_descriptors(L.training_files(fold), 6, coded=True)  # each segment, then its .mz
        V = unit(((X - mc) / sc) @ W)
        out = [f"originals: {summary(tops_of(X))}; training segments: {summary(tops_of(Xt[0::2]))}, "
               f"coded: {summary(tops_of(Xt[1::2]))}",
               "training segments with an edge, by corpus: " + ", ".join(
                   f"{c} {int(np.sum(np.isfinite(t[corpora[0::2] == c])))}/{int(np.sum(corpora[0::2] == c))}"
                   for t in [tops_of(Xt[0::2])] for c in np.unique(corpora)),
               "originals with an edge: " + ", ".join(
                   f"{os.path.basename(p)} {t / 1000:.1f} kHz" for (_, p), t in zip(tracks, tops_of(X)) if np.isfinite(t)),
               ]
        queries = [("audio", X)] + [(kind, copies(tracks, kind)) for kind in a.kinds.split(",")]
        for kind, Xc in queries:
            tops = tops_of(Xc)
            acc_e, own_e = scores(unit(((Xc - mc) / sc) @ W), V, y)
            read = [f"{kind}: {summary(tops)}; by embedding 1-NN {acc_e:.3f} (own first {own_e:.3f})"]
            for most in a.below:  # an edge used only under this top
                label, own = np.zeros(len(X), bool), np.zeros(len(X), bool)
                for k in range(len(X)):  # each as `similar` reads it: band-limited below its own top, if found
                    if np.isfinite(tops[k]) and tops[k] < most:
                        N = view(X, tops[k])
                        mn, sn = N.mean(axis=0), N.std(axis=0) + 1e-9
                        sim = unit((N - mn) / sn) @ unit((view(Xc[k], tops[k]) - mn) / sn)[0]
                    else:
                        sim = V @ unit(((Xc[k:k + 1] - mc) / sc) @ W)[0]
                    own[k] = np.argmax(sim) == k
                    sim[k] = -np.inf
                    label[k] = y[np.argmax(sim)] == y[k]
                read.append(f"edges under {most / 1000:g} kHz band-limited {label.mean():.3f} (own first "
                            f"{own.mean():.3f})")
            out.append(", ".join(read))
        print(f"{fold} ({len(tracks)} tracks):\n  " + "\n  ".join(out), flush=True)


if __name__ == "__main__":
    main()
