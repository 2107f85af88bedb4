"""FAS models: the attention paper's CNNs, MiniFASNet, and the common FASModel interface."""

from xfas.models.base import CropGeometry, FASModel, context_crop_box
from xfas.models.registry import available_models, build_model, load_model, save_model

__all__ = ["CropGeometry", "FASModel", "available_models", "build_model", "context_crop_box",
           "load_model", "save_model"]
