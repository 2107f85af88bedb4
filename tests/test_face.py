"""Face detection: the RetinaFace recipe reproduces Silent-Face's boxes, the Haar fallback finds
faces, boxes stay inside the image, and missing or bad detector files are named."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from xfas.assets import DETECTOR_MODEL, DETECTOR_PROTOTXT
from xfas.data.face import FaceDetector, best_detection
from xfas.data.image_io import load_image
from xfas.errors import AssetMissingError, XfasError

from helpers.assets import ASSETS, asset

# Boxes (x, y, w, h) seen when the original Silent-Face pipeline ran (assets README table).
TABLE = {"image_F1.jpg": (178, 136, 223, 225), "image_F2.jpg": (120, 252, 252, 256),
         "image_T1.jpg": (106, 147, 207, 213)}


@pytest.fixture(scope="module")
def retina() -> FaceDetector:
    asset(DETECTOR_MODEL), asset(DETECTOR_PROTOTXT)
    detector = FaceDetector.from_assets(ASSETS)
    assert detector.backend == "retinaface"
    return detector


def iou(a: tuple, b: tuple) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    inter = max(0, min(ax1, bx1) - max(a[0], b[0])) * max(0, min(ay1, by1) - max(a[1], b[1]))
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_retinaface_reproduces_silent_face_boxes(retina: FaceDetector, name: str) -> None:
    box = retina.detect(load_image(asset(f"images/{name}")))
    assert box is not None
    assert np.all(np.abs(np.subtract(box, TABLE[name])) <= 3), (box, TABLE[name])


def test_retinaface_on_a_small_image(retina: FaceDetector) -> None:
    # Under 192x192 pixels of area the image is used as is: the box scales with the image.
    image = load_image(asset("images/image_T1.jpg"))
    small = cv2.resize(image, (120, 160), interpolation=cv2.INTER_AREA)  # 1/4 per side
    box = retina.detect(small)
    assert box is not None
    assert iou(np.multiply(box, 4), TABLE["image_T1.jpg"]) > 0.7


def test_no_face_gives_none(retina: FaceDetector) -> None:
    blank = np.full((240, 320, 3), 128, np.uint8)
    assert retina.detect(blank) is None
    assert FaceDetector().detect(blank) is None


@pytest.mark.parametrize("shape", [(2, 107), (4, 198), (2, 300)])
def test_sliver_images_give_no_face_or_a_box_inside_them(
        retina: FaceDetector, shape: tuple[int, int]) -> None:
    """On slivers the net can answer confidence 1 with boxes of +-inf or with finite ones,
    depending on the CPU's arithmetic: either way ``detect`` returns None or a box inside the
    image, never an error (test_best_detection_skips_non_finite_rows pins the rows of inf)."""
    height, width = shape
    for image in (np.full((*shape, 3), 128, np.uint8),
                  np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)):
        box = retina.detect(image)
        if box is not None:
            x, y, w, h = box
            assert 0 <= x and 0 <= y and w >= 1 and h >= 1, box
            assert x + w <= width and y + h <= height, box


def test_best_detection_skips_non_finite_rows() -> None:
    rows = np.array([[0, 1, 1.0, -np.inf, 0.1, np.inf, 0.9],
                     [0, 1, 0.99, 0.2, np.nan, 0.6, 0.8],
                     [0, 1, 0.7, 0.1, 0.2, 0.5, 0.6],
                     [0, 1, 0.9, 0.3, 0.3, 0.7, 0.7]], np.float32)
    np.testing.assert_array_equal(best_detection(rows, 0.6), rows[3])  # a row, not a result
    assert best_detection(rows, 0.95) is None
    assert best_detection(rows[:2], 0.0) is None


def test_min_confidence_above_one_finds_nothing() -> None:
    strict = FaceDetector(asset(DETECTOR_MODEL), asset(DETECTOR_PROTOTXT), min_confidence=1.01)
    assert strict.detect(load_image(asset("images/image_T1.jpg"))) is None


def test_box_is_clipped_to_the_image(retina: FaceDetector) -> None:
    image = load_image(asset("images/image_T1.jpg"))
    cut = np.ascontiguousarray(image[:300, 180:])  # the face runs over the left and bottom
    box = retina.detect(cut)
    assert box is not None
    x, y, w, h = box
    assert x >= 0 and y >= 0 and w > 0 and h > 0
    # RetinaFace's own box for this cut reaches about 325 pixels down: cut at the edge
    assert x + w <= cut.shape[1] and y + h == cut.shape[0]


def test_haar_fallback_finds_the_live_face(tmp_path: Path) -> None:
    detector = FaceDetector.from_assets(tmp_path)  # an empty assets folder: no RetinaFace
    assert detector.backend == "haar"
    box = detector.detect(load_image(asset("images/image_T1.jpg")))
    assert box is not None
    assert iou(box, TABLE["image_T1.jpg"]) > 0.5, box


def test_explicit_detector_path(tmp_path: Path) -> None:
    model = asset(DETECTOR_MODEL)
    assert FaceDetector.from_assets(caffemodel=model).backend == "retinaface"
    with pytest.raises(AssetMissingError, match="nothing.caffemodel"):
        FaceDetector.from_assets(caffemodel=tmp_path / "nothing.caffemodel")
    lonely = tmp_path / "lonely.caffemodel"  # no deploy.prototxt beside it
    lonely.write_bytes(model.read_bytes())
    with pytest.raises(AssetMissingError, match="deploy.prototxt"):
        FaceDetector.from_assets(caffemodel=lonely)


def test_corrupt_caffemodel_is_named(tmp_path: Path) -> None:
    prototxt = asset(DETECTOR_PROTOTXT)
    bad = tmp_path / "bad.caffemodel"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(XfasError, match="bad.caffemodel"):
        FaceDetector(bad, prototxt)
    with pytest.raises(XfasError, match="both"):
        FaceDetector(bad, None)
