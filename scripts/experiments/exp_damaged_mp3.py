"""How muzip reads MP3s damaged in their middle (session 58): length kept, and what follows the damage in line.

    .venv/bin/python -m scripts.experiments.exp_damaged_mp3 [--show] [--early]
    # logs: docs/logs/damaged_mp3_s58.log; --early: docs/logs/damaged_mp3_early_s59.log

Six kinds of MP3 made from the bundled clip (12 s): lameenc CBR and VBR (no Xing frame: they state no length),
ffmpeg's libmp3lame CBR, VBR and 32-kHz CBR (LAME tag: gapless), and libsndfile's (VBR, Xing frame). Each gets
TRIALS copies with one or two places damaged in the first 60 % (7 s): a flipped bit, or a burst of zero or
random bytes (BURSTS) (--early: each of the first four audio frames after any Xing frame, hit at each of its
header's first three bytes by a flipped bit, 60 or 200 zero bytes: 36 copies; there a walk has met few
frames, and mpg123 and libsndfile take a first frame without a second for a stray sync), read by AudioSource as `compress` reads them, against the undamaged file read the same
way. Per kind: copies refused, read to the file's end (the last 2 s equal to the undamaged read's, to 1e-2), read to the same length, in time
at the end (the same seconds of both, 3 s to 1 s before the end, equal: nothing early or late), and the length
error in ms (median and largest).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile

import numpy as np

TRIALS = 24
SHOW = "--show" in sys.argv  # each copy not read in time, with its warnings
EARLY = "--early" in sys.argv
BURSTS = (1, 60, 200, 600, 900, 4096)  # bytes; 1: a flipped bit. 4096: a bad disk sector (mpg123 gives up at 1 KiB)
CLIP = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "knolls_excerpt.ogg")


def _kinds(folder: str) -> dict[str, str]:
    import lameenc
    import soundfile as sf
    x, rate = sf.read(CLIP, dtype="float32", always_2d=True)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    out = {}
    for name, vbr in (("lameenc CBR 128k", False), ("lameenc VBR -V2", True)):
        enc = lameenc.Encoder()
        enc.set_channels(2)
        enc.set_in_sample_rate(rate)
        if vbr:
            enc.set_vbr(4)
            enc.set_vbr_quality(2)
        else:
            enc.set_bit_rate(128)
        out[name] = os.path.join(folder, f"{len(out)}.mp3")
        with open(out[name], "wb") as f:
            f.write(enc.encode(pcm) + enc.flush())
    for name, args in (("ffmpeg CBR 128k", ["-b:a", "128k"]), ("ffmpeg VBR -q 2", ["-q:a", "2"]),
                       ("ffmpeg CBR 96k 32 kHz", ["-b:a", "96k", "-ar", "32000"])):
        out[name] = os.path.join(folder, f"{len(out)}.mp3")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", CLIP, "-c:a", "libmp3lame", *args,
                        out[name]], check=True)
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="MP3", subtype="MPEG_LAYER_III")
    out["libsndfile VBR"] = os.path.join(folder, f"{len(out)}.mp3")
    with open(out["libsndfile VBR"], "wb") as f:
        f.write(buf.getvalue())
    return out


def _early(path: str) -> list[tuple[int, int]]:
    """(bytes, where) of the --early copies: the first four audio frames' headers (after the ID3v2 tags and any
    Xing frame), each hit at its first three bytes by a flipped bit, 60 or 200 zero bytes."""
    from muzip.audio.mp3_frames import first_frame, frame_at, is_xing_frame
    fd = os.open(path, os.O_RDONLY)
    try:
        pos, data, i = first_frame(fd)
    finally:
        os.close(fd)
    heads = [i + frame_at(data, i).size if is_xing_frame(data, i) else i]
    while len(heads) < 4:
        heads.append(heads[-1] + frame_at(data, heads[-1]).size)
    return [(n, pos - i + h + k) for h in heads for k in range(3) for n in (1, 60, 200)]


def _read(path: str):
    from muzip.audio import AudioSource
    with AudioSource(path) as src:
        return np.concatenate(list(src.blocks(44100))), src.warnings, src.info.sample_rate


def main():
    from muzip.errors import MuzipError
    rng = np.random.default_rng(58)
    print("| MP3 | copies | refused | read to its end | same length | in time at the end | length error, ms: "
          "median | largest |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for name, path in _kinds(folder).items():
            whole, said, rate = _read(path)
            assert not said, said
            data = open(path, "rb").read()
            early = _early(path)
            refused, same, in_time, to_end, errors = 0, 0, 0, 0, []
            for trial in range(len(early) if EARLY else TRIALS):
                bad = bytearray(data)
                for _ in range(1 if EARLY else int(rng.integers(1, 3))):
                    n, at = early[trial] if EARLY else \
                        (int(rng.choice(BURSTS)), int(rng.integers(3000, 0.6 * len(data))))
                    if n == 1:  # a flipped bit
                        bad[at] ^= 1 << int(rng.integers(8))
                    else:
                        bad[at:at + n] = bytes(n) if rng.random() < 0.5 else rng.integers(0, 256, n, np.uint8).tobytes()
                damaged = os.path.join(folder, "damaged.mp3")
                with open(damaged, "wb") as f:
                    f.write(bad)
                try:
                    got, warnings, _ = _read(damaged)
                except MuzipError as e:
                    refused += 1
                    print(f"  {name} #{trial}: {e}" if SHOW else "", end="\n" if SHOW else "")
                    continue
                same += len(got) == len(whole)
                a, b = len(whole) - 3 * rate, len(whole) - rate  # the same seconds of both: nothing early or late
                timed = len(got) >= b and np.abs(got[a:b] - whole[a:b]).max() <= 1e-2
                ended = len(got) >= 2 * rate and np.abs(got[-2 * rate:] - whole[-2 * rate:]).max() <= 1e-2  # to the end
                in_time, to_end = in_time + timed, to_end + ended
                if SHOW and not (timed and ended and len(got) == len(whole)):
                    print(f"  {name} #{trial}: {len(got) - len(whole):+d} samples; {warnings}")
                errors.append(abs(len(got) - len(whole)) / rate * 1000)
            print(f"| {name} | {len(early) if EARLY else TRIALS} | {refused} | {to_end} | {same} | {in_time} | {np.median(errors):.0f} | "
                  f"{max(errors):.0f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
