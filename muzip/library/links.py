"""Names that are one file: a symlink and its target, hard links. A library reached through links (a folder of
symlinks per language or per playlist, an album linked into a compilation) holds each such file once on disk,
however many tracks name it: `index` reads it once, and `dupes` does not offer a name of it as a copy to delete,
since deleting one frees nothing (and deleting a target breaks its symlinks)."""

from __future__ import annotations

import os


def _identity(path: str):
    """(device, inode, size, time) of the file a path names, links followed; None where it cannot be read (a
    URI, gone) or the file system numbers no inodes (0: some FUSE and SMB mounts; size and time alone could
    take two files for one)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a name with a NUL byte
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) if st.st_ino else None


def by_file(paths) -> dict[str, list[str]]:
    """{the name that stands for a file: every name of it, that one first} over `paths`, in their order; the
    standing name is the first that is not a symlink (the file itself), else the first. A name that cannot be
    read stands alone."""
    names: dict = {}
    for p in paths:
        key = _identity(p)
        names.setdefault(("alone", p) if key is None else key, []).append(p)
    out = {}
    for group in names.values():
        first = next((p for p in group if not os.path.islink(p)), group[0])
        out[first] = [first, *(p for p in group if p != first)]
    return out


def other_files(path: str, paths) -> list[str]:
    """`paths` less the names of `path`'s own file, each other file once (by_file's standing name)."""
    groups = by_file([path, *paths])
    return [first for first, names in groups.items() if path not in names]
