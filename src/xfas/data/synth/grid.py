"""A figure of SynthSpoof samples: rows live / print / cut / replay, each sample shown next to
its evidence masks, one colour per evidence type, with a legend; or next to another panel,
e.g. a model's heat map with the evidence outlined (``xfas.explain_images.heat_map_panel``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np

from xfas.data.synth.evidence import EVIDENCE_TYPES
from xfas.data.synth.generator import check_size, render_sample
from xfas.data.synth.layout import ATTACKS
from xfas.errors import XfasError

COLOURS = {"clutching_hand": (255, 200, 0), "cut_hole": (230, 40, 200),
           "ipad_border": (0, 200, 230), "photo_edge": (235, 30, 30)}


def mask_panel(image: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    """The image faded to light grey with each evidence mask painted in its colour."""
    grey = image.mean(axis=2, keepdims=True) * 0.25 + 180
    panel = np.repeat(grey, 3, axis=2)
    for name, mask in masks.items():
        panel[mask] = COLOURS[name]
    return panel.astype(np.uint8)


Panel = Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray]


def sample_grid(seed: int = 0, size: int = 128, per_attack: int = 4,
                panel: Panel = mask_panel) -> tuple[np.ndarray, list[str]]:
    """The grid image (rows = attack types, each sample as image | ``panel(image, masks)``,
    by default its masks) and the row names. Samples are the first ``per_attack`` of each
    attack type in the data set of ``seed``."""
    size = check_size(size)
    found: dict[str, list[np.ndarray]] = {attack: [] for attack in ATTACKS}
    index = 0
    while any(len(v) < per_attack for v in found.values()):
        s = render_sample(index, seed, size)
        if len(found[s.attack]) < per_attack:
            found[s.attack].append(np.concatenate([s.image, panel(s.image, s.masks)], 1))
        index += 1
    gap = np.full((size, 4, 3), 255, np.uint8)
    rows = [np.concatenate([x for cell in found[a] for x in (cell, gap)][:-1], 1)
            for a in ATTACKS]
    hgap = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([x for row in rows for x in (row, hgap)][:-1], 0), list(ATTACKS)


def save_sample_grid(path: str | Path, seed: int = 0, size: int = 128,
                     per_attack: int = 4, panel: Panel = mask_panel) -> Path:
    """Write the sample grid (see ``sample_grid``) with row labels and a colour legend as a
    PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise XfasError(f"{path}: the sample grid is written as .png")
    grid, names = sample_grid(seed, size, per_attack, panel)
    dpi = 100
    height, width = grid.shape[:2]
    fig = plt.figure(figsize=((width + 70) / dpi, (height + 40) / dpi), dpi=dpi)
    ax = fig.add_axes((70 / (width + 70), 40 / (height + 40), width / (width + 70),
                       height / (height + 40)))
    ax.imshow(grid, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([(size + 4) * i + size / 2 for i in range(len(names))], names)
    ax.tick_params(length=0, labelsize=10)
    for spine in ax.spines.values():
        spine.set_visible(False)
    handles = [Patch(color=np.array(COLOURS[n]) / 255, label=n) for n in EVIDENCE_TYPES]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
               fontsize=9, bbox_to_anchor=(0.5, 0.0))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as im:
        small = im.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    small.save(path, optimize=True)
    return path
