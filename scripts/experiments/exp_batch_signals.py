"""Signals to a `muzip compress -j 2` batch at random moments (session 58): each run must end with one
"muzip: interrupted" line, exit 128 + the signal, no traceback, no "internal error", and no temporary file left.

    .venv/bin/python -m scripts.experiments.exp_batch_signals [RUNS] [--group]
    # default 60 runs, SIGINT, SIGTERM, SIGHUP in turn to muzip only; --group: SIGTERM and SIGHUP to its whole
    # process group (systemd stopping it, a closed terminal), the workers too

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
    import soundfile as sf
    args = [a for a in sys.argv[1:] if a != "--group"]
    group = "--group" in sys.argv
    runs = int(args[0]) if args else 60
    rng = np.random.default_rng(58)
    t = np.arange(400 * 44100) / 44100
    x = np.repeat((0.1 * np.sin(2 * np.pi * 440 * t))[:, None], 2, axis=1).astype(np.float32)
    bad = 0
    for k in range(runs):
        folder = tempfile.mkdtemp()
        try:
            for name in ("a.wav", "b.wav"):
                sf.write(os.path.join(folder, name), x, 44100)
            kinds = (signal.SIGTERM, signal.SIGHUP) if group else (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
            sig = kinds[k % len(kinds)]
            proc = subprocess.Popen([sys.executable, "-m", "muzip", "compress", "-j", "2", "a.wav", "b.wav"],
                                    cwd=folder, stderr=subprocess.PIPE, text=True, start_new_session=True)
            while not any(n.endswith(".part") for n in os.listdir(folder)):
                if proc.poll() is not None:
                    raise SystemExit(f"muzip ended before writing: {proc.stderr.read()}")
                time.sleep(0.02)
            time.sleep(rng.random() * 0.5)
            (os.killpg if group else os.kill)(proc.pid, sig)
            _, err = proc.communicate(timeout=120)
            left = [n for n in os.listdir(folder) if n.endswith(".part") or n.startswith(".")]
            if proc.returncode != 128 + sig or "Traceback" in err or "internal error" in err \
                    or err.strip().splitlines()[-1:] != ["muzip: interrupted"] or left:
                bad += 1
                print(f"run {k} ({signal.Signals(sig).name}): exit {proc.returncode}, left {left}: {err[-300:]!r}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{runs} runs, {bad} bad")


if __name__ == "__main__":
    main()
