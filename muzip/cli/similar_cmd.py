"""`muzip similar`: the tracks nearest to a file or a catalog track, or an instant mix (M3U8) from it."""

from __future__ import annotations

import os
import sys

import click

from ..errors import MuzipError
from . import library_cmds as lib
from .common import EXIT_CODES_HELP, Reporter, catalog_option, plural
from .library_cmds import dumps, one_line_errors, report_left_out, warn_mixed
from .library_objects import GONE_NOTE, file_gone, shown_name, storable


def _query(cat, query: str):
    """(embedding, catalog id or None, the file's record or None) of a catalog track or any file."""
    from ..scale.storage import is_uri
    stored = query if is_uri(query) else os.path.abspath(query)  # how the catalog names its tracks
    # a catalog track whose file has gone is still found by a relative name; a name that is not UTF-8 cannot be
    # one, but the file can still be compared with the catalog
    hit = cat.lookup(stored) if storable(stored) else None
    if hit is not None:
        return hit[1], hit[0], None
    if not os.path.exists(query):
        raise MuzipError(f"{query}: no such file, and not in the catalog")
    embed, embedder = lib._embedder()
    others = [e for e in cat.embedders() if e != embedder]
    if others:
        raise MuzipError(f"{cat.path}: indexed with {others[0].split(':')[0]}, this muzip embeds with "
                         f"{embedder.split(':')[0]}; run `muzip index` on it again to compare other files with it")
    kind, value = lib._embed_one(os.path.abspath(query))
    if kind != "ok":  # the file named as the command line named it, as `index` does
        from .library_objects import as_named
        raise MuzipError(as_named(value, os.path.abspath(query), {os.path.abspath(query): query}))
    from ..library.collection import query_vector, uses_collection
    if uses_collection(embed):
        return query_vector(cat, embed, embedder, value), None, value
    import numpy as np
    return np.frombuffer(value["embedding"], "<f4").astype(np.float32), None, value


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("query")
@catalog_option("The catalog (read only).")
@click.option("-n", "--count", "count", type=click.IntRange(1, 10000), default=10, show_default=True, help="How many.")
@click.option("--playlist", "mix", type=click.IntRange(2, 10000), metavar="N",
              help="An instant mix of N tracks instead: QUERY first, then tracks near it ordered for smooth "
                   "transitions, as M3U8 (to -o, or standard output).")
@click.option("-o", "--output", metavar="M3U8", help="With --playlist: the playlist file (paths relative to its folder).")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing playlist.")
@click.option("--json", "as_json", is_flag=True, help='A JSON list of {"path", "score", "same_recording", "copies"}, '
              'as listed ("copies": the other files of that recording; with --playlist: {"path", "score"} in playing '
              'order, score = likeness to QUERY\'s recording).')
@one_line_errors
def similar(query, db_path, count, mix, output, force, as_json):
    """The tracks nearest to QUERY (a file, indexed or not, or a track in the catalog).

    Copies of QUERY's recording in the catalog (another format, bitrate or sample rate, found by
    fingerprint as `muzip dupes` finds them) come first, marked "(same recording)"; the other tracks are
    those nearest its best copy (the most of the band held, then lossless before lossy, the highest sample
    rate, the most channels, the largest file; QUERY among them), each recording once: its best copy, with
    "(+N copies)" where the catalog holds it in other files too.

    \b
    Examples:
      muzip similar song.mz --db music.db -n 5
      muzip similar new_song.flac --db music.db --json
      muzip similar song.mz --db music.db --playlist 20 -o mix.m3u8
    """
    from ..library.catalog import Catalog
    if output is not None and mix is None:
        raise click.UsageError("-o is for --playlist")
    if output == "-":  # the usual name of standard output, where the playlist goes without -o
        output = None
    if output is not None:
        from ..outputs import check_output
        check_output(output, force, [db_path, query])  # before any slow work
    rep = Reporter()
    with Catalog(db_path, create=False) as cat:
        if output is not None and os.path.lexists(output) and storable(output) and any(
                cat.lookup(name) is not None for name in {os.path.abspath(output), os.path.realpath(output)}):
            from ..outputs import OutputExistsError
            raise OutputExistsError(f"{output}: is a track of the catalog; refusing to overwrite it")
        emb, own, record = _query(cat, query)
        if record is not None and record.get("warning"):  # a .mz cut short: as `index` says it
            rep.warn(f"{query}: {record['warning']}")
        copies, stand_in, top, best = _recording(cat, emb, own, record)

        asked = []

        def others(n):  # what a read says is said once, however often a listing's pool grows
            asked.append(n)
            return _others(cat, stand_in, own, record, top, best, copies, n, rep if len(asked) == 1 else _Unheard(),
                           query)
        if mix is not None:
            hits, left_out = _mix(cat, stand_in if top is None else None, int(emb.shape[0]), others, own, query, mix,
                                  record, {own, *copies} - {None})
            _say_left_out(left_out, rep)
        else:
            embedder = cat.embedder_of(own) if own is not None else lib._embedder()[1]
            listed = _recordings(cat, embedder, others, count, int(emb.shape[0]), {own, *copies} - {None})
            hits = _copies_first(cat, emb, copies, listed, count, query)
        report_left_out(cat, rep)
        warn_mixed(cat, rep)
    if mix is not None and (output is not None or not as_json):
        from ..library.playlist import m3u8
        text = m3u8(hits, output)
        if output is None:
            click.echo(text, nl=False)
        else:  # with --json too: the file is written and the JSON printed
            from ..outputs import OutputExistsError, atomic_output, same_file
            for h in hits:  # -f replaces a playlist, never one of the tracks it lists
                if os.path.lexists(output) and same_file(output, str(h["path"])):
                    raise OutputExistsError(f"{output}: is a track of the mix; refusing to overwrite it")
            with atomic_output(output, force, [db_path]) as f:
                f.write(text.encode("utf-8"))
        if len(hits) < mix:  # not an error
            why = (f"{len(left_out)} left out, above" if left_out else
                   "the catalog has no others; copies of one recording count once")
            rep.say(f"{output or 'the mix'}: {plural(len(hits), 'track')} of the {mix} asked for ({why})")
        coded = sum(str(h["path"]).lower().endswith(".mz") for h in hits)
        if coded:  # players cannot open them: said once, not an error
            click.echo(f"{output or 'the mix'}: {coded} of its {len(hits)} tracks are .mz files, which a player "
                       "plays once decoded (`muzip decompress`)", err=True)
    if as_json:
        keys = ("path", "score") if mix is not None else ("path", "score", "same_recording", "copies")
        click.echo(dumps([{**{k: h[k] for k in keys}, **({"gone": True} if file_gone(h["path"]) else {})}
                          for h in hits]))
    elif mix is None:
        for h in hits:  # the score in one column whatever its sign
            more = len(h.get("copies", ()))
            click.echo(f"{h['score']:6.3f}  {shown_name(str(h['path']))}" + "  (same recording)" * h["same_recording"]
                       + f"  (+{more} {'copy' if more == 1 else 'copies'})" * (more > 0)
                       + f"  ({GONE_NOTE})" * file_gone(h["path"]))
        if not hits:
            click.echo(f"{db_path}: no other tracks to compare with", err=True)
    sys.exit(rep.status)


class _Unheard(Reporter):
    """Prints nothing: a pool read again says what its first read said."""

    def _print(self, text: str):
        pass


def _recording(cat, emb, own, record: dict | None):
    """(copies, stand-in vector, top, best) of the query's recording: the catalog's copies of it {id: path}
    (another format, bitrate or sample rate: judged by fingerprint, library.copies); its best copy, the query
    among them (library.copies.best_first: None for the query itself, else a catalog id), whose vector the
    recording is compared with the others by, so a low-rate rip of a catalogued recording has that recording's
    neighbours; and where that best copy holds less than the whole band (a low sample rate, or a low-pass of
    its own), (the top frequency it holds, why: _held; compared band-limited), else None. A catalog track is
    read with its own embedder, loading no model."""
    from ..library.band_limited import file_top_hz
    from ..library.copies import best_first, copies_in_catalog, held_facts
    if own is not None:
        embedder = cat.embedder_of(own)
        mine = cat.fingerprints(embedder, [own]) if embedder else []
        fingerprint, duration = (mine[0][3], mine[0][2]) if mine else (None, None)
    else:
        embedder, fingerprint, duration = lib._embedder()[1], record.get("fingerprint"), record.get("duration")
    copies = dict(copies_in_catalog(cat, embedder, fingerprint, duration, emb, exclude_id=own)) if embedder else {}
    # what each copy holds: its sample rate's top, or its own low-pass's (an old MP3, an upsampled rip)
    ids = [own, *copies] if own is not None else list(copies)
    facts = held_facts(cat, embedder, ids) if embedder else cat.facts_of(ids)
    facts[None] = facts.pop(own, {}) if own is not None else {
        **record, "top": file_top_hz(record.get("rate"), _descriptor(cat, None, record)[0])}
    best = min([None, *sorted(i for i in copies if i in facts)], key=lambda i: best_first(facts[i]))  # ties: the query
    held = _held(facts[best].get("rate"), facts[best].get("top"))
    if best is None:  # the query is its recording's best copy (ties go to it)
        return copies, emb, held, None
    found, vectors, _, _ = cat.vectors_of([best], int(emb.shape[0]))
    return copies, (vectors[0] if len(found) else emb), held, best


def _held(rate, top) -> tuple[float, str] | None:
    """(top, why) where a file holds the band up to `top` Hz only (library.copies.held_facts), else None."""
    from ..library.band_limited import TOP_SHARE, top_hz
    if top is None:
        return None
    sampled = top_hz(rate)
    return top, (f"sampled at {round(sampled / TOP_SHARE) / 1000:g} kHz" if sampled == top else
                 "low-passed at its source")


def _others(cat, vec, own, record: dict | None, held: tuple | None, best, copies: dict[int, str], n: int, rep,
            query: str) -> list[dict]:
    """[{"id", "path", "score"}] of the n tracks nearest the query's recording, its copies left out: by the
    embedding (`vec`), or band-limited where `held` = (top, why) is set (its best copy holds the band up to
    `top` only: the query where `best` is None, else that catalog track; _held, library.band_limited)."""
    from ..library.search import nearest
    if held is not None:
        from ..library.band_limited import CATALOG_MAX, nearest_band_limited
        raw, embedder = _descriptor(cat, own if best is None else best, record if best is None else None)
        exclude = {own, *copies} - {None}
        top, why_held = held
        embed = lib._embedder()[0]  # its training audio's statistics, where they are the catalog's descriptor's
        mean = getattr(embed, "prior_mean", None)
        prior = (mean, embed.prior_var, embed.prior_tracks) if raw is not None and mean is not None \
            and mean.size == raw.size else None
        hits = nearest_band_limited(cat, embedder, raw.size, raw, top, n, exclude, prior) \
            if raw is not None and cat.count() <= CATALOG_MAX else None
        if hits is not None:  # said, not an error: its scores are not the embedding's
            whose = "it is" if best is None else f"the best copy of it, {shown_name(copies[best])}, is"
            rep.say(f"{query}: compared with the catalog below {top / 1000:.1f} kHz ({whose} {why_held})")
            return hits
        why = (f"the catalog holds more than {CATALOG_MAX:,} tracks" if cat.count() > CATALOG_MAX else
               "the catalog holds no raw descriptors to compare it with (an earlier muzip's: `muzip index` it again)")
        rep.warn(f"{query}: {why_held}, compared by the embedding, which reads the missing top octaves as timbre "
                 f"({why})")
    return [h for h in nearest(cat, vec, n + len(copies), exclude_id=own) if h["id"] not in copies][:n]


def _descriptor(cat, track_id, record: dict | None):
    """(the raw descriptor of a catalog track, or of a file's record, and its embedder id), or (None, None)."""
    import numpy as np

    from ..library.band_limited import DIMS
    if track_id is None:
        blob = record.get("descriptor")
        return (np.frombuffer(blob, "<f4").astype(np.float64), lib._embedder()[1]) if blob else (None, None)
    embedder = cat.embedder_of(track_id)
    for dim in DIMS:
        ids, raw = cat.descriptors(embedder, dim, [track_id]) if embedder else ([], None)
        if len(ids):
            return raw[0], embedder
    return None, None


def _recordings(cat, embedder: str | None, others, count: int, dim: int, mine: set) -> list[dict]:
    """The `count` recordings nearest the query's, each on one line (library.copies.one_line_per_recording):
    its best copy, the other files of it in "copies". others(k) gives the k nearest tracks (the query's copies
    left out); a larger pool is read until `count` recordings are found or the catalog has no more. `mine`:
    the query's own catalog id and its copies', never another recording's copies."""
    from ..library.copies import one_line_per_recording
    asked = 2 * count
    while True:
        pool = others(asked)
        if not embedder:
            return [{**h, "copies": []} for h in pool[:count]]
        listed = one_line_per_recording(cat, embedder, pool, count, dim, exclude=mine)
        if len(listed) >= count or len(pool) < asked or asked >= MAX_POOL:
            return listed
        asked = min(MAX_POOL, 4 * asked)


# The most tracks read to fill a listing whose nearest tracks are many copies of few recordings.
MAX_POOL = 20000


def _copies_first(cat, emb, copies: dict[int, str], hits: list[dict], count: int, query: str) -> list[dict]:
    """The query's copies first, marked and scored by their likeness to the query, then the nearest others
    (`hits`, _others); `count` in all. A copy at a low sample rate lies far from its original by embedding
    (README): without this it could be listed under other tracks. Names of one file (symlinks, hard links:
    library.links) are that file: the query's own file is not its copy, and a line's file not its own."""
    from ..library.links import other_files
    files = set(other_files(os.path.abspath(query), copies.values())) if copies else set()
    copies = {i: p for i, p in copies.items() if p in files}
    found, vectors, _, _ = cat.vectors_of(list(copies), int(emb.shape[0])) if copies else ([], [], [], {})
    first = sorted(({"id": int(i), "path": copies[int(i)], "score": round(float(v @ emb), 6), "same_recording": True,
                     "copies": []}
                    for i, v in zip(found, vectors)), key=lambda h: -h["score"])
    return (first + [{**h, "same_recording": False, "copies": other_files(str(h["path"]), h.get("copies", []))}
                     for h in hits])[:count]


def _playable(path) -> int:
    """How well a player opens this track from the mix: 3 a local audio file, 2 an object's URI, 1 a `.mz`
    (decoded first), 0 not at all (_unplayable)."""
    from ..scale.storage import is_uri
    if _unplayable(str(path)):
        return 0
    return 1 if str(path).lower().endswith(".mz") else 2 if is_uri(str(path)) else 3


def _unplayable(path: str) -> str | None:
    """Why a player could not open this track from the mix (None: it could)."""
    from ..library.playlist import unwritable
    if not storable(path) or unwritable(path):
        return "a name an M3U8 line cannot hold (a line break, or not UTF-8)"
    if file_gone(path):
        return "gone from its folder (`muzip index PATH --prune` drops it)"
    return None


# Left-out tracks named one line each up to this many; past it, a catalog whose disk is not mounted would
# print a line for each of 4N candidates: the first few, then a count.
SHOWN_LEFT_OUT = 5


def _say_left_out(left_out: list[tuple[str, str]], rep: Reporter) -> None:
    shown = left_out if len(left_out) <= SHOWN_LEFT_OUT else left_out[:SHOWN_LEFT_OUT - 2]
    for path, why in shown:
        rep.warn(f"{shown_name(path)}: {why}; left out of the mix")
    if len(shown) < len(left_out):
        rep.warn(f"{len(left_out) - len(shown)} more tracks left out of the mix (gone from their folders, or "
                 "names an M3U8 line cannot hold)")


def _mix(cat, emb, dim: int, others, own, query: str, n: int,
         record: dict | None, mine: set) -> tuple[list[dict], list[tuple[str, str]]]:
    """The instant mix: [{"path", "score", "duration", "tags"}] in playing order, the query first (a catalog
    track's stored path is its absolute path, so the query's is the seed's either way); `emb`: the vector
    (`dim` values) its recording is compared by (_recording; None for a low-rate file compared band-limited:
    its nearest track's then); others(k): the k tracks nearest it, its copies left out (_others); `record`:
    the query's own, when it is a file outside the catalog (its fingerprint, duration and tags); `mine`: the
    catalog ids of the query and its copies. Each recording picked plays as its best copy a player can open
    (library.copies.best_playable). And [(path, why)] of the tracks a player could not open from it, left out
    (the next one takes each's place)."""
    import numpy as np

    from ..library.playlist import POOL_FACTOR, order
    from ..scale.storage import is_uri
    pool = others(POOL_FACTOR * n)  # the seed's recording is played once, as the seed
    # only the pool's rows (and the seed's) are read: a query of a large catalog stays fast
    ids = [h["id"] for h in pool] + ([own] if own is not None else [])
    info = {t["path"]: t for t in cat.tracks(ids)}
    found, vectors, _, _ = cat.vectors_of(ids, dim)
    row = {int(i): k for k, i in enumerate(found)}
    pool = [h for h in pool if h["id"] in row]
    if emb is None:  # a low-rate seed: its place in the embedding is its nearest track's
        emb = vectors[row[pool[0]["id"]]] if pool else np.zeros(vectors.shape[1], np.float32)
    seed_path = query if is_uri(query) else os.path.abspath(query)
    left_out = []
    embedder = lib._embedder()[1] if own is None else cat.embedder_of(own)
    prints = {p: fp for _, p, _, fp in cat.fingerprints(embedder, ids)} if embedder else {}
    # each pick's copies, judged as `similar` lists them (through each other: an MP3 and a 16-kHz rip of one
    # FLAC can be judged apart pair by pair), read once it is in the mix
    from ..library.copies import best_playable, copies_of_hits
    of_each: dict = {}

    def copies_of(ids):
        todo = [i for i in ids if i not in of_each]
        of_each.update(copies_of_hits(cat, embedder, todo, dim) if todo and embedder else {i: [] for i in todo})
        return {i: {c for c, _ in of_each[i]} for i in ids}
    if record is not None:
        info[seed_path] = {"duration": record.get("duration"), "tags": record.get("tags") or {}}
        if record.get("fingerprint"):
            prints[seed_path] = record["fingerprint"]

    def repeats(k, chosen):  # or a track a player could not open: the next one (its copy, say) takes its place
        from ..library.copies import is_copy
        why = _unplayable(str(pool[k]["path"]))
        if why:
            left_out.append((str(pool[k]["path"]), why))
            return True
        played = copies_of([pool[c]["id"] for c in chosen if c >= 0])
        if any(pool[k]["id"] in found for found in played.values()):
            return True  # a copy of a recording the mix plays already
        print_k = prints.get(pool[k]["path"])
        others = [prints.get(seed_path if c < 0 else pool[c]["path"]) for c in chosen]
        return print_k is not None and any(o is not None and is_copy(print_k, o, None, None) for o in others)
    picks = order(emb, vectors[[row[h["id"]] for h in pool]], n - 1, repeats) if pool else []
    seed = {**info.get(seed_path, {}), "path": seed_path, "score": 1.0}
    why = _unplayable(seed_path)
    if why:
        left_out.insert(0, (seed_path, why))
    picked = [pool[k] for k in picks]
    if picked and embedder:  # each recording as its best copy a player can open
        copies_of([h["id"] for h in picked])
        best = best_playable(cat, embedder, [(h["id"], h["path"]) for h in picked], of_each, _playable, exclude=mine)
        moved = {b[0] for b in best.values()} - {h["id"] for h in picked}
        info.update({t["path"]: t for t in cat.tracks(moved)} if moved else {})
        picked = [h if best[h["id"]][0] == h["id"] else {**h, "id": best[h["id"]][0], "path": best[h["id"]][1]}
                  for h in picked]
    return [seed] * (why is None) + [{**info.get(h["path"], {}), **h} for h in picked], left_out
