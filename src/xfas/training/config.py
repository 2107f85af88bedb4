"""What decides a training run (``TrainConfig``, stored in state.json and the checkpoint) and
what a finished or stopped run reports (``TrainResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainConfig:
    """Everything that decides a training run (stored in state.json and the checkpoint)."""

    model: str = "cnn-cbam"
    epochs: int = 50
    batch_size: int = 4
    learning_rate: float = 1e-4
    decay_rate: float = 0.96
    decay_steps: int = 100_000
    patience: int = 10
    seed: int = 0
    augment: bool = True
    ema_decay: float = 0.995
    label_smoothing: float = 0.1
    max_steps_per_epoch: int | None = None
    pretrained: str | None = None  # ImageNet weights of a backbone (a local file), else random

    def learning_rate_at(self, step: int) -> float:
        """Staircase exponential decay: lr * rate ** floor(step / decay_steps)."""
        return self.learning_rate * self.decay_rate ** (step // self.decay_steps)


@dataclass
class TrainResult:
    """What a finished (or stopped) run reports."""

    run_dir: Path
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    history: list[dict[str, float]] = field(default_factory=list)
