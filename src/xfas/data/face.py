"""Face detection: the Silent-Face RetinaFace detector (Caffe, run by ``cv2.dnn``), or OpenCV's
Haar cascade when the RetinaFace files are not available.

Boxes are (x, y, w, h) in pixels of the RGB image given, clipped to it.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from xfas.assets import DETECTOR_MODEL, DETECTOR_PROTOTXT, find_asset
from xfas.data.geometry import check_rgb_image
from xfas.errors import AssetMissingError, XfasError

FaceBox = tuple[int, int, int, int]  # (x, y, w, h)

_RETINA_AREA_SIDE = 192           # images with area >= 192x192 are resized to about that area
_RETINA_MEAN = (104.0, 117.0, 123.0)  # BGR means subtracted by the blob, scale 1
_RETINA_OUTPUT = "detection_out"  # rows [id, label, confidence, x1, y1, x2, y2], in 0..1
_HAAR_FILE = "haarcascade_frontalface_default.xml"


class FaceDetector:
    """Finds the single most confident face of an RGB image.

    With ``caffemodel`` and ``prototxt`` the RetinaFace detector is used (``backend`` =
    "retinaface"); with neither, OpenCV's frontal-face Haar cascade (``backend`` = "haar").
    ``min_confidence`` applies to RetinaFace's scores; the Haar cascade has no probability,
    so it keeps the detection with the highest cascade level weight.
    """

    def __init__(self, caffemodel: Path | None = None, prototxt: Path | None = None,
                 min_confidence: float = 0.6) -> None:
        self.min_confidence = min_confidence
        if (caffemodel is None) != (prototxt is None):
            raise XfasError("face detector: give both the caffemodel and its prototxt, or neither")
        if caffemodel is not None and prototxt is not None:
            self.backend = "retinaface"
            self._net = _read_caffe(Path(caffemodel), Path(prototxt))
        else:
            self.backend = "haar"
            cascade = Path(cv2.data.haarcascades) / _HAAR_FILE
            self._cascade = cv2.CascadeClassifier(str(cascade))
            if self._cascade.empty():
                raise XfasError(f"{cascade}: OpenCV's Haar cascade could not be read")

    @classmethod
    def from_assets(cls, assets: str | Path | None = None, caffemodel: str | Path | None = None,
                    prototxt: str | Path | None = None, *, min_confidence: float = 0.6
                    ) -> "FaceDetector":
        """RetinaFace when its two files are found (explicit paths, else ``assets`` or
        XFAS_ASSETS), else the Haar cascade. An explicit ``caffemodel`` that is missing is an
        error; its prototxt defaults to ``deploy.prototxt`` beside it."""
        if caffemodel is not None:
            model = find_asset(DETECTOR_MODEL, explicit=caffemodel)
            proto = find_asset(DETECTOR_PROTOTXT,
                               explicit=prototxt or model.with_name(Path(DETECTOR_PROTOTXT).name))
            return cls(model, proto, min_confidence)
        try:
            model = find_asset(DETECTOR_MODEL, root=assets)
            proto = find_asset(DETECTOR_PROTOTXT, explicit=prototxt, root=assets)
        except AssetMissingError:
            return cls(min_confidence=min_confidence)
        return cls(model, proto, min_confidence)

    def detect(self, image_rgb: np.ndarray) -> FaceBox | None:
        """(x, y, w, h) of the most confident face, clipped to the image, or None."""
        check_rgb_image(image_rgb)
        if self.backend == "retinaface":
            return self._detect_retinaface(image_rgb)
        return self._detect_haar(image_rgb)

    def _detect_retinaface(self, image_rgb: np.ndarray) -> FaceBox | None:
        height, width = image_rgb.shape[:2]
        bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
        if height * width >= _RETINA_AREA_SIDE ** 2:
            # about 192x192 pixels of area, aspect ratio kept
            root = math.sqrt(width / height)
            size = (int(_RETINA_AREA_SIDE * root), int(_RETINA_AREA_SIDE / root))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR)
        blob = cv2.dnn.blobFromImage(bgr, 1.0, mean=_RETINA_MEAN)
        self._net.setInput(blob, "data")
        best = best_detection(self._net.forward(_RETINA_OUTPUT).reshape(-1, 7),
                              self.min_confidence)
        if best is None:
            return None
        left, right = best[3] * width, best[5] * width
        top, bottom = best[4] * height, best[6] * height
        return _clip_box((int(left), int(top), int(right - left + 1), int(bottom - top + 1)),
                         width=width, height=height)

    def _detect_haar(self, image_rgb: np.ndarray) -> FaceBox | None:
        height, width = image_rgb.shape[:2]
        gray = cv2.equalizeHist(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY))
        min_side = max(24, min(height, width) // 10)
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side),
            outputRejectLevels=True)
        if len(boxes) == 0:
            return None
        x, y, w, h = (int(v) for v in boxes[int(np.argmax(np.ravel(weights)))])
        return _clip_box((x, y, w, h), width=width, height=height)


def best_detection(rows: np.ndarray, min_confidence: float) -> np.ndarray | None:
    """The most confident of RetinaFace's output rows (image id, label, confidence, then the box
    x0, y0, x1, y1 as fractions of the image) if it reaches ``min_confidence``, else None. Rows
    with a non-finite number are dropped: on some degenerate images the net's box decoding
    overflows to infinity, which no pixel box can hold."""
    rows = rows[np.isfinite(rows[:, 2:7]).all(axis=1)]
    if rows.shape[0] == 0:
        return None
    best = rows[int(np.argmax(rows[:, 2]))]
    return best if best[2] >= min_confidence else None


def _read_caffe(caffemodel: Path, prototxt: Path) -> cv2.dnn.Net:
    """Read the Caffe net and check that every layer got its weights, turning OpenCV's errors
    into one naming the files. OpenCV builds layers lazily, so a caffemodel that does not fit
    the prototxt only fails when the layers are instantiated: do that here, not mid-request."""
    what = f"{caffemodel} with {prototxt}: not a readable Caffe detector"
    try:
        net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel))
        layers = [net.getLayer(name) for name in net.getLayerNames()]
    except cv2.error as error:
        reason = str(error).strip().splitlines()[-1][:200]
        raise XfasError(f"{what} ({reason})") from error
    if net.empty() or any(layer.type == "Convolution" and not layer.blobs for layer in layers):
        raise XfasError(f"{what} (weights missing)")
    return net


def _clip_box(box: FaceBox, *, width: int, height: int) -> FaceBox | None:
    """The (x, y, w, h) box cut to a ``width`` x ``height`` image; None when nothing of it is
    inside."""
    x, y, w, h = box
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0
