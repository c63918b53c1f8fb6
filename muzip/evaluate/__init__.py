"""`muzip eval`: compare a reference with a degraded version (any audio file, or a .mz, which is decoded).

Both inputs are streamed in blocks and every metric accumulates as they pass, so memory does not depend
on the length (about 230 MB peak without ViSQOL, 500-560 MB with it; CPU about 2.5 s per minute of
stereo 44.1 kHz audio without ViSQOL, plus 11-13 s with it). Preparation, in this order:

* a ``.mz`` input (recognised by its magic bytes) is decoded frame by frame with the model it names; its
  actual bitrate (file bytes * 8 / duration, from the container index) is reported;
* the degraded signal is resampled to the reference's rate if they differ (soxr, VHQ, streamed);
* channels: equal counts are compared channel by channel; if one is mono and the other stereo both are
  mixed to mono (mean of the channels); more than 2 channels are first mixed to stereo as in compress;
* a constant delay within +-0.1 s is found by cross-correlation (:func:`muzip.metrics.find_delay`) on the
  first 30 s of the reference (more while that is near-silent, up to 120 s) and removed, and both are
  compared over their common length.

Metrics (definitions in :mod:`muzip.metrics`, accumulated by :class:`muzip.metrics.MetricStream`, which
gives the whole-signal values to rounding; all at the reference's sample rate):

* ``visqol_mos``: ViSQOL v3 MOS-LQO, audio mode (visqol-python, bundled SVR model, nothing downloaded):
  the mono mixes resampled to 48 kHz, scored in windows of 14 s (7..21 s) whose scores are averaged
  (:mod:`muzip.evaluate.visqol_windows`; up to 21 s, the whole-signal score); 1..5, higher is better;
  identical signals give about 4.73;
* ``mel_distance``: DAC's multi-scale mel distance: sum over 7 STFT scales (windows 32..2048, 5..320 mel
  bands) of the mean |log10(mel_ref^2) - log10(mel_deg^2)| (mel magnitudes clamped at 1e-5); 0 = identical;
* ``si_sdr_db``: scale-invariant SDR (mean-removed; per channel, averaged); higher is better;
* ``lsd_db``: log-spectral distance: RMS over frequency of the dB power-spectrum difference (STFT 2048/512),
  averaged over frames and channels; 0 = identical;
* ``snr_db``: 10*log10(sum ref^2 / sum (ref - deg)^2) over all samples and channels; higher is better.
* the listening measures of :mod:`muzip.listening` (:class:`muzip.listening.ListeningStream`; docs/EVAL.md):
  ``attacks``, ``pre_attack_db``, ``rise_db``, ``source_rise_db`` (5-16 kHz attacks of the reference),
  ``gaps``, ``early_ms``, ``mean_early_ms`` (noise before music after digital silence), ``lsd_low_db``
  (fine LSD below 8 kHz) and ``tonality_error`` (2-8 kHz); None where there is nothing to measure. About
  1.1 CPU s per minute of stereo 44.1 kHz audio and 12 MB, independent of the length.

SNR and SI-SDR are +inf for identical signals (null in JSON).
"""

import contextlib
import json
import math

import numpy as np

from .. import metrics
from ..errors import MuzipError
from ..listening import ListeningStream
from .stream import AlignedPairs, open_input

VISQOL_RATE = 48000
MAX_DELAY_S = 0.1
INSTALL_HINT = "pip install 'muzip[eval]'"


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


def _visqol_api():
    global _VISQOL_API
    try:
        from visqol import VisqolApi
    except ImportError:
        raise MissingDependencyError(f"ViSQOL needs visqol-python ({INSTALL_HINT})") from None
    if _VISQOL_API is None:
        api = VisqolApi()
        api.create(mode="audio")
        _VISQOL_API = api
    return _VISQOL_API


def visqol_mos(ref, deg, sr: int) -> float:
    """ViSQOL v3 MOS-LQO in audio mode of whole arrays (no windows): mono mixes of ref and deg, resampled
    from ``sr`` to 48 kHz. Raises MissingDependencyError without visqol-python, ValueError for signals
    shorter than ~1 s. Memory grows with the length (about 12 MB per second); evaluate() uses windows."""
    api = _visqol_api()
    x, y = (_mono(np.asarray(s, np.float64)) for s in (ref, deg))
    if sr != VISQOL_RATE:
        import soxr
        x, y = (soxr.resample(s, sr, VISQOL_RATE, quality="VHQ") for s in (x, y))
    return float(api.measure_from_arrays(x, y, VISQOL_RATE).moslqo)


def _mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def _length_notes(ref, deg, compared_s: float) -> list[str]:
    """A warning where the two files' lengths (as their headers state them) are far apart: another recording, or
    one cut, is compared over the shorter only (the help says a file cut short is a warning, exit 3)."""
    if ref.seconds is None or deg.seconds is None or abs(ref.seconds - deg.seconds) <= max(1.0, 0.05 * ref.seconds):
        return []
    return [f"{ref.path} lasts {ref.seconds:.1f} s and {deg.path} {deg.seconds:.1f} s: compared over "
            f"{compared_s:.1f} s only (another recording, or a file cut short?)"]


MIN_CORRELATION = 0.3  # under it, aligned files are not one recording's (codecs down to 6 kbps keep 0.96)


def _alignment_warnings(ref, deg, pairs, values: dict) -> list[str]:
    """What makes the numbers meaningless, as warnings (exit 3): a silent file (its SI-SDR came out +inf, the best
    score there is), files that hardly correlate once aligned, or a best alignment at the edge of the delay
    search (the files do not line up)."""
    out = []
    for inp, peak in ((ref, pairs.peaks[0]), (deg, pairs.peaks[1])):
        if peak == 0.0:
            out.append(f"{inp.path} is silent where it is compared: SI-SDR, SNR and the delay say nothing")
    if out:
        values.update(si_sdr_db=None, snr_db=None)
    elif pairs.correlation < MIN_CORRELATION:
        out.append(f"the files hardly line up (correlation {pairs.correlation:.2f} at the best delay within "
                   f"+-{MAX_DELAY_S:g} s): another recording, or a longer delay?")
    elif pairs.at_edge:
        out.append(f"the best alignment is at the edge of the +-{MAX_DELAY_S:g} s search ({pairs.delay:+d} samples): "
                   "the files do not line up (another recording, or a longer delay?)")
    return out


def evaluate(reference: str, degraded: str, get_model=None, visqol=None, plot=None) -> dict:
    """Compute all metrics for two files. ``visqol``: None = if installed, True = required (error if
    missing), False = skip. ``plot``: PNG path to write (the caller checks overwriting)."""
    if visqol and not have_visqol():
        raise MissingDependencyError(f"--visqol needs visqol-python ({INSTALL_HINT})")
    if plot and not have_matplotlib():
        raise MissingDependencyError(f"--plot needs matplotlib ({INSTALL_HINT})")
    notes = []
    if visqol is not False and not have_visqol():
        notes.append(f"ViSQOL: not installed ({INSTALL_HINT})")
    with contextlib.ExitStack() as stack:
        ref = open_input(reference, get_model, stack)
        deg = open_input(degraded, get_model, stack)
        pairs = AlignedPairs(ref, deg, MAX_DELAY_S)
        sr = pairs.sample_rate
        spec = None
        if plot:
            from .plot import CoarseSpectrogram
            spec = CoarseSpectrogram(sr)
        scores = metrics.MetricStream(sr, pairs.channels, on_spectrum=spec.add if spec else None)
        listening = ListeningStream(sr, pairs.channels)
        vq = None
        if visqol is not False and have_visqol():
            from .visqol_windows import WindowedVisqol
            vq = WindowedVisqol(_visqol_api(), sr)
        for r, d in pairs:
            scores.update(r, d)
            listening.update(r, d)
            if vq is not None:
                vq.update(r, d)
        if pairs.compared == 0:
            raise MuzipError("nothing to compare after alignment")
        values = scores.finish()
        heard = listening.finish()
        aligned = _alignment_warnings(ref, deg, pairs, values)
        mos = None
        if vq is not None:
            try:
                mos = vq.finish()
                if vq.unscored:
                    notes.append(f"ViSQOL: {vq.unscored} of its {len(vq.windows)} windows silent, left out")
            except ValueError as exc:  # too short for its 30-frame patches (about 1 s), or all silent
                if visqol:
                    raise MuzipError(f"{degraded}: ViSQOL failed: {exc}") from None
                notes.append(f"ViSQOL: not computed ({exc})")
    res = {"reference": reference, "degraded": degraded, "sample_rate": sr,
           "reference_channels": ref.channels, "degraded_channels": deg.channels,
           "degraded_sample_rate": deg.sample_rate, "compared_channels": pairs.channels,
           "compared_seconds": pairs.compared / sr, "delay_samples": pairs.delay,
           "delay_ms": 1000.0 * pairs.delay / sr, "visqol_mos": mos, "mel_distance": values["mel_distance"],
           "si_sdr_db": values["si_sdr_db"], "lsd_db": values["lsd_db"], "snr_db": values["snr_db"],
           **heard, "bitrate_kbps": deg.kbps, "notes": ref.notes + deg.notes + pairs.how + notes,
           "warnings": ref.warnings + deg.warnings + _length_notes(ref, deg, pairs.compared / sr) + aligned}
    if ref.kbps is not None:
        res["reference_bitrate_kbps"] = ref.kbps
    if plot:
        from .plot import write_plot
        write_plot(plot, spec, res, _summary(res))
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
        ("attacks 5-16 kHz", "none found" if not res["attacks"] else
         f"{res['attacks']}: pre-attack {res['pre_attack_db']:+.1f} dB (> 0: pre-echo), rise "
         f"{res['rise_db']:.1f} dB (source {res['source_rise_db']:.1f} dB)"),
        ("silence onset", "no gaps of digital silence" if not res["gaps"] else
         f"noise {res['early_ms']:.1f} ms before the music (worst of {res['gaps']} gap(s); target <= 5 ms)"),
        ("fine LSD < 8 kHz", _fmt(res["lsd_low_db"], " dB") + "  (about 11 Hz bins, lower is better)"),
        ("tonality error", _fmt(res["tonality_error"], digits=3) + "  (2-8 kHz flatness, 0 = same tonality)"),
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

