"""The library commands index and cluster, and what every library command shares (similar: similar_cmd.py,
dupes: dupes_cmd.py, classify: classify_cmds.py, map: map_cmd.py)."""

from __future__ import annotations

import functools
import json
import os
import sys

import click

from ..errors import MuzipError
from ..outputs import is_full
from ..signals import Interrupted
from .common import (
    EXIT_BROKEN_PIPE, EXIT_CODES_HELP, EXIT_FAIL, Progress, Reporter, catalog_option, default_jobs, plural,
    ray_option, stderr_is_terminal,
)
from .plan import AUDIO_EXTS, files_under

BATCH = 32  # records per catalog transaction: a kill -9 loses at most this many


def one_line_errors(command):
    """A library command's errors (a catalog or classifier that cannot be used, an output that cannot be
    written) end it with one line `muzip: FILE: reason` and exit 1, never a traceback; a reader of stdout
    that went away (`muzip similar X --db L | head -1`) ends it quietly, exit 141, as the codec commands do."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (Interrupted, KeyboardInterrupt):  # `muzip: interrupted` on a line of its own, not after a status
            Status.clear_current()
            raise
        except BrokenPipeError:
            Status.clear_current()
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush is silent
            sys.exit(EXIT_BROKEN_PIPE)
        except MuzipError as exc:
            fail_exit(str(exc))
        except OSError as exc:
            if is_full(exc):
                fail_exit(f"standard output: cannot write ({exc.strerror})")  # `> /dev/full`: no file name
            fail_exit(f"{exc.filename}: {exc.strerror or exc}" if exc.filename else str(exc))
    return wrapper


def fail_exit(text: str):
    Status.clear_current()
    click.echo(f"muzip: {text}", err=True)
    sys.exit(EXIT_FAIL)


def dumps(obj) -> str:
    """JSON as RFC 8259 has it: a NaN or infinity here is a bug, never printed as `NaN`."""
    return json.dumps(obj, allow_nan=False)


class Status:
    """One status line on a terminal's stderr (`muzip: map: clustering 900 tracks...`), rewritten in place
    and wiped before anything else is printed; nothing at all when stderr is not a terminal."""

    current = None

    def __init__(self, prefix: str, enabled: bool = True):
        self.prefix, self.on, self.shown = prefix, enabled and stderr_is_terminal(), False

    def __call__(self, text: str):
        if self.on:
            click.echo(f"\r\x1b[Kmuzip: {self.prefix}: {text}", err=True, nl=False)
            self.shown, Status.current = True, self

    def clear(self):
        if self.shown:
            click.echo("\r\x1b[K", err=True, nl=False)
            self.shown = False
        if Status.current is self:
            Status.current = None

    @classmethod
    def clear_current(cls):
        if cls.current is not None:
            cls.current.clear()

    def reporter(self, rep: Reporter) -> Reporter:
        """`rep`, its lines printed below a wiped status line."""
        def echo(text):
            self.clear()
            click.echo(text, err=True)
        rep.echo = echo
        return rep


def _files(paths, rep: Reporter) -> list[str]:
    """Files under the given paths (folders walked), audio or .mz, sorted; missing paths reported."""
    return files_under(paths, rep, set(AUDIO_EXTS) | {"mz"})


_STATE = {}


def _models(name=None):
    from .codec_jobs import get_model
    return get_model(name)


def _embed_one(path):
    """Worker: path or object URI -> ("ok", record) or ("fail", message). A pure function of the file."""
    from ..scale.storage import is_uri
    if is_uri(path):
        from .library_objects import embed_object
        return embed_object(path, _embed_one)
    from ..library.sources import record
    try:
        return "ok", record(path, _models, _embedder()[0])
    except MuzipError as exc:
        from .batch import _message  # one prefix: readers already name the file in some messages
        return "fail", _message(path, exc)
    except (OSError, ValueError) as exc:
        return "fail", f"{path}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"


def _embedder():
    """(normalizer, embedder id), loaded once per process."""
    from ..library import load_embedder
    if "embedder" not in _STATE:
        _STATE["embedder"] = load_embedder()
    return _STATE["embedder"]


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True)
@catalog_option("The catalog (an SQLite file; made if missing).")
@click.option("--prune", is_flag=True, help="Drop catalog entries under PATHS whose file is gone (not those "
              "under a path not found: an unplugged drive).")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=default_jobs, show_default="cores",
              help="Files embedded in parallel (worker processes).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on standard output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@ray_option
@one_line_errors
def index(paths, db_path, prune, jobs, as_json, quiet, ray_address):
    """Add audio files and .mz files (folders are walked) to a library catalog, with their embeddings.

    Unchanged files (same size and time) are skipped, so a re-run, or a run after an interruption,
    does only what is left. A .mz is embedded from its latents without running the decoder. A file
    under several names (symlinks, hard links) is read once, and each name is a track.

    \b
    Examples:
      muzip index Music/ --db music.db            # audio and .mz files, all cores
      muzip index Music/ --db music.db --prune    # again later: new files only, vanished ones dropped
      muzip index Music/ --db music.db --ray      # on Ray: records as Parquet shards, then merged
      muzip index s3://bucket/mz --db music.db --ray   # objects (s3://, gs://), named by their URIs
    """
    from ..library.catalog import Catalog
    on_ray = ray_address is not None
    if on_ray:
        from .ray_batch import check_cluster
        ray_address = None if ray_address == "local" else ray_address
        check_cluster(ray_address)
    from .library_objects import as_named, fill_codecs, index_inputs, size_time
    from ..workers import mapped
    rep = Reporter(quiet)
    files, known, names = index_inputs(paths, rep, on_ray)
    refused = rep.failures  # inputs that could not be listed as files (missing, a pipe, a name not UTF-8)
    if not files and not os.path.lexists(db_path):  # a mistyped path: no empty catalog made
        if as_json:
            click.echo(dumps({"catalog": db_path, "files": refused, "indexed": 0, "unchanged": 0, "failed": refused,
                              "pruned": 0, "gone": 0, "tracks": 0, "reprojected": 0}))
        rep.say(f"{db_path}: 0 indexed, {refused} failed; no catalog made")
        sys.exit(rep.status)
    with Catalog(db_path) as cat:  # made, or checked to be a writable muzip catalog, before any work
        embed, embedder = _embedder()
        from ..library.collection import adopt_described, refresh, uses_collection
        # Tracks of an earlier projection of the same descriptors are re-projected now, not read again.
        adopted = adopt_described(cat, embed, embedder) if uses_collection(embed) else 0
        _say_reindexed(rep, db_path, cat.paths_of_other_embedders(embedder), set(files), embedder)
        todo, kept, unchanged, failed, stamps = [], [], 0, refused, {}
        for f in files:
            try:
                size, mtime = stamps[f] = size_time(f, known)
            except OSError as exc:  # gone since it was listed
                rep.fail(f"{names.get(f, f)}: {exc.strerror or exc}")
                failed += 1
                continue
            if cat.unchanged(f, size, mtime, embedder):
                unchanged += 1
                kept.append(f)
            else:
                todo.append(f)
        added, pending = 0, []
        bar = Progress(len(todo), "index", unit="files", enabled=not quiet)
        _lines_above(bar, rep)

        def flush():
            nonlocal pending
            if pending:
                cat.put_many(pending, embedder)
                pending = []

        try:
            if on_ray:
                from .ray_batch import index_on_ray
                added, ray_failed = index_on_ray(todo, db_path, cat, embedder, _embed_one, jobs=jobs,
                                                 address=ray_address, bar=bar, rep=rep, known=known, names=names)
                failed += ray_failed
            # a file under several names (symlinks, hard links) is read once, and each name is a track
            from ..library.links import by_file
            same = {} if on_ray else by_file(todo)
            for first, (kind, value) in zip(same, mapped(_embed_one, list(same), jobs)):
                warning = value.pop("warning", None) if kind == "ok" else None
                for f in same[first]:
                    bar.update(1)
                    if kind == "ok":
                        if warning:
                            rep.warn(f"{names.get(f, f)}: {warning}")
                        pending.append(value if f == first else {**value, "path": os.path.abspath(f)})
                        added += 1
                        if len(pending) >= BATCH:
                            flush()
                    else:
                        failed += 1
                        dropped = f in stamps and f not in known and cat.drop_changed(os.path.abspath(f), *stamps[f])
                        rep.fail(as_named(value.replace(first, f, 1), f, names)  # one file: one reason
                                 + ("; its entry, of the file before it changed, dropped" if dropped else ""))
            flush()
        except (Interrupted, KeyboardInterrupt):
            # Ctrl-C keeps what was embedded (further signals are ignored now: signals.ignore_further_signals),
            # projected as the rest of the catalog, so a re-run does only what is left, as the help says.
            flush()
            if uses_collection(embed):
                refresh(cat, embed, embedder)
            raise
        finally:
            bar.close()
            rep.echo = None
        fill_codecs(cat, kept, jobs, quiet)
        from .library_objects import prune_test
        gone = cat.prune(prune_test(paths, known)) if prune else []  # only under the paths given and found
        left = 0  # without --prune, a file renamed or deleted since an earlier run is still a track
        if not prune and (as_json or not quiet):
            folders = [os.path.abspath(p) for p in paths if os.path.isdir(p)]
            left = sum(not os.path.exists(p) for p in cat.paths_under(folders)) if folders else 0
            if left and not quiet:
                rep.say(f"{db_path}: {plural(left, 'track')} whose file is gone from these folders "
                        f"{'stays' if left == 1 else 'stay'} in the catalog (`--prune` drops "
                        f"{'it' if left == 1 else 'them'})")
        if uses_collection(embed):  # every vector projected with the catalog's statistics as they now are
            refresh(cat, embed, embedder)
        from ..library.search import prepare
        prepare(cat)  # the vector index of a large catalog brought up to date here rather than by the next query
        total = cat.count()
    summary = {"catalog": db_path, "files": len(files) + refused, "indexed": added, "unchanged": unchanged,
               "failed": failed, "pruned": len(gone), "gone": left, "tracks": total, "reprojected": adopted}
    if as_json:
        click.echo(dumps(summary))
    elif not quiet:
        taken = f" ({adopted} re-projected from their stored descriptors)" if adopted else ""
        rep.say(f"{db_path}: {added} indexed, {summary['unchanged']} unchanged{taken}, {failed} failed, "
                f"{len(gone)} pruned; {plural(total, 'track')}")
    sys.exit(rep.status)


def _say_reindexed(rep: Reporter, db_path: str, older: dict, given: set, embedder: str) -> None:
    """Before a long run, what a new embedder means for a catalog indexed by another (its stored descriptors
    lack what the new one reads): which of its tracks this run reads again, and how many it leaves as they were
    (their vectors are another embedder's until they are indexed again)."""
    if not older:
        return
    name = embedder.split(":")[0]
    names = sorted({e.split(":")[0] for e in older})
    was = ", ".join(f"an earlier {n}" if n == name else n for n in names)
    again = sum(p in given for paths in older.values() for p in paths)
    left = sum(len(paths) for paths in older.values()) - again
    if again:
        rep.say(f"{db_path}: {plural(again, 'track')} indexed with {was}; {name} reads "
                f"{'it' if again == 1 else 'them'} again")
    if left:
        stay, it = ("stays", "it") if left == 1 else ("stay", "them")
        rep.say(f"{db_path}: {plural(left, 'track')} outside these paths {stay} indexed with {was} until "
                f"`muzip index` reads {it}: until then the catalog mixes two embedders' vectors, which do not compare")


def _lines_above(bar, rep: Reporter) -> None:
    """While `bar` is on screen, `rep`'s lines are printed above it (tqdm.write), never torn into it."""
    if bar.bar is not None:
        from tqdm import tqdm
        rep.echo = lambda text: tqdm.write(text, file=sys.stderr)


def report_left_out(cat, rep: Reporter) -> None:
    """One line per track the catalog read left out (a non-finite embedding): the other tracks are done,
    so the exit status is 1 (an input failed), like a batch with one bad file."""
    for text in cat.left_out:
        rep.fail(f"{cat.path}: {text}")


def warn_mixed(cat, rep: Reporter) -> None:
    """A catalog holding two embedders' vectors (an index run of part of the library after a new default
    embedder, or one interrupted): their vectors mean nothing to each other, so results are said to mix them."""
    embedders = cat.embedders()  # one read: a scan of every track
    names = sorted({e.split(":")[0] for e in embedders})
    if len(embedders) > 1:
        rep.warn(f"{cat.path}: holds the vectors of {len(embedders)} embedders ({', '.join(names)}), which do "
                 "not compare; run `muzip index` on the whole library")


def catalog_embeddings(db_path: str, rep: Reporter, mixed_ok: bool = False, copies: bool = False,
                       one_name_per_file: bool = False):
    """(embeddings, paths) of an existing catalog, opened read-only; tracks left out are reported to rep, and
    (unless mixed_ok: a caller that reads each embedder's tracks apart) a catalog of two embedders warned of.
    With `copies`, also the groups of rows that hold one recording (library.copies.recording_groups); with
    `one_name_per_file`, a file named several times (links: library.links) is one row, under its own name. A
    catalog that cannot be read raises CatalogError (one line, exit 1 under one_line_errors)."""
    from ..library.catalog import Catalog
    with Catalog(db_path, create=False) as cat:
        ids, emb, paths = cat.embeddings()
        if one_name_per_file:
            import numpy as np

            from ..library.links import by_file
            keep = set(by_file(paths))
            rows = np.array([k for k, p in enumerate(paths) if p in keep], np.int64)
            ids, emb, paths = ids[rows], emb[rows], [paths[k] for k in rows]
        report_left_out(cat, rep)
        if not mixed_ok:
            warn_mixed(cat, rep)
        if copies:  # a copy whose file is gone never stands for its recording (a cluster's exemplar: session 62)
            from ..library.copies import recording_groups
            from .library_objects import file_gone
            return emb, paths, [sorted(g, key=lambda k: file_gone(paths[k])) for g in recording_groups(cat, ids, emb)]
    return emb, paths


# Similarities are cosines (-1..1): a preference far past them already makes each track its own cluster or all
# one; beyond about 1e38 scikit-learn's float32 copy overflows (a warning, and one cluster).
PREFERENCE_RANGE = 1e6


@click.command(epilog=EXIT_CODES_HELP)
@catalog_option("The catalog (read only).")
@click.option("--preference", type=click.FloatRange(-PREFERENCE_RANGE, PREFERENCE_RANGE),
              help="Affinity Propagation preference (default: the median cosine similarity; lower gives fewer "
              "clusters).")
@click.option("--json", "as_json", is_flag=True, help='{"clusters": [{"exemplar", "members"}]}.')
@one_line_errors
def cluster(db_path, preference, as_json):
    """Group the catalog's tracks by Affinity Propagation (no number of clusters to choose).

    Copies of one recording (another format, bitrate or sample rate, as `muzip dupes` finds them) count as
    one track and share its cluster.

    \b
    Examples:
      muzip cluster --db music.db
      muzip cluster --db music.db --preference -0.5 --json
    """
    import math

    from ..library.cluster import affinity_clusters, clusters_json
    from .library_objects import shown_name
    if preference is not None and not math.isfinite(preference):
        raise click.BadParameter("must be a finite number", param_hint="--preference")
    rep = Reporter()
    emb, paths, copies = catalog_embeddings(db_path, rep, copies=True)
    labels, exemplars = affinity_clusters(emb, preference, copies=copies)
    out = clusters_json(labels, exemplars, paths)
    from .library_objects import GONE_NOTE, file_gone
    lost = {p for p in paths if file_gone(p)}  # an unplugged drive's tracks are still the library's: marked
    if as_json:
        click.echo(dumps({**out, **({"gone": sorted(lost)} if lost else {})}))
    else:
        from ..library.links import by_file
        for k, c in enumerate(out["clusters"]):
            files = by_file(c["members"])  # names of one file (links) on its line
            count = plural(len(c["members"]), "track") + (f", {plural(len(files), 'file')}" if len(files) < len(
                c["members"]) else "")
            click.echo(f"cluster {k + 1} ({count}), exemplar {shown_name(c['exemplar'])}")
            for m, names in files.items():  # a line break in a name cannot pass for another file
                more = len(names) - 1
                click.echo(f"  {shown_name(m)}" + f"  (+{more} other name{'s' * (more > 1)})" * (more > 0)
                           + f"  ({GONE_NOTE})" * (m in lost))
        if lost:  # not an error (as `similar` marks them): the catalog is older than the folder
            rep.say(f"{db_path}: {plural(len(lost), 'track')} whose file is gone (renamed or deleted since "
                    "`muzip index`; `muzip index PATH --prune` drops them)")
        if not paths:
            click.echo(f"{db_path}: no tracks to cluster (the catalog is empty)", err=True)
    sys.exit(rep.status)
