"""A dataset of images with evidence masks, in the benchmark layout written by ``xfas synth``
and used for real annotated data (``xfas.data.benchmark_layout``).

Items are whole images (there is no face box) with their evidence masks resized alongside.
Without a manifest an image is "spoof" when one of its masks marks evidence, else "live".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np
import torch

from xfas.data.benchmark_layout import MANIFEST_CROP, BenchmarkLayout, read_mask
from xfas.data.datasets.balance import select_split
from xfas.data.datasets.base import FASDataset, ItemError, Sample, require_folder
from xfas.data.geometry import Box, context_crop_box, resize_square, whole_box
from xfas.errors import XfasError


@dataclass(frozen=True)
class BenchmarkSample(Sample):
    """A benchmark image: its name and the evidence its manifest entry lists."""

    name: str = ""
    evidence: tuple[str, ...] = ()
    face_box: tuple[float, float, float, float] | None = None


class BenchmarkDataset(FASDataset):
    """Images with evidence masks, in the benchmark layout.

    Items add ``name`` (str) and ``masks``: {evidence: bool tensor (H, W)} at the item's
    size, one for every evidence type of the dataset (all False where the image has no mask
    file), so items batch with the default collate.

    Args:
        root: the folder holding ``images/`` (and ``masks/``, ``manifest.json``).
        split: None for every image, or "train" / "val" / "test": the manifest's split when
            every entry has one, else a seeded split stratified by label.
        fractions, seed: of the seeded split.
        image_size, transform: see ``FASDataset``.
        crop_scale: cut each item around its manifest ``face_box`` with this context crop
            (``context_crop_box``); None for whole images; by default what the manifest's
            ``crop_scale`` says (SynthSpoof on real people: the face and its surroundings, as
            a model that finds the face sees real photos), else whole images.

    Example:
        >>> bench = BenchmarkDataset("xfas-bench", split="test")
        >>> item = bench[0]; item["masks"]["photo_edge"].shape
        torch.Size([64, 64])
    """

    def __init__(self, root: str | Path, split: str | None = None, image_size: int | None = 64,
                 *, transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0,
                 crop_scale: float | None | str = MANIFEST_CROP) -> None:
        super().__init__(image_size, transform)
        self.root = Path(root)
        self.split = split
        self.layout = BenchmarkLayout(self.root)
        self.crop_scale = (self.layout.crop_scale() if crop_scale == MANIFEST_CROP
                           else crop_scale)  # type: ignore[assignment]
        images = require_folder(self.layout.images_dir, "the benchmark layout's images/")
        self.evidence_types = self.layout.evidence_types()
        files = self.layout.image_files()
        manifest_path = self.layout.manifest_path
        samples = (self._from_manifest(files, manifest_path) if manifest_path.is_file()
                   else self._from_masks(files))
        if not samples:
            raise XfasError(f"{images}: no usable images (.png or .jpg named in the manifest)")
        keep = select_split([s.sample.label for s in samples], [s.split for s in samples], split,
                            fractions=fractions, seed=seed, source=str(manifest_path))
        self._samples = [samples[i].sample for i in keep]
        self._index = {s.name: i for i, s in enumerate(self._samples)}

    # --- indexing ----------------------------------------------------------------------
    def _from_manifest(self, files: dict[str, Path], manifest_path: Path) -> list[_Indexed]:
        manifest = self.layout.read_manifest()
        for name in sorted(files.keys() - manifest.keys()):
            self._note("not_in_manifest", files[name], f"no entry in {manifest_path}")
        indexed = []
        for name, entry in sorted(manifest.items()):
            if name not in files:
                self._note("missing_image", self.layout.images_dir / name,
                           f"named in {manifest_path} but no image file has this name")
                continue
            unknown = set(entry.evidence) - set(self.evidence_types)
            if unknown:
                raise XfasError(f"{manifest_path}: entry {name!r} lists evidence "
                                f"{sorted(unknown)} with no masks/ folder")
            sample = BenchmarkSample(files[name], entry.label, entry.attack, name,
                                     entry.evidence, entry.face_box)
            indexed.append(_Indexed(sample, entry.split))
        return indexed

    def _from_masks(self, files: dict[str, Path]) -> list[_Indexed]:
        indexed = []
        for name, path in files.items():
            try:
                marked = tuple(e for e, mask in self._read_masks(name, ()).items() if mask.any())
            except ItemError as error:
                self._note(error.reason, error.file, error.detail)
                continue
            label = 1 if marked else 0
            sample = BenchmarkSample(path, label, "spoof" if marked else "live", name, marked)
            indexed.append(_Indexed(sample, None))
        return indexed

    # --- reading -----------------------------------------------------------------------
    def _crop_box(self, sample: BenchmarkSample, rgb: np.ndarray) -> Box:  # type: ignore[override]
        """Around the face with ``crop_scale``, or the whole image (no crop, or no face box)."""
        if self.crop_scale is None or sample.face_box is None:
            return whole_box(rgb)
        return context_crop_box(sample.face_box, rgb.shape[:2], self.crop_scale)

    def _read_masks(self, name: str, expected: Sequence[str],
                    size: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
        """Every evidence mask of ``name`` that has a file, as bool (H, W); ``expected``
        ones must have a file and ``size`` (H, W), when given, must match."""
        masks = {}
        for evidence in self.evidence_types:
            path = self.layout.mask_path(evidence, name)
            if not path.is_file():
                if evidence in expected:
                    raise ItemError("missing_mask", path, "listed as evidence in the "
                                    "manifest but the mask file is missing")
                continue
            mask = read_mask(path)
            if size is not None and mask.shape != size:
                raise ItemError("unreadable_mask", path, f"mask is {mask.shape[1]}x"
                                f"{mask.shape[0]} but the image is {size[1]}x{size[0]}")
            masks[evidence] = mask
        return masks

    def _extras(self, sample: BenchmarkSample,  # type: ignore[override]
                rgb: np.ndarray, box: Box) -> dict[str, Any]:
        full = self._read_masks(sample.name, sample.evidence, rgb.shape[:2])
        side = self.image_size
        masks = {}
        for evidence in self.evidence_types:
            mask = full.get(evidence)
            if mask is None:
                shape = (side, side) if side is not None else rgb.shape[:2]
                masks[evidence] = torch.zeros(shape, dtype=torch.bool)
                continue
            x0, y0, x1, y1 = box
            mask = mask[y0:y1, x0:x1].astype(np.uint8)
            if side is not None:
                mask = resize_square(mask, side, cv2.INTER_NEAREST)
            masks[evidence] = torch.from_numpy(mask > 0)
        return {"name": sample.name, "masks": masks}

    # --- by name -----------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Image names in index order."""
        return [s.name for s in self._samples]  # type: ignore[attr-defined]

    def index_of(self, name: str) -> int:
        """The index of image ``name``; XfasError if it is not in this dataset (or split)."""
        if name not in self._index:
            raise XfasError(f"{name!r}: no such image in {self.describe()}")
        return self._index[name]

    def load_masks(self, name: str) -> dict[str, torch.Tensor]:
        """The evidence masks of image ``name`` at full size: {evidence: bool (H, W)}, only
        those with a mask file. XfasError naming the file if one is unreadable."""
        sample = self._samples[self.index_of(name)]
        size = self.original(name).shape[:2]
        masks = self._read_masks(name, sample.evidence, size)  # type: ignore[attr-defined]
        return {e: torch.from_numpy(m) for e, m in masks.items()}

    def original(self, key: int | str) -> np.ndarray:
        """The full-size RGB uint8 image of an index or a name."""
        index = self.index_of(key) if isinstance(key, str) else key
        return super().original(index)

    def describe(self) -> str:
        return f"BenchmarkDataset({self.root})"


@dataclass(frozen=True)
class _Indexed:
    sample: BenchmarkSample
    split: str | None
