"""Finding the real Silent-Face assets (weights, detector, sample images) on disk.

Lookup order: an explicit path, else the folder named by ``XFAS_ASSETS`` (laid out like
Silent-Face's ``resources``: ``models/``, ``detector/``, ``images/``). Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from xfas.errors import AssetMissingError

ASSETS_ENV = "XFAS_ASSETS"
SOURCE = (
    "get it from the public repository minivision-ai/Silent-Face-Anti-Spoofing "
    "(folder resources/) and point XFAS_ASSETS at a folder with models/, detector/, images/"
)

MINIFASNET_V2 = "models/2.7_80x80_MiniFASNetV2.pth"
MINIFASNET_V1SE = "models/4_0_0_80x80_MiniFASNetV1SE.pth"
DETECTOR_MODEL = "detector/Widerface-RetinaFace.caffemodel"
DETECTOR_PROTOTXT = "detector/deploy.prototxt"
SAMPLE_IMAGES = ("images/image_F1.jpg", "images/image_F2.jpg", "images/image_T1.jpg")


def assets_root(root: str | Path | None = None) -> Path | None:
    """The assets folder: ``root`` if given, else ``$XFAS_ASSETS``, else None."""
    if root is not None:
        return Path(root)
    env = os.environ.get(ASSETS_ENV)
    return Path(env) if env else None


def find_asset(relative: str, explicit: str | Path | None = None,
               root: str | Path | None = None) -> Path:
    """Path of an asset file; raises AssetMissingError naming the file and where to get it."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise AssetMissingError(f"{path}: file not found")
        return path
    base = assets_root(root)
    if base is None:
        raise AssetMissingError(
            f"{relative}: no path given and {ASSETS_ENV} is not set; {SOURCE}")
    path = base / relative
    if not path.is_file():
        raise AssetMissingError(f"{path}: file not found; {SOURCE}")
    return path
