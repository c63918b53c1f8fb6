"""The small set of metadata tags (and one cover picture) muzip carries through a round trip.

Keys are always lower-case; values are always ``str`` (lists are joined with ``"; "``).
The cover is ``(mime, image bytes)``, at most MAX_COVER_BYTES; the front cover is preferred.
Tag problems never fail an audio read or write: anything unreadable is simply left out.
"""

from __future__ import annotations

import base64
import errno
import os
import re

from .wavstream import wav_info_tags

try:  # one cap for reader and container; the container defines it when it stores covers
    from ..container import MAX_COVER_BYTES
except ImportError:
    MAX_COVER_BYTES = 512 * 1024

TAG_KEYS = (
    "title", "artist", "album", "date", "genre", "tracknumber", "discnumber", "comment", "albumartist", "composer",
    # what libraries and players go by (session 56: a round trip dropped them without a word)
    "lyricist", "conductor", "organization", "copyright", "isrc", "bpm", "lyrics",  # organization: the label
    "musicbrainz_trackid", "musicbrainz_albumid", "musicbrainz_artistid", "musicbrainz_albumartistid",
    "musicbrainz_releasegroupid",
    "replaygain_track_gain", "replaygain_track_peak", "replaygain_album_gain", "replaygain_album_peak",
)
MAX_TAG_BYTES = 0xFFFF  # a value's UTF-8 bytes in a .mz header: a longer one (lyrics of a whole album) is left out
MAX_ALL_TAG_BYTES = 256 * 1024  # all values together: with a 512-KiB cover, well within the header's 1 MiB

# Keys libsndfile can store itself (sf.SoundFile string attributes).
SOUNDFILE_KEYS = ("title", "artist", "album", "date", "genre", "tracknumber", "comment")

# Non-"easy" tag containers (ID3 in WAV/AIFF, ASF/WMA, raw MP4 atoms) -> our keys.
_ALIASES = {
    # ID3 frame ids
    "tit2": "title", "tpe1": "artist", "talb": "album", "tdrc": "date", "tyer": "date",
    "tcon": "genre", "trck": "tracknumber", "tpos": "discnumber", "comm": "comment",
    "tpe2": "albumartist", "tcom": "composer",
    # ASF (WMA)
    "author": "artist", "wm/albumtitle": "album", "wm/year": "date", "wm/genre": "genre",
    "wm/tracknumber": "tracknumber", "wm/partofset": "discnumber", "description": "comment",
    "wm/albumartist": "albumartist", "wm/composer": "composer",
    # MP4 atoms (when not opened through EasyMP4)
    "\xa9nam": "title", "\xa9art": "artist", "\xa9alb": "album", "\xa9day": "date",
    "\xa9gen": "genre", "trkn": "tracknumber", "disk": "discnumber", "\xa9cmt": "comment",
    "aart": "albumartist", "\xa9wrt": "composer",
    # Vorbis comment spellings
    "album artist": "albumartist", "album_artist": "albumartist", "year": "date",
    "disc": "discnumber", "label": "organization", "unsyncedlyrics": "lyrics",
    # ID3 (the frames, and Picard's TXXX descriptions)
    "text": "lyricist", "tpe3": "conductor", "tpub": "organization", "tcop": "copyright", "tsrc": "isrc",
    "tbpm": "bpm", "uslt": "lyrics", "musicbrainz album id": "musicbrainz_albumid",
    "musicbrainz artist id": "musicbrainz_artistid", "musicbrainz album artist id": "musicbrainz_albumartistid",
    "musicbrainz release group id": "musicbrainz_releasegroupid",
}
# Written to ID3 as Picard writes them (TXXX:description; the track id in a UFID frame)
_ID3_TXXX = {"musicbrainz_albumid": "MusicBrainz Album Id", "musicbrainz_artistid": "MusicBrainz Artist Id",
             "musicbrainz_albumartistid": "MusicBrainz Album Artist Id",
             "musicbrainz_releasegroupid": "MusicBrainz Release Group Id",
             **{k: k.upper() for k in ("replaygain_track_gain", "replaygain_track_peak", "replaygain_album_gain",
                                       "replaygain_album_peak")}}

_ID3_FRAMES = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "date": "TDRC", "genre": "TCON",
               "tracknumber": "TRCK", "discnumber": "TPOS", "albumartist": "TPE2", "composer": "TCOM",
               "lyricist": "TEXT", "conductor": "TPE3", "organization": "TPUB", "copyright": "TCOP", "isrc": "TSRC",
               "bpm": "TBPM"}
_FRONT_COVER = 3  # picture type shared by FLAC, ID3 APIC and METADATA_BLOCK_PICTURE


_DECODED = re.compile(r"(?:decoded|restored) from (\S+) at (\d+(?:\.\d+)?) kbps")


def decoded_mark(source: str, kbps: float, restored_by: str | None = None) -> str:
    """The software note muzip writes into audio it decoded from a .mz (`source`: its model) or restored from a
    lossy file (`source`: its codec; restored_by: the restorer), in WAV's ISFT or a FLAC/Ogg "software" comment: so
    a library can tell a lossless container holding a 24-kbps decode, or a restored 64-kbps MP3, from an original."""
    from .. import __version__
    how = f"restored from {source} at {kbps:.1f} kbps by {restored_by}" if restored_by else \
        f"decoded from {source} at {kbps:.1f} kbps"
    return f"muzip {__version__}: {how}"


def read_decoded_mark(software: str | None) -> tuple[str, float] | None:
    """(model id or codec, kbps) of audio decoded or restored by muzip (decoded_mark), else None."""
    m = _DECODED.search(software or "")
    return (m.group(1), float(m.group(2))) if m and software.startswith("muzip ") else None


def _to_str(value) -> str:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return str(value[0])  # MP4 trkn / disk (number, total)
    if isinstance(value, (list, tuple)):
        return "; ".join(s for s in (_to_str(v) for v in value) if s)
    if hasattr(value, "owner") and isinstance(getattr(value, "data", None), bytes):  # an ID3 UFID frame
        return value.data.decode("utf-8", "replace")
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
    frame, _, rest = k.partition(":")
    if frame == "txxx":  # an ID3 user text frame, TXXX:DESC: ffmpeg writes `-metadata comment=...` so
        return _normalise_key(rest) if rest and not rest.startswith("txxx") else None
    if frame == "comm" and rest.startswith("itun"):  # COMM:iTunNORM / iTunSMPB...: iTunes' data, not a comment
        return None
    if frame == "----":  # an MP4 freeform atom, ----:com.apple.iTunes:NAME (ReplayGain, MusicBrainz ids)
        return _normalise_key(rest.rsplit(":", 1)[-1]) if rest else None
    if frame == "ufid":  # the MusicBrainz recording id, as Picard writes it to ID3
        return "musicbrainz_trackid" if rest == "http://musicbrainz.org" else None
    return _ALIASES.get(frame, None)


def _add_items(out: dict[str, str], items) -> None:
    for key, value in items:
        k = _normalise_key(key)
        if k is None or k in out:
            continue
        s = _to_str(value).strip()
        if s:
            out[k] = s


def read_mutagen_tags(path: str) -> dict[str, str]:
    """Tags via mutagen's "easy" interfaces (ID3, Vorbis comments, FLAC, MP4, ASF...). Never raises."""
    try:
        import mutagen

        f = mutagen.File(path, easy=True)
        out: dict[str, str] = {}
        if f is not None and f.tags is not None:
            _add_items(out, f.tags.items())
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


def _sniff_mime(data: bytes, claimed: str) -> str:
    claimed = (claimed or "").strip().lower()
    # A claimed type is kept only if it is a plain image/* token: it goes into the .mz header as ASCII.
    if claimed.startswith("image/") and len(claimed) <= 64 and all(c.isalnum() or c in "/.+-" for c in claimed):
        return claimed
    for magic, mime in ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
                        (b"GIF8", "image/gif"), (b"BM", "image/bmp")):
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return {"jpg": "image/jpeg", "png": "image/png"}.get(claimed, "application/octet-stream")


def _pictures(m) -> list[tuple[int, str, bytes]]:
    """(type, mime, data) of every embedded picture of a (non-easy) mutagen file."""
    from mutagen.flac import Picture

    out = [(p.type, p.mime, p.data) for p in (getattr(m, "pictures", None) or [])]  # FLAC
    tags = getattr(m, "tags", None)
    if tags is None:
        return out
    if hasattr(tags, "getall"):  # ID3: MP3, and the id3 chunk of WAV / AIFF
        out += [(int(f.type), f.mime, f.data) for f in tags.getall("APIC") if f.mime != "-->"]
        return out
    for cover in tags.get("covr", None) or []:  # MP4: no picture type, take them as front
        fmt = getattr(cover, "imageformat", None)
        out.append((_FRONT_COVER, {13: "image/jpeg", 14: "image/png"}.get(fmt, ""), bytes(cover)))
    for b64 in tags.get("metadata_block_picture", None) or []:  # Ogg Vorbis / Opus
        try:
            p = Picture(base64.b64decode(b64))
            out.append((p.type, p.mime, p.data))
        except Exception:  # noqa: BLE001 - one bad picture must not hide the others
            continue
    return out


def _choose_cover(pictures) -> tuple[tuple[str, bytes] | None, list[str]]:
    pics = [p for p in pictures if p[2]]
    if not pics:
        return None, []
    kind, mime, data = sorted(pics, key=lambda p: p[0] != _FRONT_COVER)[0]  # stable: file order
    data = bytes(data)
    if len(data) > MAX_COVER_BYTES:
        return None, [f"cover art is {len(data) / 1024:.0f} KiB, over the {MAX_COVER_BYTES // 1024} KiB "
                      "limit; left it out"]
    return (_sniff_mime(data, mime), data), []


def _wav_without_id3(path: str, max_chunks: int = 4096) -> bool:
    """True only for a well-formed RIFF/WAVE file whose chunk list has no id3 chunk. Never raises."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return False
            end = f.seek(0, os.SEEK_END)
            pos = 12
            for _ in range(max_chunks):
                if pos + 8 > end:
                    return pos == end or pos + 1 == end  # a clean end (or one pad byte short)
                f.seek(pos)
                cid, size = f.read(4), int.from_bytes(f.read(4), "little")
                if cid.lower() == b"id3 ":
                    return False
                pos += 8 + size + (size & 1)
            return False
    except (OSError, ValueError, TypeError):
        return False


def read_metadata(path: str, sfile=None) -> tuple[dict[str, str], tuple[str, bytes] | None, list[str]]:
    """(tags, cover, warnings).  Tags: mutagen's easy view, then the raw frames/atoms (for what
    the easy view hides, e.g. ID3 COMM), then libsndfile's strings (e.g. WAV LIST/INFO).
    Never raises."""
    if _wav_without_id3(path):  # all mutagen would read of a WAV is its id3 chunk: skip loading it (~30 ms)
        tags = {**({} if sfile is None else read_soundfile_tags(sfile)), **wav_info_tags(path)}  # long values too
        kept, notes = kept_tags(tags)
        return kept, None, notes
    tags = read_mutagen_tags(path)
    cover, notes = None, []
    try:
        import mutagen

        m = mutagen.File(path)
        if m is not None and m.tags is not None:
            _add_items(tags, m.tags.items())
        if m is not None:
            cover, notes = _choose_cover(_pictures(m))
    except Exception:  # noqa: BLE001 - bad tags or pictures must never fail the read
        pass
    for k, v in ({} if sfile is None else {**read_soundfile_tags(sfile), **wav_info_tags(path)}).items():
        tags.setdefault(k, v)  # a WAV's LIST/INFO, after its id3 chunk
    kept, long = kept_tags(tags)
    return kept, cover, notes + long


def kept_tags(tags: dict) -> tuple[dict, list[str]]:
    """The keys muzip keeps, in TAG_KEYS' order, and a note for each value too long for a .mz header (one value,
    or all of them together: the header holds 1 MiB, a cover up to half of it)."""
    kept, notes, total = {}, [], 0
    for k in TAG_KEYS:
        size = len(tags[k].encode("utf-8")) if k in tags else 0
        if size > MAX_TAG_BYTES or total + size > MAX_ALL_TAG_BYTES:
            notes.append(f"tag {k} is {size:,} bytes, over the {min(MAX_TAG_BYTES, MAX_ALL_TAG_BYTES - total):,} a "
                         ".mz keeps; left it out")
        elif k in tags:
            kept[k], total = tags[k], total + size
    return kept, notes


def read_tags(path: str, sfile=None) -> dict[str, str]:
    """Just the tags of read_metadata()."""
    return read_metadata(path, sfile)[0]


def clean_tags(tags: dict | None) -> dict[str, str]:
    """Keep known keys with non-empty values, as str."""
    out: dict[str, str] = {}
    _add_items(out, (tags or {}).items())
    return out


def clean_cover(cover) -> tuple[str, bytes] | None:
    """A usable (mime, bytes) or None: empty or oversized pictures are not written."""
    if not cover:
        return None
    mime, data = cover
    data = bytes(data)
    if not data or len(data) > MAX_COVER_BYTES:
        return None
    return _sniff_mime(data, mime), data


def set_soundfile_tags(sfile, tags: dict[str, str]) -> None:
    """Set the tags libsndfile knows as string attributes (call before writing frames)."""
    for k in SOUNDFILE_KEYS:
        if k in tags:
            try:
                setattr(sfile, k, tags[k])
            except Exception:  # noqa: BLE001 - a tag that cannot be stored is dropped
                pass


def write_tags(fileobj, fmt: str, tags: dict[str, str], cover: tuple[str, bytes] | None = None,
               skip=()) -> None:
    """Add tags (but not the keys in ``skip``) and the cover to a finished "flac", "ogg", "opus"
    or "mp3" file with mutagen.  ``fileobj``: a path or a readable+writable+seekable binary file.
    Best effort: failures are ignored (the audio is already complete)."""
    todo = {k: v for k, v in tags.items() if k not in skip}
    if not todo and cover is None:
        return
    try:
        if hasattr(fileobj, "seek"):
            fileobj.seek(0)
        if fmt == "mp3":
            f = _id3_with(fileobj, todo, cover)
        else:
            f = _vorbis_with(fileobj, fmt, todo, cover)
        if hasattr(fileobj, "seek"):
            fileobj.seek(0)
        f.save(fileobj)
    except Exception as e:  # noqa: BLE001 - a tag problem leaves the tags out; a full disk fails the output
        cause = e if isinstance(e, OSError) else (e.__cause__ or e.__context__)  # mutagen wraps it in MutagenError
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise OSError(cause.errno, cause.strerror) from None


def add_flac_tags(fileobj, tags: dict[str, str], cover: tuple[str, bytes] | None = None) -> None:
    """Add what libsndfile cannot write to a finished FLAC: other keys and the cover."""
    write_tags(fileobj, "flac", tags, cover, skip=SOUNDFILE_KEYS)


def _values(key: str, value: str) -> list[str]:
    """A kept value as the tag's values: several MusicBrainz ids (joined with "; " when read) are several again;
    text is one value, as read."""
    return value.split("; ") if key.startswith("musicbrainz_") else [value]


def _picture(cover):
    from mutagen.flac import Picture

    p = Picture()
    p.type, p.mime, p.desc, p.data = _FRONT_COVER, cover[0], "", cover[1]
    return p


def _vorbis_with(fileobj, fmt, todo, cover):
    from mutagen.flac import FLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis

    f = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}[fmt](fileobj)
    if f.tags is None:
        f.add_tags()
    for k, v in todo.items():
        if fmt == "opus" and k.startswith("replaygain_"):
            continue  # RFC 7845: Opus carries R128 gains, never REPLAYGAIN_* (players would apply them twice)
        f.tags[k.upper()] = _values(k, v)
    if cover is not None:
        if fmt == "flac":
            f.clear_pictures()
            f.add_picture(_picture(cover))
        else:
            f.tags["METADATA_BLOCK_PICTURE"] = [base64.b64encode(_picture(cover).write()).decode("ascii")]
    return f


def id3_bytes(tags: dict[str, str], cover: tuple[str, bytes] | None = None) -> bytes:
    """A complete ID3v2.4 tag (for a WAV ``id3 `` chunk); b"" if mutagen fails."""
    import io

    try:
        buf = io.BytesIO()
        _id3_with(None, tags, cover).save(buf, v1=0, padding=lambda info: 0)
        return buf.getvalue()
    except Exception:  # noqa: BLE001
        return b""


def _id3_with(fileobj, todo, cover):
    from mutagen import id3

    try:
        tag = id3.ID3(fileobj) if fileobj is not None else id3.ID3()
    except id3.ID3NoHeaderError:
        tag = id3.ID3()
    for k, v in todo.items():
        if k == "comment":
            tag.add(id3.COMM(encoding=3, lang="eng", desc="", text=[v]))
        elif k == "lyrics":
            tag.add(id3.USLT(encoding=3, lang="eng", desc="", text=v))
        elif k == "musicbrainz_trackid":
            tag.add(id3.UFID(owner="http://musicbrainz.org", data=v.encode("ascii", "replace")))
        elif k in _ID3_TXXX:
            tag.add(id3.TXXX(encoding=3, desc=_ID3_TXXX[k], text=_values(k, v)))
        elif k in _ID3_FRAMES:
            tag.add(getattr(id3, _ID3_FRAMES[k])(encoding=3, text=[v]))
    if cover is not None:
        tag.add(id3.APIC(encoding=3, mime=cover[0], type=_FRONT_COVER, desc="", data=cover[1]))
    return tag
