"""Region explanations as the attention paper shows them: LIME's superpixel boundaries with
the top regions, and SHAP's red (raise the score) / blue (lower it) regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xfas.data.geometry import check_rgb_image
from xfas.plots.figures import figure_grid, save_figure
from xfas.plots.overlay import ArrayLike, check_map, to_numpy


def lime_figure(image: np.ndarray, segments: ArrayLike, values: ArrayLike, *, path: str | Path,
                top: int = 5) -> Path:
    """LIME as in the attention paper: the superpixel boundaries on the image, and the ``top``
    superpixels with the largest positive weights shown over a dimmed image."""
    from skimage.segmentation import mark_boundaries

    check_rgb_image(image)
    labels = to_numpy(segments).astype(np.int64)
    weights = to_numpy(values).astype(np.float64)
    check_map(labels.astype(np.float64), image, "lime_figure")
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
                *, path: str | Path) -> Path:
    """SHAP values as red (raise the score) and blue (lower it) regions over a grey image, with
    a colour scale symmetric about zero."""
    check_rgb_image(image)
    labels = to_numpy(segments).astype(np.int64)
    painted = check_map(to_numpy(values).astype(np.float64)[labels], image, "shap_figure")
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
