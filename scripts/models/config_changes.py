"""KEY=JSON changes to a model config, as exp_models' variants and make_transform_model's --set write them.

A dotted key (band_gains.fold) changes a key inside an object; objects on the way are copied, so the
config passed in is not changed in place.
"""

import json


def changed_config(cfg: dict, changes) -> dict:
    """cfg with each "KEY=JSON" of changes applied, in order."""
    out = dict(cfg)
    for change in changes:
        key, value = change.split("=", 1)
        *parents, leaf = key.split(".")
        inner = out
        for part in parents:
            inner[part] = dict(inner[part])
            inner = inner[part]
        inner[leaf] = json.loads(value)
    return out
