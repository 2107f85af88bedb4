"""Seeds, the attack mix, train/val/test splits and where the visible face goes.

Image ``index`` of a data set with seed ``seed`` draws everything from
``numpy.random.default_rng([seed, index])``, so the images are independent of N and of the
order they are made in. Its split is a hash, not a draw: u = blake2b("seed:index") read as a
number in [0, 1); train if u < 0.70, val if u < 0.85, else test. With real face photos each
person has a split too, the same hash of "seed:person:<id>", and an image shows only people of
its split, so nobody's photos fall in two splits.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

import numpy as np

from xfas.errors import XfasError

ATTACKS = ("live", "print", "cut", "replay")
DEFAULT_MIX: dict[str, float] = {"live": 0.4, "print": 0.2, "cut": 0.2, "replay": 0.2}
SPLITS = (("train", 0.70), ("val", 0.85), ("test", 1.0))


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The generator that decides everything about image ``index``."""
    return np.random.default_rng([int(seed), int(index)])


def check_mix(mix: Mapping[str, float] | None) -> dict[str, float]:
    """``mix`` (attack -> weight) normalised; unknown names or bad weights raise XfasError."""
    if mix is None:
        return dict(DEFAULT_MIX)
    unknown = sorted(set(mix) - set(ATTACKS))
    if unknown:
        raise XfasError(f"--mix: unknown attack type(s) {unknown}; expected some of {ATTACKS}")
    weights = {name: float(mix.get(name, 0.0)) for name in ATTACKS}
    if any(w < 0 or not np.isfinite(w) for w in weights.values()) or sum(weights.values()) <= 0:
        raise XfasError(f"--mix: weights must be non-negative with a positive sum, got {dict(mix)}")
    total = sum(weights.values())
    return {name: w / total for name, w in weights.items()}


def choose_attack(rng: np.random.Generator, mix: Mapping[str, float]) -> str:
    """One of ``ATTACKS`` with the probabilities of the (normalised) ``mix``."""
    p = np.array([mix[name] for name in ATTACKS], dtype=np.float64)
    return ATTACKS[int(rng.choice(len(ATTACKS), p=p / p.sum()))]


def _hashed_split(key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2.0 ** 64
    return next(name for name, bound in SPLITS if u < bound)


def split_of(seed: int, index: int) -> str:
    """The split of image ``index``: a hash of (seed, index), 70 / 15 / 15."""
    return _hashed_split(f"{int(seed)}:{int(index)}")


def person_split(seed: int, person: str) -> str:
    """The split of a real person: a hash of (seed, person id), 70 / 15 / 15."""
    return _hashed_split(f"{int(seed)}:person:{person}")


def face_slot(rng: np.random.Generator, size: int) -> tuple[float, float, float]:
    """Centre (x, y) and width of the face seen in the image: the same ranges for a live face
    and for the face on a paper or screen, so size and position are no cue."""
    width = rng.uniform(0.2, 0.46) * size
    return rng.uniform(0.32, 0.68) * size, rng.uniform(0.34, 0.58) * size, width
