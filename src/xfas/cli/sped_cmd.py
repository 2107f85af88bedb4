"""``xfas discover`` and ``xfas concepts label|name|show``: SPED concept banks from the command
line. A bank is one safetensors file (BANK, e.g. ``bank.safetensors``) with its JSON header in
the file's metadata; ``discover`` writes the Fig. 4 crop grid beside it as
``<BANK stem>_concepts.png``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import app
from xfas.errors import XfasError

concepts_app = typer.Typer(help="Name and inspect SPED concept banks.", no_args_is_help=True)
app.add_typer(concepts_app, name="concepts")

DATA_HELP = ("Dataset folder: the benchmark layout of `xfas synth`, live/ and spoof/ folders, "
             "CelebA-Spoof or CASIA-FASD.")
MODEL_HELP = ("'minifasnet-v2', 'minifasnet-v1se', or a checkpoint / run folder from "
              "`xfas train`.")


def concept_table(bank, title: str) -> Table:
    """Concepts by importance: index (for names.json), name, importance +- spread, raw index."""
    table = Table("index", "name", "importance", "± std", "raw S_T", title=title)
    for k in np.argsort(-bank.importances, kind="stable"):
        table.add_row(str(k), bank.names[k], f"{bank.importances[k]:.3f}",
                      f"{bank.importance_std[k]:.3f}", f"{bank.raw_importances[k]:.3f}")
    return table


@app.command("discover")
def discover_command(
    model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o",
                             help="The concept bank file to write (e.g. bank.safetensors)."),
    concepts: int = typer.Option(10, "--concepts", "-k", min=1, help="Number of concepts K."),
    attack: str | None = typer.Option(
        None, "--attack", help="Only spoof images of this attack type (e.g. print, cut, "
                               "replay); default: every spoof image."),
    split: str = typer.Option("train", "--split", help="Split to learn from: train, val, test."),
    layer: str | None = typer.Option(None, "--layer", help="Layer to cut the model at "
                                     "(default: the model's default layer)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the Semi-NMF, the masks and --limit."),
    limit: int | None = typer.Option(None, "--limit", min=1,
                                     help="Use at most N images (a seeded random subset)."),
    crop_fraction: float = typer.Option(0.5, "--crop-fraction",
                                        help="Crop side as a fraction of the input side."),
    crop_stride: float = typer.Option(0.25, "--crop-stride",
                                      help="Crop step as a fraction of the input side."),
    designs: int = typer.Option(32, "--designs", min=2,
                                help="Sobol base points (h runs designs x (K + 2) times "
                                     "per image)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1,
                                   help="Most crops or perturbed activations at once."),
    assets: Path | None = typer.Option(None, "--assets", help="Folder with models/, detector/ "
                                       "(default: $XFAS_ASSETS)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Discover K spoofing-evidence concepts on the spoof images of a dataset (SPED).

    Crops the images, factorises the layer's activations with Semi-NMF, ranks the concepts by
    total Sobol index for the spoof decision, and writes the bank OUT with the Fig. 4 grid of
    each concept's most activating crops beside it (OUT-stem_concepts.png).
    """
    from xfas.models import load_model
    from xfas.workflows.concepts import Selection, discover_concepts, grid_path

    if split not in ("train", "val", "test"):
        raise XfasError(f"--split {split!r}: expected train, val or test")
    fas_model = load_model(model, assets=assets)
    selection = Selection(split=split, attack=attack, limit=limit, seed=seed)
    sped = discover_concepts(fas_model, data, out, selection=selection, assets=assets,
                             progress=progress, layer=layer, n_concepts=concepts, seed=seed,
                             crop_fraction=crop_fraction, crop_stride=crop_stride,
                             n_designs=designs, batch_size=batch_size)
    Console().print(concept_table(sped.bank_, f"{concepts} concepts of {fas_model.name} at "
                                  f"{sped.layer} from {sped.bank_.n_images} spoof images"))
    typer.echo(f"written {out} and {grid_path(out)}")


@concepts_app.command("label")
def label_command(
    model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
    concepts: Path = typer.Option(..., "--concepts", help="The concept bank (`xfas discover`)."),
    data: Path = typer.Option(..., "--data", help="A dataset with evidence masks (the "
                              "benchmark layout of `xfas synth`)."),
    split: str = typer.Option("val", "--split", help="Split whose masks name the concepts; "
                              "keep it apart from the images you later score."),
    limit: int | None = typer.Option(None, "--limit", min=1,
                                     help="Use at most N images (a seeded random subset)."),
    seed: int = typer.Option(0, "--seed", help="Seed of --limit."),
    min_share: float = typer.Option(0.25, "--min-share", help="Least share of a concept's "
                                    "map mass on an evidence type for it to be proposed."),
    min_lift: float = typer.Option(1.5, "--min-lift", help="Least ratio of that share to a "
                                   "uniform map's."),
    write: bool = typer.Option(False, "--write", help="Store the proposed names in the bank."),
    assets: Path | None = typer.Option(None, "--assets", help="Folder with models/, detector/ "
                                       "(default: $XFAS_ASSETS)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Propose a name for each concept: the evidence type its maps overlap most.

    On the images of SPLIT (live and spoof), each concept's maps are compared with each
    evidence mask on the layer's grid: share = fraction of the map's mass on the evidence,
    lift = share / the share of a uniform map. A concept gets the evidence of highest lift
    among those with share >= --min-share and lift >= --min-lift.
    """
    from xfas.models import load_model
    from xfas.sped import SPED
    from xfas.workflows.concepts import Selection, propose_names_from_masks

    fas_model = load_model(model, assets=assets)
    sped = SPED.load(concepts, fas_model, progress=progress)
    selection = Selection(split=split, spoof_only=False, limit=limit, seed=seed)
    proposal, count = propose_names_from_masks(sped, data, selection, min_share=min_share,
                                               min_lift=min_lift, assets=assets,
                                               progress=progress)
    table = Table("index", "name", "images", *[f"{e}\nshare / lift" for e in proposal.evidence],
                  "proposed", title=f"concepts of {concepts} on {data} ({split}, "
                                    f"{count} images)")
    for k, name in enumerate(sped.names):
        cells = [_share_lift(proposal.share[k, e], proposal.lift[k, e])
                 for e in range(len(proposal.evidence))]
        table.add_row(str(k), name, str(proposal.activated_images[k]), *cells,
                      proposal.proposed[k] or "-")
    Console().print(table)
    names = proposal.names(sped.names)
    typer.echo("proposed names: " + (", ".join(f"{k}: {label}" for k, label in names.items())
                                     or "none"))
    if write and names:
        sped.set_names(names).save(concepts)
        typer.echo(f"named {len(names)} concepts in {concepts}")
    elif write:
        typer.echo("no concept matched an evidence type; the bank is unchanged")


def _share_lift(share: float, lift: float) -> str:
    if not np.isfinite(share):
        return "-"
    return f"{share:.2f} / {lift:.1f}" if np.isfinite(lift) else f"{share:.2f} / -"


@concepts_app.command("name")
def name_command(
    bank: Path = typer.Argument(..., help="The concept bank file."),
    names: Path = typer.Option(..., "--names", help="JSON file {index: label}, indices as in "
                               "the table of `xfas concepts show` (0-based)."),
) -> None:
    """Set concept names from a JSON file such as {"0": "photo edge", "3": "clutching hand"}."""
    from xfas.sped import ConceptBank

    try:
        mapping = json.loads(names.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XfasError(f"--names {names}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise XfasError(f"--names {names}: not JSON ({error})") from None
    if not isinstance(mapping, dict):
        raise XfasError(f"--names {names}: expected a JSON object {{index: label}}")
    loaded = ConceptBank.load(bank)
    try:
        renamed = loaded.with_names(mapping)
    except XfasError as error:
        raise XfasError(f"--names {names}: {error}") from None
    renamed.save(bank)
    Console().print(concept_table(renamed, f"concepts of {bank}"))


@concepts_app.command("show")
def show_command(
    bank: Path = typer.Argument(..., help="The concept bank file."),
    figure: Path | None = typer.Option(None, "--figure", help="Where to write the Fig. 4 crop "
                                       "grid (default: BANK-stem_concepts.png)."),
) -> None:
    """Print a bank's concepts by importance and draw its crop grid (Fig. 4)."""
    from xfas.sped import ConceptBank, crop_grid_figure
    from xfas.workflows.concepts import grid_path

    loaded = ConceptBank.load(bank)
    Console().print(concept_table(loaded, f"{loaded.n_concepts} concepts of "
                                  f"{loaded.model_name} at {loaded.layer} ({bank})"))
    if loaded.top_crops is not None:
        typer.echo(f"written {crop_grid_figure(loaded, figure or grid_path(bank))}")
