"""What the format readers hand to the importer and the exporter hands to the writers, the
mapping from a tool's category names to the evidence types, and an image's size from its
header."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
from PIL import Image

from xfas.annotations.shapes import Region, Size
from xfas.data.benchmark_layout import EVIDENCE_TYPES, read_mask
from xfas.errors import ItemError, XfasError

IGNORE = "ignore"  # --map NAME=ignore leaves a category out
_TRANSPOSED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


@dataclass
class AnnotatedImage:
    """One image of an annotation file: the file name it gives, the size it states (H, W;
    None when it states none) and its regions."""

    file_name: str
    size: Size | None
    where: str
    regions: list[Region] = field(default_factory=list)


@dataclass(frozen=True)
class ExportImage:
    """One image of a data set on its way out: name, image file, size (H, W) and its mask
    files by evidence type, read only when written (``masks``)."""

    name: str
    file: Path
    size: Size
    mask_files: dict[str, Path]

    def masks(self) -> dict[str, np.ndarray]:
        """The non-empty masks; a mask of another size than the image is an error naming
        it."""
        masks = {}
        for evidence, path in self.mask_files.items():
            try:
                mask = read_mask(path)
            except ItemError as error:
                raise XfasError(str(error)) from None
            if mask.shape != self.size:
                raise XfasError(f"{path}: the mask is {mask.shape[1]}x{mask.shape[0]} but the "
                                f"image is {self.size[1]}x{self.size[0]}")
            if mask.any():
                masks[evidence] = mask
        return masks


def resolve_labels(labels: Iterable[str], mapping: Mapping[str, str], source: str
                   ) -> dict[str, str | None]:
    """{label: evidence type, or None for an ignored one}. A label is its own evidence type
    when it is one; ``mapping`` renames the others (target: an evidence type or "ignore").
    Unknown labels are one error that lists them and the valid names."""
    valid = ", ".join(EVIDENCE_TYPES)
    for name, target in mapping.items():
        if target not in EVIDENCE_TYPES and target != IGNORE:
            raise XfasError(f"--map {name}={target}: {target!r} is not an evidence type "
                            f"({valid}) or {IGNORE!r}")
    labels = sorted(set(labels))
    missing = sorted(set(mapping) - set(labels))
    if missing:
        raise XfasError(f"--map: {source} has no category {', '.join(map(repr, missing))} "
                        f"(its categories: {', '.join(map(repr, labels)) or 'none'})")
    resolved: dict[str, str | None] = {}
    unknown = []
    for label in labels:
        target = mapping.get(label, label)
        if target == IGNORE:
            resolved[label] = None
        elif target in EVIDENCE_TYPES:
            resolved[label] = target
        else:
            unknown.append(label)
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise XfasError(f"{source}: unknown categories {names}; map each to an evidence type "
                        f"({valid}) or to {IGNORE!r} with --map, e.g. "
                        f"--map \"{unknown[0]}={EVIDENCE_TYPES[0]}\"")
    return resolved


def image_size(path: Path) -> Size:
    """(H, W) of an image file as xfas reads it (EXIF orientation applied), from its header."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112)
    except Exception as error:  # corrupt files reach many decoder paths
        raise XfasError(f"{path}: cannot read the image ({error})") from error
    return (width, height) if orientation in _TRANSPOSED else (height, width)

