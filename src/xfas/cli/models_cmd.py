"""``xfas models``: the model names xfas knows."""

from __future__ import annotations

import typer

from xfas.cli.app import app


@app.command("models")
def models_command() -> None:
    """List the architectures (trainable with `xfas train`) and the real pretrained models."""
    from xfas.models.registry import PRETRAINED, available_models

    typer.echo("architectures: " + ", ".join(available_models()))
    typer.echo("pretrained (XFAS_ASSETS): " + ", ".join(PRETRAINED))
