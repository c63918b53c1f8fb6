"""`muzip index --ray` over an object store (s3://, gs://; muzip.scale.storage): the files listed through the
store with their sizes and modification times (compared with the catalog to skip unchanged files), each
embedded from a local temporary copy (the record a local file gives, its path the URI), and `--prune` asking
the store whether an object is still there. The catalog keeps the URIs: `similar URI` finds such a track."""

from __future__ import annotations

import os
import tempfile

from .plan import AUDIO_EXTS

EXTS = set(AUDIO_EXTS) | {"mz"}


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
    from ..scale.storage import StorageError, download, objects
    suffix = os.path.splitext(uri.rsplit("/", 1)[-1])[1]  # the extension names the format
    with tempfile.TemporaryDirectory(prefix="muzip-stage-") as tmp:
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


def still_there(path) -> bool:
    """`--prune`'s test: a local file exists, or the store shows the object (kept where it cannot say)."""
    from ..scale.storage import StorageError, exists, is_uri
    if not isinstance(path, str) or not is_uri(path):
        return isinstance(path, str) and os.path.exists(path)
    try:
        return exists(path)
    except StorageError:
        return True
