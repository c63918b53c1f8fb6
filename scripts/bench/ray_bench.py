"""`muzip compress --ray` against the process pool, whole commands on one folder of songs (issue 26).

    .venv/bin/python -m scripts.bench.ray_bench [--songs 12] [--json docs/logs/ray_bench.json]

The folder: the first SONGS Ogg tracks by path of the wesnoth, nexuiz and singularity packages (2-5 minutes
each), copied into a fresh folder.
Each row is one whole command (start-up, Ray's included) writing into an empty output folder: `muzip
compress -r SRC --output-dir DST -j 1` and `-j 2`, then `--ray -j 1` and `--ray -j 2` (a local Ray of that
many CPUs, one actor per CPU). Every `.mz` of the Ray runs is compared with the process pool's.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUZIP = [sys.executable, "-m", "muzip"]


def songs(n: int) -> list[Path]:
    found = [p for pkg in ("wesnoth-1.16-music", "nexuiz-music", "singularity-music")
             for p in sorted((ROOT / "data" / "raw" / pkg).rglob("*.ogg"))]
    if len(found) < n:
        raise SystemExit(f"ray_bench: {len(found)} corpus tracks found, {n} asked for (make corpus)")
    return found[:n]


def song_folder(tmp: str, n: int) -> Path:
    """TMP/src with copies of the first `n` corpus tracks, named PACKAGE-FILE."""
    src = Path(tmp) / "src"
    src.mkdir()
    for p in songs(n):
        shutil.copy(p, src / f"{p.parent.name}-{p.name}")
    return src


def timed(args) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(MUZIP + args, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"ray_bench: muzip {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--songs", type=int, default=48)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--ray-only", action="store_true", help="only -j 2 and --ray -j 2 (a quick check)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = song_folder(tmp, a.songs)
        import soundfile as sf
        seconds = sum(sf.info(str(p)).duration for p in src.iterdir())
        runs = {"-j 1": ["-j", "1"], "-j 2": ["-j", "2"], "--ray -j 1": ["--ray", "-j", "1"],
                "--ray -j 2": ["--ray", "-j", "2"]}
        if a.ray_only:
            runs = {k: v for k, v in runs.items() if k in ("-j 2", "--ray -j 2")}
        res = {"songs": a.songs, "audio_s": seconds, "cpus": os.cpu_count(), "wall_s": {}}
        for name, extra in runs.items():
            dst = Path(tmp) / name.replace(" ", "_")
            res["wall_s"][name] = timed(["compress", "-q", "-r", str(src), "--output-dir", str(dst), *extra])
            print(f"{name}: {res['wall_s'][name]:.1f} s", flush=True)
        ref = Path(tmp) / "-j_2"
        res["identical"] = all(filecmp.cmp(ref / f.name, f, shallow=False) for run in runs if "ray" in run
                               for f in (Path(tmp) / run.replace(" ", "_")).iterdir())
        w = res["wall_s"]
        if "--ray -j 1" in w:
            res["ray_2_over_ray_1"] = w["--ray -j 1"] / w["--ray -j 2"]
        res["ray_2_over_pool_2"] = w["--ray -j 2"] / w["-j 2"]
        print(json.dumps(res, indent=1))
        if a.json:
            Path(a.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
