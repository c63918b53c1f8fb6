"""A collection's own statistics for the embedders that use them (embed-v3, muzip.library.projection).

`muzip index` stores each track's raw descriptor beside a provisional embedding (projected with the
embedder's prior statistics); at the end of the run `refresh` computes the catalog's statistics from every
stored descriptor and re-projects all of its tracks, so every vector of a catalog is projected the same
way. A large catalog's statistics are frozen: from FREEZE_AT tracks on, a run projects only the tracks it
wrote, with the stored statistics, until the catalog has GROWTH times the tracks they were computed from
-- re-projecting (and re-indexing) a million tracks for every album added would take minutes, and the
mean and spread of thousands of tracks move little with more. Each full re-projection is paid for by as
many new tracks as the catalog had, so a catalog's projection costs O(1) per track added. A query file
from outside the catalog is projected with the catalog's statistics (`query_vector`); a classifier keeps
those of its training files (`fit_collection`) and reads every track under them, a catalog's too.
"""

from __future__ import annotations

import numpy as np


def uses_collection(embed) -> bool:
    return hasattr(embed, "describe")


FREEZE_AT = 5000  # tracks: the mean and spread of more move little
GROWTH = 2


def refresh(catalog, embed, embedder_id: str, full: bool = False) -> int:
    """Project the catalog's described tracks with its statistics: all of them with statistics computed
    now (always, with `full`), or (a large catalog, statistics frozen) those written since the last refresh;
    returns how many."""
    dim = int(embed.scalings.shape[0])
    stored = None if full else catalog.collection(embedder_id, dim)
    if stored is not None:
        stats, tracks, gen = stored
        changed = catalog.changed_since(gen)
        if changed is not None and not len(changed):
            return 0  # nothing written since: no generation bump, so the ANN index stays current
        if changed is not None and tracks >= FREEZE_AT and catalog.count() <= GROWTH * tracks:
            ids, raw = catalog.descriptors(embedder_id, dim, changed)
            if len(ids):
                catalog.set_collection(embedder_id, ids, embed.project(raw, stats), stats, tracks)
            return len(ids)
    ids, raw = catalog.descriptors(embedder_id, dim)
    if not len(ids):
        return 0
    # Summed in content order: the same files give the same statistics, bit for bit, whatever order they were
    # indexed in (a Ray run's completion order, -j's).
    stats = embed.stats(raw[np.lexsort(raw.T[::-1])])
    catalog.set_collection(embedder_id, ids, embed.project(raw, stats), stats, len(ids))
    return len(ids)


def adopt_described(catalog, embed, embedder_id: str) -> int:
    """Take over the tracks of another projection of the same descriptors (an earlier embed-v3, say, still
    installed): projected from their stored descriptors instead of read again (a track without a sound
    descriptor stays as it was, so `index` reads it again). Returns how many."""
    from .identity import same_descriptors
    dim = int(embed.scalings.shape[0])
    found = [catalog.descriptors(e, dim) for e in catalog.embedders()
             if e != embedder_id and same_descriptors(e, embedder_id)]
    if not found or not sum(len(ids) for ids, _ in found):
        return 0
    ids, raw = np.concatenate([i for i, _ in found]), np.concatenate([r for _, r in found])
    stats = embed.stats(raw[np.lexsort(raw.T[::-1])])  # content order, as refresh
    catalog.adopt(embedder_id, ids, embed.project(raw, stats), stats)
    return len(ids)


def raw_of(record: dict) -> np.ndarray:
    return np.frombuffer(record["descriptor"], "<f4").astype(np.float64)


def query_vector(catalog, embed, embedder_id: str, record: dict) -> np.ndarray:
    """The embedding of a file outside the catalog, projected as the catalog's tracks are."""
    stats = catalog.collection_stats(embedder_id, int(embed.scalings.shape[0]))
    return embed.project(raw_of(record)[None], embed.stats() if stats is None else stats)[0]


# A classifier of a descriptor embedder declares what it reads (classify meta "features"): the projection and
# the standardized descriptor without its flatness (DescriptorEmbedder.features); classifiers written before
# session 42 read the whole descriptor, older ones the unit vectors.
CLASSIFIER_FEATURES = "projection+descriptor without flatness"
WHOLE_DESCRIPTOR = "projection+descriptor"


def reads_descriptors(model_meta: dict) -> bool:
    """True where a classifier reads descriptors (features), not only the stored unit vectors."""
    return model_meta.get("features") in (CLASSIFIER_FEATURES, WHOLE_DESCRIPTOR)


def fit_collection(embed, raws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(classifier features, statistics) of a set of files taken as one collection (a classifier's training
    files)."""
    stats = embed.stats(raws)
    return embed.features(raws, stats), stats


def classifier_inputs(embed, model_meta: dict, raws: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """What a trained classifier reads from raw descriptors under `stats`: its features, or (older
    classifiers) the unit vectors."""
    if reads_descriptors(model_meta):
        return embed.features(raws, stats, flatness=model_meta.get("features") == WHOLE_DESCRIPTOR)
    return embed.project(raws, stats)


def catalog_inputs(catalog, embed, embedder_id: str, model_meta: dict, stats: np.ndarray, stored_dim: int = 0):
    """(ids, what the classifier reads) of a catalog's described tracks, under `stats` (a classifier's: those
    of its training files, as its files are read). stored_dim: the length of the descriptors the catalog
    stores for embedder_id when they are longer than `embed`'s and begin with them (identity.reads_descriptors_of)."""
    dim = int(embed.scalings.shape[0])
    ids, raw = catalog.descriptors(embedder_id, max(dim, stored_dim))
    if not len(ids):
        return ids, np.zeros((0, 0), np.float32)
    return ids, classifier_inputs(embed, model_meta, raw[:, :dim], stats)
