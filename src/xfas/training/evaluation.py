"""Scoring a model on a dataset: spoof probabilities in (``xfas.training.scoring``, each image
fed as the model wants it), the FAS metric report out."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch.utils.data import Dataset

from xfas.data.face import FaceDetector
from xfas.errors import XfasError
from xfas.models import FASModel
from xfas.training.fas_metrics import fas_report
from xfas.training.scoring import DatasetScores, Scorer, score_dataset


def predict_dataset(model: FASModel, dataset: Dataset, batch_size: int = 64,
                    *, progress: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels, spoof probabilities and attack names of the scored items of ``dataset``."""
    scored = score_dataset(model, dataset, batch_size, progress=progress)
    return scored.labels, scored.scores, scored.attacks


def evaluate(model: Scorer, test_set: Dataset, dev_set: Dataset | None = None,
             *, threshold: float | None = None, progress: bool = True,
             detector: FaceDetector | None = None,
             scores: list[DatasetScores] | None = None) -> dict[str, Any]:
    """All FAS metrics of ``model`` on ``test_set`` at ``threshold`` (None: the model's own,
    from its card); with a non-empty ``dev_set`` also HTER at the development set's EER
    threshold. ``scores``, when given, receives the test set's ``DatasetScores``.

    The report adds ``scored`` (images scored), ``no_face`` and ``unreadable`` (images left
    out) and ``notes`` (what a reader of the numbers should know)."""
    notes = []
    if threshold is None:
        threshold = model.threshold
        source = getattr(model, "threshold_data", None) if isinstance(model, FASModel) else None
        notes.append(f"threshold {threshold:g} from the model card"
                     + (f" (chosen on {source})" if source else ""))
    tested = score_dataset(model, test_set, detector=detector, progress=progress)
    if scores is not None:
        scores.append(tested)
    if tested.labels.size == 0:
        raise XfasError(f"test set: none of its {len(tested.no_face) + len(tested.unreadable)} "
                        f"images could be scored ({len(tested.no_face)} without a face found, "
                        f"{len(tested.unreadable)} unreadable)")
    dev_labels = dev_scores = None
    if dev_set is not None and len(dev_set) == 0:  # type: ignore[arg-type]
        notes.append("no validation images: HTER is computed at the threshold, not at the "
                     "validation set's EER threshold")
    elif dev_set is not None:
        dev = score_dataset(model, dev_set, detector=detector, progress=progress)
        dev_labels, dev_scores = dev.labels, dev.scores
    if tested.no_face:
        notes.append(f"{len(tested.no_face)} test images left out: no face found")
    report = fas_report(tested.labels, tested.scores, attacks=tested.attacks,
                        threshold=threshold, dev_labels=dev_labels, dev_scores=dev_scores)
    report.update(scored=int(tested.labels.size), no_face=len(tested.no_face),
                  unreadable=len(tested.unreadable), notes=notes)
    return report
