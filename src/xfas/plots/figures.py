"""Matplotlib figures without pyplot's global state: a grid of bare axes, and the one way a
figure leaves xfas, as a PNG file or PNG bytes with no software-version tag (equal figures
give equal bytes)."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from xfas.errors import XfasError


def figure_grid(columns: int, rows: int, cell: float | tuple[float, float] = 2.0,
                *, extra_height: float = 0.0, layout: str | None = None) -> tuple[Any, np.ndarray]:
    """A matplotlib Figure with a rows x columns grid of bare axes; ``cell`` is the side of a
    cell in inches, or its (width, height)."""
    from matplotlib.figure import Figure

    width, height = (cell, cell) if isinstance(cell, (int, float)) else cell
    figure = Figure(figsize=(width * columns, height * rows + extra_height), dpi=100,
                    layout=layout)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    return figure, axes


def _render(figure: Any, target: Any, *, dpi: float | None, crop: bool,
            palette: int | None) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    FigureCanvasAgg(figure)
    options = {"format": "png", "dpi": dpi or "figure", "bbox_inches": "tight" if crop else None,
               "metadata": {"Software": None}}
    if palette is None:
        figure.savefig(target, **options)
        return
    buffer = io.BytesIO()
    figure.savefig(buffer, **options)
    buffer.seek(0)
    with Image.open(buffer) as rendered:
        small = rendered.convert("RGB").quantize(colors=palette, dither=Image.Dither.NONE)
    small.save(target, format="PNG", optimize=True)


def save_figure(figure: Any, path: str | Path, dpi: float | None = None, *, crop: bool = True,
                palette: int | None = None) -> Path:
    """Write ``figure`` as PNG, creating folders; XfasError naming the path if it fails.

    ``crop`` trims the white margins; without it the PNG is exactly the figure's size in
    inches x ``dpi`` (default: the figure's own). ``palette`` quantises to that many colours
    (small files for flat pictures). The file appears whole or not at all (written beside it,
    then renamed)."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _render(figure, partial, dpi=dpi, crop=crop, palette=palette)
        partial.replace(path)
    except OSError as error:
        raise XfasError(f"{path}: cannot write the figure ({error})") from error
    return path


def figure_png(figure: Any, dpi: float = 100) -> bytes:
    """``figure`` as PNG bytes, margins trimmed."""
    buffer = io.BytesIO()
    _render(figure, buffer, dpi=dpi, crop=True, palette=None)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI, so an HTML page stays one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
