"""What every xfas dataset shares: the item dict, resizing and transforms, and bad files that
are skipped (or worked around) and counted instead of stopping an epoch half-way.

An item is a dict with at least
- ``image``: float32 tensor (3, H, W), RGB in [0, 1], the crop resized to ``image_size``;
- ``label``: int, 0 live, 1 spoof;
- ``attack``: str, "live" or the attack's name;
- ``path``: str, the file the item was read from;
- ``box``: int64 tensor (x0, y0, x1, y1), where the crop lies in the full image (x1, y1
  exclusive), so maps on ``image`` go back onto the original (``CropGeometry``).

Errors: problems found while indexing (a missing folder, an unparsable label file) raise
XfasError at construction. Problems met while reading one item never raise: the item is
replaced by the next readable one (deterministically, wrapping round), or a fallback crop is
used, and the file is counted once in ``summary()`` with a warning naming it. With DataLoader
workers each worker counts in its own copy; ``check()`` reads everything in this process.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from xfas.data.benchmark_layout import IMAGE_EXTENSIONS
from xfas.data.geometry import Box, resize_square, whole_box
from xfas.data.image_io import load_image
from xfas.errors import ItemError, XfasError
from xfas.progress import tracked

LIVE, SPOOF = 0, 1
CROP_SCALE = 1.5
"""Default context crop around a face box (``context_crop_box`` scale): the face plus a quarter
of its size on each side, enough to show paper edges, screen bezels and hands next to the face
while the face still fills most of a 64x64 input."""

# Why an item was skipped or worked around, and what was done instead (summary()["..."]).
ACTIONS = {
    "unreadable_image": "skipped",
    "unreadable_frame": "skipped",
    "unreadable_mask": "skipped",
    "missing_mask": "skipped",
    "unreadable_video": "left out of the index",
    "missing_image": "left out of the index",
    "not_in_manifest": "left out of the index",
    "inconsistent_label": "left out of the index",
    "missing_bbox": "whole image used",
    "malformed_bbox": "whole image used",
    "no_face": "centre crop used",
}


@dataclass(frozen=True)
class Sample:
    """One indexed item: its file, label and attack name."""

    path: Path
    label: int
    attack: str


class SkipLog:
    """Files at fault by reason, each counted and warned about once."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, None]] = {}

    def add(self, reason: str, file: str | Path, detail: str) -> None:
        """Count ``file`` under ``reason`` and warn, unless it was already counted there."""
        files = self._files.setdefault(reason, {})
        if str(file) in files:
            return
        files[str(file)] = None
        action = ACTIONS.get(reason, "skipped")
        warnings.warn(f"{file}: {detail} ({reason}: {action})", stacklevel=3)

    def summary(self) -> dict[str, dict[str, Any]]:
        """{reason: {"count": n, "action": what was done, "files": [...]}}."""
        return {reason: {"count": len(files), "action": ACTIONS.get(reason, "skipped"),
                         "files": list(files)}
                for reason, files in self._files.items()}


class FASDataset(Dataset):
    """Base of xfas datasets: subclasses fill ``self._samples`` and say how to read one
    (``_read``) and where to crop it (``_crop_box``); items may add keys (``_extras``).

    Args:
        image_size: side of the square the crop is resized to; None keeps the crop's size.
        transform: applied to the float image tensor (3, H, W) of each item (augmentation).

    ``crop_scale`` is the context crop (``context_crop_box`` scale) around the face each item
    is cut with, None for the whole image; training stores it in the checkpoint, so that
    ``FASModel.preprocess`` cuts a detected face as training did.
    """

    crop_scale: float | None = None

    def __init__(self, image_size: int | None = 64,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
            raise XfasError(f"image_size: expected a positive int or None, got {image_size!r}")
        self.image_size = image_size
        self.transform = transform
        self._samples: list[Sample] = []
        self._log = SkipLog()
        self._bad: set[int] = set()

    # --- what subclasses provide -------------------------------------------------------
    def _read(self, sample: Sample) -> np.ndarray:
        """The full RGB uint8 image (H, W, 3) of a sample; raises ItemError."""
        return read_rgb(sample.path)

    def _crop_box(self, sample: Sample, rgb: np.ndarray) -> Box:
        """Where to crop: the whole image unless a subclass knows the face."""
        return whole_box(rgb)

    def _extras(self, sample: Sample, rgb: np.ndarray, box: Box) -> dict[str, Any]:
        """Keys a subclass adds to the item."""
        return {}

    # --- the Dataset protocol ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """The item at ``index``, or, if it cannot be read, the next readable one."""
        count = len(self._samples)
        if not -count <= index < count:
            raise IndexError(f"index {index} out of range for a dataset of {count} items")
        index %= count
        for step in range(count):
            candidate = (index + step) % count
            if candidate in self._bad:
                continue
            try:
                return self._item(candidate)
            except ItemError as error:
                self._bad.add(candidate)
                self._log.add(error.reason, error.file, error.detail)
        raise XfasError(f"{self.describe()}: none of its {count} items could be read; "
                        f"see summary() for the files and reasons")

    def _item(self, index: int) -> dict[str, Any]:
        sample = self._samples[index]
        rgb = self._read(sample)
        box = self._crop_box(sample, rgb)
        x0, y0, x1, y1 = box
        item = {"image": self.to_tensor(rgb[y0:y1, x0:x1]), "label": sample.label,
                "attack": sample.attack, "path": str(sample.path),
                "box": torch.tensor(box, dtype=torch.int64)}
        item.update(self._extras(sample, rgb, box))
        return item

    # --- shared helpers ----------------------------------------------------------------
    def to_tensor(self, crop: np.ndarray) -> torch.Tensor:
        """RGB uint8 crop -> float32 (3, S, S) in [0, 1], then ``transform``."""
        if self.image_size is not None:
            crop = resize_square(crop, self.image_size)
        tensor = torch.from_numpy(crop.astype(np.float32)).permute(2, 0, 1) / 255.0
        return self.transform(tensor) if self.transform is not None else tensor

    def original(self, index: int) -> np.ndarray:
        """The full-size RGB uint8 image (or video frame) of item ``index``."""
        return self._read(self._samples[index])

    @property
    def labels(self) -> np.ndarray:
        """The label (0 live, 1 spoof) of every item, in index order."""
        return np.array([s.label for s in self._samples], dtype=np.int64)

    @property
    def paths(self) -> list[str]:
        """The file of every item, in index order (a video's for its frames)."""
        return [str(s.path) for s in self._samples]

    @property
    def attacks(self) -> list[str]:
        """The attack name of every item, in index order."""
        return [s.attack for s in self._samples]

    def summary(self) -> dict[str, dict[str, Any]]:
        """Files skipped or worked around so far, by reason (see ``ACTIONS``)."""
        return self._log.summary()

    def check(self, progress: bool = True) -> dict[str, dict[str, Any]]:
        """Read every item once in this process and return ``summary()``: a dry run that
        finds every bad file before training."""
        for index in tracked(range(len(self)), "checking items", progress):
            if index not in self._bad:
                self[index]
        return self.summary()

    def describe(self) -> str:
        """How error messages name this dataset."""
        return type(self).__name__

    def _note(self, reason: str, file: str | Path, detail: str) -> None:
        self._log.add(reason, file, detail)


def read_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8, EXIF applied; ItemError("unreadable_image") if it fails."""
    try:
        return load_image(path)
    except XfasError as error:
        detail = str(error).removeprefix(f"{path}: ")
        raise ItemError("unreadable_image", path, detail) from error


def image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` (any depth), sorted, by extension (case-insensitive)."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def require_folder(path: Path, what: str) -> Path:
    """``path`` if it is a folder, else XfasError naming it."""
    if not path.is_dir():
        reason = "is a file, not a folder" if path.exists() else "folder not found"
        raise XfasError(f"{path}: {reason} ({what})")
    return path
