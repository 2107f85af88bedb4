"""Regions on an image and the pixels they cover, with one rule for every format.

Coordinates are continuous image coordinates: pixel (row r, column c) covers [c, c + 1) x
[r, r + 1), so an image of W x H pixels spans [0, W] x [0, H]. A polygon covers the pixels
whose centre lies inside it, as pycocotools (the COCO reference implementation) draws it;
COCO, LabelMe, CVAT and the annotation page all use this one rasteriser. The way back,
``mask_to_polygons``, traces the outline of every 4-connected part along pixel edges, so
that drawing the traced polygons gives the mask back pixel for pixel.

Run-length encodings: COCO's (column-major, through pycocotools) and CVAT's (row-major
runs inside the mask's bounding box, starting with a run of background).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from pycocotools import mask as coco_mask
from shapely import Polygon as ShapelyPolygon
from shapely import is_valid_reason

from xfas.errors import XfasError

Size = tuple[int, int]  # (height, width)
OUTSIDE_TOLERANCE = 1.0  # pixels a vertex may lie beyond the image's edge (clicks at the border)


@dataclass(frozen=True)
class Region:
    """One shape of an annotation file: its label, where it is (file and entry, for error
    messages), and either polygons (as the file gives their points) or a decoder that turns
    the file's mask data into pixels for the image's size. ``problem`` says why a shape is
    not a region xfas reads (a line, a point); it is an error only for a label that is used."""

    label: str
    where: str
    polygons: tuple[object, ...] = ()
    decode: Callable[[Size], np.ndarray] | None = None
    problem: str | None = None

    def pixels(self, size: Size) -> np.ndarray:
        """The region as a bool mask of ``size``; XfasError naming the entry when a polygon
        is not drawable or the mask data is malformed."""
        if self.problem is not None:
            raise XfasError(f"{self.where}: {self.problem}")
        if self.decode is not None:
            return self.decode(size)
        several = len(self.polygons) > 1
        checked = [check_polygon(points, size, f"{self.where}, polygon {i + 1}" if several
                                 else self.where)
                   for i, points in enumerate(self.polygons)]
        return rasterize(checked, size)


def check_polygon(points: object, size: Size, where: str) -> np.ndarray:
    """``points`` as a float (N, 2) array of x, y, or an XfasError naming ``where`` when it
    is not a polygon xfas can draw: fewer than three points, not numbers, no area, a vertex
    outside the image, or edges that cross or touch."""
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise XfasError(f"{where}: the polygon's points are not numbers") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise XfasError(f"{where}: expected a list of (x, y) points, got shape {array.shape}")
    if len(array) > 1 and np.array_equal(array[0], array[-1]):
        array = array[:-1]  # a closing point repeating the first
    if not np.isfinite(array).all():
        raise XfasError(f"{where}: the polygon has a coordinate that is not a finite number")
    if len(np.unique(array, axis=0)) < 3:
        raise XfasError(f"{where}: empty polygon ({len(array)} distinct points; a polygon "
                        "needs at least three)")
    height, width = size
    low, high = -OUTSIDE_TOLERANCE, np.array([width, height]) + OUTSIDE_TOLERANCE
    outside = np.nonzero(((array < low) | (array > high)).any(axis=1))[0]
    if len(outside):
        x, y = array[outside[0]]
        raise XfasError(f"{where}: polygon point ({x:g}, {y:g}) lies outside the {width}x"
                        f"{height} image")
    if np.linalg.matrix_rank(array - array.mean(axis=0)) < 2:
        raise XfasError(f"{where}: empty polygon (its points lie on one line, no area)")
    reason = is_valid_reason(ShapelyPolygon(array))
    if reason != "Valid Geometry":
        kind, _, place = reason.partition("[")
        at = place.rstrip("]").split()
        where_text = f" at ({float(at[0]):g}, {float(at[1]):g})" if len(at) == 2 else ""
        raise XfasError(f"{where}: self-intersecting polygon ({kind.lower()}{where_text}); "
                        "its edges must not cross or touch")
    return array


def box_polygon(corners: tuple[float, float, float, float]) -> np.ndarray:
    """The rectangle with opposite corners (x0, y0) and (x1, y1), given as (x0, y0, x1, y1),
    as a polygon."""
    x0, y0, x1, y1 = corners
    left, right, top, bottom = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float64)


def rasterize(polygons: tuple[np.ndarray, ...] | list[np.ndarray], size: Size) -> np.ndarray:
    """The union of ``polygons`` as a bool mask of ``size`` (pycocotools' rasteriser)."""
    height, width = size
    if not polygons:
        return np.zeros(size, dtype=bool)
    flat = [np.asarray(p, dtype=np.float64).ravel().tolist() for p in polygons]
    return _decode(coco_mask.merge(coco_mask.frPyObjects(flat, height, width))).astype(bool)


def _decode(rle: dict) -> np.ndarray:
    """pycocotools' decode, without the DeprecationWarning its compiled part raises under
    NumPy 2 (it passes ``copy=False`` to ``__array__``; the result is unaffected)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=".*__array__ implementation doesn't accept a copy")
        return coco_mask.decode(rle)


# --- masks back to polygons ------------------------------------------------------------------

# Directions along pixel edges (dx, dy), y down; the region lies to the right of each edge.
_RIGHT_TURN = {(1, 0): (0, 1), (0, 1): (-1, 0), (-1, 0): (0, -1), (0, -1): (1, 0)}


def mask_to_polygons(mask: np.ndarray) -> list[np.ndarray] | None:
    """Polygons (integer vertices on pixel corners) whose ``rasterize`` is exactly ``mask``,
    one per 4-connected part, or None when polygons cannot say it: a part with a hole, or an
    outline that touches itself. An empty mask gives []."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    loops = _outline_loops(mask)
    polygons = []
    for loop in loops:
        if _signed_area(loop) <= 0 or len({tuple(p) for p in loop}) != len(loop):
            return None  # a hole, or a part whose outline passes a corner twice
        polygons.append(loop.astype(np.float64))
    if not np.array_equal(rasterize(polygons, mask.shape), mask):
        return None
    return polygons


def _outline_loops(mask: np.ndarray) -> list[np.ndarray]:
    """Closed loops of pixel edges between region and background, each turning right where
    two ways are open (so diagonal neighbours stay apart), with straight runs merged."""
    padded = np.pad(mask, 1)
    inside = padded[1:-1, 1:-1]
    rows, cols = np.nonzero(inside & ~padded[:-2, 1:-1])   # top edges, going right
    edges = [((c, r), (1, 0)) for r, c in zip(rows.tolist(), cols.tolist())]
    rows, cols = np.nonzero(inside & ~padded[1:-1, 2:])    # right edges, going down
    edges += [((c + 1, r), (0, 1)) for r, c in zip(rows.tolist(), cols.tolist())]
    rows, cols = np.nonzero(inside & ~padded[2:, 1:-1])    # bottom edges, going left
    edges += [((c + 1, r + 1), (-1, 0)) for r, c in zip(rows.tolist(), cols.tolist())]
    rows, cols = np.nonzero(inside & ~padded[1:-1, :-2])   # left edges, going up
    edges += [((c, r + 1), (0, -1)) for r, c in zip(rows.tolist(), cols.tolist())]
    leaving: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for start, direction in edges:
        leaving.setdefault(start, []).append(direction)
    loops = []
    for start, first in sorted(edges):
        if first not in leaving.get(start, ()):
            continue  # already walked
        walk: list[tuple[tuple[int, int], tuple[int, int]]] = []
        point, direction = start, first
        while True:
            leaving[point].remove(direction)
            walk.append((point, direction))
            point = (point[0] + direction[0], point[1] + direction[1])
            options = leaving.get(point, [])
            if not options:
                break  # every edge at the start is walked: the loop is closed
            turn = _RIGHT_TURN[direction]
            direction = turn if turn in options else direction if direction in options \
                else options[0]
        corners = [p for i, (p, d) in enumerate(walk) if d != walk[i - 1][1]]
        loops.append(np.array(corners, dtype=np.int64))
    return loops


def _signed_area(loop: np.ndarray) -> float:
    """Shoelace area; positive for the clockwise-on-screen outlines of regions."""
    x, y = loop[:, 0].astype(np.float64), loop[:, 1].astype(np.float64)
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


# --- run-length encodings --------------------------------------------------------------------

def encode_coco_rle(mask: np.ndarray) -> dict:
    """COCO's compressed RLE of a bool mask: {"size": [H, W], "counts": str}."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def decode_coco_rle(rle: object, size: Size, where: str) -> np.ndarray:
    """A COCO RLE (compressed string or uncompressed list of counts) as a bool mask; it must
    be of ``size``."""
    if not isinstance(rle, dict) or "counts" not in rle or "size" not in rle:
        raise XfasError(f"{where}: RLE segmentation must be an object with \"size\" and "
                        "\"counts\"")
    stated = rle["size"]
    if (not isinstance(stated, list) or len(stated) != 2
            or [int(v) if isinstance(v, (int, float)) else None for v in stated] != list(size)):
        raise XfasError(f"{where}: RLE size {stated!r} is not the image's [height, width] "
                        f"{list(size)}")
    counts = rle["counts"]
    try:
        if isinstance(counts, list):
            if not all(isinstance(c, int) and c >= 0 for c in counts) or sum(counts) != \
                    size[0] * size[1]:
                raise ValueError("the counts do not add up to height x width")
            compressed = coco_mask.frPyObjects({"size": list(size), "counts": counts}, *size)
        elif isinstance(counts, str):
            compressed = {"size": list(size), "counts": counts.encode("ascii")}
        else:
            raise ValueError("counts is neither a string nor a list of integers")
        pixels = _decode(compressed)
    except (ValueError, TypeError, UnicodeEncodeError) as error:
        raise XfasError(f"{where}: malformed RLE ({error})") from None
    if pixels.shape != size:
        raise XfasError(f"{where}: malformed RLE (decodes to {pixels.shape[1]}x{pixels.shape[0]})")
    return pixels.astype(bool)


def encode_cvat_rle(mask: np.ndarray) -> tuple[str, int, int, int, int]:
    """CVAT's mask RLE: (runs, left, top, width, height); the runs cover the bounding box of
    the mask row by row, alternating background and region, starting with background."""
    rows, cols = np.nonzero(mask)
    top, left = int(rows.min()), int(cols.min())
    height, width = int(rows.max()) - top + 1, int(cols.max()) - left + 1
    flat = mask[top:top + height, left:left + width].ravel().astype(np.int8)
    changes = np.nonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))[0]
    runs = np.diff(np.concatenate([[0], changes]))
    return ", ".join(str(int(r)) for r in runs), left, top, width, height


def decode_cvat_rle(text: str, box: tuple[int, int, int, int], size: Size, *, where: str
                    ) -> np.ndarray:
    """A CVAT mask (runs in the box ``(left, top, width, height)``) as a bool mask of
    ``size``."""
    left, top, width, height = box
    try:
        runs = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise XfasError(f"{where}: rle {text[:40]!r} is not comma-separated integers") from None
    if width < 1 or height < 1 or any(r < 0 for r in runs) or sum(runs) != width * height:
        raise XfasError(f"{where}: the rle runs add up to {sum(runs)} pixels, but the box is "
                        f"{width}x{height} = {width * height}")
    image_height, image_width = size
    if left < 0 or top < 0 or left + width > image_width or top + height > image_height:
        raise XfasError(f"{where}: the mask's box (left {left}, top {top}, {width}x{height}) "
                        f"lies outside the {image_width}x{image_height} image")
    values = np.repeat(np.arange(len(runs)) % 2 == 1, runs)
    pixels = np.zeros(size, dtype=bool)
    pixels[top:top + height, left:left + width] = values.reshape(height, width)
    return pixels
