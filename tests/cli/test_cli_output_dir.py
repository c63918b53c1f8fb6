"""--output-dir DIR is made as `mkdir -p` makes it, only when there is something to write; a path that
exists and is not a folder is a one-line usage error (issue 23, item 3)."""

import os
import stat

import pytest
import soundfile as sf

from muzip.cli.common import EXIT_USAGE

from conftest import sine
from test_cli import assert_one_line_error, invoke, listing


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "song.wav"
    sf.write(path, sine(440, 1, 44100, 2), 44100)
    return path


def test_a_missing_output_dir_is_made_with_its_parents(runner, fast_model, tmp_path, wav):
    out = tmp_path / "a" / "b" / "c"
    r = invoke(runner, "compress", "-q", "--output-dir", out, wav)
    assert r.exit_code == 0, r.stderr
    assert listing(out) == ["song.mz"]
    umask = os.umask(0)
    os.umask(umask)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", out):  # the mode mkdir -p gives
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o777 & ~umask
    back = tmp_path / "x" / "y"
    r = invoke(runner, "decompress", "-q", "--output-dir", back, out / "song.mz")
    assert r.exit_code == 0, r.stderr
    assert listing(back) == ["song.wav"]


def test_output_dir_with_recursive_mirrors_the_tree_into_a_new_folder(runner, fast_model, tmp_path):
    for name in ("music/a.wav", "music/sub/b.wav"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / name, sine(440, 1, 44100), 44100)
    r = invoke(runner, "compress", "-q", "-r", "--output-dir", tmp_path / "new" / "mz", tmp_path / "music")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "new" / "mz" / "a.mz").is_file() and (tmp_path / "new" / "mz" / "sub" / "b.mz").is_file()


def test_no_folder_is_made_when_there_is_nothing_to_write(runner, fast_model, tmp_path, wav):
    out = tmp_path / "out"
    r = invoke(runner, "compress", "-q", "-r", "--output-dir", out, tmp_path / "missing.wav")
    assert r.exit_code == 1 and not out.exists()  # no input that exists: nothing made
    (tmp_path / "empty").mkdir()
    r = invoke(runner, "compress", "-q", "-r", "--output-dir", out, tmp_path / "empty")
    assert r.exit_code == EXIT_USAGE and not out.exists()  # a folder without audio: no inputs
    r = invoke(runner, "compress", "-q", "--output-dir", out, wav)
    assert r.exit_code == 0
    os.utime(out / "song.mz")
    r = invoke(runner, "compress", "-q", "--skip-existing", "--output-dir", out, wav)  # all skipped: still fine
    assert r.exit_code == 0


def test_an_output_dir_that_is_a_file_is_one_line(runner, fast_model, tmp_path, wav):
    (tmp_path / "afile").write_text("not a folder")
    before = listing(tmp_path)
    for command, src in (("compress", wav), ("decompress", tmp_path / "x.mz"), ("restore", wav)):
        r = invoke(runner, command, "--output-dir", tmp_path / "afile", src)
        assert r.exit_code == EXIT_USAGE, (command, r.stderr)
        assert_one_line_error(r, "afile", "not a folder")
        assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1, r.stderr  # no usage block
        assert (tmp_path / "afile").read_text() == "not a folder"
    assert listing(tmp_path) == before


def test_an_output_dir_below_a_file_is_one_line(runner, fast_model, tmp_path, wav):
    (tmp_path / "afile").write_text("x")
    r = invoke(runner, "compress", "--output-dir", tmp_path / "afile" / "sub", wav)
    assert r.exit_code == EXIT_USAGE
    assert_one_line_error(r, "afile", "cannot make the folder")
    assert not (tmp_path / "song.mz").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_output_dir_that_cannot_be_made_is_one_line(runner, fast_model, tmp_path, wav):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    r = invoke(runner, "compress", "--output-dir", locked / "out", wav)
    assert r.exit_code == EXIT_USAGE
    assert_one_line_error(r, "locked", "cannot make the folder")


def test_o_names_an_existing_folder_or_standard_output_as_cp_and_cat_take_them(runner, fast_model, tmp_path, wav):
    """Session 56's review: `-o DIR` of one input failed "is a directory" (it worked for several inputs), and
    `-o -` wrote a file named "-"; the same file named twice was told to rename one."""
    (tmp_path / "out").mkdir()
    r = invoke(runner, "compress", "-q", wav, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.stderr
    assert listing(tmp_path / "out") == ["song.mz"]
    r = invoke(runner, "decompress", "-q", tmp_path / "out" / "song.mz", "-o", "-")
    assert r.exit_code == 0 and r.stdout_bytes[:4] == b"RIFF" and not os.path.exists("-"), r.stderr
    r = invoke(runner, "compress", "-q", wav, wav, "--output-dir", tmp_path / "twice")
    assert r.exit_code == EXIT_USAGE and f"{wav} is named twice" in r.stderr


def test_an_mz_given_to_compress_and_a_dangling_link_as_output_are_said_as_such(runner, fast_model, tmp_path, wav):
    """Session 56's review: `compress old.mz` said "is the input file; refusing to overwrite it", and an output
    that is a link into a missing folder was named twice ("in.wav: out.mz: cannot write (No such file...)")."""
    r = invoke(runner, "compress", "-q", wav, "-o", tmp_path / "old.mz")
    assert r.exit_code == 0, r.stderr
    r = invoke(runner, "compress", "-q", tmp_path / "old.mz")
    assert r.exit_code == 1 and r.stderr == f"muzip: {tmp_path / 'old.mz'}: a muzip .mz file, not audio " \
        "(`muzip decompress` decodes it)\n"
    os.symlink(tmp_path / "gone" / "x.mz", tmp_path / "link.mz")
    r = invoke(runner, "compress", "-q", wav, "-o", tmp_path / "link.mz")
    assert r.exit_code == 1 and r.stderr == f"muzip: {tmp_path / 'link.mz'}: cannot write (a link to " \
        f"{tmp_path / 'gone' / 'x.mz'}, whose folder does not exist)\n"


def test_flac_and_ogg_to_standard_output(runner, fast_model, tmp_path, wav):
    """Session 56's review: `decompress -c --format flac` was a usage error while `-o /dev/stdout` worked: a pipe
    now gets the whole file once written (FLAC and Ogg seek back to finish their headers)."""
    import subprocess
    import sys

    from terminal import ENV
    r = invoke(runner, "compress", "-q", wav, "-o", tmp_path / "a.mz")
    assert r.exit_code == 0, r.stderr
    for fmt in ("flac", "ogg"):
        p = subprocess.run(f'"{sys.executable}" -m muzip decompress -q -c --format {fmt} a.mz | cat > out.{fmt}',
                           shell=True, cwd=tmp_path, env=ENV, capture_output=True, text=True)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        info = sf.info(tmp_path / f"out.{fmt}")
        assert info.format == fmt.upper() and abs(info.duration - 1.0) < 0.01
    # into a file after other output: libsndfile's seeks are absolute, so it is spooled (it wrote over "JUNK")
    p = subprocess.run(f'(printf JUNK; "{sys.executable}" -m muzip decompress -q -c --format flac a.mz) > f.bin',
                       shell=True, cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert p.returncode == 0 and (tmp_path / "f.bin").read_bytes()[:8] == b"JUNKfLaC", p.stderr


def test_stdin_into_a_folder_and_a_pipe_without_an_output_name(runner, fast_model, tmp_path, wav):
    """Session 56's second review: `compress - -o DIR` wrote to standard output (the folder stayed empty), and a
    pipe named as an input with no -o was to be written beside it ("/dev/fd/63.mz: cannot write")."""
    (tmp_path / "out").mkdir()
    r = invoke(runner, "compress", "-q", "-", "-o", tmp_path / "out", input=wav.read_bytes())
    assert r.exit_code == 0 and r.stdout_bytes == b"", r.stderr
    assert listing(tmp_path / "out") == ["stdin.mz"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = invoke(runner, "compress", "-q", fifo)
    assert r.exit_code == EXIT_USAGE and "is a pipe or device: name the output" in r.stderr, r.stderr


def test_c_with_o_dash_agree(runner, fast_model, tmp_path, wav):
    r = invoke(runner, "compress", "-q", "-c", "-o", "-", wav)
    assert r.exit_code == 0 and r.stdout_bytes[:4] == b"\x89MZ\n", r.stderr
    r = invoke(runner, "compress", "-q", "-c", "-o", tmp_path / "x.mz", wav)
    assert r.exit_code == EXIT_USAGE and "-c and -o contradict each other" in r.stderr


def test_two_folders_whose_files_meet_in_one_output_dir_say_what_to_do(runner, tmp_path, wav):
    """`-r A B --output-dir out` with A/x.wav and B/x.wav: "rename one" helped no one with two trees (a review,
    session 60); nothing is written."""
    for folder in ("A", "B"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.wav").write_bytes(wav.read_bytes())
    r = invoke(runner, "compress", "-r", tmp_path / "A", tmp_path / "B", "--output-dir", tmp_path / "out")
    assert r.exit_code == EXIT_USAGE and "give each folder its own --output-dir" in r.stderr
    assert not (tmp_path / "out").exists()
