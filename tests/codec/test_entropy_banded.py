"""Class-banded entropy coding (codec.entropy.banded, muzip-v2.4): exact round trips, honest estimates,
empty bands that cost next to nothing, and damage reported as CorruptFileError."""

import json

import constriction
import numpy as np
import pytest

from muzip.codec import ModelConfig, load_model, to_mid_side
from muzip.codec.entropy import BandedCoder, coder_for
from muzip.codec.entropy.ans import PRECISION
from muzip.codec.entropy.banded import BandedLayout, count_banded_tables
from muzip.codec.payload import decode_payload, encode_payload
from muzip.codec.quantizer import level_steps
from muzip.errors import CorruptFileError, ModelError
from muzip.runtime.store import model_folder

NAME = "muzip-v2.4"


@pytest.fixture(scope="module")
def banded():
    return load_model(NAME)


def _latents(rng, shape, scale=3.0):
    """Laplacian latents whose scale falls with the channel, as the MDCT's do: the high bands mostly empty."""
    sc = scale * np.exp(-np.arange(shape[-1]) / 150.0)
    return np.rint(rng.laplace(0, sc, shape)).astype(np.int32)


def test_the_model_codes_with_banded_tables(banded):
    coder = banded.coder
    assert isinstance(coder, BandedCoder)
    L = coder.layout
    assert (L.bands, L.ncls) == (28, 8) and L.width.sum() == 882
    for probs in (coder.probs, coder.class_probs):
        assert np.allclose(probs.sum(-1), 1.0)


@pytest.mark.parametrize("shape", [(2, 51, 882), (1, 50, 882), (2, 1, 882)])
def test_round_trip_is_exact_with_escapes_mono_and_one_vector(banded, rng, shape):
    q = _latents(rng, shape)
    q.flat[rng.integers(0, q.size, 20)] = rng.choice([-1, 1], 20) * rng.integers(32, 5000, 20)  # escapes
    levels = [20, 22][:shape[0]]
    payload = encode_payload(banded.coder, q, levels)
    np.testing.assert_array_equal(decode_payload(banded.coder, payload, 51, levels), q)
    estimate = sum(banded.coder.estimate_bits(q[a], a, levels[a]) for a in range(shape[0]))
    assert abs(estimate - (len(payload) - 2) * 8) < 0.01 * estimate + 64  # ANS: within a word or two


def test_silence_costs_nothing_beyond_the_vector_count(banded):
    q = np.zeros((2, 50, 882), np.int32)
    payload = encode_payload(banded.coder, q, [10, 10])
    assert len(payload) <= 2 + 8
    assert not decode_payload(banded.coder, payload, 51, [10, 10]).any()


def test_fewer_bits_than_the_context_coder_on_real_latents(banded, clip):
    """The measured reason for the coder (scripts/experiments/exp_banded_entropy.py): on the same integer
    latents, frame by frame, at 12- and 24-kbps-like levels, it needs fewer bits than v2.3's context tables."""
    context = load_model("muzip-v2.3")
    audio, _ = clip
    y = banded.encode(to_mid_side(audio[:5 * 44100])[:, :, None])
    steps = level_steps(banded.config)
    for level in (38, 32):
        q = np.rint(y / steps[level]).astype(np.int32)
        frames = [(a, q[a, t:t + 50]) for a in range(2) for t in range(0, 250, 50)]
        ours = sum(banded.coder.estimate_bits(f, a, level) for a, f in frames)
        theirs = sum(context.coder.estimate_bits(f, a, level) for a, f in frames)
        assert ours < theirs, (level, ours, theirs)


def test_a_band_whose_latents_do_not_match_its_class_is_damage(banded, rng):
    """An encoder that wrote class 1 for a band holding a 2: the decoder refuses the frame."""
    coder, L = banded.coder, banded.coder.layout
    q = _latents(rng, (1, 3, 882), 1.0)
    q[0, :, :L.width[0]] = 0
    q[0, 1, 5] = 2
    enc = constriction.stream.stack.AnsCoder()
    idx = L.indices(q[0])
    cls = L.classes(np.abs(q[0]))
    assert cls[1, 0] == 2
    cls[1, 0] = 1  # the lie; the tables the decoder will pick follow from it
    crows, rows, coded = L.class_rows(cls), L.latent_rows(cls, np.abs(q[0])), (cls > 0)[:, L.band_of]
    for t in reversed(range(3)):
        enc.encode_reverse(idx[t][coded[t]], coder._family, coder.probs[0][rows[t][coded[t]]])
        enc.encode_reverse(cls[t].astype(np.int32), coder._family, coder.class_probs[0][crows[t]])
    words = enc.get_compressed().astype("<u4").tobytes()
    with pytest.raises(CorruptFileError, match="class"):
        coder.decode(words, 3, [20])


def test_flipped_bits_decode_or_are_reported_never_crash(banded, rng):
    q = _latents(rng, (2, 50, 882))
    payload = encode_payload(banded.coder, q, [20, 21])
    for _ in range(100):
        bad = bytearray(payload)
        bad[rng.integers(2, len(bad))] ^= 1 << int(rng.integers(8))
        try:
            decode_payload(banded.coder, bytes(bad), 51, [20, 21])
        except CorruptFileError:
            pass


def test_counted_tables_are_integer_rows_of_the_layout(banded, rng):
    cfg = banded.config
    tables = count_banded_tables([(a % 2, _latents(rng, (50, 882))) for a in range(6)], cfg)
    L = BandedLayout(cfg)
    assert tables.latents.shape == (2, L.bands, L.ncls, L.nctx, 2 * L.radius + 2)
    assert tables.classes.shape == (2, L.bands, L.ncls + 1, L.ncls)
    for t in (tables.latents, tables.classes):
        assert np.all(t.astype(np.int64).sum(-1) == 1 << PRECISION) and t.min() >= 1
    assert isinstance(coder_for(cfg, tables), BandedCoder)
    with pytest.raises(ValueError, match="shape"):
        BandedCoder(type(tables)(tables.latents[:, :5], tables.classes), cfg)


def test_a_bad_banded_config_is_refused():
    cfg = json.loads((model_folder(NAME) / "config.json").read_text())
    assert ModelConfig.from_dict(cfg).entropy == "banded"
    for change in ({"class_edges": [3, 2]}, {"class_edges": [0, 2]}, {"class_edges": [1, 99]}, {"class_width": 0}):
        with pytest.raises(ModelError, match="banded"):
            ModelConfig.from_dict(dict(cfg, **change))
    with pytest.raises(ModelError, match="banded"):
        ModelConfig.from_dict({k: v for k, v in cfg.items() if k != "class_width"})
