"""Pictures of one image: a heat map blended over it, evidence masks outlined or painted on it,
and a model input turned back into the RGB image it came from.

Images are RGB uint8 arrays (H, W, 3); maps are (H, W) arrays or tensors in [0, 1]; masks are
bool or 0/1 arrays (H, W).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import numpy as np
import torch

from xfas.data.geometry import check_rgb_image
from xfas.errors import XfasError
from xfas.plots.colours import OUTLINE, RGB, SURFACE_COLOURS, evidence_colour

ArrayLike = np.ndarray | torch.Tensor


def to_numpy(values: ArrayLike) -> np.ndarray:
    """A tensor (detached, on the CPU) or array as a numpy array."""
    if torch.is_tensor(values):
        return values.detach().float().cpu().numpy()
    return np.asarray(values)


def check_map(saliency: np.ndarray, image: np.ndarray, what: str) -> np.ndarray:
    """``saliency`` as float64 with NaN set to 0; XfasError naming ``what`` unless it has the
    image's height and width."""
    if saliency.shape != image.shape[:2]:
        raise XfasError(f"{what}: map of shape {saliency.shape} does not match the image "
                        f"({image.shape[0]}, {image.shape[1]})")
    return np.nan_to_num(saliency.astype(np.float64))


def input_to_rgb(x: torch.Tensor, channel_order: str = "RGB",
                 pixel_scale: float = 1 / 255) -> np.ndarray:
    """A model input (3, H, W) back to an RGB uint8 image (undoes ``FASModel.preprocess``)."""
    array = to_numpy(x).transpose(1, 2, 0) / pixel_scale
    if channel_order == "BGR":
        array = array[:, :, ::-1]
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def overlay(image: np.ndarray, saliency: ArrayLike, alpha: float = 0.5,
            *, colormap: str = "jet") -> np.ndarray:
    """The image blended with the colour-mapped saliency (weight ``alpha``), uint8 (H, W, 3)."""
    from matplotlib import colormaps

    check_rgb_image(image)
    values = np.clip(check_map(to_numpy(saliency), image, "overlay"), 0.0, 1.0)
    colours = colormaps[colormap](values)[:, :, :3] * 255.0
    blended = (1 - alpha) * image.astype(np.float64) + alpha * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def outline_masks(canvas: np.ndarray, masks: Sequence[tuple[np.ndarray, RGB]]) -> np.ndarray:
    """Draw each mask's outer contour (non-zero pixels, 1 px) in its RGB colour on ``canvas``
    (uint8 (H, W, 3), changed in place and returned)."""
    for mask, colour in masks:
        contours, _ = cv2.findContours((np.asarray(mask) > 0).astype(np.uint8),
                                       cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, colour, 1)
    return canvas


def outlined_overlay(image: np.ndarray, saliency: ArrayLike | None,
                     masks: Sequence[np.ndarray]) -> np.ndarray:
    """The image with the map overlaid (if any) and every mask's contour drawn on top in the
    one outline colour (the benchmark's and the study's figures)."""
    canvas = image.copy() if saliency is None else overlay(image, saliency)
    return outline_masks(canvas, [(mask, OUTLINE) for mask in masks])


def evidence_overlay(image: np.ndarray, masks: Mapping[str, np.ndarray],
                     saliency: ArrayLike) -> np.ndarray:
    """The image under the heat map ``saliency``, each evidence mask outlined in its
    evidence colour."""
    return outline_masks(overlay(image, saliency),
                         [(mask, evidence_colour(name)) for name, mask in masks.items()])


def mask_panel(image: np.ndarray, masks: Mapping[str, np.ndarray]) -> np.ndarray:
    """The image faded to light grey with each evidence mask painted in its colour, the
    attack surfaces first, so that the evidence on them stays visible."""
    grey = image.mean(axis=2, keepdims=True) * 0.25 + 180
    panel = np.repeat(grey, 3, axis=2)
    for name in sorted(masks, key=lambda name: name not in SURFACE_COLOURS):
        panel[masks[name]] = evidence_colour(name)
    return panel.astype(np.uint8)
