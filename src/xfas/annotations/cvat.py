"""CVAT for images 1.1 XML (CVAT's "XML annotation format", annotation mode): ``<image
name width height>`` elements holding ``<polygon points="x0,y0;x1,y1;...">``, ``<box xtl ytl
xbr ybr>`` and ``<mask rle left top width height>`` shapes, each with a ``label``. Other
shapes (polylines, points, skeletons, ellipses, cuboids) are not regions; tags are
image-level labels and are skipped. The file is parsed with defusedxml, so entity tricks in
an uploaded file cannot expand or fetch anything.

Export writes polygons when they give the mask back exactly, else one ``<mask>``."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, parse

from xfas.annotations.records import AnnotatedImage, ExportImage
from xfas.annotations.shapes import Region, Size, box_polygon, check_polygon, \
    decode_cvat_rle, encode_cvat_rle, mask_to_polygons, rasterize
from xfas.data.benchmark_layout import write_text
from xfas.errors import XfasError

VERSION = "1.1"
SKIPPED = {"tag"}  # image-level labels, not shapes


def read_cvat(path: Path) -> list[AnnotatedImage]:
    """The images of a CVAT for images XML file with their regions."""
    if not path.is_file():
        raise XfasError(f"{path}: file not found")
    try:
        root = parse(str(path)).getroot()
    except (ParseError, DefusedXmlException) as error:
        raise XfasError(f"{path}: not readable XML ({error})") from None
    if root.tag != "annotations":
        raise XfasError(f"{path}: not a CVAT file (the root element is <{root.tag}>, not "
                        "<annotations>)")
    if root.find("track") is not None:
        raise XfasError(f"{path}: a CVAT for video file (it has <track> elements); export "
                        "the task as \"CVAT for images 1.1\"")
    version = (root.findtext("version") or "").strip()
    if version and version.split(".")[0] != VERSION.split(".")[0]:
        raise XfasError(f"{path}: CVAT XML version {version}; xfas reads version {VERSION}")
    images = []
    for index, element in enumerate(root.iter("image")):
        name = element.get("name")
        where = f"{path}: image {name!r}" if name else f"{path}: <image> {index + 1}"
        if not name:
            raise XfasError(f"{where}: has no name")
        try:
            size = (int(element.get("height", "")), int(element.get("width", "")))
        except ValueError:
            raise XfasError(f"{where}: width and height must be integers") from None
        image = AnnotatedImage(name, size, where)
        counts: dict[str, int] = {}
        for shape in element:
            if shape.tag in SKIPPED:
                continue
            counts[shape.tag] = counts.get(shape.tag, 0) + 1
            label = shape.get("label")
            shape_where = f"{where}, <{shape.tag}> {counts[shape.tag]}"
            if label is None:
                raise XfasError(f"{shape_where}: has no label")
            image.regions.append(_region(shape, label, f"{shape_where} ({label!r})"))
        images.append(image)
    return images


def _region(shape: ElementTree.Element, label: str, where: str) -> Region:
    if shape.tag == "polygon":
        return Region(label, where, polygons=(_points(shape.get("points"), where),))
    if shape.tag == "box":
        return Region(label, where, decode=lambda size: _box(shape, size, where))
    if shape.tag == "mask":
        return Region(label, where, decode=lambda size: _mask(shape, size, where))
    return Region(label, where, problem=f"a <{shape.tag}> is not a region; xfas reads "
                                        "polygon, box and mask shapes")


def _points(text: str | None, where: str) -> list[list[float]]:
    try:
        return [[float(v) for v in pair.split(",")] for pair in (text or "").split(";")
                if pair.strip()]
    except ValueError:
        raise XfasError(f"{where}: points {str(text)[:40]!r} are not \"x,y;x,y;...\" "
                        "numbers") from None


def _number(shape: ElementTree.Element, key: str, where: str) -> float:
    try:
        return float(shape.get(key, ""))
    except ValueError:
        raise XfasError(f"{where}: attribute {key} {shape.get(key)!r} is not a number") from None


def _box(shape: ElementTree.Element, size: Size, where: str) -> np.ndarray:
    corners = box_polygon(tuple(_number(shape, key, where) for key in ("xtl", "ytl", "xbr", "ybr")))
    return rasterize([check_polygon(corners, size, where)], size)


def _mask(shape: ElementTree.Element, size: Size, where: str) -> np.ndarray:
    box = tuple(int(_number(shape, key, where)) for key in ("left", "top", "width", "height"))
    return decode_cvat_rle(shape.get("rle", ""), box, size, where=where)


def write_cvat(path: Path, images: list[ExportImage], evidence_types: tuple[str, ...]) -> Path:
    """Write ``images`` as one CVAT for images 1.1 XML file; the labels are
    ``evidence_types``."""
    root = ElementTree.Element("annotations")
    ElementTree.SubElement(root, "version").text = VERSION
    task = ElementTree.SubElement(ElementTree.SubElement(root, "meta"), "task")
    for key, value in (("name", "X-FAS evidence masks"), ("size", str(len(images))),
                       ("mode", "annotation"), ("overlap", "0"), ("flipped", "False")):
        ElementTree.SubElement(task, key).text = value
    labels = ElementTree.SubElement(task, "labels")
    for name in evidence_types:
        label = ElementTree.SubElement(labels, "label")
        ElementTree.SubElement(label, "name").text = name
        ElementTree.SubElement(label, "type").text = "any"
        ElementTree.SubElement(label, "attributes")
    for index, image in enumerate(images):
        height, width = image.size
        element = ElementTree.SubElement(root, "image", id=str(index), name=image.file.name,
                                         width=str(width), height=str(height))
        for evidence, mask in image.masks().items():
            _write_mask(element, evidence, mask)
    ElementTree.indent(root, space="  ")
    text = ElementTree.tostring(root, encoding="unicode", xml_declaration=False)
    return write_text(path, '<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n")


def _write_mask(element: ElementTree.Element, evidence: str, mask: np.ndarray) -> None:
    common = {"label": evidence, "source": "manual", "occluded": "0", "z_order": "0"}
    polygons = mask_to_polygons(mask)
    if polygons is not None:
        for polygon in polygons:
            points = ";".join(f"{x:g},{y:g}" for x, y in polygon)
            ElementTree.SubElement(element, "polygon", points=points, **common)
        return
    runs, left, top, width, height = encode_cvat_rle(mask)
    ElementTree.SubElement(element, "mask", rle=runs, left=str(left), top=str(top),
                           width=str(width), height=str(height), **common)
