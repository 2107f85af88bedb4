"""Shapley values of image regions (a grid of cells or superpixels). A coalition shows its
regions and replaces the others by a background (a blurred copy of the image by default, or a
given image such as a dataset mean); v(S) is the target score of that image (the spoof
probability for target="spoof").

- exact mode (few regions): every coalition is evaluated and
  phi_i = sum_{S without i} |S|! (M - |S| - 1)! / M! (v(S + i) - v(S)) (Shapley, 1953).
- KernelSHAP (Lundberg and Lee, 2017, theorem 2): coalitions are drawn from the Shapley kernel
  pi(S) ~ (M - 1) / (C(M, |S|) |S| (M - |S|)) (sizes with probability ~ (M - 1) / (s (M - s)),
  then a uniform subset), so the regression has equal weights, and
  min sum (v(S) - v(0) - sum_{i in S} phi_i)^2 is solved under the efficiency constraint
  sum_i phi_i = v(all) - v(0) by eliminating the last value.

Efficiency: ``sampling="paired"`` draws each coalition with its complement (Covert and Lee, 2021),
which cancels much of the regression's variance. ``explain`` returns the positive part of the
values, scaled to [0, 1]; ``explain_regions`` keeps the signed values for the red/blue plots.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from xfas.errors import XfasError
from xfas.explain.base import PROBABILITY, PerturbedForward, ScoreFn, Target, progress_steps
from xfas.explain.regions import (SEGMENTATIONS, RegionAttribution, RegionExplainer,
                                  evaluate_coalitions, gaussian_blur, superpixels)

MODES = ("auto", "exact", "kernel")
SAMPLINGS = ("iid", "paired")
EXACT_LIMIT = 16  # 2^16 coalitions at most in exact mode


def all_coalitions(features: int, device: torch.device) -> torch.Tensor:
    """(2^M, M) coalitions; row r shows feature i iff bit i of r is set."""
    codes = torch.arange(2 ** features, device=device)
    return ((codes[:, None] >> torch.arange(features, device=device)) & 1).double()


def exact_shapley(values: torch.Tensor, features: int) -> torch.Tensor:
    """Shapley values (M,) from v over all coalitions, indexed as in ``all_coalitions``."""
    codes = torch.arange(2 ** features, device=values.device)
    sizes = all_coalitions(features, values.device).sum(dim=1).long()
    lgamma = torch.lgamma(torch.arange(features + 1, device=values.device).double() + 1)
    weight = torch.exp(lgamma[sizes] + lgamma[features - sizes - 1].clamp_min(0)
                       - lgamma[features])  # |S|! (M - |S| - 1)! / M!
    phi = torch.empty(features, dtype=torch.float64, device=values.device)
    for i in range(features):
        without = codes[(codes >> i) & 1 == 0]
        phi[i] = (weight[without] * (values[without | (1 << i)] - values[without])).sum()
    return phi


def kernel_coalitions(count: int, features: int, generator: torch.Generator,
                      *, device: torch.device, paired: bool) -> torch.Tensor:
    """(count, M) coalitions drawn from the Shapley kernel (sizes 1..M-1)."""
    draws = (count + 1) // 2 if paired else count
    sizes = torch.arange(1, features, device=device, dtype=torch.float64)
    size_probability = (features - 1) / (sizes * (features - sizes))
    chosen = torch.multinomial(size_probability, draws, replacement=True,
                               generator=generator) + 1
    ranks = torch.rand(draws, features, generator=generator, device=device).argsort(1).argsort(1)
    rows = (ranks < chosen[:, None]).double()
    if paired:
        rows = torch.stack([rows, 1 - rows], dim=1).flatten(0, 1)
    return rows[:count]


def kernel_shap_solve(coalitions: torch.Tensor, values: torch.Tensor, base: float,
                      *, full: float) -> torch.Tensor:
    """Least squares of v(S) - v(0) on the coalitions with sum(phi) = v(all) - v(0)."""
    delta = full - base
    target = values - base - coalitions[:, -1] * delta
    design = coalitions[:, :-1] - coalitions[:, -1:]
    rest = torch.linalg.lstsq(design.cpu(), target.cpu()[:, None],
                              driver="gelsd").solution[:, 0].to(values.device)
    return torch.cat([rest, (delta - rest.sum())[None]])


class KernelSHAP(RegionExplainer):
    """Shapley values over a grid of cells or superpixels (see module docstring).

    Args (besides the common ones):
        n_samples: coalitions evaluated per image in kernel mode (default 2048).
        features: "grid" (``cells`` x ``cells``, default 8 x 8), a segmentation name
            ("slic", "quickshift") with ``n_segments``, or integer labels (H, W).
        background: "blur" (Gaussian blur with sigma = ``blur_sigma`` pixels, default H / 8),
            "mean" (the image's mean colour), or a tensor (C, H, W) / (N, C, H, W) such as a
            dataset mean, already preprocessed.
        mode: "exact" (all 2^M coalitions), "kernel", or "auto" (exact when 2^M <= n_samples).
        sampling: "iid" (KernelSHAP) or "paired" (each coalition with its complement).
    """

    name = "shap"
    target_kind: ClassVar[str] = PROBABILITY

    def __init__(self, model, layer=None, seed: int = 0, *, batch_size: int = 64,
                 progress: bool = True, n_samples: int = 2048,
                 features: str | torch.Tensor = "grid",
                 cells: int = 8, n_segments: int = 50, background="blur",
                 blur_sigma: float | None = None, mode: str = "auto",
                 sampling: str = "iid") -> None:
        super().__init__(model, layer, seed, batch_size=batch_size, progress=progress)
        if mode not in MODES:
            raise XfasError(f"shap: mode {mode!r} is not one of {', '.join(MODES)}")
        if sampling not in SAMPLINGS:
            raise XfasError(f"shap: sampling {sampling!r} is not one of {', '.join(SAMPLINGS)}")
        if n_samples < 1:
            raise XfasError(f"shap: n_samples must be positive, got {n_samples}")
        if isinstance(features, str) and features not in SEGMENTATIONS:
            raise XfasError(f"shap: features {features!r}: expected one of "
                            f"{', '.join(SEGMENTATIONS)} or a tensor of labels")
        if isinstance(background, str) and background not in ("blur", "mean"):
            raise XfasError(f"shap: background {background!r}: expected 'blur', 'mean' or a "
                            "tensor")
        self.n_samples, self.features, self.cells = n_samples, features, cells
        self.n_segments, self.background, self.blur_sigma = n_segments, background, blur_sigma
        self.mode, self.sampling = mode, sampling

    def backgrounds(self, images: torch.Tensor) -> torch.Tensor:
        """The background (N, C, H, W) each image's hidden regions are replaced by."""
        if torch.is_tensor(self.background):
            background = self.background.to(device=images.device, dtype=images.dtype)
            if background.ndim == 3:
                background = background.unsqueeze(0)
            try:
                return background.expand_as(images)
            except RuntimeError:
                raise XfasError(f"shap: background of shape {tuple(self.background.shape)} "
                                f"does not fit images of shape {tuple(images.shape)}") from None
        if self.background == "mean":
            return images.mean(dim=(2, 3), keepdim=True).expand_as(images)
        sigma = self.blur_sigma if self.blur_sigma is not None else images.shape[-2] / 8
        return gaussian_blur(images, sigma)

    def _regions(self, images: torch.Tensor, target: Target) -> list[RegionAttribution]:
        score = self.score_fn(target, images.shape[0])
        fills = self.backgrounds(images)
        forward = PerturbedForward(self.model)
        results = []
        with progress_steps(images.shape[0], "SHAP", self.progress) as advance:
            for index, (image, fill) in enumerate(zip(images, fills)):
                results.append(self._one(image, fill, score, forward=forward, index=index))
                advance()
        return results

    def _one(self, image: torch.Tensor, fill: torch.Tensor, score: ScoreFn,
             *, forward: PerturbedForward, index: int) -> RegionAttribution:
        segments = superpixels(image, self.features, self.n_segments, cells=self.cells)
        features = int(segments.max()) + 1

        def evaluate(coalitions: torch.Tensor) -> torch.Tensor:
            return evaluate_coalitions(forward, score, image, fill=fill, segments=segments,
                                       coalitions=coalitions, row=index,
                                       batch_size=self.batch_size)

        exact = self.mode == "exact" or (self.mode == "auto"
                                         and 2 ** min(features, 62) <= self.n_samples)
        if exact:
            if features > EXACT_LIMIT:
                raise XfasError(f"shap: exact mode needs at most {EXACT_LIMIT} regions, got "
                                f"{features}")
            values = evaluate(all_coalitions(features, image.device))
            phi = exact_shapley(values, features)
            return RegionAttribution(segments, phi.float(), float(values[0]), float(values[-1]))
        ends = evaluate(torch.stack([torch.zeros(features, dtype=torch.float64),
                                     torch.ones(features, dtype=torch.float64)]).to(image.device))
        base, full = float(ends[0]), float(ends[1])
        if features == 1:
            values = torch.tensor([full - base], device=image.device)
            return RegionAttribution(segments, values, base, full)
        coalitions = kernel_coalitions(self.n_samples, features, self.generator(),
                                       device=image.device, paired=self.sampling == "paired")
        phi = kernel_shap_solve(coalitions, evaluate(coalitions), base, full=full)
        return RegionAttribution(segments, phi.float(), base, full)

