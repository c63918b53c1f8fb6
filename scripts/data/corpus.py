"""The corpus split shared by training and benchmarks (fetched by scripts/data/fetch_corpus.sh into data/raw).

Validation (never trained on): wesnoth tracks whose file bitrate is >= 192 kbps. Training: everything else.
"""

import glob
import os

import soundfile as sf

AUDIO_EXTS = (".ogg", ".wav", ".flac", ".mp3")
VALIDATION_MIN_KBPS = 192


def audio_files(root="data/raw"):
    found = [p for p in glob.glob(os.path.join(root, "**", "*"), recursive=True) if p.lower().endswith(AUDIO_EXTS)]
    return sorted(p for p in found if os.path.isfile(p))


def file_kbps(path):
    info = sf.info(path)
    return os.path.getsize(path) * 8 / info.duration / 1000


def split(root="data/raw"):
    """(train_files, validation_files); unreadable files are left out of both."""
    train, val = [], []
    for path in audio_files(root):
        try:
            kbps = file_kbps(path)
        except Exception:
            continue
        if "wesnoth" in path and kbps >= VALIDATION_MIN_KBPS:
            val.append(path)
        else:
            train.append(path)
    if not val:
        raise SystemExit(f"no validation tracks under {root}: run scripts/data/fetch_corpus.sh first")
    return train, val
