"""`muzip compress --ray` (issue 26) on one local Ray (ray.init(num_cpus=2), shared by these tests): the same
bytes as the serial path, a corrupt input is one reported failure, a worker killed mid-run costs only its
in-flight file (the re-run finishes the rest, no partial output), an unreachable address is one line and
exit 2."""

import os
import signal
import subprocess
import sys
import time

import pytest

from muzip.cli import cli

ray = pytest.importorskip("ray")



def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ray_writes_the_serial_paths_bytes_and_reports_a_corrupt_input(runner, local_ray, songs, tmp_path):
    serial = runner.invoke(cli, ["compress", "-r", str(songs), "--output-dir", str(tmp_path / "serial"), "-j", "1"])
    on_ray = runner.invoke(cli, ["compress", "--ray", "-r", str(songs), "--output-dir", str(tmp_path / "ray")])
    assert serial.exit_code == on_ray.exit_code == 1  # the corrupt input, in both
    assert _tree(tmp_path / "ray") == _tree(tmp_path / "serial") and len(_tree(tmp_path / "ray")) == 5
    failures = [ln for ln in on_ray.output.splitlines() if ln.startswith("muzip: ")]
    assert failures == [f"muzip: {songs / 'broken.wav'}: corrupt or truncated WAV data (libsndfile: Error in WAV "
                        "file. No 'data' chunk marker)"] or (len(failures) == 1 and "broken.wav" in failures[0])
    assert "batch: 6 files, 1 failed" in on_ray.output and "Traceback" not in on_ray.output
    again = runner.invoke(cli, ["compress", "--ray", "-r", str(songs), "--output-dir", str(tmp_path / "ray")])
    assert again.output.count("exists, skipped") == 5 and _tree(tmp_path / "ray") == _tree(tmp_path / "serial")


def test_a_killed_worker_costs_only_its_file(local_ray, songs, tmp_path):
    """SIGKILL one actor while it codes: Ray restarts it and runs the row again, or the re-run does; either
    way every output ends complete and identical to the serial path's, and no temporary file is left."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "muzip", "compress", "--ray", local_ray, "-r", str(songs), "--output-dir", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and proc.poll() is None and time.monotonic() < deadline:
        pids = subprocess.run(["pgrep", "-f", "MapWorker"], capture_output=True, text=True).stdout.split()
        if pids and any(p.name.endswith(".part") for p in out.rglob("*")):  # an actor is writing a file
            killed = int(pids[0])
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    proc.communicate(timeout=120)
    assert killed is not None, "no actor was seen writing a file"
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 1 and "broken.wav" in rerun.stderr  # only the corrupt input is left failing
    serial = tmp_path / "serial"
    subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", "-r", str(songs), "--output-dir", str(serial)],
                   capture_output=True, timeout=120)
    assert _tree(out) == _tree(serial)
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_an_unreachable_cluster_is_one_line_and_exit_2(runner, songs, tmp_path):
    res = runner.invoke(cli, ["compress", "--ray", "127.0.0.1:1", "-r", str(songs), "--output-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1] == "muzip: cannot reach the Ray cluster at 127.0.0.1:1 (Connection refused)"
    assert not list(tmp_path.iterdir())


def test_ctrl_c_leaves_no_temporary_file(local_ray, songs, tmp_path, monkeypatch):
    """Ctrl-C of a --ray batch said "interrupted" while its actors wrote on, and left their `.NAME.*.part` files
    (and an object store's staging folders in /tmp) (a review, session 62): the actors are stopped first, then
    what they leave is removed."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "muzip", "compress", "--ray", local_ray, "-r", str(songs), "--output-dir", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, sent = time.monotonic() + 60, False
    while not sent and proc.poll() is None and time.monotonic() < deadline:
        if out.is_dir() and any(p.name.endswith(".part") for p in out.rglob("*")):
            proc.send_signal(signal.SIGINT)
            sent = True
        time.sleep(0.01)
    text = proc.communicate(timeout=120)[0]
    assert sent and proc.returncode == 130 and "muzip: interrupted" in text, text
    time.sleep(1)  # an actor still writing would show its file by now
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    import tempfile

    from muzip.scale import storage
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv(storage.RUN_ENV, "r1")
    (tmp_path / (storage.stage_prefix() + "x")).mkdir()  # a killed worker's staging folder, and another run's
    (tmp_path / "muzip-stage-r2-y").mkdir()
    storage.clear_stages("r1")
    assert sorted(p.name for p in tmp_path.glob("muzip-stage-*")) == ["muzip-stage-r2-y"]


def test_a_rerun_with_every_output_there_starts_no_ray(runner, tmp_path, monkeypatch):
    """Every output there: 9.6 s of starting Ray for nothing (0.4 s with --skip-existing alone; session 62)."""
    import numpy as np
    import soundfile as sf

    import muzip.scale.ray_engine as engine
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "a.wav", np.zeros((4410, 2), np.float32), 44100)
    assert runner.invoke(cli, ["compress", "-q", "-r", str(tmp_path / "in"), "--output-dir", str(tmp_path / "o")]
                         ).exit_code == 0
    monkeypatch.setattr(engine, "connect", lambda *a, **k: pytest.fail("Ray was started"))
    r = runner.invoke(cli, ["compress", "--ray", "-r", str(tmp_path / "in"), "--output-dir", str(tmp_path / "o")])
    assert r.exit_code == 0 and r.output.count("exists, skipped") == 1, r.output
