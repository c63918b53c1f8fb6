"""One line per shipped codec model for `compress --help`, from the numbers in each model's card
(models/NAME/MODEL.md): which is the default, the fastest, the best at the lowest bitrate.
Nothing is written twice: the labels follow the measurements."""

from __future__ import annotations

from ..defaults import DEFAULT_MODEL


CARD = "MODEL.md"
# The card's quality table (scripts/models/model_card.py): these columns, one row per target bitrate.
_CARD_COLUMNS = ("target kbps", "mel distance", "compress x rt")


def card_measurements(card_text: str) -> dict[float, tuple[float, float]]:
    """{target kbps: (mel distance, compress x real time)} from a model card's quality table; {} if none."""
    header, rows = None, {}
    for line in card_text.splitlines():
        if not line.lstrip().startswith("|"):
            if rows:
                break  # the end of the table
            header = None
            continue
        cells = [c.strip().lower().replace("\u00d7", "x") for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells if all(c in cells for c in _CARD_COLUMNS) else None
            continue
        row = dict(zip(header, cells))
        try:
            rows[float(row["target kbps"])] = (float(row["mel distance"]), float(row["compress x rt"]))
        except (KeyError, ValueError):  # the |---| line
            continue
    return rows


def model_rows() -> list[tuple[str, str]]:
    """(name, one short line) per shipped codec model: the default, the fastest and the best at the lowest
    bitrate are named from the numbers in the models' cards (models/NAME/MODEL.md), not written here."""
    from ..codec import installed_models
    from ..runtime.store import model_folder, models_dir
    shipped = {}
    for name in installed_models("codec"):
        try:
            folder = model_folder(name)
        except Exception:  # noqa: BLE001 - removed meanwhile: help must still print
            continue
        if folder.parent == models_dir():
            try:
                shipped[name] = card_measurements((folder / CARD).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                shipped[name] = {}
    measured = {n: m for n, m in shipped.items() if m}
    common = sorted(set.intersection(*(set(m) for m in measured.values()))) if measured else []
    speed = {n: sum(rt for _, rt in m.values()) / len(m) for n, m in measured.items()}
    fastest = max(speed, key=speed.get) if len(speed) > 1 else None
    low = common[0] if common else None
    best_low = min(measured, key=lambda n: measured[n][low][0]) if low is not None and len(measured) > 1 else None
    rows = []
    for name, m in shipped.items():
        tags = [t for t, on in (("the default", name == DEFAULT_MODEL), ("fastest", name == fastest),
                                ("best quality at low bitrates", name == best_low)) if on]
        if m:
            numbers = f"compresses at {speed[name]:.0f}x real time"
            if common:
                lo, hi = common[0], common[-1]
                numbers += f"; mel {m[lo][0]:.2f} at {lo:g} kbps, {m[hi][0]:.2f} at {hi:g}"
        else:
            numbers = f"not measured (no quality table in its {CARD})"
        rows.append((name, ": ".join(x for x in (", ".join(tags), numbers) if x)))
    return rows
