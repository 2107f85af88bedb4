"""Real face photos for SynthSpoof (``--faces DIR``, by default ``$XFAS_FACES``): who is in each
photo and where the face is, so that live images frame real people and attacks print or show
them.

Each photo is read with PIL, turned upright by its EXIF orientation, converted to RGB and
shrunk to at most ``MAX_SIDE`` px. The person is the file name up to its first underscore
(``001_03.jpg`` shows person 001; a name without one is its own person), so several photos of
one person stay in one split. The face is found with OpenCV's Haar cascade (always installed,
so the same photos give the same data set on every machine); the eyes and the mouth are placed
at fixed fractions of its box, which fits frontal portraits such as the London set's.

Each photo also has a matte (``FacePhoto.matte``, computed once on first use): the person cut
from a plain studio background by OpenCV's GrabCut, seeded from the face box (the inner face,
the neck and the chest are the person; the top and the sides above the shoulders are the
wall), so that the person can be set in front of another background.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
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
# The matte: GrabCut runs on the photo shrunk to this longest side (the wall is plain, so the
# outline needs no more), with this many iterations and OpenCV's random generator seeded.
MATTE_SIDE = 256
MATTE_ITERATIONS = 5
# Its edge, in photo pixels: pulled in by ``MATTE_ERODE`` so that no wall shows as a light rim,
# then feathered with a Gaussian of ``MATTE_FEATHER``.
MATTE_ERODE = 2
MATTE_FEATHER = 1.5


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

    @functools.cached_property
    def matte(self) -> np.ndarray:
        """The person's alpha (H, W) float32 in [0, 1] over the studio wall (``person_matte``);
        computed once per photo."""
        return person_matte(self.image, self.box)


def _seeds(shape: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    """GrabCut's starting labels on an image of ``shape`` whose face is ``box``: the head and
    the body below it probably the person, the inner face, neck, chest and the bottom rows'
    middle surely, the top rows and the sides above the shoulders surely the wall."""
    height, width = shape
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    labels = np.full(shape, cv2.GC_PR_BGD, np.uint8)
    cv2.ellipse(labels, (round(cx), round(cy - 0.1 * h)), (round(0.75 * w), round(0.85 * h)),
                0, 0, 360, cv2.GC_PR_FGD, -1)
    body = np.array([[cx - 0.35 * w, cy + 0.4 * h], [cx + 0.35 * w, cy + 0.4 * h],
                     [width, cy + 1.2 * h], [width, height], [0, height], [0, cy + 1.2 * h]])
    cv2.fillPoly(labels, [body.round().astype(np.int32)], cv2.GC_PR_FGD)
    cv2.ellipse(labels, (round(cx), round(cy)), (round(0.3 * w), round(0.38 * h)), 0, 0, 360,
                cv2.GC_FGD, -1)
    cv2.rectangle(labels, (round(cx - 0.18 * w), round(cy)), (round(cx + 0.18 * w), height - 1),
                  cv2.GC_FGD, -1)
    labels[height - max(2, round(0.03 * height)):, round(0.15 * width):round(0.85 * width)] = \
        cv2.GC_FGD
    band = max(2, round(0.04 * width))
    shoulders = round(cy + 0.7 * h)
    labels[:band] = cv2.GC_BGD
    labels[:shoulders, :band] = cv2.GC_BGD
    labels[:shoulders, width - band:] = cv2.GC_BGD
    return labels


def _solid(person: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """The connected part of the bool mask ``person`` that holds ``seed`` (x, y), with its
    holes (parts not connected to the image border) filled."""
    _, parts = cv2.connectedComponents(person.astype(np.uint8))
    x, y = seed
    kept = parts == parts[y, x]
    _, gaps = cv2.connectedComponents((~kept).astype(np.uint8))
    outside = np.unique(np.concatenate([gaps[0], gaps[-1], gaps[:, 0], gaps[:, -1]]))
    return ~np.isin(gaps, outside[outside > 0])


def person_matte(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The alpha (H, W) float32 in [0, 1] of the person in ``image`` (RGB uint8 on a plain
    studio wall) whose face is ``box`` (x, y, w, h): GrabCut on a shrunk copy seeded by
    ``_seeds``, the part holding the face with its holes filled, then an eroded and feathered
    edge at full size. Deterministic (OpenCV's generator is seeded)."""
    height, width = image.shape[:2]
    scale = min(1.0, MATTE_SIDE / max(height, width))
    small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    labels = _seeds(small.shape[:2], tuple(v * scale for v in box))
    cv2.setRNGSeed(0)
    cv2.grabCut(small, labels, None, np.zeros((1, 65)), np.zeros((1, 65)), MATTE_ITERATIONS,
                cv2.GC_INIT_WITH_MASK)
    person = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    person = cv2.morphologyEx(person, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    x, y, w, h = (v * scale for v in box)
    centre = (min(int(x + w / 2), small.shape[1] - 1), min(int(y + h / 2), small.shape[0] - 1))
    solid = _solid(person.astype(bool), centre).astype(np.float32)
    full = cv2.GaussianBlur(cv2.resize(solid, (width, height), interpolation=cv2.INTER_LINEAR),
                            (0, 0), 1.0) > 0.5
    size = 2 * MATTE_ERODE + 1
    full = cv2.erode(full.astype(np.uint8),
                     cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return np.clip(cv2.GaussianBlur(full.astype(np.float32), (0, 0), MATTE_FEATHER), 0, 1)


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


def photo_credit(faces: object) -> str:
    """The credit line that images made from the photos of ``faces`` carry. For a folder: the
    text of its ``CREDIT.txt`` when there is one, the London set's (``CREDIT``) for that set,
    else a line naming the folder; for photos already loaded, which name no folder, a generic
    line."""
    if isinstance(faces, (str, Path)):
        root = Path(faces)
        if (root / "CREDIT.txt").is_file():
            return (root / "CREDIT.txt").read_text(encoding="utf-8").strip()
        readme = root / "README.md"
        if readme.is_file() and "London Set" in readme.read_text(encoding="utf-8"):
            return CREDIT
        return f"Real faces: the photos of {root.name}, changed by xfas."
    return "Real faces, changed by xfas."


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


def _framing(photo: FacePhoto, size: tuple[int, int], *, centre: tuple[float, float],
             face_width: float
             ) -> tuple[Callable[[np.ndarray], np.ndarray], tuple[float, float, float, float]]:
    """How ``frame_photo`` moves ``photo`` into a window of ``size``: a function that frames
    any array of the photo's height and width, and the framed face box."""
    width, height = size
    scale = face_width / photo.width
    h0, w0 = photo.image.shape[:2]
    scaled = (max(1, round(w0 * scale)), max(1, round(h0 * scale)))
    sx, sy = scaled[0] / w0, scaled[1] / h0
    pad = max(width, height)
    cx, cy = photo.centre
    shift = (centre[0] - sx * cx - pad, centre[1] - sy * cy - pad)

    def frame(array: np.ndarray) -> np.ndarray:
        resized = cv2.resize(array, scaled,
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        # beyond the photo: the wall repeated at the top and sides, the body mirrored below (a
        # repeated bottom row would draw stripes)
        below = cv2.copyMakeBorder(resized, 0, min(pad, scaled[1] - 1), 0, 0,
                                   cv2.BORDER_REFLECT_101)
        padded = cv2.copyMakeBorder(below, pad, 0, pad, pad, cv2.BORDER_REPLICATE)
        return cv2.warpAffine(padded, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]),
                              (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    x, y, w, h = photo.box
    return frame, (sx * x + shift[0] + pad, sy * y + shift[1] + pad, sx * w, sy * h)


def frame_photo(photo: FacePhoto, size: tuple[int, int], *, centre: tuple[float, float],
                face_width: float) -> tuple[np.ndarray, FacePhoto]:
    """A picture of ``size`` (width, height) showing ``photo`` with its face centred at
    ``centre`` and ``face_width`` px wide (the photo's border pixels repeated where the window
    leaves the photo: the studio background), and the face geometry in its pixels."""
    frame, box = _framing(photo, size, centre=centre, face_width=face_width)
    image = frame(photo.image)
    return image, face_photo(image, photo.person, box)


def frame_matte(photo: FacePhoto, size: tuple[int, int], *, centre: tuple[float, float],
                face_width: float) -> np.ndarray:
    """The person's alpha (height, width) float32 in the picture ``frame_photo`` makes with
    the same arguments."""
    frame, _ = _framing(photo, size, centre=centre, face_width=face_width)
    return np.clip(frame(photo.matte), 0, 1)
