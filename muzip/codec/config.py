"""A model's config.json: the one place it is read, checked and typed.

Every model folder (codec, restorer, embedder) holds a config.json; read_model_json() is the only reader of
it (verified against SHA256SUMS first). A codec model's config becomes a ModelConfig, validated when it is
loaded: a damaged or foreign config is a ModelError naming the model and the key, never a KeyError later in
the middle of a decode. ModelConfig is also a read-only mapping of the JSON it came from, so a network
builder or a training script can take it where it takes a dict (`dict(config, entropy="context")`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ..errors import ModelError
from ..runtime.store import installed_models as _all_models
from ..runtime.store import model_folder, resolve_name, verified_bytes

CONFIG_FILE = "config.json"
KINDS = ("codec", "restorer", "embedder")
_ENTROPY = ("levels", "context", "banded")
_BAND_GAIN_KEYS = ("edges", "db", "radius", "floor", "groups", "stride_kbps")
_ENVELOPE_KEYS = ("cutoff_hz", "blocks", "db", "min_step", "max_step", "max_regions")


def read_model_json(name: str, verified: bool = True) -> dict:
    """The parsed config.json of installed model `name` (any kind); ModelError if unreadable.

    verified=False reads the file as it is on disk (for `muzip models`, which reports a bad checksum
    instead of refusing to list the model)."""
    name = resolve_name(name)
    try:
        data = verified_bytes(name, CONFIG_FILE) if verified else (model_folder(name) / CONFIG_FILE).read_bytes()
        config = json.loads(data)
    except (OSError, ValueError) as exc:
        raise ModelError(f"model '{name}': bad {CONFIG_FILE} ({exc})") from None
    if not isinstance(config, dict):
        raise ModelError(f"model '{name}': {CONFIG_FILE} is not an object")
    return config


def model_kind(name: str) -> str:
    """"codec" (the default) or what config.json's "kind" says; "" if the config cannot be read."""
    try:
        return str(read_model_json(name, verified=False).get("kind", "codec"))
    except ModelError:
        return ""


def installed_models(kind: str | None = None) -> list[str]:
    """Installed model names; `kind` ("codec", "restorer", "embedder") keeps only models of that kind."""
    names = _all_models()
    return names if kind is None else [n for n in names if model_kind(n) == kind]


@dataclass(frozen=True)
class ModelConfig(Mapping):
    """A codec model's config (models/NAME/config.json), typed and checked."""

    model_rate: int
    frame_samples: int
    hop: int
    latent_channels: int
    hidden: int
    kernel_size: int
    encoder_blocks: int
    decoder_blocks: int
    compand_alpha: float
    num_levels: int
    levels_per_octave: float
    min_step: float
    alphabet_radius: int
    noise_channels: int = 0
    train_filterbank: bool = True
    entropy: str = "levels"                  # "levels" (muzip-v1), "context" or "banded" (codec.entropy)
    context_edges: tuple | None = None
    context_bands: int | None = None
    class_width: int | None = None           # "banded": channels per class band
    class_edges: tuple | None = None         # "banded": the bucket edges of a band's largest |q|
    filterbank: str | None = None            # "mdct": the frozen MDCT as a constant, not a weight
    decoder_output: str | None = None        # "coefficients": the codec runs the MDCT synthesis (band gains)
    band_gains: dict | None = None           # codec.band_gains' parameters
    envelope: dict | None = None             # codec.envelope's parameters (temporal envelope corrections)
    noise_fill: float | None = None          # codec.quantizer.dequantize: holes in coded bands, x step
    fill_levels: dict | None = None          # codec.fill_levels: that level coded per frame instead
    extra: dict = field(default_factory=dict)  # keys the codec does not read (training notes), kept as written

    @classmethod
    def from_dict(cls, original: Mapping, name: str = "?") -> "ModelConfig":
        raw = dict(original)
        kind = raw.pop("kind", "codec")
        if kind != "codec":
            raise ModelError(f"model '{name}' is {'an' if kind[:1] in 'aeiou' else 'a'} {kind}, not a codec model")
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: raw.pop(k) for k in list(raw) if k in known}
        for key in ("context_edges", "class_edges"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        try:
            config = cls(**values, extra=raw)
        except TypeError as exc:  # a required key is missing
            raise ModelError(f"model '{name}': {CONFIG_FILE} is incomplete ({exc})") from None
        config._check(name)
        object.__setattr__(config, "_as_dict", dict(original))  # the mapping view keeps the file's keys and order
        return config

    def _check(self, name: str) -> None:
        def bad(what):
            return ModelError(f"model '{name}': {CONFIG_FILE}: {what}")
        ints = ("model_rate", "frame_samples", "hop", "latent_channels", "hidden", "kernel_size", "num_levels",
                "alphabet_radius")
        for key in ints:
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(f"{key} must be a positive integer")
        for key in ("encoder_blocks", "decoder_blocks", "noise_channels"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad(f"{key} must be a non-negative integer")
        for key in ("compand_alpha", "levels_per_octave", "min_step"):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise bad(f"{key} must be a positive number")
        if self.frame_samples % self.hop:
            raise bad("frame_samples must be a multiple of hop")
        if self.entropy not in _ENTROPY:
            raise bad(f"entropy must be one of {', '.join(_ENTROPY)}")
        if self.entropy == "context" and (not self.context_edges or not isinstance(self.context_bands, int)):
            raise bad("context entropy needs context_edges and context_bands")
        if self.entropy == "banded":
            try:
                from .entropy.banded import BandedLayout
                BandedLayout(self)
            except (KeyError, TypeError, ValueError) as exc:
                raise bad(f"banded entropy needs class_width, class_edges and context_edges ({exc})") from None
        if self.filterbank not in (None, "mdct") or self.decoder_output not in (None, "audio", "coefficients"):
            raise bad("unknown filterbank or decoder_output")
        if self.band_gains is not None:
            if not isinstance(self.band_gains, dict) or any(k not in self.band_gains for k in _BAND_GAIN_KEYS):
                raise bad(f"band_gains needs {', '.join(_BAND_GAIN_KEYS)}")
            if self.decoder_output != "coefficients":
                raise bad("band_gains need decoder_output 'coefficients'")
            if "fold" in self.band_gains:
                try:
                    from .band_gains import BandGains
                    BandGains(self, None)
                except (KeyError, TypeError, ValueError) as exc:
                    raise bad(f"band_gains fold: {exc}") from None
        if self.noise_fill is not None:
            if not isinstance(self.noise_fill, (int, float)) or isinstance(self.noise_fill, bool) \
                    or not 0 <= self.noise_fill <= 0.5:
                raise bad("noise_fill must be a number from 0 to 0.5")
            if self.band_gains is None:
                raise bad("noise_fill needs band_gains (it fills within their bands)")
        if self.fill_levels is not None:
            if self.band_gains is None:
                raise bad("fill_levels needs band_gains (the noise fills within their bands)")
            try:
                from .fill_levels import FillLevels
                FillLevels(self)
            except (KeyError, TypeError, ValueError) as exc:
                raise bad(f"fill_levels: {exc}") from None
        if self.envelope is not None:
            if not isinstance(self.envelope, dict) or any(k not in self.envelope for k in _ENVELOPE_KEYS):
                raise bad(f"envelope needs {', '.join(_ENVELOPE_KEYS)}")
            if self.band_gains is None:
                raise bad("envelope needs band_gains (its bytes are coded beside them)")
            try:
                from .envelope import TemporalEnvelope
                TemporalEnvelope(self)
            except (TypeError, ValueError) as exc:
                raise bad(f"envelope: {exc}") from None

    # ------------------------------------------------------------------ derived values
    @property
    def latents_per_frame(self) -> int:
        return self.frame_samples // self.hop

    @property
    def coefficient_decoder(self) -> bool:
        """True where the decoder network stops before the (fixed MDCT) synthesis, which the codec runs."""
        return self.decoder_output == "coefficients"

    @property
    def network_free(self) -> bool:
        """True where neither network has a block: the codec is the frozen MDCT, companding and two learned
        channel weightings, which codec.transform_model runs in numpy (no session, no network file)."""
        return (self.encoder_blocks == 0 and self.decoder_blocks == 0 and self.filterbank == "mdct"
                and self.coefficient_decoder and self.hop == self.latent_channels and self.hop % 2 == 0)

    def to_dict(self) -> dict:
        """The JSON object (keys left at None are left out); from_dict's configs map as their file did."""
        out = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return {**out, **self.extra}

    # ------------------------------------------------------------------ read-only mapping of the JSON
    def __getitem__(self, key):
        return self._dict()[key]

    def __iter__(self):
        return iter(self._dict())

    def __len__(self):
        return len(self._dict())

    def _dict(self) -> dict:
        cached = self.__dict__.get("_as_dict")
        if cached is None:
            cached = self.to_dict()
            object.__setattr__(self, "_as_dict", cached)
        return cached

    def __hash__(self):  # a Mapping is unhashable; the config is frozen and keyed by identity where cached
        return id(self)


def load_config(name: str) -> ModelConfig:
    """The verified, validated config of installed codec model `name`."""
    return ModelConfig.from_dict(read_model_json(name), resolve_name(name))
