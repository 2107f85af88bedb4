"""Checking a model card against labelled images (``xfas check-model``): score the images under
the card and under the usual mis-wirings of a port (RGB and BGR swapped, pixels in 0-255 or in
[0, 1], another face crop, another live index), and see which wiring separates live from spoof
best. A right card should win; when another wiring wins clearly, the card is probably wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from xfas.data.datasets import open_dataset
from xfas.data.face import FaceDetector
from xfas.errors import ItemError, XfasError
from xfas.models import FASModel
from xfas.models.card import ModelCard, apply_card, card_of
from xfas.progress import tracked
from xfas.training.fas_metrics import accuracy, predict, roc_auc

CARD = "card"
MARGIN = 0.02  # AUC by which another wiring must beat the card to be reported
CROP_SCALES = (None, 1.5, 2.7, 4.0)  # whole image, xfas's datasets, Silent-Face's two crops


@dataclass(frozen=True)
class WiringScore:
    """How well the model separates the images under one wiring."""

    name: str
    card: ModelCard
    auc: float
    accuracy: float


@dataclass(frozen=True)
class WiringCheck:
    """Every wiring's score, the images used and left out, and the verdict."""

    scores: tuple[WiringScore, ...]
    images: int
    no_face: int

    @property
    def best(self) -> WiringScore:
        """The wiring with the highest AUC (the card's on a tie)."""
        return max(self.scores, key=lambda s: (s.auc, s.name == CARD))

    @property
    def card_is_best(self) -> bool:
        """Whether no other wiring beats the card's AUC by more than ``MARGIN``."""
        return self.best.auc - self.scores[0].auc <= MARGIN


def wirings(card: ModelCard) -> dict[str, ModelCard]:
    """The card and its usual mis-wirings, by name."""
    other_order = "BGR" if card.channel_order == "RGB" else "RGB"
    other_scale = 1.0 if abs(card.pixel_scale - 1 / 255) < 1e-12 else 1 / 255
    found = {CARD: card,
             other_order: replace(card, channel_order=other_order),
             "pixels 0-255" if other_scale == 1.0 else "pixels / 255":
                 replace(card, pixel_scale=other_scale)}
    for scale in CROP_SCALES:
        if scale != card.crop_scale:
            found[f"crop {scale}" if scale else "whole image"] = replace(card, crop_scale=scale)
    for index in range(card.num_classes):
        if index != card.live_index:
            found[f"live index {index}"] = replace(card, live_index=index)
    return found


def check_wiring(model: FASModel, data: str | Path, *, split: str | None = None,
                 limit: int | None = None, detector: FaceDetector | None = None,
                 progress: bool = True) -> WiringCheck:
    """Score the labelled images of ``data`` (``split``; None: all, at most ``limit``) under
    every wiring of ``model``'s card; the model is left under its own card."""
    card = card_of(model)
    images, labels, boxes, no_face = _read(data, split=split, limit=limit,
                                           detector=detector or FaceDetector.from_assets(None),
                                           progress=progress)
    results = []
    try:
        for name, wiring in wirings(card).items():
            apply_card(model, wiring, source=f"wiring {name!r}")
            scores = _scores(model, images, boxes)
            results.append(WiringScore(name, wiring, roc_auc(labels, scores),
                                       accuracy(labels, predict(scores, wiring.threshold))))
    finally:
        apply_card(model, card, source="the model's card")
    return WiringCheck(tuple(results), len(images), no_face)


def _read(data: str | Path, *, split: str | None, limit: int | None,
          detector: FaceDetector, progress: bool
          ) -> tuple[list[np.ndarray], np.ndarray, list, int]:
    """The readable images with a face found, their labels and face boxes, and how many had
    no face."""
    dataset = open_dataset(data, split=split, image_size=None)
    order = np.arange(len(dataset))
    if limit is not None and limit < order.size:
        order = np.sort(np.random.default_rng(0).choice(order, size=limit, replace=False))
    images, labels, boxes, no_face = [], [], [], 0
    for index in tracked(order.tolist(), "reading and detecting", progress):
        try:
            rgb = dataset.original(index)
        except ItemError:
            continue
        box = detector.detect(rgb)
        if box is None:
            no_face += 1
            continue
        images.append(rgb)
        labels.append(int(dataset.labels[index]))
        boxes.append(box)
    found = np.asarray(labels, dtype=np.int64)
    if len(set(found.tolist())) < 2:
        raise XfasError(f"--data {data}: needs live and spoof images with a face found "
                        f"(found {int((found == 0).sum())} live, {int((found == 1).sum())} "
                        f"spoof; {no_face} without a face)")
    return images, found, boxes, no_face


def _scores(model: FASModel, images: list[np.ndarray], boxes: list) -> np.ndarray:
    device = next(model.parameters()).device
    scores = []
    with torch.no_grad():
        for start in range(0, len(images), 32):
            batch, _ = model.preprocess_batch(images[start:start + 32], boxes[start:start + 32])
            scores.append(model.spoof_probability(model(batch.to(device))).cpu().numpy())
    return np.concatenate(scores)
