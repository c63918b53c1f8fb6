"""The leave-one-corpus-out folds of the library benchmark (issue 25): which corpus each fold evaluates on,
with which labels, and which audio a learned embedder of that fold may train on.

A fold is one evaluation corpus with labels of its own. Its embedder never hears that corpus (its
`training_files` leave out every file of the fold's packages, or every music21 rendering for *styles*);
its classifier is trained on the corpus's own training split (cross-validation by track inside it).

- games-A: the wesnoth, nexuiz and singularity soundtracks, label = soundtrack;
- games-B: the drascula, planetblupi and asc-music soundtracks, label = soundtrack;
- styles: music21 corpus pieces rendered through FluidSynth (scripts/data/render_styles.py), label = the
  composer or repertoire (bach, monteverdi, palestrina, ryansMammoth, trecento).

Every track gives a 60-s excerpt from its middle (the whole track if shorter) and two 15-s segments, the
excerpt's first and last 15 s, for retrieval; tracks under MIN_SECONDS are left out. A file shipped twice
(drascula-music has one folder per language) counts once, its first path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXCERPT_S = 60.0
SEGMENT_S = 15.0
MIN_SECONDS = 40.0  # two 15-s segments with at least 10 s between them
RATE = 44100

FOLDS = {
    "games-A": ("wesnoth-1.16-music", "nexuiz-music", "singularity-music"),
    "games-B": ("drascula-music", "planetblupi-music-ogg", "asc-music"),
    "styles": ("styles",),
}
RENDER_DIRS = ("styles", "styles_alt", "extra")  # music21 renderings under data/: one corpus


def _unique(paths):
    seen, out = set(), []
    for p in paths:
        digest = hashlib.sha1(Path(p).read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            out.append(p)
    return out


def _duration(path) -> float:
    import soundfile as sf
    try:
        return float(sf.info(path).duration)
    except (RuntimeError, OSError):
        return 0.0


def fold_tracks(fold: str, per_label: int = 20) -> list[tuple[str, str]]:
    """(label, path) of a fold's evaluation corpus: up to per_label tracks per label (first by path) of at
    least MIN_SECONDS."""
    from scripts.data.corpus import audio_files
    out = []
    for label in FOLDS[fold]:
        if label == "styles":
            root = ROOT / "data" / "styles"
            for cls in sorted(p.name for p in root.iterdir() if p.is_dir()):
                files = [f for f in sorted(str(f) for f in (root / cls).glob("*.flac")) if _duration(f) >= MIN_SECONDS]
                out += [(cls, f) for f in files[:per_label]]
            continue
        files = [f for f in _unique(audio_files(str(ROOT / "data" / "raw" / label))) if _duration(f) >= MIN_SECONDS]
        out += [(label, f) for f in files[:per_label]]
    return out


def corpus_files(held=()) -> list[str]:
    """Every audio file of the corpus (data/raw, the music21 renderings) but the packages in `held` ("styles":
    every rendering), each content once."""
    from scripts.data.corpus import audio_files
    out = []
    for package in sorted(p.name for p in (ROOT / "data" / "raw").iterdir() if p.is_dir()):
        if package not in held:
            out += audio_files(str(ROOT / "data" / "raw" / package))
    if "styles" not in held:
        for d in RENDER_DIRS:
            if (ROOT / "data" / d).is_dir():
                out += audio_files(str(ROOT / "data" / d))
    return _unique(out)


def training_files(fold: str) -> list[str]:
    """Every audio file a learned embedder of this fold may train on: the corpus without the fold's own
    corpus. The band-validation songs are stems of fretsonfire-songs-muldjord, which no fold evaluates on,
    so they are in."""
    return corpus_files(FOLDS[fold])


def excerpt(path: str) -> np.ndarray:
    """The track's 60-s excerpt from its middle at RATE, (n, 2) float32 (mono files duplicated)."""
    import soundfile as sf
    import soxr
    info = sf.info(path)
    start = max(0.0, (info.duration - EXCERPT_S) / 2)
    with sf.SoundFile(path) as f:
        f.seek(int(start * f.samplerate))
        x = f.read(int(EXCERPT_S * f.samplerate), dtype="float32", always_2d=True)
    x = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
    if info.samplerate != RATE:
        x = soxr.resample(x, info.samplerate, RATE).astype(np.float32)
    return np.ascontiguousarray(x)


def segments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The excerpt's first and last SEGMENT_S seconds."""
    n = int(SEGMENT_S * RATE)
    return x[:n], x[-n:]
