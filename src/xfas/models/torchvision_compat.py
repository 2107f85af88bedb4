"""Importing torchvision (timm and onnx2torch import it) where its compiled operators cannot load.

Beside a CPU build of torch, the only torchvision wheel a registry may offer for that torch
release is CUDA-linked: its compiled library does not load, and ``import torchvision`` then
stops at ``operator torchvision::nms does not exist``, because it registers fake kernels for
``nms`` and ``qnms`` on operator schemas that library would have defined. ``import_torchvision``
imports torchvision as usual; only when the import fails in exactly that way does it define the
two schemas itself (without kernels: ``torchvision.ops.nms`` still cannot run, and nothing xfas
uses calls it) and import again. Where torchvision imports normally it does nothing else.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import torch

MISSING_OPERATOR = "operator torchvision::"
SCHEMAS = ("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
           "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_DEFINED: list[torch.library.Library] = []  # a Library's definitions live as long as it does


def import_torchvision() -> ModuleType:
    """torchvision, imported; ImportError when it is not installed."""
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as error:
        if MISSING_OPERATOR not in str(error) or _DEFINED:
            raise
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]  # the half-imported package, so the second import starts afresh
    library = torch.library.Library("torchvision", "DEF")
    for schema in SCHEMAS:
        library.define(schema)
    _DEFINED.append(library)
    return importlib.import_module("torchvision")


def operators_defined_here() -> bool:
    """Whether ``import_torchvision`` had to define the operator schemas in this process."""
    return bool(_DEFINED)
