"""`muzip eval`: compare a reference with a degraded version (any audio file, or a .mz, which is decoded).

Preparation, in this order:

* a ``.mz`` input (recognised by its magic bytes) is decoded in memory with the model it names; its
  actual bitrate (file bytes * 8 / duration, from the container index) is reported;
* the degraded signal is resampled to the reference's rate if they differ (soxr, VHQ);
* channels: equal counts are compared channel by channel; if one is mono and the other stereo both are
  mixed to mono (mean of the channels); more than 2 channels are first mixed to stereo as in compress;
* a constant delay within +-0.1 s is found by cross-correlation and removed (:func:`muzip.metrics.align`),
  and both signals are trimmed to their common length.

Metrics (definitions in :mod:`muzip.metrics`; all at the reference's sample rate):

* ``visqol_mos``: ViSQOL v3 MOS-LQO, audio mode (visqol-python, bundled SVR model, nothing downloaded):
  the mono mixes resampled to 48 kHz. 1..5, higher is better; identical signals give about 4.73;
* ``mel_distance``: DAC's multi-scale mel distance: sum over 7 STFT scales (windows 32..2048, 5..320 mel
  bands) of the mean |log10(mel_ref^2) - log10(mel_deg^2)| (mel magnitudes clamped at 1e-5); 0 = identical;
* ``si_sdr_db``: scale-invariant SDR (mean-removed; per channel, averaged); higher is better;
* ``lsd_db``: log-spectral distance: RMS over frequency of the dB power-spectrum difference (STFT 2048/512),
  averaged over frames and channels; 0 = identical;
* ``snr_db``: 10*log10(sum ref^2 / sum (ref - deg)^2) over all samples and channels; higher is better.

SNR and SI-SDR are +inf for identical signals (null in JSON).
"""

import io
import json
import math
import os

import numpy as np

from . import metrics
from .errors import MuzipError

VISQOL_RATE = 48000
MAX_DELAY_S = 0.1
INSTALL_HINT = "pip install 'muzip[eval]'"
_MZ_MAGIC = b"\x89MZ\n"


class MissingDependencyError(MuzipError):
    """An optional dependency (visqol-python, matplotlib) was required but is not installed."""


def have_visqol() -> bool:
    try:
        import visqol  # noqa: F401
    except ImportError:
        return False
    return True


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


_VISQOL_API = None


def visqol_mos(ref, deg, sr: int) -> float:
    """ViSQOL v3 MOS-LQO in audio mode: mono mixes of ref and deg, resampled from ``sr`` to 48 kHz.
    Raises MissingDependencyError without visqol-python, ValueError for signals shorter than ~1 s."""
    global _VISQOL_API
    try:
        from visqol import VisqolApi
    except ImportError:
        raise MissingDependencyError(f"ViSQOL needs visqol-python ({INSTALL_HINT})") from None
    x, y = (_mono(np.asarray(s, np.float64)) for s in (ref, deg))
    if sr != VISQOL_RATE:
        import soxr
        x, y = (soxr.resample(s, sr, VISQOL_RATE, quality="VHQ") for s in (x, y))
    if _VISQOL_API is None:
        api = VisqolApi()
        api.create(mode="audio")
        _VISQOL_API = api
    return float(_VISQOL_API.measure_from_arrays(x, y, VISQOL_RATE).moslqo)


def _mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def _is_mz(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == _MZ_MAGIC
    except OSError:
        return False  # AudioSource reports missing/unreadable files in the usual words


def load(path: str, get_model=None):
    """Read ``path`` as float32 (n, ch) audio. Returns (audio, sample_rate, kbps or None); kbps is the
    actual bitrate of a .mz, which is decoded with ``get_model(model_id)`` (default: load_model)."""
    if _is_mz(path):
        from .codec import decompress_bytes
        from .container import read_info
        with open(path, "rb") as f:
            data = f.read()
        try:
            kbps = read_info(io.BytesIO(data))["actual_bitrate_bps"] / 1000.0
            model = None
            if get_model is not None:
                from .container import ContainerReader
                model = get_model(ContainerReader(io.BytesIO(data)).header.model_id)
            audio, sr = decompress_bytes(data, model)
        except MuzipError as exc:
            raise MuzipError(str(exc) if str(exc).startswith(f"{path}: ") else f"{path}: {exc}") from None
        return np.asarray(audio, np.float32), int(sr), kbps
    from .audio_io import AudioSource
    with AudioSource(path, downmix=True) as src:
        blocks = list(src.blocks(1 << 18))
        sr, ch = src.info.sample_rate, src.info.channels
    audio = np.concatenate(blocks) if blocks else np.zeros((0, ch), np.float32)
    if len(audio) == 0:
        raise MuzipError(f"{path}: no audio samples")
    return audio, int(sr), None


def prepare(ref, ref_sr, deg, deg_sr, max_delay_s=MAX_DELAY_S):
    """Resample, match channels and align (see the module docstring). Returns (ref, deg, delay, how)."""
    how = []
    if deg_sr != ref_sr:
        import soxr
        deg = np.asarray(soxr.resample(deg, deg_sr, ref_sr, quality="VHQ"), np.float32).reshape(-1, deg.shape[1])
        how.append(f"degraded resampled {deg_sr} -> {ref_sr} Hz")
    if ref.shape[1] != deg.shape[1]:
        how.append(f"{ref.shape[1]} vs {deg.shape[1]} channels: compared as mono mixes")
        ref, deg = ref.mean(axis=1, keepdims=True), deg.mean(axis=1, keepdims=True)
    ref, deg, delay = metrics.align(ref, deg, int(round(max_delay_s * ref_sr)))
    if len(ref) == 0:
        raise MuzipError("nothing to compare after alignment")
    return ref, deg, delay, how


def evaluate(reference: str, degraded: str, get_model=None, visqol=None, plot=None) -> dict:
    """Compute all metrics for two files. ``visqol``: None = if installed, True = required (error if
    missing), False = skip. ``plot``: PNG path to write (the caller checks overwriting)."""
    if visqol and not have_visqol():
        raise MissingDependencyError(f"--visqol needs visqol-python ({INSTALL_HINT})")
    if plot and not have_matplotlib():
        raise MissingDependencyError(f"--plot needs matplotlib ({INSTALL_HINT})")
    ref, ref_sr, ref_kbps = load(reference, get_model)
    deg, deg_sr, deg_kbps = load(degraded, get_model)
    r, d, delay, how = prepare(ref, ref_sr, deg, deg_sr)
    res = {"reference": reference, "degraded": degraded, "sample_rate": ref_sr,
           "reference_channels": ref.shape[1], "degraded_channels": deg.shape[1],
           "degraded_sample_rate": deg_sr, "compared_channels": r.shape[1],
           "compared_seconds": len(r) / ref_sr, "delay_samples": delay, "delay_ms": 1000.0 * delay / ref_sr,
           "visqol_mos": None, "mel_distance": metrics.mel_distance(r, d, ref_sr),
           "si_sdr_db": metrics.si_sdr_db(r, d), "lsd_db": metrics.log_spectral_distance(r, d, ref_sr),
           "snr_db": metrics.snr_db(r, d), "bitrate_kbps": deg_kbps, "notes": how}
    if ref_kbps is not None:
        res["reference_bitrate_kbps"] = ref_kbps
    if visqol is not False:
        if not have_visqol():
            res["notes"].append(f"ViSQOL: not installed ({INSTALL_HINT})")
        else:
            try:
                res["visqol_mos"] = visqol_mos(r, d, ref_sr)
            except ValueError as exc:  # too short for its 30-frame patches (about 1 s)
                if visqol:
                    raise MuzipError(f"{degraded}: ViSQOL failed: {exc}") from None
                res["notes"].append(f"ViSQOL: not computed ({exc})")
    if plot:
        write_plot(plot, r, d, ref_sr, res)
    return res


def _fmt(value, unit="", digits=2):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return ("+inf" if value > 0 else "-inf") + unit
    return f"{value:.{digits}f}{unit}"


def format_table(res: dict) -> str:
    rate = "" if res["degraded_sample_rate"] == res["sample_rate"] else f", {res['degraded_sample_rate']} Hz"
    mz = f", .mz decoded, {res['bitrate_kbps']:.1f} kbps" if res["bitrate_kbps"] is not None else ""
    lines = [
        ("reference", f"{res['reference']} ({res['sample_rate']} Hz, {res['reference_channels']} ch)"),
        ("degraded", f"{res['degraded']} ({res['degraded_channels']} ch{rate}{mz})"),
        ("compared", f"{res['compared_seconds']:.3f} s, {res['compared_channels']} ch at {res['sample_rate']} Hz; "
                     f"delay {res['delay_samples']:+d} samples ({res['delay_ms']:+.2f} ms)"),
        ("ViSQOL MOS-LQO", _fmt(res["visqol_mos"], digits=3) + "  (1-5, higher is better; 48 kHz mono)"),
        ("mel distance", _fmt(res["mel_distance"], digits=3) + "  (multi-scale, lower is better)"),
        ("SI-SDR", _fmt(res["si_sdr_db"], " dB")),
        ("log-spectral dist.", _fmt(res["lsd_db"], " dB")),
        ("SNR", _fmt(res["snr_db"], " dB")),
    ]
    if res["bitrate_kbps"] is not None:
        lines.append(("bitrate", f"{res['bitrate_kbps']:.2f} kbps (actual)"))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in lines)


def format_json(res: dict) -> str:
    """One JSON object; infinities and NaN become null (strict JSON)."""
    def clean(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v
    return json.dumps({k: clean(v) for k, v in res.items()}, allow_nan=False)


def _summary(res: dict) -> str:
    parts = [f"ViSQOL {_fmt(res['visqol_mos'])}", f"mel {_fmt(res['mel_distance'])}",
             f"SI-SDR {_fmt(res['si_sdr_db'], ' dB', 1)}", f"LSD {_fmt(res['lsd_db'], ' dB')}",
             f"SNR {_fmt(res['snr_db'], ' dB', 1)}"]
    if res["bitrate_kbps"] is not None:
        parts.append(f"{res['bitrate_kbps']:.1f} kbps")
    return "   ".join(parts)


def write_plot(path: str, ref, deg, sr: int, res: dict) -> None:
    """Three panels over time on a mel frequency axis (128 bands, STFT 2048/512, mono mixes): reference
    and degraded power in dB re the reference's peak, and degraded - reference in dB (clipped to +-20)."""
    import librosa
    import matplotlib
    matplotlib.use("Agg")
    import librosa.display
    from matplotlib.figure import Figure

    def mel_db(x, ref_power):
        s = librosa.feature.melspectrogram(y=_mono(np.asarray(x, np.float32)), sr=sr, n_fft=2048, hop_length=512, n_mels=128)
        return 10.0 * np.log10(np.maximum(s, 1e-10) / ref_power)

    peak = float(librosa.feature.melspectrogram(y=_mono(np.asarray(ref, np.float32)), sr=sr, n_fft=2048,
                                                hop_length=512, n_mels=128).max()) or 1.0
    a, b = mel_db(ref, peak), mel_db(deg, peak)
    a, b = np.maximum(a, -100.0), np.maximum(b, -100.0)  # floor both so silence does not dominate the difference
    fig = Figure(figsize=(12, 10), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    kw = dict(sr=sr, hop_length=512, x_axis="time", y_axis="mel", fmax=sr / 2)
    panels = [(a, f"Reference: {os.path.basename(res['reference'])}", "magma", (-100, 0), "dB re reference peak"),
              (b, f"Degraded: {os.path.basename(res['degraded'])}", "magma", (-100, 0), "dB re reference peak"),
              (b - a, "Difference: degraded - reference (red: added, blue: missing)", "RdBu_r", (-20, 20), "dB")]
    for ax, (img, title, cmap, (lo, hi), label) in zip(axes, panels):
        mesh = librosa.display.specshow(img, ax=ax, cmap=cmap, vmin=lo, vmax=hi, **kw)
        ax.set_title(title)
        fig.colorbar(mesh, ax=ax, label=label)
    for ax in axes[:2]:
        ax.set_xlabel("")
    axes[2].set_xlabel("time (s)")
    fig.suptitle(_summary(res) + f"   (delay {res['delay_samples']:+d} samples)")
    fig.savefig(path, dpi=100, format="png")
