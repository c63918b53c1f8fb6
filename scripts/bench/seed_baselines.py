"""The seeds' designs of issue 8, re-implemented and measured on the library bench's folds.

Used by scripts/bench/library_bench.py (`--seeds`). Each is trained from scratch for every test fold on that
fold's training tracks only (StratifiedGroupKFold by track, seed 0, as scripts/bench/embed_eval.py), then gives
per-fold predictions (accuracy, macro-F1) and per-fold test-track vectors (segment P@1 between track
halves, NMI of Affinity Propagation), so every row of docs/LIBRARY-SEEN.md's per-fold table is held out alike.

* capstone: librosa mel spectrogram (22.05 kHz, n_fft 2048, hop 512, 128 mels, dB) patches of 128
  frames (3 s) into a 2D CNN (2 conv + 2 dense); a track is the mean over its patches (softmax for the
  label, the first dense layer's output for the vector).
* MusicGenreClassification: 128-band mel frames (100 ms windows, 40 ms stride) in 3-s segments into a
  3-layer CNN with max pooling and a softmax; vectors from the layer before the softmax.
* Autogroove: a convolutional autoencoder on 256x256 mel spectrograms of 10-s clips with a 64-d code
  (unsupervised); the code, averaged over a track's clips, is the vector; the label comes from a
  logistic regression on the codes, clusters from Affinity Propagation on them.
VGG16 transfer learning (the capstone's 56 %) needs ImageNet weights, which cannot be fetched offline.
"""

from __future__ import annotations

import os

import numpy as np

SR = 22050
SECONDS = 120.0  # the first two minutes of a track, as the classical baseline reads
EPOCHS = {"capstone": 12, "frames": 12, "autogroove": 15}


def _mel(y, n_fft, hop, n_mels):
    import librosa
    m = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    return librosa.power_to_db(m, ref=1.0, top_db=None).T.astype(np.float32)  # (frames, mels)


def features(path: str) -> dict:
    """The three front ends of one track: (frames, bands) dB matrices."""
    import librosa
    y, _ = librosa.load(path, sr=SR, mono=True, duration=SECONDS)
    return features_of(y)


def features_of(y: np.ndarray) -> dict:
    """The three front ends of a mono signal at SR."""
    return {"capstone": _mel(y, 2048, 512, 128),
            "frames": _mel(y, 2205, 882, 128),  # 100 ms windows, 40 ms stride
            "autogroove": _mel(y, 2048, 862, 256)}  # 10 s -> 256 frames


PATCH = {"capstone": 128, "frames": 75, "autogroove": 256}


def patches(mel: np.ndarray, length: int, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Non-overlapping patches of `length` frames inside the [lo, hi) share of the track (at least one)."""
    a, b = int(lo * len(mel)), int(hi * len(mel))
    seg = mel[a:b]
    if len(seg) < length:
        seg = np.pad(seg, ((0, length - len(seg)), (0, 0)), constant_values=float(mel.min()))
    n = len(seg) // length
    return seg[:n * length].reshape(n, length, mel.shape[1])


def _standardize(train_x, *others):
    mu, sd = float(train_x.mean()), float(train_x.std()) + 1e-6
    return [(x - mu) / sd for x in (train_x, *others)]


def _capstone(n_classes, frames, bands):
    import keras
    from keras import layers
    x = inp = keras.Input((frames, bands, 1))
    for f in (32, 64):
        x = layers.Conv2D(f, 3, activation="relu", padding="same")(x)
        x = layers.MaxPooling2D(4)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    emb = layers.Dense(128, activation="relu", name="embedding")(x)
    out = layers.Dense(n_classes, activation="softmax")(layers.Dropout(0.3)(emb))
    return keras.Model(inp, out), keras.Model(inp, emb)


def _frames_cnn(n_classes, frames, bands):
    import keras
    from keras import layers
    x = inp = keras.Input((frames, bands))
    for f in (64, 128, 128):
        x = layers.Conv1D(f, 3, activation="relu", padding="same")(x)
        x = layers.MaxPooling1D(2)(x)
    emb = layers.GlobalAveragePooling1D(name="embedding")(x)
    out = layers.Dense(n_classes, activation="softmax")(layers.Dropout(0.3)(emb))
    return keras.Model(inp, out), keras.Model(inp, emb)


def _autoencoder(size=256, code=64):
    import keras
    from keras import layers
    x = inp = keras.Input((size, size, 1))
    for f in (16, 32, 32, 64):  # 256 -> 16
        x = layers.Conv2D(f, 3, strides=2, activation="relu", padding="same")(x)
    z = layers.Dense(code, name="code")(layers.Flatten()(x))
    x = layers.Reshape((16, 16, 64))(layers.Dense(16 * 16 * 64, activation="relu")(z))
    for f in (32, 32, 16):
        x = layers.Conv2DTranspose(f, 3, strides=2, activation="relu", padding="same")(x)
    out = layers.Conv2DTranspose(1, 3, strides=2, padding="same")(x)
    return keras.Model(inp, out), keras.Model(inp, z)


def _track_means(model, mels, length, expand, halves=False):
    """Mean of a model's outputs over each track's patches (or over each half's; or, where `mels` holds
    pairs of segments, over each segment's)."""
    parts = [(0.0, 0.5), (0.5, 1.0)] if halves else [(0.0, 1.0)]
    out = []
    for m in mels:
        for k, (lo, hi) in enumerate(parts):
            p = patches(m[k], length) if isinstance(m, tuple) else patches(m, length, lo, hi)
            p = p[..., None] if expand else p
            out.append(np.asarray(model.predict(p, verbose=0, batch_size=64)).mean(axis=0))
    V = np.array(out, np.float32)
    return (V[0::2], V[1::2]) if halves else V


def _unit(X):
    return X / (np.linalg.norm(X, axis=1, keepdims=True) + 1e-9)


def _parts(te, norm, segments, mu, sd):
    """What A and B are read from: each test track's halves, or its two given segments (standardized alike)."""
    return [norm[i] for i in te] if segments is None else [((segments[i][0] - mu) / sd, (segments[i][1] - mu) / sd)
                                                           for i in te]


def run_fold(kind, mels, y, tr, te, n_classes, seed, segments=None):
    """Train one seed design on tracks tr; return (predicted labels of te, test vectors X, halves A, B), or
    the vectors of `segments` (per track, a pair of mels) for A and B where given."""
    import keras
    keras.utils.set_random_seed(seed)
    length, expand = PATCH[kind], kind != "frames"
    stats = np.concatenate([mels[i].ravel() for i in tr])  # standardized with the training tracks only
    mu, sd = float(stats.mean()), float(stats.std()) + 1e-6
    norm = [(m - mu) / sd for m in mels]
    train = [patches(norm[i], length) for i in tr]
    x = np.concatenate(train)
    x = x[..., None] if expand else x
    if kind == "autogroove":
        ae, enc = _autoencoder()
        ae.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        ae.fit(x, x, epochs=EPOCHS[kind], batch_size=16, verbose=0, shuffle=True)
        from muzip.library.classify import fit_logistic  # the head `muzip classify` trains
        codes = _unit(_track_means(enc, norm, length, expand))
        coef, bias = fit_logistic(codes[tr], y[tr])
        pred = np.unique(y[tr])[np.argmax(codes[te] @ coef.T + bias, axis=1)]
        A, B = _track_means(enc, _parts(te, norm, segments, mu, sd), length, expand, halves=True)
        return pred, codes[te], _unit(A), _unit(B)
    labels = np.concatenate([np.full(len(p), y[i]) for p, i in zip(train, tr)])
    clf, emb = (_capstone if kind == "capstone" else _frames_cnn)(n_classes, length, x.shape[2])
    clf.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    clf.fit(x, labels, epochs=EPOCHS[kind], batch_size=32, verbose=0, shuffle=True)
    test = [norm[i] for i in te]
    pred = np.argmax(_track_means(clf, test, length, expand), axis=1)
    A, B = _track_means(emb, _parts(te, norm, segments, mu, sd), length, expand, halves=True)
    return pred, _unit(_track_means(emb, test, length, expand)), _unit(A), _unit(B)


NAMES = {"capstone": "seed: capstone mel 2D CNN", "frames": "seed: mel-frame CNN (MusicGenreClassification)",
         "autogroove": "seed: Autogroove autoencoder code"}


def evaluate(tracks, y, splits, kinds=tuple(NAMES), log=print) -> dict:
    """Per-fold accuracy, macro-F1, segment P@1 and AP NMI of each seed design on one labelled set."""
    from sklearn.metrics import f1_score
    from scripts.bench.library_folds import per_fold_unsupervised
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    feats = [features(p) for p in tracks]
    log(f"seeds: features of {len(tracks)} tracks")
    res = {}
    for kind in kinds:
        mels = [f[kind] for f in feats]
        pred, vectors = np.zeros(len(y), int), []
        for k, (tr, te) in enumerate(splits):
            p, X, A, B = run_fold(kind, mels, y, tr, te, int(y.max()) + 1, seed=k)
            pred[te] = p
            vectors.append((X, A, B))
            log(f"seeds: {kind} fold {k + 1}/{len(splits)}: accuracy {np.mean(p == y[te]):.3f}")
        res[NAMES[kind]] = {"accuracy": float(np.mean(pred == y)), "macro_f1": float(f1_score(y, pred, average="macro")),
                            **per_fold_unsupervised(lambda k, te: vectors[k], y, splits)}
    return res
