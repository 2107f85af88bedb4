"""COCO instance segmentation files (cocodataset.org, "Data format"): ``images``,
``annotations`` with ``segmentation`` as polygons (flat x, y lists) or RLE (compressed string
or uncompressed counts), and ``categories``. RLE goes through pycocotools.

Export writes each evidence mask as polygons when polygons give it back exactly (one per
part, vertices on pixel corners), else as compressed RLE; ``iscrowd`` is 0 either way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from xfas.annotations.records import AnnotatedImage, ExportImage
from xfas.annotations.shapes import Region, decode_coco_rle, encode_coco_rle, \
    mask_to_polygons
from xfas.data.benchmark_layout import read_json, write_text
from xfas.errors import XfasError


def read_coco(path: Path) -> list[AnnotatedImage]:
    """The images of a COCO file with their regions (labels are category names)."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise XfasError(f"{path}: not a COCO file (expected an object with \"images\", "
                        "\"annotations\" and \"categories\")")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise XfasError(f"{path}: not a COCO file (no \"{key}\" list)")
    categories = {}
    for index, category in enumerate(data["categories"]):
        if not isinstance(category, dict) or not isinstance(category.get("name"), str) \
                or not _is_int(category.get("id")):
            raise XfasError(f"{path}: categories[{index}] needs an integer \"id\" and a "
                            "\"name\"")
        categories[category["id"]] = category["name"]
    images: dict[int, AnnotatedImage] = {}
    for index, record in enumerate(data["images"]):
        image = _image(record, f"{path}: images[{index}]")
        if record["id"] in images:
            raise XfasError(f"{path}: images[{index}]: image id {record['id']} appears twice")
        images[record["id"]] = image
    for index, record in enumerate(data["annotations"]):
        where = f"{path}: annotations[{index}]"
        if not isinstance(record, dict):
            raise XfasError(f"{where}: expected an object")
        where = f"{path}: annotation id {record.get('id', index)}"
        image = images.get(record.get("image_id"))
        if image is None:
            raise XfasError(f"{where}: image_id {record.get('image_id')!r} is not in \"images\"")
        label = categories.get(record.get("category_id"))
        if label is None:
            raise XfasError(f"{where}: category_id {record.get('category_id')!r} is not in "
                            "\"categories\"")
        where = f"{where} (image {image.file_name!r}, category {label!r})"
        image.regions.append(_region(record.get("segmentation"), label, where))
    return list(images.values())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _image(record: Any, where: str) -> AnnotatedImage:
    if not isinstance(record, dict) or not _is_int(record.get("id")) \
            or not isinstance(record.get("file_name"), str):
        raise XfasError(f"{where}: an image needs an integer \"id\" and a \"file_name\"")
    width, height = record.get("width"), record.get("height")
    if not (_is_int(width) and _is_int(height) and width > 0 and height > 0):
        raise XfasError(f"{where} ({record['file_name']!r}): \"width\" and \"height\" must be "
                        "positive integers")
    return AnnotatedImage(record["file_name"], (height, width),
                          f"{where} ({record['file_name']!r})")


def _region(segmentation: Any, label: str, where: str) -> Region:
    if isinstance(segmentation, dict):
        return Region(label, where, decode=lambda shape: decode_coco_rle(segmentation, shape,
                                                                         where))
    if not isinstance(segmentation, list) or not segmentation:
        return Region(label, where, problem="empty segmentation (xfas needs polygons or RLE; "
                                            "a box alone is not evidence)")
    polygons = []
    for part in segmentation:
        if not isinstance(part, list) or len(part) % 2:
            return Region(label, where, problem="a polygon must be a flat list of x, y "
                                                "numbers (an even count)")
        polygons.append(np.reshape(np.asarray(part, dtype=object), (-1, 2)).tolist())
    return Region(label, where, polygons=tuple(polygons))


def write_coco(path: Path, images: list[ExportImage], evidence_types: tuple[str, ...]) -> Path:
    """Write ``images`` as one COCO file; categories are ``evidence_types`` (ids from 1)."""
    category_id = {name: index + 1 for index, name in enumerate(evidence_types)}
    records, annotations = [], []
    for image_id, image in enumerate(images, start=1):
        height, width = image.size
        records.append({"id": image_id, "file_name": image.file.name, "width": width,
                        "height": height})
        for evidence, mask in image.masks().items():
            rows, cols = np.nonzero(mask)
            polygons = mask_to_polygons(mask)
            segmentation: Any = ([p.ravel().tolist() for p in polygons] if polygons is not None
                                 else encode_coco_rle(mask))
            x0, y0 = int(cols.min()), int(rows.min())
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id,
                "category_id": category_id[evidence], "segmentation": segmentation,
                "area": int(mask.sum()), "iscrowd": 0,
                "bbox": [x0, y0, int(cols.max()) + 1 - x0, int(rows.max()) + 1 - y0]})
    data = {"info": {"description": "X-FAS evidence masks exported by xfas"},
            "images": records, "annotations": annotations,
            "categories": [{"id": i, "name": name, "supercategory": "evidence"}
                           for name, i in category_id.items()]}
    return write_text(path, json.dumps(data, indent=1) + "\n")

