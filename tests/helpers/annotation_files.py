"""Small annotation files in each tool's real format, written here (not by xfas), the masks
they stand for worked out by hand, and validators against each format's documented schema
(JSON Schemas for COCO and LabelMe, an XML Schema for CVAT for images 1.1, in
``helpers/schemas``)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import jsonschema
import numpy as np
import xmlschema
from PIL import Image
from pycocotools import mask as coco_mask

SCHEMAS = Path(__file__).resolve().parent / "schemas"
SIZE = (30, 40)  # (H, W) of the test images
EVIDENCE = ("clutching_hand", "cut_hole", "ipad_border", "photo_edge")


def check_coco(path: Path) -> dict:
    """The COCO file's data, after validating it against the COCO schema."""
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads((SCHEMAS / "coco_instances.schema.json").read_text()))
    return data


def check_labelme(path: Path) -> dict:
    """The LabelMe file's data, after validating it against the LabelMe schema."""
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads((SCHEMAS / "labelme.schema.json").read_text()))
    return data


def check_cvat(path: Path) -> None:
    """Validate a CVAT XML file against the CVAT for images 1.1 schema."""
    xmlschema.XMLSchema(SCHEMAS / "cvat_images_1.1.xsd").validate(str(path))


def block(rows: tuple[int, int], cols: tuple[int, int], size: tuple[int, int] = SIZE
          ) -> np.ndarray:
    """A bool mask with rows[0] <= r < rows[1] and cols[0] <= c < cols[1] set."""
    mask = np.zeros(size, dtype=bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


def write_images(folder: Path) -> dict[str, Path]:
    """Three photos: a.png and c.png (40 x 30), b.jpg (40 x 30, JPEG)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = {}
    for name in ("a.png", "b.jpg", "c.png"):
        pixels = rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
        files[name] = folder / name
    return files


def column_major_counts(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE counts, by hand: runs over the pixels in column-major order,
    starting with a run of zeros."""
    flat = mask.T.ravel()
    counts, value, run = [], False, 0
    for pixel in flat:
        if pixel == value:
            run += 1
        else:
            counts.append(run)
            value, run = pixel, 1
    counts.append(run)
    return counts


# --- COCO --------------------------------------------------------------------------------------

HAND_A = block((4, 12), (4, 14))            # polygon 4,4 14,4 14,12 4,12
EDGE_A = block((20, 25), (30, 36)) | block((2, 6), (30, 38))  # uncompressed RLE + a polygon
HOLE_B = block((10, 16), (8, 20)) & ~block((12, 14), (12, 16))  # compressed RLE with a hole


def write_coco(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """A COCO file over a.png, b.jpg, c.png with categories hand, paper_edge, face and
    cut_hole; returns the expected masks with hand -> clutching_hand, paper_edge ->
    photo_edge and face ignored."""
    compressed = coco_mask.encode(np.asfortranarray(HOLE_B.astype(np.uint8)))
    data = {
        "info": {"description": "test file", "version": "1.0", "year": 2024},
        "licenses": [{"id": 1, "name": "test", "url": ""}],
        "images": [{"id": 7, "file_name": "a.png", "width": 40, "height": 30, "license": 1},
                   {"id": 8, "file_name": "b.jpg", "width": 40, "height": 30, "license": 1},
                   {"id": 9, "file_name": "c.png", "width": 40, "height": 30, "license": 1}],
        "categories": [{"id": 1, "name": "hand", "supercategory": "evidence"},
                       {"id": 2, "name": "paper_edge", "supercategory": "evidence"},
                       {"id": 3, "name": "face", "supercategory": "person"},
                       {"id": 4, "name": "cut_hole", "supercategory": "evidence"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0, "area": 80.0,
             "bbox": [4, 4, 10, 8], "segmentation": [[4, 4, 14, 4, 14, 12, 4, 12]]},
            {"id": 2, "image_id": 7, "category_id": 2, "iscrowd": 1, "area": 30.0,
             "bbox": [30, 20, 6, 5],
             "segmentation": {"size": [30, 40],
                              "counts": column_major_counts(block((20, 25), (30, 36)))}},
            {"id": 3, "image_id": 7, "category_id": 2, "iscrowd": 0, "area": 32.0,
             "bbox": [30, 2, 8, 4], "segmentation": [[30, 2, 38, 2, 38, 6, 30, 6]]},
            {"id": 4, "image_id": 8, "category_id": 4, "iscrowd": 1, "area": 68.0,
             "bbox": [8, 10, 12, 6],
             "segmentation": {"size": [30, 40], "counts": compressed["counts"].decode()}},
            {"id": 5, "image_id": 8, "category_id": 3, "iscrowd": 0, "area": 100.0,
             "bbox": [10, 10, 10, 10], "segmentation": [[10, 10, 20, 10, 20, 20, 10, 20]]}],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return {"a": {"clutching_hand": HAND_A, "photo_edge": EDGE_A}, "b": {"cut_hole": HOLE_B},
            "c": {}}


# --- LabelMe -----------------------------------------------------------------------------------

L_SHAPE = block((2, 6), (2, 12)) | block((6, 10), (2, 6))   # polygon with six corners
RECTANGLE = block((5, 15), (20, 30))                          # corners (30, 15) and (20, 5)
BLOB = np.array([[0, 1, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0]], dtype=bool)


def labelme_shape(label: str, kind: str, points: list, mask: str | None = None) -> dict:
    return {"label": label, "points": points, "group_id": None, "description": "",
            "shape_type": kind, "flags": {}, "mask": mask}


def png_base64(mask: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def write_labelme(folder: Path) -> dict[str, dict[str, np.ndarray]]:
    """LabelMe files a.json (polygon, rectangle, mask) and b.json (no shapes) as LabelMe 5
    saves them (imagePath relative to the file, imageData null)."""
    folder.mkdir(parents=True, exist_ok=True)
    a = {"version": "5.4.1", "flags": {}, "imagePath": "../photos/a.png", "imageData": None,
         "imageHeight": 30, "imageWidth": 40, "shapes": [
             labelme_shape("hand", "polygon", [[2, 2], [12, 2], [12, 6], [6, 6], [6, 10],
                                               [2, 10]]),
             labelme_shape("photo_edge", "rectangle", [[30, 15], [20, 5]]),
             labelme_shape("cut_hole", "mask", [[5, 20], [8, 22]], png_base64(BLOB))]}
    b = {"version": "5.4.1", "flags": {}, "imagePath": "../photos/b.jpg", "imageData": None,
         "imageHeight": 30, "imageWidth": 40, "shapes": []}
    for name, data in (("a", a), ("b", b)):
        (folder / f"{name}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    hole = np.zeros(SIZE, dtype=bool)
    hole[20:23, 5:9] = BLOB
    return {"a": {"clutching_hand": L_SHAPE, "photo_edge": RECTANGLE, "cut_hole": hole},
            "b": {}}


# --- CVAT --------------------------------------------------------------------------------------

CVAT_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>4</id>
      <name>evidence</name>
      <size>2</size>
      <mode>annotation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <flipped>False</flipped>
      <created>2024-01-01 10:00:00.000000+00:00</created>
      <updated>2024-01-01 10:10:00.000000+00:00</updated>
      <labels>
        <label><name>hand</name><type>polygon</type><attributes></attributes></label>
        <label><name>bezel</name><type>any</type><attributes></attributes></label>
        <label><name>hole</name><type>mask</type><attributes></attributes></label>
        <label><name>good_frame</name><type>tag</type><attributes></attributes></label>
      </labels>
      <owner><username>admin</username><email></email></owner>
    </task>
    <dumped>2024-01-01 10:11:00.000000+00:00</dumped>
  </meta>
  <image id="0" name="a.png" width="40" height="30">
    <polygon label="hand" source="manual" occluded="0" points="2.00,2.00;12.00,2.00;12.00,6.00;6.00,6.00;6.00,10.00;2.00,10.00" z_order="0">
    </polygon>
    <box label="bezel" source="manual" occluded="0" xtl="20.00" ytl="5.00" xbr="30.00" ybr="15.00" z_order="1">
    </box>
    <tag label="good_frame" source="manual">
    </tag>
  </image>
  <image id="1" name="b.jpg" width="40" height="30">
    <mask label="hole" source="manual" occluded="0" rle="1, 2, 1, 4, 1, 2, 1" left="5" top="6" width="4" height="3" z_order="0">
    </mask>
  </image>
</annotations>
"""


def write_cvat(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """A CVAT for images 1.1 file (polygon, box, tag, mask); returns the expected masks
    with hand -> clutching_hand, bezel -> ipad_border, hole -> cut_hole."""
    path.write_text(CVAT_XML, encoding="utf-8")
    hole = np.zeros(SIZE, dtype=bool)
    hole[6:9, 5:9] = BLOB   # runs 1, 2, 1, 4, 1, 2, 1 row by row in the 4 x 3 box
    return {"a": {"clutching_hand": L_SHAPE, "ipad_border": RECTANGLE}, "b": {"cut_hole": hole}}
