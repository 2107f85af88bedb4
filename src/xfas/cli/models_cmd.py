"""``xfas models``: the model names xfas knows."""

from __future__ import annotations

import typer

from xfas.cli.app import app


@app.command("models")
def models_command() -> None:
    """List the model names every --model takes: architectures to train, backbones, the real
    pretrained models; a run folder, a checkpoint or an ONNX file (with its card) work too."""
    from xfas.models.registry import model_names

    names = model_names()
    typer.echo("architectures (xfas train): " + ", ".join(names["architectures"]))
    typer.echo("backbones (xfas train; pip install 'xfas[backbones]'): "
               + ", ".join(names["backbones"]))
    typer.echo("pretrained (XFAS_ASSETS): " + ", ".join(names["pretrained"])
               + " (minifasnet: V2 and V1SE fused)")
    typer.echo("files: a run folder or .safetensors of `xfas train`, MODEL.onnx with its card "
               "MODEL.json (pip install 'xfas[onnx]')")
