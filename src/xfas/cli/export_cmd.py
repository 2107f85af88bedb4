"""``xfas export``: any xfas model as an ONNX file with its model card beside it."""

from __future__ import annotations

from pathlib import Path

import typer

from xfas.cli.app import app
from xfas.cli.loading import open_model
from xfas.cli.options import AssetsOption, CardOption, ModelOption


@app.command("export")
def export_command(
    model: ModelOption,
    onnx: Path = typer.Option(..., "--onnx", help="The ONNX file to write (OUT.onnx); the "
                                                  "card goes beside it as OUT.json."),
    card: CardOption = None,
    assets: AssetsOption = None,
) -> None:
    """Write a model (MiniFASNet, a trained run, a CNN or backbone checkpoint) as ONNX.

    The card beside it says how an image becomes the model's input; `--model OUT.onnx` loads
    the pair back on every command, with every explainer.
    """
    from xfas.models.onnx_export import export_onnx

    fas_model = open_model(model, card=card, assets=assets, what="to export as one ONNX graph")
    written, card_file = export_onnx(fas_model, onnx)
    typer.echo(f"written {written} and its card {card_file}")
