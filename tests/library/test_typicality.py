"""A classifier says when an input is unlike every track it was trained on (session 56): its logistic regression
gave silence, noise and mono copies a label at 0.99."""

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from muzip.cli import cli
from muzip.library import classify as C
from muzip.library.typicality import MAX_REFERENCE_VALUES, distance, nearest_distances, reference


def _clusters(seed=0, n=60, dim=32):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, dim)) * 3
    y = np.arange(n) % 3
    return centres[y] + rng.standard_normal((n, dim)), [f"c{k}" for k in y]


def test_nearest_distances_match_the_brute_force():
    rng = np.random.default_rng(1)
    Z, Q = rng.standard_normal((1500, 8)), rng.standard_normal((7, 8))
    brute = np.sqrt(((Q[:, None] - Z[None]) ** 2).sum(-1)).min(1)
    assert np.allclose(nearest_distances(Z, Q), brute)
    own = np.sqrt(((Z[:, None] - Z[None]) ** 2).sum(-1)) + np.diag(np.full(len(Z), np.inf))
    assert np.allclose(nearest_distances(Z, Z, skip_self=True), own.min(1))


def test_new_members_are_within_reach_and_far_inputs_are_not():
    X, labels = _clusters()
    model = C.train(X, labels, "test:1")
    new, _ = _clusters(seed=0, n=300)  # the same clusters, other draws (seeded as the first 60: skipped)
    near = np.array([distance(model, x) for x in new[60:]])
    assert np.mean(near > model["reach"]) < 0.05
    for far in (np.zeros(32), X.mean(0) + 40, np.full(32, 9.0)):
        assert distance(model, far) > model["reach"]
        assert max(C.predict(model, far)[1].values()) > 0.5  # the regression alone: sure of something


def test_the_reference_round_trips_and_an_older_classifier_has_none(tmp_path):
    X, labels = _clusters()
    model = C.train(X, labels, "test:1")
    C.save(model, tmp_path / "c.clf")
    back = C.load(str(tmp_path / "c.clf"))
    assert back["reach"] == model["reach"] and np.array_equal(back["reference"], model["reference"])
    assert distance(back, X[5]) == pytest.approx(0, abs=1e-5)
    older = {k: v for k, v in model.items() if k not in ("reference", "scale", "bounds", "reach")}
    C.save(older, tmp_path / "old.clf")
    assert distance(C.load(str(tmp_path / "old.clf")), X[5]) is None


def test_a_value_outside_the_training_range_does_not_decide_the_label():
    """The regression sees each input value within the training inputs' range: a mono copy's stereo width (log10
    side/mid -8 to -14, stereo music's -2.4 to +0.4) alone would decide its label."""
    X, labels = _clusters()
    model = C.train(X, labels, "test:1")
    x = X[0].copy()
    stretched = x.copy()
    stretched[3] = X[:, 3].min() - 1e4  # one dimension far out of range, the rest a c0 track
    assert C.predict(model, stretched)[0] == C.predict(model, x)[0] == "c0"
    assert distance(model, stretched) > model["reach"]  # and it is said to be unlike them


@pytest.mark.parametrize("damage", ["width", "no rows", "a part missing", "reach missing", "reach negative"])
def test_a_damaged_reference_is_refused(tmp_path, damage):
    X, labels = _clusters()
    model = C.train(X, labels, "test:1")
    if damage == "width":
        model["scale"] = model["scale"][:, :5]  # another width than the classifier's inputs
    elif damage == "no rows":
        model["reference"] = model["reference"][:0]  # nearest of nothing: was an internal error in predict
    elif damage.startswith("reach"):
        model["reach"] = None if damage == "reach missing" else -1.0
    C.save(model, tmp_path / "c.clf")
    if damage == "a part missing":
        import zipfile
        with zipfile.ZipFile(tmp_path / "c.clf") as z:
            members = {n: z.read(n) for n in z.namelist() if n != "bounds.npy"}
        with zipfile.ZipFile(tmp_path / "c.clf", "w") as z:
            for n, data in members.items():
                z.writestr(n, data)
    with pytest.raises(C.ClassifierError, match="its training inputs"):
        C.load(str(tmp_path / "c.clf"))


def test_a_large_training_set_keeps_an_even_sample():
    rng = np.random.default_rng(2)
    ref = reference(rng.standard_normal((MAX_REFERENCE_VALUES // 64 + 500, 64)))
    assert ref["reference"].size <= MAX_REFERENCE_VALUES and ref["reach"] > 0


def test_predict_warns_of_silence_and_noise(tmp_path):
    """Trained on two kinds of music-like tones, a file of white noise is labelled, with a warning (exit 3)."""
    rate, rng = 44100, np.random.default_rng(3)
    t = np.arange(6 * rate) / rate
    for label, base in (("low", 110.0), ("high", 880.0)):
        (tmp_path / "lab" / label).mkdir(parents=True)
        for i in range(5):
            f = base * (1 + 0.05 * i)
            # harmonics to 20 kHz, as music's: a pure tone leaves octaves that hold only its leakage, flat and steady
            x = sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, int(20000 / f)))
            x = 0.3 * x / np.abs(x).max() * (1 + 0.5 * np.sin(2 * np.pi * (2 + i) * t)) / 1.5
            sf.write(tmp_path / "lab" / label / f"{i}.wav", np.stack([x, x], 1).astype(np.float32), rate)
    sf.write(tmp_path / "noise.wav", (0.3 * rng.standard_normal((6 * rate, 2))).astype(np.float32), rate)
    runner = CliRunner()
    r = runner.invoke(cli, ["classify", "train", "-q", "-j", "1", str(tmp_path / "lab"), "-o", str(tmp_path / "c.clf")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["classify", "predict", "-j", "1", str(tmp_path / "c.clf"), str(tmp_path / "noise.wav"),
                            str(tmp_path / "lab" / "low" / "1.wav"), "--json"])
    noise, own = map(json.loads, r.stdout.splitlines())
    assert noise["unlike_training"] and not own["unlike_training"] and own["nearest"] < 1e-3, r.output
    assert noise["steady_flatness"] > 0.4 and "steady_flatness" not in own  # as flat as noise in every octave
    assert r.exit_code == 3 and "noise.wav: unlike every track" in r.stderr and "its label is a guess" in r.stderr
    assert "1.wav" not in r.stderr
    (tmp_path / "lib").mkdir()  # a catalog's track: its stored descriptor read the same (session 59)
    (tmp_path / "noise.wav").rename(tmp_path / "lib" / "noise.wav")
    r = runner.invoke(cli, ["index", "-q", "-j", "1", str(tmp_path / "lib"), "--db", str(tmp_path / "l.db")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["classify", "predict", "-j", "1", str(tmp_path / "c.clf"), "--db", str(tmp_path / "l.db"),
                            "--json"])
    assert json.loads(r.stdout)["steady_flatness"] == pytest.approx(noise["steady_flatness"], abs=0.02), r.output



def test_noise_is_told_by_its_flatness_in_every_octave(tmp_path):
    """Session 59: noise sat among music in the classifier's space (reach 1.8, noise 1.5-1.6), where the flatness
    per octave is left out. The classifier keeps the training tracks' greatest steady flatness (x MARGIN)."""
    from muzip.library.descriptors import DIM, FLATNESS_DIMS, LEVEL_SPREAD_DIM
    from muzip.library.typicality import MARGIN, NOISE_FLATNESS, noise_like, steady_flatness
    X, labels = _clusters()
    raw = np.zeros((len(X), DIM))
    raw[:, FLATNESS_DIMS[::2]] = np.linspace(0.1, 0.45, len(X))[:, None]  # each octave's mean flatness
    raw[:, FLATNESS_DIMS[1::2]] = 0.1  # and its deviation over time
    raw[0, FLATNESS_DIMS[::2][2]] = 0.9  # one noisy octave alone: the least flat one counts
    raw[:, LEVEL_SPREAD_DIM] = 1.0
    raw[1, FLATNESS_DIMS[::2]], raw[1, FLATNESS_DIMS[1::2]] = 0.95, 0.0  # a file mostly silent: not in the reach
    raw[1, LEVEL_SPREAD_DIM] = 9.0
    model = C.train(X, labels, "test:1", raw=raw)
    assert model["flat_reach"] == pytest.approx(0.35 * MARGIN) and steady_flatness(raw)[0] == pytest.approx(0.0)
    tonal = C.train(X, labels, "test:1", raw=raw - np.isin(np.arange(DIM), FLATNESS_DIMS[::2]) * 0.3)
    assert tonal["flat_reach"] == NOISE_FLATNESS  # all under 0: the floor, not 1.25 x nothing (a review)
    dither = raw.copy()
    dither[2, FLATNESS_DIMS[::2]], dither[2, FLATNESS_DIMS[1::2]] = 0.8, 0.02  # a silent track (wesnoth's silence.ogg)
    assert C.train(X, labels, "test:1", raw=dither)["flat_reach"] == pytest.approx(model["flat_reach"])
    low = np.zeros((1, DIM))
    low[0, FLATNESS_DIMS[::2]] = 0.5, 0.5, 0.5, 0.1, 0.1  # noise at 8 kHz: the octaves over 3.6 kHz not its own
    assert steady_flatness(low)[0] == pytest.approx(0.1) and steady_flatness(low, 8000)[0] == pytest.approx(0.5)
    noise = np.zeros(DIM)
    noise[FLATNESS_DIMS[::2]], noise[FLATNESS_DIMS[1::2]], noise[LEVEL_SPREAD_DIM] = 0.56, 0.06, 0.04
    gap = noise.copy()
    gap[LEVEL_SPREAD_DIM] = 11.3  # as flat, with half of it digital silence (flatness 1): not judged
    assert noise_like(model, noise) == pytest.approx(0.5) and noise_like(model, raw[-1]) is None
    assert noise_like(tonal, noise) == pytest.approx(0.5) and noise_like(tonal, raw[-1]) is None
    assert noise_like(model, gap) is None
    C.save(model, tmp_path / "c.clf")
    loaded = C.load(str(tmp_path / "c.clf"))
    assert loaded["flat_reach"] == pytest.approx(model["flat_reach"]) and C.how_flat(loaded, noise) is not None
    older = {k: v for k, v in model.items() if k != "flat_reach"}  # made before session 59
    assert noise_like(older, noise) is None and C.how_flat(model, None) is None


@pytest.mark.parametrize("bad", [-0.1, 7.0, "0.5", True])
def test_a_damaged_noise_reach_is_refused(tmp_path, bad):
    X, labels = _clusters()
    model = C.train(X, labels, "test:1", raw=np.zeros((len(X), 258)))
    model["flat_reach"] = bad
    C.save(model, tmp_path / "c.clf")
    with pytest.raises(C.ClassifierError, match="noise reach"):
        C.load(str(tmp_path / "c.clf"))
