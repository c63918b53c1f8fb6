"""The model card `muzip train` writes for each model it installs (MODEL.md): data, steps, wall time, quality."""

from __future__ import annotations

import json
from pathlib import Path


def _quality_rows(before: dict | None, after: dict | None) -> list[str]:
    if after is None:
        return ["(measured once the model is installed; `muzip train` rewrites this card then)"]
    rows = ["| target kbps | before: actual kbps | before: mel distance | after: actual kbps | after: mel distance |",
            "|---:|---:|---:|---:|---:|"]
    for kbps, a in after.items():
        b = (before or {}).get(kbps) or {}
        cell = (lambda v, f: "n/a" if v is None else format(v, f))
        rows.append(f"| {kbps} | {cell(b.get('kbps'), '.1f')} | {cell(b.get('mel'), '.3f')} | "
                    f"{cell(a['kbps'], '.1f')} | {cell(a['mel'], '.3f')} |")
    return rows


def adapted_card_text(name: str, folder: Path, meta: dict, after: dict | None) -> str:
    """The card of a model whose tables muzip.train.adapt counted on the user's music."""
    sums = dict(line.split("  ")[::-1] for line in (folder / "SHA256SUMS").read_text().splitlines() if line)
    c, files, held = meta["counted"], meta["prepared"]["files"], meta["holdout_files"]
    return "\n".join([
        f"# Model card: {name}",
        "",
        f"Written by `muzip train` {meta.get('muzip_version', '')} on {meta['finished']}.",
        "",
        "## What it is",
        f"`{meta['from']}` (sha256 `{meta['from_sha256'][:16]}...`) with its integer tables counted on the user's music "
        "(muzip.train.adapt): the same transform, channel weightings and format, tables fitted to this music.",
        "",
        "## Training",
        f"- Data: {_n(len(files), 'file')} ({meta['prepared']['hours']:.2f} h of 2-s mid/side segments, up to "
        f"{meta['per_file']} per file) from {', '.join(meta['dirs'])}; {_n(len(held), 'file')} held out (never counted).",
        f"- Latent tables: {c['latent_pairs']} segments at every rate-control level, {c['latent_symbols']:,} symbols; "
        f"band-gain tables: {c['gain_pairs']} segments coded at {', '.join(map(str, c['gain_rates_kbps']))} kbps in "
        f"turn, {c['gain_symbols']:,} symbols; each row blended with the base's as {c['prior_symbols']:g} symbols.",
        f"- Wall time: {c['seconds']:.0f} s of counting on the CPU.",
        "",
        "## Measured on the held-out files",
        f"{min(len(held), meta['holdout_max'])} of the {_n(len(held), 'held-out file')} (the first by path), a "
        f"{meta['holdout_seconds']:.0f}-s excerpt (or less, the whole file) from the middle of each, through the codec, before (the base model) "
        "and after. Multi-scale mel distance (lower is better) at the actual bitrate:",
        "",
        *_quality_rows(meta.get("before"), after),
        "",
        "## Files",
        *[f"- `{f}`: {(folder / f).stat().st_size:,} bytes, sha256 `{d}`" for f, d in sums.items()],
        "",
    ])


def card_text(name: str, folder: Path, runtime: dict, meta: dict, after: dict | None) -> str:
    sums = dict(line.split("  ")[::-1] for line in (folder / "SHA256SUMS").read_text().splitlines() if line)
    cfg = json.loads((folder / "config.json").read_text())
    p = runtime["parity"]
    files, held = meta["prepared"]["files"], meta["holdout_files"]
    lines = [
        f"# Model card: {name}",
        "",
        f"Written by `muzip train` {meta.get('muzip_version', '')} on {meta['finished']}.",
        "",
        "## What it is",
        f"muzip's codec transform (hop {cfg['hop']}, {cfg['latent_channels']} channels, {cfg['decoder_blocks']} decoder "
        f"blocks of {cfg['hidden']}), " + (f"fine-tuned from `{meta['from']}` (sha256 `{meta['from_sha256'][:16]}...`)"
                                            if meta.get("from") else "trained from a random start")
        + " on the user's music, with its own integer entropy tables counted on that music.",
        "",
        "## Training",
        f"- Data: {_n(len(files), 'file')} ({meta['prepared']['hours']:.2f} h of 2-s mid/side segments, up to "
        f"{meta['per_file']} per file) from {', '.join(meta['dirs'])}; {_n(len(held), 'file')} held out (never trained on, "
        "never counted in the tables).",
        f"- Steps: {meta['steps_done']} of batch {meta['config']['batch']} x 1 s, Adam lr {meta['config']['lr']}, "
        f"rate weight {meta['config']['rate_lambda']}, quantizer levels {meta['config']['train_levels']}.",
        f"- Wall time: {meta['train_seconds']:.0f} s of training on the CPU ({meta.get('threads', 'all')} threads).",
        "",
        "## Measured on the held-out files",
        f"{min(len(held), meta['holdout_max'])} of the {_n(len(held), 'held-out file')} (the first by path), a "
        f"{meta['holdout_seconds']:.0f}-s excerpt (or less, the whole file) from the middle of each, through the codec (integer tables, container), before (the starting model) and "
        "after. Multi-scale mel distance (lower is better) at the actual bitrate:",
        "",
        *_quality_rows(meta.get("before"), after),
        "",
        "Held-out rate-distortion at fixed quantizer levels during training (level, bits/sample, mel): "
        + "; ".join(f"step {h['step']}: " + ", ".join(f"L{lv} {b:.3f} {m:.3f}" for lv, b, m in h["rd"])
                    for h in meta.get("history", [])[-6:]),
        "",
        "## Files",
        *[f"- `{f}`: {(folder / f).stat().st_size:,} bytes, sha256 `{d}`" for f, d in sums.items()],
        f"- ONNX parity with the Keras networks: encoder max abs difference {p['encoder_max_abs']:.2g}, decoder "
        f"SNR {p['decoder_snr_db']:.1f} dB.",
        "",
    ]
    return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def measure_installed(name, folder, meta, meta_path, report=None) -> dict:
    """The installed model's held-out measurement, into run.json and MODEL.md; returns the run's summary. A signal
    while measuring is raised with `installed` set to the model's folder (the model is there; a re-run measures).
    report: the run's TrainReport, for a progress bar."""
    from contextlib import nullcontext

    from ..codec import load_model
    from .run import codec_quality, quality_runs, write_json
    files = meta["holdout_files"]
    try:
        with report.bar(quality_runs(files), f"measuring {name}", "codings") if report else nullcontext() as bar:
            after = codec_quality(load_model(name), files, meta["config"]["model_rate"], bar=bar)
    except BaseException as exc:
        if not isinstance(exc, Exception):
            exc.installed = str(folder)
        raise
    meta["after"] = after
    write_json(meta_path, meta)
    if meta.get("method") == "tables":
        (folder / "MODEL.md").write_text(adapted_card_text(name, folder, meta, after))
        steps = 0
    else:
        runtime = json.loads((folder / "runtime.json").read_text())
        (folder / "MODEL.md").write_text(card_text(name, folder, runtime, meta, after))
        steps = meta["steps_done"]
    return {"name": name, "folder": str(folder), "steps": steps, "train_seconds": meta["train_seconds"],
            "holdout_files": len(meta["holdout_files"]), "before": meta["before"], "after": after,
            "from": meta.get("from"), **({"method": "tables"} if meta.get("method") == "tables" else {})}
