"""Adapting a network-free codec (muzip-v2.4 and later, the default among them) to the user's music: what
`muzip train` does when --from names one.

Such a model has no network to fine-tune: its transform is the fixed MDCT with two learned channel
weightings, and what fits it to a kind of music is its integer tables, the latents' banded tables and the
band-gain tables. So the run counts both anew on the collection's training segments (never the held-out
files): the latents through the base's own encoder at every level the rate control uses
(train.tables.CONTEXT_LEVELS), then the band gains by coding the segments, one rate each in turn, with
those latent tables. Each table row is blended with the base's as a prior worth PRIOR_SYMBOLS symbols, so
a row the collection rarely reaches keeps the base's statistics instead of making its unseen symbols
expensive. Weightings, weight files and format stay the base's; the new tables give the model its own
identity, which its files name.
"""

from __future__ import annotations

import time

import numpy as np

PRIOR_SYMBOLS = 200.0        # weight of the base's row in symbols (docs/EXPERIMENTS.md, "muzip train from v2.6")
LATENT_PAIRS = 600           # 2-s mid/side pairs counted for the latent tables (20 min of audio)
GAIN_PAIRS = 300             # pairs coded for the band-gain tables (10 min)
GAIN_RATES = (6, 8, 12, 16, 24, 32, 48)  # as the shipped models' gain tables (scripts/models/make_gain_model.py)


def adaptable(cfg: dict) -> bool:
    """A network-free model with banded tables and band gains: its tables are what `muzip train` adapts."""
    return (cfg.get("entropy") == "banded" and "band_gains" in cfg and cfg.get("encoder_blocks") == 0
            and cfg.get("decoder_blocks") == 0)


def _pairs(rows: np.ndarray, limit: int, seed: int) -> list[np.ndarray]:
    """Up to `limit` (2, n) float mid/side pairs of the int16 segment rows (mid and side rows alternate)."""
    n = len(rows) // 2
    pick = np.sort(np.random.default_rng(seed).permutation(n)[:limit])
    return [rows[2 * i:2 * i + 2].astype(np.float32) / 32767 for i in pick]


def _latent_histograms(model, cfg: dict, pairs, bar):
    from ..codec.entropy.banded import banded_histograms
    from ..codec.quantizer import level_steps
    from .tables import CONTEXT_LEVELS
    steps, F, P = level_steps(cfg), cfg["frame_samples"], cfg["frame_samples"] // cfg["hop"]

    def blocks():  # as train.tables.context_tables: whole frames, every level pooled
        for pair in pairs:
            for start in range(0, pair.shape[1] - F + 1, F):
                y = model.encode(np.ascontiguousarray(pair[:, start:start + F, None]))[:, :P]
                for level in CONTEXT_LEVELS:
                    for role in range(len(y)):
                        yield role, np.rint(y[role] / steps[level]).astype(np.int32)
            bar.update(1)
    return banded_histograms(blocks(), cfg)


def _gain_histogram(model, pairs, rate: int, bar) -> np.ndarray:
    """Band-gain (context, symbol) counts of coding each pair as stereo at the next of GAIN_RATES."""
    from ..codec import compress_array
    from ..codec.band_gains import BandGains

    hist = np.zeros((model.band_gains.n_contexts, 2 * model.band_gains.radius + 1))

    class Counted(BandGains):
        def encode(self, s, nz, stride):
            hist[...] += self.histogram(s, nz)
            return super().encode(s, nz, stride)

    model._gains = Counted(model.config, model.gain_counts)
    for i, (mid, side) in enumerate(pairs):
        compress_array(np.stack([mid + side, mid - side], axis=1), rate, GAIN_RATES[i % len(GAIN_RATES)], model=model)
        bar.update(1)
    return hist


def blend(hist: np.ndarray, base_counts: np.ndarray, prior: float = PRIOR_SYMBOLS) -> np.ndarray:
    """Integer tables from the collection's histograms, each row with the base's row added as `prior` symbols."""
    from ..codec.entropy.ans import TOTAL, counts_from_histogram
    return counts_from_histogram(hist + prior * np.asarray(base_counts, np.float64) / TOTAL)


def count_tables(base: str, rows: np.ndarray, rate: int, report, prior: float = PRIOR_SYMBOLS) -> tuple[dict, dict]:
    """(tables.npz arrays, what was counted) of `base` adapted to the segment rows (int16, mid and side rows
    alternating: train.data); report: a train.pipeline.TrainReport, for its progress bars."""
    from ..codec import load_model
    from ..codec.entropy.banded import BandedTables
    from ..codec.loader import load_log_gains
    from ..codec.transform_model import LOG_GAIN_KEYS, TransformCodecModel

    t0 = time.monotonic()
    model = load_model(base)
    cfg = model.config
    pairs = _pairs(rows, LATENT_PAIRS, 0)
    with report.bar(len(pairs), "counting latents", "segments") as bar:
        lat, cls = _latent_histograms(model, cfg, pairs, bar)
    latents = BandedTables(blend(lat, model.counts.latents, prior), blend(cls, model.counts.classes, prior))
    log_gains = load_log_gains(base)
    adapted = TransformCodecModel(base, model.config, model.digest, latents, log_gains, model.gain_counts)
    pairs = _pairs(rows, GAIN_PAIRS, 1)
    with report.bar(len(pairs), "counting band gains", "segments") as bar:
        gains = _gain_histogram(adapted, pairs, rate, bar)
    tables = {"counts": latents.latents, "class_counts": latents.classes,
              "gain_counts": blend(gains, model.gain_counts, prior),
              **dict(zip(LOG_GAIN_KEYS, log_gains))}
    counted = {"latent_pairs": min(LATENT_PAIRS, len(rows) // 2), "latent_symbols": int(lat.sum()),
               "gain_pairs": len(pairs), "gain_symbols": int(gains.sum()), "gain_rates_kbps": list(GAIN_RATES),
               "prior_symbols": prior, "seconds": time.monotonic() - t0}
    return tables, counted


def adapt_and_install(name: str, folder, meta: dict, meta_path, report) -> dict:
    """Count the tables on the run's prepared segments, install model `name`, measure the held-out files
    before (the base) and after; returns train()'s summary. Counting takes minutes, so an interrupted run
    counts again from its segments (prepared once, kept in the run's folder)."""
    import datetime

    from ..codec import load_model
    from ..runtime.store import model_folder, user_models_dir
    from .card import adapted_card_text
    from .install import install_tables
    from .run import HOLDOUT_FILES, HOLDOUT_SECONDS, codec_quality, quality_runs, write_json

    from ..errors import ModelError
    from ..runtime.identity import identity_digest

    rate, base = meta["config"]["model_rate"], meta["from"]
    try:
        installed = meta.get("identity") is not None and identity_digest(name).hex() == meta["identity"]
    except ModelError:
        installed = False
    if installed:  # counted and installed before: the same segments would give the same tables
        if meta.get("after") is None:  # its measurement was stopped: done now
            from .card import measure_installed
            return measure_installed(name, model_folder(name), meta, meta_path, report)
        report.note(f"{name}: already counted and installed from this run (--restart counts again)")
        return {**_summary(name, model_folder(name), meta), "earlier": True}
    if meta.get("before") is None:
        with report.bar(quality_runs(meta["holdout_files"]), f"measuring {base}", "codings") as bar:
            meta["before"] = codec_quality(load_model(base), meta["holdout_files"], rate, bar=bar)
        write_json(meta_path, meta)
    rows = np.load(folder / "segments.npy", mmap_mode="r")
    tables, counted = count_tables(base, rows, rate, report)
    meta.update(counted=counted, train_seconds=counted["seconds"], holdout_seconds=HOLDOUT_SECONDS,
                holdout_max=HOLDOUT_FILES, finished=datetime.datetime.now().isoformat(timespec="seconds"))
    training = {k: meta[k] for k in ("from", "from_sha256", "method", "counted", "dirs", "train_files",
                                     "holdout_files", "prepared", "per_file", "muzip_version")}
    out = install_tables(name, user_models_dir(), model_folder(base), tables,
                         lambda f: adapted_card_text(name, f, meta, None), training)
    meta.update(identity=identity_digest(name).hex(), after=None)  # before the measurement a Ctrl-C can stop
    write_json(meta_path, meta)
    from .card import measure_installed
    return measure_installed(name, out, meta, meta_path, report)


def _summary(name: str, folder, meta: dict) -> dict:
    return {"name": name, "folder": str(folder), "steps": 0, "train_seconds": meta["train_seconds"],
            "holdout_files": len(meta["holdout_files"]), "before": meta["before"], "after": meta["after"],
            "from": meta["from"], "method": "tables"}
