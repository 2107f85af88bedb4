"""Augmentation that keeps spoofing evidence intact: zoom and shift without padding, flips and
mild brightness / contrast jitter."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def augment_batch(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """FAS-safe augmentation: a random crop of 80-100 % of the side, resized back (zoom and
    shift without padding; evidence moves around the frame, which the position-specific dense
    head needs to see), horizontal flips and mild brightness/contrast jitter. No shifts that wrap
    or pad (they draw straight edges along the frame, like a photo's edge), no blur or strong
    colour changes (they erase print and screen artefacts). Random numbers come from the CPU
    ``generator``."""
    n = images.shape[0]
    scale = 0.8 + 0.2 * torch.rand(n, generator=generator)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (1 - scale)[:, None]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    images = F.grid_sample(images, grid, mode="bilinear", align_corners=False)
    flip = torch.rand(n, generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    brightness = 1 + (torch.rand(n, 1, 1, 1, generator=generator) - 0.5) * 0.2
    contrast = 1 + (torch.rand(n, 1, 1, 1, generator=generator) - 0.5) * 0.2
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = ((images - mean) * contrast + mean) * brightness
    return images.clamp(0, 1)
