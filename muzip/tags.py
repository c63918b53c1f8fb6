"""Reading and writing the small set of metadata tags muzip carries through a round trip.

Keys are always lower-case; values are always ``str`` (lists are joined with ``"; "``).
Tag problems never fail an audio read: anything unreadable yields ``{}``.
"""

from __future__ import annotations

TAG_KEYS = (
    "title",
    "artist",
    "album",
    "date",
    "genre",
    "tracknumber",
    "comment",
    "albumartist",
    "composer",
)

# Keys libsndfile can store itself (sf.SoundFile string attributes).
SOUNDFILE_KEYS = ("title", "artist", "album", "date", "genre", "tracknumber", "comment")

# Non-"easy" tag containers (ID3 in WAV/AIFF, ASF/WMA, raw MP4 atoms) -> our keys.
_ALIASES = {
    # ID3 frame ids
    "tit2": "title", "tpe1": "artist", "talb": "album", "tdrc": "date", "tyer": "date",
    "tcon": "genre", "trck": "tracknumber", "comm": "comment", "tpe2": "albumartist",
    "tcom": "composer",
    # ASF (WMA)
    "author": "artist", "wm/albumtitle": "album", "wm/year": "date", "wm/genre": "genre",
    "wm/tracknumber": "tracknumber", "description": "comment", "wm/albumartist": "albumartist",
    "wm/composer": "composer",
    # MP4 atoms (when not opened through EasyMP4)
    "\xa9nam": "title", "\xa9art": "artist", "\xa9alb": "album", "\xa9day": "date",
    "\xa9gen": "genre", "trkn": "tracknumber", "\xa9cmt": "comment", "aart": "albumartist",
    "\xa9wrt": "composer",
    # Vorbis comment spellings
    "album artist": "albumartist", "album_artist": "albumartist", "year": "date",
}


def _to_str(value) -> str:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return str(value[0])  # MP4 trkn (number, total)
    if isinstance(value, (list, tuple)):
        return "; ".join(s for s in (_to_str(v) for v in value) if s)
    text = getattr(value, "text", None)  # mutagen ID3 frames / ASF attributes
    if text is not None and not isinstance(value, (str, bytes)):
        return _to_str(list(text)) if isinstance(text, (list, tuple)) else str(text)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(getattr(value, "value", value))


def _normalise_key(key) -> str | None:
    k = str(key).lower()
    if k in TAG_KEYS:
        return k
    return _ALIASES.get(k.split(":")[0], None)


def read_mutagen_tags(path: str) -> dict[str, str]:
    """Tags via mutagen (ID3, Vorbis comments, FLAC, MP4, ASF...). Never raises."""
    try:
        import mutagen

        f = mutagen.File(path, easy=True)
        if f is None or f.tags is None:
            return {}
        out: dict[str, str] = {}
        for key, value in f.tags.items():
            k = _normalise_key(key)
            if k is None or k in out:
                continue
            s = _to_str(value).strip()
            if s:
                out[k] = s
        return out
    except Exception:  # noqa: BLE001 - bad tags must never fail the read
        return {}


def read_soundfile_tags(sfile) -> dict[str, str]:
    """Tags from an open ``soundfile.SoundFile``'s string attributes. Never raises."""
    out: dict[str, str] = {}
    for k in SOUNDFILE_KEYS:
        try:
            v = getattr(sfile, k, "")
        except Exception:  # noqa: BLE001
            v = ""
        if v and str(v).strip():
            out[k] = str(v).strip()
    return out


def read_tags(path: str, sfile=None) -> dict[str, str]:
    """mutagen first, then fill gaps from soundfile's strings (e.g. WAV LIST/INFO)."""
    tags = read_mutagen_tags(path)
    if sfile is not None:
        for k, v in read_soundfile_tags(sfile).items():
            tags.setdefault(k, v)
    return {k: tags[k] for k in TAG_KEYS if k in tags}


def clean_tags(tags: dict | None) -> dict[str, str]:
    """Keep known keys with non-empty values, as str."""
    out: dict[str, str] = {}
    for key, value in (tags or {}).items():
        k = _normalise_key(key)
        if k is None:
            continue
        s = _to_str(value).strip()
        if s:
            out[k] = s
    return out


def set_soundfile_tags(sfile, tags: dict[str, str]) -> None:
    """Set the tags libsndfile knows as string attributes (call before writing frames)."""
    for k in SOUNDFILE_KEYS:
        if k in tags:
            try:
                setattr(sfile, k, tags[k])
            except Exception:  # noqa: BLE001 - a tag that cannot be stored is dropped
                pass


def add_flac_tags(fileobj, tags: dict[str, str]) -> None:
    """Add (as Vorbis comments) tags libsndfile cannot write, to a finished FLAC.

    ``fileobj`` is a path or a readable+writable+seekable binary file object.
    Best effort: failures are ignored.
    """
    extra = {k: v for k, v in tags.items() if k not in SOUNDFILE_KEYS}
    if not extra:
        return
    try:
        from mutagen.flac import FLAC

        if hasattr(fileobj, "seek"):
            fileobj.seek(0)
        f = FLAC(fileobj)
        if f.tags is None:
            f.add_tags()
        for k, v in extra.items():
            f.tags[k.upper()] = [v]
        if hasattr(fileobj, "seek"):
            fileobj.seek(0)
        f.save(fileobj)
    except Exception:  # noqa: BLE001
        pass
