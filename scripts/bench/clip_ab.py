"""Whole-command A/B on a 10-s clip: this checkout against another (an older commit's worktree), interleaved.

    git worktree add /tmp/base COMMIT && python -m compileall -q /tmp/base/muzip
    .venv/bin/python -m scripts.bench.clip_ab /tmp/base CLIP.wav --runs 12

Each run starts `python -m muzip compress` and `decompress` of the clip in a fresh process, alternating the two
checkouts (the other shadows this one through PYTHONPATH, its models folder its own); the first round is a
warm-up. Prints median and fastest wall time per checkout and command. Bytecode caching is left on, as on a
user's machine (PYTHONDONTWRITEBYTECODE is dropped).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base", help="the other checkout's root")
    ap.add_argument("clip", help="a WAV clip")
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--bitrate", default="64")
    a = ap.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    envs = {"base": dict(env, PYTHONPATH=os.path.abspath(a.base)), "this": env}
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        cmds = {"compress": ["compress", "-q", "-f", "-b", a.bitrate, os.path.abspath(a.clip), "-o", f"{tmp}/c.mz"],
                "decompress": ["decompress", "-q", "-f", f"{tmp}/c.mz", "-o", f"{tmp}/c.wav"]}
        for i in range(a.runs):
            for which, e in envs.items():
                for name, args in cmds.items():
                    t = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "muzip", *args], env=e, check=True, cwd=tmp)
                    if i:
                        times.setdefault((which, name), []).append(time.perf_counter() - t)
    for (which, name), v in sorted(times.items()):
        print(f"{which:5s} {name:10s} median {statistics.median(v):.3f} s  fastest {min(v):.3f} s  ({len(v)} runs)")


if __name__ == "__main__":
    main()
