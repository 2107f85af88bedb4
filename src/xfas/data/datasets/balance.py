"""Seeded splits and balanced subsampling of datasets.

The attention paper trains on a balanced subset of CelebA-Spoof: 100,000 live and 100,000
spoof images, split 180,000 / 18,000 / 2,000 for training, validation and test. Here that is
``balanced_split(labels, 100_000, fractions=(0.9, 0.09, 0.01))``, stratified so each part is
balanced too (90,000 + 90,000, 9,000 + 9,000, 1,000 + 1,000).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from xfas.data.benchmark_layout import SPLITS
from xfas.errors import XfasError

Seed = int | Sequence[int]


def check_split(split: str, allowed: Sequence[str] = SPLITS) -> str:
    """``split`` if it is one of ``allowed``, else XfasError listing them."""
    if split not in allowed:
        raise XfasError(f"split {split!r}: expected one of {', '.join(map(repr, allowed))}")
    return split


def split_indices(n: int, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: Seed = 0
                  ) -> dict[str, np.ndarray]:
    """Shuffle 0..n-1 with ``seed`` and cut it into train / val / test by ``fractions``.

    Part sizes are differences of round(n * cumulative fraction), so they add up to n.
    Each part is returned sorted.
    """
    if len(fractions) != len(SPLITS) or any(f < 0 for f in fractions) \
            or not np.isclose(sum(fractions), 1.0):
        raise XfasError(f"fractions {tuple(fractions)}: expected three non-negative numbers "
                        f"(train, val, test) that add up to 1")
    order = np.random.default_rng(seed).permutation(n)
    cuts = np.rint(np.cumsum(fractions) * n).astype(int)
    bounds = [0, *cuts[:-1].tolist(), n]
    return {name: np.sort(order[bounds[i]:bounds[i + 1]]) for i, name in enumerate(SPLITS)}


def stratified_split(labels: Sequence[int] | np.ndarray,
                     fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
                     ) -> dict[str, np.ndarray]:
    """``split_indices`` applied to each class on its own, so every part keeps the class
    proportions. Returns sorted indices into ``labels``."""
    labels = np.asarray(labels)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        for name, chosen in split_indices(len(members), fractions, (seed, int(value))).items():
            parts[name].append(members[chosen])
    return {name: np.sort(np.concatenate(chunks)) if chunks else np.zeros(0, dtype=np.int64)
            for name, chunks in parts.items()}


def balanced_subset(labels: Sequence[int] | np.ndarray, n_per_class: int, seed: int = 0
                    ) -> np.ndarray:
    """Sorted indices of ``n_per_class`` items of every class, drawn without replacement.

    Raises XfasError when a class has fewer than ``n_per_class`` items.
    """
    labels = np.asarray(labels)
    if n_per_class < 1:
        raise XfasError(f"n_per_class {n_per_class}: expected a positive number")
    rng = np.random.default_rng(seed)
    chosen = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        if len(members) < n_per_class:
            raise XfasError(f"balanced subset: class {int(value)} has {len(members)} items, "
                            f"fewer than the {n_per_class} asked for")
        chosen.append(rng.choice(members, size=n_per_class, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def balanced_split(labels: Sequence[int] | np.ndarray, n_per_class: int,
                   fractions: Sequence[float] = (0.9, 0.09, 0.01), *, seed: int = 0
                   ) -> dict[str, np.ndarray]:
    """A balanced subset (``balanced_subset``) cut into train / val / test by a stratified
    split, each part sorted indices into ``labels``."""
    subset = balanced_subset(labels, n_per_class, seed)
    parts = stratified_split(np.asarray(labels)[subset], fractions, seed)
    return {name: subset[chosen] for name, chosen in parts.items()}


def select_split(labels: Sequence[int], splits: Sequence[str | None], split: str | None,
                 *, fractions: Sequence[float], seed: int, source: str) -> list[int]:
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
