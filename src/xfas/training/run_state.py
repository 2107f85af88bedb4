"""The state of an unfinished training run, kept after every epoch so that ``--resume``
continues exactly: the model, its weight average and Adam's state in ``last.safetensors``."""

from __future__ import annotations

from pathlib import Path

import torch

from xfas.models import FASModel
from xfas.models.checkpoint import read_checkpoint, save_checkpoint
from xfas.training.weight_average import WeightAverage

STATE_FILE = "state.json"
BEST_FILE = "best.safetensors"
LAST_FILE = "last.safetensors"


def save_last(run: Path, model: FASModel, *, average: WeightAverage | None,
              optimizer: torch.optim.Optimizer, step: int) -> None:
    """Write the run's last finished epoch: weights, their average and Adam's state."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    if average is not None:
        tensors.update({f"ema.{k}": v for k, v in average.model.state_dict().items()})
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            tensors[f"adam.{index}.{key}"] = torch.as_tensor(value)
    save_checkpoint(run / LAST_FILE, tensors, {"model": model.name, "step": step})


def load_last(run: Path, model: FASModel, *, average: WeightAverage | None,
              optimizer: torch.optim.Optimizer) -> None:
    """Restore a run's last epoch; a run saved without an average starts one at its weights."""
    tensors, _ = read_checkpoint(run / LAST_FILE)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if average is not None:
        averaged = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
        average.model.load_state_dict(averaged or model.state_dict())
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("adam."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    saved = optimizer.state_dict()
    saved["state"] = state
    optimizer.load_state_dict(saved)
