"""The benchmark's pictures: small stored thumbnails (so the report needs no model and no
data), bar charts of IoU / nIoU with bootstrap confidence intervals, and the grid of images x
methods with the maps overlaid and the evidence outlined. Charts are drawn with matplotlib's
object API on the Agg canvas and returned as PNG bytes, to be embedded in the HTML report.

Stored under RUN/figures/::

    grid.json                       {"images": [{"name", "evidence": [...]}], "side": int}
    images/<image>.png              the image, longest side at most ``side``
    masks/<image>__<evidence>.png   its masks at the thumbnail's size (0 / 255)
    maps/<image>__<method>.png      each method's map at that size (0..255)
    concepts.png                    SPED's concepts' top crops, when the bank holds them
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import cv2
import numpy as np
from PIL import Image

from xfas.data.geometry import resize_image
from xfas.data.image_io import write_png
from xfas.errors import XfasError
from xfas.plots import figure_png, image_grid, outlined_overlay

FIGURES = "figures"
GRID_FILE = "grid.json"
CONCEPTS_FIGURE = "concepts.png"  # SPED's concept crops, drawn from the bank during the run


# --- thumbnails stored during the run ------------------------------------------------------

def thumbnail_size(height: int, width: int, side: int) -> tuple[int, int]:
    """(h, w) with the longest side at most ``side``, aspect ratio kept."""
    scale = min(1.0, side / max(height, width))
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


def map_thumbnail(saliency: np.ndarray, side: int) -> np.ndarray:
    """A map in [0, 1] (H, W) as uint8 at the thumbnail size."""
    small = resize_image(np.asarray(saliency, dtype=np.float32),
                         thumbnail_size(*saliency.shape[:2], side))
    return np.clip(np.rint(small * 255.0), 0, 255).astype(np.uint8)


def _safe(text: str) -> str:
    """A file-name part: path separators replaced."""
    return text.replace("/", "_").replace("\\", "_")


def write_grid_inputs(run_dir: Path, entries: Sequence[tuple[str, np.ndarray,
                                                             Mapping[str, np.ndarray]]],
                      side: int) -> None:
    """Store the grid's images and masks: ``entries`` = (name, RGB image, {evidence: mask})."""
    root = Path(run_dir) / FIGURES
    listing = []
    for name, image, masks in entries:
        size = thumbnail_size(*image.shape[:2], side)
        write_png(root / "images" / f"{_safe(name)}.png", resize_image(image, size))
        for evidence, mask in masks.items():
            small = resize_image(np.asarray(mask, dtype=np.uint8) * 255, size, cv2.INTER_NEAREST)
            write_png(root / "masks" / f"{_safe(name)}__{evidence}.png", small)
        listing.append({"name": name, "evidence": list(masks)})
    root.mkdir(parents=True, exist_ok=True)
    (root / GRID_FILE).write_text(json.dumps({"images": listing, "side": side}, indent=1),
                                  encoding="utf-8")


def write_map(run_dir: Path, image: str, method: str, *, thumbnail: np.ndarray) -> None:
    """Store one method's grid map (uint8)."""
    write_png(Path(run_dir) / FIGURES / "maps" / f"{_safe(image)}__{_safe(method)}.png",
              thumbnail)


def _read_png(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    with Image.open(path) as image:
        return np.asarray(image)


# --- charts for the report -----------------------------------------------------------------

def bar_chart(table: Mapping[str, Mapping[str, Mapping[str, Any]]], methods: Sequence[str],
              evidence_types: Sequence[str], *, metric: str, title: str) -> bytes:
    """One panel per evidence type: a horizontal bar per method, the mean ``metric`` over
    images with its bootstrap 95 % interval (``<metric>_ci``) as an error bar."""
    from matplotlib.figure import Figure

    if not evidence_types:
        raise XfasError("bar chart: no evidence type has scores")
    columns = min(4, len(evidence_types))
    rows = math.ceil(len(evidence_types) / columns)
    figure = Figure(figsize=(3.4 * columns, 0.28 * len(methods) * rows + 1.2 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    positions = np.arange(len(methods))
    for axis, evidence in zip(axes.flat, evidence_types):
        means, low, high = [], [], []
        for method in methods:
            cell = table.get(method, {}).get(evidence, {})
            mean = cell.get(metric)
            ci = cell.get(f"{metric}_ci") or [None, None]
            value = np.nan if mean is None else mean
            means.append(value)
            low.append(0.0 if ci[0] is None else max(0.0, value - ci[0]))
            high.append(0.0 if ci[1] is None else max(0.0, ci[1] - value))
        axis.barh(positions, np.nan_to_num(means), xerr=[low, high], color="#4878a8",
                  ecolor="#222222", capsize=2)
        axis.set_yticks(positions, labels=list(methods), fontsize=7)
        axis.invert_yaxis()
        axis.set_xlim(0, 1)
        axis.set_title(evidence, fontsize=9)
        axis.tick_params(axis="x", labelsize=7)
    for axis in list(axes.flat)[len(evidence_types):]:
        axis.set_axis_off()
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure_png(figure)


def method_grid(run_dir: Path, methods: Sequence[str]) -> bytes | None:
    """The stored grid images x methods (input with the evidence outlined, then one overlay
    per method), or None when the run stored no grid."""
    root = Path(run_dir) / FIGURES
    listing_path = root / GRID_FILE
    if not listing_path.is_file():
        return None
    listing = json.loads(listing_path.read_text(encoding="utf-8"))["images"]
    rows = []
    for entry in listing:
        name = _safe(entry["name"])
        image = _read_png(root / "images" / f"{name}.png")
        if image is None:
            continue
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        masks = [m for m in (_read_png(root / "masks" / f"{name}__{e}.png")
                             for e in entry["evidence"]) if m is not None]
        cells = [outlined_overlay(image, None, masks)]
        cells += [None if (m := _read_png(root / "maps" / f"{name}__{_safe(method)}.png"))
                  is None else outlined_overlay(image, m / 255.0, masks) for method in methods]
        rows.append((f"{entry['name']}\n{', '.join(entry['evidence'])}", cells))
    if not rows:
        return None
    figure = image_grid([cells for _, cells in rows], column_titles=[None, *methods],
                        row_titles=[title for title, _ in rows], cell=(1.5, 1.6), font_size=7,
                        layout="tight")
    return figure_png(figure)
