"""Ray Data as the engine of a batch past one machine (`--ray [ADDRESS]`; `pip install "muzip[cluster]"`).

The unit of work is the batch CLI's own job (a plain function of item and options, as `-j N` runs in a
forked worker), run by an actor pool in Ray Data's `map_batches`: each actor loads the model once, on one
inference thread, and the job writes its output atomically as it does on one machine (a temporary file
beside the output, moved into place), so a `.mz` is byte for byte what `muzip compress` writes and a killed
worker leaves no output behind. Inputs and outputs are paths every node sees (one machine, or a shared
mount such as NFS). Nothing here imports Ray until a batch asks for it.
"""

from __future__ import annotations

import os
import socket

from ..errors import MuzipError

CONNECT_TIMEOUT_S = 5.0


class ClusterError(MuzipError):
    """Ray is missing, or the cluster cannot be reached (the batch never started)."""


def _reachable(address: str) -> None:
    """Fail in seconds, with one line, where ray.init would wait a minute and print pages."""
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray {address}: expected HOST:PORT (or ray://HOST:PORT); for a local Ray, give "
                           "--ray last or before another option")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S) as conn:
            speaks = _speaks_grpc(conn)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(f"cannot reach the Ray cluster at {address} ({reason})") from None
    if not speaks and os.environ.get("RAY_USE_TLS", "0").lower() not in ("1", "true"):
        # ray.init would retry it for 10 minutes or more, without a word (a review, session 62)
        raise ClusterError(f"{address} answers, but not as Ray (give the head's GCS port, 6379 unless set, or "
                           "ray://HOST:10001 for Ray Client; 8265 is the dashboard)")


def _speaks_grpc(conn) -> bool:
    """Whether the server on `conn` answers HTTP/2's connection preface with its SETTINGS frame, as Ray's GCS and
    its client server (gRPC) do; an HTTP/1 server (a dashboard, a proxy, an S3 endpoint) or a silent one does not."""
    conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))  # preface, empty SETTINGS
    head = b""
    try:
        while len(head) < 9:
            got = conn.recv(9 - len(head))
            if not got:
                break
            head += got
    except OSError:  # socket.timeout too
        return False
    # a TLS server (RAY_USE_TLS) answers the clear preface with an alert or a handshake record: Ray may be there
    return (len(head) == 9 and head[3] == 4) or head[:1] in (b"\x15", b"\x16")


def check(address: str | None):
    """(the ray module, the address to join or None) before anything is planned or written; ClusterError
    where Ray is not installed or the address does not answer."""
    try:
        import ray
    except ImportError:
        raise ClusterError('--ray needs Ray: pip install "muzip[cluster]"') from None
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address and address != "auto":
        _reachable(address)
    return ray, address


def connect(address: str | None, num_cpus: int | None = None):
    """The `ray` module, initialised: a local Ray on this machine (num_cpus cores) when `address` is None
    and RAY_ADDRESS is unset, else the cluster there. ClusterError, one line, when neither works."""
    global _started
    ray, address = check(address)
    if ray.is_initialized():  # a caller (a test, a notebook) already holds one
        return ray
    import logging
    kwargs = {"address": address, "include_dashboard": False, "log_to_driver": False,
              "logging_level": logging.ERROR, "runtime_env": {"env_vars": {"MUZIP_THREADS": "1"}}}
    if not address:
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        raise ClusterError(f"cannot start Ray ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") \
            from None
    _started = True
    _quiet_progress(ray)
    return ray


_started = False  # whether connect() started (or joined) the Ray this process holds


def disconnect(ray) -> None:
    """Leave the Ray that connect() started or joined; one a caller already held stays up. Called when the
    batch is done: Ray's exit hook would do it too, after a fixed half-second pause for log lines that
    muzip does not forward."""
    global _started
    if _started:
        ray.shutdown()
        _started = False


def _quiet_progress(ray) -> None:
    """muzip prints its own batch line and summary; Ray Data's progress bars and logs would tear them."""
    ctx = ray.data.DataContext.get_current()
    for name in ("enable_progress_bars", "enable_operator_progress_bars", "print_on_execution_start",
                 "enable_rich_progress_bars"):
        if hasattr(ctx, name):
            setattr(ctx, name, False)
    import logging
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


class JobActor:
    """One actor of the pool: runs `runner(job, make_item(src, dst), options, bars)` for each row."""

    def __init__(self, runner, job, options, make_item, env=None):
        os.environ.update(env or {})  # an object store's credentials and endpoint (muzip.scale.storage)
        os.environ["MUZIP_THREADS"] = "1"  # one inference thread per actor: the pool is the parallelism
        self.runner, self.job, self.options, self.make_item = runner, job, options, make_item

    def __call__(self, batch):
        import json

        import numpy as np
        out = {"index": [], "messages": [], "bytes_in": [], "bytes_out": [], "failed": []}
        for index, src, dst in zip(batch["index"], batch["src"], batch["dst"]):
            outcome = self.runner(self.job, self.make_item(str(src), str(dst)), self.options, _no_bars)
            out["index"].append(int(index))
            out["messages"].append(json.dumps(outcome.messages))
            out["bytes_in"].append(int(outcome.bytes_in))
            out["bytes_out"].append(int(outcome.bytes_out))
            out["failed"].append(bool(outcome.failed))
        return {k: np.array(v) for k, v in out.items()}


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


def _no_bars(total, desc):
    return _NoBar()


def file_bytes(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # missing or unreadable: the job reports it, in its turn
        return 0


def _largest_first(sizes) -> list[int]:
    """The indices of `sizes` ordered largest first: the longest jobs start first and the short ones fill in
    at the end, so no actor is left coding one long file while the others idle (LPT scheduling)."""
    return sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))


def run_jobs(ray, runner, job, options, items, actors: int, make_item, sizes, env=None):
    """Yield (index, messages, bytes_in, bytes_out, failed) for every item, in completion order. A row is
    (index, src, dst); an actor that dies is restarted by Ray Data and its row run again. `sizes`: each item's
    input bytes (the order work is handed out in); `env`: variables set in every actor (an object store's
    credentials)."""
    import json
    order = _largest_first(sizes)
    rows = [{"index": i, "src": items[i].src, "dst": items[i].dst} for i in order]
    ds = ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
    # Two rows in flight per actor: the next file is already queued when one ends (with one, each file waited
    # ~0.15 s for Ray Data's scheduling loop; docs/SCALE.md). A dying actor loses those two, run again.
    ds = ds.map_batches(JobActor, batch_size=1, num_cpus=1,
                        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=2),
                        fn_constructor_kwargs={"runner": runner, "job": job, "options": options,
                                               "make_item": make_item, "env": env or {}})
    for row in ds.iter_rows():
        yield (int(row["index"]), [tuple(m) for m in json.loads(str(row["messages"]))], int(row["bytes_in"]),
               int(row["bytes_out"]), bool(row["failed"]))


class ShardingActor:
    """One actor of `muzip index --ray`'s pool: `fn(path)` -> ("ok", record) or ("fail", message) for each
    row's path; the batch's records are written as one Parquet shard (muzip.scale.shards) by this actor."""

    def __init__(self, fn, folder, env=None, embedder=None):
        os.environ.update({"MUZIP_THREADS": "1", **(env or {})})  # env: an object store's credentials
        self.fn, self.folder, self.embedder = fn, folder, embedder

    def __call__(self, batch):
        import numpy as np

        from .shards import write_shard
        results = [self.fn(str(p)) for p in batch["path"]]
        records = [value for kind, value in results if kind == "ok"]
        if records:
            write_shard(records, self.folder, self.embedder)
        warnings = [str(value.get("warning") or "") if kind == "ok" else "" for kind, value in results]
        return {"index": np.asarray(batch["index"]), "warning": np.array(warnings),
                "failure": np.array(["" if kind == "ok" else str(value) for kind, value in results])}


def run_sharded(ray, fn, paths, folder, actors: int, batch: int, sizes, env=None, embedder=None):
    """Yield (index, failure message or "", warning or "") for every path, in completion order; records go to
    shards, named as `embedder`'s. `sizes`: the files' bytes (largest first); `env`: variables set on every
    worker (credentials)."""
    rows = [{"index": i, "path": paths[i]} for i in _largest_first(sizes)]
    ds = ray.data.from_items(rows, override_num_blocks=max(1, -(-len(rows) // batch)))
    ds = ds.map_batches(ShardingActor, batch_size=batch, num_cpus=1,
                        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
                        fn_constructor_kwargs={"fn": fn, "folder": folder, "env": env, "embedder": embedder})
    for row in ds.iter_rows():
        yield int(row["index"]), str(row["failure"]), str(row["warning"])
