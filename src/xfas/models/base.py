"""The common model interface every explainer, the benchmark and the service rely on.

An xfas model is a ``torch.nn.Module`` classifier that also knows
- which output is "live" (``live_index``), so ``spoof_logit`` / ``spoof_probability`` are defined
  for any number of classes (2 for the seed CNNs, 3 for MiniFASNet);
- how an RGB image becomes its input (``preprocess``: crop, resize, channel order, pixel scale),
  resized with the filter it was trained with (``resize_interpolation``);
- where its input came from in the image (``CropGeometry``), so maps go back onto the image;
- its default target layer for CAM methods and SPED (``default_layer``, a module name);
- the threshold of its verdict (``threshold``).

Every one of these can be written down, and set, by a model card (``xfas.models.card``).
"""

from __future__ import annotations

import hashlib
from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from xfas.data.geometry import (Box, CropGeometry, check_rgb_image, context_crop_box,
                                 resize_square)

# The image geometry lives in xfas.data.geometry; these names stay importable from here.
__all__ = ["Box", "CropGeometry", "FASModel", "check_rgb_image", "context_crop_box",
           "reads_dataset_images", "resize_square"]


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
    # the verdict: spoof when spoof_probability >= threshold; threshold_data names the data it
    # was chosen on (None: a fixed default); a model card may set both (xfas.models.card)
    threshold: float = 0.5
    threshold_data: str | None = None

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


def reads_dataset_images(model: FASModel) -> bool:
    """True when the dataset's own float images are the model's inputs (whole-image RGB models
    in [0, 1] at the input size, such as the seed CNNs and the backbones), so they are read
    exactly as in training; other models (MiniFASNet, cards that ask for BGR, 0-255 or a face
    crop) need ``preprocess`` of the original image."""
    return (model.crop_scale is None and model.channel_order == "RGB"
            and abs(model.pixel_scale - 1 / 255) < 1e-12 and model.resize_interpolation is None)
