"""Image geometry shared by data loading, models, explanations and plots: boxes, the crop a
model input was cut from (``CropGeometry``, to put maps back onto the image), Silent-Face's
context crop, the square resize FAS inputs are made with, and the RGB image check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from xfas.errors import XfasError

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1) in image pixels, x1 and y1 exclusive


@dataclass(frozen=True)
class CropGeometry:
    """Where a model input came from: the box ``box`` of an image of ``image_size`` (H, W)."""

    image_size: tuple[int, int]
    box: Box

    @classmethod
    def whole(cls, height: int, width: int) -> "CropGeometry":
        """The geometry of an input made from the whole image."""
        return cls((height, width), (0, 0, width, height))

    def to_image(self, maps: torch.Tensor) -> torch.Tensor:
        """Maps (..., h, w) on the model input -> (..., H, W) on the image, zero outside the box."""
        height, width = self.image_size
        x0, y0, x1, y1 = self.box
        lead = maps.shape[:-2]
        flat = maps.reshape(-1, 1, *maps.shape[-2:]).float()
        inside = F.interpolate(flat, size=(y1 - y0, x1 - x0), mode="bilinear",
                               align_corners=False)
        out = flat.new_zeros(flat.shape[0], 1, height, width)
        out[..., y0:y1, x0:x1] = inside
        return out.reshape(*lead, height, width)


def context_crop_box(face_box: Sequence[float], image_size: tuple[int, int], scale: float) -> Box:
    """Silent-Face's context crop: the face box (x, y, w, h) scaled by
    s = min((H-1)/h, (W-1)/w, scale) about its centre and shifted back inside the image."""
    height, width = image_size
    x, y, w, h = (float(v) for v in face_box)
    if w <= 0 or h <= 0:
        raise XfasError(f"face box {tuple(face_box)}: width and height must be positive")
    s = min((height - 1) / h, (width - 1) / w, scale)
    new_w, new_h = w * s, h * s
    cx, cy = x + w / 2, y + h / 2
    left, top = cx - new_w / 2, cy - new_h / 2
    right, bottom = cx + new_w / 2, cy + new_h / 2
    if left < 0:
        right, left = right - left, 0
    if top < 0:
        bottom, top = bottom - top, 0
    if right > width - 1:
        left, right = left - (right - width + 1), width - 1
    if bottom > height - 1:
        top, bottom = top - (bottom - height + 1), height - 1
    return int(left), int(top), int(right) + 1, int(bottom) + 1


def resize_image(image: np.ndarray, size: tuple[int, int], interpolation: int | None = None
                 ) -> np.ndarray:
    """``image`` resized to ``size`` (H, W): by default area averaging when shrinking both
    sides (bilinear sampling skips pixels and aliases fine texture, a cue FAS models read) and
    bilinear otherwise; ``interpolation`` (a cv2 flag, e.g. ``cv2.INTER_NEAREST`` for masks)
    forces one filter."""
    height, width = size
    if interpolation is None:
        shrinking = height < image.shape[0] and width < image.shape[1]
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def resize_square(image: np.ndarray, size: int, interpolation: int | None = None) -> np.ndarray:
    """``image`` resized to ``size`` x ``size`` as ``resize_image`` does: the resize every FAS
    input of a model xfas trains is made with."""
    return resize_image(image, (size, size), interpolation)


def whole_box(image: np.ndarray) -> Box:
    """The box of the whole image."""
    return 0, 0, image.shape[1], image.shape[0]


def check_rgb_image(image: np.ndarray, what: str = "image") -> None:
    """Raise XfasError unless ``image`` is a uint8 (H, W, 3) array."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise XfasError(f"{what}: expected an RGB array of shape (H, W, 3), got {shape}")
    if image.dtype != np.uint8:
        raise XfasError(f"{what}: expected uint8 pixels, got {image.dtype}")
    if min(image.shape[:2]) < 2:
        raise XfasError(f"{what}: too small ({image.shape[1]}x{image.shape[0]} pixels)")
