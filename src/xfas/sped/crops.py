"""Stage 1 of SPED: the auxiliary set of crops (CRAFT, Fel et al. 2023, Sec. 3.1).

Each image is cut into a regular grid of square-ish sub-regions, ``fraction`` of its side,
moved by ``stride`` of its side, and each crop is resized back to the input size, so the model
sees a concept (a paper edge, a finger) large enough to fill its receptive field. Unlike
``torch.nn.functional.unfold`` (CRAFT's choice), the grid always ends on the image border, so
no strip of the image is left out.

Crops are made batch by batch (``crop_batches``): ``batch_size`` bounds how many exist at once.
Crop ``r`` of ``N`` images with ``B`` boxes each comes from image ``r // B`` and box ``r % B``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from xfas.errors import XfasError

Box = tuple[int, int, int, int]  # (y0, x0, y1, x1) in input pixels, y1 and x1 exclusive


@dataclass(frozen=True)
class CropGrid:
    """Grid crops: side ``fraction`` of the image side, step ``stride`` of the image side.

    Example:
        >>> CropGrid(0.5, 0.25).boxes(64, 64)[:2]
        [(0, 0, 32, 32), (0, 16, 32, 48)]
    """

    fraction: float = 0.5
    stride: float = 0.25

    def __post_init__(self) -> None:
        for name, value in (("crop_fraction", self.fraction), ("crop_stride", self.stride)):
            if not isinstance(value, (int, float)) or not 0.0 < float(value) <= 1.0:
                raise XfasError(f"{name}: expected a fraction of the image side in (0, 1], "
                                f"got {value!r}")

    def boxes(self, height: int, width: int) -> list[Box]:
        """Every crop box of an image of ``height`` x ``width``, row by row."""
        rows = _starts(height, self.fraction, self.stride)
        cols = _starts(width, self.fraction, self.stride)
        side_y = _side(height, self.fraction)
        side_x = _side(width, self.fraction)
        return [(y, x, y + side_y, x + side_x) for y in rows for x in cols]


def _side(length: int, fraction: float) -> int:
    return max(1, min(length, int(round(fraction * length))))


def _starts(length: int, fraction: float, stride: float) -> list[int]:
    side = _side(length, fraction)
    step = max(1, int(round(stride * length)))
    starts = list(range(0, length - side + 1, step))
    if starts[-1] != length - side:  # end the grid on the border
        starts.append(length - side)
    return starts


def _resize(patches: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (n, 3, h, w) patches; channels-last, where CPU upsampling is fastest."""
    patches = patches.contiguous(memory_format=torch.channels_last)
    return F.interpolate(patches, size=size, mode="bilinear", align_corners=False)


def make_crops(images: torch.Tensor, boxes: list[Box], rows: torch.Tensor) -> torch.Tensor:
    """Crops number ``rows`` (image-major order, see the module docstring) of ``images``
    (N, 3, H, W), each resized bilinearly to H x W -> (len(rows), 3, H, W)."""
    size = tuple(images.shape[-2:])
    count = len(boxes)
    image_index = rows // count
    box_index = rows % count
    out = images.new_empty((rows.shape[0], images.shape[1], *size))
    for b in torch.unique(box_index).tolist():
        where = (box_index == b).nonzero().flatten()
        y0, x0, y1, x1 = boxes[b]
        out[where] = _resize(images[image_index[where], :, y0:y1, x0:x1], size)
    return out


def crop_batches(images: torch.Tensor, boxes: list[Box], batch_size: int
                 ) -> Iterator[torch.Tensor]:
    """The crops of every image, at most ``batch_size`` at a time (whole images' worth when
    ``batch_size`` >= the boxes per image), in image-major order."""
    count = len(boxes)
    per_batch = batch_size // count
    if per_batch == 0:  # fewer crops per batch than one image has
        total = images.shape[0] * count
        for start in range(0, total, batch_size):
            rows = torch.arange(start, min(start + batch_size, total), device=images.device)
            yield make_crops(images, boxes, rows)
        return
    size = tuple(images.shape[-2:])
    for start in range(0, images.shape[0], per_batch):
        part = images[start:start + per_batch]
        crops = torch.stack([_resize(part[:, :, y0:y1, x0:x1], size)
                             for y0, x0, y1, x1 in boxes], dim=1)  # (n, boxes, 3, H, W)
        yield crops.flatten(0, 1).contiguous()


def to_uint8(inputs: torch.Tensor, channel_order: str = "RGB",
             pixel_scale: float = 1 / 255) -> torch.Tensor:
    """Model inputs (..., 3, H, W) back to RGB uint8 pixels (undoes ``FASModel.preprocess``:
    a plain ``nn.Module`` is taken to read RGB in [0, 1])."""
    pixels = inputs.detach().float() / pixel_scale
    if channel_order == "BGR":
        pixels = pixels.flip(-3)
    return pixels.round().clamp(0, 255).to(torch.uint8)


def top_rows(scores: torch.Tensor, per_image: int, top: int) -> torch.Tensor:
    """For each column k of ``scores`` (N * per_image, K), the rows of its ``top`` highest
    scores, at most one per source image (so a grid shows ``top`` different images) ->
    (K, top) int64; a column with fewer images repeats its last row."""
    n_rows, k = scores.shape
    order = torch.argsort(scores, dim=0, descending=True).cpu().numpy()
    chosen = np.empty((k, top), dtype=np.int64)
    for concept in range(k):
        seen: set[int] = set()
        picked: list[int] = []
        for row in order[:, concept]:
            image = int(row) // per_image
            if image in seen:
                continue
            seen.add(image)
            picked.append(int(row))
            if len(picked) == top:
                break
        picked += [picked[-1]] * (top - len(picked))
        chosen[concept] = picked
    return torch.from_numpy(chosen)
