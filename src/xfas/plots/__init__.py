"""Pictures of explanations: heat-map overlays, evidence outlines and panels in one colour
table, the papers' grid of images x methods, LIME regions and SHAP cells, SynthSpoof sample
grids. Everything is drawn with matplotlib's object API on the Agg canvas (no pyplot, no
global state) and written as PNG through ``save_figure``.

>>> from xfas.plots import overlay, method_grid
>>> method_grid(images, {"gradcam": maps}, "grid.png")
"""

from xfas.plots.colours import EVIDENCE_COLOURS, OUTLINE, evidence_colour
from xfas.plots.figures import data_uri, figure_grid, figure_png, save_figure
from xfas.plots.grid import image_grid, method_grid
from xfas.plots.overlay import (evidence_overlay, input_to_rgb, mask_panel, outline_masks,
                                outlined_overlay, overlay)
from xfas.plots.regions import lime_figure, shap_figure
from xfas.plots.sample_grid import sample_grid, save_sample_grid

__all__ = ["EVIDENCE_COLOURS", "OUTLINE", "data_uri", "evidence_colour", "evidence_overlay",
           "figure_grid", "figure_png", "image_grid", "input_to_rgb", "lime_figure",
           "mask_panel", "method_grid", "outline_masks", "outlined_overlay", "overlay",
           "sample_grid", "save_figure", "save_sample_grid", "shap_figure"]
