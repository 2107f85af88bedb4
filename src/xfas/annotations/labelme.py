"""LabelMe JSON files (github.com/wkentaro/labelme), one per image: ``imagePath``,
``imageHeight``, ``imageWidth`` and ``shapes``, each with a ``label``, ``points`` and a
``shape_type``. xfas reads polygons, rectangles (two opposite corners) and masks (a base64
PNG over the inclusive pixel box given by two corner points).

Export writes one JSON file per image: polygons when they give the mask
back exactly, else one mask shape; ``imagePath`` points at the data set's image, relative to
the JSON file, and ``imageData`` is left out (null), as LabelMe does when saving without it."""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from xfas.annotations.records import AnnotatedImage, ExportImage
from xfas.annotations.shapes import Region, Size, box_polygon, check_polygon, mask_to_polygons, \
    rasterize
from xfas.data.benchmark_layout import read_json, write_text
from xfas.data.image_io import encode_png
from xfas.errors import XfasError

LABELME_VERSION = "5.5.0"  # the file format version the export writes
REGION_TYPES = ("polygon", "rectangle", "mask")


def read_labelme(path: Path) -> list[AnnotatedImage]:
    """The images of one LabelMe JSON file, or of every ``*.json`` file in a folder."""
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise XfasError(f"{path}: no LabelMe .json files in this folder")
    else:
        files = [path]
    return [_read_file(file) for file in files]


def _read_file(path: Path) -> AnnotatedImage:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list) \
            or not isinstance(data.get("imagePath"), str):
        raise XfasError(f"{path}: not a LabelMe file (expected an object with \"imagePath\" "
                        "and a \"shapes\" list)")
    height, width = data.get("imageHeight"), data.get("imageWidth")
    size = None
    if height is not None or width is not None:
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                   for v in (height, width)):
            raise XfasError(f"{path}: imageHeight and imageWidth must be positive integers "
                            f"(got {height!r}, {width!r})")
        size = (height, width)
    image = AnnotatedImage(data["imagePath"].replace("\\", "/"), size, f"{path}")
    for index, shape in enumerate(data["shapes"]):
        image.regions.append(_region(shape, f"{path}: shapes[{index}]"))
    return image


def _region(shape: Any, where: str) -> Region:
    if not isinstance(shape, dict) or not isinstance(shape.get("label"), str):
        raise XfasError(f"{where}: a shape needs a \"label\" and \"points\"")
    label = shape["label"]
    where = f"{where} ({label!r})"
    kind = shape.get("shape_type") or "polygon"
    points = shape.get("points")
    if kind == "polygon":
        return Region(label, where, polygons=(points,))
    if kind == "rectangle":
        if not isinstance(points, list) or len(points) != 2:
            return Region(label, where, problem="a rectangle needs two corner points")
        return Region(label, where, decode=lambda size: _rectangle(points, size, where))
    if kind == "mask":
        return Region(label, where, decode=lambda size: _mask(shape, size, where))
    return Region(label, where, problem=f"a {kind!r} shape is not a region; xfas reads "
                                        f"{', '.join(REGION_TYPES)} shapes")


def _rectangle(points: list, size: Size, where: str) -> np.ndarray:
    """The pixels of a rectangle given by two opposite corners."""
    try:
        (x0, y0), (x1, y1) = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise XfasError(f"{where}: a rectangle needs two (x, y) corner points") from None
    return rasterize([check_polygon(box_polygon((x0, y0, x1, y1)), size, where)], size)


def _mask(shape: dict, size: Size, where: str) -> np.ndarray:
    points, data = shape.get("points"), shape.get("mask")
    try:
        (x0, y0), (x1, y1) = np.rint(np.asarray(points, dtype=np.float64)).astype(int)
        crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(data, validate=True))))
    except (TypeError, ValueError, binascii.Error, OSError) as error:
        raise XfasError(f"{where}: a mask shape needs two corner points and a base64 PNG "
                        f"({error})") from None
    crop = (crop[..., 0] if crop.ndim == 3 else crop) != 0
    height, width = size
    box = (y1 - y0 + 1, x1 - x0 + 1)
    if crop.shape != box or x0 < 0 or y0 < 0 or x1 >= width or y1 >= height:
        raise XfasError(f"{where}: the mask ({crop.shape[1]}x{crop.shape[0]}) does not fill "
                        f"the box ({x0}, {y0})-({x1}, {y1}) inside the {width}x{height} image")
    pixels = np.zeros(size, dtype=bool)
    pixels[y0:y1 + 1, x0:x1 + 1] = crop
    return pixels


def write_labelme(folder: Path, images: list[ExportImage]) -> Path:
    """Write one LabelMe JSON file per image into ``folder``."""
    for image in images:
        path = folder / f"{image.name}.json"
        shapes = []
        for evidence, mask in image.masks().items():
            polygons = mask_to_polygons(mask)
            if polygons is not None:
                shapes += [_shape(evidence, "polygon", p.tolist()) for p in polygons]
                continue
            rows, cols = np.nonzero(mask)
            x0, y0, x1, y1 = int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())
            crop = mask[y0:y1 + 1, x0:x1 + 1].astype(np.uint8) * 255
            shape = _shape(evidence, "mask", [[x0, y0], [x1, y1]])
            shape["mask"] = base64.b64encode(encode_png(crop)).decode("ascii")
            shapes.append(shape)
        height, width = image.size
        data = {"version": LABELME_VERSION, "flags": {}, "shapes": shapes,
                "imagePath": Path(os.path.relpath(image.file, folder)).as_posix(),
                "imageData": None, "imageHeight": height, "imageWidth": width}
        write_text(path, json.dumps(data, indent=2) + "\n")
    return folder


def _shape(label: str, kind: str, points: list) -> dict:
    return {"label": label, "points": points, "group_id": None, "description": "",
            "shape_type": kind, "flags": {}, "mask": None}
