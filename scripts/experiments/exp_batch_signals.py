"""Signals to a `muzip compress -j 2` batch at random moments (session 58): each run must end with one
"muzip: interrupted" line, exit 128 + the signal, no traceback, no "internal error", and no temporary file left.

    .venv/bin/python -m scripts.experiments.exp_batch_signals [RUNS] [--group] [--index]
    # default 60 runs, SIGINT, SIGTERM, SIGHUP in turn to muzip only; --group: SIGTERM and SIGHUP to its whole
    # process group (systemd stopping it, a closed terminal), the workers too; --index: `muzip index -j 2` of
    # forty 30-s WAVs instead of `compress -j 2` of two 400-s ones

Session 57 saw one run in 30 end in "internal error (RuntimeError: release unlocked lock)": the signal was raised
inside the process pool's waiting. Prints each bad run and the count.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    group, index = "--group" in sys.argv, "--index" in sys.argv
    runs = int(args[0]) if args else 60
    rng = np.random.default_rng(58)
    kinds = (signal.SIGTERM, signal.SIGHUP) if group else (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    bad = finished = 0
    with tempfile.TemporaryDirectory() as music:
        _write_inputs(music, index)
        for k in range(runs):
            sig, folder = kinds[k % len(kinds)], tempfile.mkdtemp()
            try:
                cmd = ["index", "-j", "2", music, "--db", os.path.join(folder, "lib.db")] if index else \
                    ["compress", "-j", "2", "-o", folder, os.path.join(music, "a.wav"), os.path.join(music, "b.wav")]
                proc = subprocess.Popen([sys.executable, "-m", "muzip", *cmd], cwd=folder, stderr=subprocess.PIPE,
                                        text=True, start_new_session=True)
                if index:
                    time.sleep(1 + 3 * rng.random())
                else:
                    _wait_for_part(proc, folder)
                    time.sleep(rng.random() * 0.5)
                (os.killpg if group else os.kill)(proc.pid, sig)
                _, err = proc.communicate(timeout=120)
                left = [n for n in os.listdir(folder) if n.endswith(".part") or n.startswith(".")]
                if index and proc.returncode in (0, 3) and "Traceback" not in err:
                    finished += 1  # done before the signal came
                elif proc.returncode != 128 + sig or "Traceback" in err or "internal error" in err \
                        or err.strip().splitlines()[-1:] != ["muzip: interrupted"] or left:
                    bad += 1
                    print(f"run {k} ({signal.Signals(sig).name}): exit {proc.returncode}, left {left}: {err[-300:]!r}")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    print(f"{runs} runs, {bad} bad" + (f", {finished} finished before the signal" if index else ""))


def _write_inputs(folder: str, index: bool) -> None:
    """compress: two 400-s WAVs (about two seconds of work each); index: forty 30-s ones."""
    import soundfile as sf
    rng = np.random.default_rng(0)
    for i, name in enumerate([f"m{i:02d}.wav" for i in range(40)] if index else ["a.wav", "b.wav"]):
        t = np.arange((30 if index else 400) * 44100) / 44100
        x = 0.1 * np.sin(2 * np.pi * (200 + 13 * i) * t)[:, None] + 0.01 * rng.standard_normal((len(t), 2))
        sf.write(os.path.join(folder, name), x.astype(np.float32), 44100)


def _wait_for_part(proc, folder: str) -> None:
    while not any(n.endswith(".part") for n in os.listdir(folder)):
        if proc.poll() is not None:
            raise SystemExit(f"muzip ended before writing: {proc.stderr.read()}")
        time.sleep(0.02)


if __name__ == "__main__":
    main()
