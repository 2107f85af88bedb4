"""Where tests find the Silent-Face assets ($XFAS_ASSETS, else ../shared/assets/silent-face
beside the repository) and the real face photos ($XFAS_FACES, else ../shared/faces/london),
and helpers that skip a test, naming the missing file or folder, where they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
ASSETS = Path(os.environ.get("XFAS_ASSETS") or SHARED / "assets" / "silent-face")
FACES = Path(os.environ.get("XFAS_FACES") or SHARED / "faces" / "london")


def asset(relative: str) -> Path:
    """The asset's path, or skip the test naming the missing file."""
    path = ASSETS / relative
    if not path.is_file():
        pytest.skip(f"{path} is missing (set XFAS_ASSETS to the Silent-Face assets folder)")
    return path


def faces() -> Path:
    """The folder of real face photos, or skip the test naming the missing folder."""
    if not FACES.is_dir():
        pytest.skip(f"{FACES} is missing (set XFAS_FACES to a folder of face photos, e.g. the "
                    "Face Research Lab London Set)")
    return FACES
