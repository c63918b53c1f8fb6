"""Batches and outputs as gzip/flac users expect: naming, collisions, folders, resuming, -j, special
outputs (devices, FIFOs, symlinks), option parsing and the documented exit statuses."""

import io
import os
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, EXIT_WARN

from conftest import sine
from test_cli import assert_one_line_error, err_lines, invoke, listing, sha


@pytest.fixture
def wavs(tmp_path):
    def make(*names, seconds=1.0, rate=44100, channels=2):
        paths = []
        for i, name in enumerate(names):
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, sine(300 + 50 * i, seconds, rate, channels), rate)
            paths.append(path)
        return paths
    return make


def test_exit_statuses_are_distinct_and_documented(runner):
    assert len({EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_WARN}) == 4
    text = " ".join(invoke(runner, "--help").output.split())
    assert "2 usage error" in text and "3 done, with warnings" in text and "130/129/143 interrupted" in text
    for name in cli.list_commands(None):
        assert "Exit status" in invoke(runner, name, "--help").output, name


def test_every_command_has_help_with_an_example(runner):
    for name in cli.list_commands(None):
        r = invoke(runner, name, "--help")
        assert r.exit_code == 0 and "Usage:" in r.output and "Example" in r.output, name


def test_colliding_outputs_are_refused_up_front_naming_both(runner, fast_model, tmp_path, wavs):
    a, = wavs("song.wav")
    sf.write(tmp_path / "song.flac", sine(440, 1, 44100), 44100, format="FLAC")
    before = listing(tmp_path)
    for extra in ([], ["-f"]):
        r = invoke(runner, "compress", *extra, a, tmp_path / "song.flac")
        assert r.exit_code == EXIT_USAGE
        assert "song.wav" in r.stderr and "song.flac" in r.stderr and "song.mz" in r.stderr
        assert listing(tmp_path) == before  # nothing done at all


def test_output_dir_keeps_names_and_o_dir_works_for_several_inputs(runner, fast_model, tmp_path, wavs):
    a, b = wavs("a.wav", "b.wav")
    out = tmp_path / "out"
    out.mkdir()
    r = invoke(runner, "compress", "-q", "--output-dir", out, a, b)
    assert r.exit_code == 0, r.stderr
    assert listing(out) == ["a.mz", "b.mz"]
    r = invoke(runner, "decompress", "-q", "-o", out, out / "a.mz", out / "b.mz")
    assert r.exit_code == 0, r.stderr
    assert listing(out) == ["a.mz", "a.wav", "b.mz", "b.wav"]
    r = invoke(runner, "compress", a, b, "-o", tmp_path / "one.mz")
    assert r.exit_code == EXIT_USAGE and "folder" in r.stderr


def test_recursive_mirrors_the_tree_and_skip_existing_resumes(runner, fast_model, tmp_path, wavs):
    wavs("music/x/one.wav", "music/y/two.wav", "music/three.wav")
    (tmp_path / "music" / "notes.txt").write_text("not audio")
    out = tmp_path / "mz"
    out.mkdir()
    r = invoke(runner, "compress", "-r", "--output-dir", out, tmp_path / "music")
    assert r.exit_code == 0, r.stderr
    made = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
    assert made == ["three.mz", "x/one.mz", "y/two.mz"]
    os.remove(out / "x" / "one.mz")  # as if the batch had been interrupted there
    stamp = os.stat(out / "y" / "two.mz").st_mtime_ns
    r = invoke(runner, "compress", "-r", "--skip-existing", "--output-dir", out, tmp_path / "music")
    assert r.exit_code == 0, r.stderr
    assert (out / "x" / "one.mz").is_file()
    assert os.stat(out / "y" / "two.mz").st_mtime_ns == stamp
    assert "skipped" in r.stderr
    r = invoke(runner, "compress", tmp_path / "music")  # a folder without -r: that input fails, one line
    assert r.exit_code == EXIT_FAIL
    assert_one_line_error(r, "music")


def test_parallel_batch_reads_like_a_serial_one(runner, fast_model, tmp_path, wavs):
    paths = wavs(*(f"s{i}.wav" for i in range(5)))
    (tmp_path / "bad.wav").write_bytes(b"not audio" * 50)
    args = [str(p) for p in paths[:2]] + [str(tmp_path / "bad.wav")] + [str(p) for p in paths[2:]]
    results = {}
    for jobs in ("1", "2"):
        r = invoke(runner, "compress", "-f", "-j", jobs, *args)
        results[jobs] = (r.exit_code, [ln.split(" s]")[0] for ln in err_lines(r) if "files" not in ln])
        outputs = {p.name: sha(p.with_suffix(".mz")) for p in paths}
        results[jobs] += (outputs,)
    assert results["1"] == results["2"]
    assert results["1"][0] == EXIT_FAIL


@pytest.mark.parametrize("target", ["/dev/null", "fifo", "symlink"])
def test_special_outputs_are_written_into_never_replaced(runner, fast_model, tmp_path, wavs, target):
    a, = wavs("a.wav")
    if target == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(path, "rb").read()))
        reader.start()
        r = invoke(runner, "compress", a, "-o", path)
        reader.join(30)
        assert r.exit_code == 0, r.stderr
        assert stat.S_ISFIFO(os.lstat(path).st_mode) and got[0][:4] == b"\x89MZ\n"
    elif target == "symlink":
        real = tmp_path / "real.mz"
        real.write_bytes(b"old")
        link = tmp_path / "link.mz"
        link.symlink_to(real)
        r = invoke(runner, "compress", a, "-o", link)
        assert r.exit_code == EXIT_FAIL and "exists" in r.stderr  # the target exists: -f needed
        r = invoke(runner, "compress", "-f", a, "-o", link)
        assert r.exit_code == 0, r.stderr
        assert os.path.islink(link) and real.read_bytes()[:4] == b"\x89MZ\n"
    else:
        before = os.stat("/dev/null")
        r = invoke(runner, "compress", a, "-o", "/dev/null")  # no -f needed
        assert r.exit_code == 0, r.stderr
        assert invoke(runner, "compress", "-q", a).exit_code == 0
        r = invoke(runner, "decompress", tmp_path / "a.mz", "-o", "/dev/null")
        assert r.exit_code == 0, r.stderr
        after = os.stat("/dev/null")
        assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".part")]


def test_decoding_to_dev_null_as_flac_spools_and_works(runner, fast_model, tmp_path, wavs):
    a, = wavs("a.wav")
    assert invoke(runner, "compress", "-q", a).exit_code == 0
    r = invoke(runner, "decompress", "--format", "flac", tmp_path / "a.mz", "-o", "/dev/null")
    assert r.exit_code == 0, r.stderr


def test_no_overwrite_holds_when_another_process_creates_the_output(fast_model, tmp_path, monkeypatch, wavs):
    """The check is repeated at the move: a file that appears meanwhile is not replaced."""
    import muzip.outputs as outputs
    a, = wavs("a.wav")
    real_publish = outputs._publish

    def racing(tmp_name, path, force):
        with open(path, "wb") as f:
            f.write(b"the other process")
        return real_publish(tmp_name, path, force)
    monkeypatch.setattr(outputs, "_publish", racing)
    with pytest.raises(outputs.OutputExistsError):
        with outputs.atomic_output(str(tmp_path / "x.mz"), force=False) as f:
            f.write(b"mine")
    assert (tmp_path / "x.mz").read_bytes() == b"the other process"
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".part")]


def test_output_format_follows_the_extension(runner, fast_model, tmp_path, wavs):
    a, = wavs("a.wav")
    assert invoke(runner, "compress", "-q", a).exit_code == 0
    r = invoke(runner, "decompress", "-q", tmp_path / "a.mz", "-o", tmp_path / "b.flac")
    assert r.exit_code == 0, r.stderr
    assert sf.info(str(tmp_path / "b.flac")).format == "FLAC"
    r = invoke(runner, "decompress", "-q", "--format", "wav", tmp_path / "a.mz", "-o", tmp_path / "c.flac")
    assert r.exit_code == EXIT_USAGE and not (tmp_path / "c.flac").exists()  # a WAV named .flac: refused
    r = invoke(runner, "decompress", tmp_path / "a.mz", "-o", tmp_path / "d.xyz")
    assert r.exit_code == EXIT_USAGE and "--format" in r.stderr


@pytest.mark.parametrize("value, kbps", [("64k", 64.0), ("64000", 64.0), ("32kbps", 32.0), ("12.5", 12.5)])
def test_bitrate_spellings(runner, fast_model, tmp_path, wavs, value, kbps):
    a, = wavs("a.wav", seconds=4)
    r = invoke(runner, "compress", "-b", value, a)
    assert r.exit_code == 0, r.stderr
    from muzip.container import read_info
    with open(tmp_path / "a.mz", "rb") as f:
        assert read_info(f)["bitrate_bps"] == int(kbps * 1000)


@pytest.mark.parametrize("args", [["-b", "nan"], ["-b", "inf"], ["-b", "1e400"], ["-b", "200k"]])
def test_bad_bitrates_are_usage_errors(runner, tmp_path, wavs, args):
    a, = wavs("a.wav")
    r = invoke(runner, "compress", *args, a)
    assert r.exit_code == EXIT_USAGE and "Traceback" not in r.output


def test_start_accepts_minutes_and_refuses_past_the_end(runner, fast_model, tmp_path, wavs):
    a, = wavs("a.wav", seconds=4)
    assert invoke(runner, "compress", "-q", a).exit_code == 0
    r = invoke(runner, "decompress", "--start", "0:01.5", "--duration", "0:01", tmp_path / "a.mz", "-o",
               tmp_path / "x.wav")
    assert r.exit_code == 0, r.stderr
    assert sf.info(str(tmp_path / "x.wav")).frames == 44100
    r = invoke(runner, "decompress", "--start", "1:30", tmp_path / "a.mz", "-o", tmp_path / "y.wav")
    assert r.exit_code == EXIT_FAIL
    assert_one_line_error(r, "a.mz", "past the end")
    assert not (tmp_path / "y.wav").exists()
    for bad in ("inf", "nan", "-1", "1:75", "abc"):
        for opt in ("--start", "--duration"):
            r = invoke(runner, "decompress", opt, bad, tmp_path / "a.mz")
            assert r.exit_code == EXIT_USAGE, (opt, bad)


def test_silence_and_near_silence_cost_almost_nothing(runner, fast_model, tmp_path):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "zero.wav", np.zeros((441000, 2), np.float32), 44100)
    sf.write(tmp_path / "hiss.wav", (rng.standard_normal((441000, 2)) * 1e-5).astype(np.float32), 44100,
             subtype="FLOAT")
    r = invoke(runner, "compress", "-b", "64", tmp_path / "zero.wav", tmp_path / "hiss.wav")
    assert r.exit_code == 0, r.stderr
    for name in ("zero.mz", "hiss.mz"):
        kbps = os.path.getsize(tmp_path / name) * 8 / 10 / 1000
        assert kbps < 1.0, (name, kbps)


def test_non_finite_samples_do_not_crash(runner, fast_model, tmp_path):
    x = sine(440, 2, 44100, 2)
    x[1000:1010, 0] = np.nan
    x[2000, 1] = np.inf
    sf.write(tmp_path / "nan.wav", x, 44100, subtype="FLOAT")
    r = invoke(runner, "compress", tmp_path / "nan.wav")
    assert r.exit_code in (EXIT_OK, EXIT_WARN), r.stderr
    out, _ = sf.read(tmp_path / "nan.wav")
    from muzip.codec import decompress_bytes
    y, _ = decompress_bytes((tmp_path / "nan.mz").read_bytes(), model=fast_model)
    assert np.isfinite(y).all()


def test_info_json_and_stdin(runner, fast_model, tmp_path, wavs):
    import json
    a, = wavs("a.wav")
    assert invoke(runner, "compress", "-q", a).exit_code == 0
    data = (tmp_path / "a.mz").read_bytes()
    r = invoke(runner, "info", "--json", tmp_path / "a.mz")
    assert r.exit_code == 0 and json.loads(r.output)["channels"] == 2
    r = invoke(runner, "info", "-", input=data)
    assert r.exit_code == 0 and "sample rate" in r.output
    r = invoke(runner, "test", "-", input=data)
    assert r.exit_code == 0 and "ok" in r.stderr
    r = invoke(runner, "test", "-", input=data[:-40])  # only the index lost: every frame is there (session 62)
    assert r.exit_code == 3 and "index or trailer damaged" in r.stderr
    r = invoke(runner, "test", "-", input=data[:len(data) // 2])
    assert r.exit_code == EXIT_FAIL and "truncated" in r.stderr


def test_models_lists_the_shipped_models(runner):
    from muzip.defaults import DEFAULT_EMBEDDER, DEFAULT_MODEL
    r = invoke(runner, "models")
    assert r.exit_code == 0 and f"{DEFAULT_MODEL} (default)" in r.output and "files ok" in r.output
    assert f"{DEFAULT_EMBEDDER} (default): embedder" in r.output and r.output.count("(default)") == 2
    assert all(f"{name}: codec" in r.output or f"{name} (default): codec" in r.output
               for name in ("muzip-v1", "muzip-v2", "muzip-v2.1"))


def test_an_unexpected_exception_costs_one_file_not_the_batch(runner, fast_model, tmp_path, wavs, monkeypatch):
    import muzip.codec
    a, b = wavs("a.wav", "b.wav")
    real = muzip.codec.compress_blocks

    def flaky(blocks, *args, **kw):
        if flaky.calls == 0:
            flaky.calls += 1
            raise RuntimeError("boom")
        return real(blocks, *args, **kw)
    flaky.calls = 0
    monkeypatch.setattr(muzip.codec, "compress_blocks", flaky)
    r = invoke(runner, "compress", "-j", "1", a, b)
    assert r.exit_code == EXIT_FAIL
    assert_one_line_error(r, "a.wav", "internal error")
    assert (tmp_path / "b.mz").is_file() and not (tmp_path / "a.mz").exists()


def test_stdout_to_a_terminal_is_refused(tmp_path):
    sf.write(tmp_path / "a.wav", sine(440, 1, 44100), 44100)
    from terminal import run_in_pty
    code, screen = run_in_pty(["compress", "-c", "a.wav"], tmp_path)
    assert code == 2 and "terminal" in screen and "Traceback" not in screen  # a usage error: nothing was done
    proc = subprocess.run([sys.executable, "-m", "muzip", "compress", "-c", "a.wav"], cwd=tmp_path,
                          capture_output=True)
    assert proc.returncode == 0 and proc.stdout[:4] == b"\x89MZ\n"


def test_a_short_wav_warns_with_both_lengths_and_the_batch_goes_on(runner, fast_model, tmp_path, wavs):
    a, b = wavs("short.wav", "fine.wav", seconds=4)
    data = a.read_bytes()
    a.write_bytes(data[: len(data) // 3])  # the header still promises 4 s
    r = invoke(runner, "compress", "-j", "1", a, b)
    assert r.exit_code == EXIT_WARN, r.stderr
    warnings = [ln for ln in err_lines(r) if ln.startswith("muzip: warning:")]
    assert len(warnings) == 1 and "short.wav" in warnings[0] and "4.000 s" in warnings[0], r.stderr
    assert (tmp_path / "short.mz").is_file() and (tmp_path / "fine.mz").is_file()


def test_a_corrupt_flac_fails_alone(runner, fast_model, tmp_path, wavs):
    good, = wavs("good.wav", seconds=3)
    sf.write(tmp_path / "bad.flac", sine(440, 30, 44100, 2), 44100, format="FLAC")
    data = bytearray((tmp_path / "bad.flac").read_bytes())
    data[8:42] = bytes(34)  # its STREAMINFO (damage in its frames is read past since session 57)
    (tmp_path / "bad.flac").write_bytes(bytes(data))
    r = invoke(runner, "compress", tmp_path / "bad.flac", good)
    assert r.exit_code == EXIT_FAIL, r.stderr
    assert_one_line_error(r, "bad.flac")
    assert (tmp_path / "good.mz").is_file() and not (tmp_path / "bad.mz").exists()


@pytest.mark.parametrize("ext", ["ogg", "opus", "mp3"])
def test_decoding_to_lossy_formats_by_extension(runner, fast_model, tmp_path, wavs, ext):
    from muzip.audio import can_write
    a, = wavs("a.wav", seconds=2)
    assert invoke(runner, "compress", "-q", a).exit_code == 0
    r = invoke(runner, "decompress", tmp_path / "a.mz", "-o", tmp_path / f"a.{ext}")
    if not can_write(ext):
        assert r.exit_code == EXIT_USAGE and "cannot write" in r.stderr
        return
    assert r.exit_code == 0, r.stderr
    info = sf.info(str(tmp_path / f"a.{ext}"))
    assert info.channels == 2 and info.duration > 1.5


def test_cover_comment_and_disc_survive_a_round_trip(runner, fast_model, tmp_path):
    from mutagen.flac import FLAC, Picture
    src = tmp_path / "tagged.flac"
    sf.write(src, sine(440, 2, 44100, 2), 44100, format="FLAC")
    f = FLAC(src)
    f["title"], f["comment"], f["discnumber"] = "Knolls", "a comment", "2/3"
    pic = Picture()
    pic.type, pic.mime, pic.data = 3, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    f.add_picture(pic)
    f.save()
    assert invoke(runner, "compress", "-q", src).exit_code == 0
    r = invoke(runner, "info", tmp_path / "tagged.mz")
    assert "image/png" in r.output and "a comment" in r.output and "2/3" in r.output
    r = invoke(runner, "decompress", "-q", tmp_path / "tagged.mz", "-o", tmp_path / "back.flac")
    assert r.exit_code == 0, r.stderr
    back = FLAC(tmp_path / "back.flac")
    assert back["title"] == ["Knolls"] and back["comment"] == ["a comment"] and back["discnumber"] == ["2/3"]
    assert back.pictures and back.pictures[0].data == pic.data and back.pictures[0].mime == "image/png"


def test_a_truncated_mz_decoded_into_a_fifo_is_padded_not_a_crash(runner, fast_model, tmp_path, wavs):
    a, = wavs("a.wav", seconds=4)
    assert invoke(runner, "compress", "-q", a).exit_code == 0
    data = (tmp_path / "a.mz").read_bytes()
    (tmp_path / "cut.mz").write_bytes(data[: len(data) * 2 // 3])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    r = invoke(runner, "decompress", tmp_path / "cut.mz", "-o", fifo)
    reader.join(30)
    assert r.exit_code == EXIT_WARN and "truncated" in r.stderr, r.stderr
    info = sf.info(io.BytesIO(got[0]))
    assert info.frames == 4 * 44100 and info.channels == 2  # the length its header promised


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_jobs_caps_the_inference_threads_of_a_serial_run(runner, fast_model, tmp_path, wavs, monkeypatch, jobs):
    """-j N uses at most N cores: one input runs in this process on min(N, cores) threads; the setting is
    put back after, and a user's MUZIP_THREADS wins."""
    import muzip.codec
    from muzip.cli.common import default_jobs
    (a,) = wavs("a.wav")
    seen, real = [], muzip.codec.compress_blocks

    def spy(*args, **kw):
        seen.append(os.environ.get("MUZIP_THREADS"))
        return real(*args, **kw)
    monkeypatch.setattr(muzip.codec, "compress_blocks", spy)
    monkeypatch.delenv("MUZIP_THREADS", raising=False)
    assert invoke(runner, "compress", "-f", "-j", jobs, a).exit_code == EXIT_OK
    monkeypatch.setenv("MUZIP_THREADS", "3")
    assert invoke(runner, "compress", "-f", "-j", jobs, a).exit_code == EXIT_OK
    assert seen == [str(min(int(jobs), default_jobs())), "3"]
    assert os.environ["MUZIP_THREADS"] == "3"


def test_a_lost_interruption_lands_at_the_next_progress_update(monkeypatch):
    """The signal handler's Interrupted can be dropped where it is raised (a -j 2 worker then coded on with
    signals ignored, and was killed with its temporary file): every progress update raises it again."""
    import pytest

    from muzip import signals
    from muzip.cli import batch, common
    monkeypatch.setattr(signals, "pending_signal", None)
    bar = common.Progress(10, "x", enabled=False)
    bar.update(1)  # no signal: nothing happens
    monkeypatch.setattr(signals, "pending_signal", 15)
    with pytest.raises(signals.Interrupted) as caught:
        bar.update(1)
    assert caught.value.signum == 15
    with pytest.raises(signals.Interrupted):
        batch._QueueBar(0, 10, "x").update(1)


def test_a_bar_never_runs_past_its_total(monkeypatch, capfd):
    """The batch bar adds each file's size / 1e6; rounded, they can sum past the total, and tqdm then printed
    "TqdmWarning: clamping frac to range [0, 1]" into the terminal (a first-use review under a pty)."""
    import warnings

    from muzip.cli import common
    monkeypatch.setattr(common, "stderr_is_terminal", lambda: True)
    sizes = [0.7056580000000001, 0.705658, 0.705718]
    bar = common.Progress(sum(sizes) - 1e-12, "file 1/3", unit="MB")
    assert bar.bar is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for s in sizes:
            bar.update(s)
        assert bar.bar is not None and bar.bar.n <= bar.bar.total
    bar.close()
    assert "Warning" not in capfd.readouterr().err
