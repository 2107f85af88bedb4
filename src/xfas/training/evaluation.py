"""Scoring a model on a dataset: spoof probabilities in, the FAS metric report out."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from xfas.data.collate import collate_items
from xfas.models import FASModel
from xfas.progress import progress_bar
from xfas.training.fas_metrics import fas_report


def predict_dataset(model: FASModel, dataset: Dataset, batch_size: int = 64,
                    *, progress: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels, spoof probabilities and attack names of every item of ``dataset``."""
    model.eval()
    device = next(model.parameters()).device
    labels, scores, attacks = [], [], []
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0,
                        collate_fn=collate_items)
    with torch.no_grad(), progress_bar(progress) as bar:
        task = bar.add_task("scoring", total=len(loader))
        for batch in loader:
            logits = model(batch["image"].to(device))
            scores.append(model.spoof_probability(logits).cpu().numpy())
            labels.append(np.asarray(batch["label"]))
            attacks.extend(batch["attack"])
            bar.update(task, advance=1)
    return np.concatenate(labels), np.concatenate(scores), attacks


def evaluate(model: FASModel, test_set: Dataset, dev_set: Dataset | None = None,
             *, threshold: float = 0.5, progress: bool = True) -> dict[str, Any]:
    """All FAS metrics of ``model`` on ``test_set``; with ``dev_set`` also HTER at the
    development set's EER threshold."""
    labels, scores, attacks = predict_dataset(model, test_set, progress=progress)
    dev_labels = dev_scores = None
    if dev_set is not None:
        dev_labels, dev_scores, _ = predict_dataset(model, dev_set, progress=progress)
    return fas_report(labels, scores, attacks=attacks, threshold=threshold,
                      dev_labels=dev_labels, dev_scores=dev_scores)
