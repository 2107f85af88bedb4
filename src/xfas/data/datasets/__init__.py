"""PyTorch datasets of face anti-spoofing data: plain live/spoof folders, the benchmark layout,
CelebA-Spoof and CASIA-FASD, with seeded splits and balanced subsampling. Every item is a dict
with ``image`` (float 3xHxW in [0, 1]), ``label`` (0 live, 1 spoof), ``attack``, ``path`` and
``box``; bad files are skipped or worked around and counted in ``summary()``."""

from xfas.data.benchmark_layout import EVIDENCE_TYPES
from xfas.data.datasets.balance import (balanced_split, balanced_subset, split_indices,
                                        stratified_split)
from xfas.data.datasets.base import FASDataset
from xfas.data.datasets.benchmark import BenchmarkDataset
from xfas.data.datasets.casia_fasd import CasiaFASD
from xfas.data.datasets.celeba_spoof import SPOOF_TYPES, CelebASpoof
from xfas.data.datasets.folder import FolderDataset
from xfas.data.datasets.layout import detect_layout, open_dataset

__all__ = ["BenchmarkDataset", "CasiaFASD", "CelebASpoof", "EVIDENCE_TYPES", "FASDataset",
           "FolderDataset", "SPOOF_TYPES", "balanced_split", "balanced_subset", "detect_layout",
           "open_dataset", "split_indices", "stratified_split"]
