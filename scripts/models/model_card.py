"""Write models/NAME/MODEL.md from the export's training.json and a fresh measurement on the
validation tracks (the same excerpts, codec calls and metrics as scripts/bench/bench.py).

    python -m scripts.models.model_card muzip-v1
"""

import json

import numpy as np
import sys
from pathlib import Path

from scripts.bench import bench
from scripts.data.corpus import split

from muzip.codec import load_model
from muzip.runtime import models_dir

ROOT = Path(__file__).resolve().parents[2]


def params(model):
    return (sum(int(np.prod(w.shape)) for w in model.encoder.weights),
            sum(int(np.prod(w.shape)) for w in model.decoder.weights))


def tables_text(cfg):
    if "envelope" in cfg:
        e = cfg["envelope"]
        return (tables_text({k: v for k, v in cfg.items() if k != "envelope"}) +
                f"; after the synthesis, temporal envelope corrections (muzip.codec.envelope): where the source has an "
                f"attack, or digital silence, the level above {e['cutoff_hz']:g} Hz in sub-blocks of {cfg['hop'] // e['blocks']} "
                f"samples is corrected in {e['db']:g}-dB steps ({e['min_step']} to +{e['max_step']}) or muted, at most "
                f"{e['max_regions']} hop regions a frame, coded in fixed-length fields")
    if cfg.get("fill_levels"):
        f = cfg["fill_levels"]
        return (tables_text({k: v for k, v in cfg.items() if k != "fill_levels"}) +
                "; zero latents of a band with coded ones are dequantized as noise of +-alpha steps, alpha coded per "
                f"frame and audio channel as a byte (0 to {f['scale']:g}; muzip.codec.fill_levels), which the encoder "
                f"sets from the source's spectral flatness over {f['band_hz'][0]:g}-{f['band_hz'][1]:g} Hz" +
                (f"; the same byte tilts the quantizer's precision by {t['db_per_octave'][0]:+g} dB per octave around "
                 f"{t['pivot_hz']:g} Hz at alpha <= {t['levels'][0]:g} to {t['db_per_octave'][1]:+g} at alpha >= "
                 f"{t['levels'][1]:g} (finer high-band steps on tonal music; fill_levels.tilt)" if (t := f.get("tilt")) else ""))
    if cfg.get("noise_fill"):
        return (tables_text({k: v for k, v in cfg.items() if k != "noise_fill"}) +
                f"; zero latents of a band with coded ones are dequantized as noise of +-{cfg['noise_fill']:g} steps "
                "before the band gains are measured and applied")
    if "band_gains" in cfg:
        g = cfg["band_gains"]
        return (tables_text({k: v for k, v in cfg.items() if k != "band_gains"}) +
                f"; after the decoder, coded band-energy corrections (muzip.band_gains: {len(g['edges']) - 1} ERB bands "
                f"of the MDCT, {g['db']:g}-dB steps, one symbol per band every 1, 2 or 4 latent vectors as the bitrate "
                f"allows (1 from {g['stride_kbps'][0]:g} kbps, 2 from {g['stride_kbps'][1]:g}), context-coded with "
                "the integer tables `gain_counts` in tables.npz" +
                ("; a band's level after its level in the previous group is coded as the change, in tables of its "
                 "own (level_delta)" if g.get("level_delta") else "") +
                (f"; a band raised with at most {g['sparse_fill']:g} of its bins coded keeps its coded bins and gets "
                 "the energy it lacks in the others" if g.get("sparse_fill") else "") +
                (f"; bands filled with noise from {g['fold']['min_hz']:g} Hz up are mixed ({g['fold']['mix']:g}) with "
                 "the decoded spectrum just below them (folding)" if g.get("fold") else "") +
                "); the decoder stops before the fixed MDCT synthesis, which the runtime runs after the corrections")
    if cfg.get("entropy") == "banded":
        return (f"class-banded integer tables (`tables.npz`: `class_counts`, per {cfg['class_width']}-channel band a "
                f"class of its largest |q| ({len(cfg['class_edges']) + 1} classes, 0 = all zero, coded first), and "
                f"`counts`, 2 roles x band x class x {len(cfg['context_edges']) + 1} neighbourhood contexts x "
                f"{2 * cfg['alphabet_radius'] + 2} symbols for the latents of non-empty bands only; "
                "muzip.codec.entropy.banded)")
    if cfg.get("entropy") == "context":
        return (f"context-adaptive integer tables (`tables.npz`, 2 roles x {cfg['context_bands']} channel bands x "
                f"{len(cfg['context_edges']) + 1} contexts x {2 * cfg['alphabet_radius'] + 2} symbols, "
                "muzip.entropy_context: each symbol's table is picked by the magnitudes decoded just before it)")
    return (f"integer tables (`tables.npz`, 2 roles x {cfg['num_levels']} levels x {cfg['latent_channels']} channels x "
            f"{2 * cfg['alphabet_radius'] + 2} symbols)")


def write_card(folder: Path, text: str) -> None:
    """folder's MODEL.md, through the one model-folder writer (muzip.nn.writer): every other file is kept
    byte for byte, and SHA256SUMS (which does not list the card) must come out unchanged."""
    from muzip.nn.writer import folder_files, write_model_folder
    from muzip.runtime.store import IDENTITY_FILES, RUNTIME_FILES
    sums = (folder / "SHA256SUMS").read_text()

    def check(new: Path) -> None:
        if (new / "SHA256SUMS").read_text() != sums:
            raise SystemExit(f"{folder}: SHA256SUMS would change; not writing the card")
    write_model_folder(folder.parent, folder.name, identity=IDENTITY_FILES, runtime=RUNTIME_FILES,
                       files={**folder_files(folder, skip=("MODEL.md",)), "MODEL.md": text}, check=check)


def main(name):
    import os
    os.chdir(ROOT)
    model = load_model(name)  # the runtime model (onnxruntime, or numpy for a network-free one): what users run
    keras_model = load_model(name, backend_name="keras")  # for the parameter count
    folder = models_dir() / name
    training = json.loads((folder / "training.json").read_text())
    run_cfg = training["run_config"]
    _, val = split()
    excerpts = [(p, bench.read_excerpt(p, 30.0, 30.0)[0]) for p in val]
    rows = bench.run_codec("muzip", *bench.muzip_codec(model), excerpts, bench.BITRATES, lambda s: None)
    enc_p, dec_p = params(keras_model)
    cfg = model.config
    hop, ch, hid, k = cfg["hop"], cfg["latent_channels"], cfg["hidden"], cfg["kernel_size"]
    latents_per_s = cfg["model_rate"] / hop
    # multiply-adds per second of mono audio: filterbank + residual blocks (inner k-tap conv over [x, noise], 1x1 outer)
    fb = 2 * hop * ch * latents_per_s
    block = (k * (ch + cfg.get("noise_channels", 0)) * hid + hid * ch) * latents_per_s
    enc_macs, dec_macs = fb + cfg["encoder_blocks"] * block, fb + cfg["decoder_blocks"] * block
    what = (
        f"A Keras 3 Conv1D transform codec at {cfg['model_rate']} Hz: an MDCT-initialised strided Conv1D filterbank "
        f"(hop {hop}, {ch} channels, frozen{'; a constant of the code, not stored' if cfg.get('filterbank') == 'mdct' else ''}), power-law companding (alpha {cfg['compand_alpha']}), a learned per-channel "
        f"weighting, {cfg['encoder_blocks']} encoder and {cfg['decoder_blocks']} decoder residual Conv1D blocks "
        f"(kernel {k}, {hid} hidden; the decoder blocks also see {cfg.get('noise_channels', 0)} channels of seeded noise "
        "for noise filling), and a transposed-Conv1D synthesis filterbank.")
    if cfg.network_free:
        what = (
            f"A transform codec at {cfg['model_rate']} Hz with no network blocks (muzip.codec.transform_model, run in "
            f"numpy): the frozen MDCT (hop {hop}, {ch} channels), power-law companding (alpha {cfg['compand_alpha']}) "
            "and a learned per-channel weighting; the decoder inverts them with its own learned un-weighting. "
            "Zero latents in a band with coded ones are dequantized as seeded noise of " + (
                "+-alpha x the step, alpha coded per frame" if cfg.get("fill_levels") else
                f"+-{cfg['noise_fill']:g} x the step") + " (muzip.codec.quantizer.dequantize). The Keras definition (the same classes, 0 blocks) is kept "
            "for training and the parity check.")
        enc_macs = dec_macs = 0.0
    lines = [
        f"# Model card: {name}",
        "",
        f"Identity written into .mz headers (sha256 of the SHA256SUMS lines of config, weights and tables): "
        f"`{model.sha256}`",
        "",
        "## What it is",
        f"{what} Latents are quantized with one of "
        f"{cfg['num_levels']} log-spaced steps (the rate-control parameter) and coded with {tables_text(cfg)}.",
        "",
        f"- Parameters: encoder {enc_p:,}, decoder {dec_p:,}.",
        (f"- Multiply-adds per second of mono audio: encoder {enc_macs / 1e6:.0f} M, decoder {dec_macs / 1e6:.0f} M "
         "(stereo: twice that)." if not cfg.network_free else
         "- No network multiply-adds: the MDCT runs as scipy's DCT-IV (O(C log C) per vector)."),
        "",
        "## Training",
        "- Data: the Debian music packages fetched by `scripts/data/fetch_corpus.sh` (wesnoth-1.16-music, nexuiz-music, "
        "singularity-music, drascula-music, planetblupi-music-ogg); validation = wesnoth tracks with file bitrate "
        ">= 192 kbps (never trained on). `python -m scripts.models.train prepare` takes 40 random 2-s segments per training file "
        "as mid and side signals.",
        f"- Objective: multi-scale log-mel L1 + log-STFT L1 + 5 x waveform L1 + {run_cfg['rate_lambda']} x estimated "
        "bits/sample (Laplace rate proxy with additive noise), straight-through rounding for the decoder, "
        f"quantizer levels drawn uniformly from {run_cfg['train_levels']}, gain augmentation -12..+6 dB.",
        f"- Steps: {training['snapshot_step']} of batch {run_cfg['batch']} x 1 s, Adam lr {run_cfg['lr']} "
        f"({'the run' + chr(39) + 's last weights' if 'commands' in training else 'snapshot chosen by held-out rate-distortion'}; "
        f"log line: `{training['snapshot_log_line']}`).",
        f"- Wall time: {training['snapshot_wall_s']} s of training on 2 CPU cores (TensorFlow backend), "
        f"then {training['table_seconds']} s to count the entropy tables on {training['table_minutes']} minutes "
        "of training audio.",
        "- Commands: `" + "; ".join(training.get("commands", [
            "python -m scripts.models.train prepare", "python -m scripts.models.train train --run runs/v1 --steps 4000",
            "python -m scripts.models.select_snapshot --run runs/v1 --steps 100 500 1000 2000 3000 4000",
            f"python -m scripts.models.train export --run runs/v1 --name {name} --snapshot {training['snapshot_step']}"])
            + [f"python -m scripts.models.model_card {name}"]) + "`.",
        *([f"- Band-gain tables: {training['gain_table_symbols']:,} symbols counted by coding "
           f"{training['gain_table_minutes']:g} minutes of training excerpts through this model at "
           f"{', '.join(str(r) for r in training['gain_table_rates_kbps'])} kbps "
           f"({training['gain_table_seconds']} s with the model's making)."] if "gain_table_symbols" in training else []),
        *([f"- Latent tables (banded): counted on {training['latent_table_frames']} one-second frames of "
           f"{len(training['latent_table_files'])} training excerpts (listed in training.json), quantized at levels "
           f"{training['latent_table_levels'][0]}-{training['latent_table_levels'][-1]} (every 2nd)."]
          if "latent_table_frames" in training else []),
        *(["- Weight files store large tensors as float16 (muzip.nn.half), computed in float32."]
          if training.get("half") else []),
        "",
        "## Measured quality (validation tracks, 30 s excerpts from 30 s, stereo 44.1 kHz)",
        f"Produced by `python -m scripts.models.model_card {name}` (same measurement as `make bench`).",
        "",
        "| target kbps | actual kbps | SNR dB | mel distance | LSD dB | compress x RT | decompress x RT |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['target']} | {r['kbps']:.2f} | {r['snr']:.2f} | {r['mel']:.3f} | {r['lsd']:.2f} | "
                     f"{r['enc_x']:.1f} | {r['dec_x']:.1f} |")
    lines += ["", "Lower mel distance / LSD is better (muzip.metrics). See docs/BENCHMARKS.md for LAME MP3 at the same rates.", ""]
    runtime = json.loads((folder / "runtime.json").read_text()) if (folder / "runtime.json").is_file() else None
    if runtime and runtime["runtime"] == "numpy":
        p = runtime["parity"]
        lines += ["## Runtime (what `muzip` runs)",
                  "numpy and scipy, no network file and no session: the weightings are float32 arrays of tables.npz, "
                  "checked with it against SHA256SUMS. Parity with the Keras definition "
                  "(`python -m scripts.models.make_transform_model`, on 2 s of noise and random latents): encoder max "
                  f"relative difference {p['encoder_max_rel']:.1g} (the Keras MDCT basis is rounded to float16), "
                  f"decoder {p['decoder_max_rel']:.1g}.", ""]
    elif runtime:
        from scripts.models.export_onnx import runtime_section
        lines += runtime_section(folder)
    write_card(folder, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "muzip-v1")
