"""CPU time, wall time and peak RSS of `muzip eval` on an N-minute stereo 44.1 kHz signal (issue 6, section 2).

    .venv/bin/python -m scripts.bench.eval_cost                       # 1 and 3 min with ViSQOL, 1/3/10 min without
    .venv/bin/python -m scripts.bench.eval_cost --minutes 2 --visqol  # one case
    .venv/bin/python -m scripts.bench.eval_cost --mz                  # degraded = a 32 kbps .mz (decoding included)

measure_eval(minutes, visqol) is what scripts/bench/cli_bench.py (make bench) calls. The reference is music:
the validation tracks (scripts/data/fetch_corpus.sh) looped to length, else the test clip looped; the degraded
copy is lowpassed at 11 kHz, has noise at about -45 dB and is 2 ms late, written as a WAV so that eval's own
cost is measured (with --mz: that WAV coded at 32 kbps, so .mz decoding is included). Each figure is one
`python -m muzip eval --json` child, start-up included: CPU = user + system time, peak RSS = ru_maxrss.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
SR = 44100
CLIP = ROOT / "tests" / "data" / "knolls_excerpt.ogg"
TARGET_CPU_PER_MIN = 10.0  # without ViSQOL, WAV degraded


def _sources():
    try:
        from scripts.data.corpus import split
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            return [str(ROOT / p) for p in split()[1]]
        finally:
            os.chdir(cwd)
    except (ImportError, SystemExit):
        return [str(CLIP)]


def write_pair(folder, minutes, sources=None):
    """reference.wav and degraded.wav of `minutes` in `folder`, written block by block."""
    from scipy import signal
    need = int(minutes * 60 * SR)
    sos = signal.butter(8, 11000 / (SR / 2), output="sos")
    zi = np.zeros((sos.shape[0], 2, 2))
    rng = np.random.default_rng(0)
    delay = np.zeros((int(0.002 * SR), 2), np.float32)
    ref, deg = Path(folder) / "reference.wav", Path(folder) / "degraded.wav"
    written = 0
    with sf.SoundFile(ref, "w", SR, 2, subtype="PCM_16") as r, sf.SoundFile(deg, "w", SR, 2, subtype="PCM_16") as d:
        d.write(delay)
        while written < need:
            for path in sources or _sources():
                with sf.SoundFile(path) as f:
                    for b in f.blocks(1 << 16, dtype="float32", always_2d=True):
                        b = _stereo_44k(b, f.samplerate)[:need - written]
                        y, zi[:] = signal.sosfilt(sos, b, axis=0, zi=zi)
                        r.write(b)
                        d.write((y + 0.005 * rng.standard_normal(b.shape)).astype(np.float32))
                        written += len(b)
                        if written >= need:
                            break
                if written >= need:
                    break
    return str(ref), str(deg)


def _stereo_44k(x, sr):
    x = x if x.shape[1] == 2 else np.repeat(x[:, :1], 2, axis=1)
    if sr != SR:
        import soxr
        x = soxr.resample(x, sr, SR).astype(np.float32)
    return x


def to_mz(wav, kbps=32):
    out = wav[:-4] + ".mz"
    subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", "-f", "-b", str(kbps), wav, "-o", out],
                   check=True, cwd=ROOT)
    return out


def run_child(cmd) -> dict:
    """Wall time, CPU (user + system) and peak RSS of one child process (os.wait4: its own rusage)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {err.read().decode()[-500:]}")
        return {"cpu_s": ru.ru_utime + ru.ru_stime, "wall_s": wall, "peak_rss_mb": ru.ru_maxrss / 1024,
                "result": json.loads(out.read().decode().strip().splitlines()[-1])}


def measure_eval(minutes: float, visqol: bool = False, mz: bool = False) -> dict:
    """`muzip eval --json` of an N-minute reference against its degraded copy: dict(cpu_s, wall_s,
    peak_rss_mb, and the metrics it printed)."""
    with tempfile.TemporaryDirectory(prefix="muzip-eval-cost-") as tmp:
        ref, deg = write_pair(tmp, minutes)
        if mz:
            deg = to_mz(ref)
        return run_child([sys.executable, "-m", "muzip", "eval", "--json", "--visqol" if visqol else "--no-visqol",
                          ref, deg])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, nargs="*", help="just these lengths (default: 1 3 10)")
    ap.add_argument("--visqol", action="store_true", help="with ViSQOL only (default: both, ViSQOL up to 3 min)")
    ap.add_argument("--mz", action="store_true", help="degraded = the reference coded at 32 kbps")
    a = ap.parse_args()
    cases = ([(m, a.visqol) for m in a.minutes] if a.minutes else
             [(1, False), (3, False), (10, False), (1, True), (3, True)])
    print("| minutes | ViSQOL | CPU s | CPU s/min | wall s | peak RSS MB | MOS | mel | SNR dB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for minutes, vq in cases:
        r = measure_eval(minutes, vq, a.mz)
        m = r["result"]
        mos = f"{m['visqol_mos']:.3f}" if m["visqol_mos"] is not None else "-"
        print(f"| {minutes:g} | {'yes' if vq else 'no'} | {r['cpu_s']:.1f} | {r['cpu_s'] / minutes:.2f} | "
              f"{r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} | {mos} | {m['mel_distance']:.3f} | {m['snr_db']:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
