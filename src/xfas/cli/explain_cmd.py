"""``xfas explain``: saliency maps of a model's decision on image files, as PNG figures and a
``maps.npz`` (the steps live in ``xfas.workflows.explain_files``)."""

from __future__ import annotations

from pathlib import Path

import typer

from xfas.cli.app import app
from xfas.errors import XfasError

DEFAULT_METHODS = "gradcam,lime,shap"


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
    from xfas.workflows.explain_files import (explain_concepts, explain_inputs, prepare_inputs,
                                              write_outputs)

    names = parse_methods(methods)
    target_value = parse_target(target)
    fas_model = load_model(model, assets=assets)
    inputs = prepare_inputs(images, fas_model, assets)
    results = explain_inputs(fas_model, inputs, names, target=target_value, layer=layer,
                             seed=seed, batch_size=batch_size, progress=progress,
                             samples=samples)
    for path in write_outputs(out, fas_model, inputs, results):
        typer.echo(str(path))
    if concepts is not None:
        for item, (figure, sentence) in zip(inputs, explain_concepts(
                out, fas_model, inputs, concepts, batch_size=batch_size, progress=progress)):
            typer.echo(f"{item.name}: {sentence}")
            typer.echo(str(figure))
