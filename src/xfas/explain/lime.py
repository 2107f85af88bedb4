"""LIME for images (Ribeiro et al., 2016): a sparse linear surrogate fitted on random coalitions
of superpixels. Each sample z in {0, 1}^K shows the superpixels where z = 1 and fills the others
with their mean colour; the surrogate is the ridge regression (alpha = 1, with intercept) that
minimises eq. 2's locality-weighted loss sum_z pi(z) (f(z) - g(z))^2, with the kernel
pi(z) = sqrt(exp(-d(z)^2 / w^2)), d the cosine distance of z to the all-ones sample, w = 0.25 (the
lime package's image defaults). The score is the spoof probability for target="spoof".

The map is the regression coefficients painted on their superpixels: ``explain`` keeps their
positive part (regions that raise the target score), scaled to [0, 1]; ``explain_regions``
keeps the signed coefficients and the segmentation for plots.

Efficiency: ``sampling="paired"`` draws each coalition with its complement, which balances the
design (every superpixel is shown in exactly half the samples) and cuts the variance of the
coefficients.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from xfas.errors import XfasError
from xfas.explain.base import PROBABILITY, PerturbedForward, ScoreFn, Target, progress_steps
from xfas.explain.regions import (SEGMENTATIONS, RegionAttribution, RegionExplainer,
                                  evaluate_coalitions, region_means, superpixels)

SAMPLINGS = ("iid", "paired")


def binary_samples(count: int, features: int, generator: torch.Generator,
                   *, device: torch.device, paired: bool) -> torch.Tensor:
    """(count, K) coalitions, uniform on {0, 1}^K; paired: row 2j + 1 = 1 - row 2j."""
    draws = (count + 1) // 2 if paired else count
    rows = torch.randint(0, 2, (draws, features), generator=generator, device=device).double()
    if paired:
        rows = torch.stack([rows, 1 - rows], dim=1).flatten(0, 1)
    return rows[:count]


def weighted_ridge(x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor,
                   *, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(coefficients, intercept) minimising sum_i w_i (y_i - b - x_i.c)^2 + alpha |c|^2."""
    total = weights.sum()
    x_mean = (weights[:, None] * x).sum(dim=0) / total
    y_mean = (weights * y).sum() / total
    xc, yc = x - x_mean, y - y_mean
    gram = xc.T @ (weights[:, None] * xc) + alpha * torch.eye(x.shape[1], dtype=x.dtype,
                                                              device=x.device)
    coefficients = torch.linalg.solve(gram, xc.T @ (weights * yc))
    return coefficients, y_mean - x_mean @ coefficients


class LIME(RegionExplainer):
    """LIME over superpixels (see module docstring).

    Args (besides the common ones):
        n_samples: coalitions evaluated per image (default 1000, the first is the image).
        segmentation: "slic" (default), "quickshift", "grid" or integer labels (H, W);
            n_segments, compactness and cells tune them (see ``regions.superpixels``).
        kernel_width, alpha: the locality kernel's width and the ridge penalty.
        sampling: "iid" (the lime package) or "paired" (each coalition with its complement).
    """

    name = "lime"
    target_kind: ClassVar[str] = PROBABILITY

    def __init__(self, model, layer=None, seed: int = 0, *, batch_size: int = 64,
                 progress: bool = True, n_samples: int = 1000,
                 segmentation: str | torch.Tensor = "slic",
                 n_segments: int = 50, compactness: float = 10.0, cells: int = 8,
                 kernel_width: float = 0.25, alpha: float = 1.0, sampling: str = "iid") -> None:
        super().__init__(model, layer, seed, batch_size=batch_size, progress=progress)
        if n_samples < 2:
            raise XfasError(f"lime: n_samples must be at least 2, got {n_samples}")
        if isinstance(segmentation, str) and segmentation not in SEGMENTATIONS:
            raise XfasError(f"lime: segmentation {segmentation!r}: expected one of "
                            f"{', '.join(SEGMENTATIONS)} or a tensor of labels")
        if sampling not in SAMPLINGS:
            raise XfasError(f"lime: sampling {sampling!r} is not one of {', '.join(SAMPLINGS)}")
        self.n_samples, self.sampling = n_samples, sampling
        self.segmentation, self.n_segments = segmentation, n_segments
        self.compactness, self.cells = compactness, cells
        self.kernel_width, self.alpha = kernel_width, alpha

    def _regions(self, images: torch.Tensor, target: Target) -> list[RegionAttribution]:
        score = self.score_fn(target, images.shape[0])
        forward = PerturbedForward(self.model)
        results = []
        with progress_steps(images.shape[0], "LIME", self.progress) as advance:
            for index, image in enumerate(images):
                results.append(self._one(image, score, forward=forward, index=index))
                advance()
        return results

    def _one(self, image: torch.Tensor, score: ScoreFn, *, forward: PerturbedForward,
             index: int) -> RegionAttribution:
        segments = superpixels(image, self.segmentation, self.n_segments,
                               compactness=self.compactness, cells=self.cells)
        features = int(segments.max()) + 1
        samples = binary_samples(self.n_samples, features, self.generator(), device=image.device,
                                 paired=self.sampling == "paired")
        samples[0] = 1  # the unperturbed image, as in lime
        values = evaluate_coalitions(forward, score, image, fill=region_means(image, segments),
                                     segments=segments, coalitions=samples, row=index,
                                     batch_size=self.batch_size)
        shown = samples.sum(dim=1)
        distance = 1 - torch.sqrt(shown / features)  # cosine distance to the all-ones sample
        kernel = torch.sqrt(torch.exp(-distance ** 2 / self.kernel_width ** 2))
        coefficients, intercept = weighted_ridge(samples, values, kernel, alpha=self.alpha)
        return RegionAttribution(segments, coefficients.float(), float(intercept),
                                 float(values[0]))
