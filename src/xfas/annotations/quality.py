"""Checks of a data set's evidence masks before it is benchmarked: empty masks, masks larger
than their type can plausibly be, masks of another size than their image, masks without an
image, and the manifest and the mask files disagreeing in either direction.

The plausible shares (``MAX_SHARE``, the fraction of the image a type's mask may cover)
follow from what each type is: the hand holding a photo or tablet covers a corner or a side;
cut holes are eyes and a mouth; a tablet's bezel and a photo's edge are bands along an
outline. A larger mask usually means a filled region where an outline was meant, or a mask
of the wrong image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from xfas.annotations.records import image_size
from xfas.data.benchmark_layout import BenchmarkLayout, read_mask
from xfas.errors import ItemError, XfasError

MAX_SHARE = {"clutching_hand": 0.40, "cut_hole": 0.15, "ipad_border": 0.35, "photo_edge": 0.25}


@dataclass(frozen=True)
class Finding:
    """One problem: its kind, the file at fault and what is wrong."""

    kind: str
    file: Path
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.detail} ({self.kind})"


def check_annotations(data: str | Path, *, max_share: Mapping[str, float] | None = None
                      ) -> list[Finding]:
    """Every problem of the evidence masks of a folder in the benchmark layout, sorted by
    file; [] when there is none.

    Kinds: ``empty_mask``, ``large_mask`` (over ``max_share``, default ``MAX_SHARE``; a type
    without a share there, such as SynthSpoof's attack surfaces, has no size limit),
    ``mask_size``, ``unreadable_mask``, ``unreadable_image``, ``mask_without_image``,
    ``listed_without_mask`` (the manifest lists a type that has no mask file),
    ``mask_not_listed`` (a mask with evidence that the manifest entry does not list),
    ``not_in_manifest`` and ``missing_image`` (a manifest entry without an image).
    """
    layout = BenchmarkLayout(data)
    if not layout.is_layout():
        raise XfasError(f"{data}: not in the benchmark layout (no images/ folder)")
    shares = {**MAX_SHARE, **(max_share or {})}
    images = layout.image_files()
    manifest = layout.read_manifest()
    findings: list[Finding] = []
    sizes: dict[str, tuple[int, int] | None] = {}
    folders = sorted(p for p in layout.masks_dir.iterdir() if p.is_dir()) \
        if layout.masks_dir.is_dir() else []
    for folder in folders:
        evidence = folder.name
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix.lower() != ".png":
                continue
            name = path.stem
            if name not in images:
                findings.append(Finding("mask_without_image", path,
                                        f"no image named {name!r} in {layout.images_dir}"))
                continue
            if name not in sizes:
                sizes[name] = _size(images[name], findings)
            findings += _check_mask(path, sizes[name],
                                    max_share=shares.get(evidence),
                                    listed=evidence in manifest[name].evidence
                                    if name in manifest else None)
    for name, entry in manifest.items():
        if name not in images:
            findings.append(Finding("missing_image", layout.manifest_path,
                                    f"entry {name!r} names no image file in "
                                    f"{layout.images_dir}"))
            continue
        for evidence in entry.evidence:
            if not layout.mask_path(evidence, name).is_file():
                findings.append(Finding("listed_without_mask", layout.mask_path(evidence, name),
                                        f"the manifest lists {evidence} for {name!r} but the "
                                        "mask file is missing"))
    if manifest:
        findings += [Finding("not_in_manifest", path, f"no entry in {layout.manifest_path}")
                     for name, path in images.items() if name not in manifest]
    return sorted(findings, key=lambda f: (str(f.file), f.kind))


def _size(path: Path, findings: list[Finding]) -> tuple[int, int] | None:
    try:
        return image_size(path)
    except XfasError as error:
        findings.append(Finding("unreadable_image", path,
                                str(error).removeprefix(f"{path}: ")))
        return None


def _check_mask(path: Path, size: tuple[int, int] | None, *, max_share: float | None,
                listed: bool | None) -> list[Finding]:
    """The problems of one mask file (``listed``: whether the manifest lists its type for
    the image; None without a manifest entry)."""
    try:
        mask = read_mask(path)
    except ItemError as error:
        return [Finding("unreadable_mask", path, error.detail)]
    found = []
    if size is not None and mask.shape != size:
        found.append(Finding("mask_size", path, f"the mask is {mask.shape[1]}x{mask.shape[0]} "
                                                f"but the image is {size[1]}x{size[0]}"))
    share = float(np.count_nonzero(mask)) / mask.size
    if share == 0:
        found.append(Finding("empty_mask", path, "no evidence pixel (all zero)"))
    elif max_share is not None and share > max_share:
        found.append(Finding("large_mask", path, f"covers {share:.0%} of the image; more than "
                                                 f"{max_share:.0%} is implausible for this "
                                                 "evidence type"))
    if listed is False and share > 0:
        found.append(Finding("mask_not_listed", path, "the manifest entry does not list this "
                                                      "evidence type"))
    return found
