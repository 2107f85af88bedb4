"""Total-order Sobol index estimators on the A/B/C_k design, vectorised over outputs.

Every estimator takes f(A) (n, ...), f(B) (n, ...) and f(C) (dim, n, ...) and returns the total
indices S_T (dim, ...) in float64: one per input, for each output element. Formulas follow
Table 2 of Saltelli et al. 2010 ("Variance based sensitivity analysis of model output. Design and
estimator for the total sensitivity index", Comput. Phys. Commun. 181, 259-270).

The total variance V is the sample variance (ddof = 1) of f over the 2n rows of A and B. Where
V is zero (a constant function, up to the floating-point resolution of the outputs' own dtype)
every index is 0: no input explains any variance, and 0 keeps rankings and sums meaningful
where 0/0 would give NaN.
"""

from __future__ import annotations

from typing import Callable

import torch

from xfas.errors import XfasError

Estimator = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def total_variance(f_a: torch.Tensor, f_b: torch.Tensor) -> torch.Tensor:
    """Sample variance (ddof = 1) over the rows of f(A) and f(B) together -> shape (...)."""
    return torch.cat([f_a, f_b], dim=0).double().var(dim=0, correction=1)


def _normalise(partial: torch.Tensor, f_a: torch.Tensor, f_b: torch.Tensor) -> torch.Tensor:
    """partial / V, and 0 where V is below the outputs' resolution: (epsilon * max |f|)^2."""
    resolution = torch.finfo(f_a.dtype if f_a.is_floating_point() else torch.float64).eps
    variance = total_variance(f_a, f_b)
    scale = torch.maximum(f_a.abs().amax(0), f_b.abs().amax(0)).double()
    constant = variance <= (resolution * scale) ** 2
    safe = torch.where(constant, torch.ones_like(variance), variance)
    return torch.where(constant, torch.zeros_like(partial), partial / safe)


def jansen_total(f_a: torch.Tensor, f_b: torch.Tensor, f_c: torch.Tensor) -> torch.Tensor:
    """Jansen 1999 (Saltelli et al. 2010, Table 2 (f)): V_T,k = 1/(2n) sum_j (f(A)_j - f(C_k)_j)^2,
    S_T,k = V_T,k / V. The estimator CRAFT uses; never negative."""
    partial = (f_a.double().unsqueeze(0) - f_c.double()).square().mean(dim=1) / 2.0
    return _normalise(partial, f_a, f_b)


def saltelli_total(f_a: torch.Tensor, f_b: torch.Tensor, f_c: torch.Tensor) -> torch.Tensor:
    """Sobol' 2007 (Saltelli et al. 2010, Table 2 (b)):
    V_T,k = 1/n sum_j f(A)_j (f(A)_j - f(C_k)_j),
    with f centred on its mean over A and B first (same expectation, smaller variance).
    Can come out slightly negative for an input with no effect."""
    a, b, c = f_a.double(), f_b.double(), f_c.double()
    centred = a - torch.cat([a, b], dim=0).mean(dim=0)
    partial = (centred.unsqueeze(0) * (a.unsqueeze(0) - c)).mean(dim=1)
    return _normalise(partial, f_a, f_b)


ESTIMATORS: dict[str, Estimator] = {
    "jansen": jansen_total,
    "saltelli": saltelli_total,
}


def get_estimator(name: str) -> Estimator:
    """The total-order estimator registered under ``name``."""
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise XfasError(f"estimator: unknown {name!r}, expected one of {sorted(ESTIMATORS)}"
                        ) from None
