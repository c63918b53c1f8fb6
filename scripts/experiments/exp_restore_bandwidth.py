"""`restore`'s bandwidth reading (restore.detect.bandwidth_hz) against an earlier commit's, on corpus excerpts in
five lossy codecs at two lengths (session 60).

    .venv/bin/python -m scripts.experiments.exp_restore_bandwidth [--against 67fdd02] [--tracks 16] [--start 5]
    .venv/bin/python -m scripts.experiments.exp_restore_bandwidth --bench   # the restore benchmark's inputs
    # log: docs/logs/restore_bandwidth_s60.log (--start 5, --start 40, --bench)

Every 9th of the corpus's Ogg and MP3 tracks (by path), `--tracks` of them: an excerpt from `--start` s of 30 s and
of 1 s, made MP3 at 32/64/96 kbps, Opus at 24 and AAC at 48 by ffmpeg, read as `restore` reads them; both
readings printed where they differ by more than 1 Hz. Also the bundled clip's first 0.3/0.5/2/12 s as a 32-kbps
MP3, the review's case. --bench: the 44 lossy inputs of scripts/bench/restore_bench.py (4 validation tracks'
10-s excerpts in its codecs and bitrates) instead, whose readings condition its generator.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CODECS = (("mp3", ["-b:a", "32k"]), ("mp3", ["-b:a", "64k"]), ("mp3", ["-b:a", "96k"]), ("opus", ["-b:a", "24k"]),
          ("m4a", ["-b:a", "48k"]))


def earlier(commit: str, tmp: Path):
    """restore/detect.py as it was at `commit`, imported on its own."""
    path = tmp / "detect_then.py"
    path.write_text(subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:muzip/restore/detect.py"],
                                   capture_output=True, text=True, check=True).stdout)
    spec = importlib.util.spec_from_file_location("detect_then", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.bandwidth_hz


def read(path: Path):
    from muzip.audio import AudioSource
    with AudioSource(str(path)) as src:
        return np.concatenate(list(src.blocks(1 << 16))), src.info.sample_rate


def bench_inputs(then, now, tmp: Path) -> None:
    from muzip.restore.pairs import mp3_pair
    from scripts.bench import restore_bench as B
    from scripts.data.corpus import split
    moved = total = 0
    for track in split()[1][:4]:
        x = B.excerpt(track, 30.0, 10.0)
        cases = [(f"mp3 {k}", lambda k=k: mp3_pair(x, B.SR, k)) for k in B.MP3_KBPS] + \
            [(f"opus {k}", lambda k=k: B.opus(x, k)[0]) for k in B.OTHER_KBPS] + \
            [(f"aac {k}", lambda k=k: B.aac(x, k, tmp)[0]) for k in B.OTHER_KBPS]
        for name, make in cases:
            y = make()[:len(x)]
            b0, b1 = then(y, B.SR), now(y, B.SR)
            total += 1
            moved += abs(b0 - b1) > 1
            print(f"{Path(track).name} {name}: {b0:.0f} Hz then, {b1:.0f} Hz now")
    print(f"the restore benchmark's inputs: {moved} of {total} readings moved")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", default="67fdd02")
    ap.add_argument("--tracks", type=int, default=16)
    ap.add_argument("--start", type=float, default=5.0)
    ap.add_argument("--bench", action="store_true")
    a = ap.parse_args()
    from muzip.restore.detect import bandwidth_hz as now
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        then = earlier(a.against, tmp)
        if a.bench:
            return bench_inputs(then, now, tmp)
        clip = ROOT / "tests/data/knolls_excerpt.ogg"
        for seconds in (0.3, 0.5, 2, 12):
            out = tmp / f"clip{seconds}.mp3"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-t", str(seconds), "-c:a", "libmp3lame",
                            "-b:a", "32k", str(out)], check=True)
            x, rate = read(out)
            print(f"the clip's first {seconds} s, MP3 32 kbps: {then(x, rate):.0f} Hz then, {now(x, rate):.0f} Hz now")
        tracks = sorted(set(glob.glob(str(ROOT / "data/raw/**/*.ogg"), recursive=True)
                            + glob.glob(str(ROOT / "data/raw/**/*.mp3"), recursive=True)))[::9][:a.tracks]
        moved = total = 0
        for i, track in enumerate(tracks):
            for ext, options in CODECS:
                for seconds in (30, 1):
                    out = tmp / f"t{i}_{options[1]}_{seconds}.{ext}"
                    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(a.start), "-t", str(seconds), "-i", track,
                                    *options, str(out)], check=True)
                    try:
                        x, rate = read(out)
                    except Exception as exc:  # noqa: BLE001 - an excerpt past a short track's end: no audio
                        print(f"{Path(track).name} {ext} {options[1]} {seconds} s: not read ({exc})")
                        continue
                    total += 1
                    b0, b1 = then(x, rate), now(x, rate)
                    if abs(b0 - b1) > 1:
                        moved += 1
                        print(f"{Path(track).name} {ext} {options[1]} {seconds} s: {b0:.0f} Hz then, {b1:.0f} Hz now")
        print(f"{moved} of {total} readings moved")


if __name__ == "__main__":
    main()
