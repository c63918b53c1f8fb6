"""`muzip map`: a t-SNE map of the catalog (scikit-learn), drawn with matplotlib, exemplars labelled."""

from __future__ import annotations

import os

import numpy as np


# A map of more than LARGE_MAP tracks (recordings: copies are placed once) is made faster, not otherwise:
# - LARGE_MAP_ITER Barnes-Hut iterations, not scikit-learn's 1,000: the last 250 move a large map little;
# - its nearest neighbours found by euclidean distance (the same order for unit vectors), scikit-learn's fast
#   path: 0.8 s where its cosine search took 3-5 s; t-SNE is given them as the cosine distances it would find.
# At 10,000 tracks t-SNE took 57.4 s, now 37.5 s: KL 1.625 -> 1.649, a track's 10 nearest kept on the map
# 0.254 -> 0.246, trustworthiness 0.990 either way (scripts/experiments/exp_map_speed.py,
# docs/logs/map_speed_s53.log). A smaller map is scikit-learn's own, as before (the maps docs show keep their look).
LARGE_MAP = 5000
LARGE_MAP_ITER = 750


def tsne_2d(emb: np.ndarray, seed: int = 0) -> np.ndarray:
    from sklearn.manifold import TSNE
    n = len(emb)
    if n < 3:
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    if n <= LARGE_MAP:
        return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                    random_state=seed).fit_transform(emb)
    return TSNE(n_components=2, perplexity=perplexity, metric="precomputed", init=_pca_start(emb, seed),
                random_state=seed, max_iter=LARGE_MAP_ITER).fit_transform(_cosine_neighbours(emb, perplexity))


def places(emb: np.ndarray, copies=(), seed: int = 0) -> np.ndarray:
    """(N, 2) the map's places of unit embeddings (N, D): t-SNE of each recording once, by its best copy's vector
    (`copies`: groups of rows that hold one recording, best copy first; library.copies.recording_groups), and
    its other copies on a small ring around it (COPY_RING of the map's extent). A copy at a low sample rate lies
    far from its original by embedding (README): on the map it lies with it, in its cluster's colour."""
    from .cluster import stand_ins
    stands_for, kept = stand_ins(len(emb), copies)
    xy = tsne_2d(emb[kept], seed)[np.searchsorted(kept, stands_for)]
    extent = float(np.ptp(xy, axis=0).max()) if len(xy) else 0.0
    ring = COPY_RING * (extent if extent > 0 else 1.0)  # one recording: its copies still apart
    for g in copies:
        turns = 2 * np.pi * np.arange(len(g) - 1) / max(len(g) - 1, 1)
        xy[np.asarray(g[1:], int)] += ring * np.column_stack([np.cos(turns), np.sin(turns)])
    return xy


COPY_RING = 0.006


def _cosine_neighbours(emb: np.ndarray, perplexity: float):
    """The sparse graph of each track's 3 * perplexity + 1 nearest (as TSNE finds them) and itself (TSNE leaves
    each track out of its own neighbours, as from its own search), as cosine distances: for unit vectors
    |a - b|^2 / 2 = 1 - a.b."""
    from sklearn.neighbors import NearestNeighbors
    k = min(len(emb) - 1, int(3.0 * perplexity + 1))
    graph = NearestNeighbors(n_neighbors=k + 1, metric="euclidean").fit(emb).kneighbors_graph(emb, mode="distance")
    graph.data = graph.data.astype(np.float64) ** 2 / 2
    return graph


def _pca_start(emb: np.ndarray, seed: int) -> np.ndarray:
    """TSNE's init="pca" (which it refuses with precomputed distances): the first two principal components,
    scaled to a standard deviation of 1e-4 along the first."""
    from sklearn.decomposition import PCA
    from sklearn.utils import check_random_state
    pca = PCA(n_components=2, random_state=check_random_state(seed))
    pca.set_output(transform="default")
    start = pca.fit_transform(emb).astype(np.float32, copy=False)
    return start / np.std(start[:, 0]) * 1e-4


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


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def style(k: int, colours: int) -> tuple[int, str]:
    """(colour, marker) of the map's k-th group: past the palette's colours the marker changes, so groups
    1 and 21 of a 21-cluster map are not drawn alike (a colour and a shape each, for 8 palettes' worth)."""
    return k % colours, MARKERS[(k // colours) % len(MARKERS)]


def _short(name: str, most: int = 40) -> str:
    """A legend's name of at most `most` characters: its start and its end, which tell folders apart."""
    return name if len(name) <= most else name[:most // 2 - 2] + "..." + name[-(most - most // 2 - 1):]


def _draw(plt, xy, groups, labelled, path, title) -> None:
    names = sorted(set(groups))
    cmap = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
    fig, ax = plt.subplots(figsize=(10, 8))
    for k, name in enumerate(names):
        idx = [i for i, g in enumerate(groups) if g == name]
        colour, marker = style(k, cmap.N)
        ax.scatter(xy[idx, 0], xy[idx, 1], s=18, color=cmap(colour), marker=marker, label=_short(name), alpha=0.85)
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


def folder_groups(paths: list[str]) -> list[str]:
    """Each track's folder, as the map colours by folder: its file's own folder (a link's target's, so a folder
    of links is coloured as the album it points into), named from the folder all of them share. Two folders of
    one name ("music" in every game's tree) are two colours, and the legend reads "Artist/Album"."""
    local = [p for p in paths if "://" not in p]
    folders = {p: os.path.dirname(os.path.realpath(p)) for p in local}
    root = os.path.commonpath(list(folders.values())) if folders else ""
    if folders and all(f == root for f in folders.values()):  # one folder: its name
        root = os.path.dirname(root)
    return [os.path.relpath(folders[p], root) if p in folders else p.rsplit("/", 1)[0] for p in paths]


def exemplar_names(paths: list[str], exemplars) -> dict[int, str]:
    """{row: the label of that exemplar on the map}: its file name without extension, with its folder's name
    before it where another track of the catalog has that file name too (four songs' "guitar.ogg")."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    return {int(i): stems[i] if counts[stems[i]] == 1 else
            f"{os.path.basename(os.path.dirname(paths[i]))}/{stems[i]}" for i in exemplars}
