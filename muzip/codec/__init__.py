"""The codec: audio <-> .mz, through a codec model's networks, quantizer, entropy coders and container.

    config     a model's config.json, typed and checked (the only reader of it)
    loader     an installed model: verified tables, networks on onnxruntime (or Keras, for reference)
    encode     audio blocks -> frames -> encoder -> rate control (rate) -> payloads (payload, entropy/,
               band gains) -> container
    decode     container -> read_latents (latents) -> decoder -> audio
    verify     `muzip test`: every frame's CRC and entropy decoding, no network
"""

from .config import ModelConfig, installed_models, load_config, model_kind, read_model_json
from .decode import ArraySink, DecodeReport, decode_frames, decompress_bytes, decompress_to
from .encode import DEFAULT_SIDE_OFFSET, MAX_KBPS, MIN_KBPS, compress_array, compress_blocks
from .latents import LatentFrame, check_model, read_latents
from .layout import GROUP
from .loader import load_model, load_tables, model_info, version_for
from .transform import from_mid_side, to_mid_side

__all__ = ["ArraySink", "DEFAULT_SIDE_OFFSET", "DecodeReport", "GROUP", "LatentFrame", "MAX_KBPS", "MIN_KBPS",
           "ModelConfig", "check_model", "compress_array", "compress_blocks", "decode_frames", "decompress_bytes",
           "decompress_to", "from_mid_side", "installed_models", "load_config", "load_model", "load_tables",
           "model_info", "model_kind", "read_latents", "read_model_json", "to_mid_side", "version_for"]
