"""Train / validation / test sets of any dataset layout xfas reads."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import ConcatDataset, Dataset, Subset

from xfas.data.datasets import detect_layout, open_dataset, split_indices
from xfas.errors import XfasError

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


def evaluation_sets(root: str | Path, split: str, image_size: int = 64
                    ) -> tuple[Dataset, Dataset | None]:
    """The images ``xfas eval`` scores and its development set: ``split`` ("train", "val",
    "test" or "all": every image) and the validation split (None when ``split`` is "val" or
    "all"; empty when the data have no validation images). XfasError naming the split when it
    holds no image, with the splits that do."""
    if split == "all":
        if detect_layout(root) in ("casia-fasd", "celeba-spoof"):
            return ConcatDataset([open_dataset(root, split=name, image_size=image_size)
                                  for name in ("train", "test")]), None
        return open_dataset(root, split=None, image_size=image_size), None
    splits = open_splits(root, image_size=image_size)
    if len(splits[split]) == 0:
        holding = [name for name, part in splits.items() if len(part)]
        raise XfasError(f"--split {split}: no images of {root} are in it (images are in "
                        f"{', '.join(holding) or 'no split'}; --split all scores every image)")
    return splits[split], (None if split == "val" else splits["val"])
