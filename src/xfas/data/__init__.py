"""Data: image I/O with format and size checks, face detection and crops, datasets."""

from xfas.data.datasets import (BenchmarkDataset, CasiaFASD, CelebASpoof, FASDataset,
                                FolderDataset, balanced_split, balanced_subset, detect_layout,
                                open_dataset, split_indices)
