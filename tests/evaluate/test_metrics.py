import warnings

import numpy as np
import pytest

from muzip.metrics import align, find_delay, log_spectral_distance, mel_distance, si_sdr_db, snr_db

SR = 44100


def music_like(rng, seconds=1.0, channels=2):
    """Sum of a few harmonic tones with an envelope plus a little noise: broadband but structured."""
    t = np.arange(int(SR * seconds)) / SR
    out = np.zeros((len(t), channels))
    for c in range(channels):
        for f0 in rng.uniform(80, 800, size=3):
            for h in range(1, 6):
                out[:, c] += np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi)) / h
        out[:, c] *= 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t) ** 2
        out[:, c] += 0.01 * rng.standard_normal(len(t))
    return (0.2 * out / np.max(np.abs(out))).astype(np.float32)


def add_noise(rng, x, snr):
    noise = rng.standard_normal(x.shape)
    noise *= np.sqrt(np.mean(x.astype(np.float64) ** 2) / 10 ** (snr / 10))
    return x + noise


def test_identical_signals():
    rng = np.random.default_rng(0)
    x = music_like(rng)
    assert mel_distance(x, x, SR) == 0.0
    assert log_spectral_distance(x, x, SR) == 0.0
    assert snr_db(x, x) == float("inf")
    assert si_sdr_db(x, x) > 100
    assert si_sdr_db(x, 0.5 * x) > 100  # scale-invariant
    assert snr_db(x, x + 1e-9) > 100


def test_mono_and_stereo_agree():
    rng = np.random.default_rng(1)
    x = music_like(rng, channels=1)
    y = add_noise(rng, x, 20)
    both = mel_distance(x[:, 0], y[:, 0], SR)
    assert both == pytest.approx(mel_distance(x, y, SR))
    stereo = mel_distance(np.repeat(x, 2, axis=1), np.repeat(y, 2, axis=1), SR)
    assert stereo == pytest.approx(both)


@pytest.mark.parametrize("delay", [0, 7, 1105, -300])
def test_align_recovers_pure_delay(delay):
    rng = np.random.default_rng(2)
    x = music_like(rng)
    if delay >= 0:
        deg = np.concatenate([np.zeros((delay, 2), np.float32), x])  # deg late by `delay`
    else:
        deg = x[-delay:]
    assert find_delay(x, deg, 2048) == delay
    r, d, found = align(x, deg, 2048)
    assert found == delay
    assert len(r) == len(d)
    assert len(r) == len(x) - max(0, -delay)
    assert snr_db(r, d) == float("inf")


def test_align_respects_max_delay():
    rng = np.random.default_rng(3)
    x = music_like(rng)
    deg = np.concatenate([np.zeros((500, 2), np.float32), x])
    assert abs(find_delay(x, deg, 100)) <= 100


@pytest.mark.parametrize("target", [0.0, 10.0, 30.0])
def test_snr_of_white_noise_at_known_level(target):
    rng = np.random.default_rng(4)
    x = music_like(rng, seconds=2.0)
    y = add_noise(rng, x, target)
    assert abs(snr_db(x, y) - target) < 0.1


def test_mel_and_lsd_grow_with_noise():
    rng = np.random.default_rng(5)
    x = music_like(rng)
    mels, lsds = [], []
    for snr in (40, 30, 20, 10, 0):
        y = add_noise(rng, x, snr)
        mels.append(mel_distance(x, y, SR))
        lsds.append(log_spectral_distance(x, y, SR))
    assert mels[0] > 0
    assert all(a < b for a, b in zip(mels, mels[1:])), mels
    assert all(a < b for a, b in zip(lsds, lsds[1:])), lsds


def test_si_sdr_tracks_snr_for_unscaled_noise():
    rng = np.random.default_rng(6)
    x = music_like(rng)
    y = add_noise(rng, x, 15)
    assert abs(si_sdr_db(x, y) - 15) < 0.5


# -- streaming (MetricStream, StftFramer) against the whole-signal definitions above ----------------


def feed(stream, ref, deg, sizes):
    """Feed in blocks cycling through `sizes` (none of which divides a frame or hop size)."""
    i, k = 0, 0
    while i < len(ref):
        n = sizes[k % len(sizes)]
        stream.update(ref[i:i + n], deg[i:i + n])
        i, k = i + n, k + 1
    return stream.finish()


def whole(ref, deg, sr=SR):
    return {"mel_distance": mel_distance(ref, deg, sr), "si_sdr_db": si_sdr_db(ref, deg),
            "lsd_db": log_spectral_distance(ref, deg, sr), "snr_db": snr_db(ref, deg)}


@pytest.mark.parametrize("n", [1, 5, 16, 17, 31, 33, 100, 1023, 1024, 1025, 2048, 2049, 5000])
def test_stft_framer_matches_librosa_edges(n):
    import librosa
    from muzip.metrics import StftFramer
    x = np.random.default_rng(n).standard_normal((2, n))
    for n_fft, hop in ((32, 8), (2048, 512)):
        framer, parts = StftFramer(n_fft, hop), []
        for i in range(0, n, 7):  # 7: divides neither the hop nor the frame
            parts.append(framer.push(x[:, i:i + 7]))
        parts.append(framer.finish(2))
        frames = np.concatenate(parts, axis=1)
        ref = librosa.util.frame(np.pad(x, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect"),
                                     frame_length=n_fft, hop_length=hop)
        assert frames.shape == (2, 1 + n // hop, n_fft) == np.moveaxis(ref, -1, 1).shape
        np.testing.assert_array_equal(frames, np.moveaxis(ref, -1, 1))


@pytest.mark.parametrize("channels", [1, 2])
def test_stream_matches_whole_signal(clip, channels):
    """12 s of real music against a lowpassed, noisy copy: the streamed metrics equal the whole-signal
    functions to rounding, whatever the block sizes."""
    from scipy import signal
    from muzip.metrics import MetricStream
    x, sr = clip
    x = x[:, :channels]
    b, a = signal.butter(4, 9000 / (sr / 2))
    y = (signal.lfilter(b, a, x, axis=0) + 0.002 * np.random.default_rng(7).standard_normal(x.shape)).astype(np.float32)
    expect = whole(x, y, sr)
    for sizes in ([4099], [1000, 77, 44100], [MetricStream.CHUNK + 13]):
        got = feed(MetricStream(sr, channels), x, y, sizes)
        for key, value in expect.items():
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (key, sizes)


def test_stream_identical_and_near_identical():
    from muzip.metrics import MetricStream
    rng = np.random.default_rng(8)
    x = music_like(rng, seconds=3.0)
    got = feed(MetricStream(SR, 2), x, x, [3001])
    assert got["mel_distance"] == 0.0 and got["lsd_db"] == 0.0
    assert got["snr_db"] == float("inf") and got["si_sdr_db"] == float("inf")
    # a near-perfect scaled copy: the residual sums keep SI-SDR accurate where sum(d^2) - <d,r>^2/<r,r>
    # would cancel to noise
    y = 0.7 * x.astype(np.float64) + 1e-6 * rng.standard_normal(x.shape)
    got = feed(MetricStream(SR, 2), x, y, [10007])
    assert got["si_sdr_db"] == pytest.approx(si_sdr_db(x, y), abs=1e-6)
    assert got["snr_db"] == pytest.approx(snr_db(x, y), rel=1e-12)
    # tiny inputs (shorter than the smallest frame) follow librosa's padding too
    z = add_noise(rng, x[:9], 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # librosa: n_fft larger than the signal
        expect = whole(x[:9], z)
    assert feed(MetricStream(SR, 2), x[:9], z, [4]) == pytest.approx(expect)


def test_find_delay_blockwise_matches_direct_correlation():
    """find_delay correlates block by block; longer than a block, it still picks the direct argmax."""
    rng = np.random.default_rng(9)
    x = music_like(rng, seconds=4.0)
    for delay in (37, -45):
        deg = np.roll(x, delay, axis=0) + 0.05 * rng.standard_normal(x.shape)
        r, d = x.mean(axis=1).astype(np.float64), deg.mean(axis=1).astype(np.float64)
        direct = [np.dot(r[max(0, -k):len(r) - max(0, k)], d[max(0, k):len(d) - max(0, -k)]) for k in range(-60, 61)]
        assert find_delay(x, deg, 60) == delay == int(np.argmax(direct)) - 60
