"""Train / validation / test sets of any dataset layout xfas reads."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset, Subset

from xfas.data.datasets import detect_layout, open_dataset, split_indices

VAL_FRACTION = 0.1


def open_splits(root: str | Path, image_size: int = 64, seed: int = 0
                ) -> dict[str, Dataset]:
    """``{"train", "val", "test"}`` datasets of ``root``. Layouts with their own three-way
    split (benchmark, folders) use it; CASIA-FASD has only train and test, so a seeded
    ``VAL_FRACTION`` of its training frames becomes the validation set; likewise CelebA-Spoof's
    official train/test labels."""
    layout = detect_layout(root)
    if layout not in ("casia-fasd", "celeba-spoof"):
        return {split: open_dataset(root, split=split, image_size=image_size)
                for split in ("train", "val", "test")}
    train_all = open_dataset(root, split="train", image_size=image_size)
    parts = split_indices(len(train_all), (1 - VAL_FRACTION, VAL_FRACTION, 0.0), seed)
    return {"train": Subset(train_all, parts["train"].tolist()),
            "val": Subset(train_all, parts["val"].tolist()),
            "test": open_dataset(root, split="test", image_size=image_size)}
