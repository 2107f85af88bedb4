"""Total-order Sobol indices of a vectorised function on [0, 1]^dim (as CRAFT ranks concepts,
Fel et al. 2023), composed from a sampler, the replicated A/B/C_k design and an estimator.

    total_sobol_indices(f, dim)  =  estimator(split(f(sobol_design(n, dim))))

The design is evaluated in chunks of at most ``batch_size`` rows, so ``batch_size`` bounds how
many perturbed inputs exist inside ``func`` at once.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from xfas.errors import XfasError
from xfas.progress import progress_bar
from xfas.sped.designs import sobol_design, split_outputs
from xfas.sped.estimators import get_estimator


def evaluate_design(func: Callable[[Any], Any], design: torch.Tensor,
                    batch_size: int | None = None, *, as_numpy: bool = False,
                    progress: bool = True) -> torch.Tensor:
    """``func`` on the rows of ``design`` in chunks of at most ``batch_size`` rows (all at once if
    None) -> the stacked outputs (rows, ...) as a torch tensor, on the outputs' device.

    ``func`` receives each chunk as a numpy float64 array if ``as_numpy`` else as the tensor
    itself, and must return one output (a scalar or an array) per row, as numpy or torch.
    """
    rows = design.shape[0]
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise XfasError(f"batch_size: must be a positive integer or None, got {batch_size!r}")
    step = rows if batch_size is None else int(batch_size)
    outputs = []
    with progress_bar(progress and step < rows, transient=True) as bar:
        task = bar.add_task("Sobol design", total=rows)
        for start in range(0, rows, step):
            chunk = design[start:start + step]
            out = func(chunk.cpu().double().numpy() if as_numpy else chunk)
            out = torch.from_numpy(np.asarray(out)) if not isinstance(out, torch.Tensor) else out
            if out.ndim == 0 or out.shape[0] != chunk.shape[0]:
                raise XfasError(f"func: returned shape {tuple(out.shape)} for {chunk.shape[0]} "
                                f"input rows; expected one output per row")
            if not out.is_floating_point():
                out = out.double()
            outputs.append(out.detach())
            bar.advance(task, chunk.shape[0])
    result = torch.cat([o.to(outputs[0].device) for o in outputs], dim=0)
    if not bool(torch.isfinite(result).all()):
        raise XfasError("func: returned NaN or infinite outputs on the Sobol design")
    return result


def total_sobol_indices(func: Callable[[Any], Any], dim: int, n_designs: int = 32,
                        *, seed: int = 0, sampler: str = "halton", estimator: str = "jansen",
                        batch_size: int | None = None,
                        device: torch.device | str | None = None,
                        progress: bool = True) -> np.ndarray:
    """Total-order Sobol indices S_T,k of ``func`` for its ``dim`` inputs, uniform on [0, 1].

    Args:
        func: vectorised function: (rows, dim) inputs -> (rows,) outputs (or (rows, ...): then
            each output element gets its own indices).
        dim: number of inputs (concepts, in SPED).
        n_designs: n, the base points; func is called on n * (dim + 2) rows.
        seed: seeds the sampler.
        sampler: "halton" (scrambled, as CRAFT), "sobol" or "random".
        estimator: "jansen" (Jansen 1999, as CRAFT) or "saltelli" (Sobol' 2007).
        batch_size: at most this many rows go into ``func`` at once (None: all).
        device: None: ``func`` gets numpy float64 arrays; else float32 torch tensors on it.
        progress: show a progress bar over the chunks.

    Returns:
        float64 array (dim,) (or (dim, ...) for non-scalar outputs). S_T,k = E[V(f | x_~k)] / V(f),
        with V(f) taken over the rows of A and B; all zeros when f is constant.

    Example:
        >>> total_sobol_indices(lambda x: x[:, 0] + 2 * x[:, 1], dim=2, n_designs=1024)
        # about [0.2, 0.8]: c_k^2 / sum_j c_j^2 for a linear function
    """
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise XfasError(f"dim: must be a positive integer, got {dim!r}")
    design = sobol_design(n_designs, dim, sampler=sampler, seed=seed,
                          device=device if device is not None else "cpu",
                          dtype=torch.float32 if device is not None else torch.float64)
    estimate = get_estimator(estimator)
    outputs = evaluate_design(func, design, batch_size, as_numpy=device is None,
                              progress=progress)
    indices = estimate(*split_outputs(outputs, n_designs, dim))
    return indices.cpu().numpy()
