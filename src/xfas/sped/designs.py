"""The replicated A/B design behind total Sobol indices (Saltelli 2002; Saltelli et al. 2010).

From two independent (n, dim) matrices A and B, the mixed matrix C_k is A with column k taken
from B (A_B^(k) in Saltelli et al. 2010). A function evaluated once on the stacked design
[A; B; C_1; ...; C_dim] (n * (dim + 2) rows) gives every total index, so a caller can evaluate
it in chunks of any size and hand the outputs to an estimator.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from xfas.errors import XfasError
from xfas.sped.samplers import get_sampler

Matrix = TypeVar("Matrix", np.ndarray, torch.Tensor)


def jansen_design(a: Matrix, b: Matrix) -> Matrix:
    """Stack [A; B; C_1; ...; C_dim] -> (n * (dim + 2), dim), with C_k = A except column k from B.

    Accepts and returns numpy arrays or torch tensors (on their own device).
    """
    as_numpy = isinstance(a, np.ndarray)
    ta = torch.from_numpy(a) if as_numpy else a
    tb = torch.from_numpy(b) if isinstance(b, np.ndarray) else b
    if ta.ndim != 2 or ta.shape != tb.shape:
        raise XfasError(f"A, B: expected two matrices of one shape (n, dim), got "
                        f"{tuple(ta.shape)} and {tuple(tb.shape)}")
    tb = tb.to(device=ta.device, dtype=ta.dtype)
    n, dim = ta.shape
    mixed = ta.unsqueeze(0).repeat(dim, 1, 1)  # (dim, n, dim): one copy of A per input k
    k = torch.arange(dim, device=ta.device)
    mixed[k, :, k] = tb.mT  # C_k[:, k] = B[:, k]
    stacked = torch.cat([ta, tb, mixed.reshape(dim * n, dim)], dim=0)
    return stacked.numpy() if as_numpy else stacked


def sobol_design(n: int, dim: int, sampler: str = "halton", *, seed: int = 0,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The stacked design for ``n`` base points: one (n, 2 * dim) quasi-random draw split into A
    (first ``dim`` columns) and B (last ``dim`` columns), then ``jansen_design(A, B)``.
    Returns an (n * (dim + 2), dim) tensor on ``device``."""
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise XfasError(f"n_designs: must be an integer >= 2 (a variance needs two points), "
                        f"got {n!r}")
    points = torch.from_numpy(get_sampler(sampler)(n, 2 * dim, seed))
    points = points.to(device=device, dtype=dtype)
    return jansen_design(points[:, :dim], points[:, dim:])


def split_outputs(outputs: torch.Tensor, n: int, dim: int
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Outputs on the stacked design (n * (dim + 2), ...) -> f(A) (n, ...), f(B) (n, ...) and
    f(C) (dim, n, ...), where f(C)[k] holds the outputs on C_k."""
    if outputs.shape[0] != n * (dim + 2):
        raise XfasError(f"outputs: expected {n * (dim + 2)} rows (n={n}, dim={dim}), got "
                        f"{outputs.shape[0]}")
    blocks = outputs.reshape(dim + 2, n, *outputs.shape[1:])
    return blocks[0], blocks[1], blocks[2:]
