"""Recognising a dataset's layout from its folders, and opening it with the right class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xfas.data.benchmark_layout import BenchmarkLayout
from xfas.data.datasets.base import FASDataset
from xfas.data.datasets.benchmark import BenchmarkDataset
from xfas.data.datasets.casia_fasd import SPLIT_FOLDERS, CasiaFASD
from xfas.data.datasets.celeba_spoof import CelebASpoof
from xfas.data.datasets.folder import CLASS_FOLDERS, FolderDataset
from xfas.errors import XfasError

LAYOUTS = {
    "benchmark": ("images/ (+ masks/<evidence>/, manifest.json)", BenchmarkDataset),
    "celeba-spoof": ("Data/ and metas/intra_test/", CelebASpoof),
    "casia-fasd": ("train_release/ and/or test_release/", CasiaFASD),
    "folder": ("live/ and/or spoof/", FolderDataset),
}


def detect_layout(root: str | Path) -> str:
    """The name of the layout of ``root`` (a key of ``LAYOUTS``); XfasError listing the
    layouts known when none matches."""
    root = Path(root)
    if not root.is_dir():
        raise XfasError(f"{root}: folder not found")
    if BenchmarkLayout(root).is_layout():
        return "benchmark"
    if (root / "Data").is_dir() and (root / "metas").is_dir():
        return "celeba-spoof"
    if any((root / name).is_dir() for name in SPLIT_FOLDERS.values()):
        return "casia-fasd"
    if any((root / name).is_dir() for name in CLASS_FOLDERS):
        return "folder"
    known = "; ".join(f"{name}: {folders}" for name, (folders, _) in LAYOUTS.items())
    raise XfasError(f"{root}: not a dataset layout xfas knows (it looks for {known})")


def open_dataset(root: str | Path, **options: Any) -> FASDataset:
    """The dataset at ``root`` opened with the class of its layout; ``options`` (split,
    image_size, transform, ...) go to that class.

    Example:
        >>> data = open_dataset("xfas-bench", split="test")
        >>> type(data).__name__
        'BenchmarkDataset'
    """
    _, cls = LAYOUTS[detect_layout(root)]
    return cls(root, **options)
