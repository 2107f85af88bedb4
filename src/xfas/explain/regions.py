"""Regions for the methods that explain by hiding parts of the image (LIME, SHAP): superpixels
or a grid of cells, images composed from a coalition of visible regions, and the batched model
evaluation of many coalitions. Segmentation runs on the CPU (scikit-image); everything else stays
on the model's device."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from xfas.errors import XfasError
from xfas.explain.base import (Explainer, PerturbedForward, ScoreFn, Target, chunks, evaluating,
                               normalize_maps)

SEGMENTATIONS = ("slic", "quickshift", "grid")
MIN_REGIONS = 4


@dataclass
class RegionAttribution:
    """Signed attributions of regions of one model input, for plotting and checks.

    segments: (H, W) long labels 0..K-1; values: (K,) signed attribution per region;
    base: score with every region hidden; full: score of the unmodified input."""

    segments: torch.Tensor
    values: torch.Tensor
    base: float
    full: float

    def painted(self) -> torch.Tensor:
        """The values painted on their regions, (H, W), signed."""
        return self.values[self.segments]


def region_maps(regions: list[RegionAttribution]) -> torch.Tensor:
    """The maps ``explain`` returns for these regions: positive part, scaled to [0, 1]."""
    painted = torch.stack([region.painted() for region in regions])
    return normalize_maps(painted, tuple(painted.shape[-2:]))


def grid_cells(height: int, width: int, cells: int, *, device: torch.device | None = None
               ) -> torch.Tensor:
    """Labels (H, W) of a cells x cells grid, row-major."""
    rows = torch.arange(height, device=device) * cells // height
    cols = torch.arange(width, device=device) * cells // width
    return rows[:, None] * cells + cols[None, :]


def _display(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) model input -> (H, W, C) float64 in [0, 1] for scikit-image."""
    array = torch.nan_to_num(image.detach().double()).cpu().permute(1, 2, 0).numpy()
    low, high = array.min(), array.max()
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def superpixels(image: torch.Tensor, method: str | torch.Tensor = "slic", n_segments: int = 50,
                *, compactness: float = 10.0, cells: int = 8) -> torch.Tensor:
    """Labels (H, W), consecutive from 0, on the image's device.

    slic (default): about ``n_segments`` compact superpixels; 50 at 64x64 gives regions of
    about 9x9 pixels that follow the face's edges without merging into one blob.
    quickshift: mode seeking (kernel 2, max distance 6 at this size). grid: ``cells`` x ``cells``.
    A tensor (H, W) of integer labels is used as given (relabelled consecutively).
    A segmentation that finds fewer than 4 regions (noise, flat images) falls back to a grid of
    about ``n_segments`` cells, so the explanation never hinges on one blob.
    """
    if torch.is_tensor(method):
        if method.shape != image.shape[1:] or method.is_floating_point():
            raise XfasError(f"segments: expected integer labels of shape "
                            f"{tuple(image.shape[1:])}, got {method.dtype} "
                            f"{tuple(method.shape)}")
        return torch.unique(method, return_inverse=True)[1].to(image.device)
    _, height, width = image.shape
    if method == "grid":
        return grid_cells(height, width, cells, device=image.device)
    if method not in SEGMENTATIONS:
        raise XfasError(f"segmentation {method!r}: expected one of {', '.join(SEGMENTATIONS)}")
    from skimage.segmentation import quickshift, slic

    array = _display(image)
    colour = array.shape[2] == 3
    if method == "slic":
        labels = slic(array, n_segments=n_segments, compactness=compactness, start_label=0,
                      channel_axis=-1, convert2lab=colour)
    else:
        if not colour:
            raise XfasError("segmentation 'quickshift': needs a 3-channel image")
        labels = quickshift(array, kernel_size=2, max_dist=6, ratio=0.5)
    found, consecutive = np.unique(labels, return_inverse=True)
    if len(found) < MIN_REGIONS:
        return grid_cells(height, width, max(2, round(math.sqrt(n_segments))), device=image.device)
    return torch.from_numpy(consecutive.reshape(height, width).astype(np.int64)).to(image.device)


def region_means(image: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """(C, H, W): every pixel replaced by the mean colour of its region."""
    channels = image.shape[0]
    count = int(segments.max()) + 1
    flat = segments.reshape(-1)
    sums = torch.zeros(channels, count, device=image.device, dtype=image.dtype)
    sums.index_add_(1, flat, image.reshape(channels, -1))
    sizes = torch.bincount(flat, minlength=count).clamp_min(1).to(image.dtype)
    return (sums / sizes)[:, flat].reshape(image.shape)


def gaussian_blur(images: torch.Tensor, sigma: float, radius: int | None = None
                  ) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W) with replicated borders; the kernel reaches
    ``radius`` pixels each way (default: 3 sigma)."""
    radius = max(1, math.ceil(3 * sigma)) if radius is None else radius
    offsets = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    out = F.pad(images, (radius, radius, 0, 0), mode="replicate")
    out = F.conv2d(out, kernel.reshape(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    out = F.pad(out, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(out, kernel.reshape(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def evaluate_coalitions(forward: PerturbedForward, score: ScoreFn, image: torch.Tensor,
                        *, fill: torch.Tensor, segments: torch.Tensor, coalitions: torch.Tensor,
                        row: int, batch_size: int) -> torch.Tensor:
    """Scores (n,) of the image with the regions of each coalition (n, K) visible (1) and the
    others replaced by ``fill`` (C, H, W); at most ``batch_size`` composed images at a time,
    composed channels-last, the layout ``forward`` hands the model on the CPU.
    A non-finite score (from non-finite pixels) counts as 0, so the regressions stay defined."""
    scores = []
    rows = torch.full((batch_size,), row, device=image.device, dtype=torch.long)
    fill_last = fill.permute(1, 2, 0).contiguous()  # (H, W, C)
    difference = image.permute(1, 2, 0) - fill_last
    for start, stop in chunks(coalitions.shape[0], batch_size):
        masks = coalitions[start:stop].to(image.dtype)[:, segments]  # (b, H, W)
        composed = torch.addcmul(fill_last, difference, masks[..., None])  # (b, H, W, C)
        scores.append(score(forward(composed.permute(0, 3, 1, 2)), rows[:stop - start]))
    return torch.nan_to_num(torch.cat(scores).double(), nan=0.0, posinf=0.0, neginf=0.0)


class RegionExplainer(Explainer):
    """An explainer that scores regions (superpixels or cells): signed values per region for
    plots (``explain_regions``), and their positive part painted back as the map."""

    def explain_regions(self, images: torch.Tensor, target: Target = "spoof"
                        ) -> list[RegionAttribution]:
        """Signed values per region for each image."""
        images = self.checked(images)
        with evaluating(self.model):
            return self._regions(images, target)

    def attribute(self, images: torch.Tensor, target: Target) -> torch.Tensor:
        return torch.stack([region.painted() for region in self._regions(images, target)])

    def _regions(self, images: torch.Tensor, target: Target) -> list[RegionAttribution]:
        raise NotImplementedError
