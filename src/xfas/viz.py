"""Pictures of explanations: heat-map overlays, the papers' grid of images x methods, LIME's
superpixel boundaries with the top regions, and SHAP's red/blue cells. Everything is drawn with
matplotlib's object API on the Agg canvas (no pyplot, no global state) and saved as PNG.

Images are RGB uint8 arrays (H, W, 3); maps are (H, W) arrays or tensors in [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from xfas.errors import XfasError
from xfas.data.geometry import check_rgb_image

ArrayLike = np.ndarray | torch.Tensor


def _numpy(values: ArrayLike) -> np.ndarray:
    if torch.is_tensor(values):
        return values.detach().float().cpu().numpy()
    return np.asarray(values)


def _check_map(saliency: np.ndarray, image: np.ndarray, what: str) -> np.ndarray:
    if saliency.shape != image.shape[:2]:
        raise XfasError(f"{what}: map of shape {saliency.shape} does not match the image "
                        f"({image.shape[0]}, {image.shape[1]})")
    return np.nan_to_num(saliency.astype(np.float64))


def input_to_rgb(x: torch.Tensor, channel_order: str = "RGB",
                 pixel_scale: float = 1 / 255) -> np.ndarray:
    """A model input (3, H, W) back to an RGB uint8 image (undoes ``FASModel.preprocess``)."""
    array = _numpy(x).transpose(1, 2, 0) / pixel_scale
    if channel_order == "BGR":
        array = array[:, :, ::-1]
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def overlay(image: np.ndarray, saliency: ArrayLike, alpha: float = 0.5,
            colormap: str = "jet") -> np.ndarray:
    """The image blended with the colour-mapped saliency (weight ``alpha``), uint8 (H, W, 3)."""
    from matplotlib import colormaps

    check_rgb_image(image)
    values = np.clip(_check_map(_numpy(saliency), image, "overlay"), 0.0, 1.0)
    colours = colormaps[colormap](values)[:, :, :3] * 255.0
    blended = (1 - alpha) * image.astype(np.float64) + alpha * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def outline_masks(canvas: np.ndarray, masks: Sequence[tuple[np.ndarray, tuple[int, int, int]]]
                  ) -> np.ndarray:
    """Draw each mask's outer contour (non-zero pixels, 1 px) in its RGB colour on ``canvas``
    (uint8 (H, W, 3), changed in place and returned)."""
    import cv2

    for mask, colour in masks:
        contours, _ = cv2.findContours((np.asarray(mask) > 0).astype(np.uint8),
                                       cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, colour, 1)
    return canvas


def figure_grid(columns: int, rows: int, cell: float = 2.0, extra_height: float = 0.0,
                layout: str | None = None):
    """A matplotlib Figure (no pyplot state) with a rows x columns grid of bare axes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(cell * columns, cell * rows + extra_height), dpi=100, layout=layout)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    return figure, axes


def save_figure(figure, path: str | Path, dpi: float | None = None, crop: bool = True) -> Path:
    """Write ``figure`` as PNG, creating folders; XfasError naming the path if it fails.

    ``crop`` trims the white margins; without it the PNG is exactly the figure's size in
    inches x ``dpi`` (default: the figure's own). The file appears whole or not at all (written
    beside it, then renamed), and carries no software-version tag, so equal figures give equal
    bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        FigureCanvasAgg(figure)
        figure.savefig(partial, format="png", dpi=dpi or "figure",
                       bbox_inches="tight" if crop else None, metadata={"Software": None})
        partial.replace(path)
    except OSError as error:
        raise XfasError(f"{path}: cannot write the figure ({error})") from error
    return path


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an RGB uint8 image as PNG."""
    from PIL import Image

    check_rgb_image(image, what=str(path))
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(image)).save(path, format="PNG")
    except OSError as error:
        raise XfasError(f"{path}: cannot write the image ({error})") from error
    return path


def method_grid(images: Sequence[np.ndarray], maps: Mapping[str, Sequence[ArrayLike]],
                path: str | Path, row_titles: Sequence[str] | None = None,
                alpha: float = 0.5) -> Path:
    """The papers' figure: one row per image, the image then one overlay per method."""
    if not images:
        raise XfasError("method_grid: no images")
    for method, method_maps in maps.items():
        if len(method_maps) != len(images):
            raise XfasError(f"method_grid: {method!r} has {len(method_maps)} maps for "
                            f"{len(images)} images")
    figure, axes = figure_grid(len(maps) + 1, len(images))
    for row, image in enumerate(images):
        axes[row, 0].imshow(image)
        if row_titles is not None:
            axes[row, 0].set_title(row_titles[row], fontsize=8)
        for column, (method, method_maps) in enumerate(maps.items(), start=1):
            axes[row, column].imshow(overlay(image, method_maps[row], alpha))
            if row == 0:
                axes[row, column].set_title(method, fontsize=9)
    if row_titles is None:
        axes[0, 0].set_title("input", fontsize=9)
    return save_figure(figure, path)


def lime_figure(image: np.ndarray, segments: ArrayLike, values: ArrayLike, path: str | Path,
                top: int = 5) -> Path:
    """LIME as in the attention paper: the superpixel boundaries on the image, and the ``top``
    superpixels with the largest positive weights shown over a dimmed image."""
    from skimage.segmentation import mark_boundaries

    check_rgb_image(image)
    labels = _numpy(segments).astype(np.int64)
    weights = _numpy(values).astype(np.float64)
    _check_map(labels.astype(np.float64), image, "lime_figure")
    order = [int(k) for k in np.argsort(-weights) if weights[k] > 0][:top]
    keep = np.isin(labels, order)
    dimmed = (image * np.where(keep, 1.0, 0.3)[:, :, None]).astype(np.uint8)
    figure, axes = figure_grid(2, 1, cell=3.0)
    axes[0, 0].imshow(mark_boundaries(image, labels, color=(1, 1, 0)))
    axes[0, 0].set_title("superpixels", fontsize=9)
    axes[0, 1].imshow(mark_boundaries(dimmed, keep.astype(np.int64), color=(0, 1, 0)))
    axes[0, 1].set_title(f"top {len(order)} regions", fontsize=9)
    return save_figure(figure, path)


def shap_figure(image: np.ndarray, segments: ArrayLike, values: ArrayLike,
                path: str | Path) -> Path:
    """SHAP values as red (raise the score) and blue (lower it) regions over a grey image, with
    a colour scale symmetric about zero."""
    check_rgb_image(image)
    labels = _numpy(segments).astype(np.int64)
    painted = _check_map(_numpy(values).astype(np.float64)[labels], image, "shap_figure")
    limit = float(np.abs(painted).max()) or 1.0
    grey = image.astype(np.float64).mean(axis=2)
    figure, axes = figure_grid(2, 1, cell=3.0)
    axes[0, 0].imshow(image)
    axes[0, 0].set_title("input", fontsize=9)
    axes[0, 1].imshow(grey, cmap="gray", alpha=0.5)
    shown = axes[0, 1].imshow(painted, cmap="bwr", vmin=-limit, vmax=limit, alpha=0.6)
    axes[0, 1].set_title("SHAP values", fontsize=9)
    figure.colorbar(shown, ax=axes[0, 1], fraction=0.046, pad=0.04)
    return save_figure(figure, path)
