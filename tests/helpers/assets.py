"""Where tests find the Silent-Face assets ($XFAS_ASSETS, else ../shared/assets/silent-face
beside the repository), and a helper that skips a test, naming the missing file, where they
are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ASSETS = Path(os.environ.get("XFAS_ASSETS")
              or Path(__file__).resolve().parents[3] / "shared" / "assets" / "silent-face")


def asset(relative: str) -> Path:
    """The asset's path, or skip the test naming the missing file."""
    path = ASSETS / relative
    if not path.is_file():
        pytest.skip(f"{path} is missing (set XFAS_ASSETS to the Silent-Face assets folder)")
    return path
