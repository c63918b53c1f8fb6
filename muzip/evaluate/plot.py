"""`muzip eval --plot`: reference, degraded and difference mel spectrograms, accumulated while streaming
into at most MAX_COLUMNS time columns, so memory does not grow with the length of the input."""

import os

import numpy as np

N_MELS = 128
MAX_COLUMNS = 1024  # about the ~980 pixels of the plot's time axis: one column per pixel or two


class CoarseSpectrogram:
    """Mel power (128 bands of the 2048/512 STFT, mono mixes) of reference and degraded. Frames are
    averaged in groups of ``group`` (1, 2, 4...: doubled, by merging neighbours, whenever there would be
    more than MAX_COLUMNS columns); up to MAX_COLUMNS frames (12 s at 44.1 kHz) every frame is kept.
    ``peak`` is the largest reference frame, before averaging."""

    def __init__(self, sr: int):
        from ..metrics import _mel_basis
        self.sr, self.hop, self.group, self.peak = sr, 512, 1, 0.0
        from scipy import sparse
        self._basis = sparse.csr_array(_mel_basis(sr, 2048, N_MELS).astype(np.float64))  # sparse: see MetricStream
        self._cols = np.zeros((2, N_MELS, 0))  # sums of `group` frames each
        self._open, self._open_n = np.zeros((2, N_MELS)), 0  # the column being filled

    def add(self, ref_spec, deg_spec) -> None:
        """Spectra (ch, k, 1025) of the metric stream's 2048/512 STFT; the mono mix's spectrum is the
        mean over channels (the STFT is linear)."""
        power = np.stack([self._basis @ (np.abs(s.mean(axis=0)) ** 2).T for s in (ref_spec, deg_spec)])
        self.peak = max(self.peak, float(power[0].max(initial=0.0)))
        g, i, k = self.group, 0, power.shape[2]
        if self._open_n:
            i = min(g - self._open_n, k)
            self._open += power[:, :, :i].sum(axis=2)
            self._open_n += i
            if self._open_n == g:
                self._close_open()
        full = (k - i) // g
        cols = power[:, :, i:i + full * g].reshape(2, N_MELS, full, g).sum(axis=3)
        self._cols = np.concatenate([self._cols, cols], axis=2)
        rest = power[:, :, i + full * g:]
        if rest.shape[2]:
            self._open, self._open_n = rest.sum(axis=2), rest.shape[2]
        while self._cols.shape[2] > MAX_COLUMNS:
            self._halve()

    def _close_open(self):
        self._cols = np.concatenate([self._cols, self._open[:, :, None]], axis=2)
        self._open, self._open_n = np.zeros((2, N_MELS)), 0

    def _halve(self):
        n = self._cols.shape[2]
        if n % 2:  # the odd last column joins the open one, which then holds fewer than 2 * group frames
            self._open += self._cols[:, :, -1]
            self._open_n += self.group
        self._cols = self._cols[:, :, :n - n % 2].reshape(2, N_MELS, n // 2, 2).sum(axis=3)
        self.group *= 2
        if self._open_n == self.group:
            self._close_open()

    def means(self) -> np.ndarray:
        """(2, 128, columns) mean mel power per column, the open column included."""
        cols = self._cols / self.group
        if self._open_n:
            cols = np.concatenate([cols, (self._open / self._open_n)[:, :, None]], axis=2)
        return cols


def write_plot(path: str, spec: CoarseSpectrogram, res: dict, summary: str) -> None:
    """Three panels over time on a mel frequency axis: reference and degraded power in dB re the
    reference's peak frame, and degraded - reference in dB (clipped to +-20)."""
    import matplotlib
    matplotlib.use("Agg")
    import librosa.display
    from matplotlib.figure import Figure

    peak = spec.peak or 1.0
    a, b = (10.0 * np.log10(np.maximum(p, 1e-10) / peak) for p in spec.means())
    a, b = np.maximum(a, -100.0), np.maximum(b, -100.0)  # floor both so silence does not dominate the difference
    fig = Figure(figsize=(12, 10), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    kw = dict(sr=spec.sr, hop_length=spec.hop * spec.group, x_axis="time", y_axis="mel", fmax=spec.sr / 2)
    panels = [(a, f"Reference: {os.path.basename(res['reference'])}", "magma", (-100, 0), "dB re reference peak"),
              (b, f"Degraded: {os.path.basename(res['degraded'])}", "magma", (-100, 0), "dB re reference peak"),
              (b - a, "Difference: degraded - reference (red: added, blue: missing)", "RdBu_r", (-20, 20), "dB")]
    for ax, (img, title, cmap, (lo, hi), label) in zip(axes, panels):
        mesh = librosa.display.specshow(img, ax=ax, cmap=cmap, vmin=lo, vmax=hi, **kw)
        ax.set_title(title)
        fig.colorbar(mesh, ax=ax, label=label)
    for ax in axes[:2]:
        ax.set_xlabel("")
    frames = f"{spec.group} frames ({spec.group * spec.hop / spec.sr:.2f} s) per column" if spec.group > 1 else "every frame"
    axes[2].set_xlabel(f"time (s); mel power of the mono mixes, STFT 2048/512, {frames}")
    fig.suptitle(summary + f"   (delay {res['delay_samples']:+d} samples)")
    fig.savefig(path, dpi=100, format="png")
