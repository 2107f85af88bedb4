"""The custom CNN of "Evaluate the efficacy of attention mechanisms in face anti-spoofing with
an explainable AI approach", and its channel / spatial / CBAM attention variants.

Input: RGB in [0, 1], 64x64x3. Output: 2 logits (index 0 = live, index 1 = spoof; softmax at
inference). Convolutions are 3x3 unless marked 1x1, padded by repeating the border pixels;
LeakyReLU slope 0.1.

| # | module                | layer                                   | output (C x H x W) |
|---|-----------------------|-----------------------------------------|--------------------|
| 0 | ``normalize``         | (x - 0.5) / 0.25: pixels clustered at 0 | 3 x 64 x 64        |
| 1 | ``features.stem1``    | Conv2D 10                               | 10 x 64 x 64       |
| 2 | ``features.stem2``    | Conv2D 3 + LeakyReLU                    | 3 x 64 x 64        |
| 3 | ``features.block1``   | Conv2D 16 + BatchNorm + LeakyReLU       | 16 x 64 x 64       |
| 4 | ``features.pool1``    | MaxPool 2x2                             | 16 x 32 x 32       |
| 5 | ``features.block2``   | Conv2D 32 + BatchNorm + LeakyReLU       | 32 x 32 x 32       |
| 6 | ``features.pool2``    | MaxPool 2x2                             | 32 x 16 x 16       |
| 7 | ``features.block3``   | Conv2D 64 + BatchNorm + LeakyReLU       | 64 x 16 x 16       |
| 8 | ``features.pool3``    | MaxPool 2x2                             | 64 x 8 x 8         |
| 9 | ``features.block4``   | Conv2D 96 1x1 + BatchNorm + LeakyReLU   | 96 x 8 x 8         |
|10 | ``features.block5``   | Conv2D 128 1x1 + BatchNorm + LeakyReLU  | 128 x 8 x 8        |
|11 | ``features.block6``   | Conv2D 192 1x1 + BatchNorm + LeakyReLU  | 192 x 8 x 8        |
|12 | ``features.conv7``    | Conv2D 256 1x1 + LeakyReLU              | 256 x 8 x 8        |
|13 | ``features.conv8``    | Conv2D 128 1x1 + LeakyReLU              | 128 x 8 x 8        |
|14 | ``features.attention``| identity / channel / spatial / CBAM     | 128 x 8 x 8        |
|15 | ``head``              | Flatten, Dropout 0.5, Linear 8192 -> 2  | 2                  |

The paper places max-pooling between the blocks; we pool after the first three so the last
feature map stays 8x8, the resolution the CAM methods and SPED explain (a 2x2 map after five
pools would make every heat map a blur of four cells). The paper gives no kernel sizes. Ours
serve the explanations, whose question is *where* the evidence is:

- the five convolutions after the last pooling are 1x1: they mix channels, not positions, so
  each cell of the last map describes only the window the layers up to ``pool3`` see
  (``RECEPTIVE_FIELD`` = 26 px, centred on the cell). With wider kernels there every cell
  sees most or all of the input, and the flatten + dense head can read the evidence in
  whichever cells training favoured: a heat map then shows those cells, not where the
  evidence is in the image.
  They are ``PointwiseConv2d``, a matrix product, whose result, unlike oneDNN's 1x1 kernel's,
  does not depend on the number of threads.
- padding repeats the border pixels instead of adding zeros, so no cell can tell from the frame
  where in the image it is (zero padding lets it, and the dense head then reads position).

The runs behind these choices, and what they cost in accuracy, are in docs/experiments.md. The
default target layer is ``features.attention``: the last spatial feature map, after attention
where there is one.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from xfas.models.attention import CBAM, ChannelAttention, SpatialAttention
from xfas.models.base import FASModel
from xfas.models.pointwise import PointwiseConv2d

FEATURE_SIZE = 8
LAST_CHANNELS = 128
POSITION_MIXING_BLOCKS = 3  # blocks 1-3 are 3x3; blocks 4-6, conv7 and conv8 are 1x1
RECEPTIVE_FIELD = 26  # input pixels (per side) that one cell of the last map depends on
PADDING = "replicate"  # repeat the border: zero padding tells a cell where the frame is


def _conv(in_ch: int, out_ch: int, batch_norm: bool, *, kernel: int = 3) -> nn.Sequential:
    if kernel == 1:
        conv: nn.Conv2d = PointwiseConv2d(in_ch, out_ch, bias=not batch_norm)
    else:
        conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, padding_mode=PADDING,
                         bias=not batch_norm)
    layers: list[nn.Module] = [conv]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers)


class Normalize(nn.Module):
    """Input normalisation inside the model, so callers feed plain [0, 1] pixels; ``mean`` and
    ``std`` are one number for every channel or one per channel."""

    def __init__(self, mean: float | Sequence[float] = 0.5,
                 std: float | Sequence[float] = 0.25) -> None:
        super().__init__()
        self.register_buffer("mean", _per_channel(mean))
        self.register_buffer("std", _per_channel(std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class SeedCNN(FASModel):
    """The attention paper's CNN; ``attention`` picks the block on the final feature maps."""

    input_size = 64
    live_index = 0
    default_layer = "features.attention"

    def __init__(self, attention: str = "none", num_classes: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        self.attention_kind = attention
        self.num_classes = num_classes
        self.normalize = Normalize()
        self.features = nn.Sequential()
        self.features.add_module("stem1", nn.Conv2d(3, 10, 3, padding=1, padding_mode=PADDING))
        self.features.add_module("stem2", _conv(10, 3, batch_norm=False))
        widths = [3, 16, 32, 64, 96, 128, 192]
        for index, (in_ch, out_ch) in enumerate(zip(widths, widths[1:]), start=1):
            kernel = 3 if index <= POSITION_MIXING_BLOCKS else 1
            self.features.add_module(f"block{index}",
                                     _conv(in_ch, out_ch, batch_norm=True, kernel=kernel))
            if index <= 3:
                self.features.add_module(f"pool{index}", nn.MaxPool2d(2))
        self.features.add_module("conv7", _conv(192, 256, batch_norm=False, kernel=1))
        self.features.add_module("conv8", _conv(256, LAST_CHANNELS, batch_norm=False, kernel=1))
        self.features.add_module("attention", ATTENTION[attention](LAST_CHANNELS))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(LAST_CHANNELS * FEATURE_SIZE * FEATURE_SIZE, num_classes),
        )

    @property
    def name(self) -> str:  # type: ignore[override]
        return MODEL_NAMES[self.attention_kind]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.normalize(x)))


def _per_channel(value: float | Sequence[float]) -> torch.Tensor:
    """A (1, 3, 1, 1) tensor of one number per RGB channel."""
    return torch.as_tensor(value, dtype=torch.float32).expand(3).reshape(1, 3, 1, 1).clone()


ATTENTION: dict[str, Callable[[int], nn.Module]] = {
    "none": lambda channels: nn.Identity(),
    "channel": ChannelAttention,
    "spatial": lambda channels: SpatialAttention(),
    "cbam": CBAM,
}
MODEL_NAMES = {"none": "cnn", "channel": "cnn-ca", "spatial": "cnn-sa", "cbam": "cnn-cbam"}
