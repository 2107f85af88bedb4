"""The backbones the attention paper compares with its CNN in Table I (Xception, ResNet50, VGG16,
DenseNet121, EfficientNetB7, MobileNetV3), built with timm at the paper's input, 64x64 RGB in
[0, 1], with 2 outputs (index 0 = live, 1 = spoof) like the CNN.

timm is an optional extra (``pip install 'xfas[backbones]'``); without it these names give a
one-line error and everything else works. Each model normalises its input inside itself with
the statistics of its ImageNet weights (timm's ``pretrained_cfg``), so callers feed plain
[0, 1] pixels and ``--pretrained`` weights see the inputs they were trained on.

The default target layer (CAMs, SPED) is each network's last feature map at stride 16, 4x4 at
64x64: the stride-32 map after the last stage is 2x2 at the paper's input, too coarse for a
heat map to say where anything is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

from xfas.errors import XfasError
from xfas.models.base import FASModel
from xfas.models.cnn import Normalize
from xfas.models.torchvision_compat import import_torchvision

INPUT_SIZE = 64
EXTRA = "pip install 'xfas[backbones]'"


@dataclass(frozen=True)
class BackboneSpec:
    """A timm architecture, the module whose output the layer methods read, the paper's name."""

    timm_name: str
    layer: str
    paper_name: str


BACKBONES = {
    "xception": BackboneSpec("legacy_xception", "block11", "Xception"),  # Chollet's, as Keras
    "resnet50": BackboneSpec("resnet50", "layer3", "ResNet50"),
    "vgg16": BackboneSpec("vgg16", "features.29", "VGG16"),
    "densenet121": BackboneSpec("densenet121", "features.denseblock3", "DenseNet121"),
    "efficientnetb7": BackboneSpec("efficientnet_b7", "blocks.4", "EfficientNetB7"),
    "mobilenetv3": BackboneSpec("mobilenetv3_large_100", "blocks.4", "MobileNetV3"),
}


def import_timm() -> ModuleType:
    """timm, imported (torchvision first, see ``torchvision_compat``); XfasError naming the
    extra to install when it is missing."""
    try:
        import_torchvision()
        import timm
    except ImportError as error:
        raise XfasError(f"the backbones need timm and torchvision ({error.name} is missing): "
                        f"{EXTRA}") from None
    return timm


class Backbone(FASModel):
    """A timm network as an xfas model (``net``), its input normalised inside the model."""

    input_size = INPUT_SIZE
    live_index = 0

    def __init__(self, name: str, num_classes: int = 2) -> None:
        super().__init__()
        if name not in BACKBONES:
            raise XfasError(f"backbone {name!r}: unknown; choose one of {', '.join(BACKBONES)}")
        spec = BACKBONES[name]
        net = import_timm().create_model(spec.timm_name, pretrained=False,
                                         num_classes=num_classes)
        self.backbone = name
        self.num_classes = num_classes
        self.normalize = Normalize(net.pretrained_cfg["mean"], net.pretrained_cfg["std"])
        self.net = net
        self.default_layer = f"net.{spec.layer}"

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.backbone

    @property
    def classifier(self) -> str:
        """The name (inside ``net``) of the final linear layer, replaced for 2 classes."""
        return self.net.pretrained_cfg["classifier"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(x))


def build_backbone(name: str, num_classes: int = 2, pretrained: str | Path | None = None
                   ) -> Backbone:
    """A backbone, from scratch or with the ImageNet weights in the file ``pretrained`` (a timm
    or torchvision state dict; its classifier is left out, the new one starts at random)."""
    model = Backbone(name, num_classes)
    if pretrained is not None:
        from xfas.models.pretrained import load_pretrained

        load_pretrained(model.net, pretrained, classifier=model.classifier)
    return model
