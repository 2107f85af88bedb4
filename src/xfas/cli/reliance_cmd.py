"""``xfas reliance``: does a trained model's spoof verdict rest on the evidence or the face?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import app
from xfas.errors import XfasError


@app.command("reliance")
def reliance_command(
    model: str = typer.Option(..., "--model", help="A run folder, checkpoint or pretrained name."),
    data: Path = typer.Option(..., "--data", help="Benchmark layout with evidence masks "
                              "(`xfas synth` output; face boxes from its manifest)."),
    split: str = typer.Option("test", help="Split to use: train, val, test or all."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1,
                                        help="Use the first N spoof images only."),
    threshold: float = typer.Option(0.5, min=0.0, max=1.0, help="Spoof-probability threshold."),
    seed: int = typer.Option(0, help="Seed of the control boxes' places."),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON file for the result."),
) -> None:
    """Blur the evidence, the face (minus evidence) and a control box of each spoof image in
    turn; print the mean spoof probability after each and the share of verdicts flipped."""
    from xfas.benchmark.reliance import evidence_reliance
    from xfas.models import load_model

    if split not in ("train", "val", "test", "all"):
        raise XfasError(f"--split {split!r}: expected train, val, test or all")
    result = evidence_reliance(load_model(model), data, None if split == "all" else split,
                               threshold=threshold, seed=seed, limit=limit)
    table = Table("blurred", "images", "area", "spoof probability", "flipped to live",
                  title=f"{model} on {result.images} spoof images of {data} ({split}); "
                        f"untouched spoof probability {result.spoof_probability:.3f}")
    for effect in result.effects:
        table.add_row(effect.region, str(effect.images), f"{effect.area:.3f}",
                      f"{effect.spoof_probability:.3f}", f"{effect.flipped:.3f}")
    Console().print(table)
    if out is not None:
        try:
            out.write_text(json.dumps(result.to_json(), indent=1))
        except OSError as error:
            raise XfasError(f"--out {out}: cannot write the result ({error.strerror})") from error
        typer.echo(f"written {out}")
