"""Ablation-CAM (Desai and Ramaswamy, 2020): the weight of channel k is the relative drop of the
score when that channel of the target layer is zeroed, w_k = (y - y_k) / y, and the map is
ReLU(sum_k w_k A_k). The score y is the spoof probability for target="spoof" (a probability is
positive, so the division is defined; class targets use softmax probabilities).

The layers before the target layer run once per image: the model is split there
(``split_model``) and only the head h runs on the cached activations, ``batch_size`` ablated
copies at a time."""

from __future__ import annotations

from typing import ClassVar

import torch

from xfas.explain.base import PROBABILITY, Explainer, Target, chunks, progress_steps
from xfas.explain.split import split_model

EPS = 1e-12


class AblationCAM(Explainer):
    """Channel ablation on cached activations (see module docstring)."""

    name = "ablationcam"
    uses_layer: ClassVar[bool] = True
    target_kind: ClassVar[str] = PROBABILITY

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._split = None

    def split(self):
        """The model's (g, h) at the target layer, made on first use."""
        if self._split is None:
            self._split = split_model(self.model, self.layer)
        return self._split

    def attribute(self, images: torch.Tensor, target: Target) -> torch.Tensor:
        g, h = self.split()
        score = self.score_fn(target, images.shape[0])
        maps = []
        with torch.no_grad(), progress_steps(images.shape[0], "Ablation-CAM",
                                             self.progress) as advance:
            for start, stop in chunks(images.shape[0], self.batch_size):
                batch = images[start:stop]
                activations = g(batch)
                rows = torch.arange(start, stop, device=activations.device)
                base = score(h(activations, batch), rows)
                for offset in range(stop - start):
                    weights = self._weights(h, score, activations[offset], base=base[offset],
                                            image=batch[offset:offset + 1], row=start + offset)
                    maps.append((weights[:, None, None] * activations[offset]).sum(dim=0))
                    advance()
        return torch.stack(maps)

    def _weights(self, h, score, activations: torch.Tensor, *, base: torch.Tensor,
                 image: torch.Tensor, row: int) -> torch.Tensor:
        """w_k = (y - y_k) / y for every channel k of one image's activations (K, h, w)."""
        channels = activations.shape[0]
        ablated_scores = []
        for first, last in chunks(channels, self.batch_size):
            count = last - first
            ablated = activations.unsqueeze(0).repeat(count, 1, 1, 1)
            ablated[torch.arange(count), torch.arange(first, last)] = 0
            rows = torch.full((count,), row, device=activations.device, dtype=torch.long)
            inputs = image.expand(count, *image.shape[1:])
            ablated_scores.append(score(h(ablated, inputs), rows))
        drops = base - torch.cat(ablated_scores)
        return drops / torch.where(base.abs() < EPS, torch.full_like(base, EPS), base)
