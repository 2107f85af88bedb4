"""Training a FAS model with the attention paper's recipe, interruptible and resumable.

Recipe (defaults, ``TrainConfig``): Adam, learning rate 1e-4 decayed by 0.96 every 100,000
steps (staircase), cross-entropy, up to 50 epochs, early stopping with patience 10 on the
validation loss, the best checkpoint kept. The paper leaves batch size and augmentation open
(``augment_batch``; the batch size was chosen on SynthSpoof, see docs/experiments.md). Two
additions: the model validated, early-stopped on and kept is an exponential moving average of
the weights (``ema_decay``, see ``xfas.training.weight_average``; 0 validates the raw weights
as the paper does), and the cross-entropy, in training and validation alike, uses label
smoothing (``label_smoothing``; 0 is the paper's plain cross-entropy), so that the validation
loss stops falling when accuracy does, not as soon as the model grows overconfident. The
checkpoint keeps the face crop the data were cut with (``FASDataset.crop_scale``), so that
``xfas predict``, ``explain`` and the service cut a detected face as training did.
A run folder holds:

- ``best.safetensors``: the best model so far (a checkpoint ``xfas.models.load_model`` reads);
- ``last.safetensors``: model, weight average and Adam state at the end of the last finished
  epoch (``xfas.training.run_state``);
- ``state.json``: epoch, best loss, patience counter, history, the configuration.

Ctrl-C finishes nothing half-way: the last finished epoch and the best model stay on disk and
``resume=True`` continues from there with the same random stream (each epoch reseeds from
``seed + epoch``), so an interrupted and resumed run equals an uninterrupted one.
"""


from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from xfas.data.collate import collate_items
from xfas.errors import Interrupted, XfasError
from xfas.models import build_model, save_model
from xfas.progress import progress_bar
from xfas.training.augment import augment_batch
from xfas.training.config import TrainConfig, TrainResult
from xfas.training.run_state import BEST_FILE, STATE_FILE, load_last, save_last
from xfas.training.weight_average import WeightAverage


def _loader(dataset: Dataset, batch_size: int, shuffle: bool, *, seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      num_workers=0, collate_fn=collate_items)


def _check_dataset(dataset: Dataset, what: str) -> None:
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise XfasError(f"{what} set: no images")


def _crop_scale(train_set: Dataset, val_set: Dataset) -> float | None:
    """The face crop (``FASDataset.crop_scale``) both sets' items are cut with: the checkpoint
    keeps it so predictions crop as training did."""
    scales = []
    for dataset in (train_set, val_set):
        while isinstance(dataset, Subset):
            dataset = dataset.dataset
        scales.append(getattr(dataset, "crop_scale", None))
    if scales[0] != scales[1]:
        raise XfasError(f"training data cut with face crop scale {scales[0]}, validation data "
                        f"with {scales[1]}: expected the same crop for both")
    return scales[0]


def evaluate_loss(model: nn.Module, dataset: Dataset, batch_size: int = 64,
                  *, label_smoothing: float = 0.0) -> tuple[float, float]:
    """Mean (label-smoothed) cross-entropy and accuracy of ``model`` on ``dataset``."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    device = next(model.parameters()).device
    with torch.no_grad():
        for batch in _loader(dataset, batch_size, shuffle=False, seed=0):
            images, labels = batch["image"].to(device), batch["label"].to(device)
            logits = model(images)
            total_loss += nn.functional.cross_entropy(
                logits, labels, reduction="sum", label_smoothing=label_smoothing).item()
            correct += (logits.argmax(1) == labels).sum().item()
            count += len(labels)
    return total_loss / count, correct / count


def train(train_set: Dataset, val_set: Dataset, run_dir: str | Path,
          *, config: TrainConfig | None = None, resume: bool = False, progress: bool = True,
          on_epoch: Callable[[dict[str, float]], None] | None = None) -> TrainResult:
    """Train ``config.model`` on ``train_set``, early-stopping on ``val_set``; see module doc."""
    config = config or TrainConfig()
    run = Path(run_dir)
    _check_dataset(train_set, "training")
    _check_dataset(val_set, "validation")
    if not 0.0 <= config.label_smoothing < 1.0:
        raise XfasError(f"label smoothing {config.label_smoothing}: expected a number in [0, 1)")
    state_path = run / STATE_FILE
    if state_path.exists() and not resume:
        raise XfasError(f"{run}: already holds a training run; pass --resume to continue it "
                        "or choose another --out")
    if resume and not state_path.exists():
        raise XfasError(f"{run}: nothing to resume (no {STATE_FILE})")
    run.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(config.seed)
    model = build_model(config.model, pretrained=config.pretrained)
    model.crop_scale = _crop_scale(train_set, val_set)  # before the average copies the model
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    average = WeightAverage(model, config.ema_decay) if config.ema_decay else None
    kept = average.model if average is not None else model
    state: dict[str, Any] = {"epoch": 0, "step": 0, "best_val_loss": math.inf, "best_epoch": 0,
                             "bad_epochs": 0, "history": [], "config": asdict(config)}
    if resume:
        state = json.loads(state_path.read_text())
        if state["config"]["model"] != config.model:
            raise XfasError(f"{run}: holds a {state['config']['model']} run, not {config.model}")
        load_last(run, model, average=average, optimizer=optimizer)

    stopped_early = state["bad_epochs"] >= config.patience
    try:
        while state["epoch"] < config.epochs and not stopped_early:
            epoch = state["epoch"] + 1
            epoch_seed = config.seed * 100_003 + epoch
            torch.manual_seed(epoch_seed)  # dropout draws from the global stream
            generator = torch.Generator().manual_seed(epoch_seed)
            model.train()
            loader = _loader(train_set, config.batch_size, shuffle=True, seed=epoch_seed)
            steps = len(loader) if config.max_steps_per_epoch is None else min(
                len(loader), config.max_steps_per_epoch)
            seen, loss_sum, correct = 0, 0.0, 0
            with progress_bar(progress) as bar:
                task = bar.add_task(f"epoch {epoch}/{config.epochs}", total=steps)
                for index, batch in enumerate(loader):
                    if index >= steps:
                        break
                    images, labels = batch["image"], batch["label"]
                    if config.augment:
                        images = augment_batch(images, generator)
                    for group in optimizer.param_groups:
                        group["lr"] = config.learning_rate_at(state["step"])
                    logits = model(images)
                    loss = nn.functional.cross_entropy(
                        logits, labels, label_smoothing=config.label_smoothing)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    state["step"] += 1
                    if average is not None:
                        average.update(model, state["step"])
                    seen += len(labels)
                    loss_sum += loss.item() * len(labels)
                    correct += (logits.argmax(1) == labels).sum().item()
                    bar.update(task, advance=1, description=(
                        f"epoch {epoch}/{config.epochs} loss {loss_sum / seen:.3f} "
                        f"acc {correct / seen:.3f}"))
            val_loss, val_acc = evaluate_loss(kept, val_set,
                                              label_smoothing=config.label_smoothing)
            record = {"epoch": epoch, "train_loss": loss_sum / seen, "train_acc": correct / seen,
                      "val_loss": val_loss, "val_acc": val_acc}
            state["history"].append(record)
            if val_loss < state["best_val_loss"]:
                state.update(best_val_loss=val_loss, best_epoch=epoch, bad_epochs=0)
                save_model(kept, run / BEST_FILE,
                           extra={"epoch": epoch, "val_loss": val_loss, "train": asdict(config)})
            else:
                state["bad_epochs"] += 1
            state["epoch"] = epoch
            save_last(run, model, average=average, optimizer=optimizer, step=state["step"])
            state_path.write_text(json.dumps(state, indent=1))
            stopped_early = state["bad_epochs"] >= config.patience
            if on_epoch:
                on_epoch(record)
    except KeyboardInterrupt:
        raise Interrupted(
            f"training interrupted after epoch {state['epoch']}; {run / BEST_FILE} holds the "
            f"best model so far, continue with --resume") from None
    return TrainResult(run, state["best_val_loss"], state["best_epoch"], state["epoch"],
                       stopped_early, state["history"])
