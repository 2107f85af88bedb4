"""Training data with a planted cue and a small training configuration, shared by the
training and attention-study tests."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from xfas.training import TrainConfig


class BorderDataset(Dataset):
    """Spoof images carry a bright frame (a planted cue), live ones do not; ``inverted`` swaps
    the labels, so a model trained on it grows ever more wrong on the true ones."""

    def __init__(self, n: int, seed: int, inverted: bool = False) -> None:
        g = torch.Generator().manual_seed(seed)
        self.images = torch.rand(n, 3, 64, 64, generator=g) * 0.5
        framed = torch.arange(n) % 2 == 1
        self.labels = framed.long() ^ int(inverted)
        self.images[framed, :, :6, :] = 1.0
        self.images[framed, :, :, :6] = 1.0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i], "label": int(self.labels[i]), "attack": "x",
                "path": str(i)}


def small_config(**changes) -> TrainConfig:
    """A seeded two-epoch training of the seed CNN, with ``changes`` applied."""
    base = dict(model="cnn", epochs=2, batch_size=16, learning_rate=1e-3, seed=3)
    base.update(changes)
    return TrainConfig(**base)
