"""The layers a layer method may read: one per spatial resolution of the model, so that a rule
choosing among them (the benchmark's ``layer_rule="calibration"``) gives every CAM and SPED the
same choices.

The candidates are the default layer's siblings (the children of its parent module, in the
order a forward pass runs them): for each resolution of their outputs, the last sibling that
produces it, from the finest map to the coarsest. Maps finer than half the input side say
little more than the pixels, and maps under 4 x 4 cannot localise; both are left out, except
the model's default layer, which is always a candidate.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from xfas.explain.base import default_layer, evaluating, model_device, resolve_layer

MIN_SIDE = 4  # a map of fewer cells per side cannot tell evidence from its surroundings
FINEST = 2  # the finest candidate has half the input's side


def spatial_layers(model: nn.Module) -> list[str]:
    """The candidate layers of ``model`` (see the module docstring), finest first.

    Example:
        >>> spatial_layers(build_model("cnn"))
        ['features.block2', 'features.block3', 'features.attention']
    """
    resolve_layer(model, None)  # a black-box model has none: its error says so
    default = default_layer(model)
    parent_name, _, _ = default.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    prefix = f"{parent_name}." if parent_name else ""
    sides: dict[str, tuple[int, int]] = {}
    order: list[str] = []
    handles = [child.register_forward_hook(_recorder(prefix + name, sides, order))
               for name, child in parent.named_children()]
    side = int(getattr(model, "input_size", 64))
    try:
        with evaluating(model), torch.no_grad():
            model(torch.zeros(1, 3, side, side, device=model_device(model)))
    finally:
        for handle in handles:
            handle.remove()
    last_at: dict[tuple[int, int], str] = {}
    for name in order:
        last_at[sides[name]] = name
    chosen = {name for shape, name in last_at.items()
              if MIN_SIDE <= min(shape) and max(shape) <= side // FINEST}
    chosen.add(default)
    return sorted(chosen, key=lambda n: (-_area(sides.get(n)),
                                         order.index(n) if n in order else len(order)))


def _area(shape: tuple[int, int] | None) -> int:
    return 0 if shape is None else shape[0] * shape[1]


def _recorder(name: str, sides: dict[str, tuple[int, int]], order: list[str]) -> Any:
    """A forward hook that records the spatial size of ``name``'s output, in run order."""
    def record(_module: nn.Module, _inputs: tuple, out: Any) -> None:
        if torch.is_tensor(out) and out.ndim == 4:
            sides[name] = (int(out.shape[-2]), int(out.shape[-1]))
            if name not in order:
                order.append(name)
    return record
