"""The user's own face photos (``--faces DIR``), used as the printed or replayed content.

Each photo is read with PIL, turned upright by its EXIF orientation, converted to RGB and
shrunk to at most ``MAX_SIDE`` px. SynthSpoof assumes the face is roughly centred and about
half the photo's width (crop photos that way); that guess places cut holes and the face box.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from xfas.errors import XfasError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
MAX_SIDE = 512
FACE_FRACTION = 0.5            # assumed face width / photo width
FACE_CENTRE = (0.5, 0.45)      # assumed face centre as fractions of (width, height)


def load_face_photos(folder: str | Path) -> tuple[np.ndarray, ...]:
    """All readable photos in ``folder`` (sorted by name) as RGB uint8 arrays.

    Raises XfasError naming the folder when it is missing, holds no image files, or a file
    with an image extension cannot be decoded."""
    root = Path(folder)
    if not root.is_dir():
        raise XfasError(f"--faces {root}: not a folder")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise XfasError(f"--faces {root}: no face photos ({', '.join(EXTENSIONS)}) in the folder")
    photos = []
    for path in files:
        try:
            with Image.open(path) as im:
                rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        except (UnidentifiedImageError, OSError) as error:
            raise XfasError(f"--faces {root}: cannot read {path.name} as an image ({error})")
        scale = MAX_SIDE / max(rgb.shape[:2])
        if scale < 1:
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        photos.append(np.ascontiguousarray(rgb))
    return tuple(photos)


def fit_photo(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """``photo`` scaled to cover width x height and centre-cropped to it."""
    h, w = photo.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(photo, (max(width, int(np.ceil(w * scale))),
                                 max(height, int(np.ceil(h * scale)))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    y0 = (resized.shape[0] - height) // 2
    x0 = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[y0:y0 + height, x0:x0 + width])
