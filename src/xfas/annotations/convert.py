"""Annotation files of COCO, LabelMe and CVAT -> the benchmark layout, and back.

An import writes into a folder beside ``--out`` and moves it into place only when every
image is done, so it either completes or leaves ``--out`` as it was. Every problem of the
input (unknown categories, missing images, polygons outside the image, self-intersecting or
empty polygons, malformed RLE) is an XfasError naming the file and the entry.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from xfas.annotations.coco import read_coco, write_coco
from xfas.annotations.cvat import read_cvat, write_cvat
from xfas.annotations.labelme import read_labelme, write_labelme
from xfas.annotations.records import AnnotatedImage, ExportImage, image_size, resolve_labels
from xfas.data.benchmark_layout import EVIDENCE_TYPES, BenchmarkLayout
from xfas.errors import XfasError

FORMATS = ("coco", "labelme", "cvat")
READERS: dict[str, Callable[[Path], list[AnnotatedImage]]] = {
    "coco": read_coco, "labelme": read_labelme, "cvat": read_cvat}
SHOWN = 5  # missing images named in one error


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote: the folder, the image count, the images with evidence, the
    masks per evidence type and the labels left out (``--map NAME=ignore``)."""

    out: Path
    images: int
    with_evidence: int
    masks: dict[str, int] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()


def import_annotations(source: str | Path, *, format: str, images: str | Path,  # noqa: A002
                       out: str | Path, mapping: Mapping[str, str] | None = None,
                       overwrite: bool = False) -> ImportSummary:
    """Read an annotation file and write its images and evidence masks in the benchmark
    layout.

    Args:
        source: a COCO JSON file, a LabelMe JSON file or a folder of them, a CVAT for
            images XML file.
        format: "coco", "labelme" or "cvat".
        images: the folder holding the annotated images (found by the path the file gives,
            or by its file name).
        out: the folder to write (new or empty; ``overwrite`` replaces its data set).
        mapping: {category: evidence type or "ignore"} for categories not named after an
            evidence type.

    The manifest marks an image "spoof" with its evidence types when it has a region of a
    used category, else "live". Image files are copied byte for byte.

    Example:
        >>> import_annotations("instances.json", format="coco", images="photos",
        ...                    out="bench", mapping={"hand": "clutching_hand"})
    """
    if format not in FORMATS:
        raise XfasError(f"--from {format!r}: expected {', '.join(FORMATS[:-1])} or "
                        f"{FORMATS[-1]}")
    source, images, out = Path(source), Path(images), Path(out)
    if not images.is_dir():
        raise XfasError(f"--images {images}: not a folder")
    _check_out(out, overwrite)
    if not source.exists():
        raise XfasError(f"{source}: file not found")
    annotated = READERS[format](source)
    if not annotated:
        raise XfasError(f"{source}: names no image")
    targets = resolve_labels((r.label for a in annotated for r in a.regions), mapping or {},
                             str(source))
    files = _locate(annotated, images, source)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = BenchmarkLayout(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".importing",
                                              dir=out.parent))
    try:
        manifest, counts = _write_images(annotated, files, targets=targets, layout=staged)
        staged.write_manifest({"images": manifest})
        BenchmarkLayout(out).replace_with(staged)
    except BaseException:
        shutil.rmtree(staged.root, ignore_errors=True)
        raise
    ignored = tuple(sorted(label for label, target in targets.items() if target is None))
    return ImportSummary(out, len(manifest),
                         sum(1 for e in manifest.values() if e["evidence"]), counts, ignored)


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise XfasError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise XfasError(f"--out {out}: folder exists and is not empty; pass --overwrite to "
                        "replace the data set in it")


def _locate(annotated: list[AnnotatedImage], images: Path, source: Path) -> list[Path]:
    """The image file of each annotated image; one error lists the missing ones, another
    two images of one name."""
    files, missing = [], []
    for item in annotated:
        relative = Path(item.file_name)
        found = next((c for c in (images / relative, images / relative.name) if c.is_file()),
                     None)
        if found is None:
            missing.append(item.file_name)
        files.append(found)
    if missing:
        shown = ", ".join(repr(name) for name in missing[:SHOWN])
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        raise XfasError(f"--images {images}: {len(missing)} image(s) that {source} annotates "
                        f"are missing: {shown}{more}")
    seen: dict[str, str] = {}
    for item, file in zip(annotated, files):
        if file.stem in seen:
            raise XfasError(f"{item.where}: image name {file.stem!r} is taken by "
                            f"{seen[file.stem]!r}; the benchmark layout names images by "
                            "file name without extension")
        seen[file.stem] = item.file_name
    return files


def _write_images(annotated: list[AnnotatedImage], files: list[Path], *,
                  targets: Mapping[str, str | None], layout: BenchmarkLayout
                  ) -> tuple[dict[str, dict], dict[str, int]]:
    """Copy each image and write its masks into ``layout``; the manifest entries and the
    mask count per evidence type."""
    manifest: dict[str, dict] = {}
    counts = {evidence: 0 for evidence in EVIDENCE_TYPES}
    for item, file in zip(annotated, files):
        size = _checked_size(item, file)
        masks: dict[str, np.ndarray] = {}
        for region in item.regions:
            evidence = targets[region.label]
            if evidence is None:
                continue
            pixels = region.pixels(size)
            masks[evidence] = masks[evidence] | pixels if evidence in masks else pixels
        layout.copy_image(file)
        evidence_list = [e for e in EVIDENCE_TYPES if e in masks and masks[e].any()]
        for evidence in evidence_list:
            layout.write_mask(evidence, file.stem, masks[evidence])
            counts[evidence] += 1
        label = "spoof" if evidence_list else "live"
        manifest[file.stem] = {"label": label, "attack": label, "evidence": evidence_list}
    return manifest, counts


def _checked_size(item: AnnotatedImage, file: Path) -> tuple[int, int]:
    """The image's (H, W) as xfas reads it; it must be the size the annotation states."""
    size = image_size(file)
    if item.size is not None and item.size != size:
        turned = " (the annotation may ignore the image's EXIF rotation)" \
            if item.size == size[::-1] else ""
        raise XfasError(f"{item.where}: the annotation says {item.size[1]}x{item.size[0]} "
                        f"pixels but {file} is {size[1]}x{size[0]}{turned}")
    return size


# --- export ----------------------------------------------------------------------------------

def export_annotations(data: str | Path, *, format: str, out: str | Path  # noqa: A002
                       ) -> Path:
    """Write the evidence masks of a data set in the benchmark layout as a COCO file, a
    folder of LabelMe files or a CVAT for images XML file; returns what was written.

    Masks are written as polygons where polygons give them back exactly, else as RLE (COCO,
    CVAT) or a mask shape (LabelMe), so an import of the result gives the same masks.
    """
    if format not in FORMATS:
        raise XfasError(f"--to {format!r}: expected {', '.join(FORMATS[:-1])} or {FORMATS[-1]}")
    layout = BenchmarkLayout(data)
    if not layout.is_layout():
        raise XfasError(f"{data}: not in the benchmark layout (no images/ folder)")
    evidence_types = layout.evidence_types()
    items = [_export_image(layout, name=name, file=file, evidence_types=evidence_types)
             for name, file in layout.image_files().items()]
    out = Path(out)
    if format == "coco":
        return write_coco(out, items, evidence_types)
    if format == "cvat":
        return write_cvat(out, items, evidence_types)
    if out.exists() and not out.is_dir():
        raise XfasError(f"--out {out}: LabelMe writes a folder of .json files; this is a file")
    return write_labelme(out, items)


def _export_image(layout: BenchmarkLayout, *, name: str, file: Path,
                  evidence_types: tuple[str, ...]) -> ExportImage:
    """The image with the mask files it has."""
    files = {e: layout.mask_path(e, name) for e in evidence_types}
    return ExportImage(name, file, image_size(file),
                       {e: path for e, path in files.items() if path.is_file()})
