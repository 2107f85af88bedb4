"""Building and loading models by name: the attention paper's CNNs and the backbones it compares
them with, the real MiniFASNet weights, checkpoints written by ``xfas train``, and ONNX files
with their model card. The one list of the names xfas knows is ``model_names``."""

from __future__ import annotations

from pathlib import Path

import torch

from xfas.errors import XfasError
from xfas.models.backbones import BACKBONES, build_backbone
from xfas.models.base import FASModel
from xfas.models.card import apply_card, card_beside, card_of, read_card, write_card
from xfas.models.checkpoint import read_checkpoint, save_checkpoint
from xfas.models.cnn import MODEL_NAMES, SeedCNN

ARCHITECTURES = {name: kind for kind, name in MODEL_NAMES.items()}
PRETRAINED = ("minifasnet-v2", "minifasnet-v1se")
FUSED = "minifasnet"  # MiniFASNetV2 + V1SE, fused as Silent-Face does (xfas.models.fused)
RUN_CHECKPOINT = "best.safetensors"
ONNX_SUFFIX = ".onnx"


def available_models() -> list[str]:
    """Names accepted by build_model: the seed CNNs, then the backbones (timm)."""
    return [*ARCHITECTURES, *BACKBONES]


def model_names() -> dict[str, list[str]]:
    """Every model name xfas knows, by kind: what ``xfas models`` lists and every ``--model``
    accepts."""
    return {"architectures": list(ARCHITECTURES), "backbones": list(BACKBONES),
            "pretrained": [FUSED, *PRETRAINED]}


def fused_model_error(what: str) -> XfasError:
    """The error of a command that needs one network when given the fused ``minifasnet``."""
    return XfasError(f"model {FUSED!r}: fuses minifasnet-v2 and minifasnet-v1se, each with its "
                     f"own face crop, so it is not one network {what}; use --model "
                     "minifasnet-v2 (the one `xfas serve --model minifasnet` explains) or "
                     "minifasnet-v1se. `xfas predict`, `xfas serve` and `xfas eval` take "
                     f"{FUSED!r} itself")


def build_model(name: str, num_classes: int = 2, *, pretrained: str | Path | None = None
                ) -> FASModel:
    """A freshly initialised model: the attention paper's cnn, cnn-ca, cnn-sa, cnn-cbam, or
    one of the backbones of its Table I (``pretrained``: a file of ImageNet weights for a
    backbone; without it, random weights)."""
    if num_classes < 2:
        raise XfasError(f"num_classes={num_classes}: a FAS classifier needs at least 2 classes")
    if name in BACKBONES:
        return build_backbone(name, num_classes, pretrained=pretrained)
    if name not in ARCHITECTURES:
        if name == FUSED or name in PRETRAINED:
            raise XfasError(f"model {name!r}: pretrained, not an architecture to build or "
                            f"train; load it with load_model / `--model {name}` on the other "
                            f"commands, or train one of {', '.join(available_models())}")
        raise XfasError(f"model {name!r}: unknown; choose one of {', '.join(available_models())}")
    if pretrained is not None:
        raise XfasError(f"--pretrained: only the backbones ({', '.join(BACKBONES)}) load "
                        f"ImageNet weights; {name} starts from random weights")
    return SeedCNN(ARCHITECTURES[name], num_classes=num_classes)


def save_model(model: FASModel, path: str | Path, extra: dict | None = None) -> Path:
    """Save a model xfas builds with everything ``load_model`` needs to rebuild it, and its
    model card beside it (``card_beside``)."""
    header = {"model": model.name, "num_classes": model.num_classes,
              "input_size": model.input_size, "crop_scale": model.crop_scale,
              "fingerprint": model.fingerprint(), **(extra or {})}
    written = save_checkpoint(path, model.state_dict(), header)
    write_card(card_of(model), card_beside(written))
    return written


def load_model(spec: str | Path, device: str | torch.device = "cpu",
               assets: str | Path | None = None, *, card: str | Path | None = None
               ) -> FASModel:
    """A ready model (eval mode) from
    - the name of a real pretrained model (``minifasnet-v2``, ``minifasnet-v1se``, found via
      XFAS_ASSETS or ``assets``);
    - a checkpoint file or training run folder of ``xfas train``;
    - an ONNX file (``model.onnx``), which needs its card (``card``, default ``model.json``
      beside it; see ``xfas.models.onnx_model``).

    ``card`` (a model card file) sets the model's preprocessing and threshold; a checkpoint's
    card beside it is read when there is one.

    Example:
        >>> model = load_model("exported.onnx", card="exported.json")
    """
    text = str(spec)
    if text == FUSED:
        raise fused_model_error("to load as one FASModel")
    if text.lower().endswith(ONNX_SUFFIX):
        from xfas.models.onnx_model import load_onnx

        return load_onnx(Path(text), card=Path(card) if card else card_beside(text),
                         device=device)
    if text in PRETRAINED:
        from xfas.models.minifasnet import load_minifasnet

        model = load_minifasnet(text.split("-")[1], assets=assets, device=device)
    else:
        model = _load_checkpoint(_checkpoint_path(text))
    card = card_file(text, card)
    if card is not None:
        apply_card(model, read_card(card), source=f"--card {card}")
    return model.to(device).eval()


def card_file(spec: str | Path, card: str | Path | None = None) -> Path | None:
    """The card a model is loaded under: ``card`` when given, else the one beside a
    checkpoint or ONNX file when it exists (None for the pretrained names)."""
    if card is not None:
        return Path(card)
    text = str(spec)
    if text == FUSED or text in PRETRAINED:
        return None
    path = Path(text) / RUN_CHECKPOINT if Path(text).is_dir() else Path(text)
    return card_beside(path) if card_beside(path).is_file() else None


def card_threshold(spec: str | Path, card: str | Path | None = None) -> float:
    """The threshold of the card ``load_model(spec, card=card)`` would use (0.5 without)."""
    found = card_file(spec, card)
    return read_card(found).threshold if found is not None else FASModel.threshold


def _checkpoint_path(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        path = path / RUN_CHECKPOINT
    if path.exists():
        return path
    if text in ARCHITECTURES or text in BACKBONES:
        raise XfasError(f"model {text!r} is an architecture without trained weights: train "
                        f"it with `xfas train --model {text} --data DIR --out RUN` and pass RUN")
    raise XfasError(f"model {text!r}: no such checkpoint, run folder or ONNX file; use a run "
                    f"of `xfas train`, a .onnx file with its card, or one of "
                    f"{', '.join([FUSED, *PRETRAINED])} (`xfas models` lists the names)")


def _load_checkpoint(path: Path) -> FASModel:
    tensors, header = read_checkpoint(path)
    model = build_model(header.get("model", "?"), int(header.get("num_classes", 2)))
    model.crop_scale = header.get("crop_scale")
    _check_shapes(path, header.get("model", "?"), model.state_dict(), found=tensors)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise XfasError(f"{path}: weights do not fit {header.get('model')}: {error}") from None
    return model


def _check_shapes(path: Path, name: str, expected: dict[str, torch.Tensor],
                  *, found: dict[str, torch.Tensor]) -> None:
    """One line naming the first tensor whose shape differs, e.g. a checkpoint whose CNN has
    3x3 convolutions where this one has 1x1."""
    for key, tensor in expected.items():
        if key in found and found[key].shape != tensor.shape:
            raise XfasError(f"{path}: weights do not fit this xfas's {name}: {key} has shape "
                            f"{tuple(found[key].shape)}, the model expects {tuple(tensor.shape)} "
                            "(a checkpoint of another architecture or xfas version; retrain "
                            "it with `xfas train`)")
