"""`muzip models`: list the installed models and verify their files; `muzip models remove`: drop models that
`muzip train` installed, with the older versions it kept of them."""

from __future__ import annotations

import json
import sys

import click

from .common import EXIT_USAGE, plural, stdin_is_terminal

MODELS_EXIT_HELP = """\b
Exit status:
  0        every model's files verify
  1        a model's files are damaged or unreadable (the others are still listed), or none is installed
  2        usage error
  130/129/143  interrupted by Ctrl-C/SIGHUP/SIGTERM
  141      the reader of standard output went away"""  # no per-input failures or warnings here

REMOVE_EXIT_HELP = """\b
Exit status:
  0        every model named was removed (or, asked, you said no)
  1        a model could not be removed: shipped, not installed, or a file could not be deleted (the rest are)
  2        usage error (no terminal to ask on and no --yes)
  130/129/143  interrupted by Ctrl-C/SIGHUP/SIGTERM"""


@click.group(invoke_without_command=True, epilog=MODELS_EXIT_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model, one per line.")
@click.pass_context
def models(ctx, as_json):
    """List the installed models, where they are, verify their files, and show which one is the default.

    Shipped models come first ($MUZIP_MODELS overrides their folder), then the models `muzip train`
    installed for this user ($MUZIP_USER_MODELS, else $XDG_DATA_HOME/muzip/models, by default
    ~/.local/share/muzip/models), each with the older versions `muzip train` kept when it replaced it.

    \b
    Examples:
      muzip models
      MUZIP_MODELS=/opt/muzip-models muzip models --json
      muzip models remove jazz
    """
    if ctx.invoked_subcommand is None:
        _list(as_json)


def _folder_bytes(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _list(as_json: bool) -> None:
    from ..codec import installed_models, model_info
    from ..errors import ModelError
    from ..runtime import model_roots
    from ..runtime.store import base_name, model_folder, replaced_versions, unlisted_folders
    shipped = model_roots()[0]
    names = sorted(installed_models(), key=lambda n: (model_folder(n).parent != shipped, n))  # as the help says
    if not names:
        click.echo(f"muzip: no models installed in {' or '.join(map(str, model_roots()))}", err=True)
        sys.exit(1)
    status = 0
    for name in names:
        try:
            m = model_info(name)
        except (ModelError, OSError, ValueError, KeyError) as exc:
            click.echo(f"muzip: {name}: {exc}", err=True)
            status = 1
            continue
        status = status or (m["status"] != "ok")
        kept = replaced_versions(name)
        if as_json:
            click.echo(json.dumps({**m, "replaced": kept}, sort_keys=True))
            continue
        click.echo(_line(m))
        if kept:  # hidden in .replaced/: said, so their megabytes and the files they decode are not a surprise
            size = sum(_folder_bytes(model_folder(k)) for k in kept)
            click.echo(f"  and {plural(len(kept), 'older version')} it replaced, kept so the files made with "
                       f"{'it' if len(kept) == 1 else 'them'} decode: {size / 1e6:.1f} MB, in "
                       f"{model_folder(kept[0]).parent}")
    orphans = sorted({base_name(k) for k in replaced_versions()} - set(names))
    for name in orphans:  # a model deleted by hand: its kept versions still decode its files, and take room
        kept = replaced_versions(name)
        size = sum(_folder_bytes(model_folder(k)) for k in kept)
        if as_json:
            click.echo(json.dumps({"name": name, "kind": "kept versions", "replaced": kept,
                                   "size_bytes": size}, sort_keys=True))
        else:
            click.echo(f"{name}: not installed; {plural(len(kept), 'older version')} of it kept, so the files made "
                       f"with {'it' if len(kept) == 1 else 'them'} decode: {size / 1e6:.1f} MB, in "
                       f"{model_folder(kept[0]).parent} (`muzip models remove {name}` removes them)")
    for folder in unlisted_folders():  # a folder without SHA256SUMS is no model: said, not passed over
        click.echo(f"muzip: {folder}: no SHA256SUMS, so not a model muzip loads (damaged, or not a model)", err=True)
        status = 1
    sys.exit(1 if status else 0)


def _line(m: dict) -> str:
    if m["kind"] == "unknown":  # its config.json cannot be read
        return f"{m['name']}: FILES DAMAGED ({m['status']}), in {m['folder']}"
    default = " (default)" if m["default"] else ""
    frame_s = m.get("frame_samples", 0) / (m["model_rate"] or 1)
    what = {"restorer": f"restorer (muzip restore), {m['model_rate']} Hz",
            "embedder": "embedder (muzip index, similar, cluster, classify, map)"}.get(
        m["kind"], f"{m['kind']}, {m['model_rate']} Hz, {frame_s:g} s frames")
    runtime = "+".join(m["runtime"]) or ("keras only" if m["kind"] == "codec" else "numpy")
    files = "files ok" if m["status"] == "ok" else f"FILES DAMAGED ({m['status']})"
    return (f"{m['name']}{default}: {what}, runtime {runtime}, {m['size_bytes'] / 1e6:.1f} MB, "
            f"sha256 {(m['sha256'] or 'unknown')[:16]}..., {files}, in {m['folder']}")


def _complete_removable(ctx, param, incomplete):
    """Shell completion: the models in the user's folder, and those only kept as older versions."""
    try:
        from ..runtime.store import base_name, installed_models, model_folder, replaced_versions, user_models_dir
        user = user_models_dir().resolve()
        names = {n for n in installed_models() if model_folder(n).parent.resolve() == user}
        return sorted(n for n in names | {base_name(k) for k in replaced_versions()} if n.startswith(incomplete))
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []


@models.command("remove", epilog=REMOVE_EXIT_HELP)
@click.argument("names", nargs=-1, required=True, shell_complete=_complete_removable)
@click.option("-y", "--yes", is_flag=True, help="Remove without asking (needed where standard input is no terminal).")
def remove(names, yes):
    """Remove models that `muzip train` installed, with the older versions of them it kept.

    The .mz files made with a removed model no longer decode on this machine, so each removal is asked
    first. Shipped models cannot be removed. A model's training run stays; where it is, is said.

    \b
    Examples:
      muzip models remove jazz
      muzip models remove --yes old-take-1 old-take-2
    """
    found = {name: _removable(name) for name in dict.fromkeys(names)}  # a wrong name said before any question
    status = int(any(folders is None for folders in found.values()))
    found = {name: folders for name, folders in found.items() if folders is not None}
    if found and not yes and not stdin_is_terminal():
        click.echo("muzip: models remove: no terminal to ask on (standard input); add --yes to remove without "
                   "asking", err=True)
        sys.exit(EXIT_USAGE)
    _sweep()
    for name, folders in found.items():
        try:
            _remove_one(name, folders, yes)
        except OSError as exc:
            click.echo(f"muzip: {name}: cannot remove it ({exc.strerror or exc})", err=True)
            status = 1
    sys.exit(status)


def _sweep() -> None:
    """What an interrupted removal left (.removing-* in the user's models folder): deleted now."""
    import shutil

    from ..runtime.store import REPLACED, user_models_dir
    for root in (user_models_dir(), user_models_dir() / REPLACED):
        for trash in root.glob(".removing-*") if root.is_dir() else ():
            if trash.is_dir() and not trash.is_symlink():
                shutil.rmtree(trash, ignore_errors=True)


def _removable(name: str):
    """The folders of the user's model `name` and its older versions, or None (said) where there is none to
    remove: a shipped model, no such model."""
    from ..runtime.identity import is_shipped_name
    from ..runtime.store import installed_models, model_folder, replaced_versions, user_models_dir
    user = user_models_dir().resolve()
    if is_shipped_name(name) or (name in installed_models() and model_folder(name).parent.resolve() != user):
        click.echo(f"muzip: {name}: ships with muzip, so it cannot be removed (files name it)", err=True)
        return None
    folders = ([model_folder(name)] if name in installed_models() else []) + \
        [model_folder(k) for k in replaced_versions(name)]
    if not folders:
        click.echo(f"muzip: {name}: no such model (`muzip models` lists them)", err=True)
        return None
    return folders


def _remove_one(name: str, folders: list, yes: bool) -> None:
    """`name`'s folders removed, or kept because the answer was no."""
    import shutil
    import tempfile
    from pathlib import Path

    from ..train.run import runs_dir
    size = sum(map(_folder_bytes, folders))
    older = f", with {plural(len(folders) - 1, 'older version')}" if len(folders) > 1 else ""
    what = f"{name} ({size / 1e6:.1f} MB{older})"
    if not yes and not click.confirm(f"Remove {what}? The .mz files made with it will no longer decode here",
                                     default=False, err=True):
        click.echo(f"{name}: kept", err=True)
        return
    left = []
    for folder in folders:
        if folder.is_symlink():  # the link is the model here; what it points to is not muzip's to delete
            target = folder.resolve()
            folder.unlink()
            left.append(f"the folder its link pointed to stays: {target}")
            continue
        # moved into a hidden folder first, so no half-deleted model is ever loaded, then deleted
        trash = Path(tempfile.mkdtemp(prefix=".removing-", dir=folder.parent))
        folder.rename(trash / folder.name)
        shutil.rmtree(trash, ignore_errors=True)
        if trash.exists():
            left.append(f"{trash} could not be deleted: remove it by hand")
    click.echo(f"removed {what}", err=True)
    for note in left:
        click.echo(f"  {note}", err=True)
    run = runs_dir() / name
    if run.is_dir():
        click.echo(f"  its training run stays in {run} ({_folder_bytes(run) / 1e6:.1f} MB; delete it to free "
                   "the space)", err=True)
