"""Classifiers on track embeddings: multinomial logistic regression, stored without pickle.

A classifier file is an .npz holding the weights, the class names and a JSON description. `load` reads it
without np.load: every member's declared size (zip header) and shape and type (.npy header) is checked
against MAX_* limits before any data is decompressed, object arrays are refused (never unpickled), and
anything else is rejected with one clear error."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from ..errors import MuzipError

FORMAT = "muzip-classifier-1"


class ClassifierError(MuzipError):
    """Not a muzip classifier file, or one for other embeddings."""


def fit_logistic(X, y):
    """A logistic regression on the training vectors standardized by their own mean and deviation (C=1, as
    scikit-learn's pipeline default), folded back into one (coef, bias) on the raw vectors. Unit-length
    embeddings spread each dimension over ~1/sqrt(d); unstandardized, C=1 regularizes them so hard that a
    3-track label is never predicted (docs/EXPERIMENTS.md, session 39)."""
    from sklearn.linear_model import LogisticRegression
    X = np.asarray(X, np.float64)
    mean, dev = X.mean(axis=0), X.std(axis=0)
    dev = np.where(dev > 1e-9, dev, 1.0)  # a constant dimension carries nothing; keep its weight finite
    clf = LogisticRegression(C=1.0, max_iter=5000).fit((X - mean) / dev, y)
    coef = clf.coef_ if clf.coef_.shape[0] > 1 else np.vstack([-clf.coef_[0], clf.coef_[0]]) / 2
    bias = clf.intercept_ if clf.coef_.shape[0] > 1 else np.array([-clf.intercept_[0], clf.intercept_[0]]) / 2
    return coef / dev, bias - (coef / dev) @ mean


def cross_validate(X, y, groups, folds: int = 5, seed: int = 0, within_range: bool = False) -> dict:
    """Accuracy and macro-F1 over folds split by `groups` (a track, or a recording's copies: none of a test
    group is trained on). within_range: each test input brought into its training split's range first, as
    `predict` does (typicality.within_bounds), so `classify train` reports what its classifier will do; the
    benchmarks' LR columns are without it."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedGroupKFold
    # each fold must hold a group of every label: copies of one recording are one group (classify_train)
    k = min(folds, min(len(set(np.asarray(groups)[np.asarray(y) == c].tolist())) for c in np.unique(y)))
    if k < 2:
        return {"folds": 0, "accuracy": None, "macro_f1": None}
    pred = np.empty_like(y)
    for tr, te in StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(X, y, groups):
        labels = np.unique(y[tr])
        if len(labels) < 2:  # copies of one recording under two labels can leave a split one label: it is all
            pred[te] = labels[0]  # that split can say (a regression needs two)
            continue
        coef, bias = fit_logistic(X[tr], y[tr])
        test = np.asarray(X[te], np.float64)
        if within_range:
            test = np.clip(test, np.min(X[tr], axis=0), np.max(X[tr], axis=0))
        pred[te] = labels[np.argmax(test @ coef.T + bias, axis=1)]
    return {"folds": int(k), "accuracy": float(accuracy_score(y, pred)), "macro_f1": float(f1_score(y, pred, average="macro"))}


def train(X, labels, embedder: str, raw=None) -> dict:
    """The classifier of inputs X (N, d) labelled `labels`; with `raw`, the training files' raw descriptors
    (N, DIM), also a head for each of LOW_RATES on their band-limited view."""
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels])
    if len(classes) < 2:
        raise ClassifierError("need at least two labels (one subfolder per label)")
    coef, bias = fit_logistic(X, y)
    from .typicality import reference
    model = {"classes": classes, "coef": coef.astype(np.float32), "bias": bias.astype(np.float32),
             "embedder": embedder, **reference(X, raw)}
    if raw is not None:
        from .band_limited import top_hz, view
        model["low_rate"] = {r: tuple(a.astype(np.float32) for a in fit_logistic(view(raw, top_hz(r)), y))
                             for r in LOW_RATES}
    return model


# A file sampled at one of these rates (or above one, under band_limited.LOW_RATE_HZ) is labelled by the head of
# the highest rate it reaches, on the band-limited view of its descriptor: on the held-out folds the main
# head labels 16-kHz copies right 48-72 % of the time where it labels their audio 87-91 %, the 16-kHz head
# 76-88 % (scripts/experiments/exp_low_rate_neighbours.py, docs/EXPERIMENTS.md session 51).
LOW_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000)


def save(model: dict, file, extra: dict | None = None) -> None:
    """Write the classifier to `file` (a path or a binary file object)."""
    heads = model.get("low_rate", {})
    meta = {"format": FORMAT, "classes": model["classes"], "embedder": model["embedder"], **(extra or {}),
            **({"low_rate_heads": sorted(heads)} if heads else {}),
            **({"reach": model["reach"]} if "reference" in model else {}),
            **({"flat_reach": model["flat_reach"]} if "flat_reach" in model else {})}
    arrays = {"coef": model["coef"], "bias": model["bias"], "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
    if "reference" in model:  # typicality: the training inputs, standardized, and their range
        arrays.update(reference=model["reference"], scale=model["scale"], bounds=model["bounds"])
    for r, (coef, bias) in heads.items():
        arrays.update({f"low{r}_coef": coef, f"low{r}_bias": bias})
    if isinstance(file, (str, bytes, os.PathLike)):
        with open(file, "wb") as f:
            np.savez(f, **arrays)
    else:
        np.savez(file, **arrays)


# What a classifier may declare before anything is read: its members' sizes (zip headers) and their arrays'
# shapes and types (.npy headers). A class per row of coef and a column per embedding dimension; 16 MiB is
# 4,096 classes of 1,024-d float32 embeddings. Nothing bigger is decompressed, so a deflate bomb costs nothing.
MAX_MEMBER_BYTES = 16 << 20
MAX_META_BYTES = 1 << 20
MAX_CLASSES = 4096
MAX_DIM = 65536
MAX_MEMBERS = 64
_MEMBERS = {"coef": (2, "f"), "bias": (1, "f"), "meta": (1, "u1"), "reference": (2, "f"), "scale": (2, "f"),
            "bounds": (2, "f")}


def _refuse(reason: str):
    raise ClassifierError(f"not a muzip classifier ({reason})")


def _read_member(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    """One .npy member, its declared sizes checked before its data is read; never unpickled."""
    ndim, kind = _MEMBERS[name.split("_")[-1] if name.startswith("low") else name]
    try:
        info = zf.getinfo(name + ".npy")
    except KeyError:
        _refuse(f"no {name} array")
    limit = MAX_META_BYTES if name == "meta" else MAX_MEMBER_BYTES
    if info.file_size > limit + 4096:
        _refuse(f"{name} declares {info.file_size:,} bytes, more than a classifier holds")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=4096)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=4096)
        else:
            _refuse(f"{name}: .npy format {version[0]}.{version[1]}")
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            _refuse(f"{name} holds Python objects or records; they are never loaded")
        want = "u1" if kind == "u1" else "f"
        if (dtype.str[1:] != "u1") if want == "u1" else (dtype.kind != "f" or dtype.itemsize not in (4, 8)):
            _refuse(f"{name} is {dtype}, expected {'uint8' if want == 'u1' else 'float32'}")
        if len(shape) != ndim or any(int(d) < 0 for d in shape):
            _refuse(f"{name} has shape {shape}")
        if name.endswith("coef") and not (shape[0] <= MAX_CLASSES and shape[1] <= MAX_DIM) or \
                name in ("scale", "bounds") and not (shape[0] == 2 and shape[1] <= MAX_DIM):
            _refuse(f"{name} has shape {shape}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes > limit:
            _refuse(f"{name} declares {nbytes:,} bytes, more than a classifier holds")
        if f.tell() + nbytes != info.file_size:
            _refuse(f"{name}: its array and its zip entry differ in size")
        data = f.read(nbytes)
        if len(data) != nbytes or f.read(1):  # reading to the end checks the member's CRC
            _refuse(f"{name} is truncated")
    a = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")
    return a if name == "meta" else a.astype(np.float32)


def load(path: str) -> dict:
    """The classifier in `path`; ClassifierError (one line) for anything that is not one, read in bounded memory."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(6)
            if head == b"\x93NUMPY":
                _refuse("a NumPy .npy array, not a classifier .npz")
            if head[:2] != b"PK":
                _refuse("not a zip file" if head else "empty file")
            with zipfile.ZipFile(raw) as zf:
                if len(zf.infolist()) > MAX_MEMBERS:
                    _refuse(f"{len(zf.infolist())} members")
                meta_bytes = _read_member(zf, "meta")
                coef, bias = _read_member(zf, "coef"), _read_member(zf, "bias")
                heads = _low_rate_heads(zf, meta_bytes)
                names = set(zf.namelist())  # typicality (typicality.py): none in a classifier before session 56
                kept = {k: _read_member(zf, k) for k in ("reference", "scale", "bounds") if f"{k}.npy" in names}
    except FileNotFoundError:
        raise ClassifierError("no such file") from None
    except IsADirectoryError:
        raise ClassifierError("is a directory") from None
    except OSError as exc:
        raise ClassifierError(f"cannot read ({exc.strerror or exc})") from None
    except (ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            SyntaxError, TypeError, OverflowError, MemoryError) as exc:
        # zip damage (bad CRC, unsupported compression, encryption), a malformed .npy header
        raise ClassifierError(f"not a muzip classifier ({type(exc).__name__}: {str(exc)[:80]})") from None
    try:
        meta = json.loads(meta_bytes.tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        _refuse("its description is not JSON")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        _refuse("unknown format")
    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or coef.ndim != 2 or coef.shape[0] != len(classes) \
            or bias.shape != (len(classes),) or coef.shape[1] == 0:
        raise ClassifierError("damaged classifier (shapes do not match)")
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(bias))):
        raise ClassifierError("damaged classifier (weights not finite)")
    if heads:
        from .band_limited import DIMS, top_hz, view
    for r, (c, b) in heads.items():
        widths = {view(np.zeros((1, d)), top_hz(r)).shape[1] for d in DIMS}  # what a file's view can be
        if c.shape[0] != len(classes) or c.shape[1] not in widths or b.shape != (len(classes),) or not (
                np.all(np.isfinite(c)) and np.all(np.isfinite(b))):
            raise ClassifierError(f"damaged classifier (its {r}-Hz head)")
    model = {"classes": [str(c) for c in classes], "coef": coef, "bias": bias, "embedder": meta.get("embedder"),
             "meta": meta, "low_rate": heads}
    reach = meta.get("reach")
    if kept or reach is not None:  # typicality.reference's parts: all of them, whole, or none (before session 56)
        if not _whole_reference(kept, reach, coef.shape[1]):
            raise ClassifierError("damaged classifier (its training inputs)")
        model.update(kept, reach=float(reach))
    flat = meta.get("flat_reach")  # typicality.noise_like's: none before session 59
    if flat is not None:
        if not isinstance(flat, (int, float)) or isinstance(flat, bool) or not 0 <= flat <= 2:
            raise ClassifierError("damaged classifier (its noise reach)")
        model["flat_reach"] = float(flat)
    return model


def _whole_reference(kept: dict, reach, dim: int) -> bool:
    if len(kept) != 3 or not isinstance(reach, (int, float)) or not np.isfinite(reach) or reach < 0:
        return False
    ref, scale, bounds = kept["reference"], kept["scale"], kept["bounds"]
    return ref.ndim == 2 and ref.shape[0] >= 1 and ref.shape[1] == dim and scale.shape == bounds.shape == (2, dim) \
        and all(np.all(np.isfinite(a)) for a in (ref, scale, bounds)) and np.all(scale[1] > 0) \
        and np.all(bounds[0] <= bounds[1])


def _low_rate_heads(zf: zipfile.ZipFile, meta_bytes: np.ndarray) -> dict:
    """{rate: (coef, bias)} of the heads the description lists (none in a classifier before session 51)."""
    try:
        rates = json.loads(meta_bytes.tobytes().decode("utf-8")).get("low_rate_heads", [])
    except (ValueError, UnicodeDecodeError, RecursionError, AttributeError):
        return {}  # load() says what is wrong with the description
    if not isinstance(rates, list) or not all(r in LOW_RATES for r in rates):
        _refuse("its low-rate heads are not ones this muzip reads")
    return {int(r): (_read_member(zf, f"low{r}_coef"), _read_member(zf, f"low{r}_bias")) for r in rates}


def low_rate_head(model: dict, rate, raw: np.ndarray | None = None) -> int | None:
    """The head a file of this sample rate (and raw descriptor, where known: a low-pass of its own counts too,
    band_limited.file_top_hz) is labelled by: the highest rate whose band the file holds; None: the main one."""
    from .band_limited import file_top_hz
    return head_for_top(model, file_top_hz(rate, raw))


def head_for_top(model: dict, top: float | None) -> int | None:
    """The low-rate head for a file holding the band up to `top` Hz (None: the whole band, the main head)."""
    from .band_limited import top_hz
    if top is None:
        return None
    fits = [r for r in model.get("low_rate", {}) if top_hz(r) <= top * (1 + 1e-9)]
    return max(fits) if fits else None


def how_far(model: dict, emb: np.ndarray, raw: np.ndarray | None = None, rate=None) -> float | None:
    """typicality.distance of a file the main head labels; None for one a band-limited head labels (on its own
    view: how far its whole-band input lies from the training tracks says nothing), or an older classifier."""
    if raw is not None and low_rate_head(model, rate, raw) is not None:
        return None
    from .typicality import distance
    return distance(model, emb)


def how_flat(model: dict, raw: np.ndarray | None, rate=None) -> float | None:
    """typicality.noise_like: a file's (at sample `rate`) steady flatness where it is as flat as noise in every
    octave it holds, else None."""
    from .typicality import noise_like
    return noise_like(model, raw, rate)


def predict(model: dict, emb: np.ndarray, raw: np.ndarray | None = None, rate=None) -> tuple[str, dict]:
    """(label, {class: probability}) of a file's classifier inputs `emb`; a low-rate or low-passed file's (`rate`,
    with its raw descriptor `raw`) by its band-limited head where the classifier has one for it."""
    head = low_rate_head(model, rate, raw) if raw is not None else None
    coef, bias = model["coef"], model["bias"]
    if head is not None:
        from .band_limited import top_hz, view
        emb, (coef, bias) = view(raw[None], top_hz(head))[0], model["low_rate"][head]
    if emb.shape != (coef.shape[1],):
        raise ClassifierError(f"classifier expects {coef.shape[1]}-d inputs, got {emb.shape[-1]}")
    if not np.all(np.isfinite(emb)):
        raise ClassifierError("embedding is not finite (NaN or infinity)")
    if head is None:
        from .typicality import within_bounds
        emb = within_bounds(model, emb)
    with np.errstate(over="ignore", invalid="ignore"):
        logits = coef.astype(np.float64) @ emb.astype(np.float64) + bias
    if not np.all(np.isfinite(logits)):
        raise ClassifierError("scores are not finite (classifier or embedding out of range)")
    p = np.exp(logits - logits.max())
    p /= p.sum()
    scores = {c: round(float(v), 6) for c, v in zip(model["classes"], p)}
    return model["classes"][int(np.argmax(p))], scores
