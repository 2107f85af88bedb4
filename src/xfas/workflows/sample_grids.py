"""Sample grids of a model's heat maps: each SynthSpoof sample next to a method's map of the
model's spoof score on the whole image, the evidence outlined in its colours, to see whether
the model's explanation falls on the evidence."""

from __future__ import annotations

from typing import Callable

import numpy as np

from xfas.explain import create_explainer
from xfas.explain.base import model_device
from xfas.models import FASModel
from xfas.plots import evidence_overlay


def heat_map_panel(model: FASModel, method: str = "gradcam"
                   ) -> Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray]:
    """A sample-grid panel (``xfas.plots.sample_grid``): ``method``'s spoof map of ``model``
    on the whole image (its crop geometry undone), evidence outlined."""
    explainer = create_explainer(method, model)
    device = model_device(model)

    def panel(image: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
        x, geometry = model.preprocess(image)
        maps = explainer.explain(x[None].to(device), target="spoof").cpu()
        return evidence_overlay(image, masks, geometry.to_image(maps)[0].numpy())

    return panel
