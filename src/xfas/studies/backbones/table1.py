"""The attention paper's Table I as a study: its six backbones and its custom CNN trained on the
same data with the same seeds, accuracy, precision, recall and F1 with APCER / BPCER / ACER /
AUC, as mean and spread over seeds, each backbone tested against the CNN (paired t-test over
seeds). The training and the table are the attention study's (``run_seeded_table``).

The defaults fit 30 minutes on 2 CPU cores: the CNN and the two lightest backbones, two seeds,
six epochs and a stratified subset of 960 training images (``limit_splits``). The paper's full
setting is ``models=STUDY_MODELS`` on every image with its recipe (50 epochs at a learning
rate of 1e-4, early stopping with patience 10), a job for a GPU (docs/studies.md).

Example:
    >>> run_backbone_study(open_splits("synth"), "study", seeds=(0, 1), config=TrainConfig())
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Subset

from xfas.data.datasets import stratified_split
from xfas.errors import XfasError
from xfas.models.backbones import BACKBONES
from xfas.studies.attention.table2 import run_seeded_table, table_markdown
from xfas.training import TrainConfig

BASELINE = "cnn"
STUDY_MODELS = (BASELINE, *BACKBONES)  # the paper's Table I
DEFAULT_MODELS = (BASELINE, "mobilenetv3", "resnet50")
TABLE1 = "table1"
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
SHARES = {"train": 1.0, "val": 0.25, "test": 0.75}  # of --images, for each split


def run_backbone_study(splits: dict[str, Dataset], out: str | Path, seeds: tuple[int, ...],
                       *, config: TrainConfig, models: tuple[str, ...] = DEFAULT_MODELS,
                       pretrained: str | Path | None = None, progress: bool = True
                       ) -> dict[str, Any]:
    """Train and evaluate the CNN and each backbone for every seed under
    ``out/<model>/seed<k>`` (finished runs are reused) and write ``table1.md`` and
    ``table1.json``. ``pretrained``: a folder of ImageNet weights named after the backbones
    (``resnet50.pth``, ...); a backbone without a file there trains from scratch, and the
    table says which did."""
    unknown = [name for name in models if name not in STUDY_MODELS]
    if unknown or BASELINE not in models:
        raise XfasError(f"--models {','.join(models)}: expected {BASELINE} and any of "
                        f"{', '.join(BACKBONES)}")
    ordered = (BASELINE, *[name for name in models if name != BASELINE])
    weights = pretrained_files(pretrained, ordered)
    configs = {name: replace(config, pretrained=weights[name]) for name in ordered}
    summary = run_seeded_table(splits, out, seeds, configs=configs, stem=TABLE1,
                               progress=progress)
    (Path(out) / f"{TABLE1}.md").write_text(table_markdown(summary) + weights_note(summary))
    return summary


def weights_note(summary: dict[str, Any]) -> str:
    """One line: which models started from ImageNet weights, which from random ones."""
    chosen = summary.get("pretrained", {})
    loaded = {name: path for name, path in chosen.items() if path}
    if not loaded:
        return "\nEvery model trained from scratch (random initial weights).\n"
    return ("\nImageNet weights: " + ", ".join(f"{n} ({Path(p).name})" for n, p in loaded.items())
            + "; the others trained from scratch.\n")


def pretrained_files(folder: str | Path | None, models: tuple[str, ...]
                     ) -> dict[str, str | None]:
    """{model: its weights file in ``folder`` (``<model><suffix>``), or None}."""
    if folder is None:
        return {name: None for name in models}
    folder = Path(folder)
    if not folder.is_dir():
        raise XfasError(f"--pretrained {folder}: folder not found (give a folder of weight "
                        f"files named after the backbones, e.g. resnet50.pth)")
    found: dict[str, str | None] = {}
    for name in models:
        files = [folder / f"{name}{suffix}" for suffix in WEIGHT_SUFFIXES]
        hits = [str(f) for f in files if f.is_file()] if name in BACKBONES else []
        found[name] = hits[0] if hits else None
    return found


def limit_splits(splits: dict[str, Dataset], images: int | None, seed: int = 0
                 ) -> dict[str, Dataset]:
    """Each split cut to a seeded subset stratified by label: ``images`` for training and
    the ``SHARES`` of it for validation and test (None: every image)."""
    if images is None:
        return splits
    limited = {}
    for name, dataset in splits.items():
        labels = dataset_labels(dataset)
        wanted = max(2, int(round(images * SHARES[name])))
        if wanted >= len(labels):
            limited[name] = dataset
            continue
        share = wanted / len(labels)
        chosen = stratified_split(labels, (share, 0.0, 1.0 - share), seed)["train"]
        limited[name] = Subset(dataset, chosen.tolist())
    return limited


def dataset_labels(dataset: Dataset) -> np.ndarray:
    """The label of every item, read from the index (no image is decoded)."""
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[np.asarray(dataset.indices)]
    return np.asarray(dataset.labels)
