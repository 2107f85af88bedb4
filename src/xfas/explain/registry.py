"""The names of the explainers and how to make them; ``explain_many`` runs several at once,
sharing one forward/backward pass among the gradient CAMs of the same layer.

The registry is open: other packages add methods with ``register`` when they are imported, or
declare them as entry points of the group ``xfas.explainers`` (name = explainer name, value =
its factory), which are loaded the first time the names are asked for. xfas's own SPED
explainer comes in that way, so this package knows nothing of SPED."""

from __future__ import annotations

import functools
import inspect
import warnings
from importlib.metadata import entry_points
from typing import Callable, Sequence

import torch
from torch import nn

from xfas.errors import XfasError
from xfas.explain.ablationcam import AblationCAM
from xfas.explain.base import Explainer, Target, evaluating, normalize_maps
from xfas.explain.cam import GradientCAM, layer_cams
from xfas.explain.eigencam import EigenCAM, EigenGradCAM
from xfas.explain.gradcam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from xfas.explain.lime import LIME
from xfas.explain.randomcam import RandomCAM
from xfas.explain.rise import RISE
from xfas.explain.scorecam import ScoreCAM
from xfas.explain.shap import KernelSHAP

Factory = Callable[..., Explainer]  # factory(model, layer=..., seed=..., batch_size=..., **options)
ENTRY_POINTS = "xfas.explainers"

_REGISTRY: dict[str, Factory] = {}


def register(name: str, factory: Factory, overwrite: bool = False) -> None:
    """Make ``create_explainer(name, ...)`` call ``factory(model, layer=, seed=, batch_size=,
    **options)``. Registering the same factory again does nothing; giving a taken name
    another factory needs ``overwrite=True``."""
    if not name or not isinstance(name, str):
        raise XfasError(f"explainer name {name!r}: expected a non-empty string")
    if _REGISTRY.get(name, factory) is not factory and not overwrite:
        raise XfasError(f"explainer {name!r}: already registered")
    _REGISTRY[name] = factory


def unregister(name: str) -> None:
    """Remove the explainer ``name`` (a no-op when it is not registered)."""
    _REGISTRY.pop(name, None)


@functools.cache
def _load_plugins() -> None:
    """Register the ``xfas.explainers`` entry points (once); one that fails to load is
    reported as a warning naming it, and the other methods stay usable."""
    for point in entry_points(group=ENTRY_POINTS):
        try:
            factory = point.load()
        except Exception as error:  # a third-party plugin may fail in any way
            warnings.warn(f"explainer {point.name!r} ({point.value}): cannot be loaded "
                          f"({type(error).__name__}: {error})", stacklevel=3)
            continue
        if point.name not in _REGISTRY:
            register(point.name, factory)


def available_explainers() -> list[str]:
    """The registered explainer names (entry points included), in registration order."""
    _load_plugins()
    return list(_REGISTRY)


def create_explainer(name: str, model: nn.Module, layer: str | None = None, *, seed: int = 0,
                     batch_size: int = 64, **options) -> Explainer:
    """The explainer ``name`` for ``model``; options go to its constructor (e.g. ``n_masks``
    for RISE, ``progress=False``). An unknown name is an error that lists the valid ones."""
    _load_plugins()
    if name not in _REGISTRY:
        raise XfasError(f"explainer {name!r}: unknown; valid names: "
                        f"{', '.join(available_explainers())}")
    factory = _REGISTRY[name]
    try:
        inspect.signature(factory).bind(model, layer=layer, seed=seed, batch_size=batch_size,
                                        **options)
    except TypeError as error:
        raise XfasError(f"explainer {name!r}: bad options {sorted(options)}: {error}") from None
    return factory(model, layer=layer, seed=seed, batch_size=batch_size, **options)


def explain_many(model: nn.Module, images: torch.Tensor, methods: Sequence[str],
                 *, target: Target = "spoof", layer: str | None = None, seed: int = 0,
                 batch_size: int = 64, **options) -> dict[str, torch.Tensor]:
    """{name: maps (N, H, W)} for each method; the gradient CAMs (gradcam, gradcam++,
    xgradcam, hirescam, layercam, eigencam, eigengradcam, randomcam) share one forward and one
    backward pass per batch instead of one each (timings: benchmarks/results/explainers.md).
    Options go to every method that is not a gradient CAM."""
    explainers = {name: create_explainer(name, model, layer, seed=seed, batch_size=batch_size,
                                         **({} if _is_cam(name) else options))
                  for name in methods}
    cams = {name: e for name, e in explainers.items() if isinstance(e, GradientCAM)}
    results: dict[str, torch.Tensor] = {}
    if cams:
        checked = next(iter(cams.values())).checked(images)
        by_layer: dict[str, dict[str, GradientCAM]] = {}
        for name, explainer in cams.items():
            by_layer.setdefault(explainer.layer, {})[name] = explainer
        with evaluating(model):
            for layer_name, group in by_layer.items():
                raw = layer_cams(model, layer_name, checked, target=target,
                                 methods=list(group.values()), batch_size=batch_size)
                for name, maps in zip(group, raw):
                    results[name] = normalize_maps(maps, tuple(checked.shape[-2:]))
    for name, explainer in explainers.items():
        if name not in results:
            results[name] = explainer.explain(images, target)
    return {name: results[name] for name in methods}


def _is_cam(name: str) -> bool:
    factory = _REGISTRY.get(name)
    return isinstance(factory, type) and issubclass(factory, GradientCAM)


for _class in (GradCAM, GradCAMPlusPlus, EigenGradCAM, AblationCAM, RandomCAM, RISE, LIME,
               KernelSHAP, EigenCAM, LayerCAM, ScoreCAM, HiResCAM, XGradCAM):
    register(_class.name, _class)
