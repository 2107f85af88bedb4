"""``xfas synth``: write a SynthSpoof data set (spoof images with pixel-exact evidence masks)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from xfas.cli.app import app
from xfas.errors import XfasError


def _mix(text: str | None) -> dict[str, float] | None:
    """``live=0.4,print=0.2,cut=0.2,replay=0.2`` -> weights; XfasError naming --mix."""
    if text is None:
        return None
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            weights[name.strip()] = float(value)
        except ValueError:
            raise XfasError(f"--mix {text!r}: expected attack=weight pairs separated by commas, "
                            "e.g. live=0.4,print=0.2,cut=0.2,replay=0.2") from None
    return weights


@app.command("synth")
def synth_command(
    out: Path = typer.Option(..., "--out", help="Folder to write images/, masks/<evidence>/ "
                             "and manifest.json into (must be new or empty)."),
    n: int = typer.Option(1000, "--n", help="Number of images; image i does not depend on N."),
    size: int = typer.Option(128, "--size", help="Image side in pixels (at least 32)."),
    seed: int = typer.Option(0, "--seed", help="Data set seed: same seed, same bytes."),
    faces: Optional[Path] = typer.Option(None, "--faces", help="Folder of your own live face "
                                         "photos (face centred, about half the width) to print "
                                         "and replay instead of drawn faces."),
    mix: Optional[str] = typer.Option(None, "--mix", help="Attack weights, default "
                                      "live=0.4,print=0.2,cut=0.2,replay=0.2."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the data set in a "
                                   "non-empty --out folder."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Generate SynthSpoof: live faces and print / cut / replay attacks with evidence masks
    (clutching_hand, cut_hole, ipad_border, photo_edge) and train/val/test splits, so training,
    explaining and benchmarking run with no downloaded data set."""
    from xfas.data.synth import generate_synthspoof

    generate_synthspoof(out, n, size=size, seed=seed, faces=faces, progress=progress,
                        overwrite=overwrite, mix=_mix(mix))
    typer.echo(f"wrote {n} images to {out} (manifest: {out / 'manifest.json'})")


@app.command("synth-grid")
def synth_grid_command(
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    seed: int = typer.Option(0, "--seed", help="Data set seed whose samples are shown."),
    size: int = typer.Option(128, "--size", help="Image side in pixels (at least 32)."),
    per_attack: int = typer.Option(4, "--per-attack", min=1, help="Samples per attack type."),
    model: Optional[str] = typer.Option(None, "--model", help="A run folder or checkpoint: "
                                        "show its heat maps with the evidence outlined "
                                        "instead of the masks."),
    method: str = typer.Option("gradcam", "--method", help="Explainer for --model."),
) -> None:
    """Draw the first samples of each attack type of a SynthSpoof seed next to their evidence
    masks, or next to a model's heat maps to see whether it looks at the evidence."""
    from xfas.models import load_model
    from xfas.plots import mask_panel, save_sample_grid
    from xfas.workflows.sample_grids import heat_map_panel

    panel = mask_panel if model is None else heat_map_panel(load_model(model), method)
    save_sample_grid(out, seed=seed, size=size, per_attack=per_attack, panel=panel)
    typer.echo(f"wrote {out}")
