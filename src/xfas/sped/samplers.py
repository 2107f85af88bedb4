"""Seeded samplers of the unit cube [0, 1]^dim for Sobol designs (scipy.stats.qmc).

Each sampler maps (n, dim, seed) to an (n, dim) float64 numpy array. In SPED a row is a mask:
one multiplier in [0, 1] per concept.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.stats import qmc

from xfas.errors import XfasError

Sampler = Callable[[int, int, int], np.ndarray]


def _check(n: int, dim: int) -> None:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise XfasError(f"n: must be a positive integer, got {n!r}")
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise XfasError(f"dim: must be a positive integer, got {dim!r}")


def halton_masks(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """The first ``n`` points of a scrambled Halton sequence in [0, 1]^dim (as CRAFT uses)."""
    _check(n, dim)
    return qmc.Halton(d=dim, scramble=True, seed=seed).random(n)


def sobol_masks(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """The first ``n`` points of a scrambled Sobol' sequence; keep ``n`` a power of two to keep
    its balance (scipy warns otherwise)."""
    _check(n, dim)
    return qmc.Sobol(d=dim, scramble=True, seed=seed).random(n)


def random_masks(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Independent uniform points (plain Monte Carlo), for comparison with the sequences."""
    _check(n, dim)
    return np.random.default_rng(seed).random((n, dim))


SAMPLERS: dict[str, Sampler] = {
    "halton": halton_masks,
    "sobol": sobol_masks,
    "random": random_masks,
}


def get_sampler(name: str) -> Sampler:
    """The sampler registered under ``name``."""
    try:
        return SAMPLERS[name]
    except KeyError:
        raise XfasError(f"sampler: unknown {name!r}, expected one of {sorted(SAMPLERS)}") from None
