"""What `--help` and shell completion tell a user: the real default model, the shipped models from their
cards (issue 23, items 1 and 9)."""

import os
import subprocess
import sys

from muzip.codec.cards import card_measurements, model_rows
from muzip.defaults import DEFAULT_MODEL
from muzip.runtime import models_dir

from test_cli import invoke

CARD = """# Model card: x

| target kbps | actual kbps | SNR dB | mel distance | LSD dB | compress x RT | decompress x RT |
|---|---|---|---|---|---|---|
| 12 | 11.94 | 7.60 | 4.249 | 18.90 | 130.5 | 75.5 |
| 64 | 63.93 | 20.14 | 1.927 | 17.92 | 122.4 | 72.1 |

Lower is better.

| another | table |
|---|---|
| 1 | 2 |
"""


def _help(runner):
    return " ".join(invoke(runner, "compress", "--help").output.split())  # words, whatever the wrapping


def test_compress_help_names_the_real_default_model(runner):
    text = _help(runner)
    assert f"default: {DEFAULT_MODEL}" in text
    assert "newest" not in text
    assert f"{DEFAULT_MODEL} the default" in text  # its line in the models section


def test_compress_help_lists_every_shipped_codec_model_with_its_cards_numbers(runner):
    from muzip.codec import installed_models
    text = _help(runner)
    shipped = [n for n in installed_models("codec") if (models_dir() / n).is_dir()]
    assert shipped and all(name in text for name in shipped)
    assert "models/NAME/MODEL.md" in text  # where the numbers come from
    for name in shipped:  # the numbers are the card's, not written in the code
        m = card_measurements((models_dir() / name / "MODEL.md").read_text())
        low = min(m)
        assert f"{name} " in text and f"{m[low][0]:.2f} at {low:g} kbps" in text
    rows = dict(model_rows())
    speed = {n: sum(rt for _, rt in card_measurements((models_dir() / n / "MODEL.md").read_text()).values())
             for n in shipped}
    fastest = max(speed, key=speed.get)
    assert "fastest" in rows[fastest] and sum("fastest" in r for r in rows.values()) == 1
    assert sum("best quality at low bitrates" in r for r in rows.values()) == 1


def test_the_shipped_cards_say_v1_is_fastest_and_v27_best_at_low_bitrates():
    """muzip-v2.7's card measures mel 2.645 at 12 kbps, below v2.4's 2.675 (the best from v2.4 to v2.6)."""
    rows = dict(model_rows())
    assert rows["muzip-v1"].startswith(("the default, fastest:" if DEFAULT_MODEL == "muzip-v1" else "fastest:"))
    label = "the default, best quality" if DEFAULT_MODEL == "muzip-v2.7" else "best quality"
    assert rows["muzip-v2.7"].startswith(f"{label} at low bitrates:")
    assert not rows["muzip-v2.4"].startswith("best") and not rows["muzip-v2.6"].startswith("best")


def test_card_table_parsing():
    assert card_measurements(CARD) == {12.0: (4.249, 130.5), 64.0: (1.927, 122.4)}
    assert card_measurements("# no table here\n") == {}
    assert card_measurements("| a | b |\n|---|---|\n| 1 | 2 |\n") == {}


def test_help_survives_a_model_without_a_card(runner, tmp_path, monkeypatch):
    import shutil
    root = tmp_path / "models"
    shutil.copytree(models_dir() / DEFAULT_MODEL, root / DEFAULT_MODEL)
    (root / DEFAULT_MODEL / "MODEL.md").unlink()
    monkeypatch.setenv("MUZIP_MODELS", str(root))
    text = _help(runner)
    assert f"{DEFAULT_MODEL} the default: not measured" in text


def _complete(words, cword):
    env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=str(cword), _MUZIP_COMPLETE="bash_complete")
    return subprocess.run([sys.executable, "-m", "muzip"], env=env, capture_output=True, text=True, timeout=60)


def test_bash_completion_script_and_completions():
    src = subprocess.run([sys.executable, "-m", "muzip"], env=dict(os.environ, _MUZIP_COMPLETE="bash_source"),
                         capture_output=True, text=True, timeout=60)
    assert src.returncode == 0 and src.stderr == ""
    assert "_muzip_completion()" in src.stdout and "complete -o nosort -F _muzip_completion muzip" in src.stdout
    for shell in ("zsh", "fish"):
        other = subprocess.run([sys.executable, "-m", "muzip"], env=dict(os.environ, _MUZIP_COMPLETE=f"{shell}_source"),
                               capture_output=True, text=True, timeout=60)
        assert other.returncode == 0 and "_muzip_completion" in other.stdout.replace("-", "_"), shell
    commands = _complete("muzip com", 1)
    assert commands.returncode == 0 and "plain,compress" in commands.stdout.split()
    options = _complete("muzip compress --mod", 2)
    assert "plain,--model" in options.stdout.split()
    models = _complete("muzip compress --model muzip-", 3).stdout.split()
    assert f"plain,{DEFAULT_MODEL}" in models and "plain,restore-v1" not in models
    assert "plain,restore-v1" in _complete("muzip restore --model ", 3).stdout.split()
    assert _complete("muzip compress so", 2).stdout.split() == ["file,so"]  # the shell lists the files
    assert _complete("muzip compress --output-dir ", 3).stdout.split() == ["dir,"]


def test_the_groups_help_imports_no_codec():
    """`muzip --help` took 0.5 s, 0.3 s of it importing muzip.codec for compress's model table (a review,
    session 62); it is read when compress's own help is shown."""
    import subprocess
    import sys
    script = ("import sys\nfrom muzip.cli import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
              "print('muzip.codec' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60).stdout
    assert out.strip().splitlines()[-1] == "False False"
