"""`muzip classify train|predict` and `muzip map`: labels and pictures on top of the library embeddings."""

from __future__ import annotations

import json
import os
import sys

import click

from ..errors import MuzipError
from .common import EXIT_CODES_HELP, Progress, Reporter, default_jobs
from .library_cmds import _embed_one, _embedder, _files, _map, catalog_embeddings


def _embed_files(files, jobs, rep, quiet, desc):
    """[(path, embedding)] of the files that could be read; failures reported."""
    import numpy as np
    out = []
    with Progress(len(files), desc, unit="files", enabled=not quiet) as bar:
        for path, (kind, value) in zip(files, _map(_embed_one, files, jobs)):
            bar.update(1)
            if kind == "ok":
                out.append((path, np.frombuffer(value["embedding"], "<f4").astype(np.float32)))
            else:
                rep.fail(value)
    return out


@click.group(epilog=EXIT_CODES_HELP)
def classify():
    """Train a classifier on labelled folders, and label tracks with it.

    \b
    Examples:
      muzip classify train Labelled/ -o genres.clf    # Labelled/<label>/<files>
      muzip classify predict genres.clf new/*.mz --json
      muzip classify predict genres.clf --db music.db
    """


@classify.command("train", epilog=EXIT_CODES_HELP)
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", required=True, metavar="CLASSIFIER", help="Where to save the classifier (.npz, no pickle).")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=default_jobs, show_default="cores")
@click.option("--json", "as_json", is_flag=True, help="Print the cross-validated scores as JSON.")
@click.option("-q", "--quiet", is_flag=True)
def classify_train(folder, output, jobs, as_json, quiet):
    """FOLDER holds one subfolder per label (genre, mood, artist...) with audio or .mz files inside.

    Prints the accuracy and macro-F1 of a 5-fold cross-validation split by track, then trains on
    everything and saves the classifier."""
    import numpy as np

    from ..library import classify as C
    rep = Reporter(quiet)
    labels = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)) and not d.startswith("."))
    files, names = [], []
    for lab in labels:
        fs = _files([os.path.join(folder, lab)], rep)
        files += fs
        names += [lab] * len(fs)
    got = dict(_embed_files(files, jobs, rep, quiet, "embed"))
    keep = [i for i, f in enumerate(files) if f in got]
    if len({names[i] for i in keep}) < 2:
        click.echo(f"muzip: {folder}: need at least two label folders with readable files", err=True)
        sys.exit(1)
    X = np.stack([got[files[i]] for i in keep])
    y_names = [names[i] for i in keep]
    classes = sorted(set(y_names))
    y = np.array([classes.index(v) for v in y_names])
    cv = C.cross_validate(X, y, groups=np.arange(len(y)))  # one file = one track: folds never split a track
    _, embedder = _embedder()
    model = C.train(X, y_names, embedder)
    tmp = os.path.join(os.path.dirname(os.path.abspath(output)), "." + os.path.basename(output) + ".tmp")
    C.save(model, tmp, {"cv": cv, "counts": {c: y_names.count(c) for c in classes}})
    os.replace(tmp, output)
    res = {"classifier": output, "classes": classes, "tracks": len(y), **cv}
    if as_json:
        click.echo(json.dumps(res))
    elif not quiet:
        acc = "n/a (too few tracks per label)" if cv["accuracy"] is None else \
            f"{cv['accuracy']:.1%} accuracy, macro-F1 {cv['macro_f1']:.3f} ({cv['folds']}-fold, split by track)"
        rep.say(f"{output}: {len(classes)} labels, {len(y)} tracks; {acc}")
    sys.exit(rep.status)


@classify.command("predict", epilog=EXIT_CODES_HELP)
@click.argument("classifier")
@click.argument("files", nargs=-1)
@click.option("--db", "db_path", metavar="LIBRARY", help="Label every track of this catalog.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=default_jobs, show_default="cores")
@click.option("--json", "as_json", is_flag=True, help='JSON lines {"path", "label", "scores"}.')
@click.option("-q", "--quiet", is_flag=True)
def classify_predict(classifier, files, db_path, jobs, as_json, quiet):
    """Label FILES (audio or .mz) or a catalog's tracks with a trained CLASSIFIER."""
    from ..library import classify as C
    rep = Reporter(quiet)
    try:
        model = C.load(classifier)
    except MuzipError as exc:
        click.echo(f"muzip: {classifier}: {exc}", err=True)
        sys.exit(1)
    if not files and not db_path:
        raise click.UsageError("give FILES or --db LIBRARY")
    items = []
    if db_path:
        emb, paths = catalog_embeddings(db_path)
        items += list(zip(paths, emb))
    if files:
        items += _embed_files(_files(files, rep), jobs, rep, quiet, "embed")
    for path, emb in items:
        try:
            label, scores = C.predict(model, emb)
        except MuzipError as exc:
            rep.fail(f"{path}: {exc}")
            continue
        if as_json:
            click.echo(json.dumps({"path": path, "label": label, "scores": scores}))
        else:
            click.echo(f"{label}\t{scores[label]:.2f}\t{path}")
    sys.exit(rep.status)


@click.command("map", epilog=EXIT_CODES_HELP)
@click.option("--db", "db_path", required=True, metavar="LIBRARY", help="The catalog.")
@click.option("-o", "--output", required=True, metavar="PNG", help="The picture to write.")
@click.option("--color", type=click.Choice(["cluster", "folder", "label"]), default="cluster", show_default=True,
              help="Colour by Affinity Propagation cluster, parent folder, or a classifier's label.")
@click.option("--classifier", metavar="CLASSIFIER", help="For --color label.")
def map_cmd(db_path, output, color, classifier):
    """A t-SNE map of the catalog: similar tracks lie close; cluster exemplars are labelled.

    \b
    Examples:
      muzip map --db music.db -o map.png
      muzip map --db music.db -o map.png --color label --classifier genres.clf
    """
    from ..library.cluster import affinity_clusters
    from ..library.tsne_map import draw, tsne_2d
    if color == "label" and not classifier:
        raise click.UsageError("--color label needs --classifier")
    emb, paths = catalog_embeddings(db_path)
    model = None
    if classifier:
        from ..library import classify as C
        try:
            model = C.load(classifier)
        except MuzipError as exc:
            click.echo(f"muzip: {classifier}: {exc}", err=True)
            sys.exit(1)
    if len(paths) == 0:
        click.echo(f"muzip: {db_path}: the catalog is empty", err=True)
        sys.exit(1)
    labels, exemplars = affinity_clusters(emb)
    if color == "cluster":
        groups = [f"cluster {int(k) + 1}" for k in labels]
    elif color == "folder":
        groups = [os.path.basename(os.path.dirname(p)) for p in paths]
    else:
        groups = [C.predict(model, e)[0] for e in emb]
    names = {int(i): os.path.splitext(os.path.basename(paths[i]))[0] for i in exemplars}
    draw(tsne_2d(emb), groups, names, output, f"{len(paths)} tracks, {len(exemplars)} clusters (exemplars labelled)")
    click.echo(f"{output}: {len(paths)} tracks, {len(exemplars)} clusters", err=True)
