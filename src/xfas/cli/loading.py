"""Loading the model a command names with ``--model`` (and ``--card``), the same way in every
command: any name ``xfas models`` lists, a run or checkpoint, an ONNX file. What the library
warns about while loading (an ONNX file that runs as a black box) is printed as one note line."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from xfas.errors import XfasError

if TYPE_CHECKING:
    from xfas.models import FASModel
    from xfas.training.scoring import Scorer


def open_model(spec: str | None, *, card: Path | None = None, assets: Path | None = None,
               what: str = "to explain") -> "FASModel":
    """The one network ``spec`` names; the fused ``minifasnet`` is an error saying which model
    to use instead (``what``: what the command does with the network)."""
    from xfas.models.registry import FUSED, fused_model_error, load_model

    if spec is None:
        raise XfasError("--model: required")
    if spec == FUSED:
        raise fused_model_error(what)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_model(spec, assets=assets, card=card)
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            typer.echo(f"note: {warning.message}", err=True)
    return model


def open_scorer(spec: str | None, *, card: Path | None = None, assets: Path | None = None
                ) -> "Scorer":
    """What scores images for ``xfas eval``: the fused MiniFASNet predictor for
    ``minifasnet``, else the one network ``spec`` names."""
    from xfas.models.fused import load_predictor
    from xfas.models.registry import FUSED

    if spec == FUSED:
        return load_predictor(spec, assets=assets, card=card)
    return open_model(spec, card=card, assets=assets, what="to score")


def model_label(spec: str) -> str:
    """How output files name the model: its name, a run folder's name or a file's stem."""
    path = Path(spec)
    if path.is_dir():
        return path.resolve().name
    return path.stem if path.suffix else spec
