"""The map's t-SNE of a large catalog (above tsne_map.LARGE_MAP tracks): its own neighbour search and start."""

import numpy as np

from muzip.library import tsne_map


def _clusters(n=300, dim=16, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim))
    which = rng.integers(0, k, n)
    emb = centres[which] + 0.3 * rng.standard_normal((n, dim))
    return (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32), which


def test_the_euclidean_search_finds_the_cosine_neighbours_and_their_cosine_distances():
    from sklearn.neighbors import NearestNeighbors
    emb, _ = _clusters()
    graph = tsne_map._cosine_neighbours(emb, 30.0)
    want = NearestNeighbors(n_neighbors=92, metric="cosine").fit(emb).kneighbors_graph(emb, mode="distance")
    for i in range(len(emb)):
        got, ref = graph[[i]], want[[i]]
        assert set(got.indices) == set(ref.indices) and i in set(got.indices)
        assert np.allclose(np.sort(got.data), np.sort(ref.data), atol=1e-5)


def test_a_large_map_keeps_its_clusters_apart(monkeypatch):
    """The large catalog's path (here from 100 tracks) places each track among its own cluster's, as the small
    one does."""
    emb, which = _clusters()
    monkeypatch.setattr(tsne_map, "LARGE_MAP", 100)
    xy = tsne_map.tsne_2d(emb)
    assert xy.shape == (len(emb), 2) and np.all(np.isfinite(xy))
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :10]
    assert np.mean(which[nearest] == which[:, None]) > 0.99


def test_a_large_map_takes_the_large_path_and_a_small_one_scikit_learns(monkeypatch):
    """Above LARGE_MAP, TSNE is handed the neighbour graph and runs LARGE_MAP_ITER iterations; at or under it,
    scikit-learn's own cosine t-SNE as before."""
    import sklearn.manifold
    seen = []

    class Recording:
        def __init__(self, **kw):
            seen.append(kw)

        def fit_transform(self, X):
            seen[-1]["X"] = X
            return np.zeros((X.shape[0], 2))
    monkeypatch.setattr(sklearn.manifold, "TSNE", Recording)
    emb, _ = _clusters(120)
    monkeypatch.setattr(tsne_map, "LARGE_MAP", 100)
    tsne_map.tsne_2d(emb)
    tsne_map.tsne_2d(emb[:100])
    large, small = seen
    assert large["metric"] == "precomputed" and large["max_iter"] == tsne_map.LARGE_MAP_ITER
    assert large["X"].shape == (120, 120) and large["X"].nnz == 120 * 92 and large["init"].shape == (120, 2)
    assert small["metric"] == "cosine" and small["init"] == "pca" and "max_iter" not in small


def test_one_recording_held_three_times_is_three_dots():
    emb, _ = _clusters(3)
    xy = tsne_map.places(emb, [[0, 1, 2]])
    assert len({tuple(p) for p in xy.round(9).tolist()}) == 3


def test_groups_past_the_palette_are_drawn_another_shape():
    from muzip.library.tsne_map import style
    looks = [style(k, 20) for k in range(160)]
    assert len(set(looks)) == 160 and looks[0] == (0, "o") and looks[20] == (0, "s")
    assert style(5, 10) == (5, "o") and style(15, 10) == (5, "s")


def test_folder_colours_tell_folders_of_one_name_apart_and_follow_links(tmp_path):
    import os
    from muzip.library.tsne_map import folder_groups
    for d in ("a/music", "b/music", "links"):
        (tmp_path / d).mkdir(parents=True)
    for f in ("a/music/1.ogg", "a/music/2.ogg", "b/music/3.ogg"):
        (tmp_path / f).write_bytes(b"")
    os.symlink(tmp_path / "b/music/3.ogg", tmp_path / "links/3.ogg")
    paths = [str(tmp_path / f) for f in ("a/music/1.ogg", "a/music/2.ogg", "b/music/3.ogg", "links/3.ogg")]
    assert folder_groups(paths) == ["a/music", "a/music", "b/music", "b/music"]
    assert folder_groups(paths[:2]) == ["music", "music"]  # one folder: its name
    assert folder_groups(["s3://bucket/album/x.mz"]) == ["s3://bucket/album"]


def test_an_exemplar_whose_file_name_is_shared_is_named_with_its_folder():
    from muzip.library.tsne_map import exemplar_names
    paths = ["/m/chaos_god/guitar.ogg", "/m/armygeddon/guitar.ogg", "/m/armygeddon/song.ogg", "/m/x/solo.flac"]
    assert exemplar_names(paths, [0, 2, 3]) == {0: "chaos_god/guitar", 2: "song", 3: "solo"}
