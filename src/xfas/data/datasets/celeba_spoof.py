"""CelebA-Spoof (Zhang et al., ECCV 2020) as distributed::

    ROOT/Data/{train,test}/<subject>/{live,spoof}/<image>.{jpg,png}
    ROOT/Data/.../<image>_BB.txt              one line "x y w h score" in a 224x224 frame
    ROOT/metas/intra_test/{train,test}_label.json   {"Data/train/...jpg": [44 integers]}

Of the 44 integers, [40] is the spoof type (0 live, 1 photo, 2 poster, 3 A4, 4 face mask,
5 upper body mask, 6 region mask, 7 PC, 8 pad, 9 phone, 10 3D mask), [41] the illumination,
[42] the environment and [43] the label (0 live, 1 spoof). The label file is the index: files
are only opened when an item is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from xfas.data.benchmark_layout import read_json
from xfas.data.datasets.balance import SPLITS, balanced_split, check_split
from xfas.data.datasets.base import CROP_SCALE, FASDataset, Sample, require_folder
from xfas.data.geometry import Box, context_crop_box, whole_box
from xfas.errors import XfasError

SPOOF_TYPES = ("live", "photo", "poster", "a4", "face_mask", "upper_body_mask", "region_mask",
               "pc", "pad", "phone", "3d_mask")
LABEL_LENGTH = 44
SPOOF_TYPE, ILLUMINATION, ENVIRONMENT, LABEL = 40, 41, 42, 43
BB_FRAME = 224  # the _BB.txt boxes are in a 224x224 frame


@dataclass(frozen=True)
class CelebASample(Sample):
    """A CelebA-Spoof image with its illumination and environment attributes."""

    illumination: int = 0
    environment: int = 0


class CelebASpoof(FASDataset):
    """CelebA-Spoof, cropped round the face box of each image's ``_BB.txt``.

    Items add ``illumination`` and ``environment`` (ints [41] and [42] of the label).

    Args:
        root: the folder holding ``Data/`` and ``metas/``.
        split: without ``balanced``, the official "train" or "test" list; with it, "train",
            "val" or "test" of the balanced subset.
        balanced: None, or n per class: draw n live and n spoof images from the whole dataset
            (both official lists: the attention paper re-splits the data) and split them by
            ``fractions``, stratified; n = 100,000 with (0.9, 0.09, 0.01) is the paper's
            180k / 18k / 2k.
        fractions, seed: of the balanced subset and its split.
        crop_scale: the face box is scaled by this about its centre (``context_crop_box``);
            None uses the whole image. A missing or malformed ``_BB.txt`` falls back to the
            whole image and is counted in ``summary()``.
        image_size, transform: see ``FASDataset``.

    Example:
        >>> train = CelebASpoof("CelebA_Spoof", split="train", balanced=100_000)
        >>> len(train)
        180000
    """

    def __init__(self, root: str | Path, split: str = "train", image_size: int | None = 64,
                 *, transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 crop_scale: float | None = CROP_SCALE, balanced: int | None = None,
                 fractions: Sequence[float] = (0.9, 0.09, 0.01), seed: int = 0) -> None:
        super().__init__(image_size, transform)
        self.root = Path(root)
        self.split = split
        self.crop_scale = crop_scale
        require_folder(self.root, "the CelebA-Spoof root")
        require_folder(self.root / "Data", "CelebA-Spoof's image folder Data/")
        if balanced is None:
            check_split(split, ("train", "test"))
            self._samples = self._read_labels(split)
        else:
            check_split(split, SPLITS)
            pool = self._read_labels("train") + self._read_labels("test")
            labels = np.array([s.label for s in pool])
            chosen = balanced_split(labels, balanced, fractions, seed=seed)[split]
            self._samples = [pool[i] for i in chosen]

    def _read_labels(self, official: str) -> list[Sample]:
        """Samples of one official label file, in sorted path order."""
        path = self.root / "metas" / "intra_test" / f"{official}_label.json"
        data = read_json(path)
        if not isinstance(data, dict):
            raise XfasError(f"{path}: expected an object mapping image paths to "
                            f"{LABEL_LENGTH} integers")
        samples: list[Sample] = []
        for key in sorted(data):
            values = data[key]
            if not isinstance(values, list) or len(values) != LABEL_LENGTH or not all(
                    isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise XfasError(f"{path}: entry {key!r} is not a list of {LABEL_LENGTH} "
                                f"integers")
            spoof_type, label = values[SPOOF_TYPE], values[LABEL]
            if label not in (0, 1) or not 0 <= spoof_type < len(SPOOF_TYPES):
                raise XfasError(f"{path}: entry {key!r} has label {label} (expected 0 or 1) "
                                f"and spoof type {spoof_type} (expected 0..10)")
            if (spoof_type == 0) != (label == 0):
                self._note("inconsistent_label", self.root / key,
                           f"{path} gives spoof type {spoof_type} with label {label}")
                continue
            samples.append(CelebASample(self.root / key, label, SPOOF_TYPES[spoof_type],
                                        values[ILLUMINATION], values[ENVIRONMENT]))
        return samples

    def _crop_box(self, sample: Sample, rgb: np.ndarray) -> Box:
        if self.crop_scale is None:
            return whole_box(rgb)
        height, width = rgb.shape[:2]
        face = self._face_box(sample.path, width, height)
        if face is None:
            return whole_box(rgb)
        return context_crop_box(face, (height, width), self.crop_scale)

    def _face_box(self, image: Path, width: int, height: int
                  ) -> tuple[float, float, float, float] | None:
        """The image's _BB.txt box scaled from the 224x224 frame to the image, or None
        (counted) when the file is missing or malformed."""
        path = image.with_name(f"{image.stem}_BB.txt")
        if not path.is_file():
            self._note("missing_bbox", path, "face box file not found")
            return None
        try:
            fields = path.read_text(encoding="utf-8").split()
            x, y, w, h = (float(v) for v in fields[:4])
        except (OSError, UnicodeDecodeError, ValueError) as error:
            self._note("malformed_bbox", path, f"expected \"x y w h score\" ({error})")
            return None
        if w <= 0 or h <= 0:
            self._note("malformed_bbox", path, f"box width {w} and height {h} must be positive")
            return None
        sx, sy = width / BB_FRAME, height / BB_FRAME
        return x * sx, y * sy, w * sx, h * sy

    def _extras(self, sample: CelebASample,  # type: ignore[override]
                rgb: np.ndarray, box: Box) -> dict[str, Any]:
        return {"illumination": sample.illumination, "environment": sample.environment}

    def describe(self) -> str:
        return f"CelebASpoof({self.root}, split={self.split!r})"
