"""`muzip map`: a t-SNE map of the catalog (scikit-learn), drawn with matplotlib, exemplars labelled."""

from __future__ import annotations

import os

import numpy as np


def tsne_2d(emb: np.ndarray, seed: int = 0) -> np.ndarray:
    from sklearn.manifold import TSNE
    n = len(emb)
    if n < 3:
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed).fit_transform(emb)


def draw(xy: np.ndarray, groups: list[str], labelled: dict[int, str], path, title: str) -> None:
    """A PNG of the map to `path` (a file name, written through a temp file, or a binary file object)."""
    import warnings

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with warnings.catch_warnings():
        # a name in a script the font lacks (CJK, emoji) is drawn as boxes; matplotlib's warning per glyph,
        # with its source line, is not for the user
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        _draw(plt, xy, groups, labelled, path, title)


def _draw(plt, xy, groups, labelled, path, title) -> None:
    names = sorted(set(groups))
    cmap = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
    fig, ax = plt.subplots(figsize=(10, 8))
    for k, name in enumerate(names):
        idx = [i for i, g in enumerate(groups) if g == name]
        ax.scatter(xy[idx, 0], xy[idx, 1], s=18, color=cmap(k % cmap.N), label=name[:40], alpha=0.85)
    for i, text in labelled.items():
        ax.annotate(text[:32], xy[i], fontsize=7, xytext=(4, 4), textcoords="offset points",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7, "lw": 0})
        ax.scatter([xy[i, 0]], [xy[i, 1]], s=60, facecolors="none", edgecolors="black", linewidths=1.2)
    if len(names) <= 20:
        ax.legend(fontsize=8, loc="best", markerscale=1.2, framealpha=0.8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    try:
        if not isinstance(path, (str, os.PathLike)):
            fig.savefig(path, dpi=100, format="png")
            return
        tmp = os.path.join(os.path.dirname(os.path.abspath(path)), "." + os.path.basename(path) + ".tmp.png")
        fig.savefig(tmp, dpi=100, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
