"""`muzip compress --ray HOST:PORT` joining a cluster of two Ray nodes (two raylets on this machine, one CPU
each, as ray.cluster_utils builds them for Ray's own tests): where the actors ran, and whether every `.mz`
is byte-identical to `muzip compress -j 2`'s. Not a multi-machine measurement: both nodes share these cores
and this disk.

    .venv/bin/python -m scripts.bench.ray_two_nodes [--songs 8]
"""

from __future__ import annotations

import argparse
import collections
import filecmp
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.bench.ray_bench import MUZIP, ROOT, song_folder


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--songs", type=int, default=8)
    a = ap.parse_args()
    import ray
    from ray.cluster_utils import Cluster
    with tempfile.TemporaryDirectory() as tmp:
        src = song_folder(tmp, a.songs)
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        address = cluster.address
        try:
            t0 = time.perf_counter()
            run = subprocess.run(MUZIP + ["compress", "-r", str(src), "--output-dir", f"{tmp}/ray", "--ray",
                                          address], capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - t0
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
            actors = [a for a in ray._private.state.actors().values() if "MapWorker" in a["ActorClassName"]]
            per_node = collections.Counter(a["Address"]["NodeID"][:8] for a in actors)
            nodes = [n["NodeID"][:8] for n in ray.nodes() if n["Alive"]]
            ray.shutdown()
        finally:
            cluster.shutdown()
        subprocess.run(MUZIP + ["compress", "-q", "-r", str(src), "--output-dir", f"{tmp}/pool", "-j", "2"],
                       check=True, cwd=ROOT)
        outputs = sorted(p.name for p in Path(tmp, "pool").iterdir())
        same = all(filecmp.cmp(Path(tmp, "pool", n), Path(tmp, "ray", n), shallow=False) for n in outputs)
        print(f"muzip compress --ray {address}: exit {run.returncode}, {wall:.1f} s, {a.songs} files")
        print(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "(no output)")
        print(f"nodes {nodes}; coding actors per node {dict(per_node)}")
        print(f"every .mz identical to compress -j 2's: {same} ({len(outputs)} files)")
        sys.exit(0 if run.returncode == 0 and same and len(per_node) == 2 else 1)


if __name__ == "__main__":
    main()
