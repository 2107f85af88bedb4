"""Spoof scores of a model on a dataset, each image fed to the model as the model wants it.

A model that reads the dataset's own tensors (``reads_dataset_images``: whole-image RGB in
[0, 1] at its input size, as xfas trains them) gets them, exactly as in training. Any other
model (MiniFASNet: a BGR 0-255 context crop around the face; any model whose card asks for
another wiring) gets ``model.preprocess`` of the original image around the face the detector
finds, which is what ``xfas predict`` feeds it; the fused ``FusedPredictor`` gives its fused
verdict. Images in which no face is found get no score and are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset

from xfas.data.collate import collate_items
from xfas.data.face import FaceDetector
from xfas.errors import ItemError, XfasError
from xfas.models import FASModel
from xfas.models.base import reads_dataset_images
from xfas.models.fused import FusedPredictor
from xfas.progress import progress_bar

Scorer = FASModel | FusedPredictor


@dataclass
class DatasetScores:
    """Labels, spoof probabilities, attack names and files of the scored images, in dataset
    order, and the files left out (no face found, unreadable)."""

    labels: np.ndarray
    scores: np.ndarray
    attacks: list[str]
    paths: list[str]
    no_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def score_dataset(model: Scorer, dataset: Dataset, batch_size: int = 64, *,
                  detector: FaceDetector | None = None, progress: bool = True
                  ) -> DatasetScores:
    """The spoof probability of every image of ``dataset`` (see the module docstring);
    ``detector`` finds the faces for crop models (default: from XFAS_ASSETS, else OpenCV's)."""
    if isinstance(model, FASModel):
        model.eval()
        if reads_dataset_images(model):
            return _dataset_tensors(model, dataset, batch_size, progress=progress)
    crops = isinstance(model, FusedPredictor) or model.crop_scale is not None
    if isinstance(model, FusedPredictor):
        detector = model.detector
    elif crops and detector is None:
        detector = FaceDetector.from_assets(None)
    return _original_images(model, dataset, batch_size, detector=detector if crops else None,
                            progress=progress)


def _dataset_tensors(model: FASModel, dataset: Dataset, batch_size: int, *,
                     progress: bool) -> DatasetScores:
    device = next(model.parameters()).device
    labels, scores, attacks, paths = [], [], [], []
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0,
                        collate_fn=collate_items)
    with torch.no_grad(), progress_bar(progress) as bar:
        task = bar.add_task("scoring", total=len(loader))
        for batch in loader:
            logits = model(batch["image"].to(device))
            scores.append(model.spoof_probability(logits).cpu().numpy())
            labels.append(np.asarray(batch["label"]))
            attacks.extend(batch["attack"])
            paths.extend(batch["path"])
            bar.update(task, advance=1)
    return DatasetScores(_joined(labels, np.int64), _joined(scores, np.float32), attacks, paths)


def _original_images(model: Scorer, dataset: Dataset, batch_size: int, *,
                     detector: FaceDetector | None, progress: bool) -> DatasetScores:
    result = DatasetScores(np.zeros(0, np.int64), np.zeros(0, np.float32), [], [])
    labels: list[int] = []
    scores: list[float] = []
    pending: list[torch.Tensor] = []
    leaves = list(_leaves(dataset))
    with torch.no_grad(), progress_bar(progress) as bar:
        task = bar.add_task("scoring (detect, crop)", total=len(leaves))
        for base, index in leaves:
            bar.advance(task)
            path = base.paths[index]
            try:
                rgb = base.original(index)
            except ItemError:
                result.unreadable.append(path)
                continue
            box = detector.detect(rgb) if detector is not None else None
            if detector is not None and box is None:
                result.no_face.append(path)
                continue
            labels.append(int(base.labels[index]))
            result.attacks.append(base.attacks[index])
            result.paths.append(path)
            if isinstance(model, FusedPredictor):
                scores.append(model.predict_face(rgb, box).spoof_probability)
                continue
            pending.append(model.preprocess(rgb, box)[0])
            if len(pending) == batch_size:
                scores.extend(_probabilities(model, pending))
                pending = []
        if pending:
            scores.extend(_probabilities(model, pending))
    result.labels = np.asarray(labels, dtype=np.int64)
    result.scores = np.asarray(scores, dtype=np.float32)
    return result


def _probabilities(model: FASModel, tensors: list[torch.Tensor]) -> list[float]:
    device = next(model.parameters()).device
    logits = model(torch.stack(tensors).to(device))
    return model.spoof_probability(logits).cpu().tolist()


def _leaves(dataset: Dataset) -> Iterator[tuple[Dataset, int]]:
    """(xfas dataset, index) of every item, through Subset and ConcatDataset wrappers."""
    if isinstance(dataset, Subset):
        inner = list(_leaves(dataset.dataset))
        for index in dataset.indices:
            yield inner[int(index)]
    elif isinstance(dataset, ConcatDataset):
        for part in dataset.datasets:
            yield from _leaves(part)
    elif hasattr(dataset, "original") and hasattr(dataset, "paths"):
        for index in range(len(dataset)):  # type: ignore[arg-type]
            yield dataset, index
    else:
        raise XfasError(f"{type(dataset).__name__}: holds no original images, so a model that "
                        "crops the face or reads other pixels than the dataset's cannot score it")


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
