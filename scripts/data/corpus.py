"""The corpus split shared by training and benchmarks (fetched by scripts/data/fetch_corpus.sh into data/raw;
docs/CORPUS.md lists the packages and both validation sets).

Validation (never trained on), two sets:
- wesnoth (split()[1], the benchmarks' default): wesnoth tracks whose file bitrate is >= 192 kbps.
- band (band_validation()): full mixes of the first BAND_VALIDATION_SONGS songs (by folder name) of the Frets on
  Fire package, each the sum of its song folder's stems, rendered by scripts/data/render_corpus.py into data/band/.
  Every stem of those songs is left out of training.
Training (split()[0]): everything else under data/raw, including tracker modules rendered to FLAC beside them.
"""

import glob
import os

import soundfile as sf

AUDIO_EXTS = (".ogg", ".wav", ".flac", ".mp3")
VALIDATION_MIN_KBPS = 192
# The packages of the first corpus (before issues 24/25 added the rest): the library benchmark's labelled
# *soundtracks* set (scripts/bench/library_folds.py) and the RD benchmark's seed-design fit (rd_bench.py) keep to
# these (split(packages=...)), so that their published numbers keep their meaning.
FIRST_CORPUS_PACKAGES = ("drascula-music", "nexuiz-music", "planetblupi-music-ogg", "singularity-music",
                       "wesnoth-1.16-music")
BAND_PACKAGE = "fretsonfire-songs-muldjord"
BAND_VALIDATION_SONGS = 4          # the package has 4 songs: all of them are band validation
BAND_SKIP_STEMS = ("preview",)   # Frets on Fire's menu preview (preview.ogg): a cut of the mix, not a stem
BAND_DIR = "data/band"
VALIDATION_SETS = ("wesnoth", "band")


def audio_files(root="data/raw"):
    found = [p for p in glob.glob(os.path.join(root, "**", "*"), recursive=True) if p.lower().endswith(AUDIO_EXTS)]
    return sorted(p for p in found if os.path.isfile(p))


def file_kbps(path):
    info = sf.info(path)
    return os.path.getsize(path) * 8 / info.duration / 1000


def band_song_files(root="data/raw"):
    """{song: sorted audio paths} of the Frets on Fire package: each folder holding audio is a song, named after
    the folder."""
    songs = {}
    for path in audio_files(os.path.join(root, BAND_PACKAGE)):
        songs.setdefault(os.path.basename(os.path.dirname(path)), []).append(path)
    return songs


def band_songs(root="data/raw"):
    """{song: sorted stem paths}: a song's stems are its audio files (song.ogg: the backing band, guitar.ogg: lead
    guitar, rhythm.ogg, drums.ogg ... where present), which the game plays together; not preview.ogg."""
    songs = {s: [p for p in ps if os.path.splitext(os.path.basename(p))[0].lower() not in BAND_SKIP_STEMS]
             for s, ps in band_song_files(root).items()}
    return {s: ps for s, ps in songs.items() if ps}


def band_validation_songs(root="data/raw"):
    """The band-validation songs: the first BAND_VALIDATION_SONGS by folder name (deterministic)."""
    return sorted(band_songs(root))[:BAND_VALIDATION_SONGS]


def band_held_out(root="data/raw"):
    """Absolute paths of every audio file (stems, preview) of the band-validation songs: never trained on."""
    files = band_song_files(root)
    return {os.path.abspath(p) for s in band_validation_songs(root) for p in files[s]}


def band_validation(band_dir=BAND_DIR, root="data/raw"):
    """The band-validation full mixes, band_dir/<song>.flac, in band_validation_songs() order."""
    songs = band_validation_songs(root)
    paths = [os.path.join(band_dir, f"{s}.flac") for s in songs]
    missing = [p for p in paths if not os.path.isfile(p)]
    if not songs or missing:
        raise SystemExit(f"band validation mixes missing under {band_dir} ({len(missing)} of {len(songs)}): run "
                         "scripts/data/fetch_corpus.sh (or python -m scripts.data.render_corpus) first")
    return paths


def package_of(path, root="data/raw"):
    """The Debian package a corpus file came from: its first folder under root."""
    return os.path.relpath(path, root).split(os.sep)[0]


def split(root="data/raw", packages=None):
    """(train_files, validation_files): validation is the wesnoth set; the band set's stems are in neither (see
    band_validation()). packages: only files of these packages (e.g. FIRST_CORPUS_PACKAGES). Unreadable files are
    left out of both."""
    held_out = band_held_out(root)
    train, val = [], []
    for path in audio_files(root):
        if os.path.abspath(path) in held_out or (packages is not None and package_of(path, root) not in packages):
            continue
        try:
            kbps = file_kbps(path)
        except Exception:
            continue
        if package_of(path, root).startswith("wesnoth") and kbps >= VALIDATION_MIN_KBPS:
            val.append(path)
        else:
            train.append(path)
    if not val:
        raise SystemExit(f"no validation tracks under {root}: run scripts/data/fetch_corpus.sh first")
    return train, val


def validation_set(name="wesnoth", root="data/raw", band_dir=BAND_DIR):
    """The files of a validation set by name (VALIDATION_SETS)."""
    if name == "wesnoth":
        return split(root)[1]
    if name == "band":
        return band_validation(band_dir, root)
    raise ValueError(f"unknown validation set {name!r} (one of {', '.join(VALIDATION_SETS)})")
