"""Reading label files: JSON that names the file when it cannot be parsed, and the benchmark
manifest ``{"images": {name: {"label", "attack", "evidence", "split"}}}``, checked entry by
entry. Also the split filter shared by the folder and benchmark layouts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from xfas.data.datasets.balance import SPLITS, check_split, stratified_split
from xfas.errors import XfasError

LABELS = {"live": 0, "spoof": 1}


@dataclass(frozen=True)
class ManifestEntry:
    """One image's record in a manifest."""

    label: int
    attack: str
    evidence: tuple[str, ...]
    split: str | None


def read_json(path: Path) -> Any:
    """Parse a JSON file; XfasError naming it if it is missing or malformed."""
    if not path.is_file():
        raise XfasError(f"{path}: file not found")
    try:
        with path.open("r", encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise XfasError(f"{path}: malformed JSON (line {error.lineno}, column {error.colno}: "
                        f"{error.msg})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise XfasError(f"{path}: cannot read the file ({error})") from error


def read_manifest(path: Path) -> dict[str, ManifestEntry]:
    """The entries of a manifest.json, keyed by name; XfasError naming the file and the
    entry at fault. ``attack`` defaults to "live" / "spoof" from the label."""
    data = read_json(path)
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise XfasError(f"{path}: expected an object with an \"images\" object of entries")
    entries = {}
    for name, record in images.items():
        where = f"{path}: entry {name!r}"
        if not isinstance(record, dict):
            raise XfasError(f"{where}: expected an object, got {type(record).__name__}")
        label = record.get("label")
        if label not in LABELS:
            raise XfasError(f"{where}: label {label!r} is not \"live\" or \"spoof\"")
        attack = record.get("attack", label)
        if not isinstance(attack, str) or not attack:
            raise XfasError(f"{where}: attack {attack!r} is not a name")
        if (attack == "live") != (label == "live"):
            raise XfasError(f"{where}: attack {attack!r} contradicts label {label!r}")
        evidence = record.get("evidence", [])
        if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
            raise XfasError(f"{where}: evidence {evidence!r} is not a list of names")
        split = record.get("split")
        if split is not None and split not in SPLITS:
            raise XfasError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
        entries[str(name)] = ManifestEntry(LABELS[label], attack, tuple(evidence), split)
    return entries


def select_split(labels: Sequence[int], splits: Sequence[str | None], split: str | None,
                 fractions: Sequence[float], seed: int, source: str) -> list[int]:
    """Indices of the items in ``split`` (all when None).

    The manifest's splits are used when every item has one; when none has, a seeded split
    stratified by label (``stratified_split``) is made; a mixture is an error naming
    ``source``."""
    if split is None:
        return list(range(len(labels)))
    check_split(split)
    given = [s is not None for s in splits]
    if all(given) and given:
        return [i for i, s in enumerate(splits) if s == split]
    if any(given):
        missing = sum(1 for g in given if not g)
        raise XfasError(f"{source}: {missing} of {len(given)} entries have no \"split\"; "
                        f"give every entry a split or none")
    return stratified_split(labels, fractions, seed)[split].tolist()
