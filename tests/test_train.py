"""Training: the loss falls, checkpoints are safe, interrupted runs resume exactly."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from xfas.data import CelebASpoof
from xfas.data.datasets.celeba_spoof import CROP_SCALE
from xfas.errors import Interrupted, XfasError
from xfas.models import load_model
from xfas.models.checkpoint import read_checkpoint
from xfas.training import TrainConfig, augment_batch, train

from helpers.tolerance import assert_close
from helpers.training import BorderDataset, small_config


def test_loss_falls_and_best_checkpoint_loads(tmp_path) -> None:
    result = train(BorderDataset(128, 0), BorderDataset(32, 1), tmp_path / "run",
                   config=small_config(epochs=2), progress=False)
    losses = [h["val_loss"] for h in result.history]
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert min(losses) < 0.69  # below chance level cross-entropy log(2)
    model = load_model(tmp_path / "run")
    assert model.name == "cnn" and not model.training
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["best_epoch"] == result.best_epoch


def test_interrupted_run_resumes_to_the_same_weights(tmp_path) -> None:
    train_set, val_set = BorderDataset(64, 0), BorderDataset(16, 1)
    train(train_set, val_set, tmp_path / "full", config=small_config(), progress=False)

    def stop_after_first(record: dict) -> None:
        if record["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="--resume"):
        train(train_set, val_set, tmp_path / "cut", config=small_config(), progress=False,
              on_epoch=stop_after_first)
    assert (tmp_path / "cut" / "best.safetensors").exists()
    resumed = train(train_set, val_set, tmp_path / "cut", config=small_config(), resume=True,
                    progress=False)
    assert resumed.epochs_run == 2
    full, _ = read_checkpoint(tmp_path / "full" / "last.safetensors")
    cut, _ = read_checkpoint(tmp_path / "cut" / "last.safetensors")
    assert full.keys() == cut.keys() and any(k.startswith("adam.") for k in full)
    for key in full:
        assert_close(cut[key], full[key], msg=key)


def test_early_stopping_stops_after_patience(tmp_path) -> None:
    # trained on swapped labels, the model's loss on the true ones never returns to epoch 1's
    result = train(BorderDataset(64, 0, inverted=True), BorderDataset(16, 1), tmp_path / "run",
                   config=small_config(epochs=10, patience=2), progress=False)
    losses = [record["val_loss"] for record in result.history]
    assert min(losses[1:]) > losses[0]  # the premise: no later epoch improves on the first
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 1


def test_augmentation_crops_inside_the_image_and_moves_content() -> None:
    """A uniform image stays uniform (the crop never samples outside the image, so no padded
    or wrapped borders appear), and a single bright pixel lands in different places."""
    generator = torch.Generator().manual_seed(0)
    flat = augment_batch(torch.full((16, 3, 64, 64), 0.4), generator)
    assert_close(flat.amax(dim=(1, 2, 3)), flat.amin(dim=(1, 2, 3)))
    dot = torch.zeros(16, 3, 64, 64)
    dot[:, :, 20:22, 40:42] = 1.0
    moved = augment_batch(dot, generator)[:, 0]
    peaks = {divmod(int(m.argmax()), 64) for m in moved}
    assert len(peaks) >= 8, peaks


def test_learning_rate_staircase() -> None:
    config = TrainConfig()
    rates = [config.learning_rate_at(step) for step in (99_999, 100_000, 250_000)]
    assert_close(rates, [1e-4, 0.96e-4, 1e-4 * 0.96 ** 2], atol=0)  # tiny values: relative only


def test_existing_run_needs_resume_and_empty_data_is_an_error(tmp_path) -> None:
    train(BorderDataset(16, 0), BorderDataset(8, 1), tmp_path / "run",
          config=small_config(epochs=1),
          progress=False)
    with pytest.raises(XfasError, match="--resume"):
        train(BorderDataset(16, 0), BorderDataset(8, 1), tmp_path / "run", config=small_config(),
              progress=False)
    with pytest.raises(XfasError, match="training set"):
        train(BorderDataset(0, 0), BorderDataset(8, 1), tmp_path / "new", config=small_config(),
              progress=False)


@pytest.mark.slow
def test_training_on_generated_synthspoof_lowers_the_loss(tmp_path) -> None:
    from xfas.data.splits import open_splits
    from xfas.data.synth import generate_synthspoof

    data = generate_synthspoof(tmp_path / "synth", 120, size=64, seed=0, progress=False)
    splits = open_splits(data)
    result = train(splits["train"], splits["val"], tmp_path / "run",
                   config=small_config(model="cnn-cbam", epochs=4, augment=False), progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0], losses


def test_weight_average_matches_the_closed_form() -> None:
    """Weights held at c after starting at w0: the average is c + (w0 - c) * prod(decay_t)."""
    from torch import nn

    from xfas.training import WeightAverage

    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    model[0].weight.data.fill_(2.0)
    average = WeightAverage(model, decay=0.9)
    model[0].weight.data.fill_(-1.0)
    model[1].num_batches_tracked.fill_(7)
    for step in range(1, 21):
        average.update(model, step)
    remaining = 1.0
    for step in range(1, 21):
        remaining *= min(0.9, (1 + step) / (10 + step))
    expected = -1.0 + (2.0 - (-1.0)) * remaining
    assert_close(average.model[0].weight.item(), expected)
    assert average.model[1].num_batches_tracked.item() == 7
    assert not average.model.training and not average.model[0].weight.requires_grad
    with pytest.raises(XfasError, match="EMA decay 1.0"):
        WeightAverage(model, decay=1.0)


def test_the_kept_model_is_the_weight_average(tmp_path) -> None:
    train(BorderDataset(64, 0), BorderDataset(16, 1), tmp_path / "run",
          config=small_config(epochs=1),
          progress=False)
    best, _ = read_checkpoint(tmp_path / "run" / "best.safetensors")
    last, _ = read_checkpoint(tmp_path / "run" / "last.safetensors")
    key = "head.2.weight"
    assert_close(best[key], last[f"ema.{key}"])
    with pytest.raises(AssertionError):  # the average is not the trained weights
        assert_close(best[key], last[f"model.{key}"])
    train(BorderDataset(64, 0), BorderDataset(16, 1), tmp_path / "raw",
          config=small_config(epochs=1, ema_decay=0.0), progress=False)
    raw_best, _ = read_checkpoint(tmp_path / "raw" / "best.safetensors")
    raw_last, _ = read_checkpoint(tmp_path / "raw" / "last.safetensors")
    assert_close(raw_best[key], raw_last[f"model.{key}"])
    assert not any(k.startswith("ema.") for k in raw_last)


def test_a_run_without_an_average_resumes_with_one_started_at_its_weights(tmp_path) -> None:
    train_set, val_set = BorderDataset(32, 0), BorderDataset(16, 1)
    train(train_set, val_set, tmp_path / "run", config=small_config(epochs=1, ema_decay=0.0),
          progress=False)
    before, _ = read_checkpoint(tmp_path / "run" / "last.safetensors")
    resumed = train(train_set, val_set, tmp_path / "run",
                    config=small_config(epochs=2, learning_rate=0.0), resume=True, progress=False)
    assert resumed.epochs_run == 2
    after, _ = read_checkpoint(tmp_path / "run" / "last.safetensors")
    key = "head.2.weight"  # a learning rate of 0 leaves the weights, so the average equals them
    assert_close(after[f"ema.{key}"], before[f"model.{key}"])


class FixedLogits(torch.nn.Module):
    """A model whose logits are the same for every image: (0, log 3), so p(spoof) = 3/4."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.tensor([0.0, math.log(3.0)]))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(images), 2)


def test_validation_loss_is_the_label_smoothed_cross_entropy() -> None:
    """Smoothing e puts 1 - e/2 on the true class and e/2 on the other, so on half live and half
    spoof images the mean loss is -(log(1/4) + log(3/4)) / 2 whatever e is, and on spoof images
    alone it is -((1 - e/2) log(3/4) + (e/2) log(1/4))."""
    from xfas.training import evaluate_loss

    model = FixedLogits()
    both = BorderDataset(8, 0)
    loss, _ = evaluate_loss(model, both, label_smoothing=0.2)
    assert_close(loss, -(math.log(0.25) + math.log(0.75)) / 2)
    spoof_only = torch.utils.data.Subset(both, [1, 3, 5, 7])
    plain, accuracy = evaluate_loss(model, spoof_only)
    smoothed, _ = evaluate_loss(model, spoof_only, label_smoothing=0.2)
    assert_close(plain, -math.log(0.75))
    assert accuracy == 1.0
    assert_close(smoothed, -(0.9 * math.log(0.75) + 0.1 * math.log(0.25)))


def test_label_smoothing_out_of_range_is_an_error(tmp_path) -> None:
    with pytest.raises(XfasError, match="label smoothing 1.0"):
        train(BorderDataset(16, 0), BorderDataset(8, 1), tmp_path / "run",
              config=small_config(label_smoothing=1.0), progress=False)


def _celeba_tree(root) -> list:
    """Two noise images of 448x336 in CelebA-Spoof's layout, each with a _BB.txt; returns
    their face boxes (x, y, w, h) in image pixels."""
    rng = np.random.default_rng(0)
    labels, boxes = {}, []
    for index, (kind, label) in enumerate([("live", 0), ("spoof", 1)]):
        path = root / f"Data/train/4930/{kind}/00000{index}.png"
        path.parent.mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (336, 448, 3), dtype=np.uint8)).save(path)
        (path.parent / f"00000{index}_BB.txt").write_text("60 50 56 70 0.99\n")
        boxes.append((60 * 2, 50 * 1.5, 56 * 2, 70 * 1.5))  # the 224 frame scaled to 448x336
        values = [0] * 44
        values[40], values[43] = 9 * label, label
        labels[str(path.relative_to(root))] = values
    (root / "metas/intra_test").mkdir(parents=True)
    (root / "metas/intra_test/train_label.json").write_text(json.dumps(labels))
    return boxes


def test_the_checkpoint_crops_the_face_as_training_did(tmp_path) -> None:
    boxes = _celeba_tree(tmp_path)
    data = CelebASpoof(tmp_path, split="train")
    train(data, data, tmp_path / "run", config=small_config(epochs=1), progress=False)
    model = load_model(tmp_path / "run")
    assert model.crop_scale == CROP_SCALE
    for index, box in enumerate(boxes):
        item = data[index]
        rgb = np.asarray(Image.open(item["path"]))
        x, geometry = model.preprocess(rgb, box)  # what xfas predict feeds a detected face
        assert list(geometry.box) == item["box"].tolist()
        assert_close(x, item["image"])
        x0, y0, x1, y1 = geometry.box
        bilinear = cv2.resize(rgb[y0:y1, x0:x1], (64, 64)) / 255
        assert np.abs(bilinear - item["image"].permute(1, 2, 0).numpy()).max() > 0.1


def test_training_and_validation_cut_differently_is_an_error(tmp_path) -> None:
    _celeba_tree(tmp_path)
    with pytest.raises(XfasError, match="crop scale 1.5.* None"):
        train(CelebASpoof(tmp_path, split="train"),
              CelebASpoof(tmp_path, split="train", crop_scale=None), tmp_path / "run",
              config=small_config(epochs=1), progress=False)
