"""Attention blocks of CBAM (Woo et al., 2018), as used by the attention paper's CNN variants."""

from __future__ import annotations

import torch
from torch import nn


class ChannelAttention(nn.Module):
    """Average- and max-pooled channel descriptors through a shared bottleneck MLP, summed,
    sigmoid, then each channel rescaled (CBAM eq. 2)."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(torch.mean(x, dim=(2, 3), keepdim=True))
        peak = self.mlp(torch.amax(x, dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(avg + peak)


class SpatialAttention(nn.Module):
    """Channel-wise average and max maps, concatenated, a 7x7 convolution, sigmoid, then each
    position rescaled (CBAM eq. 3)."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        # border-repeating padding, as in the CNN: zeros would make the border cells special
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2,
                              padding_mode="replicate", bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class CBAM(nn.Sequential):
    """Channel attention, then spatial attention."""

    def __init__(self, channels: int, reduction: int = 8, kernel_size: int = 7) -> None:
        super().__init__(ChannelAttention(channels, reduction), SpatialAttention(kernel_size))
