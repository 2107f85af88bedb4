"""A benchmark folder built for the tests, and the explainer that reads it perfectly.

64x64 spoof images whose photo_edge evidence is painted with red 250 and clutching_hand with
green 250 on a dark background, so an explainer that reads the red channel (``RedOracle``)
returns exactly the photo_edge mask: its nIoU must be 1 and its IoU min(k, y) / max(k, y)
with k = round(0.3 * 4096) selected and y mask pixels.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from xfas.explain import Explainer
from xfas.models import build_model, save_model

SIZE = 64
K_SELECTED = math.floor(0.3 * SIZE * SIZE + 0.5)  # 1229 pixels in the top 30 %
# photo_edge boxes (y0, y1, x0, x1): small, medium, and one larger than 30 % of the image
BOXES = [(4, 24, 6, 22), (30, 60, 10, 40), (0, 48, 0, 40), (10, 30, 30, 60),
         (40, 62, 2, 50), (20, 40, 20, 40)]
HAND = (50, 64, 40, 64)


class RedOracle(Explainer):
    """A test-only explainer whose map is the red-painted pixels: the photo_edge mask."""

    name = "oracle"

    def attribute(self, images: torch.Tensor, target) -> torch.Tensor:
        return (images[:, 0] > 0.9).float()


def make_benchmark(root: Path, n_test: int = 6, n_val: int = 2, seed: int = 0
                   ) -> dict[str, dict[str, np.ndarray]]:
    """Write a benchmark folder (images, masks, manifest with splits); returns the masks."""
    rng = np.random.default_rng(seed)
    manifest: dict = {"images": {}}
    masks: dict[str, dict[str, np.ndarray]] = {}
    for index in range(n_test + n_val + 1):
        live = index == n_test + n_val
        name = "live0" if live else (f"t{index}" if index < n_test else f"v{index - n_test}")
        image = rng.integers(20, 60, (SIZE, SIZE, 3), dtype=np.uint8)
        entry = {"label": "live" if live else "spoof", "attack": "live" if live else "print",
                 "split": "test" if index < n_test or live else "val", "evidence": []}
        masks[name] = {}
        if not live:
            y0, y1, x0, x1 = BOXES[index % len(BOXES)]
            edge = np.zeros((SIZE, SIZE), bool)
            edge[y0:y1, x0:x1] = True
            image[edge, 0] = 250
            masks[name]["photo_edge"] = edge
            if index % 2 == 0:
                hand = np.zeros((SIZE, SIZE), bool)
                hand[HAND[0]:HAND[1], HAND[2]:HAND[3]] = True
                hand &= ~edge
                image[hand, 1] = 250
                masks[name]["clutching_hand"] = hand
        for evidence, mask in masks[name].items():
            folder = root / "masks" / evidence
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"{name}.png")
            entry["evidence"].append(evidence)
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / "images" / f"{name}.png")
        manifest["images"][name] = entry
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return masks


def make_checkpoint(path: Path) -> Path:
    """An untrained seed CNN saved as a checkpoint (explaining it exercises the machinery)."""
    torch.manual_seed(0)
    return save_model(build_model("cnn").eval(), path)


def db_rows(run: Path) -> dict[tuple, float | None]:
    """{(image, method, evidence, metric): value} of a run's database."""
    with sqlite3.connect(run / "results.sqlite") as db:
        return {row[:4]: row[4] for row in db.execute("SELECT * FROM scores")}
