"""Instant mixes: a seed track and the catalog tracks nearest to it, ordered for smooth transitions, as M3U8.

The pool is the seed's POOL_FACTOR * N nearest tracks; from the seed, each next track is the one left in the
pool that is most like the track playing now and, with weight SEED_WEIGHT, like the seed: each step is small,
and the mix does not wander away from what the listener asked for. A track already in the mix in another
file (muzip.library.fingerprint: one recording, one master) is left out. The playlist is extended M3U (UTF-8):
#EXTINF with the duration and "artist - title" (or the file name), paths relative to the playlist's folder,
with forward slashes, as Navidrome, Jellyfin and most players read them.
"""

from __future__ import annotations

import os

import numpy as np

POOL_FACTOR = 4
SEED_WEIGHT = 0.5


def order(seed: np.ndarray, pool: np.ndarray, count: int, repeats=None) -> list[int]:
    """Indices into pool (M, D) unit vectors of the count tracks after the seed (D,), in playing order.
    repeats(k, chosen): True when pool track k is a track already in the mix (chosen: pool indices, the seed
    as -1) in another file; it is then left out."""
    left = list(range(len(pool)))
    to_seed = pool @ seed
    current, out = seed, []
    while left and len(out) < count:
        score = pool[left] @ current + SEED_WEIGHT * to_seed[left]
        pick = left.pop(int(np.argmax(score)))
        if repeats is not None and repeats(pick, [-1, *out]):
            continue
        out.append(pick)
        current = pool[pick]
    return out


def _title(track: dict) -> str:
    tags = track.get("tags") or {}
    if isinstance(tags, str):  # as the catalog stores them
        import json
        try:
            tags = json.loads(tags)
        except ValueError:
            tags = {}
    lower = {str(k).lower(): v for k, v in tags.items()} if isinstance(tags, dict) else {}
    title, artist = lower.get("title"), lower.get("artist")
    name = str(title) if title else os.path.splitext(os.path.basename(track["path"]))[0]
    text = f"{artist} - {name}" if artist else name
    return " ".join(text.split())  # one line: a tag's newline would break the file


def unwritable(path: str) -> bool:
    """A path no M3U8 line can hold: a line break ends the line."""
    return "\n" in path or "\r" in path


def _on_disk(path: str) -> str:
    """`path` with the folders leading to it resolved (symlinks followed), its last part as named."""
    folder, name = os.path.split(path)
    return os.path.join(os.path.realpath(folder), name)


def m3u8(tracks: list[dict], playlist_path: str | None) -> str:
    """The playlist text; paths relative to playlist_path's folder (absolute when printed, or on another drive)."""
    # Folders as they lie on disk: a player resolves "../" from the folder a symlink leads to, not from the link
    base = os.path.realpath(os.path.dirname(os.path.abspath(playlist_path))) if playlist_path else None
    lines = ["#EXTM3U"]
    for t in tracks:
        path = str(t["path"])
        if "://" not in path:  # an object's URI (s3://...) stays as the catalog names it
            path = os.path.abspath(path)
            if base is not None:
                path = _on_disk(path)  # the file's own name kept (a link named as the catalog names it)
                try:
                    path = os.path.relpath(path, base)
                except ValueError:  # another drive (Windows): the absolute path
                    pass
        duration = t.get("duration")
        seconds = int(round(duration)) if isinstance(duration, (int, float)) and np.isfinite(duration) else -1
        path = path.replace(os.sep, "/")
        if path.startswith("#"):  # a line starting with '#' is a comment to every player
            path = "./" + path
        lines += [f"#EXTINF:{seconds},{_title(t)}", path]
    return "\n".join(lines) + "\n"
