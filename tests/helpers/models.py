"""Tiny models with known structure for the explainer tests (test_helpers.py checks that they
really have it) and the SPED tests (a planted-concept model whose directions they recover), a
seeded image batch, an explainer's raw maps, Pearson correlation for comparing maps, and the
small SynthSpoof with an untrained CNN the SPED command-line tests discover on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from xfas.explain import Explainer
from xfas.explain.base import Target, evaluating


class TinyCNN(nn.Module):
    """A small random CNN, 2 logits (index 0 = live), features -> head like the seed CNN."""

    def __init__(self, seed: int = 0, channels: int = 8) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels * 2, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * 2 * 8 * 8, 2))
        with torch.no_grad():  # non-trivial batch-norm statistics
            self.features[1].running_mean.uniform_(-0.2, 0.2)
            self.features[1].running_var.uniform_(0.5, 1.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class QuadraticModel(nn.Module):
    """A = W x (a fixed 1x1 convolution, 4 channels at the input's resolution, layer "feat");
    spoof logit S = z1 - z0 = sum_k c_k mean_ij A_kij^2, so dS/dA_kij = 2 c_k A_kij / (h w)."""

    weight = np.array([[1.0, 0.5, -0.3], [0.2, -1.0, 0.7], [-0.6, 0.4, 0.9], [0.3, 0.3, 0.3]])
    coefficients = np.array([1.5, -0.8, 0.6, 2.0])

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor(self.weight, dtype=torch.float32)[:, :, None, None])
        self.feat = nn.Identity()
        self.register_buffer("c", torch.tensor(self.coefficients, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.feat(self.conv(x))
        s = (self.c[None, :, None, None] * a.pow(2)).mean(dim=(2, 3)).sum(dim=1)
        return torch.stack([torch.zeros_like(s), s], dim=1)

    @classmethod
    def activations(cls, x: np.ndarray) -> np.ndarray:
        """A for a numpy batch (N, 3, H, W), computed by hand."""
        return np.einsum("kc,nchw->nkhw", cls.weight, x)

    @classmethod
    def gradients(cls, x: np.ndarray) -> np.ndarray:
        """dS/dA for a numpy batch, the closed form of the class docstring."""
        a = cls.activations(x)
        return 2 * cls.coefficients[None, :, None, None] * a / (a.shape[2] * a.shape[3])


class BoxModel(nn.Module):
    """Spoof logit = gain * (mean of channel 0 squared inside ``box`` - offset): only the box
    matters, and hiding texture there (mean colour, blur, black) lowers the score."""

    def __init__(self, box: tuple[int, int, int, int] = (16, 8, 32, 24), gain: float = 12.0,
                 offset: float = 0.4) -> None:
        super().__init__()
        self.box, self.gain, self.offset = box, gain, offset
        self.conv = nn.Conv2d(3, 3, 1)  # a layer, so layer methods also run on it
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(3)[:, :, None, None])
            self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0, y0, x1, y1 = self.box
        inside = self.conv(x)[:, 0, y0:y1, x0:x1]
        s = self.gain * (inside.pow(2).mean(dim=(1, 2)) - self.offset)
        return torch.stack([torch.zeros_like(s), s], dim=1)

    def inside(self, height: int, width: int) -> torch.Tensor:
        """Boolean (H, W) mask of the box."""
        x0, y0, x1, y1 = self.box
        mask = torch.zeros(height, width, dtype=torch.bool)
        mask[y0:y1, x0:x1] = True
        return mask


def pearson(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Pearson correlation of two maps (any shapes of the same size)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def images(n: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    """A seeded batch (n, 3, size, size) of uniform noise in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=generator)


def raw_maps(explainer: Explainer, x: torch.Tensor, target: Target = "spoof") -> torch.Tensor:
    """The explainer's raw maps (N, h, w) of ``x``, before ``explain``'s per-map normalisation,
    by ``explain``'s own call path (checked inputs, eval mode, ``attribute``)."""
    with evaluating(explainer.model):
        return explainer.attribute(explainer.checked(x), target)


class PlantedConceptModel(nn.Module):
    """Input channel j is the amount of planted concept j at each pixel. The layer
    ``features`` is a 1x1 convolution with weights D (C x J) followed by 4x4 average pooling,
    so its activation at a cell is sum_j (mean amount of j in the cell) d_j. The spoof logit
    (class 1 minus class 0) is ``bias`` plus the sum over cells of <d_driver, a>: it depends on
    concept ``driver`` only. The SPED tests recover D and the driver from it."""

    def __init__(self, directions: torch.Tensor, *, side: int, driver: int,
                 bias: float = 0.0) -> None:
        super().__init__()
        channels, planted = directions.shape
        conv = nn.Conv2d(planted, channels, 1, bias=False)
        conv.weight.data = directions[:, :, None, None].clone()
        self.features = nn.Sequential(conv, nn.AvgPool2d(4))
        cells = (side // 4) ** 2
        linear = nn.Linear(channels * cells, 2)
        linear.weight.data.zero_()
        linear.bias.data.zero_()
        linear.bias.data[1] = bias
        linear.weight.data[1] = directions[:, driver].repeat_interleave(cells)  # (C, h, w)
        self.head = nn.Sequential(nn.Flatten(), linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def synth_and_untrained_model(root: Path, n: int) -> tuple[Path, Path]:
    """(data, model file): a small SynthSpoof in ``root/synth`` (64 px, seed 0) and a seeded,
    untrained cnn-cbam saved beside it: what the SPED command-line tests discover on."""
    from xfas.data.synth.writer import generate_synthspoof
    from xfas.models import build_model, save_model

    data = generate_synthspoof(root / "synth", n=n, size=64, seed=0, progress=False)
    torch.manual_seed(0)
    return data, save_model(build_model("cnn-cbam").eval(), root / "model.safetensors")
