"""Does `classify predict` say when a file is unlike every training track (session 56)? Through the CLI.

    .venv/bin/python -m scripts.experiments.exp_classifier_reach [PACKAGE,PACKAGE,...]
    # logs: docs/logs/classifier_reach_s56.log (the default three, then drascula, planetblupi and wesnoth);
    # docs/logs/classifier_reach_s59.log (with the steady flatness: session 59)

A classifier is trained on three corpus packages (label = package; 2 of 3 tracks of each, by path order), then
labels: the held-out third of those packages' tracks (the rate of "unlike" there is the false-alarm rate), the
tracks of the other packages (music of another kind: "unlike" is fair), and made files: 20 s of silence, white,
pink and brown noise, a 440-Hz tone, a click track, mono downmixes of held-out tracks and held-out tracks with as
much digital silence as music after them (the same music: "unlike" is a false alarm, unless the label is wrong).
Printed: per group, how many were said unlike, of them how many as flat and steady as noise (typicality.noise_like),
the distances to the nearest training track, the top probability the regression gave them, and how many got their
right label.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ("wesnoth-1.16-music", "nexuiz-music", "singularity-music")
OTHER = ("drascula-music", "planetblupi-music-ogg", "asc-music", "fretsonfire-songs-muldjord")
SOURCES: dict[str, str] = {}  # a mono downmix -> the held-out track it was made of


def _muzip(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "muzip", *map(str, args)], capture_output=True, text=True)


def _made(folder: Path, held: list[str]) -> dict[str, list[str]]:
    rate, n = 44100, 20 * 44100
    rng = np.random.default_rng(0)
    white = rng.standard_normal((n, 2)) * 0.1
    spectrum = np.fft.rfft(rng.standard_normal((n, 2)), axis=0) / np.sqrt(np.arange(n // 2 + 1) + 1)[:, None]
    pink = np.fft.irfft(spectrum, n, axis=0)
    pink *= 0.1 / pink.std()
    t = np.arange(n) / rate
    tone = np.repeat((0.3 * np.sin(2 * np.pi * 440 * t))[:, None], 2, axis=1)
    clicks = np.zeros((n, 2))
    clicks[::rate // 2] = 0.8
    brown = np.cumsum(rng.standard_normal((n, 2)), axis=0)
    brown = 0.1 * (brown - brown.mean(axis=0)) / brown.std()
    made = {"silence": np.zeros((n, 2)), "white noise": white, "pink noise": pink, "brown noise": brown, "tone": tone,
            "clicks": clicks}
    out = {}
    for name, x in made.items():
        path = folder / f"{name.replace(' ', '_')}.wav"
        sf.write(path, x.astype(np.float32), rate)
        out[name] = [str(path)]
    mono = []
    for i, p in enumerate(held[:8]):
        x, sr = sf.read(p, dtype="float32", always_2d=True, frames=60 * 48000)
        path = folder / f"mono_{i}.wav"
        sf.write(path, np.repeat(x.mean(axis=1, keepdims=True), 2, axis=1), sr)
        mono.append(str(path))
        SOURCES[str(path)] = p
    out["mono downmix of a held-out track"] = mono
    gaps = []
    for i, p in enumerate(held[:8]):
        x, sr = sf.read(p, dtype="float32", always_2d=True, frames=60 * 48000)
        path = folder / f"gap_{i}.wav"
        sf.write(path, np.concatenate([x, np.zeros_like(x)]), sr)  # a hidden track's silence, or a long fade
        gaps.append(str(path))
        SOURCES[str(path)] = p
    out["held-out track, then as long a digital silence"] = gaps
    return out


def _truth(path: str) -> str | None:
    """The package of a corpus track (or of the held-out track a mono downmix was made of): its right label."""
    real = Path(os.path.realpath(path))
    return real.relative_to(ROOT / "data" / "raw").parts[0] if (ROOT / "data" / "raw") in real.parents else None


def main():
    from scripts.data.corpus import audio_files
    by_package: dict[str, list[str]] = {}
    for p in audio_files(str(ROOT / "data" / "raw")):
        by_package.setdefault(Path(p).relative_to(ROOT / "data" / "raw").parts[0], []).append(p)
    train_packages = tuple(sys.argv[1].split(",")) if len(sys.argv) > 1 else TRAIN
    other = tuple(p for p in (*TRAIN, *OTHER) if p not in train_packages)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        held = []
        for package in train_packages:
            files = sorted(by_package[package])
            (tmp / "train" / package).mkdir(parents=True)
            for i, p in enumerate(files):
                if i % 3 == 2:
                    held.append(p)
                else:
                    os.symlink(p, tmp / "train" / package / f"{i:03d}{Path(p).suffix}")
        r = _muzip("classify", "train", "-q", tmp / "train", "-o", tmp / "c.clf")
        assert r.returncode == 0, r.stderr
        meta = json.loads(np.load(tmp / "c.clf")["meta"].tobytes())
        reach, flat_reach = meta["reach"], meta.get("flat_reach", np.nan)
        groups = {"held-out tracks of the training packages": held,
                  "tracks of other packages": [p for k in other for p in sorted(by_package.get(k, []))[:10]],
                  **_made(tmp, held)}
        print(f"trained on {', '.join(train_packages)}")
        print(f"reach (1.25 x the 99th percentile of training tracks' nearest-other distance): {reach:.3f}")
        print(f"steady-flatness reach (0.35, or 1.25 x the training tracks' greatest where more): {flat_reach:.3f}\n")
        print("| files | n | said unlike | of them as noise | nearest: min / median / max | top probability: median "
              "| labelled right |")
        print("|---|---:|---:|---:|---|---:|---:|")
        for name, files in groups.items():
            r = _muzip("classify", "predict", "-q", tmp / "c.clf", *files, "--json")
            got = [json.loads(line) for line in r.stdout.splitlines()]
            failed = len(files) - len(got)
            if not got:
                print(f"| {name} | {len(files)} | (none labelled: {r.stderr.strip()[:80]}) | | | |", flush=True)
                continue
            top = np.median([max(g["scores"].values()) for g in got])
            truth = [_truth(SOURCES.get(g["path"], g["path"])) for g in got]
            right = f"{sum(g['label'] == t for g, t in zip(got, truth))} of {len(got)}" \
                if all(t in train_packages for t in truth) else "-"  # other music, made files: no right label
            headed = sum("nearest" not in g for g in got)  # labelled by a band-limited head: not measured
            unlike = sum(g.get("unlike_training", False) for g in got)
            noisy = sum("steady_flatness" in g for g in got)
            got = [g for g in got if "nearest" in g]
            near = np.array([g["nearest"] for g in got]) if got else np.full(1, np.nan)
            note = (f" ({failed} not labelled)" if failed else "") + (f" ({headed} band-limited)" if headed else "")
            print(f"| {name} | {len(got) + headed}{note} | {unlike} | {noisy} | {near.min():.2f} / {np.median(near):.2f} / "
                  f"{near.max():.2f} | {top:.2f} | {right} |", flush=True)


if __name__ == "__main__":
    main()
