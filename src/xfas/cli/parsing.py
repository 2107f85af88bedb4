"""The text of command-line values read into Python values (lists of seeds or explainers,
attack weights, a target, a choice); every error names the flag at fault."""

from __future__ import annotations

from typing import Sequence

from xfas.errors import XfasError


def check_choice(flag: str, value: str, choices: Sequence[str]) -> str:
    """``value`` when it is one of ``choices``, else an error naming ``flag``."""
    if value not in choices:
        listed = f"{', '.join(choices[:-1])} or {choices[-1]}"
        raise XfasError(f"{flag} {value!r}: expected {listed}")
    return value


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0,1,2' -> (0, 1, 2); at least one seed."""
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise XfasError(f"--seeds {text!r}: expected comma-separated integers") from None
    if not seeds:
        raise XfasError("--seeds: give at least one seed")
    return seeds


def parse_mix(text: str | None) -> dict[str, float] | None:
    """'live=0.4,print=0.2,cut=0.2,replay=0.2' -> attack weights (None: the default mix)."""
    if text is None:
        return None
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            weights[name.strip()] = float(value)
        except ValueError:
            raise XfasError(f"--mix {text!r}: expected attack=weight pairs separated by commas, "
                            "e.g. live=0.4,print=0.2,cut=0.2,replay=0.2") from None
    return weights


def parse_methods(text: str) -> list[str]:
    """'gradcam,lime' -> ['gradcam', 'lime'] (repeats dropped); an unknown name is an error
    listing the valid ones."""
    from xfas.explain import available_explainers

    names = [name.strip() for name in text.split(",") if name.strip()]
    valid = available_explainers()
    unknown = [name for name in names if name not in valid]
    if not names or unknown:
        raise XfasError(f"--methods {text!r}: unknown {', '.join(unknown) or '(empty)'}; "
                        f"valid names: {', '.join(valid)}")
    return list(dict.fromkeys(names))


def parse_target(text: str) -> str | int:
    """'spoof' (the model's spoof score) or a class index."""
    if text == "spoof":
        return text
    try:
        return int(text)
    except ValueError:
        raise XfasError(f"--target {text!r}: expected 'spoof' or a class index") from None


def parse_label_map(text: str | None) -> dict[str, str]:
    """'hand=clutching_hand,face=ignore' -> {"hand": "clutching_hand", "face": "ignore"}
    (category names of an annotation tool -> evidence types; checked by the importer)."""
    if text is None:
        return {}
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, target = (piece.strip() for piece in part.partition("="))
        if not sep or not name or not target:
            raise XfasError(f"--map {text!r}: expected category=evidence pairs separated by "
                            "commas, e.g. hand=clutching_hand,face=ignore")
        if name in mapping and mapping[name] != target:
            raise XfasError(f"--map {text!r}: category {name!r} is mapped twice")
        mapping[name] = target
    return mapping
