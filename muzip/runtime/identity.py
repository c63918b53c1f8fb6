"""A codec model's identity: the 32 bytes every .mz header carries, naming the exact model it needs.

The identity covers every file that runs: it is the sha256 of the SHA256SUMS lines of the codec files
(config, Keras weights, tables) followed by the runtime files present (encoder.onnx, decoder.onnx, the
per-level tables). Replacing any of them, even with SHA256SUMS rewritten to match, changes the identity,
so files made before no longer name the model and are refused, not decoded into different audio.

muzip 1.0 and 1.1 wrote a narrower identity, over the codec files only ("legacy"). The models shipped then
keep it, so their files made by any muzip version stay alike and decodable by every version; what the
legacy identity leaves out is pinned here instead: a shipped model loads only if its whole identity is the
one it shipped with. A user-trained model also accepts its legacy identity, which only its files made
before 1.2 carry (for those, the runtime files are not checked); every file written now carries the whole one.
"""

from __future__ import annotations

import hashlib

from ..errors import ModelError
from .store import IDENTITY_FILES, RUNTIME_FILES, listed_files, models_dir, resolve_name, user_models_dir

# name -> (the identity its files carry, the identity over every file that runs). Frozen forever.
SHIPPED_CODECS = {
    "muzip-v1": ("5a956ed0b28f526c4fc3a56bf76252bcec438dfc27d18397d170d09661152820",
                 "650c054dad89eee2d97860b5392b5785b76339448cb88136feb342c207438144"),
    "muzip-v2": ("0527e9d551fc92f7bab188f3dd0451334385c2e12c91caf82173e528f7c4b370",
                 "d62ccdf312448ef81fd288b3966e9ac193fb33206f966e9aa7ac5145b6a8bba8"),
    "muzip-v2.1": ("eb6b98c562a421e68e3d0d02170577be646995b1553f6445b8e3f18422b7ab88",
                   "41336c198cfbd09cddb80abfef87aa7dc5c64b0da0918ecdc415a6427c671cc2"),
    # shipped with 1.3: its files carry the whole identity
    "muzip-v2.2": ("4c250bb0f95f189a311b52eddb9efa1111bc8c10713209f7b3fd440dbd09b6dd",
                   "4c250bb0f95f189a311b52eddb9efa1111bc8c10713209f7b3fd440dbd09b6dd"),
    # network-free (codec.transform_model): no runtime files; its identity covers config, weights and tables
    "muzip-v2.3": ("62f7717f5c5912fc5ed09996c7305e8ffab879fde607bce82d76073fd1c2410d",
                   "62f7717f5c5912fc5ed09996c7305e8ffab879fde607bce82d76073fd1c2410d"),
    # network-free, banded entropy coding (codec.entropy.banded), fill noise per frame
    "muzip-v2.4": ("a2b36f891911d9e6e7baae14d7bd11fe1d883791b9115a81318dc36ebbcd2203",
                   "a2b36f891911d9e6e7baae14d7bd11fe1d883791b9115a81318dc36ebbcd2203"),
    # v2.4 with the fill level coded per frame and audio channel (codec.fill_levels)
    "muzip-v2.5": ("825f2bfd144c4a68df349e529d50c026aa4d99de8373c63950c56e35b1c6cd86",
                   "825f2bfd144c4a68df349e529d50c026aa4d99de8373c63950c56e35b1c6cd86"),
    # v2.5 with empty bands folded from below (band_gains.fold) and the precision tilted by fill level (fill_levels.tilt)
    "muzip-v2.6": ("97a028806879b949c2064689c56a06726d401315e08aa3390e65508fb176e6c2",
                   "97a028806879b949c2064689c56a06726d401315e08aa3390e65508fb176e6c2"),
    # v2.6 with a level after a level coded as its change (band_gains.level_delta)
    "muzip-v2.7": ("03d5cfa4640d37308d8441ec053dc69e5c23645420e888671df7fd05387d4dda",
                   "03d5cfa4640d37308d8441ec053dc69e5c23645420e888671df7fd05387d4dda"),
}
# Every name muzip ever shipped (embed-v1 was removed): never a user model's, wherever it is put.
SHIPPED_NAMES = frozenset(SHIPPED_CODECS) | {"restore-v1", "embed-v0", "embed-v1", "embed-v2"}


def is_shipped_name(name: str) -> bool:
    """True for a name muzip ships or shipped, or one in the shipped models folder (unless the user's
    models folder is pointed at it: then the names are known ones only)."""
    if name in SHIPPED_NAMES:
        return True
    shipped = models_dir()
    return shipped.resolve() != user_models_dir().resolve() and (shipped / name / "SHA256SUMS").is_file()


def _digest(listed: dict, files) -> bytes:
    return hashlib.sha256("".join(f"{listed[f]}  {f}\n" for f in files).encode()).digest()


def _listed(name: str) -> dict:
    listed = listed_files(name)
    missing = [f for f in IDENTITY_FILES if f not in listed]
    if missing:
        raise ModelError(f"model '{name}': {', '.join(missing)} not listed in SHA256SUMS")
    return listed


def runtime_digest(name: str) -> bytes:
    """The sha256 over the SHA256SUMS lines of every file that runs (codec files, then runtime files)."""
    listed = _listed(name)
    return _digest(listed, list(IDENTITY_FILES) + [f for f in RUNTIME_FILES if f in listed])


def legacy_digest(name: str) -> bytes:
    """The muzip 1.0-1.1 identity: the codec files' lines only."""
    return _digest(_listed(name), IDENTITY_FILES)


def identity_digest(name: str) -> bytes:
    """The identity written into new files made with model `name`; ModelError for a shipped model whose
    files are not the shipped ones."""
    name = resolve_name(name)
    whole = runtime_digest(name)
    pinned = SHIPPED_CODECS.get(name)
    if pinned is None:
        return whole
    if whole.hex() != pinned[1]:
        raise ModelError(f"model '{name}': its files are not the ones muzip shipped (identity {whole.hex()[:12]}, "
                         f"shipped {pinned[1][:12]}); reinstall muzip")
    return bytes.fromhex(pinned[0])


def accepted_digests(name: str) -> frozenset:
    """The identities in a file header that name model `name` exactly, as it is installed now."""
    current = identity_digest(name)
    if resolve_name(name) in SHIPPED_CODECS:
        return frozenset({current})
    return frozenset({current, legacy_digest(name)})  # user models from before 1.2: older files
