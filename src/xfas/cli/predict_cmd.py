"""``xfas predict``: spoof or live verdicts on image files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from xfas.cli.app import app
from xfas.cli.options import AssetsOption, CardOption, ImagesArgument, PredictorOption


@app.command("predict")
def predict_command(
    images: ImagesArgument,
    model: PredictorOption = "minifasnet",
    card: CardOption = None,
    weights: Path | None = typer.Option(
        None, "--weights",
        help="The .pth file for minifasnet-v2 or minifasnet-v1se (default: from --assets)."),
    detector: Path | None = typer.Option(
        None, "--detector",
        help="RetinaFace .caffemodel (deploy.prototxt beside it). Default: from --assets, "
             "else OpenCV's Haar cascade."),
    assets: AssetsOption = None,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per image (JSON Lines)."),
) -> None:
    """Say whether the face in each image is a spoof (attack) or live.

    Prints the verdict and the spoof probability 1 - P(live), e.g. `spoof 0.9277`.

    With several images each line ends with the image's path.

    An unreadable image or one without a face stops with a one-line error (exit status 2).
    """
    from xfas.data.image_io import load_image
    from xfas.models.fused import load_predictor

    predictor = load_predictor(model, weights=weights, detector=detector, assets=assets,
                               card=card)
    for path in images:
        result = predictor.predict(load_image(path), name=str(path))
        if as_json:
            typer.echo(json.dumps({"image": str(path), **result.to_dict()}))
        else:
            line = f"{result.label} {result.spoof_probability:.4f}"
            typer.echo(line if len(images) == 1 else f"{line} {path}")
