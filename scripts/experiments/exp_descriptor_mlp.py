"""A nonlinear embedding of embed-v3's descriptors, self-supervised, against its linear discriminant (issue 25).

    .venv/bin/python -m scripts.experiments.exp_descriptor_mlp [--steps 3000] [--hidden 512] [--seeds 0]

The same training data as the embed-v3 recipe refitted per leave-one-corpus-out fold (scripts/experiments/
exp_embed_v3.py --coded, whose descriptor cache it reads: augmented 15-s segments of every training file of
the fold, half of them coded, each corpus standardized by its own statistics; the class is the track, no
labels). Instead of the LDA, a small Keras network (dropout 0.3, Dense(hidden, gelu) -> Dense(128), unit length, plus the
LDA's own projection as a fixed linear path, so it starts where the LDA is) trained with a supervised
contrastive loss on track identity (Khosla et al. 2020; temperature 0.1, 64 tracks x 2 segments a batch).
Scored as scripts/bench/library_loco.py, the collection standardized by its own statistics; the LR head reads
[vector, standardized descriptor] as `muzip classify` does.
"""
import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.projection import per_corpus  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import METRICS, score_vectors  # noqa: E402
from scripts.experiments.exp_embed_v3 import held_out_fold, unit  # noqa: E402

TEMPERATURE = 0.1
DROPOUT = 0.3


def build(dim_in: int, hidden: int, W: np.ndarray, seed: int):
    import keras
    from keras import layers, ops
    keras.utils.set_random_seed(seed)
    x = keras.Input((dim_in,))
    linear = layers.Dense(W.shape[1], use_bias=False, trainable=False, name="lda")
    h = layers.Dense(hidden, activation="gelu")(layers.Dropout(DROPOUT)(x))
    residual = layers.Dense(W.shape[1], kernel_initializer="zeros")(h)
    y = linear(x) / float(np.sqrt(np.mean(np.sum(W ** 2, axis=0)))) + residual
    y = y / ops.maximum(ops.norm(y, axis=-1, keepdims=True), 1e-9)
    model = keras.Model(x, y)
    linear.set_weights([W.astype(np.float32)])
    return model


def supcon(z, ids):
    from keras import ops
    sim = ops.matmul(z, ops.transpose(z)) / TEMPERATURE
    n = ops.shape(z)[0]
    eye = ops.eye(n)
    sim = sim - 1e9 * eye
    same = ops.cast(ops.equal(ids[:, None], ids[None, :]), "float32") * (1.0 - eye)
    logp = sim - ops.logsumexp(sim, axis=1, keepdims=True)
    return -ops.mean(ops.sum(logp * same, axis=1) / ops.maximum(ops.sum(same, axis=1), 1.0))


def train(Z, tracks, W, steps, hidden, seed):
    """The network fitted with model.fit (any Keras backend) on batches of 64 tracks x 2 segments."""
    import keras
    from keras import ops
    model = build(Z.shape[1], hidden, W, seed)
    rng = np.random.default_rng(seed)
    by_track = {t: np.flatnonzero(tracks == t) for t in np.unique(tracks)}
    keys = np.array(list(by_track))

    def batches():
        while True:
            chosen = rng.choice(keys, 64, replace=False)
            idx = np.concatenate([rng.choice(by_track[t], 2, replace=False) for t in chosen])
            yield Z[idx].astype(np.float32), np.repeat(chosen, 2).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=lambda ids, z: supcon(z, ops.reshape(ids, (-1,))))
    per = min(steps, 500)
    model.fit(batches(), steps_per_epoch=per, epochs=max(1, steps // per), verbose=0)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--seeds", default="0")
    a = ap.parse_args()
    rows = {}
    for fold in L.FOLDS:
        f = held_out_fold(fold)
        Xt, yt, corpora, W, y, X, A, B, mc, sc = (
            f[k] for k in ("Xt", "yt", "corpora", "W", "y", "X", "A", "B", "mc", "sc"))
        Z = per_corpus(np.asarray(Xt, np.float64), corpora)
        z = [(v - mc) / sc for v in (X, A, B)]
        variants = {"LDA 128 (the recipe)": lambda v: unit(v @ W)}
        for seed in (int(s) for s in a.seeds.split(",")):
            net = train(Z, yt, W, a.steps, a.hidden, seed)
            variants[f"LDA + contrastive MLP, seed {seed}"] = lambda v, net=net: np.asarray(net(v.astype(np.float32)))
        for name, f in variants.items():
            V = [f(v) for v in z]
            r = score_vectors(*V, y, features=np.concatenate([V[0], z[0]], axis=1))
            rows.setdefault(name, []).append([r[k] for k in METRICS])
            print(fold, name, " ".join(f"{k} {r[k]:.3f}" for k in METRICS), flush=True)
    for name, v in rows.items():
        print("mean", name, " ".join(f"{k} {m:.3f}±{s:.3f}" for k, m, s in
                                     zip(METRICS, np.mean(v, axis=0), np.std(v, axis=0))))


if __name__ == "__main__":
    main()
