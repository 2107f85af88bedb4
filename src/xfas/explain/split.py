"""Splitting a model at a layer into g (input -> the layer's activations) and h (activations ->
output), so methods that score many edited activations of one image (AblationCAM, SPED) run only
the part after the layer on cached activations instead of re-running the whole model.

The split is exact when the model traces with ``torch.fx`` and nothing computed before the layer
is used after it except through the layer's output (no skip connection crosses the cut). Otherwise
``split_model`` warns and falls back to substitution: h re-runs the whole model on the original
inputs with the layer's output replaced, which is correct but pays the layers before the cut.
"""

from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import fx, nn

from xfas.errors import XfasError
from xfas.explain.base import resolve_layer
from xfas.explain.hooks import StopForward, capture

Head = Callable[..., torch.Tensor]  # h(activations, inputs=None) -> output


class _LayerTracer(fx.Tracer):
    """An fx tracer that keeps the target layer as one call, whatever its kind."""

    def __init__(self, layer: str) -> None:
        super().__init__()
        self.layer = layer

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return qualified_name == self.layer or super().is_leaf_module(module, qualified_name)


def _fx_split(model: nn.Module, layer: str) -> tuple[fx.GraphModule, fx.GraphModule] | None:
    """(g, h) as GraphModules sharing the model's sub-modules, or None if no clean cut exists."""
    try:
        graph = _LayerTracer(layer).trace(model)
    except Exception:  # any tracing failure (data-dependent control flow, ...) -> fallback
        return None
    nodes = list(graph.nodes)
    cuts = [node for node in nodes if node.op == "call_module" and node.target == layer]
    if len(cuts) != 1:
        return None
    cut = cuts[0]
    position = nodes.index(cut)
    before, after = nodes[:position + 1], nodes[position + 1:]
    before_set = set(before)
    crossing = {source for node in after for source in node.all_input_nodes
                if source in before_set and source is not cut}
    if any(source.op != "get_attr" for source in crossing):
        return None

    g_graph = fx.Graph()
    g_env: dict[fx.Node, fx.Node] = {}
    for node in before:
        g_env[node] = g_graph.node_copy(node, lambda source: g_env[source])
    g_graph.output(g_env[cut])

    h_graph = fx.Graph()
    h_env: dict[fx.Node, fx.Node] = {cut: h_graph.placeholder("activations")}
    for node in before:  # constants read before the cut and used after it
        if node in crossing:
            h_env[node] = h_graph.node_copy(node, lambda source: h_env[source])
    for node in after:
        h_env[node] = h_graph.node_copy(node, lambda source: h_env[source])
    return fx.GraphModule(model, g_graph), fx.GraphModule(model, h_graph)


def _substitution_split(model: nn.Module, layer: str) -> tuple[Callable, Head]:
    """g stops the forward at the layer; h re-runs the model with the layer's output replaced."""
    name, module = resolve_layer(model, layer)

    def g(inputs: torch.Tensor) -> torch.Tensor:
        with capture(module, name, stop=True) as record:
            try:
                model(inputs)
            except StopForward:
                pass
        return record.require()

    def h(activations: torch.Tensor, inputs: torch.Tensor | None = None) -> torch.Tensor:
        if inputs is None:
            raise XfasError(f"layer {name!r}: this model cannot be cut there exactly; the head "
                            "needs the original inputs (h(activations, inputs=...))")

        def substitute(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            if tuple(output.shape) != tuple(activations.shape):
                raise XfasError(f"layer {name!r}: activations of shape "
                                f"{tuple(activations.shape)} replace an output of shape "
                                f"{tuple(output.shape)}")
            return activations

        handle = module.register_forward_hook(substitute)
        try:
            return model(inputs)
        finally:
            handle.remove()

    return g, h


def split_model(model: nn.Module, layer: str | None = None) -> tuple[Callable, Head]:
    """(g, h) with g(x) -> activations of ``layer`` and h(activations, inputs=None) -> output,
    so that h(g(x)) == model(x). ``layer`` None means the model's default layer.

    h ignores ``inputs`` when the cut is exact; when it is not (a warning says so), h needs the
    inputs the activations came from (broadcastable views are fine) and re-runs the model."""
    name, _ = resolve_layer(model, layer)
    parts = _fx_split(model, name)
    if parts is not None:
        g_module, h_module = parts
        return g_module, lambda activations, inputs=None: h_module(activations)
    warnings.warn(f"layer {name!r} of {type(model).__name__}: no exact split (fx tracing failed "
                  "or a value crosses the cut); h re-runs the layers before it",
                  RuntimeWarning, stacklevel=2)
    return _substitution_split(model, name)
