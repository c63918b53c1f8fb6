"""`muzip map`: a t-SNE picture of the catalog, coloured by cluster, folder or a classifier's label."""

from __future__ import annotations

import os
import sys

import click

from ..errors import MuzipError
from .classify_cmds import _catalog_embedders, _check_made_with, _load_classifier, _predict_label, catalog_inputs
from .common import EXIT_CODES_HELP, Reporter, catalog_option, plural
from .library_cmds import Status, catalog_embeddings, one_line_errors


@click.command("map", epilog=EXIT_CODES_HELP)
@catalog_option("The catalog (read only).")
@click.option("-o", "--output", required=True, metavar="PNG", help="The picture to write.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing output.")
@click.option("--color", type=click.Choice(["cluster", "folder", "label"]), default="cluster", show_default=True,
              help="Colour by cluster (numbered as `muzip cluster` prints them), folder (each file's own, a "
                   "link's target's; named below the folder all tracks share), or a classifier's label.")
@click.option("--classifier", metavar="CLASSIFIER", help="For --color label.")
@one_line_errors
def map_cmd(db_path, output, force, color, classifier):
    """A t-SNE map of the catalog: similar tracks lie close; cluster exemplars are labelled.

    \b
    Examples:
      muzip map --db music.db -o map.png
      muzip map --db music.db -o map.png --color label --classifier genres.clf
    """
    from ..outputs import atomic_output, check_output
    # OpenMP threads (scikit-learn's t-SNE) that wait by sleeping, not spinning: spinning threads lose their
    # core to any other busy process and the map crawls (set before scikit-learn loads its OpenMP runtime)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if color == "label" and not classifier:
        raise click.UsageError("--color label needs --classifier")
    if classifier and color != "label":  # it would be read and then not used
        raise click.UsageError(f"--classifier is for --color label (the map is coloured by {color})")
    if not output.lower().endswith(".png"):  # and so never a track of the catalog, -f or not
        raise click.UsageError(f"-o {output}: the map is a PNG picture; give a name ending in .png")
    inputs = [db_path, *([classifier] if classifier else [])]
    check_output(output, force, inputs)  # before any slow work
    status = Status("map")
    rep = status.reporter(Reporter())
    status(f"reading {db_path}...")
    emb, paths, copies = catalog_embeddings(db_path, rep, copies=True, one_name_per_file=True)  # a point a file
    model = _load_classifier(classifier) if classifier else None
    if model is not None:
        _check_made_with(model, classifier, _catalog_embedders(db_path))
    if len(paths) == 0:
        raise MuzipError(f"{db_path}: no tracks to map (the catalog is empty)")
    status(f"clustering {plural(len(paths), 'track')}...")
    from ..library.cluster import affinity_clusters, cluster_numbers
    labels, exemplars = affinity_clusters(emb, copies=copies)  # numbered as `muzip cluster` numbers them
    if color == "cluster":
        groups = [f"cluster {k}" for k in cluster_numbers(labels, exemplars)]
    elif color == "folder":
        from ..library.tsne_map import folder_groups
        groups = folder_groups(paths)
    else:
        inputs_of = {p: (x, low) for p, x, low in catalog_inputs(db_path, model, Reporter(quiet=True), classifier)}
        groups = [_predict_label(model, *inputs_of[p], classifier) if p in inputs_of else "?" for p in paths]
    status(f"placing {plural(len(paths), 'track')} (t-SNE)...")
    from ..library.tsne_map import draw, exemplar_names, places
    names = exemplar_names(paths, exemplars)
    xy = places(emb, copies)  # each recording once, its copies around it
    status(f"drawing {output}...")
    with atomic_output(output, force, inputs) as f:
        title = f"{plural(len(paths), 'track')}, {plural(len(exemplars), 'cluster')} (exemplars labelled)"
        draw(xy, groups, names, f, title)
    status.clear()
    click.echo(f"{output}: {plural(len(paths), 'track')}, {plural(len(exemplars), 'cluster')}", err=True)
    sys.exit(rep.status)
