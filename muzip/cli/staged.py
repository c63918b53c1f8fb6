"""`--ray` with object-store URIs (s3://, gs://) as inputs or --output-dir: the plan, listed through the store,
and the per-file job, staged: the input copied to a local temporary file, the batch's own job run on local
paths (so a `.mz` is byte for byte what `muzip compress` writes), the output uploaded (muzip.scale.storage).
Every message names the URIs, never the temporary files."""

from __future__ import annotations

import os
import tempfile

import click

from ..errors import MuzipError, OutputWriteError
from .batch import Outcome
from .plan import Item, expand, make_output_dir, replace_ext
from .common import file_size


def uses_object_store(inputs, output_dir) -> bool:
    from ..scale.storage import is_uri
    return any(is_uri(p) for p in inputs) or is_uri(output_dir)


def _suffix(path: str) -> str:
    return os.path.splitext(path.rsplit("/", 1)[-1])[1]


class StagedJob:
    """`job(item, options, bars, out)` for an item whose input or output is a URI."""

    def __init__(self, job):
        self.job = job

    def __call__(self, item, options, bars, out) -> None:
        from ..scale.storage import StorageError, download, is_uri, stage_prefix, upload
        if item.skip:
            self.job(item, options, bars, out)
            return
        with tempfile.TemporaryDirectory(prefix=stage_prefix()) as tmp:
            src, dst = item.src, item.dst
            if is_uri(src):
                src = os.path.join(tmp, "input" + _suffix(item.src))  # the extension names the format
                download(item.src, src)
            if is_uri(dst):
                dst = os.path.join(tmp, "output" + _suffix(item.dst))
            names = [(src, item.src), (dst, item.dst)]
            inner = Outcome()
            try:
                self.job(Item(src, dst), options, bars, inner)
                if dst != item.dst:
                    upload(dst, item.dst)
            except MuzipError as exc:
                _replay(inner, out, names, said=False)  # no "-> OUTPUT" line for an output never written
                if isinstance(exc, StorageError):
                    raise OutputWriteError(str(exc)) from None
                exc.args = tuple(_rename(str(a), names) for a in exc.args) or exc.args
                raise
            _replay(inner, out, names, said=True)


def _replay(inner, out, names, said: bool) -> None:
    for kind, text in inner.messages:
        if said or kind != "say":
            getattr(out, kind)(_rename(text, names))
    out.bytes_in, out.bytes_out = inner.bytes_in, inner.bytes_out if said else 0


def _rename(text: str, names) -> str:
    for local, shown in names:
        if local != shown:
            text = text.replace(local, shown)
    return text


def plan_objects(inputs, *, ext: str, output_dir: str | None, recursive: bool, force: bool, want) -> list[Item]:
    """One Item per input file (each with its size) where an input or --output-dir is a URI; outputs that
    exist are skipped unless `force` (as `--ray` does with paths)."""
    from ..scale import storage
    files, unreadable = [], []  # (source, bytes, name kept below --output-dir); local folders not listed
    for path in inputs:
        if storage.is_uri(path):
            kind, found = storage.listing(path, recursive)
            if kind == "folder" and not recursive:
                raise click.UsageError(f"{path}: is a folder (use -r for folders)")
            if kind == "missing":  # fails in its turn, as a missing local file does
                found = [(path, 0, path.rstrip("/").rsplit("/", 1)[-1])]
            files.extend(f for f in found if kind != "folder" or want(f[2].rsplit("/", 1)[-1]))
        else:
            files.extend((p, file_size(p), rel) for p, rel in expand([path], recursive, want, unreadable))
    if not files and not unreadable:
        raise click.UsageError("no input files (folders need -r)")
    items, seen = [], {}
    for src, size, rel in files:
        if output_dir:
            dst = (storage.join(output_dir, replace_ext(rel, ext)) if storage.is_uri(output_dir)
                   else os.path.join(output_dir, replace_ext(rel, ext)))
        else:
            dst = replace_ext(src, ext)
        if dst in seen:
            raise click.UsageError(f"{seen[dst]} and {src} would both be written to {dst}; rename one, or use "
                                   "--output-dir")
        seen[dst] = src
        items.append(Item(src, dst, size=size))
    for uri in sorted({storage.bucket_of(it.dst) for it in items if storage.is_uri(it.dst)}):
        storage.check_bucket(uri)  # before any work: a missing bucket would fail every file after coding it
    existing = _existing_objects(items, output_dir)
    for it in items:
        it.skip = not force and (it.dst in existing if storage.is_uri(it.dst) else os.path.isfile(it.dst))
    for folder in sorted({os.path.dirname(it.dst) for it in items if not it.skip and not storage.is_uri(it.dst)}):
        make_output_dir(folder)
    return items + [Item(folder, os.devnull, failed=why, size=0) for folder, why in unreadable]  # one line each


def _existing_objects(items, output_dir) -> set[str]:
    """The URIs among the outputs that exist: one listing of --output-dir, else a look at each."""
    from ..scale import storage
    if storage.is_uri(output_dir):
        return {uri for uri, _, _ in storage.listing(output_dir, recursive=True)[1]}
    return {it.dst for it in items if storage.is_uri(it.dst) and storage.listing(it.dst, False)[0] == "file"}
