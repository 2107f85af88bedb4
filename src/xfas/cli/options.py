"""The options several commands share, declared once: the same flag, the same help text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DATA_HELP = ("Dataset folder: the benchmark layout of `xfas synth`, live/ and spoof/ folders, "
             "CelebA-Spoof or CASIA-FASD.")
MODEL_HELP = ("'minifasnet-v2', 'minifasnet-v1se', or a checkpoint / run folder from "
              "`xfas train`.")

AssetsOption = Annotated[Optional[Path], typer.Option(
    "--assets", help="Folder with the Silent-Face models/, detector/ and images/ (default: "
                     "$XFAS_ASSETS).")]
ProgressOption = Annotated[bool, typer.Option("--progress/--no-progress",
                                              help="Show progress bars.")]
ModelOption = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
DataOption = Annotated[Path, typer.Option("--data", help=DATA_HELP)]
