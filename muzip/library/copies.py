"""Copies of one recording in a catalog: which tracks `dupes` and `similar` judge by fingerprint, and the judging.

A fingerprint comparison (fingerprint.duplicate) is too slow to make with every track, so only candidates are
judged: the tracks that last as long (within MAX_DURATION_GAP_S, or of unknown duration) and whose low bands'
levels could be the same master (low_band_excess under 0), and of those the NEIGHBOURS nearest by embedding and
as many by those levels. The levels matter: a copy at 22.05 or 16 kHz lies far from its original in the
embedding (cosine 0.55-0.67; README), not in duration or in the levels of the bands it keeps.
"""

from __future__ import annotations

import numpy as np

from ..audio.probe import LOSSLESS_CODECS
from .fingerprint import MAX_DURATION_GAP_S, duplicate, levels, low_band_excess

NEIGHBOURS = 10  # judged for each track: its nearest by embedding, and as many by its low bands' levels
# A query reads the tracks of its duration: a million-track catalog holds ~10,000 within 1.5 s of a song's
# length (0.5 s of reading). Above WINDOW_MAX the window narrows, never under MIN_GAP_S: copies of one recording
# last the same within an encoder's delay and padding (MP3: ~50 ms).
WINDOW_MAX = 2000
MIN_GAP_S = 0.25


class Candidates:
    """The tracks [(id, path, duration or None, fingerprint)] with their unit embeddings (N, D), indexed by
    duration; `near(...)` the indices of those worth judging against one track."""

    def __init__(self, tracks: list, vectors: np.ndarray):
        self.tracks, self.vectors = tracks, vectors
        self.levels = np.stack([levels(t[3]) for t in tracks]) if tracks else np.zeros((0, 0))
        self.durations = np.array([np.nan if t[2] is None else float(t[2]) for t in tracks], np.float64)
        self._by_duration = np.argsort(self.durations, kind="stable")  # unknown durations (NaN) last
        self._known = int(np.count_nonzero(~np.isnan(self.durations)))
        self._sorted = self.durations[self._by_duration[:self._known]]

    def near(self, duration: float | None, band_levels: np.ndarray, vector: np.ndarray) -> np.ndarray:
        if duration is None or np.isnan(duration):
            pool = np.arange(len(self.tracks))
        else:
            lo = np.searchsorted(self._sorted, duration - MAX_DURATION_GAP_S, side="left")
            hi = np.searchsorted(self._sorted, duration + MAX_DURATION_GAP_S, side="right")
            pool = np.concatenate([self._by_duration[lo:hi], self._by_duration[self._known:]])
        if not len(pool):
            return pool
        by_levels = low_band_excess(self.levels[pool], band_levels)
        pool, by_levels = pool[by_levels < 0], by_levels[by_levels < 0]  # the others cannot be one master
        scores = self.vectors[pool] @ vector
        # sorted and unique as np.union1d, whose np.unique imports numpy.ma (11 ms of a `similar`'s start)
        return np.array(sorted({*pool[np.argsort(-scores, kind="stable")[:NEIGHBOURS + 1]].tolist(),
                                *pool[np.argsort(by_levels, kind="stable")[:NEIGHBOURS + 1]].tolist()}), np.intp)


def is_copy(fa: bytes, fb: bytes, duration_a: float | None, duration_b: float | None) -> bool:
    """Same recording from the same master, durations agreeing; a damaged fingerprint is never one."""
    if duration_a is not None and duration_b is not None and abs(duration_a - duration_b) > MAX_DURATION_GAP_S:
        return False
    try:
        return duplicate(fa, fb)[0]
    except (ValueError, TypeError):  # TypeError: not bytes at all
        return False


def copies_in_catalog(catalog, embedder: str, fingerprint: bytes | None, duration: float | None,
                      vector: np.ndarray, exclude_id: int | None = None) -> list[tuple[int, str]]:
    """(id, path) of the catalog's tracks that are this recording (another format, bitrate or sample rate of
    it), of those embedded by `embedder`; only the tracks of its duration are read."""
    return copies_of_each(catalog, embedder, [(exclude_id, fingerprint, duration, vector)])[exclude_id]


def _window(catalog, duration: float) -> tuple[float, float]:
    """The durations read for a track of this one: MAX_DURATION_GAP_S either way, narrower where more than
    WINDOW_MAX tracks last that long (never under MIN_GAP_S)."""
    gap, near = MAX_DURATION_GAP_S, catalog.count_lasting(duration, MAX_DURATION_GAP_S)
    gap = gap if near <= WINDOW_MAX else max(MIN_GAP_S, gap * WINDOW_MAX / near)
    return duration - gap, duration + gap


def copies_of_each(catalog, embedder: str, items: list) -> dict:
    """{key: [(id, path), ...]} of each item (key, fingerprint, duration, unit vector): the catalog's tracks
    that are its recording, the track `key` itself left out. The tracks of every item's duration are read once,
    together: a listing's lines (`similar`) cost one read, not one each."""
    out = {key: [] for key, *_ in items}
    # a length unknown would read the whole catalog: not a large one
    whole = any(fp and dur is None for _, fp, dur, _ in items) and catalog.count() <= WINDOW_MAX
    asked = [(key, fp, dur, vec) for key, fp, dur, vec in items if fp and (dur is not None or whole)]
    if not asked:
        return out
    windows = None if any(dur is None for *_, dur, _ in asked) else [_window(catalog, dur) for _, _, dur, _ in asked]
    tracks = catalog.fingerprints_within(embedder, windows)
    if not tracks:
        return out
    dim = int(asked[0][3].shape[0])
    ids, vectors, _, _ = catalog.vectors_of([t[0] for t in tracks], dim)
    row = {int(i): k for k, i in enumerate(ids)}
    tracks = [t for t in tracks if t[0] in row]
    if not tracks:
        return out
    cands = Candidates(tracks, vectors[[row[t[0]] for t in tracks]])
    for key, fp, dur, vec in asked:
        # Each copy found is judged against its own candidates too, as `dupes` joins a group through any pair:
        # an MP3 and a 16-kHz copy of one recording can be a few dB apart in the bands both keep, each within
        # the gap of the original (dupes_bench: pair by pair recall 0.992, grouped 1.000).
        found, queue = [], [(fp, dur, levels(fp), vec)]
        while queue:
            f, d, band_levels, v = queue.pop()
            for k in cands.near(d, band_levels, v).tolist():
                if k not in found and tracks[k][0] != key and is_copy(f, tracks[k][3], d, tracks[k][2]):
                    found.append(k)
                    queue.append((tracks[k][3], tracks[k][2], cands.levels[k], cands.vectors[k]))
        out[key] = [tracks[k][:2] for k in found]
    return out


def duplicate_groups(tracks: list, vectors: np.ndarray) -> list[list[int]]:
    """Groups (2 or more, largest first) of copies among tracks [(id, path, duration, fingerprint)] with unit
    embeddings (N, D) (`muzip dupes`): each track is judged against its candidates (Candidates.near) only, and
    a group joins through any pair judged one recording."""
    cands = Candidates(tracks, vectors)
    parent = list(range(len(tracks)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    judged = set()
    for k, (_, _, dur, fp) in enumerate(tracks):
        for j in cands.near(dur, cands.levels[k], vectors[k]).tolist():
            pair = (min(j, k), max(j, k))
            if j == k or pair in judged:
                continue
            judged.add(pair)
            if is_copy(fp, tracks[j][3], dur, tracks[j][2]):
                parent[root(j)] = root(k)
    groups = {}
    for k in range(len(tracks)):
        groups.setdefault(root(k), []).append(k)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))


def recordings_among(prints: dict) -> dict:
    """{path: recording number} of the paths of `prints` {path: (duration, fingerprint, embedding)} that hold one
    recording with another of them (as `muzip dupes` groups them); the others are left out."""
    paths = sorted(p for p, (_, fp, _) in prints.items() if fp is not None)  # numbered the same whatever the order
    if len(paths) < 2:
        return {}
    vectors = np.stack([np.asarray(prints[p][2], np.float64) for p in paths])
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    tracks = [(k, p, prints[p][0], prints[p][1]) for k, p in enumerate(paths)]
    return {paths[k]: n for n, group in enumerate(duplicate_groups(tracks, vectors)) for k in group}


def recording_groups(catalog, ids: np.ndarray, vectors: np.ndarray) -> list[list[int]]:
    """Groups of rows of (ids, vectors), as catalog.embeddings() reads them, that hold one recording (as `muzip
    dupes` groups them; each embedder's tracks apart, since their vectors do not compare), each group's best
    copy first (best_first: the most of the band held, stereo before mono, then lossless before lossy, the
    highest sample rate, the most channels, the largest file)."""
    row = {int(i): k for k, i in enumerate(ids)}
    groups = []
    for embedder in catalog.embedders():
        tracks = [t for t in catalog.fingerprints(embedder) if t[0] in row]
        found = duplicate_groups(tracks, vectors[[row[t[0]] for t in tracks]]) if tracks else []
        members = [tracks[k][0] for g in found for k in g]
        facts = held_facts(catalog, embedder, members) if members else {}
        groups += [[row[i] for i in sorted((tracks[k][0] for k in g), key=lambda i: (best_first(facts.get(i, {})), i))]
                   for g in found]
    return groups


# formats that keep every sample: a copy in one is the original's equal, where a lossy copy is not whatever its
# sample rate (an Opus file is 48 kHz, whatever it was made from); what a catalog without codecs goes by
LOSSLESS = frozenset({"flac", "wav", "wave", "w64", "rf64", "aif", "aiff", "aifc", "caf", "wv", "ape"})


def best_first(facts: dict) -> tuple:
    """Sort key of a copy's stored facts, best first: the most of the band held where "top" is given (the top
    frequency it holds, None for the whole band; held_facts), so a FLAC upsampled from 16 kHz is not the best of
    a recording also held as a full-band MP3; then a lossless codec before a lossy one (a 96-kbps Opus at 48 kHz
    is not better than the 44.1-kHz FLAC it was made from; an ALAC M4A is lossless, a WAV muzip decoded from a
    .mz is not: the stored codec, else the path's extension), lossy ones by their bitrate (the coded one of a
    decoded WAV, else bytes per second); then the highest sample rate, the most channels (a stereo file before a
    larger mono downmix), the largest file (the highest bitrate of one duration). A stereo copy comes before a
    mono one (held_facts' "mono": two equal channels are mono) right after the band: a mono FLAC or WAV made of a
    stereo recording has lost its stereo image, as a low-passed one has lost its top."""
    rate, size, top, channels, path, duration, codec, kbps, mono = (facts.get(k) for k in (
        "rate", "size", "top", "channels", "path", "duration", "codec", "kbps", "mono"))
    lossy = codec not in LOSSLESS_CODECS if isinstance(codec, str) else _extension(path) not in LOSSLESS
    if not lossy:
        bitrate = 0.0
    elif isinstance(kbps, (int, float)) and kbps > 0:
        bitrate = kbps * 125.0  # bytes per second
    else:
        bitrate = _audio_bytes(path, size) / duration if isinstance(size, int) and isinstance(duration, (int, float)) \
            and duration > 0 else 0.0
    return (-(top if isinstance(top, (int, float)) else np.inf), bool(mono), lossy, -bitrate,
            -(rate if isinstance(rate, int) else 0), -(channels if isinstance(channels, int) else 0),
            -(size if isinstance(size, int) else 0))


def _audio_bytes(path, size: int) -> int:
    """A file's bytes, a .mz's cover picture's left out, as compress rates it: a 6-kbps .mz with a 385-KB cover
    ranked above a 128-kbps MP3 as "314 kbps" (a review, session 60). The file as it is now (its header)."""
    if _extension(path) != "mz":
        return size
    try:
        from ..container import ContainerReader
        with open(path, "rb") as f:
            cover = ContainerReader(f).header.cover
        return size - (len(cover[1]) if cover else 0)
    except Exception:  # noqa: BLE001 - gone or damaged since it was indexed: its bytes, as before
        return size


def _extension(path) -> str:
    """A path's extension, lower case, without its dot ("" for none: not the whole name)."""
    import os
    return os.path.splitext(str(path).rsplit("/", 1)[-1])[1].lstrip(".").lower()


def copy_label(facts: dict) -> str:
    """What a copy is, as `dupes` says it beside its name: "FLAC, 44.1 kHz", "MP3, 320 kbps", "muzip-v2.7 at 24
    kbps, decoded to WAV", "MP3 at 64 kbps, restored to WAV" (muzip restore's output), with the band it holds where
    it holds less than its rate's (held_facts)."""
    from ..audio.probe import codec_name
    codec, kbps, path, rate, size, duration, top = (facts.get(k) for k in (
        "codec", "kbps", "path", "rate", "size", "duration", "top"))
    ext = _extension(path)
    if not isinstance(codec, str):  # a track indexed before codecs were stored: its extension
        codec = ext if ext in LOSSLESS else None
    khz = f"{rate / 1000:g} kHz" if isinstance(rate, int) else "rate unknown"
    if codec in LOSSLESS_CODECS or (codec in LOSSLESS):
        what = f"{codec_name(codec) if codec != 'pcm' else ext.upper() or 'PCM'}, {khz}"
    else:
        rate_kbps = kbps if isinstance(kbps, (int, float)) else (
            _audio_bytes(path, size) * 8 / duration / 1000 if isinstance(size, int)
            and isinstance(duration, (int, float)) and duration else None)
        name = codec_name(codec) if codec else ext.upper() or "lossy or unknown"
        how = "decoded" if str(codec).startswith("muzip") else "restored"  # muzip decompress, or muzip restore
        # coded once and now held in another format: a lossy codec in a lossless file, or a .mz decoded to any
        # (a plain MP3 stores its own audio's kbps too: sampled.stream_kbps)
        elsewhere = isinstance(kbps, (int, float)) and (ext in LOSSLESS or not ext or how == "decoded")
        what = f"{name}{f' at {rate_kbps:.0f} kbps' if rate_kbps else ''}" + (
            f", {how} to {ext.upper() or 'PCM'}" if elsewhere else "")
    own_edge = isinstance(top, (int, float)) and isinstance(rate, int) and top < 0.85 * rate / 2  # not the rate's
    channels = facts.get("channels")
    mono = ", mono" if channels == 1 else ", mono in 2 channels" if facts.get("mono") and channels == 2 else ""
    return what + mono + (f", band to {top / 1000:.1f} kHz" if own_edge else "")


def one_line_per_recording(catalog, embedder: str, hits: list[dict], count: int, dim: int,
                           exclude=()) -> list[dict]:
    """The first `count` recordings of a ranked list [{"id", "path", "score"}], each on one line: its best copy
    (best_first, the band each holds read from its descriptor), at its nearest copy's place and score, the other
    files of it in "copies" (best first; tracks in `exclude` left out). A listing of ten that showed one song as
    a FLAC, an MP3 and a low-rate rip would otherwise spend three lines on it. The copies of as many hits as
    lines are still wanted are looked for at once (copies_of_each: one read of the catalog for them all)."""
    covered, lines, of_each = set(exclude), [], {}
    for k, h in enumerate(hits):
        if len(lines) == count:
            break
        if h["id"] in covered:
            continue
        if h["id"] not in of_each:  # this hit and the next ones not yet covered, as many as lines are wanted
            batch = [x["id"] for x in hits[k:] if x["id"] not in covered and x["id"] not in of_each]
            of_each.update(copies_of_hits(catalog, embedder, batch[:count - len(lines)], dim))
        group = {i: p for i, p in of_each.get(h["id"], []) if i not in covered}
        covered |= {h["id"], *group}
        paths = {h["id"]: h["path"], **group}
        facts = held_facts(catalog, embedder, list(paths)) if group else {}
        members = sorted(paths, key=lambda i: (best_first(facts.get(i, {})), str(paths[i])))
        lines.append({**h, "id": members[0], "path": paths[members[0]], "copies": [paths[i] for i in members[1:]]})
    return lines


def best_playable(catalog, embedder: str, picks: list[tuple[int, str]], of_each: dict, playable,
                  exclude=()) -> dict[int, tuple[int, str]]:
    """{id: (id, path) of the copy of its recording an instant mix plays} for the mix's picks [(id, path)]
    (of_each: their copies, copies_of_hits): the one a player opens best (playable(path): a rank, 0 for a file it
    cannot open, which never stands in), then the best copy (best_first). So a song held as a FLAC and a 64-kbps
    MP3 plays as the FLAC whichever the mix came to first, a best copy gone from its folder gives way to the
    next, and a local MP3 is not swapped for a `.mz` or an object's URI. Copies in `exclude` (the seed's
    recording) and the mix's other picks never stand in, and a file stands in once."""
    ids = [i for i, _ in picks]
    taken = {*exclude, *ids}
    groups = {i: [c for c in of_each.get(i, []) if c[0] not in taken] for i in ids}
    facts = held_facts(catalog, embedder, list({*ids, *(c[0] for g in groups.values() for c in g)}))
    out, used = {}, set()
    for own in picks:
        rank = {c: playable(c[1]) for c in groups[own[0]] if c[0] not in used}
        rank[own] = max(playable(own[1]), 1)  # the pick itself plays as before, whatever it is
        out[own[0]] = min((c for c, r in rank.items() if r > 0),
                          key=lambda c: (-rank[c], best_first(facts.get(c[0], {})), str(c[1])))
        used.add(out[own[0]][0])
    return out


def copies_of_hits(catalog, embedder: str, ids: list[int], dim: int) -> dict:
    """{id: [(id, path), ...]} the catalog's copies of each of these tracks (copies_of_each, one read)."""
    prints = {i: (dur, fp) for i, _, dur, fp in catalog.fingerprints(embedder, ids)} if ids else {}
    found, vectors, _, _ = catalog.vectors_of(list(prints), dim) if prints else ([], [], [], {})
    return {**{i: [] for i in ids}, **copies_of_each(catalog, embedder, [
        (int(i), prints[int(i)][1], prints[int(i)][0], v) for i, v in zip(found, vectors)])}


def held_facts(catalog, embedder: str, ids) -> dict[int, dict]:
    """{id: stored facts (catalog.facts_of) with "top": the top frequency the file holds (band_limited.
    file_top_hz: its sample rate's, or its own low-pass's, read from its raw descriptor; None: the whole band)},
    read for all of them at once (band_limited.file_tops)."""
    from .band_limited import DIMS
    facts = catalog.facts_of(ids)
    out = {}
    for dim in DIMS:
        found, X = catalog.descriptors(embedder, dim, [i for i in facts if i not in out])
        out.update(_with_tops(facts, found.tolist(), X))
    rest = [i for i in facts if i not in out]  # no raw descriptor: what its sample rate holds
    out.update(_with_tops(facts, rest, None))
    return out


def _with_tops(facts: dict, ids: list, X) -> dict:
    """facts with "top" and, where the raw descriptor is known, "mono" (descriptors.is_mono: two equal channels too)."""
    from .band_limited import file_tops
    from .descriptors import is_mono
    mono = is_mono(X).tolist() if X is not None and len(ids) else [None] * len(ids)
    return {i: {**facts[i], "top": top, **({"mono": m} if m is not None else {})}
            for i, top, m in zip(ids, file_tops([facts[i].get("rate") for i in ids], X), mono)}
