"""`--ray [ADDRESS]`: the batch's jobs on Ray Data (muzip.scale.ray_engine), printed as the batch CLI prints.

The same per-file lines (in completion order), warnings, failures, batch line and summary, and the same exit
status as `run_batch`; a cluster that cannot be reached is one line and exit 2, before anything is done.
"""

from __future__ import annotations

import contextlib
import glob
import signal
import uuid
import os
import sys

import click

from .batch import BatchView, Outcome, input_bytes, run_job
from .common import EXIT_FAIL, EXIT_USAGE, Progress, Reporter, default_jobs
from ..outputs import part_prefix
from ..signals import Interrupted, exit_for_signal
from .plan import Item
from ..native import native_stderr_to_null


def _clear_stale_parts(items) -> None:
    """A worker killed mid-file (SIGKILL, a lost node) cannot remove its temporary file, and Ray runs the
    file again elsewhere: the batch's outputs' temporary files (muzip's own `.NAME.*.part` names only) are
    removed before the run and after it, when none of its jobs is writing."""
    from ..scale.storage import is_uri
    for item in items:
        if item.dst is None or is_uri(item.dst):  # an object appears only when its upload completes
            continue
        folder, name = os.path.split(item.dst)
        for part in glob.glob(os.path.join(glob.escape(folder or "."), glob.escape(part_prefix(name)) + "*.part")):
            try:
                os.unlink(part)
            except OSError:
                pass


_RUN = uuid.uuid4().hex[:12]  # this batch's id, in its workers' staging folders' names (storage.stage_prefix)


def _store_env(items) -> dict:
    """An object store's credentials and endpoint, for the workers, where the batch reads or writes one; the
    run's id."""
    from ..scale.storage import RUN_ENV, credentials_env, is_uri
    return {**(credentials_env() if any(is_uri(it.src) or is_uri(it.dst) for it in items) else {}), RUN_ENV: _RUN}


def _clear_leftovers(ray, items, results) -> None:
    """After an interruption: the workers stopped first (they wrote on for seconds after "interrupted", and
    began files queued to them), then the temporary outputs and staging folders they leave removed (a review,
    session 62)."""
    import time

    from ..scale.ray_engine import disconnect
    from ..scale.storage import clear_stages
    close = getattr(results, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):  # Ray Data's executor shuts its actor pool down
            close()
    disconnect(ray)
    for _ in range(LEFTOVER_PASSES):  # an unlinked .part is never moved into place by the actor writing it
        _clear_stale_parts(items)
        clear_stages(_RUN)
        time.sleep(0.5)


LEFTOVER_PASSES = 4  # 2 s: the pool's actors, shut down with it, stop within a second or so


def _ray_stopped(exc, done: int, total: int):
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    click.echo(f"muzip: the Ray job stopped ({type(exc).__name__}: {first}); {done} of {total} files done, "
               "re-run to resume", err=True)
    sys.exit(EXIT_FAIL)


def check_cluster(address: str | None) -> None:
    """Before planning (which makes output folders): Ray installed and the address answering, else one line
    and exit 2."""
    from ..scale.ray_engine import ClusterError, check
    try:
        check(address)
    except ClusterError as exc:
        click.echo(f"muzip: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def run_batch_ray(items, job, options, *, quiet: bool, address: str | None, jobs: int | None) -> None:
    """Run every item on Ray and exit with the batch's status (never returns)."""
    from ..scale.ray_engine import ClusterError, connect, disconnect, run_jobs
    from ..scale.storage import clear_stages
    reporter = Reporter(quiet)
    if any(it.dst is None or it.src == "-" for it in items):
        reporter.fail("--ray writes files: give inputs as files or folders, not standard input or output")
        sys.exit(EXIT_USAGE)
    todo = []
    for item in items:
        if item.skip:
            reporter.say(f"{item.dst}: exists, skipped")
        elif item.failed is not None:  # a folder that could not be listed
            reporter.fail(f"{item.src}: {item.failed}")
        else:
            todo.append(item)
    if not todo:  # every output there (a re-run): nothing for Ray to do, and starting it costs 10 s
        BatchView(todo, reporter, quiet).close()
        sys.exit(reporter.status)
    with native_stderr_to_null():  # Ray's C++ core and raylet write to fd 2; muzip's lines still reach stderr
        view = BatchView(todo, reporter, quiet)  # the batch line is up while Ray starts (seconds)
        try:
            ray = connect(address, num_cpus=jobs or default_jobs())
        except ClusterError as exc:
            view.bar.close()
            click.echo(f"muzip: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        _clear_stale_parts(items)
        actors = max(1, min(len(todo), int(ray.available_resources().get("CPU", 1)))) if todo else 0
        results = run_jobs(ray, run_job, job, options, todo, actors, Item, [input_bytes(it) for it in todo],
                           env=_store_env(todo)) if todo else iter(())
        try:
            for index, messages, bytes_in, bytes_out, failed in results:
                outcome = Outcome(messages=messages, bytes_in=bytes_in, bytes_out=bytes_out, failed=failed)
                reporter.replay(outcome.messages)
                view.finished(todo[index], outcome)
        except (Interrupted, KeyboardInterrupt) as exc:  # Ctrl-C, SIGTERM, SIGHUP (signals.py raises Interrupted)
            view.bar.close()
            click.echo("muzip: interrupted", err=True)
            _clear_leftovers(ray, items, results)
            sys.exit(exit_for_signal(getattr(exc, "signum", signal.SIGINT)))
        except Exception as exc:  # noqa: BLE001 - Ray's own failures (a lost cluster, retries spent): one line
            if not type(exc).__module__.startswith("ray"):
                raise
            view.bar.close()
            _ray_stopped(exc, view.done, view.n)
        _clear_stale_parts(items)
        view.close()
        disconnect(ray)
        clear_stages(_RUN)
    sys.exit(reporter.status)


def _merge_shards(folder: str, cat, embedder: str, current, rep) -> set:
    """The complete shards in `folder` into the catalog (an upsert by path), then removed; the paths merged.
    A record is merged only where `current(path, size, mtime)`: a killed run's shard, merged by a later run,
    had rows of files since pruned or changed (a review, session 62: a pruned track came back, a changed
    file's row went back to its old embedding). Shards of another embedder are dropped; one that cannot be
    read is set aside (`damaged-...`), said once."""
    from ..scale import shards
    merged = set()
    for shard in shards.shards(folder):
        try:
            made_by, records = shards.shard_embedder(shard), shards.read_shard(shard)
        except Exception as exc:  # noqa: BLE001 - pyarrow's errors: a shard cut short by a crash
            aside = os.path.join(folder, "damaged-" + os.path.basename(shard))
            os.replace(shard, aside)
            rep.warn(f"{shard}: cannot be read ({type(exc).__name__}); set aside as {aside}, its files indexed again")
            continue
        if made_by == embedder:
            records = [r for r in records if current(r["path"], r["size"], r["mtime"])]
            cat.put_many(records, embedder)
            merged.update(r["path"] for r in records)
        os.unlink(shard)
    return merged


def _current(known):
    """current(path, size, mtime): whether a record still describes its file (an object: as listed now)."""
    def current(path, size, mtime):  # as Catalog.unchanged compares; a store's one-object lookup and its
        if path in known:  # listing may give the time at other precisions (a second, a millisecond)
            return known[path][0] == size and abs(known[path][1] - mtime) < 1.0
        try:
            st = os.stat(path)
        except OSError:
            return False
        return st.st_size == size and abs(st.st_mtime - mtime) < 1e-6
    return current


def index_on_ray(todo, db_path, cat, embedder, embed_one, *, jobs, address, bar, rep, known=None, names=None):
    """`muzip index --ray`: (files added, files failed). Workers write records as Parquet shards beside the
    catalog (LIBRARY.shards/); shards a killed run left are merged first, the rest after the run. `known`:
    {URI: (bytes, time)} of the object-store inputs, `names` {absolute path: as named} of the local ones
    (muzip.cli.library_objects)."""
    from .library_objects import as_named
    known, names = known or {}, names or {}
    from ..scale import shards
    from ..scale.ray_engine import ClusterError, connect, disconnect, file_bytes, run_sharded
    from ..scale.storage import clear_stages
    folder, current, wanted = shards.folder_for(db_path), _current(known), set(todo)
    shards.clear_partials(folder)
    added = len(wanted & _merge_shards(folder, cat, embedder, current, rep)) if os.path.isdir(folder) else 0
    if added:  # a killed run's finished work: those files are done
        todo = [f for f in todo if not _unchanged(cat, f, embedder, known)]
    failed = 0
    if todo:
        shown = bar.bar is not None
        bar.close()  # drawn on the stderr that is about to be set aside: drawn again inside
        with native_stderr_to_null():
            bar = Progress(len(todo), "index", unit="files", enabled=shown)
            if bar.bar is not None:  # failure lines above the bar (sys.stderr is read when one is printed)
                from tqdm import tqdm
                rep.echo = lambda text: tqdm.write(text, file=sys.stderr)
            try:
                ray = connect(address, num_cpus=jobs or default_jobs())
            except ClusterError as exc:
                bar.close()
                click.echo(f"muzip: {exc}", err=True)
                sys.exit(EXIT_USAGE)
            actors = max(1, min(len(todo), int(ray.available_resources().get("CPU", 1))))
            batch = max(1, min(SHARD_FILES, len(todo) // (4 * actors)))
            done = 0
            results = iter(())
            try:
                sizes = [known[f][0] if f in known else file_bytes(f) for f in todo]
                env = _store_env([Item(f, None) for f in todo])
                results = run_sharded(ray, embed_one, todo, folder, actors, batch, sizes, env, embedder)
                for i, failure, warning in results:
                    bar.update(1)
                    done += 1
                    if warning:  # a .mz cut short: described from the frames that could be read
                        rep.warn(f"{names.get(todo[i], todo[i])}: {warning}")
                    if failure:
                        failed += 1
                        rep.fail(as_named(failure, todo[i], names))
            except (Interrupted, KeyboardInterrupt):  # the actors stopped, object copies removed; shards kept
                bar.close()
                _clear_leftovers(ray, [], results)
                raise
            except Exception as exc:  # noqa: BLE001 - Ray's own failures: the finished shards are kept
                if not type(exc).__module__.startswith("ray"):
                    raise
                bar.close()
                _ray_stopped(exc, done, len(todo))
            bar.close()
            disconnect(ray)
            clear_stages(_RUN)
        merged = len(set(todo) & _merge_shards(folder, cat, embedder, current, rep))
        if merged < done - failed:  # embedded, but no shard of them reached this machine
            rep.warn(f"{db_path}: {done - failed - merged} of {done - failed} files embedded on the cluster left no "
                     f"record in {folder} (is it on a mount every node shares?); `index` again redoes them")
        added += merged
    try:
        os.rmdir(folder)
    except OSError:
        pass
    return added, failed


SHARD_FILES = 16  # files per shard (and per task): a killed worker redoes at most this many


def _unchanged(cat, path, embedder, known) -> bool:
    if path in known:
        return cat.unchanged(path, *known[path], embedder)
    try:
        st = os.stat(path)
    except OSError:
        return False
    return cat.unchanged(path, st.st_size, st.st_mtime, embedder)
