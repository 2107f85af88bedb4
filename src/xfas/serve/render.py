"""Maps on the model input -> what the service returns: heat maps on the image (as base64
PNG, at most ``display_side`` pixels on the long side) and evidence boxes in image pixels."""

from __future__ import annotations

import base64
import math

import cv2
import numpy as np
import torch

from xfas.data.geometry import CropGeometry
from xfas.data.image_io import encode_png

# Concept colours (matplotlib's tab10), one per concept index, so the page's bars and layers
# match.
PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MAX_ALPHA = 220  # opacity of a map's strongest pixel, out of 255
METHOD_BOX_LEVEL = 0.5  # a method map's box covers the pixels at least half its maximum


def colour(index: int) -> str:
    """The colour of concept ``index`` (#rrggbb)."""
    return PALETTE[index % len(PALETTE)]


def display_scale(image_size: tuple[int, int], display_side: int) -> float:
    """Factor (<= 1) that brings an image of size (H, W) to at most ``display_side`` pixels
    on its long side."""
    return min(1.0, display_side / max(image_size))


def to_display(maps: torch.Tensor, geometry: CropGeometry, scale: float) -> np.ndarray:
    """Maps (..., h, w) on the model input -> (..., H*scale, W*scale) float32 on the image."""
    height, width = geometry.image_size
    x0, y0, x1, y1 = geometry.box
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    left, top = math.floor(x0 * scale), math.floor(y0 * scale)
    right = min(size[1], max(left + 1, math.ceil(x1 * scale)))
    bottom = min(size[0], max(top + 1, math.ceil(y1 * scale)))
    small = CropGeometry(size, (left, top, right, bottom))
    return small.to_image(maps.detach().float().cpu()).numpy()


def evidence_box(display_map: np.ndarray, scale: float, image_size: tuple[int, int],
                 *, level: float = 0.0) -> list[int] | None:
    """[x, y, w, h] in image pixels of the map's pixels above ``level`` x its maximum (above
    zero for level 0); None for an all-zero map."""
    peak = float(display_map.max()) if display_map.size else 0.0
    if peak <= 0.0:
        return None
    rows, cols = np.nonzero(display_map > level * peak if level > 0 else display_map > 0)
    height, width = image_size
    x0 = max(0, math.floor(cols.min() / scale))
    y0 = max(0, math.floor(rows.min() / scale))
    x1 = min(width, math.ceil((cols.max() + 1) / scale))
    y1 = min(height, math.ceil((rows.max() + 1) / scale))
    return [x0, y0, x1 - x0, y1 - y0]


def heatmap_png(display_map: np.ndarray, hex_colour: str | None = None) -> str:
    """Base64 of an RGBA PNG: opacity MAX_ALPHA x value², rounded up (0 -> transparent, any
    value > 0 -> visible; squared so weak evidence stays faint); the colour is ``hex_colour``,
    or the jet colour map of the value when None."""
    values = np.clip(np.nan_to_num(display_map.astype(np.float32)), 0.0, 1.0)
    alpha = np.ceil(values ** 2 * MAX_ALPHA).astype(np.uint8)  # any evidence stays visible
    if hex_colour is None:
        rgb = cv2.applyColorMap(np.rint(values * 255).astype(np.uint8),
                                cv2.COLORMAP_JET)[..., ::-1]
    else:
        rgb = np.empty((*values.shape, 3), dtype=np.uint8)
        rgb[...] = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return base64.b64encode(encode_png(np.dstack([rgb, alpha]))).decode("ascii")

