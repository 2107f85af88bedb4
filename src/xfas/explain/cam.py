"""The base of class activation maps computed from one layer's activations A (N, K, h, w) and
the gradients G = dS/dA of the target score S: the raw map is sum_k w_k * A_k, where each method
only says how the weights w are made (``weights``) or, for the eigen methods, how the map is made
(``cam``). ``layer_cams`` computes several such maps from one forward and one backward pass.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch
from torch import nn

from xfas.errors import XfasError
from xfas.explain.base import LOGIT, Explainer, Target, chunks, resolve_layer, resolve_target
from xfas.explain.hooks import capture, layer_gradients


class GradientCAM(Explainer):
    """A class activation map from a layer's activations and gradients (see module docstring).

    Subclasses override ``weights`` (per channel (N, K, 1, 1) or per pixel (N, K, h, w)) or
    ``cam``. Gradients are of the spoof log-odds for ``target="spoof"``."""

    uses_layer: ClassVar[bool] = True
    needs_gradients: ClassVar[bool] = True
    target_kind: ClassVar[str] = LOGIT

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def cam(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """Raw map (N, h, w) = sum_k w_k A_k."""
        return (self.weights(activations, gradients) * activations).sum(dim=1)

    def attribute(self, images: torch.Tensor, target: Target) -> torch.Tensor:
        return layer_cams(self.model, self.layer, images, target=target, methods=[self],
                          batch_size=self.batch_size)[0]


def layer_cams(model: nn.Module, layer: str, images: torch.Tensor, *, target: Target,
               methods: Sequence[GradientCAM], batch_size: int) -> list[torch.Tensor]:
    """Raw maps (N, h, w) of each method, sharing one forward (and one backward) pass per batch
    of at most ``batch_size`` images. The model must already be in eval mode."""
    name, module = resolve_layer(model, layer)
    score_fn = resolve_target(model, target, images.shape[0], kind=LOGIT)
    need_grads = any(method.needs_gradients for method in methods)
    results: list[list[torch.Tensor]] = [[] for _ in methods]
    for start, stop in chunks(images.shape[0], batch_size):
        with torch.no_grad(), capture(module, name, gradients=need_grads) as record:
            output = model(images[start:stop])
        activations = record.require()
        if activations.ndim != 4:
            raise XfasError(f"layer {name!r}: expected a 4-D feature map (N, K, h, w), got "
                            f"shape {tuple(activations.shape)}")
        if need_grads:
            rows = torch.arange(start, stop, device=activations.device)
            with torch.enable_grad():
                gradients = layer_gradients(score_fn(output, rows), activations)
        else:
            gradients = torch.zeros_like(activations)
        activations = activations.detach()
        with torch.no_grad():
            for result, method in zip(results, methods):
                result.append(method.cam(activations, gradients))
        del output
    return [torch.cat(parts) for parts in results]
