"""The common model interface every explainer, the benchmark and the service rely on.

An xfas model is a ``torch.nn.Module`` classifier that also knows
- which output is "live" (``live_index``), so ``spoof_logit`` / ``spoof_probability`` are defined
  for any number of classes (2 for the seed CNNs, 3 for MiniFASNet);
- how an RGB image becomes its input (``preprocess``: crop, resize, channel order, pixel scale),
  resized with the filter it was trained with (``resize_interpolation``);
- where its input came from in the image (``CropGeometry``), so maps go back onto the image;
- its default target layer for CAM methods and SPED (``default_layer``, a module name).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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


def resize_square(image: np.ndarray, size: int, interpolation: int | None = None) -> np.ndarray:
    """``image`` resized to ``size`` x ``size``: by default area averaging when shrinking
    (bilinear sampling skips pixels and aliases fine texture, a cue FAS models read) and
    bilinear when enlarging; ``interpolation`` (a cv2 flag) forces one filter."""
    if interpolation is None:
        shrinking = size < min(image.shape[:2])
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interpolation)


class FASModel(nn.Module):
    """Base class of xfas models. Subclasses set the class attributes and build layers."""

    name: ClassVar[str] = "fas"
    input_size: ClassVar[int] = 64
    live_index: ClassVar[int] = 0
    default_layer: ClassVar[str] = ""
    channel_order: ClassVar[str] = "RGB"   # order of the input channels
    pixel_scale: ClassVar[float] = 1 / 255  # input = uint8 pixel * pixel_scale
    crop_scale: float | None = None          # context crop around a face box; None = whole image
    # cv2 filter of the resize to input_size; None = resize_square's default, the one xfas's
    # datasets train with, so predictions see the pixels training saw
    resize_interpolation: ClassVar[int | None] = None

    def spoof_logit(self, logits: torch.Tensor) -> torch.Tensor:
        """Log-odds of spoof vs live, (N,): what gradient explanations explain."""
        live = logits[:, self.live_index]
        others = torch.cat([logits[:, : self.live_index], logits[:, self.live_index + 1:]], dim=1)
        return torch.logsumexp(others, dim=1) - live

    def spoof_probability(self, logits: torch.Tensor) -> torch.Tensor:
        """1 - softmax[live], (N,)."""
        return 1.0 - torch.softmax(logits, dim=1)[:, self.live_index]

    def spoof_score(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable spoof log-odds of a preprocessed batch."""
        return self.spoof_logit(self(x))

    def preprocess(self, image: np.ndarray, face_box: Sequence[float] | None = None
                   ) -> tuple[torch.Tensor, CropGeometry]:
        """An RGB uint8 image (H, W, 3) -> the model's input (3, S, S) and its geometry.

        With a face box (x, y, w, h) and a ``crop_scale``, the context crop of Silent-Face is
        used; otherwise the whole image is resized."""
        check_rgb_image(image)
        height, width = image.shape[:2]
        if face_box is not None and self.crop_scale is not None:
            box = context_crop_box(face_box, (height, width), self.crop_scale)
        else:
            box = (0, 0, width, height)
        x0, y0, x1, y1 = box
        crop = resize_square(image[y0:y1, x0:x1], self.input_size, self.resize_interpolation)
        if self.channel_order == "BGR":
            crop = crop[:, :, ::-1]
        tensor = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float()
        return tensor * self.pixel_scale, CropGeometry((height, width), box)

    def preprocess_batch(self, images: Sequence[np.ndarray],
                         face_boxes: Sequence[Sequence[float] | None] | None = None
                         ) -> tuple[torch.Tensor, list[CropGeometry]]:
        """Preprocess several images into one (N, 3, S, S) batch."""
        boxes = face_boxes if face_boxes is not None else [None] * len(images)
        pairs = [self.preprocess(img, box) for img, box in zip(images, boxes)]
        return torch.stack([p[0] for p in pairs]), [p[1] for p in pairs]

    def layer_names(self) -> list[str]:
        """Names of every sub-module, usable as ``layer`` by explainers."""
        return [name for name, _ in self.named_modules() if name]

    def fingerprint(self) -> str:
        """A short hash of the weights, so concept banks and results name their model."""
        digest = hashlib.sha256(self.name.encode())
        for key, value in sorted(self.state_dict().items()):
            digest.update(key.encode())
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]


def check_rgb_image(image: np.ndarray, what: str = "image") -> None:
    """Raise XfasError unless ``image`` is a uint8 (H, W, 3) array."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise XfasError(f"{what}: expected an RGB array of shape (H, W, 3), got {shape}")
    if image.dtype != np.uint8:
        raise XfasError(f"{what}: expected uint8 pixels, got {image.dtype}")
    if min(image.shape[:2]) < 2:
        raise XfasError(f"{what}: too small ({image.shape[1]}x{image.shape[0]} pixels)")
