"""The papers' figure, a grid of images: one row per image (or image and method), the input
first, then one picture per method or model. Every grid xfas draws (``xfas explain``'s, the
benchmark report's, the attention study's) is made by ``image_grid``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from xfas.errors import XfasError
from xfas.plots.figures import figure_grid, save_figure
from xfas.plots.overlay import ArrayLike, overlay

TITLE_INCHES = 0.5  # height of the title above a grid


def image_grid(cells: Sequence[Sequence[np.ndarray | None]], *,
               column_titles: Sequence[str | None] = (), row_titles: Sequence[str] = (),
               cell: float | tuple[float, float] = 2.0, font_size: float = 9,
               title: str | None = None, layout: str | None = None) -> Any:
    """A Figure of ``cells`` (rows of RGB images; None leaves a cell blank). A row title, when
    given, heads the row's first cell; the column titles head the first row's cells (where no
    row title does). ``title`` goes above the grid."""
    rows, columns = len(cells), max((len(row) for row in cells), default=0)
    if rows == 0 or columns == 0:
        raise XfasError("image grid: no images")
    figure, axes = figure_grid(columns, rows, cell, extra_height=TITLE_INCHES if title else 0.0,
                               layout=layout)
    for r, row in enumerate(cells):
        for c, picture in enumerate(row):
            if picture is not None:
                axes[r, c].imshow(picture)
            if c == 0 and r < len(row_titles):
                axes[r, c].set_title(row_titles[r], fontsize=font_size - 1)
            elif r == 0 and c < len(column_titles) and column_titles[c]:
                axes[r, c].set_title(column_titles[c], fontsize=font_size)
    if title:
        figure.suptitle(title, fontsize=font_size + 1)
    return figure


def method_grid(images: Sequence[np.ndarray], maps: Mapping[str, Sequence[ArrayLike]],
                path: str | Path, *, row_titles: Sequence[str] | None = None,
                alpha: float = 0.5) -> Path:
    """One row per image: the image, then one overlay per method; written as PNG."""
    if not images:
        raise XfasError("method_grid: no images")
    for method, method_maps in maps.items():
        if len(method_maps) != len(images):
            raise XfasError(f"method_grid: {method!r} has {len(method_maps)} maps for "
                            f"{len(images)} images")
    cells = [[image, *(overlay(image, method_maps[row], alpha) for method_maps in maps.values())]
             for row, image in enumerate(images)]
    figure = image_grid(cells, column_titles=["input", *maps], row_titles=row_titles or ())
    return save_figure(figure, path)
