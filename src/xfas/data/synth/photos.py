"""Real face photos for SynthSpoof (``--faces DIR``, by default ``$XFAS_FACES``): who is in each
photo and where the face is, so that live images frame real people and attacks print or show
them.

Each photo is read with PIL, turned upright by its EXIF orientation, converted to RGB and
shrunk to at most ``MAX_SIDE`` px. The person is the file name up to its first underscore
(``001_03.jpg`` shows person 001; a name without one is its own person), so several photos of
one person stay in one split. The face is found with OpenCV's Haar cascade (always installed,
so the same photos give the same data set on every machine); the eyes and the mouth are placed
at fixed fractions of its box, which fits frontal portraits such as the London set's.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from xfas.data.face import FaceDetector
from xfas.errors import XfasError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
MAX_SIDE = 512
FACES_ENV = "XFAS_FACES"
FACES_SOURCE = ("the Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0, "
                "doi:10.6084/m9.figshare.5047666.v5), or any folder of frontal portraits")
CREDIT = ("Real faces: Face Research Lab London Set, DeBruine & Jones (2017), "
          "doi:10.6084/m9.figshare.5047666.v5, CC BY 4.0; cropped, resized and composited "
          "into new scenes by xfas.")
# The context crop (``context_crop_box`` scale) that models trained on SynthSpoof's real
# people see: the face and about half a face width around it, which is the whole frame of a
# SynthSpoof image and, on any real photo, the same framing once its face is found.
FACE_CROP = 2.0
# Where eyes and mouth sit in a Haar face box (fractions of its width and height).
EYES = ((0.3, 0.4), (0.7, 0.4))
MOUTH = (0.5, 0.82)


@dataclass(frozen=True)
class FacePhoto:
    """One portrait: its pixels, its person, the face box (x, y, w, h) and the eyes (2, 2) and
    mouth (2,) in photo pixels."""

    image: np.ndarray
    person: str
    box: tuple[float, float, float, float]
    eyes: np.ndarray
    mouth: np.ndarray

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2

    @property
    def width(self) -> float:
        return self.box[2]


def person_of(path: Path) -> str:
    """The person a photo file shows: its name up to the first underscore."""
    return path.stem.split("_", 1)[0]


def find_face_photos(explicit: str | Path | None = None) -> Path | None:
    """The folder of real face photos: ``explicit``, else ``$XFAS_FACES``, else None (drawn
    faces). A folder that is named but missing is an error naming it."""
    chosen = explicit if explicit is not None else os.environ.get(FACES_ENV) or None
    if chosen is None:
        return None
    folder = Path(chosen)
    if not folder.is_dir():
        where = "--faces" if explicit is not None else f"${FACES_ENV}"
        raise XfasError(f"{where} {folder}: not a folder; get {FACES_SOURCE}")
    return folder


def _image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())


def _read(path: Path, root: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise XfasError(f"--faces {root}: cannot read {path.name} as an image ({error})")
    scale = MAX_SIDE / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def face_photo(image: np.ndarray, person: str, box: tuple[float, float, float, float]
               ) -> FacePhoto:
    """A ``FacePhoto`` with eyes and mouth placed in ``box`` (x, y, w, h)."""
    x, y, w, h = (float(v) for v in box)
    eyes = np.array([[x + fx * w, y + fy * h] for fx, fy in EYES])
    mouth = np.array([x + MOUTH[0] * w, y + MOUTH[1] * h])
    return FacePhoto(image, person, (x, y, w, h), eyes, mouth)


def load_face_photos(folder: str | Path) -> tuple[FacePhoto, ...]:
    """Every readable portrait under ``folder`` (any depth, sorted by path) with its person
    and face. A photo in which no face is found is left out with a warning naming it. Loaded
    once per process while the files stay the same.

    Raises XfasError naming the folder when it is missing, holds no image files, a file with
    an image extension cannot be decoded, or no photo shows a face."""
    root = Path(folder)
    if not root.is_dir():
        raise XfasError(f"--faces {root}: not a folder")
    files = _image_files(root)
    if not files:
        raise XfasError(f"--faces {root}: no face photos ({', '.join(EXTENSIONS)}) in the folder")
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return _load(root, stamp)


@functools.lru_cache(maxsize=4)
def _load(root: Path, stamp: tuple[tuple[str, int, int], ...]) -> tuple[FacePhoto, ...]:
    """The photos of ``stamp``'s files (their paths, times and sizes key the cache)."""
    files = [Path(path) for path, _, _ in stamp]
    detector = FaceDetector()
    photos = []
    for path in files:
        rgb = _read(path, root)
        box = detector.detect(rgb)
        if box is None:
            warnings.warn(f"{path}: no face found; the photo is left out", stacklevel=2)
            continue
        photos.append(face_photo(rgb, person_of(path), box))
    if not photos:
        raise XfasError(f"--faces {root}: no face found in any of its {len(files)} photos")
    return tuple(photos)


def frame_photo(photo: FacePhoto, size: tuple[int, int], *, centre: tuple[float, float],
                face_width: float) -> tuple[np.ndarray, FacePhoto]:
    """A picture of ``size`` (width, height) showing ``photo`` with its face centred at
    ``centre`` and ``face_width`` px wide (the photo's border pixels repeated where the window
    leaves the photo: the studio background), and the face geometry in its pixels."""
    width, height = size
    scale = face_width / photo.width
    h0, w0 = photo.image.shape[:2]
    scaled = (max(1, round(w0 * scale)), max(1, round(h0 * scale)))
    resized = cv2.resize(photo.image, scaled,
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    sx, sy = scaled[0] / w0, scaled[1] / h0
    # beyond the photo: the wall repeated at the top and sides, the body mirrored below (a
    # repeated bottom row would draw stripes)
    pad = max(width, height)
    below = cv2.copyMakeBorder(resized, 0, min(pad, scaled[1] - 1), 0, 0, cv2.BORDER_REFLECT_101)
    resized = cv2.copyMakeBorder(below, pad, 0, pad, pad, cv2.BORDER_REPLICATE)
    cx, cy = photo.centre
    shift = (centre[0] - sx * cx - pad, centre[1] - sy * cy - pad)
    image = cv2.warpAffine(resized, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]),
                           (width, height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    x, y, w, h = photo.box
    moved = (sx * x + shift[0] + pad, sy * y + shift[1] + pad, sx * w, sy * h)
    return image, face_photo(image, photo.person, moved)
