"""Explaining image files end to end: load and crop each image for the model, run the
explainers on the batch, write overlays, LIME / SHAP region plots, a grid and ``maps.npz``.
Small steps so that ``xfas explain``, ``xfas demo`` and the SPED options reuse or extend them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from xfas.errors import XfasError

BUDGET_OPTION = {"rise": "n_masks", "lime": "n_samples", "shap": "n_samples"}
REGION_PLOTS = {"lime": "regions", "shap": "cells"}


@dataclass
class ExplainInput:
    """One image ready for the model: its name, RGB pixels, model input and crop geometry."""

    name: str
    image: np.ndarray
    tensor: torch.Tensor
    geometry: object  # xfas.models.base.CropGeometry


@dataclass
class MethodResult:
    """Maps (N, S, S) on the model inputs; ``regions`` for LIME/SHAP (signed, for plots)."""

    maps: torch.Tensor
    regions: list | None = None


def prepare_inputs(paths: list[Path], model, assets: Path | None) -> list[ExplainInput]:
    """Load each image, find the face for crop models (``model.crop_scale``), preprocess."""
    from xfas.data.image_io import load_image

    detector = None
    if model.crop_scale is not None:
        from xfas.data.face import FaceDetector
        detector = FaceDetector.from_assets(assets)
    stems = [Path(path).stem for path in paths]
    inputs = []
    for index, path in enumerate(paths):
        image = load_image(path)
        box = None
        if detector is not None:
            box = detector.detect(image)
            if box is None:
                raise XfasError(f"{path}: no face found (the model {model.name} explains a "
                                "crop around the face)")
        tensor, geometry = model.preprocess(image, box)
        name = stems[index] if stems.count(stems[index]) == 1 else f"{index}_{stems[index]}"
        inputs.append(ExplainInput(name, image, tensor, geometry))
    return inputs


def explain_inputs(model, inputs: list[ExplainInput], methods: list[str], target: str | int,
                   layer: str | None, seed: int, batch_size: int, progress: bool,
                   samples: int | None = None) -> dict[str, MethodResult]:
    """{method: MethodResult} for the batch of inputs; ``samples`` overrides the number of
    model evaluations of RISE, LIME and SHAP."""
    from xfas.explain import create_explainer
    from xfas.explain.regions import region_maps

    batch = torch.stack([item.tensor for item in inputs])
    results = {}
    for method in methods:
        options = {BUDGET_OPTION[method]: samples} if samples and method in BUDGET_OPTION else {}
        explainer = create_explainer(method, model, layer=layer, seed=seed,
                                     batch_size=batch_size, progress=progress, **options)
        if hasattr(explainer, "explain_regions"):
            regions = explainer.explain_regions(batch, target)
            results[method] = MethodResult(region_maps(regions), regions)
        else:
            results[method] = MethodResult(explainer.explain(batch, target))
    return results


def write_outputs(out: Path, model, inputs: list[ExplainInput],
                  results: dict[str, MethodResult]) -> list[Path]:
    """Overlays per image and method, LIME/SHAP region plots, grid.png and maps.npz."""
    from xfas import viz

    written: list[Path] = []
    on_image: dict[str, list[np.ndarray]] = {method: [] for method in results}
    arrays: dict[str, np.ndarray] = {}
    for index, item in enumerate(inputs):
        crop = viz.input_to_rgb(item.tensor, model.channel_order, model.pixel_scale)
        for method, result in results.items():
            saliency = item.geometry.to_image(result.maps[index].cpu()).numpy()
            on_image[method].append(saliency)
            arrays[f"{item.name}__{method}"] = saliency.astype(np.float32)
            written.append(viz.save_png(viz.overlay(item.image, saliency),
                                        out / f"{item.name}_{method}.png"))
            if result.regions is not None and method in REGION_PLOTS:
                region = result.regions[index]
                plot = viz.lime_figure if method == "lime" else viz.shap_figure
                written.append(plot(crop, region.segments, region.values,
                                    out / f"{item.name}_{method}_{REGION_PLOTS[method]}.png"))
    written.append(viz.method_grid([item.image for item in inputs], on_image, out / "grid.png",
                                   row_titles=[item.name for item in inputs]))
    npz = out / "maps.npz"
    np.savez_compressed(npz, **arrays)
    written.append(npz)
    return written


def heat_panel(image: np.ndarray, masks: dict[str, np.ndarray], saliency: np.ndarray
               ) -> np.ndarray:
    """The image under the heat map ``saliency`` (H, W in [0, 1]), each evidence mask
    outlined in its SynthSpoof grid colour."""
    from xfas import viz
    from xfas.data.synth.grid import COLOURS

    return viz.outline_masks(viz.overlay(image, saliency),
                             [(mask, COLOURS[name]) for name, mask in masks.items()])


def heat_map_panel(model, method: str = "gradcam"
                   ) -> Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray]:
    """A sample-grid panel (``xfas.data.synth.grid.sample_grid``): ``method``'s spoof map of
    ``model`` on the whole image (its crop geometry undone), evidence outlined."""
    from xfas.explain import create_explainer

    explainer = create_explainer(method, model)
    device = next(model.parameters()).device

    def panel(image: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
        x, geometry = model.preprocess(image)
        maps = explainer.explain(x[None].to(device), target="spoof").cpu()
        return heat_panel(image, masks, geometry.to_image(maps)[0].numpy())

    return panel
