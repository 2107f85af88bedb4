"""Score-CAM (Wang et al., 2020): each activation map A_k, upsampled to the input and min-max
scaled to [0, 1] (H_k, eq. 5), masks the input; its weight is the target probability of the
masked input, w_k = f(X o H_k) (eq. 6-8, the baseline term f(X_b) is dropped as in the authors'
code), and the map is ReLU(sum_k w_k A_k). One forward pass per channel, ``batch_size`` masked
inputs at a time."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from xfas.explain.base import (PROBABILITY, Explainer, Target, chunks, normalize_maps,
                               progress_steps, resolve_layer)
from xfas.explain.hooks import StopForward, capture


class ScoreCAM(Explainer):
    """Activation maps weighted by the score of the input they mask (see module docstring)."""

    name = "scorecam"
    uses_layer: ClassVar[bool] = True
    target_kind: ClassVar[str] = PROBABILITY

    def activations(self, images: torch.Tensor) -> torch.Tensor:
        """The target layer's activations; the forward stops at the layer."""
        name, module = resolve_layer(self.model, self.layer)
        with capture(module, name, stop=True) as record:
            try:
                self.model(images)
            except StopForward:
                pass
        return record.require()

    def attribute(self, images: torch.Tensor, target: Target) -> torch.Tensor:
        score = self.score_fn(target, images.shape[0])
        size = tuple(images.shape[-2:])
        maps = []
        with torch.no_grad(), progress_steps(images.shape[0], "Score-CAM",
                                             self.progress) as advance:
            for start, stop in chunks(images.shape[0], self.batch_size):
                activations = self.activations(images[start:stop])
                for offset in range(stop - start):
                    acts = activations[offset]
                    upsampled = F.interpolate(acts[:, None], size=size, mode="bilinear",
                                              align_corners=False)[:, 0]
                    masks = normalize_maps(upsampled, size, relu=False)  # H_k, eq. 5
                    image = images[start + offset]
                    weights = torch.cat([
                        score(self.model(image * masks[first:last, None]),
                              torch.full((last - first,), start + offset,
                                         device=images.device, dtype=torch.long))
                        for first, last in chunks(masks.shape[0], self.batch_size)])
                    maps.append((weights[:, None, None] * acts).sum(dim=0))
                    advance()
        return torch.stack(maps)
