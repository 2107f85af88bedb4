"""Plain folders of images: ``root/live/*`` and ``root/spoof/*`` (any depth, .jpg .jpeg .png
.bmp .webp). The item is the whole image; attack is "live" / "spoof" unless an optional
``root/manifest.json`` (benchmark manifest format, keyed by the path relative to root, e.g.
"spoof/a.jpg", or by the file's stem) names the attack and the split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import torch

from xfas.data.benchmark_layout import MANIFEST, BenchmarkLayout, ManifestEntry, read_manifest
from xfas.data.datasets.balance import select_split
from xfas.data.datasets.base import FASDataset, Sample, image_files
from xfas.errors import XfasError

CLASS_FOLDERS = {"live": 0, "spoof": 1}


class FolderDataset(FASDataset):
    """Images sorted into ``root/live`` and ``root/spoof``.

    Args:
        root: the folder holding ``live/`` and/or ``spoof/``.
        split: None for every image, or "train" / "val" / "test": the manifest's split when
            it gives one for every image, else a seeded split stratified by label.
        fractions: train / val / test fractions of the seeded split.
        seed: seed of the seeded split.
        image_size, transform: see ``FASDataset``.

    Example:
        >>> data = FolderDataset("faces", split="train")
        >>> data[0]["image"].shape
        torch.Size([3, 64, 64])
    """

    def __init__(self, root: str | Path, split: str | None = None, image_size: int | None = 64,
                 *, transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0) -> None:
        super().__init__(image_size, transform)
        self.root = Path(root)
        self.split = split
        if not self.root.is_dir():
            raise XfasError(f"{self.root}: folder not found")
        present = [name for name in CLASS_FOLDERS if (self.root / name).is_dir()]
        if not present:
            if BenchmarkLayout(self.root).is_layout():
                raise XfasError(f"{self.root}: has the benchmark layout (images/, masks/, "
                                f"manifest.json), not live/ and spoof/: open it with "
                                f"xfas.data.BenchmarkDataset or xfas.data.open_dataset")
            raise XfasError(f"{self.root}: no live/ or spoof/ folder of images found")
        manifest_path = self.root / MANIFEST
        manifest = read_manifest(manifest_path) if manifest_path.is_file() else None
        samples, splits = [], []
        for folder in present:
            for path in image_files(self.root / folder):
                entry = self._entry(manifest, path)
                label = CLASS_FOLDERS[folder]
                if entry is not None and entry.label != label:
                    raise XfasError(f"{manifest_path}: entry for {path.relative_to(self.root)} "
                                    f"says label {entry.label} but the file is in {folder}/")
                attack = entry.attack if entry is not None else folder
                samples.append(Sample(path, label, attack))
                splits.append(entry.split if entry is not None else None)
        if not samples:
            raise XfasError(f"{self.root}: no image files (.jpg .jpeg .png .bmp .webp) in "
                            f"{' or '.join(f'{p}/' for p in present)}")
        keep = select_split([s.label for s in samples], splits, split, fractions=fractions,
                            seed=seed,
                            source=f"{manifest_path} (with the images of {self.root})")
        self._samples = [samples[i] for i in keep]

    def _entry(self, manifest: dict[str, ManifestEntry] | None, path: Path
               ) -> ManifestEntry | None:
        """The manifest's entry for ``path`` (by relative path, else by stem), if any; an
        image without one is labelled by its folder alone."""
        if manifest is None:
            return None
        return manifest.get(path.relative_to(self.root).as_posix(), manifest.get(path.stem))

    def describe(self) -> str:
        return f"FolderDataset({self.root})"
