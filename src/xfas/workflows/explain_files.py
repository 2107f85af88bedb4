"""Explaining image files end to end: load and crop each image for the model, run the
explainers on the batch, write overlays, LIME / SHAP region plots, a grid and ``maps.npz``,
and, with a SPED concept bank, the concept figure and the verdict in words. Small steps so
that ``xfas explain`` and ``xfas demo`` reuse or extend them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from xfas.data.face import FaceDetector
from xfas.data.geometry import CropGeometry
from xfas.data.image_io import load_image, save_image
from xfas.errors import XfasError
from xfas.explain import create_explainer
from xfas.explain.regions import region_maps
from xfas.models import FASModel
from xfas.plots import input_to_rgb, lime_figure, method_grid, overlay, shap_figure
from xfas.sped import SPED, describe_explanation, explanation_figure

BUDGET_OPTION = {"rise": "n_masks", "lime": "n_samples", "shap": "n_samples"}
REGION_PLOTS = {"lime": "regions", "shap": "cells"}


@dataclass
class ExplainInput:
    """One image ready for the model: its name, RGB pixels, model input and crop geometry."""

    name: str
    image: np.ndarray
    tensor: torch.Tensor
    geometry: CropGeometry


@dataclass
class MethodResult:
    """Maps (N, S, S) on the model inputs; ``regions`` for LIME/SHAP (signed, for plots)."""

    maps: torch.Tensor
    regions: list | None = None


def prepare_inputs(paths: list[Path], model: FASModel, assets: Path | None = None
                   ) -> list[ExplainInput]:
    """Load each image, find the face for crop models (``model.crop_scale``), preprocess."""
    detector = FaceDetector.from_assets(assets) if model.crop_scale is not None else None
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


def explain_inputs(model: FASModel, inputs: list[ExplainInput], methods: list[str], *,
                   target: str | int = "spoof", layer: str | None = None, seed: int = 0,
                   batch_size: int = 64, progress: bool = True, samples: int | None = None
                   ) -> dict[str, MethodResult]:
    """{method: MethodResult} for the batch of inputs; ``samples`` overrides the number of
    model evaluations of RISE, LIME and SHAP."""
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


def write_outputs(out: Path, model: FASModel, inputs: list[ExplainInput],
                  *, results: dict[str, MethodResult]) -> list[Path]:
    """Overlays per image and method, LIME/SHAP region plots, grid.png and maps.npz."""
    written: list[Path] = []
    on_image: dict[str, list[np.ndarray]] = {method: [] for method in results}
    arrays: dict[str, np.ndarray] = {}
    for index, item in enumerate(inputs):
        crop = input_to_rgb(item.tensor, model.channel_order, model.pixel_scale)
        for method, result in results.items():
            saliency = item.geometry.to_image(result.maps[index].cpu()).numpy()
            on_image[method].append(saliency)
            arrays[f"{item.name}__{method}"] = saliency.astype(np.float32)
            written.append(save_image(out / f"{item.name}_{method}.png",
                                      overlay(item.image, saliency)))
            if result.regions is not None and method in REGION_PLOTS:
                region = result.regions[index]
                plot = lime_figure if method == "lime" else shap_figure
                written.append(plot(crop, region.segments, region.values,
                                    path=out / f"{item.name}_{method}_{REGION_PLOTS[method]}.png"))
    written.append(method_grid([item.image for item in inputs], on_image, out / "grid.png",
                               row_titles=[item.name for item in inputs]))
    npz = out / "maps.npz"
    np.savez_compressed(npz, **arrays)
    written.append(npz)
    return written


def explain_concepts(out: Path, model: FASModel, inputs: list[ExplainInput], *, bank: Path,
                     batch_size: int = 64, progress: bool = True) -> list[tuple[Path, str]]:
    """SPED's Fig. 6 (``OUT/IMAGE_sped.png``) for each prepared input, with its verdict in
    words: [(figure, sentence)] in the inputs' order."""
    sped = SPED.load(bank, model, batch_size=batch_size, progress=progress)
    explanation = sped.explain(torch.stack([item.tensor for item in inputs]))
    return [(explanation_figure(item.image, explanation, index, path=out / f"{item.name}_sped.png",
                                geometry=item.geometry),
             describe_explanation(explanation, index))
            for index, item in enumerate(inputs)]
