"""`muzip classify train|predict`: labels on top of the library embeddings (`muzip map` colours by them: map_cmd.py)."""

from __future__ import annotations

import os
import sys

import click

from ..errors import MuzipError
from .common import CATALOG_ENV, EXIT_CODES_HELP, Progress, Reporter, default_jobs, plural
from ..workers import mapped
from .library_cmds import _embed_one, _embedder, _files, catalog_embeddings, dumps, one_line_errors


def _load_classifier(path: str):
    from ..library import classify as C
    try:
        return C.load(path)
    except MuzipError as exc:
        raise MuzipError(f"{path}: {exc}") from None


def _check_made_with(model: dict, classifier: str, embedders) -> None:
    """A classifier reads only the vectors of the embedder it was trained on (two embedders' 128-d vectors
    fit each other's shape and mean nothing to each other), or of another projection of the same descriptors,
    or of longer ones that begin with them (their stored descriptors are put through its own projection:
    _own_embed)."""
    from ..library.identity import reads_descriptors_of
    made = model.get("embedder")
    others = [e for e in embedders if e != made and not (made and reads_descriptors_of(made, e))]
    if made and others:
        # the catalog is the older (its descriptors are part of the classifier's), or the classifier is this
        # muzip's embedder's and the catalog another's (embed-v4's beside embed-v5): indexing it again is the cure
        if reads_descriptors_of(others[0], made) or made == _embedder()[1]:
            raise MuzipError(f"{classifier}: trained on {made.split(':')[0]} vectors, these are "
                             f"{others[0].split(':')[0]}'s; run `muzip index` on the library again")
        raise MuzipError(f"{classifier}: trained on {made.split(':')[0]} vectors, these are "
                         f"{others[0].split(':')[0]}'s; train it again (`muzip classify train`)")


def _own_embed(model: dict, classifier: str):
    """The embedder a classifier reads its inputs with: the one it was trained on (this muzip's, or another
    installed projection of the same descriptors, exactly as it was)."""
    from ..library import load_embedder
    embed, embedder = _embedder()
    made = model.get("embedder")
    if not made or made == embedder:
        return embed
    try:
        own, own_id = load_embedder(made.split(":")[0])
    except MuzipError:
        own_id = None
    if own_id != made:
        raise MuzipError(f"{classifier}: trained on {made.split(':')[0]}, which is not installed as it was; "
                         "train it again (`muzip classify train`)")
    return own


def _catalog_embedders(db_path: str) -> list[str]:
    from ..library.catalog import Catalog
    with Catalog(db_path, create=False) as cat:
        return cat.embedders()


def _embed_files(files, jobs, rep, quiet, desc, raw=False, names=None, rates=None, prints=None):
    """[(path, embedding)] of the files that could be read (raw: their raw descriptors, for an embedder that
    projects with a collection's statistics); failures reported (naming files by `names`, {path: as given});
    each file's sample rate put in `rates` if given, its (duration, fingerprint, embedding) in `prints`."""
    from .library_objects import as_named
    names = names or {}
    import numpy as np
    out = []
    with Progress(len(files), desc, unit="files", enabled=not quiet) as bar:
        for path, (kind, value) in zip(files, mapped(_embed_one, files, jobs)):
            bar.update(1)
            if kind == "ok":
                if value.get("warning"):
                    rep.warn(f"{names.get(path, path)}: {value['warning']}")
                key, dtype = ("descriptor", np.float64) if raw else ("embedding", np.float32)
                if rates is not None:
                    rates[path] = value.get("rate")
                if prints is not None:
                    prints[path] = (value.get("duration"), value.get("fingerprint"),
                                    np.frombuffer(value["embedding"], "<f4"))
                out.append((path, np.frombuffer(value[key], "<f4").astype(dtype)))
            else:
                rep.fail(as_named(value, path, names))
    return out


def _collection_stats(model: dict, embed):
    """The statistics a descriptor classifier's training files were projected with (the prior if absent)."""
    import numpy as np
    stats = model["meta"].get("collection_stats")
    try:
        stats = np.asarray(stats, np.float64)
    except (TypeError, ValueError):
        stats = None
    dim = int(embed.scalings.shape[0])
    if stats is None or stats.shape != (2, dim) or not np.all(np.isfinite(stats)) or np.any(stats[1] <= 0):
        return embed.stats()
    return stats


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
@click.argument("folder")
@click.option("-o", "--output", required=True, metavar="CLASSIFIER", help="Where to save the classifier (.npz, no pickle).")
@click.option("--db", "db_path", metavar="LIBRARY", help="Reuse the embeddings of files this catalog holds "
              "(unchanged since indexed); only the others are embedded. Read only.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing output.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=default_jobs, show_default="cores",
              help="Files embedded in parallel (worker processes).")
@click.option("--json", "as_json", is_flag=True, help="Print the cross-validated scores as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@one_line_errors
def classify_train(folder, output, db_path, force, jobs, as_json, quiet):
    """FOLDER holds one subfolder per label (genre, mood, artist...) with audio or .mz files inside.

    Prints the accuracy and macro-F1 of a 5-fold cross-validation split by recording (fewer folds where a
    label has fewer than 5 tracks), then trains on everything and saves the classifier. A file under
    several names (symlinks, hard links) is one track; copies of one recording (another format or bitrate, as
    `muzip dupes` finds them) are each trained on, and never split across folds. With --db, files already in
    that catalog (same path, size and time, same embedder) are not embedded again."""
    import numpy as np

    from ..library import classify as C
    from ..outputs import atomic_output, check_output
    rep = Reporter(quiet)
    if not os.path.isdir(folder):  # a bad input, said as every command says it (exit 1), not a usage error
        what = "not a folder (it holds a folder per label)" if os.path.exists(folder) else "no such folder"
        raise MuzipError(f"{folder}: {what}")
    check_output(output, force, [db_path])  # before any slow work: never an existing file without -f
    labels = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)) and not d.startswith("."))
    from .library_objects import EXTS
    loose = [d for d in os.listdir(folder) if os.path.splitext(d)[1].lower().lstrip(".") in EXTS and not d.startswith(
        ".") and os.path.isfile(os.path.join(folder, d))]
    if loose:  # not an error: said, as a label the user meant may be missing
        rep.say(f"{folder}: {plural(len(loose), 'file')} beside the label folders left out (a label is a subfolder "
                "of its files)")
    files, names = [], []
    for lab in labels:
        fs = _files([os.path.join(folder, lab)], rep)
        files += fs
        names += [lab] * len(fs)
    embed, embedder = _embedder()
    from ..library.collection import fit_collection, uses_collection
    described = uses_collection(embed)  # then `got` holds raw descriptors, projected as one collection below
    # Names of one file (symlinks, hard links) are one track: embedded once, trained on once under a label,
    # and never split across folds (a file linked into five folders would be tested on its own copies).
    from ..library.links import by_file
    same = by_file(files)
    track = {name: k for k, group in enumerate(same.values()) for name in group}
    prints = {}  # copies of one recording (another format or bitrate: library.copies) are never split either
    stored = _stored(db_path, list(same), embedder, embed if described else None, prints) if db_path else {}
    got = dict(stored)
    got.update(_embed_files([f for f in same if f not in got], jobs, rep, quiet, "embed", raw=described,
                            prints=prints))
    from ..library.copies import recordings_among
    recording = recordings_among(prints)  # each trained on (a copy in another format teaches), one CV group
    split = {name: ("copies", recording[first]) if first in recording else track[name]
             for first, group in same.items() for name in group}
    got.update({name: got[first] for first, group in same.items() if first in got for name in group})
    keep, seen = [], set()
    for i, f in enumerate(files):
        if f in got and (track[f], names[i]) not in seen:
            seen.add((track[f], names[i]))
            keep.append(i)
    if len({names[i] for i in keep}) < 2:
        raise MuzipError(f"{folder}: need at least two label folders with readable files")
    X = np.stack([got[files[i]] for i in keep])
    raw = X if described else None  # the raw descriptors: also the low-rate heads' inputs (band-limited)
    extra = {}
    if described:
        from ..library.collection import CLASSIFIER_FEATURES
        X, stats = fit_collection(embed, X)
        extra.update(collection_stats=stats.tolist(), features=CLASSIFIER_FEATURES)
    y_names = [names[i] for i in keep]
    classes = sorted(set(y_names))
    y = np.array([classes.index(v) for v in y_names])
    # folds never split a track or a recording; each fold predicts as `predict` will, within its training range
    cv = C.cross_validate(X, y, groups=np.unique([str(split[files[i]]) for i in keep], return_inverse=True)[1],
                          within_range=True)
    model = C.train(X, y_names, embedder, raw=raw)
    with atomic_output(output, force, inputs=[*files, *([db_path] if db_path else [])]) as f:
        C.save(model, f, {"cv": cv, "counts": {c: y_names.count(c) for c in classes}, **extra})
    res = {"classifier": output, "classes": classes, "tracks": len(y), **cv}
    if db_path:
        res["from_catalog"] = len(stored)
    if as_json:
        click.echo(dumps(res))
    elif not quiet:
        held = {c: {str(split[files[i]]) for i in keep if names[i] == c} for c in classes}  # its recordings
        fewest = min(classes, key=lambda c: len(held[c]))
        acc = (f"no cross-validation: label {fewest} has {plural(len(held[fewest]), 'recording')}, and each needs "
               "2 or more") if cv["accuracy"] is None else \
            f"{cv['accuracy']:.1%} accuracy, macro-F1 {cv['macro_f1']:.3f} ({cv['folds']}-fold, split by recording)"
        reused = f" ({len(stored)} embeddings from {db_path})" if db_path else ""
        rep.say(f"{output}: {plural(len(classes), 'label')}, {plural(len(y), 'track')}{reused}; {acc}")
    sys.exit(rep.status)


def _stored(db_path: str, files: list[str], embedder: str, embed=None, prints=None) -> dict:
    """{path: embedding} of the files the catalog holds unchanged (same size, time and embedder) by their own
    name or their link's target's, read-only; with `embed` (a descriptor embedder), {path: raw descriptor}.
    Their (duration, fingerprint, embedding) put in `prints` if given."""
    from ..library.catalog import Catalog
    out = {}
    with Catalog(db_path, create=False) as cat:
        found = {}  # track id -> (file, its vector), for the fingerprints of these tracks only
        for f in files:
            try:
                st = os.stat(f)
            except OSError:
                continue  # reported when it is embedded
            for name in dict.fromkeys([f, os.path.realpath(f)]):  # a label folder of links to catalog files
                emb = cat.stored(name, st.st_size, st.st_mtime, embedder) if embed is None else \
                    cat.stored_descriptor(name, st.st_size, st.st_mtime, embedder, int(embed.scalings.shape[0]))
                if emb is not None:
                    out[f] = emb
                    track = cat.lookup(name) if prints is not None else None
                    if track is not None:
                        found[track[0]] = (f, track[1])
                    break
        for track_id, _, duration, fingerprint in cat.fingerprints(embedder, ids=list(found)) if found else []:
            prints[found[track_id][0]] = (duration, fingerprint, found[track_id][1])
    return out


@classify.command("predict", epilog=EXIT_CODES_HELP)
@click.argument("classifier")
@click.argument("files", nargs=-1)
@click.option("--db", "db_path", metavar="LIBRARY", help="Label every track of this catalog (read only).")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=default_jobs, show_default="cores",
              help="Files embedded in parallel (worker processes).")
@click.option("--json", "as_json", is_flag=True, help='JSON lines {"path", "label", "scores"}, and "nearest" and '
              '"unlike_training" where known (a classifier of this muzip; a file its main head labels), '
              '"steady_flatness" where it is as flat as noise.')
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@one_line_errors
def classify_predict(classifier, files, db_path, jobs, as_json, quiet):
    """Label FILES (audio or .mz) or a catalog's tracks with a trained CLASSIFIER (--db, or $MUZIP_DB when no FILES
    are given). A file named twice, or also inside a folder given, is labelled once."""
    from ..library import classify as C
    rep = Reporter(quiet)
    if not files and not db_path:  # nothing named: the session's catalog, as the other library commands take it
        db_path = os.environ.get(CATALOG_ENV, "").strip() or None
        if not db_path:
            raise click.UsageError(f"give FILES or --db LIBRARY (or set {CATALOG_ENV})")
    model = _load_classifier(classifier)
    if db_path:
        _check_made_with(model, classifier, _catalog_embedders(db_path))
    if files:
        _check_made_with(model, classifier, [_embedder()[1]])
    items = []
    if db_path:
        items += catalog_inputs(db_path, model, rep, classifier)
        if not items and not files and rep.status == 0:  # empty, not every track failed
            click.echo(f"{db_path}: no tracks to label (the catalog is empty)", err=True)
    if files:
        from ..library.collection import classifier_inputs, uses_collection
        from .library_objects import EXTS
        from .plan import named_files_under
        names = named_files_under(files, rep, EXTS)  # in the order given, each named as given
        embed = _own_embed(model, classifier)
        if uses_collection(embed):  # projected as the classifier's training files were
            stats = _collection_stats(model, embed)
            own = int(embed.scalings.shape[0])  # the files are described by this muzip's embedder, whose
            # descriptors are the classifier's own or begin with them (_check_made_with)
            rates = {}
            got = [(p, classifier_inputs(embed, model["meta"], r[None, :own], stats)[0], (r[:own], rates.get(p)))
                   for p, r in _embed_files(list(names), jobs, rep, quiet, "embed", raw=True, names=names,
                                            rates=rates)]
        else:
            got = [(p, emb, (None, None)) for p, emb in _embed_files(list(names), jobs, rep, quiet, "embed",
                                                                     names=names)]
        items += [(names[p], emb, low) for p, emb, low in got]
    for path, emb, (raw, rate) in items:
        try:
            label, scores = C.predict(model, emb, raw, rate)
        except MuzipError as exc:
            rep.fail(f"{path}: {exc}")
            continue
        near, flat = C.how_far(model, emb, raw, rate), C.how_flat(model, raw, rate)
        far = near is not None and near > model["reach"]
        unlike = far or flat is not None
        if unlike:
            rep.warn(f"{path}: unlike every track {classifier} was trained on (" + (
                f"the nearest at {near:.2f}, where the training tracks' nearest others are within {model['reach']:.2f}"
                if far else f"as flat as noise in every octave: steady flatness {flat:.2f}, beyond their "
                f"{model['flat_reach']:.2f}") + "): its label is a guess")
        if as_json:
            click.echo(dumps({"path": path, "label": label, "scores": scores, **({} if near is None else {
                "nearest": round(near, 4)}), **({} if flat is None else {"steady_flatness": round(flat, 4)}),
                **({} if near is None and flat is None else {"unlike_training": unlike})}))
        else:
            click.echo(f"{label}\t{scores[label]:.2f}\t{path}")
    sys.exit(rep.status)


def catalog_inputs(db_path: str, model: dict, rep, classifier: str = "classifier") -> list:
    """[(path, what the classifier reads, (raw descriptor, sample rate) or (None, None): _track_raws)]
    of a catalog's tracks, read-only: the stored vectors, or for a classifier of projection and descriptor (or
    of another projection of the catalog's descriptors) the catalog's descriptors through the classifier's own
    projection and under its training files' statistics -- so a track gets the label its file gets from
    `predict FILE`, whatever else the catalog holds."""
    from ..library.collection import reads_descriptors
    emb, paths = catalog_embeddings(db_path, rep, mixed_ok=True)  # each embedder's tracks are read apart below
    made, stored_as = model.get("embedder"), _catalog_embedders(db_path)
    if not reads_descriptors(model["meta"]) and (not made or set(stored_as) <= {made}):
        return [(p, e, (None, None)) for p, e in zip(paths, emb)]  # a classifier of the catalog's own unit vectors
    embed = _own_embed(model, classifier)
    from ..library.catalog import Catalog
    from ..library.collection import catalog_inputs as described_inputs
    from ..library.identity import descriptor_dim
    stats = _collection_stats(model, embed)
    got, low = {}, {}
    with Catalog(db_path, create=False) as cat:
        all_ids, _, all_paths = cat.embeddings()
        path_of = dict(zip(all_ids.tolist(), all_paths))
        for embedder in stored_as:
            ids, X = described_inputs(cat, embed, embedder, model["meta"], stats, descriptor_dim(embedder) or 0)
            got.update((path_of[i], x) for i, x in zip(ids.tolist(), X) if i in path_of)
        low = _track_raws(cat, model, embed, stored_as, path_of)
    for p in paths:
        if p not in got:
            rep.fail(f"{p}: no descriptor in {db_path} (run `muzip index` on it again)")
    return [(p, got[p], low.get(p, (None, None))) for p in paths if p in got]


def _track_raws(cat, model: dict, embed, embedders, path_of: dict) -> dict:
    """{path: (raw descriptor, sample rate)} of the catalog's tracks, for a classifier that reads them: its
    low-rate heads (library.classify.low_rate_head: a low sample rate, or a low-pass of the file's own) and its
    test for noise (library.typicality.noise_like)."""
    from ..library.identity import descriptor_dim
    if not model.get("low_rate") and model.get("flat_reach") is None:
        return {}
    rates = {i: f["rate"] for i, f in cat.facts_of(sorted(path_of)).items()}
    dim, out = int(embed.scalings.shape[0]), {}
    for embedder in embedders:
        found, raw = cat.descriptors(embedder, max(dim, descriptor_dim(embedder) or 0), sorted(rates))
        out.update((path_of[int(i)], (r[:dim], rates[int(i)])) for i, r in zip(found, raw))
    return out


def _predict_label(model, emb, low, classifier: str) -> str:
    from ..library import classify as C
    try:
        return C.predict(model, emb, *low)[0]
    except MuzipError as exc:
        raise MuzipError(f"{classifier}: {exc}") from None
