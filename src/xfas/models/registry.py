"""Building and loading models by name: the architectures of the attention paper, the real
MiniFASNet weights, and checkpoints written by ``xfas train``."""

from __future__ import annotations

from pathlib import Path

import torch

from xfas.errors import XfasError
from xfas.models.base import FASModel
from xfas.models.checkpoint import read_checkpoint, save_checkpoint
from xfas.models.cnn import MODEL_NAMES, SeedCNN

ARCHITECTURES = {name: kind for kind, name in MODEL_NAMES.items()}
PRETRAINED = ("minifasnet-v2", "minifasnet-v1se")
RUN_CHECKPOINT = "best.safetensors"


def available_models() -> list[str]:
    """Names accepted by build_model."""
    return list(ARCHITECTURES)


def build_model(name: str, num_classes: int = 2) -> FASModel:
    """A freshly initialised model of the attention paper: cnn, cnn-ca, cnn-sa or cnn-cbam."""
    if name not in ARCHITECTURES:
        raise XfasError(f"model {name!r}: unknown; choose one of {', '.join(ARCHITECTURES)}")
    if num_classes < 2:
        raise XfasError(f"num_classes={num_classes}: a FAS classifier needs at least 2 classes")
    return SeedCNN(ARCHITECTURES[name], num_classes=num_classes)


def save_model(model: FASModel, path: str | Path, extra: dict | None = None) -> Path:
    """Save a seed CNN with everything ``load_model`` needs to rebuild it."""
    header = {"model": model.name, "num_classes": model.num_classes,
              "input_size": model.input_size, "crop_scale": model.crop_scale,
              "fingerprint": model.fingerprint(), **(extra or {})}
    return save_checkpoint(path, model.state_dict(), header)


def load_model(spec: str | Path, device: str | torch.device = "cpu",
               assets: str | Path | None = None) -> FASModel:
    """A ready model (eval mode) from a checkpoint file, a training run folder, or the name of a
    real pretrained model (``minifasnet-v2``, ``minifasnet-v1se``, found via XFAS_ASSETS)."""
    text = str(spec)
    if text in PRETRAINED:
        from xfas.models.minifasnet import load_minifasnet
        return load_minifasnet(text.split("-")[1], assets=assets, device=device)
    path = Path(text)
    if path.is_dir():
        path = path / RUN_CHECKPOINT
    if not path.exists():
        if text in ARCHITECTURES:
            raise XfasError(f"model {text!r} is an architecture without trained weights: train "
                            f"it with `xfas train --model {text} --data DIR --out RUN` and pass "
                            "RUN")
        raise XfasError(f"model {text!r}: no such checkpoint or run folder; use a file from "
                        f"`xfas train` or one of {', '.join(PRETRAINED)}")
    tensors, header = read_checkpoint(path)
    model = build_model(header.get("model", "?"), int(header.get("num_classes", 2)))
    model.crop_scale = header.get("crop_scale")
    _check_shapes(path, header.get("model", "?"), model.state_dict(), found=tensors)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise XfasError(f"{path}: weights do not fit {header.get('model')}: {error}") from None
    return model.to(device).eval()


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
