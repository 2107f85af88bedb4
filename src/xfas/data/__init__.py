"""Data: image I/O with format and size checks, image geometry, face detection and crops, the
benchmark layout, datasets (folders, benchmark layout, CelebA-Spoof, CASIA-FASD) and SynthSpoof."""

from xfas.data.datasets import (BenchmarkDataset, CasiaFASD, CelebASpoof, FASDataset,
                                FolderDataset, balanced_split, balanced_subset, detect_layout,
                                open_dataset, split_indices)

__all__ = ["BenchmarkDataset", "CasiaFASD", "CelebASpoof", "FASDataset", "FolderDataset",
           "balanced_split", "balanced_subset", "detect_layout", "open_dataset", "split_indices"]
