"""RandomCAM: a sanity baseline whose channel weights are random, w_k ~ U(-1, 1), drawn from
the explainer's seed (one weight vector, the same for every image, so a batch gives the same maps
as single calls). A method that does no better than this on a benchmark explains nothing."""

from __future__ import annotations

from typing import ClassVar

import torch

from xfas.explain.cam import GradientCAM


class RandomCAM(GradientCAM):
    """Activations weighted by seeded random channel weights (no gradients)."""

    name = "randomcam"
    needs_gradients: ClassVar[bool] = False

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        channels = activations.shape[1]
        draw = torch.rand(channels, generator=self.generator(), device=self.device)
        weights = (2 * draw - 1).to(device=activations.device, dtype=activations.dtype)
        return weights.reshape(1, channels, 1, 1)
