"""End-to-end CLI speed and memory, muzip against ffmpeg + LAME in the same run (issue 6, section 2).

    .venv/bin/python -m scripts.bench.cli_bench [--minutes 60] [--quick]      # prints markdown; bench.py embeds it
    .venv/bin/python -m scripts.bench.cli_bench --model muzip-v2.4            # compress --model (default: the default)

Every figure is a whole command as a user runs it: process start-up, imports and model loading included.
- one 10-s stereo 44.1 kHz clip (a validation excerpt): median wall time of 5 runs of each command;
- a long file (validation tracks looped to N minutes): wall time and peak RSS (ru_maxrss of the child);
- a batch of 10 songs (3-minute excerpts of training tracks): `-j 1` vs `-j 2` throughput, and the per-file
  overhead of a batch: (one `-j 1` process per file, as a shell loop runs it) minus (one `-j 1` call), per file;
- `muzip eval` CPU time and peak RSS per minute of audio, with and without ViSQOL (scripts/bench/eval_cost.py).
ffmpeg encodes MP3 with libmp3lame at the same bitrate, and decodes it to WAV.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from scripts.data.corpus import split

ROOT = Path(__file__).resolve().parents[2]

SR = 44100
TARGETS = {"clip_compress_x": 30, "clip_decompress_x": 30, "long_compress_x": 200, "long_decompress_x": 150,
           "long_rss_mb": 400, "jobs_speedup": 1.7}
# The wrapper runs cmd and samples, every 20 ms, the memory of cmd and every process under it (a command may
# fork workers: one long file decodes on -j processes); maxrss is the largest single process. Summed RSS
# counts a page the processes share once per process (an upper bound); summed PSS counts it once, split
# between them: what the command's processes use together, the figure the memory target is judged on.
# PSS is read every 0.25 s only: smaps_rollup walks a process's page tables under its memory-map lock, and
# read every 20 ms it slowed a long compress by ~15 % (statm costs nothing measurable).
_RSS = ("import json, os, resource, subprocess, sys, time\n"
        "def tree(pid):\n"
        "    out = [pid]\n"
        "    try:\n"
        "        for t in os.listdir(f'/proc/{pid}/task'):\n"
        "            for c in open(f'/proc/{pid}/task/{t}/children').read().split():\n"
        "                out += tree(int(c))\n"
        "    except OSError:\n"
        "        pass\n"
        "    return out\n"
        "def rss(pid):\n"
        "    try:\n"
        "        return int(open(f'/proc/{pid}/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')\n"
        "    except (OSError, ValueError, IndexError):\n"
        "        return 0\n"
        "def pss(pid):\n"
        "    try:\n"
        "        for line in open(f'/proc/{pid}/smaps_rollup'):\n"
        "            if line.startswith('Pss:'):\n"
        "                return int(line.split()[1]) * 1024\n"
        "    except (OSError, ValueError, IndexError):\n"
        "        pass\n"
        "    return 0\n"
        "t = time.perf_counter()\n"
        "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
        "peak = peak_pss = 0\n"
        "last_pss = -1.0\n"
        "while True:\n"
        "    procs = tree(p.pid)\n"
        "    peak = max(peak, sum(rss(q) for q in procs))\n"
        "    if time.perf_counter() - last_pss >= 0.25:\n"
        "        last_pss = time.perf_counter()\n"
        "        peak_pss = max(peak_pss, sum(pss(q) for q in procs))\n"
        "    try:\n"
        "        p.wait(timeout=0.02)\n"
        "        break\n"
        "    except subprocess.TimeoutExpired:\n"
        "        pass\n"
        "wall = time.perf_counter() - t; err = p.stderr.read()\n"
        "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'rc': p.returncode, 'wall_s': wall, 'maxrss_mb': ru.ru_maxrss / 1024,"
        " 'tree_rss_mb': peak / 2 ** 20, 'tree_pss_mb': peak_pss / 2 ** 20, 'cpu_s': ru.ru_utime + ru.ru_stime, 'err': err[-500:]}))\n")


def muzip_cmd():
    sibling = Path(sys.executable).parent / "muzip"
    return [str(sibling)] if sibling.exists() else [sys.executable, "-m", "muzip"]


MODEL_ARGS: list[str] = []  # ["--model", NAME] for compress (decompress reads the model from the file)

# As on a user's machine, Python may cache compiled bytecode (some sandboxes turn that off globally).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def child(cmd) -> dict:
    """Run cmd in a fresh wrapper; wall time, CPU and peak RSS of cmd alone."""
    p = subprocess.run([sys.executable, "-c", _RSS, *cmd], capture_output=True, text=True, env=ENV)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    if r["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r['rc']}): {r['err']}")
    return r


def stereo(x, sr):
    import soxr
    x = x if x.shape[1] == 2 else np.repeat(x[:, :1], 2, axis=1)
    return soxr.resample(x, sr, SR).astype(np.float32) if sr != SR else x


def write_excerpt(src, dst, start_s, seconds):
    with sf.SoundFile(src) as f:
        f.seek(min(int(start_s * f.samplerate), max(0, f.frames - int(seconds * f.samplerate))))
        x = f.read(int(seconds * f.samplerate), dtype="float32", always_2d=True)
        sf.write(dst, stereo(x, f.samplerate), SR, subtype="PCM_16")


def write_long(tracks, dst, minutes):
    need, written = int(minutes * 60 * SR), 0
    with sf.SoundFile(dst, "w", SR, 2, subtype="PCM_16") as out:
        while written < need:
            for t in tracks:
                with sf.SoundFile(t) as f:
                    for b in f.blocks(1 << 18, dtype="float32", always_2d=True):
                        b = stereo(b, f.samplerate)[: need - written]
                        out.write(b)
                        written += len(b)
                if written >= need:
                    break
    return written / SR


def median_wall(cmd, runs=5):
    child(cmd)  # warm-up, not counted: the OS file cache and Python's bytecode cache, as on a second run
    return statistics.median(child(cmd)["wall_s"] for _ in range(runs))


def clip_speed(tmp, clip, kbps, log):
    mz, mp3 = [*muzip_cmd()], ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    rows = {
        "muzip compress": median_wall(mz + ["compress", *MODEL_ARGS, "-q", "-f", "-b", str(kbps), clip,
                                            "-o", f"{tmp}/c.mz"]),
        "muzip decompress": median_wall(mz + ["decompress", "-q", "-f", f"{tmp}/c.mz", "-o", f"{tmp}/c.wav"]),
        "ffmpeg LAME encode": median_wall(mp3 + ["-i", clip, "-c:a", "libmp3lame", "-b:a", f"{kbps}k", f"{tmp}/c.mp3"]),
        "ffmpeg LAME decode": median_wall(mp3 + ["-i", f"{tmp}/c.mp3", f"{tmp}/c2.wav"]),
    }
    seconds = sf.info(clip).duration
    log("  10-s clip: " + ", ".join(f"{k} {seconds / v:.1f}x" for k, v in rows.items()))
    return {k: {"wall_s": v, "x": seconds / v} for k, v in rows.items()}, seconds


def long_file(tmp, wav, seconds, kbps, log):
    mz, mp3 = [*muzip_cmd()], ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    cmds = {
        "muzip compress": mz + ["compress", *MODEL_ARGS, "-q", "-f", "-b", str(kbps), wav, "-o", f"{tmp}/l.mz"],
        "muzip decompress": mz + ["decompress", "-q", "-f", f"{tmp}/l.mz", "-o", f"{tmp}/l.wav"],
        "ffmpeg LAME encode": mp3 + ["-i", wav, "-c:a", "libmp3lame", "-b:a", f"{kbps}k", f"{tmp}/l.mp3"],
        "ffmpeg LAME decode": mp3 + ["-i", f"{tmp}/l.mp3", f"{tmp}/l2.wav"],
    }
    out = {}
    for k, cmd in cmds.items():
        r = child(cmd)
        out[k] = {"wall_s": r["wall_s"], "x": seconds / r["wall_s"], "rss_mb": r["maxrss_mb"], "cpu_s": r["cpu_s"],
                  "tree_rss_mb": r["tree_rss_mb"], "tree_pss_mb": r["tree_pss_mb"]}
        log(f"  {seconds / 60:.0f} min: {k} {out[k]['x']:.1f}x, peak RSS {r['maxrss_mb']:.0f} MB "
            f"(all its processes together: PSS {r['tree_pss_mb']:.0f} MB, summed RSS {r['tree_rss_mb']:.0f} MB)")
    return out


def batch(tmp, songs, kbps, log):
    mz = muzip_cmd()
    total = sum(sf.info(s).duration for s in songs)
    res = {}
    for jobs in (1, 2):
        r = child(mz + ["compress", *MODEL_ARGS, "-q", "-f", "-j", str(jobs), "-b", str(kbps), "--output-dir", tmp, *songs])
        res[f"j{jobs}"] = {"wall_s": r["wall_s"], "x": total / r["wall_s"]}
    for name, extra in (("loop", []), ("loop_j1", ["-j", "1"])):
        t = time.perf_counter()
        for s in songs:  # the loop a script author writes first (and the same on one core each)
            child(mz + ["compress", *MODEL_ARGS, "-q", "-f", *extra, "-b", str(kbps), s, "-o", f"{tmp}/loop.mz"])
        loop = time.perf_counter() - t
        res[name] = {"wall_s": loop, "x": total / loop}
    res["speedup_j2"] = res["j1"]["wall_s"] / res["j2"]["wall_s"]
    # Same cores per file both ways (-j 1), so the difference is what a process per file costs.
    res["per_file_overhead_s"] = (res["loop_j1"]["wall_s"] - res["j1"]["wall_s"]) / len(songs)
    res["files"], res["seconds"] = len(songs), total
    log(f"  batch of {len(songs)}: -j1 {res['j1']['x']:.0f}x, -j2 {res['j2']['x']:.0f}x "
        f"(speed-up {res['speedup_j2']:.2f}), loop {res['loop']['x']:.0f}x, "
        f"overhead {res['per_file_overhead_s']:.3f} s/file")
    return res


def run(minutes=60.0, quick=False, kbps=64, log=lambda s: print(s, file=sys.stderr, flush=True)) -> dict:
    if not shutil.which("ffmpeg"):
        raise SystemExit("cli_bench: ffmpeg is needed for the LAME comparison (apt-get install ffmpeg)")
    os.chdir(ROOT)
    train, val = split()
    res = {"kbps": kbps, "nproc": len(os.sched_getaffinity(0))}
    with tempfile.TemporaryDirectory(prefix="muzip-cli-bench-") as tmp:
        clip = f"{tmp}/clip.wav"
        write_excerpt(val[0], clip, 30.0, 10.0)
        res["clip"], res["clip_seconds"] = clip_speed(tmp, clip, kbps, log)
        long_wav = f"{tmp}/long.wav"
        seconds = write_long(val, long_wav, 2.0 if quick else minutes)
        res["long"], res["long_seconds"] = long_file(tmp, long_wav, seconds, kbps, log), seconds
        os.remove(long_wav)
        songs = []
        for i, t in enumerate(sorted(train, key=lambda p: -sf.info(p).duration)[:10]):
            songs.append(f"{tmp}/song{i:02d}.wav")
            write_excerpt(t, songs[-1], 0.0, 20.0 if quick else 180.0)
        out = Path(tmp) / "batch"
        out.mkdir()
        res["batch"] = batch(str(out), songs, kbps, log)
    res["eval"] = {f"{m}min{'' if v else '_no_visqol'}": eval_cost(m, v)
                   for m, v in ([(1, False), (1, True)] if quick else [(1, False), (3, False), (10, False),
                                                                       (1, True), (3, True)])}
    return res


def eval_cost(minutes, visqol):
    """scripts/bench/eval_cost.py's measurement, from a small fresh process: on Linux a child's peak RSS
    starts from its parent's at fork time, and this process holds the excerpts (hundreds of MB)."""
    code = ("import json; from scripts.bench.eval_cost import measure_eval; "
            f"print(json.dumps(measure_eval({minutes}, visqol={visqol})))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=ENV, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def verdict(value, target, higher=True):
    ok = value >= target if higher else value < target
    return f"**{'meets' if ok else 'misses'}** ({'≥' if higher else '<'} {target:g})"


def markdown(res: dict) -> str:
    L = [f"Whole commands, process start-up and model loading included (`scripts/bench/cli_bench.py`, run by "
         f"`make bench`); {res['nproc']} CPU(s); {res['kbps']} kbps for both codecs; ffmpeg + libmp3lame in the same run.", ""]
    c, s = res["clip"], res["clip_seconds"]
    L += [f"**One {s:g}-s stereo clip, one process** (median of 5 runs):", "",
          "| command | wall s | × real time | target |", "|---|---:|---:|---|",
          f"| muzip compress | {c['muzip compress']['wall_s']:.3f} | {c['muzip compress']['x']:.1f} | "
          f"{verdict(c['muzip compress']['x'], TARGETS['clip_compress_x'])} |",
          f"| muzip decompress | {c['muzip decompress']['wall_s']:.3f} | {c['muzip decompress']['x']:.1f} | "
          f"{verdict(c['muzip decompress']['x'], TARGETS['clip_decompress_x'])} |",
          f"| ffmpeg LAME encode | {c['ffmpeg LAME encode']['wall_s']:.3f} | {c['ffmpeg LAME encode']['x']:.1f} | |",
          f"| ffmpeg LAME decode | {c['ffmpeg LAME decode']['wall_s']:.3f} | {c['ffmpeg LAME decode']['x']:.1f} | |", ""]
    g, m = res["long"], res["long_seconds"] / 60
    L += [f"**A {m:.0f}-minute stereo file:**", "",
          "| command | wall s | × real time | peak memory MB, all its processes (PSS) | summed RSS MB | CPU s | target |",
          "|---|---:|---:|---:|---:|---:|---|"]
    for k, speed_t in (("muzip compress", "long_compress_x"), ("muzip decompress", "long_decompress_x"),
                       ("ffmpeg LAME encode", None), ("ffmpeg LAME decode", None)):
        r = g[k]
        rss = r.get("tree_rss_mb", r["rss_mb"])  # summed over a command's processes (an upper bound)
        mem = r.get("tree_pss_mb", rss)  # what they use together (runs before session 35 have no PSS)
        t = (f"{verdict(r['x'], TARGETS[speed_t])}; memory {verdict(mem, TARGETS['long_rss_mb'], False)}"
             if speed_t else "")
        L.append(f"| {k} | {r['wall_s']:.1f} | {r['x']:.1f} | {mem:.0f} | {rss:.0f} | {r['cpu_s']:.1f} | {t} |")
    b = res["batch"]
    L += ["", f"**A batch of {b['files']} songs** ({b['seconds'] / 60:.0f} minutes in all, `compress --output-dir`):", "",
          "| run | wall s | × real time |", "|---|---:|---:|",
          f"| `-j 1` | {b['j1']['wall_s']:.1f} | {b['j1']['x']:.0f} |",
          f"| `-j 2` | {b['j2']['wall_s']:.1f} | {b['j2']['x']:.0f} |",
          f"| one process per file (shell loop) | {b['loop']['wall_s']:.1f} | {b['loop']['x']:.0f} |",
          *([f"| one process per file, `-j 1` each | {b['loop_j1']['wall_s']:.1f} | {b['loop_j1']['x']:.0f} |"]
            if "loop_j1" in b else []), "",
          f"`-j 2` / `-j 1` throughput: {b['speedup_j2']:.2f} → {verdict(b['speedup_j2'], TARGETS['jobs_speedup'])}. "
          f"Per-file overhead of a process per file over one `-j 1` batch call (both on one core): "
          f"{b['per_file_overhead_s']:.3f} s.", ""]
    if res.get("eval"):
        L += ["**`muzip eval`** (reference WAV vs a degraded WAV; `scripts/bench/eval_cost.py`):", "",
              "| case | CPU s | CPU s per minute | peak RSS MB |", "|---|---:|---:|---:|"]
        for k, r in res["eval"].items():
            minutes = float(k.split("min")[0])
            L.append(f"| {k.replace('_', ' ')} | {r['cpu_s']:.1f} | {r['cpu_s'] / minutes:.1f} | {r['peak_rss_mb']:.0f} |")
        L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--quick", action="store_true", help="2-minute long file, 20-s songs, fewer eval cases")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--model", help="the codec model compress uses (default: muzip's default)")
    a = ap.parse_args()
    if a.model:
        MODEL_ARGS[:] = ["--model", a.model]
    results = run(a.minutes, a.quick)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    print(markdown(results))
