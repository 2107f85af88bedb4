"""Capturing one layer's activations (and their gradients) with a hook that is always removed.

The forward hook replaces the layer's output by a detached copy: the activations are a leaf
tensor, so their gradient comes from ``torch.autograd.grad`` without any hook on tensors or
modules, without ``.grad`` on parameters, and without back-propagating through the layers before
the target layer. With ``gradients=True`` the caller runs the model under ``torch.no_grad()``: the
hook switches autograd on when the layer is reached, so only the part after the layer records a
graph (``no_grad`` restores the previous mode when it exits).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

from xfas.errors import XfasError


class StopForward(Exception):
    """Raised by a ``stop=True`` capture once the activations are recorded (skips the rest)."""


@dataclass
class LayerRecord:
    """The activations of the captured layer for the last forward pass."""

    name: str
    activations: torch.Tensor | None = None

    def require(self) -> torch.Tensor:
        if self.activations is None:
            raise XfasError(f"layer {self.name!r}: did not run during the forward pass")
        return self.activations


@contextmanager
def capture(module: nn.Module, name: str, gradients: bool = False,
            *, stop: bool = False) -> Iterator[LayerRecord]:
    """Record ``module``'s output during the forward passes inside the block.

    gradients: the record is a leaf requiring grad and the rest of the forward records a graph.
    stop: raise ``StopForward`` right after recording (the caller catches it).
    The hook is removed when the block exits, whatever happens inside it.
    """
    record = LayerRecord(name)

    def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not torch.is_tensor(output):
            raise XfasError(f"layer {name!r}: outputs {type(output).__name__}, not a tensor")
        if record.activations is not None:
            raise XfasError(f"layer {name!r}: runs more than once per forward pass; "
                            "choose a layer that runs once")
        if stop:
            record.activations = output.detach()
            raise StopForward
        if not gradients:
            record.activations = output.detach()
            return None
        torch.set_grad_enabled(True)
        leaf = output.detach().requires_grad_(True)
        record.activations = leaf
        return leaf.clone()  # later in-place ops (ReLU(inplace=True)) must not touch the leaf

    handle = module.register_forward_hook(hook)
    try:
        yield record
    finally:
        handle.remove()


def layer_gradients(score: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """d(sum of scores)/d(activations); zeros where the score does not depend on them."""
    if not score.requires_grad:
        return torch.zeros_like(activations)
    (grads,) = torch.autograd.grad(score.sum(), activations, allow_unused=True)
    return torch.zeros_like(activations) if grads is None else grads
