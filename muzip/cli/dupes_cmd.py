"""`muzip dupes`: the same recording held more than once (another format, another bitrate) in a catalog."""

from __future__ import annotations

import sys

import click

from ..errors import MuzipError
from .common import EXIT_CODES_HELP, Reporter, catalog_option, plural
from .library_cmds import _embedder, dumps, one_line_errors, report_left_out
from .library_objects import GONE_NOTE, file_gone, shown_name


@click.command(epilog=EXIT_CODES_HELP)
@catalog_option("The catalog (read only).")
@click.option("--json", "as_json", is_flag=True,
              help='{"groups": [[path, ...], ...], "links": {path: [its other names]}}: largest group first, '
                   'each group\'s best copy first.')
@one_line_errors
def dupes(db_path, as_json):
    """Groups of files that hold the same recording from the same master (FLAC, MP3, Opus, .mz at any
    bitrate); another take or a remaster of it is not a duplicate. Each group lists its best copy first
    (the most of the band, lossless before lossy, then the highest bitrate), each file with what it is. Names of
    one file (symlinks, hard links) are not copies of it: they are shown beside it.

    \b
    Examples:
      muzip dupes --db music.db
      muzip dupes --db music.db --json
    """
    import numpy as np

    from ..library.catalog import Catalog
    from ..library.copies import best_first, copy_label, duplicate_groups, held_facts
    rep = Reporter()
    _, embedder = _embedder()
    with Catalog(db_path, create=False) as cat:
        others = [e for e in cat.embedders() if e != embedder]
        if others:
            raise MuzipError(f"{db_path}: indexed with {others[0].split(':')[0]}, not {embedder.split(':')[0]}; "
                             "run `muzip index` on it again")
        tracks = cat.fingerprints(embedder)
        ids, emb, _ = cat.embeddings()
        report_left_out(cat, rep)
        row = {int(i): k for k, i in enumerate(ids)}
        keep = [t for t in tracks if t[0] in row]
        vectors = emb[[row[t[0]] for t in keep]] if keep else np.zeros((0, 0), np.float32)
        found = duplicate_groups(keep, vectors)
        facts = held_facts(cat, embedder, [keep[k][0] for g in found for k in g]) if found else {}
    from ..library.links import by_file
    groups, links, about, lost = [], {}, {}, {}
    for g in found:
        id_of = {keep[k][1]: keep[k][0] for k in g}
        files = by_file(list(id_of))  # names of one file (links) are not copies of it
        links.update({f: names[1:] for f, names in files.items() if len(names) > 1})
        about.update({f: facts.get(id_of[f], {}) for f in files})
        if len(files) > 1:  # the copy to keep first: the most of the band, lossless, the highest bitrate...
            # ... and never one whose file is gone (renamed or deleted since `index`: said, and listed last)
            lost.update({f: file_gone(f) for f in files})
            groups.append(sorted(files, key=lambda f: (lost[f], best_first(about[f]), f)))
    gone = [f for g in groups for f in g if lost[f]]
    groups.sort(key=len, reverse=True)  # stable: largest first, as before
    if as_json:
        click.echo(dumps({"groups": groups, "links": links, **({"gone": gone} if gone else {})}))
    else:
        for n, g in enumerate(groups):
            click.echo(f"group {n + 1} ({len(g)} files, the best copy first)")
            for k, p in enumerate(g):
                # a line break in a name cannot pass for another file
                best = "; best" if k == 0 and not lost[p] else ""
                click.echo(f"  {shown_name(p)}  ({copy_label(about[p])}{best})" + f"  ({GONE_NOTE})" * lost[p]
                           + (f"  (also named {', '.join(map(shown_name, links[p]))})" if p in links else ""))
        if links:
            rep.say(f"{db_path}: {plural(len(links), 'file')} under more than one name (symlinks or hard links: "
                    "deleting a name frees nothing)")
        if not groups:
            files = len(by_file([t[1] for t in keep]))  # not a file's other names
            click.echo(f"{db_path}: no duplicates among {plural(files, 'file')}", err=True)
    if gone:  # not an error (as `similar` marks them): the catalog is older than the folder
        rep.say(f"{db_path}: {plural(len(gone), 'listed track')} whose file is gone (renamed or deleted since "
                "`muzip index`; `muzip index PATH --prune` drops them)")
    sys.exit(rep.status)
