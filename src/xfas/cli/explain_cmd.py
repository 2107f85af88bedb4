"""``xfas explain``: saliency maps of a model's decision on image files, as PNG figures and a
``maps.npz`` (the steps live in ``xfas.workflows.explain_files``)."""

from __future__ import annotations

from pathlib import Path

import typer

from xfas.cli.app import app
from xfas.cli.loading import open_model
from xfas.cli.options import (AssetsOption, BatchSizeOption, CardOption, ConceptBankOption,
                              ImagesArgument, LayerOption, MethodsOption, ModelOption,
                              ProgressOption, SeedOption)
from xfas.cli.parsing import parse_methods, parse_target

DEFAULT_METHODS = "gradcam,lime,shap"


@app.command("explain")
def explain_command(
    images: ImagesArgument,
    model: ModelOption,
    card: CardOption = None,
    methods: MethodsOption = DEFAULT_METHODS,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the PNGs and maps.npz."),
    layer: LayerOption = None,
    seed: SeedOption = 0,
    target: str = typer.Option(
        "spoof", "--target", help="'spoof' (the model's spoof score) or a class index."),
    batch_size: BatchSizeOption = 64,
    samples: int | None = typer.Option(
        None, "--samples", min=1,
        help="Model evaluations per image for rise, lime and shap (default: 4000, 1000, "
             "2048)."),
    assets: AssetsOption = None,
    progress: ProgressOption = True,
    concepts: ConceptBankOption = None,
) -> None:
    """Explain a model's spoof decision on each image with each method.

    Crop models (MiniFASNet) first find the face; the maps are drawn back on the whole image.
    With --concepts, also IMAGE_sped.png (Fig. 6) and each verdict in words.

    Writes into OUT: IMAGE_METHOD.png (heat map over the image), IMAGE_lime_regions.png and
    IMAGE_shap_cells.png (LIME's top superpixels, SHAP's red/blue regions, on the model's
    input), grid.png (images x methods) and maps.npz (one float32 map per IMAGE__METHOD, in
    [0, 1], at the image's size).
    """
    from xfas.workflows.explain_files import (explain_concepts, explain_inputs, prepare_inputs,
                                              write_outputs)

    names = parse_methods(methods)
    target_value = parse_target(target)
    fas_model = open_model(model, card=card, assets=assets)
    inputs = prepare_inputs(images, fas_model, assets=assets)
    results = explain_inputs(fas_model, inputs, names, target=target_value, layer=layer,
                             seed=seed, batch_size=batch_size, progress=progress,
                             samples=samples)
    for path in write_outputs(out, fas_model, inputs=inputs, results=results):
        typer.echo(str(path))
    if concepts is not None:
        explained = explain_concepts(out, fas_model, inputs=inputs, bank=concepts,
                                     batch_size=batch_size, progress=progress)
        for item, (figure, sentence) in zip(inputs, explained):
            typer.echo(f"{item.name}: {sentence}")
            typer.echo(str(figure))
