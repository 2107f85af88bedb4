"""MiniFASNetV2 and MiniFASNetV1SE, the pretrained Silent-Face anti-spoofing models.

Written from the facts in the assets' README and from the tensor names and shapes stored in
the released ``.pth`` files: module names match the stored keys (after stripping ``module.``)
so ``load_state_dict(strict=True)`` checks every tensor. Both take an 80x80 BGR crop in
0..255 and return 3 logits: 0 = 2D attack, 1 = live, 2 = 3D attack.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Sequence

import cv2
import torch
from torch import nn

from xfas.assets import MINIFASNET_V1SE, MINIFASNET_V2, find_asset
from xfas.errors import XfasError
from xfas.models.base import FASModel

# Hidden widths of the 1x1 expansion of every depth-wise block, read off the weight shapes
# (``<stage>.model.<i>.conv.conv.weight`` has shape (width, in, 1, 1)). Output widths are the
# same for both models: 64 after conv_23 and conv_3, 128 after conv_34 ... conv_5.
_V2_WIDTHS = {"conv_23": 103, "conv_3": (13, 13, 13, 13), "conv_34": 231,
              "conv_4": (231, 52, 26, 77, 26, 26), "conv_45": 308, "conv_5": (26, 26)}
_V1SE_WIDTHS = {"conv_23": 103, "conv_3": (13, 26, 13, 52), "conv_34": 231,
                "conv_4": (154, 52, 26, 52, 26, 26), "conv_45": 308, "conv_5": (26, 26)}
_SE_REDUCTION = 4  # se_module.fc1 maps 64 -> 16 and 128 -> 32


class ConvBlock(nn.Module):
    """conv (no bias) + BatchNorm2d + PReLU with one slope per channel."""

    def __init__(self, in_c: int, out_c: int, kernel: int = 1, *, stride: int = 1,
                 padding: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_c)
        self.prelu = nn.PReLU(out_c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.bn(self.conv(x)))


class LinearBlock(nn.Module):
    """conv (no bias) + BatchNorm2d, no non-linearity."""

    def __init__(self, in_c: int, out_c: int, kernel: int = 1, *, stride: int = 1,
                 padding: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SqueezeExcite(nn.Module):
    """Channel gate: global average pool -> fc1 -> bn1 -> ReLU -> fc2 -> bn2 -> sigmoid."""

    def __init__(self, channels: int, reduction: int = _SE_REDUCTION) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // reduction)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = x.mean(dim=(2, 3), keepdim=True)
        gate = torch.relu(self.bn1(self.fc1(gate)))
        return x * torch.sigmoid(self.bn2(self.fc2(gate)))


class DepthWise(nn.Module):
    """1x1 conv block -> 3x3 depth-wise conv block -> 1x1 linear ``project`` (+ SE, + input)."""

    def __init__(self, in_c: int, out_c: int, width: int, *, stride: int = 1,
                 residual: bool = False, se: bool = False) -> None:
        super().__init__()
        self.conv = ConvBlock(in_c, width)
        self.conv_dw = ConvBlock(width, width, kernel=3, stride=stride, padding=1, groups=width)
        self.project = LinearBlock(width, out_c)
        self.se_module = SqueezeExcite(out_c) if se else None
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.conv_dw(self.conv(x)))
        if self.se_module is not None:
            out = self.se_module(out)
        return x + out if self.residual else out


class Residual(nn.Module):
    """A stage of residual depth-wise blocks, stored under ``<stage>.model.<i>``."""

    def __init__(self, channels: int, widths: Sequence[int], se_last: bool = False) -> None:
        super().__init__()
        self.model = nn.Sequential(*(
            DepthWise(channels, channels, width, residual=True,
                      se=se_last and i == len(widths) - 1)
            for i, width in enumerate(widths)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MiniFASNet(FASModel):
    """The shared MiniFASNet trunk; subclasses fix the widths and whether SE blocks are used."""

    input_size: ClassVar[int] = 80
    live_index: ClassVar[int] = 1
    channel_order: ClassVar[str] = "BGR"
    pixel_scale: ClassVar[float] = 1.0
    resize_interpolation: ClassVar[int | None] = cv2.INTER_LINEAR  # Silent-Face's cv2.resize
    # conv_6_sep is the last spatial map (512 channels, 5x5 at 80x80, after PReLU): the most
    # semantic layer that still has a spatial layout, the usual Grad-CAM choice. Unlike a
    # global-average-pooled head, the next layer (conv_6_dw, a learned 5x5 depth-wise
    # weighting) gives each position its own gradient, so CAMs there are not flat. conv_5 is
    # also 5x5 (128 channels) and can be chosen as ``layer`` (compared in docs/experiments.md).
    default_layer: ClassVar[str] = "conv_6_sep"
    widths: ClassVar[dict] = _V2_WIDTHS
    squeeze_excite: ClassVar[bool] = False

    def __init__(self, num_classes: int = 3, dropout: float = 0.2) -> None:
        super().__init__()
        self.num_classes = num_classes
        w, se = self.widths, self.squeeze_excite
        self.conv1 = ConvBlock(3, 32, kernel=3, stride=2, padding=1)
        self.conv2_dw = ConvBlock(32, 32, kernel=3, padding=1, groups=32)
        self.conv_23 = DepthWise(32, 64, w["conv_23"], stride=2)
        self.conv_3 = Residual(64, w["conv_3"], se_last=se)
        self.conv_34 = DepthWise(64, 128, w["conv_34"], stride=2)
        self.conv_4 = Residual(128, w["conv_4"], se_last=se)
        self.conv_45 = DepthWise(128, 128, w["conv_45"], stride=2)
        self.conv_5 = Residual(128, w["conv_5"], se_last=se)
        self.conv_6_sep = ConvBlock(128, 512)
        kernel = (self.input_size + 15) // 16  # 5x5 = the whole map at 80x80 input
        self.conv_6_dw = LinearBlock(512, 512, kernel=kernel, groups=512)
        self.linear = nn.Linear(512, 128, bias=False)
        self.bn = nn.BatchNorm1d(128)
        self.drop = nn.Dropout(dropout)
        self.prob = nn.Linear(128, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2_dw(self.conv1(x))
        x = self.conv_3(self.conv_23(x))
        x = self.conv_4(self.conv_34(x))
        x = self.conv_5(self.conv_45(x))
        x = self.conv_6_dw(self.conv_6_sep(x))
        x = self.bn(self.linear(x.flatten(1)))
        return self.prob(self.drop(x))


class MiniFASNetV2(MiniFASNet):
    """MiniFASNetV2, used with a 2.7x context crop around the face."""

    name: ClassVar[str] = "minifasnet-v2"
    crop_scale = 2.7
    widths: ClassVar[dict] = _V2_WIDTHS


class MiniFASNetV1SE(MiniFASNet):
    """MiniFASNetV1 with squeeze-excitation in the last block of conv_3/4/5, 4.0x context crop."""

    name: ClassVar[str] = "minifasnet-v1se"
    crop_scale = 4.0
    widths: ClassVar[dict] = _V1SE_WIDTHS
    squeeze_excite: ClassVar[bool] = True


VARIANTS: dict[str, tuple[type[MiniFASNet], str]] = {
    "v2": (MiniFASNetV2, MINIFASNET_V2),
    "v1se": (MiniFASNetV1SE, MINIFASNET_V1SE),
}


def load_minifasnet(variant: str = "v2", weights: str | Path | None = None,
                    assets: str | Path | None = None, *, device: str | torch.device = "cpu"
                    ) -> FASModel:
    """A pretrained MiniFASNet in eval mode.

    Args:
        variant: "v2" or "v1se" (a "minifasnet-" prefix is accepted).
        weights: the ``.pth`` file; default: the released file under ``assets``/XFAS_ASSETS.
        assets: the assets folder (see ``xfas.assets``).
        device: where the model lives.

    Raises AssetMissingError when the file is missing, XfasError when it is not a matching
    MiniFASNet state dict.

    Example:
        >>> model = load_minifasnet("v2", assets="../shared/assets/silent-face")
    """
    key = variant.lower().removeprefix("minifasnet-")
    if key not in VARIANTS:
        raise XfasError(f"MiniFASNet variant {variant!r}: unknown, choose one of "
                        f"{', '.join(VARIANTS)}")
    cls, relative = VARIANTS[key]
    path = find_asset(relative, explicit=weights, root=assets)
    state = _read_state_dict(path)
    model = cls()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        summary = str(error).replace("\n", " ").replace("\t", "")
        raise XfasError(f"{path}: not a {cls.name} state dict ({summary[:300]})") from error
    return model.to(device).eval()


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a torch file with any ``module.`` prefix removed, loaded safely."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt bytes can surface as almost any exception type
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise XfasError(f"{path}: not a readable torch weights file ({reason[:200]})") from error
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise XfasError(f"{path}: expected a dict of named tensors, got {type(state).__name__}")
    return {k.removeprefix("module."): v for k, v in state.items()}
