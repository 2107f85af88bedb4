"""A small labelled folder of real photos from the Silent-Face assets: the three sample images
and every third frame of ``demo.gif`` (its first 33 frames show a live person, the rest a phone
replay and then a print of her, labelled by eye), in ``live/`` and ``spoof/``. Tests that need
it skip, naming the missing file, without the assets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from helpers.assets import asset

LIVE_FRAMES = 33  # frames 0-32 of demo.gif show the live person
FRAME_STEP = 3


def real_image_folder(root: Path) -> Path:
    """``root`` with ``live/`` and ``spoof/`` filled (see the module docstring)."""
    for folder in ("live", "spoof"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    samples = {"image_T1.jpg": "live", "image_F1.jpg": "spoof", "image_F2.jpg": "spoof"}
    for name, label in samples.items():
        (root / label / name).write_bytes(asset(f"images/{name}").read_bytes())
    with Image.open(asset("images/demo.gif")) as gif:
        frames = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]
    for index in range(0, len(frames), FRAME_STEP):
        label = "live" if index < LIVE_FRAMES else "spoof"
        Image.fromarray(frames[index]).save(root / label / f"frame{index:03d}.png")
    return root
