"""``xfas explain``: saliency maps of a model's decision on image files, as PNG figures and a
``maps.npz``. The steps are small functions (prepare the inputs, explain them, write the files)
so other commands and options (e.g. SPED concepts) can reuse or extend them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import typer

from xfas.cli.app import app
from xfas.errors import XfasError

DEFAULT_METHODS = "gradcam,lime,shap"
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


def parse_methods(text: str) -> list[str]:
    """'gradcam,lime' -> ['gradcam', 'lime']; an unknown name is an error listing valid ones."""
    from xfas.explain import available_explainers

    names = [name.strip() for name in text.split(",") if name.strip()]
    valid = available_explainers()
    unknown = [name for name in names if name not in valid]
    if not names or unknown:
        raise XfasError(f"--methods {text!r}: unknown {', '.join(unknown) or '(empty)'}; "
                        f"valid names: {', '.join(valid)}")
    return list(dict.fromkeys(names))


def parse_target(text: str) -> str | int:
    """'spoof' or a class index."""
    if text == "spoof":
        return text
    try:
        return int(text)
    except ValueError:
        raise XfasError(f"--target {text!r}: expected 'spoof' or a class index") from None


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


@app.command("explain")
def explain_command(
    images: list[Path] = typer.Argument(..., help="Image files (JPEG, PNG, ...), one or more."),
    model: str = typer.Option(
        ..., "--model", "-m",
        help="'minifasnet-v2', 'minifasnet-v1se', or a checkpoint / run folder from "
             "`xfas train`."),
    methods: str = typer.Option(
        DEFAULT_METHODS, "--methods",
        help="Comma-separated explainers: gradcam, gradcam++, eigengradcam, ablationcam, "
             "randomcam, rise, lime, shap, eigencam, layercam, scorecam, hirescam, xgradcam."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the PNGs and maps.npz."),
    layer: str | None = typer.Option(
        None, "--layer", help="Target layer of the CAM methods (default: the model's)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random methods."),
    target: str = typer.Option(
        "spoof", "--target", help="'spoof' (the model's spoof score) or a class index."),
    batch_size: int = typer.Option(
        64, "--batch-size", help="Most perturbed inputs in one forward pass."),
    samples: int | None = typer.Option(
        None, "--samples", min=1,
        help="Model evaluations per image for rise, lime and shap (default: 4000, 1000, "
             "2048)."),
    assets: Path | None = typer.Option(
        None, "--assets", help="Folder with models/, detector/ (default: $XFAS_ASSETS)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    concepts: Path | None = typer.Option(
        None, "--concepts", help="A SPED concept bank of this model (`xfas discover`): also "
                                 "write IMAGE_sped.png (Fig. 6) and print each verdict in words."),
) -> None:
    """Explain a model's spoof decision on each image with each method.

    Crop models (MiniFASNet) first find the face; the maps are drawn back on the whole image.

    Writes into OUT: IMAGE_METHOD.png (heat map over the image), IMAGE_lime_regions.png and
    IMAGE_shap_cells.png (LIME's top superpixels, SHAP's red/blue regions, on the model's
    input), grid.png (images x methods) and maps.npz (one float32 map per IMAGE__METHOD, in
    [0, 1], at the image's size).
    """
    from xfas.models import load_model

    names = parse_methods(methods)
    target_value = parse_target(target)
    fas_model = load_model(model, assets=assets)
    inputs = prepare_inputs(images, fas_model, assets)
    results = explain_inputs(fas_model, inputs, names, target_value, layer, seed, batch_size,
                             progress, samples)
    for path in write_outputs(out, fas_model, inputs, results):
        typer.echo(str(path))
    if concepts is not None:
        from xfas.cli.sped_cmd import explain_concepts
        explain_concepts(out, fas_model, inputs, concepts, batch_size, progress)
