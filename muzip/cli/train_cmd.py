"""`muzip train`: fine-tune the codec on the user's own music and install the result as a model."""

from __future__ import annotations

import datetime
import json
import os
import re
import sys

import click

from .. import __version__
from ..errors import MuzipError
from .common import EXIT_CODES_HELP, EXIT_USAGE, Interrupted, Progress, Reporter, default_jobs, exit_for_signal
from .plan import AUDIO_EXTS, files_under

CHECKPOINT_S = 60.0     # a kill loses at most this much training
EVALUATE_S = 300.0      # held-out rate-distortion this often (and at the end)
MAX_SEGMENTS = 2000     # 2-s segments read in all (2.2 h, 700 MB of int16 mid/side on disk)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


def _fail_usage(text: str):
    click.echo(f"muzip: {text}", err=True)
    sys.exit(EXIT_USAGE)


TRAIN_FROM = "muzip-v1"  # --from's default: the fastest codec that muzip train can fine-tune


def _settings(name, base, init_config, batch, lr, per_file):
    """(config, base folder or None, run metadata) of a new run."""
    from ..runtime.store import identity_digest, model_folder, model_kind, resolve_name
    from ..train.run import FINE_TUNE
    if init_config:
        try:
            cfg = json.loads(open(init_config, encoding="utf-8").read())
        except (OSError, ValueError) as exc:
            _fail_usage(f"{init_config}: not a JSON model configuration ({exc})")
        folder, meta = None, {"from": None, "from_sha256": None}
    else:
        base = resolve_name(base or TRAIN_FROM)
        if model_kind(base) != "codec":
            _fail_usage(f"--from {base}: not a codec model")
        folder = model_folder(base)
        cfg = json.loads((folder / "config.json").read_text())
        if "band_gains" in cfg or cfg.get("decoder_output", "audio") != "audio":
            # The trainer's objective and table counting are for networks that output audio; muzip-v2.1's
            # decoder outputs MDCT coefficients corrected by coded band gains, trained by scripts of its own.
            _fail_usage(f"--from {base}: a model with band gains cannot be fine-tuned by muzip train yet "
                        f"(start from {TRAIN_FROM} or muzip-v2)")
        meta = {"from": base, "from_sha256": identity_digest(base).hex()}
    cfg = {**cfg, **FINE_TUNE, "batch": batch or FINE_TUNE["batch"], "lr": lr or FINE_TUNE["lr"]}
    return cfg, folder, {**meta, "name": name, "config": cfg, "per_file": per_file, "steps_done": 0,
                         "train_seconds": 0.0, "history": [], "muzip_version": __version__}


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("dirs", nargs=-1, required=True, type=click.Path())
@click.option("--name", required=True, help="Name of the model to install (letters, digits, . _ -).")
@click.option("--from", "base", default=None, help=f"Codec model to start from (default: {TRAIN_FROM}; muzip-v2 works too).")
@click.option("--steps", type=click.IntRange(min=1), help="Train until the run has made N steps in all.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True),
              help="Train M more minutes in this call (default 20 when --steps is not given).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="CPU threads and reading processes (default: all cores).")
@click.option("--restart", is_flag=True, help="Forget an earlier run of this name and start over.")
@click.option("--gpu", is_flag=True, help="Train on a GPU if the backend has one (default: the CPU).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no progress lines; errors only.")
@click.option("--batch", type=click.IntRange(min=1), default=None, hidden=True)
@click.option("--lr", type=float, default=None, hidden=True)
@click.option("--per-file", type=click.IntRange(min=1), default=40, hidden=True)
@click.option("--init-config", type=click.Path(dir_okay=False), default=None, hidden=True,
              help="Development: start from random weights of this configuration instead of --from.")
def train(dirs, name, base, steps, minutes, jobs, restart, gpu, as_json, quiet, batch, lr, per_file, init_config):
    """Fine-tune muzip on your own music (on the CPU) and install it as model NAME.

    A tenth of the files (at least one) is held out: never trained on, and measured before and after
    through the real codec. Progress is saved every minute; run the same command again (after Ctrl-C,
    or with a larger --steps) to continue. The model is installed in the user's models folder (see
    `muzip models`); `muzip compress --model NAME` uses it, and its .mz files decode wherever it is
    installed. Needs TensorFlow and Keras (pip install 'muzip[train]').

    \b
    Examples:
      muzip train ~/Music/jazz --name jazz --minutes 30
      muzip compress --model jazz -b 24 take1.wav
    """
    from ..runtime.store import models_dir, user_models_dir
    from ..train.run import TrainError, runs_dir
    rep = Reporter(quiet)
    if not _NAME.match(name):
        _fail_usage(f"--name {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    shipped = models_dir() / name
    if (shipped / "SHA256SUMS").is_file() and shipped.parent != user_models_dir():
        _fail_usage(f"--name {name}: a shipped model has that name")
    if base == name:
        _fail_usage("--from and --name must differ")
    jobs = jobs or default_jobs()
    if gpu:
        os.environ["MUZIP_DEVICE"] = "gpu"  # read by configure_backend; every other command stays on the CPU
    folder = runs_dir() / name
    try:
        result = _run(dirs, name, base, steps, minutes, jobs, restart, per_file, init_config, batch, lr, folder, rep)
    except Interrupted as exc:
        rep.fail(f"train {name}: interrupted; run the same command again to continue from the last checkpoint")
        sys.exit(exit_for_signal(exc.signum))
    except (TrainError, MuzipError, OSError) as exc:  # OSError: a full disk, an unwritable run folder
        rep.fail(f"train {name}: {exc}")
        sys.exit(1)
    if result is None:
        sys.exit(rep.status)
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
    elif not quiet:
        a, b = result["after"], result.get("before") or {}
        line = ", ".join(f"{k} kbps: mel {b.get(k, {}).get('mel') or float('nan'):.3f} -> {v['mel']:.3f}"
                         for k, v in a.items())
        click.echo(f"{name}: {result['steps']} steps, installed in {result['folder']}; held out ({result['holdout_files']} "
                   f"files, before -> after): {line}", err=True)
    sys.exit(rep.status)


def _run(dirs, name, base, steps, minutes, jobs, restart, per_file, init_config, batch, lr, folder, rep):
    import shutil
    import time

    from ..train.data import split_holdout
    from ..train.run import TrainError, write_json
    if restart:
        shutil.rmtree(folder, ignore_errors=True)
    meta_path = folder / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else None
    if meta is not None and base is not None and meta.get("from") != base:
        raise TrainError(f"the run in {folder} started from {meta.get('from')}, not {base} (use --restart)")
    if meta is None:
        files = files_under(dirs, rep, AUDIO_EXTS)
        train_files, held = split_holdout(files)
        if not held:
            raise TrainError("needs at least 2 audio files (a tenth of them, at least one, is held out)")
        per_file = max(1, min(per_file, MAX_SEGMENTS // len(train_files)))  # a big collection: fewer per file
        cfg, base_folder, meta = _settings(name, base, init_config, batch, lr, per_file)
        meta.update(dirs=[os.path.abspath(d) for d in dirs], holdout_files=held, train_files=train_files)
        folder.mkdir(parents=True, exist_ok=True)
        meta["prepared"] = _prepare(folder, train_files, cfg, per_file, jobs, rep)
        write_json(meta_path, meta)
    else:
        rep.say(f"continuing the run in {folder} at step {meta['steps_done']}")
    os.environ["MUZIP_THREADS"] = str(jobs)
    from ..runtime.keras_model import configure_backend, quiet_native_stderr
    configure_backend()
    with quiet_native_stderr():
        from ..train.run import Trainer, codec_quality, held_out_audio
    from ..runtime.store import model_folder
    cfg = meta["config"]
    base_folder = model_folder(meta["from"]) if meta.get("from") else None
    trainer = Trainer(folder, cfg, base_folder, seed=meta["steps_done"])
    held = held_out_audio(meta["holdout_files"], cfg["model_rate"])
    if "before" not in meta:
        meta["before"] = None
        if meta.get("from"):
            from ..runtime import load_model
            meta["before"] = codec_quality(load_model(meta["from"]), meta["holdout_files"], cfg["model_rate"])
        meta["history"] = [{"step": 0, "rd": trainer.held_out_rd(held)}] if len(held) else []
        write_json(meta_path, meta)
    target = steps if steps is not None else None
    budget = (minutes if minutes is not None else (None if steps is not None else 20.0))
    start = time.monotonic()
    last_ckpt = last_eval = start
    done0 = meta["steps_done"]
    total = (target - done0) if target else budget * 60
    with Progress(max(total, 1e-9), f"train {name}", unit="steps" if target else "s", enabled=not rep.quiet) as bar:
        loss = float("nan")
        while True:
            now = time.monotonic()
            if (target and meta["steps_done"] >= target) or (budget and now - start >= budget * 60):
                break
            t = time.monotonic()
            loss = trainer.step()
            meta["steps_done"] += 1
            meta["train_seconds"] += time.monotonic() - t
            bar.update(1 if target else time.monotonic() - now)
            rd = meta["history"][-1]["rd"] if meta["history"] else []
            held_mel = f" held-out mel L{rd[0][0]} {rd[0][2]:.3f}" if rd else ""
            bar.set_description(f"train {name} step {meta['steps_done']} loss {loss:.3f}{held_mel}")
            if time.monotonic() - last_ckpt >= CHECKPOINT_S:
                _checkpoint(trainer, meta, meta_path, held, time.monotonic() - last_eval >= EVALUATE_S, rep)
                last_ckpt = time.monotonic()
                last_eval = last_ckpt if meta["history"][-1]["step"] == meta["steps_done"] else last_eval
    _checkpoint(trainer, meta, meta_path, held, True, rep)
    if target and meta["steps_done"] < target:
        rep.say(f"{name}: step {meta['steps_done']} of {target}; run again to continue")
    return _install(name, trainer, meta, meta_path, held, codec_quality)


def _prepare(folder, files, cfg, per_file, jobs, rep):
    from ..train.run import prepare
    with Progress(len(files), "reading", unit="files", enabled=not rep.quiet) as bar:
        def on_file(path, err):
            bar.update(1)
            if err:
                rep.warn(f"{path}: {err} (not trained on)")
        return prepare(folder, files, cfg["model_rate"], per_file, jobs, on_file)


def _checkpoint(trainer, meta, meta_path, held, evaluate, rep):
    from ..train.run import write_json
    trainer.checkpoint()
    if evaluate and len(held) and (not meta["history"] or meta["history"][-1]["step"] != meta["steps_done"]):
        rd = trainer.held_out_rd(held)
        meta["history"].append({"step": meta["steps_done"], "rd": rd})
        rep.say(f"step {meta['steps_done']}: held-out " + ", ".join(f"L{lv} {b:.3f} b/smp mel {m:.3f}" for lv, b, m in rd))
    write_json(meta_path, meta)


def _install(name, trainer, meta, meta_path, held, codec_quality):
    from ..runtime import load_model
    from ..runtime.store import user_models_dir
    from ..train.card import card_text
    from ..train.install import install
    from ..train.run import HOLDOUT_FILES, HOLDOUT_SECONDS, write_json
    import numpy as np
    meta.update(finished=datetime.datetime.now().isoformat(timespec="seconds"), holdout_seconds=HOLDOUT_SECONDS,
                holdout_max=HOLDOUT_FILES, threads=os.environ.get("MUZIP_THREADS"))
    counts = trainer.table_counts()
    parity_audio = held[:2] if len(held) else np.zeros((1, trainer.cfg["frame_samples"], 1), np.float32)
    folder = install(name, user_models_dir(), trainer.model.encoder, trainer.model.decoder, trainer.cfg, counts,
                     parity_audio, lambda f, info: card_text(name, f, info, meta, None), meta)
    after = codec_quality(load_model(name), meta["holdout_files"], trainer.cfg["model_rate"])
    meta["after"] = after
    write_json(meta_path, meta)
    runtime = json.loads((folder / "runtime.json").read_text())
    (folder / "MODEL.md").write_text(card_text(name, folder, runtime, meta, after))
    return {"name": name, "folder": str(folder), "steps": meta["steps_done"], "train_seconds": meta["train_seconds"],
            "holdout_files": len(meta["holdout_files"]), "before": meta["before"], "after": after,
            "from": meta.get("from")}
