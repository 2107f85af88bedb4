"""SPED's figures, drawn with matplotlib's object API (no pyplot) and saved as PNG:

- ``crop_grid_figure`` (the paper's Fig. 4): one row per concept, most important first, its name,
  importance and (banks discovered per attack) attack type, then its most activating crops
  (stored in the bank, so no data is needed);
- ``explanation_figure`` (Fig. 6): an image, the combined map, and each activated concept's
  heat map with its name and importance, under the plain-language sentence.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from xfas.data.geometry import CropGeometry, check_rgb_image
from xfas.errors import XfasError
from xfas.plots import figure_grid, overlay, save_figure
from xfas.sped.attribution import ConceptExplanation
from xfas.sped.bank import ConceptBank
from xfas.sped.describe import describe_explanation

CELL = 1.3  # inches per image cell


def crop_grid_figure(bank: ConceptBank, path: str | Path, top: int | None = None,
                     *, title: str | None = None, credit: str | None = None) -> Path:
    """Fig. 4: each concept's ``top`` most activating crops (all the bank holds by default),
    concepts sorted by importance, with the images' ``credit`` line under them when their
    licence asks for one. XfasError if the bank holds no crops."""
    if bank.top_crops is None:
        raise XfasError("concept bank: holds no top crops (it was fitted with top_crops=0)")
    crops = bank.top_crops
    count = crops.shape[1] if top is None else max(1, min(int(top), crops.shape[1]))
    order = np.argsort(-bank.importances, kind="stable")
    figure, axes = figure_grid(count + 1, bank.n_concepts, CELL, extra_height=0.4,
                               layout="constrained")
    for row, k in enumerate(order):
        label = (f"{bank.names[k]}\nindex {k}\nimportance {bank.importances[k]:.2f}"
                 f" ± {bank.importance_std[k]:.2f}"
                 + (f"\nfound on {bank.sources[k]}" if bank.sources else ""))
        axes[row, 0].text(0.95, 0.5, label, ha="right", va="center", fontsize=8,
                          transform=axes[row, 0].transAxes)
        for column in range(count):
            axes[row, column + 1].imshow(crops[k, column].permute(1, 2, 0).numpy())
    figure.suptitle(title or f"SPED concepts of {bank.model_name} at {bank.layer} "
                    f"(most activating crops)", fontsize=9)
    if credit:
        figure.supxlabel(credit, fontsize=6)
    return save_figure(figure, path)


def explanation_figure(image: np.ndarray, explanation: ConceptExplanation, index: int,
                       *, path: str | Path, geometry: CropGeometry | None = None,
                       threshold: float = 0.5) -> Path:
    """Fig. 6 for image ``index``: ``image`` (RGB uint8), the combined map and the map of each
    concept that is evidence (activated and pushing towards spoof, most important first),
    titled with its name and importance, under the sentence of ``describe_explanation``.
    ``geometry`` puts maps made on a crop of the image back in place (default: the model input
    is the whole image)."""
    check_rgb_image(image)
    place = geometry or CropGeometry.whole(*image.shape[:2])
    if tuple(place.image_size) != tuple(image.shape[:2]):
        raise XfasError(f"geometry: made for a {place.image_size[1]}x{place.image_size[0]} "
                        f"image, but the image is {image.shape[1]}x{image.shape[0]}")
    importance = explanation.importance.detach().cpu()
    active = explanation.evidence(index)
    maps = place.to_image(explanation.maps[index].detach().cpu()).numpy()
    combined = place.to_image(explanation.combined[index].detach().cpu()).numpy()
    figure, axes = figure_grid(2 + len(active), 1, 2.0, extra_height=0.4, layout="constrained")
    probability = float(explanation.spoof_probability[index])
    axes[0, 0].imshow(image)
    axes[0, 0].set_title(f"input\nspoof probability {probability:.2f}", fontsize=8)
    axes[0, 1].imshow(overlay(image, combined))
    axes[0, 1].set_title("combined", fontsize=8)
    for column, k in enumerate(active, start=2):
        axes[0, column].imshow(overlay(image, maps[k]))
        axes[0, column].set_title(f"{explanation.names[k]}\nimportance {float(importance[k]):.2f}",
                                  fontsize=8)
    sentence = describe_explanation(explanation, index, threshold)
    figure.suptitle("\n".join(textwrap.wrap(sentence, 40 * (2 + len(active)) // 2)),
                    fontsize=9)
    return save_figure(figure, path)

