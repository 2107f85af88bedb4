"""The pictures of explanations under the import path earlier releases used; they live in
``xfas.plots``."""

from xfas.data.image_io import save_image as save_png
from xfas.plots import *  # noqa: F401,F403
from xfas.plots import __all__ as _plots

__all__ = [*_plots, "save_png"]
