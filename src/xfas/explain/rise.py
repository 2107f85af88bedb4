"""RISE (Petsiuk et al., 2018): the saliency of a pixel is the expected score of randomly masked
inputs given that the pixel is kept, estimated by Monte Carlo (eq. 6):
S(x) = sum_i f(I o M_i) M_i(x) / (N p).
Masks: binary s x s grids g with keep probability p, upsampled bilinearly to (s + 1) cells and
cut at a random shift (section 3.2), drawn in batches on the model's device. The score is the
spoof probability for target="spoof" (softmax probability for a class index).

Efficiency options (same estimand, less noise for the same number of model evaluations):

- ``control_variate=True``: the scores are regressed on the grid cells, f ~ a + b.g, and eq. 6 is
  applied to the residuals only; the linear part's contribution E[(a + b.g) M(x)] / p is added
  exactly. The mask is linear in its grid (bilinear upsampling), M(x) = sum_j phi_j(x) g_j, so
  E[g_k M(x)] = sum_j E_shift[phi_j(x)] E[g_k g_j] is known in closed form. Whatever of the model
  is additive over the cells costs no Monte Carlo noise; only its interactions do.
- ``sampling="paired"``: each grid is drawn with its complement (antithetic masks, p = 0.5):
  the constant part of the score then multiplies M + (1 - M) = 1, a flat map.

benchmarks/results/explainers.md reports how close each gets to the default-budget map.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F

from xfas.errors import XfasError
from xfas.explain.base import (PROBABILITY, Explainer, PerturbedForward, Target, chunks,
                               progress_steps)

SAMPLINGS = ("iid", "paired")


def _big_size(height: int, width: int, cells: int) -> tuple[int, int, int, int]:
    """(cell height, cell width, upsampled height, upsampled width)."""
    cell_h, cell_w = math.ceil(height / cells), math.ceil(width / cells)
    return cell_h, cell_w, (cells + 1) * cell_h, (cells + 1) * cell_w


def rise_masks(count: int, height: int, width: int, *, cells: int, p: float,
               generator: torch.Generator, device: torch.device,
               paired: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` soft masks (count, H, W) in [0, 1] and their grids (count, cells^2);
    paired: mask 2j + 1 = 1 - mask 2j."""
    draws = (count + 1) // 2 if paired else count
    grids = (torch.rand(draws, 1, cells, cells, generator=generator, device=device) < p).float()
    cell_h, cell_w, big_h, big_w = _big_size(height, width, cells)
    big = F.interpolate(grids, size=(big_h, big_w), mode="bilinear", align_corners=False)[:, 0]
    shift_y = torch.randint(0, cell_h, (draws,), generator=generator, device=device)
    shift_x = torch.randint(0, cell_w, (draws,), generator=generator, device=device)
    rows = shift_y[:, None] + torch.arange(height, device=device)  # (draws, H)
    cols = shift_x[:, None] + torch.arange(width, device=device)  # (draws, W)
    masks = big[torch.arange(draws, device=device)[:, None, None], rows[:, :, None],
                cols[:, None, :]].clamp_(0.0, 1.0)
    grids = grids.flatten(1)
    if paired:
        masks = torch.stack([masks, 1 - masks], dim=1).flatten(0, 1)
        grids = torch.stack([grids, 1 - grids], dim=1).flatten(0, 1)
    return masks[:count], grids[:count]


def cell_footprints(height: int, width: int, cells: int, *, device: torch.device) -> torch.Tensor:
    """E_shift[phi_j(x)] (cells^2, H, W): the mean weight of grid cell j in the mask at x."""
    cell_h, cell_w, big_h, big_w = _big_size(height, width, cells)
    one_hot = torch.eye(cells * cells, device=device).reshape(-1, 1, cells, cells)
    big = F.interpolate(one_hot, size=(big_h, big_w), mode="bilinear", align_corners=False)
    mean = F.avg_pool2d(big, kernel_size=(cell_h, cell_w), stride=1)  # over the shifts
    return mean[:, 0, :height, :width]


class RISE(Explainer):
    """Randomized Input Sampling for Explanation.

    Args (besides the common ones):
        n_masks: number of masks N (default 4000).
        cells: grid size s (default 8).
        p: keep probability (default 0.5).
        sampling: "iid" (the paper) or "paired" (antithetic masks; needs p = 0.5).
        control_variate: subtract the scores' linear fit on the grid cells and add its exact
            expectation (see the module docstring).
    """

    name = "rise"
    target_kind: ClassVar[str] = PROBABILITY
    relu: ClassVar[bool] = False

    def __init__(self, model, layer=None, seed: int = 0, *, batch_size: int = 64,
                 progress: bool = True, n_masks: int = 4000, cells: int = 8, p: float = 0.5,
                 sampling: str = "iid", control_variate: bool = False) -> None:
        super().__init__(model, layer, seed, batch_size=batch_size, progress=progress)
        if n_masks < 1 or cells < 1 or not 0 < p < 1:
            raise XfasError(f"rise: need n_masks >= 1, cells >= 1 and 0 < p < 1, got "
                            f"n_masks={n_masks}, cells={cells}, p={p}")
        if sampling not in SAMPLINGS:
            raise XfasError(f"rise: sampling {sampling!r} is not one of {', '.join(SAMPLINGS)}")
        if sampling == "paired" and p != 0.5:
            raise XfasError(f"rise: paired sampling needs p = 0.5, got p={p}")
        self.n_masks, self.cells, self.p, self.sampling = n_masks, cells, p, sampling
        self.control_variate = control_variate

    def attribute(self, images: torch.Tensor, target: Target) -> torch.Tensor:
        """Eq. 6 for every image; the same masks (one seeded stream) serve every image."""
        score = self.score_fn(target, images.shape[0])
        n, _, height, width = images.shape
        device = images.device
        paired = self.sampling == "paired"
        # masks are drawn in groups of batch_size (rounded up to whole pairs)
        group = self.batch_size + (self.batch_size % 2 if paired else 0)
        generator = self.generator()
        weighted = torch.zeros(n, height, width, device=device)  # sum_i f_i M_i
        scores = torch.zeros(n, self.n_masks, device=device)
        grids = torch.zeros(self.n_masks, self.cells ** 2, device=device)
        mask_sum = torch.zeros(height, width, device=device)  # sum_i M_i
        grid_mask_sum = torch.zeros(self.cells ** 2, height, width, device=device)  # sum g_i M_i
        groups = chunks(self.n_masks, group)
        forward = PerturbedForward(self.model)
        images_hwc = images.permute(0, 2, 3, 1).contiguous()  # masked inputs are built (b, H, W, C)
        with torch.no_grad(), progress_steps(len(groups), "RISE", self.progress) as advance:
            for start, stop in groups:
                masks, grids[start:stop] = rise_masks(stop - start, height, width, cells=self.cells,
                                                      p=self.p, generator=generator, device=device,
                                                      paired=paired)
                if self.control_variate:
                    mask_sum += masks.sum(dim=0)
                    grid_mask_sum += torch.tensordot(grids[start:stop].T, masks, dims=1)
                for index, image in enumerate(images_hwc):
                    for first, last in chunks(masks.shape[0], self.batch_size):
                        part = masks[first:last]
                        rows = torch.full((last - first,), index, device=device,
                                          dtype=torch.long)
                        masked = (part[..., None] * image).permute(0, 3, 1, 2)
                        values = score(forward(masked), rows).float()
                        scores[index, start + first:start + last] = values
                        weighted[index] += torch.tensordot(values, part, dims=1)
                advance()
        if not self.control_variate:
            return weighted / (self.n_masks * self.p)
        return self._with_control_variate(weighted, scores, grids, mask_sum=mask_sum,
                                          grid_mask_sum=grid_mask_sum)

    def _with_control_variate(self, weighted: torch.Tensor, scores: torch.Tensor,
                              grids: torch.Tensor, *, mask_sum: torch.Tensor,
                              grid_mask_sum: torch.Tensor) -> torch.Tensor:
        """Eq. 6 on the residuals of f ~ a + b.g, plus E[(a + b.g) M(x)] / p in closed form."""
        p, count = self.p, self.n_masks
        design = torch.cat([torch.ones(count, 1, device=grids.device), grids], dim=1).double()
        values = torch.nan_to_num(scores.double()).T  # (N masks, images)
        coefficients = torch.linalg.lstsq(design.cpu(), values.cpu(),
                                          driver="gelsd").solution.to(grids.device).float()
        a, b = coefficients[0], coefficients[1:]  # (images,), (cells^2, images)
        residual = (weighted - a[:, None, None] * mask_sum
                    - torch.einsum("jn,jhw->nhw", b, grid_mask_sum)) / (count * p)
        height, width = weighted.shape[-2:]
        footprint = cell_footprints(height, width, self.cells, device=weighted.device)
        per_cell = a * p + p * p * b.sum(dim=0)  # (images,)
        linear = (per_cell[:, None, None] * footprint.sum(dim=0)
                  + (p - p * p) * torch.einsum("jn,jhw->nhw", b, footprint)) / p
        return residual + linear
