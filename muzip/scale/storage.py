"""Object stores for `--ray` (s3://, gs://), through pyarrow.fs: listed, read and written by URI.

A worker cannot open an object by path, so a job's input is copied to a local temporary file, the batch's
own per-file job runs on local paths (the same bytes as on one machine), and the output is uploaded. An
object store shows an object only once its upload completes: a worker killed mid-file leaves nothing
behind, the atomic write a local output gets from a rename. Credentials and endpoints come from the
environment as the cloud SDKs read them (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, GOOGLE_APPLICATION_CREDENTIALS,
...); `--ray` hands those variables to its workers.
"""

from __future__ import annotations

import os
import re

from ..errors import MuzipError

OBJECT_STORES = ("s3", "gs", "gcs")
CREDENTIAL_PREFIXES = ("AWS_", "GOOGLE_", "GCS_")  # the variables pyarrow's S3 and GCS file systems read
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
CHUNK = 1 << 20


class StorageError(MuzipError):
    """An object store that cannot be reached or read, or a URI it does not know."""


def is_uri(path: str | None) -> bool:
    """Whether `path` names an object in an object store (s3://, gs://) rather than a path on a mount."""
    m = _SCHEME.match(path or "")
    return bool(m) and m.group(1).lower() in OBJECT_STORES


STAGE_PREFIX, RUN_ENV = "muzip-stage-", "MUZIP_RUN"


def stage_prefix() -> str:
    """The start of a worker's staging folder's name (a local copy of an object, an output before its upload):
    the run's id in it ($MUZIP_RUN, set by the driver), so the driver removes what a killed worker left."""
    return f"{STAGE_PREFIX}{os.environ.get(RUN_ENV, '')}-"


def clear_stages(run: str) -> None:
    """The staging folders of run `run` on this machine (a worker killed mid-file cannot remove its own)."""
    import glob
    import shutil
    import tempfile
    pattern = os.path.join(glob.escape(tempfile.gettempdir()), glob.escape(f"{STAGE_PREFIX}{run}-") + "*")
    for folder in glob.glob(pattern):
        shutil.rmtree(folder, ignore_errors=True)


def credentials_env() -> dict[str, str]:
    """The environment variables an object store's client reads, to be set on every worker."""
    return {k: v for k, v in os.environ.items() if k.startswith(CREDENTIAL_PREFIXES)}


_FILESYSTEMS: dict = {}


def resolve(uri: str):
    """(pyarrow file system, path in it) for an object-store URI; one file system per bucket and process."""
    from pyarrow import fs
    scheme, rest = uri.split("://", 1)
    bucket = rest.split("/", 1)[0]
    key = (scheme.lower(), bucket)
    try:
        if key not in _FILESYSTEMS:
            _FILESYSTEMS[key] = fs.FileSystem.from_uri(f"{scheme}://{bucket}")[0]
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError or its own types: one line
        raise StorageError(f"{uri}: {_reason(exc)}") from None
    return _FILESYSTEMS[key], rest.rstrip("/")


def _reason(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return re.sub(r"\s*\(Request ID:.*$", "", first)[:300]  # the request id helps no one reading a batch


def bucket_of(uri: str) -> str:
    scheme, rest = uri.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


def check_bucket(uri: str) -> None:
    """StorageError where the bucket of `uri` does not exist or cannot be reached."""
    from pyarrow import fs
    filesystem, path = resolve(uri)
    bucket = path.split("/", 1)[0]
    try:
        kind = filesystem.get_file_info(bucket).type
    except Exception as exc:  # noqa: BLE001
        raise StorageError(f"{uri}: {_reason(exc)}") from None
    if kind != fs.FileType.Directory:
        raise StorageError(f"{bucket_of(uri)}: no such bucket")


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(p.replace(os.sep, "/").strip("/") for p in parts)])


def listing(uri: str, recursive: bool) -> tuple[str, list[tuple[str, int, str]]]:
    """(kind, files) at `uri`: kind 'file', 'folder' or 'missing'; files as (URI, bytes, path relative to
    `uri`), sorted; with `recursive`, a folder's files at every depth (names starting with '.' left out)."""
    kind, found = _infos(uri, recursive)
    return kind, [(u, info.size, rel) for u, info, rel in found]


def objects(uri: str) -> tuple[str, list[tuple[str, int, float]]]:
    """(kind, files) at `uri` as `listing` with recursion, files as (URI, bytes, modification time in
    seconds): what `muzip index` compares with its catalog to skip unchanged files."""
    kind, found = _infos(uri, True)
    return kind, [(u, info.size, info.mtime_ns / 1e9 if info.mtime_ns is not None else 0.0)
                  for u, info, _ in found]


def exists(uri: str) -> bool:
    """Whether the object `uri` exists; StorageError where the store cannot say."""
    return _infos(uri, False)[0] == "file"


def _infos(uri: str, recursive: bool):
    from pyarrow import fs
    filesystem, path = resolve(uri)
    try:
        info = filesystem.get_file_info(path)
        if info.type == fs.FileType.File:
            return "file", [(uri, info, os.path.basename(path))]
        if info.type != fs.FileType.Directory:
            return "missing", []
        if not recursive:
            return "folder", []
        found = filesystem.get_file_info(fs.FileSelector(path, recursive=True))
    except Exception as exc:  # noqa: BLE001 - one line, whatever the store said
        raise StorageError(f"{uri}: {_reason(exc)}") from None
    scheme = uri.split("://", 1)[0]
    files = []
    for f in found:
        rel = f.path[len(path):].lstrip("/")
        if f.type == fs.FileType.File and not any(part.startswith(".") for part in rel.split("/")):
            files.append((f"{scheme}://{f.path}", f, rel))
    return "folder", sorted(files, key=lambda x: x[2])


def download(uri: str, local_path: str) -> None:
    """The object at `uri` into a local file; StorageError (one line) where it cannot be read."""
    filesystem, path = resolve(uri)
    try:
        with filesystem.open_input_stream(path) as src, open(local_path, "wb") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
    except FileNotFoundError:
        raise StorageError("no such file") from None
    except Exception as exc:  # noqa: BLE001
        raise StorageError(f"cannot read ({_reason(exc)})") from None


def upload(local_path: str, uri: str) -> None:
    """A local file to the object `uri`, which appears only when the whole upload has completed. The file is
    read whole first: pyarrow's output stream has no abort, and closing it (as leaving a `with` on an error
    would) publishes what was written; an output is a `.mz` of well under 100 MB."""
    filesystem, path = resolve(uri)
    with open(local_path, "rb") as src:
        data = src.read()
    try:
        with filesystem.open_output_stream(path) as dst:
            dst.write(data)
    except Exception as exc:  # noqa: BLE001
        raise StorageError(f"{uri}: cannot write ({_reason(exc)})") from None
