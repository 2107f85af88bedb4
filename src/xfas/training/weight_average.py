"""An exponential moving average (EMA) of a model's weights: the model that training validates,
early-stops on and keeps.

The validation loss of the raw weights jumps from one epoch to the next, so early stopping
would keep whichever epoch happened to land low; the average of the recent weights smooths
that noise (measured in docs/experiments.md). Its decay warms up as in TensorFlow's
``ExponentialMovingAverage`` with ``num_updates``: ``min(decay, (1 + t) / (10 + t))`` after
step t, so the average does not keep the random initial weights on small datasets with few
steps per epoch.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from xfas.errors import XfasError


class WeightAverage:
    """EMA of every floating-point parameter and buffer (BatchNorm statistics included) of the
    model given; integer buffers (batch counters) are copied. ``model`` is the averaged copy,
    in eval mode and without gradients."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise XfasError(f"EMA decay {decay}: expected a number between 0 and 1 (exclusive)")
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)

    def decay_at(self, step: int) -> float:
        """The decay used by the update after optimisation step ``step`` (counted from 1)."""
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Move the average towards ``model``'s current weights: avg += (1 - decay) (w - avg)."""
        weight = 1.0 - self.decay_at(step)
        averaged = self.model.state_dict()
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                averaged[key].lerp_(value, weight)
            else:
                averaged[key].copy_(value)
