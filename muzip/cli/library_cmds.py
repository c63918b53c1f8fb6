"""The library commands: index, similar, cluster, classify (train / predict) and map."""

from __future__ import annotations

import json
import os
import sys

import click

from ..errors import MuzipError
from .common import EXIT_CODES_HELP, Progress, Reporter, default_jobs
from .plan import AUDIO_EXTS, files_under

BATCH = 32  # records per catalog transaction: a kill -9 loses at most this many


def _files(paths, rep: Reporter) -> list[str]:
    """Files under the given paths (folders walked), audio or .mz, sorted; missing paths reported."""
    return files_under(paths, rep, set(AUDIO_EXTS) | {"mz"})


_STATE = {}


def _models(name=None):
    from .codec_jobs import get_model
    return get_model(name)


def _embed_one(path):
    """Worker: path -> ("ok", record) or ("fail", message). A pure function of the file."""
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
@click.option("--db", "db_path", required=True, metavar="LIBRARY", help="The catalog (an SQLite file; made if missing).")
@click.option("--prune", is_flag=True, help="Drop catalog entries whose file is gone.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=default_jobs, show_default="cores",
              help="Files embedded in parallel (worker processes).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on standard output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def index(paths, db_path, prune, jobs, as_json, quiet):
    """Add audio files and .mz files (folders are walked) to a library catalog, with their embeddings.

    Unchanged files (same size and time) are skipped, so a re-run, or a run after an interruption,
    does only what is left. A .mz is embedded from its latents without running the decoder.

    \b
    Examples:
      muzip index Music/ --db music.db            # audio and .mz files, all cores
      muzip index Music/ --db music.db --prune    # again later: new files only, vanished ones dropped
    """
    from ..library.catalog import Catalog
    rep = Reporter(quiet)
    files = _files(paths, rep)
    _, embedder = _embedder()
    with Catalog(db_path) as cat:
        todo = []
        for f in files:
            st = os.stat(f)
            if not cat.unchanged(f, st.st_size, st.st_mtime, embedder):
                todo.append(f)
        added, failed, pending = 0, 0, []
        bar = Progress(len(todo), "index", unit="files", enabled=not quiet)

        def flush():
            nonlocal pending
            if pending:
                cat.put_many(pending, embedder)
                pending = []

        try:
            for kind, value in _map(_embed_one, todo, jobs):
                bar.update(1)
                if kind == "ok":
                    pending.append(value)
                    added += 1
                    if len(pending) >= BATCH:
                        flush()
                else:
                    failed += 1
                    rep.fail(value)
            flush()
        finally:
            bar.close()
        gone = cat.prune() if prune else []
        total = cat.count()
    summary = {"catalog": db_path, "files": len(files), "indexed": added, "unchanged": len(files) - len(todo),
               "failed": failed, "pruned": len(gone), "tracks": total}
    if as_json:
        click.echo(json.dumps(summary))
    elif not quiet:
        rep.say(f"{db_path}: {added} indexed, {summary['unchanged']} unchanged, {failed} failed, "
                f"{len(gone)} pruned; {total} tracks")
    sys.exit(rep.status)


def _map(fn, items, jobs):
    """fn over items in order, in this process or in forked workers (each loads its models once)."""
    if jobs <= 1 or len(items) <= 1:
        for it in items:
            yield fn(it)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    os.environ.setdefault("MUZIP_THREADS", "1")
    with ProcessPoolExecutor(min(jobs, len(items)), mp_context=mp.get_context("fork")) as pool:
        yield from pool.map(fn, items, chunksize=1)


def catalog_embeddings(db_path: str):
    """(embeddings, paths) of an existing catalog; one line and exit 1 if it cannot be read."""
    from ..library.catalog import Catalog
    try:
        with Catalog(db_path, create=False) as cat:
            _, emb, paths = cat.embeddings()
    except MuzipError as exc:
        click.echo(f"muzip: {exc}", err=True)
        sys.exit(1)
    return emb, paths


def _query(cat, query: str):
    """(embedding, catalog id or None) of a catalog track or any file."""
    hit = cat.lookup(query) if os.path.exists(query) or os.path.isabs(query) else None
    if hit is not None:
        return hit[1], hit[0]
    if not os.path.exists(query):
        raise MuzipError(f"{query}: no such file, and not in the catalog")
    kind, value = _embed_one(os.path.abspath(query))
    if kind != "ok":
        raise MuzipError(value)
    import numpy as np
    return np.frombuffer(value["embedding"], "<f4").astype(np.float32), None


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("query")
@click.option("--db", "db_path", required=True, metavar="LIBRARY", help="The catalog.")
@click.option("-n", "count", type=click.IntRange(1, 10000), default=10, show_default=True, help="How many.")
@click.option("--json", "as_json", is_flag=True, help='A JSON list of {"path", "score"}, best first.')
def similar(query, db_path, count, as_json):
    """The tracks nearest to QUERY (a file, indexed or not, or a track in the catalog).

    \b
    Examples:
      muzip similar song.mz --db music.db -n 5
      muzip similar new_song.flac --db music.db --json
    """
    from ..library.catalog import Catalog
    from ..library.search import nearest
    try:
        with Catalog(db_path, create=False) as cat:
            emb, own = _query(cat, query)
            hits = nearest(cat, emb, count, exclude_id=own)
    except MuzipError as exc:
        click.echo(f"muzip: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(hits))
    else:
        for h in hits:
            click.echo(f"{h['score']:.3f}  {h['path']}")


@click.command(epilog=EXIT_CODES_HELP)
@click.option("--db", "db_path", required=True, metavar="LIBRARY", help="The catalog.")
@click.option("--preference", type=float, help="Affinity Propagation preference (default: the median "
              "similarity; lower gives fewer clusters).")
@click.option("--json", "as_json", is_flag=True, help='{"clusters": [{"exemplar", "members"}]}.')
def cluster(db_path, preference, as_json):
    """Group the catalog's tracks by Affinity Propagation (no number of clusters to choose).

    \b
    Examples:
      muzip cluster --db music.db
      muzip cluster --db music.db --preference -0.5 --json
    """
    from ..library.cluster import affinity_clusters, clusters_json
    emb, paths = catalog_embeddings(db_path)
    labels, exemplars = affinity_clusters(emb, preference)
    out = clusters_json(labels, exemplars, paths)
    if as_json:
        click.echo(json.dumps(out))
        return
    for k, c in enumerate(out["clusters"]):
        click.echo(f"cluster {k + 1} ({len(c['members'])} tracks), exemplar {c['exemplar']}")
        for m in c["members"]:
            click.echo(f"  {m}")
