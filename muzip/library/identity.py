"""An embedder's identity: its name and a digest of its SHA256SUMS, stored with every catalog record and
classifier, and which embedders read the same descriptors (so one can take over another's catalog rows).

Two projections of the same descriptors (embed-v3 and a refit of it, say) differ only in the projection: a
catalog's stored raw descriptors are the input of both, so its tracks can be re-projected instead of read
again, and a classifier of one can still read a catalog of the other through its own projection. An
embedder whose descriptors begin with another's (embed-v4's and v5's are embed-v3's followed by onset patterns)
holds what a classifier of the other reads, but not the other way round.
"""

from __future__ import annotations

import hashlib

from ..errors import MuzipError


def embedder_identity(name: str) -> tuple[str, dict, str]:
    """(resolved name, config, embedder id) of an installed embedder; ModelError if it is not installed."""
    from ..codec.config import read_model_json
    from ..runtime.store import model_folder, resolve_name
    name = resolve_name(name)
    config = read_model_json(name)
    digest = hashlib.sha256((model_folder(name) / "SHA256SUMS").read_bytes()).hexdigest()[:16]
    return name, config, f"{name}:{digest}"


def _descriptor_config(embedder_id: str) -> dict | None:
    """The config of the installed embedder with exactly this id, if it projects descriptors."""
    try:
        _, config, got = embedder_identity(str(embedder_id).split(":")[0])
    except (MuzipError, OSError):
        return None
    if got != embedder_id or config.get("kind") != "embedder":
        return None
    return config if str(config.get("features", "")).startswith("mdct descriptors") else None


def same_descriptors(a: str, b: str) -> bool:
    """True when embedder ids a and b are installed (exactly these files) and project the same descriptors."""
    ca, cb = _descriptor_config(a), _descriptor_config(b)
    return ca is not None and cb is not None and all(ca.get(k) == cb.get(k) for k in ("features", "descriptor_dim"))


def descriptor_dim(embedder_id: str) -> int | None:
    """The length of the raw descriptors an installed descriptor embedder stores."""
    config = _descriptor_config(embedder_id)
    return None if config is None else int(config.get("descriptor_dim", 0)) or None


def reads_descriptors_of(reader: str, stored: str) -> bool:
    """True when the descriptors of embedder `stored` are those of `reader`, or begin with them (the first
    descriptor_dim(reader) values), both installed exactly as they were."""
    cr, cs = _descriptor_config(reader), _descriptor_config(stored)
    if cr is None or cs is None:
        return False
    fr, fs = str(cr.get("features")), str(cs.get("features"))
    dr, ds = cr.get("descriptor_dim"), cs.get("descriptor_dim")
    return (fr == fs and dr == ds) or (fs.startswith(f"{fr} + ") and isinstance(dr, int) and isinstance(ds, int)
                                       and dr < ds)
