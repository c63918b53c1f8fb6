"""Render the *styles* labelled set: music21 corpus pieces through FluidSynth with a Debian GM soundfont.

    .venv/bin/python -m scripts.data.render_styles [--per-class 40] [--out data/styles]

Needs `pip install music21` (its PyPI wheel holds the corpus) and `apt-get install fluidsynth
fluid-soundfont-gm`. Classes: palestrina, bach (chorales), ryansMammoth (fiddle tunes), trecento,
monteverdi (madrigals; scores whose MIDI takes over 45 s to render are skipped). The unlabelled pool
that trains the embedder (scripts/models/train_embed.py) is rendered the same way from other composers:
`--classes beethoven,mozart,haydn,handel,schumann,corelli,joplin,schoenberg --out data/extra --seed 1`. Every piece gets one General MIDI program drawn at random from a
pool shared by all classes (seeded), for all its parts, so that style -- not timbre -- tells the classes
apart. `--alt` renders the same pieces again, each with another program, into data/styles_alt: the
embedding network's training takes the two renderings of a piece as one track's versions, so a
positive pair can differ in instrument (never used as a labelled set). At most 60 s of each piece, 44.1 kHz stereo FLAC in OUT/<class>/. Already rendered files are kept.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# essenFolksong was tried: each of its files is a collection of hundreds of songs, minutes to parse.
CLASSES = ("palestrina", "bach", "ryansMammoth", "trecento", "monteverdi")
# piano, harpsichord, vibraphone, church organ, accordion, nylon guitar, violin, cello, strings,
# choir aahs, trumpet, oboe, clarinet, flute
PROGRAM_POOL = (0, 6, 11, 19, 21, 24, 40, 42, 48, 52, 56, 68, 71, 73)
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def pieces(composer, n, rng):
    """Up to n (name, score) of one class: files in a seeded order, the scores of an opus taken in turn."""
    from music21 import corpus
    paths = list(corpus.getComposer(composer))
    out = []
    for i in rng.permutation(len(paths)):
        if len(out) >= n:
            break
        try:
            parsed = corpus.parse(paths[i])
        except Exception:  # noqa: BLE001 - a piece music21 cannot read is skipped
            continue
        scores = list(parsed.scores) if hasattr(parsed, "scores") else [parsed]
        for k, s in enumerate(scores[:max(1, n // 10)]):
            out.append((f"{Path(str(paths[i])).stem}-{k}", s))
            if len(out) >= n:
                break
    return out


def render(score, program, wav, tmp):
    from music21 import instrument
    try:
        score = score.measures(0, 32)  # about a minute at most: rendering whole madrigal books takes minutes
    except Exception:  # noqa: BLE001 - pieces without measures are short
        pass
    for part in score.parts if score.parts else [score]:
        part.removeByClass("Instrument")
        part.insert(0, instrument.instrumentFromMidiProgram(program))
    mid = os.path.join(tmp, "x.mid")
    score.write("midi", fp=mid)
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", "44100", "-F", wav, SOUNDFONT, mid], check=True,
                   capture_output=True, timeout=45)  # a few scores carry absurd tempi: skip them


def render_flac(score, program, dst: Path, tmp, seconds: float, label: str) -> bool:
    """Render to a FLAC of at most `seconds`; False (nothing written) if it fails, is short or silent."""
    import soundfile as sf
    wav = os.path.join(tmp, "x.wav")
    try:
        render(score, program, wav, tmp)
        x, sr = sf.read(wav, dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001
        print(f"{label}: skipped ({type(exc).__name__})", file=sys.stderr)
        return False
    x = x[:int(seconds * sr)]
    if len(x) < 5 * sr or np.abs(x).max() < 1e-3:
        return False
    part = dst.with_name(dst.name + ".part")  # a killed run must not leave a half-written file
    sf.write(part, x, sr, format="FLAC")
    os.replace(part, dst)
    return True


def render_alt(src: Path, dst: Path, seed: int):
    """Each piece already in src/<class>/ again, with another program drawn from the pool (seeded by name)."""
    import soundfile as sf
    from music21 import corpus
    with tempfile.TemporaryDirectory() as tmp:
        for flac in sorted(src.glob("*/*.flac")):
            cls, name = flac.parent.name, flac.stem
            out = dst / cls / flac.name
            if out.exists():
                continue
            stem, k = name.rsplit("-", 1)
            path = next((p for p in corpus.getComposer(cls) if Path(str(p)).stem == stem), None)
            if path is None:
                continue
            parsed = corpus.parse(path)
            score = (list(parsed.scores) if hasattr(parsed, "scores") else [parsed])[int(k)]
            rng = np.random.default_rng([seed, 1, zlib.crc32(f"{cls}/{name}".encode())])
            program = int(rng.choice(PROGRAM_POOL))  # the first program is not stored: 1 draw in 14 repeats it
            out.parent.mkdir(parents=True, exist_ok=True)
            if render_flac(score, program, out, tmp, sf.info(str(flac)).duration, f"{cls}/{name}"):
                print(f"{cls}/{name}: program {program}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-class", type=int, default=40)
    ap.add_argument("--out", default=str(ROOT / "data" / "styles"))
    ap.add_argument("--classes", default=",".join(CLASSES),
                    help="music21 composers, comma-separated (default: the five styles classes)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--alt", action="store_true",
                    help="render the same pieces again, each with another program from the pool, into "
                         "data/styles_alt (timbre-invariant positives for scripts/models/train_embed.py)")
    a = ap.parse_args()
    if not os.path.isfile(SOUNDFONT):
        raise SystemExit(f"render_styles: {SOUNDFONT} missing (apt-get install fluidsynth fluid-soundfont-gm)")
    if a.alt:
        return render_alt(ROOT / "data" / "styles", ROOT / "data" / "styles_alt", a.seed)
    rng = np.random.default_rng(a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for cls in a.classes.split(","):
            folder = Path(a.out) / cls
            folder.mkdir(parents=True, exist_ok=True)
            done = 0
            for name, score in pieces(cls, a.per_class, rng):
                dst = folder / f"{name}.flac"
                program = int(rng.choice(PROGRAM_POOL))  # drawn even when the file exists: same draws on a re-run
                if dst.exists():
                    done += 1
                    continue
                done += render_flac(score, program, dst, tmp, 60.0, f"{cls}/{name}")
            print(f"{cls}: {done} pieces", flush=True)


if __name__ == "__main__":
    main()
