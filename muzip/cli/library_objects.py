"""`muzip index --ray` over an object store (s3://, gs://; muzip.scale.storage): the files listed through the
store with their sizes and modification times (compared with the catalog to skip unchanged files), each
embedded from a local temporary copy (the record a local file gives, its path the URI), and `--prune` asking
the store whether an object is still there. The catalog keeps the URIs: `similar URI` finds such a track."""

from __future__ import annotations

import os
import tempfile

import click

from .common import fail_usage
from .plan import AUDIO_EXTS, named_files_under

EXTS = set(AUDIO_EXTS) | {"mz"}


def index_inputs(paths, rep, on_ray: bool) -> tuple[list[str], dict[str, tuple[int, float]], dict[str, str]]:
    """(files, {URI: (bytes, time)}, {absolute path: as named}): local files (folders walked) and
    object-store URIs (listed)."""
    from ..scale.storage import StorageError, is_uri
    uris = [p for p in paths if is_uri(p)]
    if uris and not on_ray:
        raise click.UsageError("s3:// and gs:// inputs need --ray")
    known = {}
    if uris:
        try:
            known = object_files(uris, rep)
        except StorageError as exc:
            fail_usage(str(exc))
    names = named_files_under([p for p in paths if not is_uri(p)], rep, EXTS)
    for path in [p for p in names if not storable(p)]:
        rep.fail(f"{shown_name(names.pop(path))}: {NOT_UTF8}")
    return sorted(names) + sorted(known), known, names


# A catalog names its tracks in SQLite text, which is UTF-8: a name that is not (bytes from another system's
# encoding) cannot be stored, and is reported rather than stopping the run.
NOT_UTF8 = "its name is not valid UTF-8, which a catalog cannot hold (rename the file)"


def shown_name(path: str) -> str:
    """A file name as one line of a message: bytes that are not UTF-8 and line breaks written as escapes."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return text.replace("\n", "\\n").replace("\r", "\\r")


def storable(path: str) -> bool:
    try:
        path.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def as_named(message: str, path: str, names: dict[str, str]) -> str:
    """A worker's message about the absolute `path`, naming the file as the command line did."""
    named = names.get(path, path)
    return named + message[len(path):] if message.startswith(f"{path}: ") else message


def size_time(path: str, known) -> tuple[int, float]:
    """(bytes, modification time) of a listed object or a local file (OSError where it is gone)."""
    if path in known:
        return known[path]
    st = os.stat(path)
    return st.st_size, st.st_mtime


def object_files(uris, rep) -> dict[str, tuple[int, float]]:
    """{URI: (bytes, modification time)} of the audio and .mz objects at `uris` (folders listed at every
    depth; an object named on the command line taken whatever its extension); a missing URI is reported."""
    from ..scale.storage import objects
    found = {}
    for uri in uris:
        kind, files = objects(uri)  # StorageError: the store cannot be listed, nothing is done
        if kind == "missing":
            rep.fail(f"{uri}: no such file or folder")
        for u, size, mtime in files:
            if kind == "file" or u.rsplit(".", 1)[-1].lower() in EXTS:
                found[u] = (size, mtime)
    return found


def embed_object(uri: str, embed_local):
    """("ok", record) or ("fail", message) for the object `uri`, as `embed_local` gives them for a local file."""
    from ..scale.storage import StorageError, download, objects, stage_prefix
    suffix = os.path.splitext(uri.rsplit("/", 1)[-1])[1]  # the extension names the format
    with tempfile.TemporaryDirectory(prefix=stage_prefix()) as tmp:
        local = os.path.join(tmp, "input" + suffix)
        try:
            kind, found = objects(uri)
            if kind != "file":
                return "fail", f"{uri}: no such file"
            download(uri, local)
        except StorageError as exc:
            text = str(exc)
            return "fail", text if text.startswith(uri) else f"{uri}: {text}"
        kind, value = embed_local(local)
    if kind != "ok":
        return "fail", value.replace(local, uri)
    _, size, mtime = found[0]
    return "ok", {**value, "path": uri, "size": size, "mtime": mtime}


def prune_test(paths, listed=()):
    """`--prune`'s test of a stored path: True (kept) outside the PATHS given to `index` (a folder: what is under
    it; a file: itself; one not found, nothing: an unplugged drive is not its tracks deleted; an object store's
    prefix, where `listed` holds an object under it), else still_there."""
    from ..scale.storage import is_uri
    exact, prefixes = set(), []
    for p in paths:
        if is_uri(p):
            under = p.rstrip("/") + "/"
            if any(k == p or k.startswith(under) for k in listed):
                exact.add(p)
                prefixes.append(under)
        elif os.path.isdir(p):
            prefixes.append(os.path.join(os.path.abspath(p), ""))
        elif os.path.lexists(p):
            exact.add(os.path.abspath(p))
    prefixes, listed = tuple(prefixes), set(listed)

    def keep(path) -> bool:
        if not (isinstance(path, str) and (path in exact or path.startswith(prefixes))):
            return True
        # an object under a prefix just listed is there if the listing holds it: a request per catalogued object
        # took 10 ms each (hours for a million; a review, session 62)
        if is_uri(path):  # (one of another extension, or a hidden name, named alone once: the listing leaves it out)
            unlisted = path.rsplit(".", 1)[-1].lower() not in EXTS or "/." in path.split("://", 1)[-1]
            return path in listed or (unlisted and still_there(path))
        return still_there(path)
    return keep


GONE_NOTE = "file gone: `index --prune` drops it"  # beside a catalog track whose file is no longer there


def file_gone(path) -> bool:
    """A catalog track's local file that is no longer there (an object's URI is not looked up)."""
    from ..scale.storage import is_uri
    return not is_uri(str(path)) and not os.path.exists(path)


def still_there(path) -> bool:
    """`--prune`'s test: a local file exists, or the store shows the object (kept where it cannot say)."""
    from ..scale.storage import StorageError, exists, is_uri
    if not isinstance(path, str) or not is_uri(path):
        return isinstance(path, str) and os.path.exists(path)
    try:
        return exists(path)
    except StorageError:
        return True


def fill_codecs(cat, kept: list, jobs: int, quiet: bool) -> None:
    """The codec of each unchanged track that an earlier muzip catalogued without one, read from its header, so
    `dupes` ranks and names its copies as it does new tracks' (once: a re-run finds them stored; one whose codec
    cannot be read, a .mz of a model no longer installed, is tried again by the next run)."""
    from ..scale.storage import is_uri
    from ..workers import mapped
    from .common import Progress
    missing = cat.without_codec()
    stale = [f for f in kept if not is_uri(f) and os.path.abspath(f) in missing]
    if not stale:
        return
    bar = Progress(len(stale), "codecs", unit="files", enabled=not quiet)
    rows = []
    try:
        for f, (codec, kbps) in zip(stale, mapped(_codec_of, stale, jobs if len(stale) > 50 else 1)):
            bar.update(1)
            if codec is not None:
                rows.append((codec, kbps, os.path.abspath(f)))
    except BaseException:  # Ctrl-C: what was read is kept, if it can be; the interruption is what is said
        bar.close()
        try:
            cat.set_codecs(rows)
        except Exception:  # noqa: BLE001
            pass
        raise
    bar.close()
    cat.set_codecs(rows)


def _codec_of(path):
    from ..library.sources import stored_codec
    from .codec_jobs import get_model
    return stored_codec(path, get_model)
