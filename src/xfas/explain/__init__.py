"""Saliency maps for FAS models: gradient CAMs, ablation and score CAMs, RISE, LIME and SHAP,
all behind one verb, ``create_explainer(name, model).explain(images, target)``.

>>> from xfas.explain import create_explainer, available_explainers
>>> maps = create_explainer("gradcam", model).explain(images, target="spoof")  # (N, H, W)
"""

from xfas.explain.base import Explainer, normalize_maps, resolve_target
from xfas.explain.cam import GradientCAM
from xfas.explain.regions import RegionAttribution
from xfas.explain.registry import (available_explainers, create_explainer, explain_many,
                                   register, unregister)
from xfas.explain.split import split_model

__all__ = [
    "Explainer",
    "GradientCAM",
    "RegionAttribution",
    "available_explainers",
    "create_explainer",
    "explain_many",
    "normalize_maps",
    "register",
    "resolve_target",
    "split_model",
    "unregister",
]
