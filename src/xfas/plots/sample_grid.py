"""A figure of SynthSpoof samples: rows live / print / cut / replay, each sample shown next to
a panel: by default its evidence masks, one colour per evidence type, with a legend; or, e.g.,
a model's heat map with the evidence outlined (``xfas.workflows.sample_grids``)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from xfas.data.benchmark_layout import ALL_EVIDENCE_TYPES
from xfas.data.synth import ATTACKS, check_size, render_sample
from xfas.data.synth.generator import Faces, resolve_faces
from xfas.data.synth.photos import photo_credit
from xfas.errors import XfasError
from xfas.plots.colours import evidence_colour
from xfas.plots.figures import save_figure
from xfas.plots.overlay import mask_panel

Panel = Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray]
GAP = 4  # white pixels between cells
LABEL_WIDTH, LEGEND_HEIGHT, CREDIT_HEIGHT, DPI = 70, 40, 22, 100  # pixels around the grid


def sample_grid(seed: int = 0, size: int = 128, per_attack: int = 4,
                *, panel: Panel = mask_panel, faces: Faces = None
                ) -> tuple[np.ndarray, list[str]]:
    """The grid image (rows = attack types, each sample as image | ``panel(image, masks)``,
    by default its masks) and the row names. Samples are the first ``per_attack`` of each
    attack type in the data set of ``seed``."""
    size = check_size(size)
    found: dict[str, list[np.ndarray]] = {attack: [] for attack in ATTACKS}
    index = 0
    while any(len(v) < per_attack for v in found.values()):
        s = render_sample(index, seed, size, faces=faces)
        if len(found[s.attack]) < per_attack:
            found[s.attack].append(np.concatenate([s.image, panel(s.image, s.masks)], 1))
        index += 1
    gap = np.full((size, GAP, 3), 255, np.uint8)
    rows = [np.concatenate([x for cell in found[a] for x in (cell, gap)][:-1], 1)
            for a in ATTACKS]
    hgap = np.full((GAP, rows[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([x for row in rows for x in (row, hgap)][:-1], 0), list(ATTACKS)


def save_sample_grid(path: str | Path, seed: int = 0, size: int = 128,
                     *, per_attack: int = 4, panel: Panel = mask_panel,
                     faces: Faces = None) -> Path:
    """Write the sample grid (see ``sample_grid``) with row labels and a colour legend as a
    PNG at ``path``; with real face photos, their credit line under it (their licence asks
    every derived image to carry it)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise XfasError(f"{path}: the sample grid is written as .png")
    photos = resolve_faces(faces)
    grid, names = sample_grid(seed, size, per_attack, panel=panel, faces=photos)
    height, width = grid.shape[:2]
    credit = CREDIT_HEIGHT if photos else 0
    below = LEGEND_HEIGHT + credit
    total_w, total_h = width + LABEL_WIDTH, height + below
    figure = Figure(figsize=(total_w / DPI, total_h / DPI), dpi=DPI)
    axis = figure.add_axes((LABEL_WIDTH / total_w, below / total_h, width / total_w,
                            height / total_h))
    axis.imshow(grid, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([(size + GAP) * i + size / 2 for i in range(len(names))], names)
    axis.tick_params(length=0, labelsize=10)
    for spine in axis.spines.values():
        spine.set_visible(False)
    handles = [Patch(color=np.array(evidence_colour(n)) / 255, label=n)
               for n in ALL_EVIDENCE_TYPES]
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
                  fontsize=9, bbox_to_anchor=(0.5, credit / total_h))
    if photos:
        figure.text(0.5, 4 / total_h,
                    photo_credit(faces),
                    ha="center", va="bottom", fontsize=6.5, wrap=True)
    return save_figure(figure, path, dpi=DPI, crop=False, palette=256)
