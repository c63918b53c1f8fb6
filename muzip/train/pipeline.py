"""Driving a fine-tuning run (what `muzip train` does): check the name, read the files, train with
checkpoints and held-out measurements, install the model.

No command line here: the caller lists the files, and shows the progress bars and prints the messages
that a TrainReport receives. Errors are TrainError (TrainUsageError: a bad setting), MuzipError or
OSError; Keras and the backend are imported only once a run starts.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import time

from .. import __version__
from ..defaults import TRAIN_FROM

CHECKPOINT_S = 60.0     # a kill loses at most this much training
EVALUATE_S = 300.0      # held-out rate-distortion this often (and at the end)
MAX_SEGMENTS = 2000     # 2-s segments read in all (2.2 h, 700 MB of int16 mid/side on disk)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_RESERVED = re.compile(r"(muzip|embed|restore)-v\d", re.IGNORECASE)


class _NoBar:
    def update(self, n):
        pass

    def set_description(self, text):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class TrainReport:
    """What a run tells its caller as it goes. These defaults show nothing; the CLI's subclass prints."""

    def bar(self, total: float, desc: str, unit: str):
        """A progress bar: a context manager with update(n) and set_description(text)."""
        return _NoBar()

    def unreadable(self, path: str, error: str, held_out: bool = False) -> None:
        """A training file could not be read (it is not trained on; a held-out one: not measured)."""

    def resumed(self, folder, step: int, base: str | None = None) -> None:
        """An earlier run in `folder`, from model `base`, continues at `step`."""

    def measured(self, step: int, rd: list) -> None:
        """Held-out rate-distortion at a checkpoint: (level, bits per sample, mel distance) per level."""

    def unfinished(self, step: int, target: int) -> None:
        """The time ran out at `step`, before --steps `target`."""

    def note(self, text: str) -> None:
        """Something the user should know about the run's settings."""


def check_name(name: str, base: str | None) -> None:
    """Refuse a model name that is malformed, a shipped model's, or the same as --from (TrainUsageError)."""
    from ..runtime.identity import is_shipped_name
    from .run import TrainUsageError
    if not _NAME.match(name):
        raise TrainUsageError(f"--name {name!r}: use letters, digits, '.', '_' and '-' (at most 64), starting with a "
                              "letter or digit")
    if is_shipped_name(name):  # wherever MUZIP_USER_MODELS points: files name shipped models forever
        raise TrainUsageError(f"--name {name}: a shipped model has that name")
    if _RESERVED.match(name):  # a later muzip's model of that name would shadow this one and its files
        raise TrainUsageError(f"--name {name}: names like muzip-vN, embed-vN and restore-vN are kept for the "
                              "models muzip ships")
    if base == name:
        raise TrainUsageError("--from and --name must differ")


def _check_models_folder(name: str, restart: bool) -> None:
    """Before a new run's work: the user's models folder can take the model, and no model of this name is there
    (its run folder deleted, a new run would replace it without a word; --restart says to)."""
    from ..runtime.store import installed_models, model_folder, user_models_dir
    from .run import TrainError, TrainUsageError
    root = user_models_dir()
    if not restart and name in installed_models() and model_folder(name).parent == root:
        raise TrainUsageError(f"a model named {name} is installed in {root / name}; use another --name, or "
                              "--restart to replace it (the old one is kept, so its files still decode)")
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".{name}.writable"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:  # found now, not after the training: a file in the way, no permission, read-only
        raise TrainError(f"{root}: cannot install models there ({exc.strerror or exc})") from None


def _from_model(base: str) -> str:
    """The installed model `--from` names; one not installed is a usage error (exit 2: nothing was done)."""
    from ..errors import ModelError
    from ..runtime.store import resolve_name
    from .run import TrainUsageError
    try:
        return resolve_name(base)
    except ModelError:
        from ..codec import installed_models
        raise TrainUsageError(f"--from {base}: model '{base}' is not installed (installed codec models: "
                              f"{', '.join(installed_models('codec'))})") from None


def trains_network(base: str | None, init_config: str | None) -> bool:
    """Whether a run from `base` takes gradient steps (imports Keras), rather than counting tables."""
    if init_config:
        return True
    from ..errors import MuzipError
    from ..runtime.store import model_folder, resolve_name
    from .adapt import adaptable
    try:
        return not adaptable(json.loads((model_folder(resolve_name(base or TRAIN_FROM)) / "config.json").read_text()))
    except (MuzipError, OSError, ValueError):
        return True  # train() reports it


def settings(name, base, init_config, batch, lr, per_file):
    """(config, base folder or None, run metadata) of a new run."""
    from ..runtime.identity import identity_digest
    from ..runtime.store import model_folder
    from ..codec import model_kind
    from .adapt import adaptable
    from .run import FINE_TUNE, TrainUsageError
    if init_config:
        try:
            with open(init_config, encoding="utf-8") as f:
                cfg = json.loads(f.read())
        except (OSError, ValueError) as exc:
            raise TrainUsageError(f"{init_config}: not a JSON model configuration ({exc})") from None
        folder, meta = None, {"from": None, "from_sha256": None}
    else:
        base = _from_model(base or TRAIN_FROM)
        if model_kind(base) != "codec":
            raise TrainUsageError(f"--from {base}: not a codec model")
        folder = model_folder(base)
        cfg = json.loads((folder / "config.json").read_text())
        meta = {"from": base, "from_sha256": identity_digest(base).hex()}
        if adaptable(cfg):  # no network: its tables are counted on the music (train.adapt), the config as is
            meta["method"] = "tables"
        elif "band_gains" in cfg or cfg.get("decoder_output", "audio") != "audio":
            # The trainer's objective and table counting are for networks that output audio; muzip-v2.1-v2.3
            # output MDCT coefficients corrected by coded band gains, and were made by scripts of their own.
            raise TrainUsageError(f"--from {base}: muzip train cannot fit this kind of model (it counts the tables "
                                  f"of {TRAIN_FROM} and fine-tunes muzip-v1 and muzip-v2)")
    if meta.get("method") != "tables":
        cfg = {**cfg, **FINE_TUNE, "batch": batch or FINE_TUNE["batch"], "lr": lr or FINE_TUNE["lr"]}
    return cfg, folder, {**meta, "name": name, "config": cfg, "per_file": per_file, "steps_done": 0,
                         "train_seconds": 0.0, "history": [], "muzip_version": __version__}


def train(dirs, name, *, base, steps, minutes, jobs, restart, per_file, init_config, batch, lr, gpu,
          find_files, report: TrainReport) -> dict:
    """Run (or continue) the fine-tuning run `name` and install its model; returns the result's summary.

    Call check_name first. find_files() lists the audio files under `dirs` (called only for a new run);
    steps: train until the run has made that many in all; minutes: train that long in this call
    (default 20 when steps is None). gpu: let the backend use a GPU."""
    import shutil

    from .data import split_holdout
    from .run import TrainError, TrainUsageError, runs_dir, write_json
    if gpu:
        os.environ["MUZIP_DEVICE"] = "gpu"  # read by configure_backend; every other command stays on the CPU
    folder = runs_dir() / name
    if restart:
        shutil.rmtree(folder, ignore_errors=True)
    meta_path = folder / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else None
    if meta is not None and base is not None and meta.get("from") != base:
        _from_model(base)  # a --from that is not installed is said so, not "use --restart"
        raise TrainUsageError(f"the run in {folder} started from {meta.get('from')}, not {base} (use --restart, "
                              "or leave --from out to continue it)")
    given = sorted(os.path.abspath(d) for d in dirs)
    if meta is not None and meta.get("dirs") and sorted(meta["dirs"]) != given:
        # the same name on other music would quietly give back the first music's model
        raise TrainUsageError(f"the run in {folder} trained on {', '.join(sorted(meta['dirs']))}, not "
                              f"{', '.join(given)} (use --restart to train it anew on these, or another --name)")
    if meta is None:
        _check_models_folder(name, restart)
        files = find_files()
        train_files, held = split_holdout(files)
        if not held:
            # nothing was done, and more music on the command line is the fix: a usage error, exit 2
            raise TrainUsageError(f"{', '.join(dirs)}: {len(files)} audio file{'' if len(files) == 1 else 's'}; "
                                  "training needs at least 2 (a tenth of them, at least one, is held out)")
        per_file = max(1, min(per_file, MAX_SEGMENTS // len(train_files)))  # a big collection: fewer per file
        cfg, base_folder, meta = settings(name, base, init_config, batch, lr, per_file)
        held = _readable_held_out(held, cfg["model_rate"], report)
        meta.update(dirs=[os.path.abspath(d) for d in dirs], holdout_files=held, train_files=train_files)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # $MUZIP_TRAIN_RUNS a file, no permission: said as the models folder is
            raise TrainError(f"{folder.parent}: cannot keep training runs there ({exc.strerror or exc})") from None
        meta["prepared"] = _prepare(folder, train_files, cfg, per_file, jobs, report)
        write_json(meta_path, meta)
    elif meta.get("method") != "tables":
        folder_installed = _installed_from_run(name, meta)
        if folder_installed is not None and meta.get("after") is None:  # Ctrl-C while measuring it: measured now
            from .card import measure_installed
            return measure_installed(name, folder_installed, meta, meta_path, report)
        done = _already_installed(name, meta, steps, folder_installed)
        if done is not None:  # exporting again would install new bytes under a new id, for nothing
            report.note(f"{name}: already trained to step {meta['steps_done']} and installed from this run "
                        "(a larger --steps, or --minutes, trains on)")
            return done
        report.resumed(folder, meta["steps_done"], meta.get("from"))
    if meta.get("method") == "tables":
        if steps is not None or minutes is not None or gpu:
            report.note(f"{meta['from']} has no network to train: its tables are counted on the music "
                        "(--steps, --minutes and --gpu do not apply)")
        from .adapt import adapt_and_install
        return adapt_and_install(name, folder, meta, meta_path, report)
    os.environ["MUZIP_THREADS"] = str(jobs)
    from ..nn.backend import configure_backend, quiet_native_stderr
    configure_backend()
    with quiet_native_stderr():
        from .run import Trainer, codec_quality, held_out_audio
    from ..runtime.store import model_folder
    cfg = meta["config"]
    base_folder = model_folder(meta["from"]) if meta.get("from") else None
    trainer = Trainer(folder, cfg, base_folder, seed=meta["steps_done"])
    held = held_out_audio(meta["holdout_files"], cfg["model_rate"])
    if "before" not in meta:
        meta["before"] = None
        if meta.get("from"):
            from ..codec import load_model
            from .run import quality_runs
            with report.bar(quality_runs(meta["holdout_files"]), f"measuring {meta['from']}", "codings") as bar:
                meta["before"] = codec_quality(load_model(meta["from"]), meta["holdout_files"], cfg["model_rate"],
                                               bar=bar)
        meta["history"] = [{"step": 0, "rd": trainer.held_out_rd(held)}] if len(held) else []
        write_json(meta_path, meta)
    target = steps if steps is not None else None
    budget = (minutes if minutes is not None else (None if steps is not None else 20.0))
    done0 = meta["steps_done"]
    total = (target - done0) if target else budget * 60
    try:
        _steps(trainer, meta, meta_path, held, report, name, target, budget, total)
    except BaseException as exc:
        if not isinstance(exc, Exception) and meta["steps_done"] > done0:  # Ctrl-C, a signal: keep the steps
            _checkpoint(trainer, meta, meta_path, held, False, report)
        raise
    _checkpoint(trainer, meta, meta_path, held, True, report)
    if target and meta["steps_done"] < target:
        report.unfinished(meta["steps_done"], target)
    return _install(name, trainer, meta, meta_path, held, report)


def _steps(trainer, meta, meta_path, held, report, name, target, budget, total):
    """Train until the step target or the time budget; checkpoint every CHECKPOINT_S."""
    start = time.monotonic()
    last_ckpt = last_eval = start
    with report.bar(max(total, 1e-9), f"train {name}", "steps" if target else "s") as bar:
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
                _checkpoint(trainer, meta, meta_path, held, time.monotonic() - last_eval >= EVALUATE_S, report)
                last_ckpt = time.monotonic()
                last_eval = last_ckpt if meta["history"][-1]["step"] == meta["steps_done"] else last_eval


def _installed_from_run(name: str, meta: dict):
    """The folder of the model this run installed at its last step, exactly as it installed it; else None."""
    from ..errors import ModelError
    from ..runtime.identity import identity_digest
    from ..runtime.store import model_folder
    if meta.get("installed_step") != meta["steps_done"]:
        return None
    try:
        return model_folder(name) if identity_digest(name).hex() == meta.get("identity") else None
    except ModelError:
        return None


def _already_installed(name: str, meta: dict, steps, folder) -> dict | None:
    """The summary of a run that has made `steps` steps and whose model (`folder`: _installed_from_run) is
    installed; None when there is training or installing left to do."""
    if folder is None or steps is None or meta["steps_done"] < steps:
        return None
    return {"name": name, "folder": str(folder), "steps": meta["steps_done"], "train_seconds": meta["train_seconds"],
            "holdout_files": len(meta["holdout_files"]), "before": meta["before"], "after": meta["after"],
            "from": meta.get("from"), "earlier": True}


def _readable_held_out(held: list[str], rate: int, report) -> list[str]:
    """The held-out files the before/after measurements read, less those that cannot be read (said, as
    unreadable training files are): one broken file there ended the run at its first measurement, and every
    re-run after it."""
    from ..errors import MuzipError
    from .data import excerpt
    from .run import HOLDOUT_FILES, HOLDOUT_SECONDS, TrainError
    good = []
    for path in held:
        if len(good) == HOLDOUT_FILES:
            break
        try:
            excerpt(path, rate, HOLDOUT_SECONDS)
        except (MuzipError, OSError, ValueError) as exc:
            report.unreadable(path, str(exc), held_out=True)
            continue
        good.append(path)
    if not good:
        raise TrainError("none of the held-out files can be read (a tenth of the files, at least one, is held out)")
    return good


def _prepare(folder, files, cfg, per_file, jobs, report):
    from .run import prepare
    with report.bar(len(files), "reading", "files") as bar:
        def on_file(path, err):
            bar.update(1)
            if err:
                report.unreadable(path, err)
        return prepare(folder, files, cfg["model_rate"], per_file, jobs, on_file)


def _checkpoint(trainer, meta, meta_path, held, evaluate, report):
    from .run import write_json
    trainer.checkpoint()
    if evaluate and len(held) and (not meta["history"] or meta["history"][-1]["step"] != meta["steps_done"]):
        rd = trainer.held_out_rd(held)
        meta["history"].append({"step": meta["steps_done"], "rd": rd})
        report.measured(meta["steps_done"], rd)
    write_json(meta_path, meta)


def _install(name, trainer, meta, meta_path, held, report):
    from ..runtime.store import user_models_dir
    from .card import card_text
    from .install import install
    from .run import HOLDOUT_FILES, HOLDOUT_SECONDS, write_json
    import numpy as np
    meta.update(finished=datetime.datetime.now().isoformat(timespec="seconds"), holdout_seconds=HOLDOUT_SECONDS,
                holdout_max=HOLDOUT_FILES, threads=os.environ.get("MUZIP_THREADS"))
    counts = trainer.table_counts()
    parity_audio = held[:2] if len(held) else np.zeros((1, trainer.cfg["frame_samples"], 1), np.float32)
    folder = install(name, user_models_dir(), trainer.model.encoder, trainer.model.decoder, trainer.cfg, counts,
                     parity_audio, lambda f, info: card_text(name, f, info, meta, None), meta)
    from ..runtime.identity import identity_digest
    # recorded before the measurement, which a Ctrl-C can stop: a re-run then measures, not installs again
    meta.update(identity=identity_digest(name).hex(), installed_step=meta["steps_done"], after=None)
    write_json(meta_path, meta)
    from .card import measure_installed
    return measure_installed(name, folder, meta, meta_path, report)
