"""The classifier head (muzip.library.classify.fit_logistic): a logistic regression on standardized
vectors folded into one (coef, bias), so a label of three tracks among many is still learned from
unit-length embeddings, and two-label probabilities are the regression's own."""

import numpy as np

from muzip.library import classify as C


def _unit(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _small_label_set(seed=0, dim=128):
    """Unit vectors: two labels of 20 tracks and one of 3, each label offset along its own direction by
    less than the within-label scatter, as a held-out collection's embeddings are."""
    rng = np.random.default_rng(seed)
    dirs = rng.standard_normal((3, dim))
    X, y = [], []
    for k, n in enumerate((20, 20, 3)):
        X.append(rng.standard_normal((n, dim)) + 2.0 * dirs[k] / np.linalg.norm(dirs[k]) * np.sqrt(dim) / 4)
        y += [k] * n
    return _unit(np.concatenate(X)), np.array(y)


def test_the_folded_head_predicts_as_the_standardized_regression():
    from sklearn.linear_model import LogisticRegression
    X, y = _small_label_set()
    coef, bias = C.fit_logistic(X, y)
    m, s = X.mean(axis=0), X.std(axis=0)
    ref = LogisticRegression(C=1.0, max_iter=5000).fit((X - m) / s, y)
    probe = _unit(np.random.default_rng(1).standard_normal((50, X.shape[1])))
    np.testing.assert_allclose(probe @ coef.T + bias, ref.decision_function((probe - m) / s), rtol=1e-6, atol=1e-6)


def test_a_three_track_label_is_learned_from_unit_vectors():
    X, y = _small_label_set()
    cv = C.cross_validate(X, y, groups=np.arange(len(y)), folds=3)
    model = C.train(X, [str(v) for v in y], "test:0")
    assert [C.predict(model, x)[0] for x in X[y == 2]] == ["2"] * 3  # unstandardized C=1 never predicted it
    assert cv["accuracy"] >= 0.9


def test_two_labels_give_the_regressions_probabilities():
    from sklearn.linear_model import LogisticRegression
    X, y = _small_label_set()
    X, y = X[y < 2], y[y < 2]
    model = C.train(X, ["a" if v == 0 else "b" for v in y], "test:0")
    m, s = X.mean(axis=0), X.std(axis=0)
    ref = LogisticRegression(C=1.0, max_iter=5000).fit((X - m) / s, y)
    _, scores = C.predict(model, X[0])
    assert abs(scores["b"] - ref.predict_proba(((X[0] - m) / s)[None])[0, 1]) < 1e-4


def test_a_constant_dimension_keeps_the_weights_finite():
    X, y = _small_label_set()
    X = np.concatenate([X, np.full((len(X), 1), 0.5)], axis=1)
    coef, bias = C.fit_logistic(X, y)
    assert np.all(np.isfinite(coef)) and np.all(np.isfinite(bias))


def test_cross_validation_predicts_as_predict_does_within_the_training_range():
    """`classify train`'s accuracy is what its classifier will do: `predict` clips each input to the training
    range (typicality.within_bounds), so each fold's test tracks are clipped to that fold's training range."""
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 20)
    width = 0.01 * rng.standard_normal(40) + 0.02 * y  # a value that leans to label 1 within a narrow range
    X = np.stack([np.where(y == 1, 1.0, -1.0) + 0.3 * rng.standard_normal(40), width], axis=1)
    X[0, 1] = 1e3  # one track of label 0 far beyond that range (as a mono copy's stereo width is)
    groups = np.arange(40)
    plain = C.cross_validate(X, y, groups, folds=5)
    clipped = C.cross_validate(X, y, groups, folds=5, within_range=True)
    assert plain["accuracy"] == 39 / 40 and clipped["accuracy"] == 1.0  # the far track: wrong, then right
    model = C.train(np.delete(X, 0, axis=0), [str(v) for v in y[1:]], "test:0")
    assert C.predict(model, X[0])[0] == "0"  # as predict labels it
