"""Does muzip read what ffmpeg reads, sample for sample in count (session 60)? Two sweeps, through AudioSource.

    .venv/bin/python -m scripts.experiments.exp_read_sweep [--opus N] [--start S,S,...] [--formats]
    # log: docs/logs/read_sweep_s60.log

--opus N: about N of the corpus's Ogg tracks (every k-th by path), 60 s from each --start (default 0; a start
past a track's end is skipped) made Opus at 32 kbps by ffmpeg (libopus); muzip's length against ffmpeg's decode (within 400 samples) and no warning. ffmpeg's Opus of an
Ogg Vorbis whose timestamps jitter states a page's position past its packets, and libsndfile 1.2.2 calls such
a valid file malformed part-way.
--formats: a 6-s synthetic stereo signal written by ffmpeg in 33 codec/container pairs (WAV holding u-law, ADPCM,
GSM, G.722, MP2, VBR MP3; AIFF-C, CAF, W64, RF64, AU, VOC; M4A, MKA, WebM, TTA, WavPack, AC-3, WMA, ...).
Each line: the file, muzip's and ffmpeg's length in seconds (an MP4's is its edit list's: shorter), the warnings
or the error.
"""

from __future__ import annotations

import argparse
import glob
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORMATS = {  # name: ffmpeg output options
    "ulaw.wav": ["-c:a", "pcm_mulaw"], "ima.wav": ["-c:a", "adpcm_ima_wav"], "msadpcm.wav": ["-c:a", "adpcm_ms"],
    "gsm.wav": ["-ac", "1", "-ar", "8000", "-c:a", "libgsm_ms"], "g722.wav": ["-ac", "1", "-ar", "16000", "-c:a", "g722"],
    "mp2.wav": ["-c:a", "mp2"], "vbr_mp3.wav": ["-c:a", "libmp3lame", "-q:a", "4", "-f", "wav"],
    "cbr_mp3.wav": ["-c:a", "libmp3lame", "-b:a", "128k", "-f", "wav"], "u8.wav": ["-c:a", "pcm_u8"],
    "f64.wav": ["-c:a", "pcm_f64le"], "s24.aiff": ["-c:a", "pcm_s24be"], "ima4.aifc": ["-c:a", "adpcm_ima_qt", "-f", "aiff"],
    "alac.caf": ["-c:a", "alac"], "pcm.caf": [], "s.w64": ["-f", "w64"], "s.au": ["-f", "au"],
    "flac.ogg": ["-c:a", "flac"], "s.voc": ["-ac", "1", "-c:a", "pcm_u8"], "s.rf64": ["-rf64", "always", "-f", "wav"],
    "alac.m4a": ["-c:a", "alac"], "aac.m4a": ["-c:a", "aac"], "opus.ogg": ["-c:a", "libopus"],
    "vorbis.ogg": ["-c:a", "libvorbis"], "s.wv": ["-c:a", "wavpack"], "s.mka": ["-c:a", "flac"], "s.ac3": [],
    "s.mp2": [], "s.tta": [], "opus.webm": ["-c:a", "libopus"], "s.aac": [], "s.wma": ["-c:a", "wmav2"],
    "vbr.mp3": ["-c:a", "libmp3lame", "-q:a", "2"], "mp3.mkv": ["-c:a", "libmp3lame", "-q:a", "4"],
}


def ffmpeg_seconds(path: Path) -> float:
    rate = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate",
                           "-of", "csv=p=0", str(path)], capture_output=True, text=True).stdout.split()
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
                         capture_output=True).stdout
    return len(pcm) / 2 / int(rate[0].split(",")[0]) if rate else 0.0


def muzip_read(path: Path):
    """(seconds, warnings) or (None, the error)."""
    from muzip.audio import AudioSource
    from muzip.errors import MuzipError
    try:
        with AudioSource(str(path)) as src:
            n = sum(len(b) for b in src.blocks(1 << 16))
            return n / src.info.sample_rate, src.warnings
    except MuzipError as exc:
        return None, str(exc)


def formats(tmp: Path) -> None:
    src = tmp / "src.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:d=6,volume=0.5", "-f", "lavfi", "-i",
                    "anoisesrc=d=6:a=0.05", "-filter_complex", "[0][1]amix=inputs=2,aformat=channel_layouts=stereo",
                    "-ar", "44100", str(src)], check=True)
    for name, options in FORMATS.items():
        out = tmp / name
        if subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *options, str(out)]).returncode != 0:
            print(f"{name:14s} ffmpeg cannot write it here")
            continue
        got, said = muzip_read(out)
        print(f"{name:14s} muzip {'refused' if got is None else f'{got:.3f} s'}, ffmpeg {ffmpeg_seconds(out):.3f} s; {said}")


def opus(tmp: Path, count: int, start: float) -> None:
    tracks = sorted(glob.glob(str(ROOT / "data/raw/**/*.ogg"), recursive=True))
    tracks = tracks[::max(1, len(tracks) // count)]
    bad = done = 0
    for i, track in enumerate(tracks):
        out = tmp / f"{i}.opus"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-i", track, "-t", "60", "-c:a", "libopus",
                        "-b:a", "32k", str(out)], check=True)
        if ffmpeg_seconds(out) == 0:
            continue  # the track ends before `start`
        done += 1
        got, said = muzip_read(out)
        want = ffmpeg_seconds(out)
        if got is None or said or abs(got - want) * 48000 > 400:
            bad += 1
            print(f"{Path(track).relative_to(ROOT / 'data/raw')}: muzip {got}, ffmpeg {want:.3f} s; {said}")
    print(f"Opus of corpus tracks from {start:g} s: {done - bad} of {done} read as ffmpeg reads them")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opus", type=int, default=0, help="about this many corpus tracks made Opus")
    ap.add_argument("--start", default="0", help="seconds into each track, comma-separated for several runs")
    ap.add_argument("--formats", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.formats:
            formats(Path(tmp))
        for start in (a.start.split(",") if a.opus else []):
            opus(Path(tmp), a.opus, float(start))


if __name__ == "__main__":
    main()
