"""``xfas synth generate|grid``: SynthSpoof data sets (spoof images with pixel-exact evidence
masks) and pictures of their samples. ``xfas synth --out DIR ...`` (no command name) still
generates, and ``xfas synth-grid`` is the hidden old name of ``xfas synth grid``."""

from __future__ import annotations

from pathlib import Path

import typer

from xfas.cli.app import app, run_by_default
from xfas.cli.loading import open_model
from xfas.cli.options import (CardOption, DrawnOption, FacesOption, ModelOption, ProgressOption,
                              SeedOption, SizeOption)
from xfas.cli.parsing import parse_mix

synth_app = typer.Typer(
    help="SynthSpoof, a data set with evidence masks: generate one, draw its samples.\n\n"
         "`xfas synth --out DIR` with the options below (no command name) generates a data "
         "set as `xfas synth generate` does.",
    subcommand_metavar="[COMMAND [ARGS]...]")
app.add_typer(synth_app, name="synth")


@synth_app.command("generate")
def generate_command(
    out: Path = typer.Option(..., "--out", help="Folder to write images/, masks/<evidence>/ "
                             "and manifest.json into (must be new or empty)."),
    n: int = typer.Option(1000, "--n", help="Number of images; image i does not depend on N."),
    size: SizeOption = 128,
    seed: SeedOption = 0,
    faces: FacesOption = None,
    drawn: DrawnOption = False,
    mix: str | None = typer.Option(None, "--mix", help="Attack weights, default "
                                   "live=0.4,print=0.2,cut=0.2,replay=0.2."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the data set in a "
                                   "non-empty --out folder."),
    progress: ProgressOption = True,
) -> None:
    """Generate SynthSpoof: live faces and print / cut / replay attacks with evidence masks.

    The people are real (face photos from --faces or $XFAS_FACES; each person in one split) or,
    without photos or with --drawn, drawn. The masks are clutching_hand, cut_hole, ipad_border
    and photo_edge, plus print_surface and screen_surface; the manifest holds train/val/test
    splits and face boxes, so training, explaining and benchmarking run with no downloaded data
    set. The same seed gives the same bytes.
    """
    from xfas.data.synth import generate_synthspoof

    photos = people(faces, drawn=drawn)
    generate_synthspoof(out, n=n, size=size, seed=seed, faces=photos, progress=progress,
                        overwrite=overwrite, mix=parse_mix(mix))
    typer.echo(f"wrote {n} images to {out} (manifest: {out / 'manifest.json'})")
    note_drawn(photos, drawn=drawn)


run_by_default(synth_app, generate_command)


def people(faces: Path | None, *, drawn: bool) -> Path | None:
    """The face photos to use: --faces, else $XFAS_FACES, else none (drawn people); --drawn
    draws them in any case."""
    from xfas.data.synth import find_face_photos

    return None if drawn else find_face_photos(faces)


def note_drawn(photos: Path | None, *, drawn: bool) -> None:
    """Say on stderr that the people were drawn for want of photos (not when asked to)."""
    from xfas.data.synth.photos import FACES_SOURCE

    if photos is None and not drawn:
        typer.echo(f"note: no face photos (--faces or $XFAS_FACES), so the people were drawn; "
                   f"real people are what FAS models meet: {FACES_SOURCE}", err=True)


@synth_app.command("grid")
def grid_command(
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    seed: SeedOption = 0,
    size: SizeOption = 128,
    per_attack: int = typer.Option(4, "--per-attack", min=1, help="Samples per attack type."),
    model: ModelOption = None,
    card: CardOption = None,
    method: str = typer.Option("gradcam", "--method", help="Explainer for --model."),
    faces: FacesOption = None,
    drawn: DrawnOption = False,
) -> None:
    """Draw the first samples of each attack type of a SynthSpoof seed.

    Each sample stands next to its evidence masks, or, with --model, next to the model's heat
    map with the evidence outlined, to see whether the model looks at the evidence.
    """
    from xfas.plots import mask_panel, save_sample_grid
    from xfas.workflows.sample_grids import heat_map_panel

    panel = mask_panel if model is None else heat_map_panel(open_model(model, card=card), method)
    photos = people(faces, drawn=drawn)
    save_sample_grid(out, seed=seed, size=size, per_attack=per_attack, panel=panel,
                     faces=photos)
    typer.echo(f"wrote {out}")
    note_drawn(photos, drawn=drawn)


app.command("synth-grid", hidden=True)(grid_command)
