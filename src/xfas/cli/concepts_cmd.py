"""``xfas concepts discover|label|name|show``: SPED concept banks from the command line
(``xfas discover`` is the hidden old name of ``xfas concepts discover``). A bank is one
safetensors file (BANK, e.g. ``bank.safetensors``) with its JSON header in the file's metadata;
``discover`` writes the Fig. 4 crop grid beside it as ``<BANK stem>_concepts.png``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import app
from xfas.cli.loading import open_model
from xfas.cli.options import (AssetsOption, BankArgument, BatchSizeOption, CardOption,
                              ConceptBankOption, DataOption, EvidenceDataOption, LayerOption,
                              LimitOption, ModelOption, ProgressOption, SeedOption, SplitOption)
from xfas.cli.parsing import check_choice
from xfas.errors import XfasError

concepts_app = typer.Typer(help="SPED concept banks: discover, label, name and show them.",
                           no_args_is_help=True)
app.add_typer(concepts_app, name="concepts")


def concept_table(bank: Any, title: str) -> Table:
    """Concepts by importance: index (for names.json), name, the attack type it was found on
    (banks discovered per attack), importance +- spread, raw index."""
    import numpy as np

    sources = list(bank.sources)
    table = Table("index", "name", *(["source"] if sources else []), "importance", "± std",
                  "raw S_T", title=title)
    for k in np.argsort(-bank.importances, kind="stable"):
        table.add_row(str(k), bank.names[k], *([sources[k]] if sources else []),
                      f"{bank.importances[k]:.3f}", f"{bank.importance_std[k]:.3f}",
                      f"{bank.raw_importances[k]:.3f}")
    return table


def _share_lift(share: float, lift: float) -> str:
    if not math.isfinite(share):
        return "-"
    return f"{share:.2f} / {lift:.1f}" if math.isfinite(lift) else f"{share:.2f} / -"


@concepts_app.command("discover")
def discover_command(
    model: ModelOption,
    data: DataOption,
    out: Path = typer.Option(..., "--out", "-o",
                             help="The concept bank file to write (e.g. bank.safetensors)."),
    concepts: int = typer.Option(10, "--concepts", "-k", min=1, help="Number of concepts K "
                                 "(per attack type with --by-attack)."),
    attack: str | None = typer.Option(
        None, "--attack", help="Only spoof images of this attack type (e.g. print, cut, "
                               "replay); default: every spoof image."),
    per_attack: bool = typer.Option(
        False, "--by-attack", help="Discover K concepts on each attack type's spoof images "
                                    "separately and merge them into one bank that records "
                                    "each concept's attack type."),
    split: SplitOption = "train",
    layer: LayerOption = None,
    seed: SeedOption = 0,
    limit: LimitOption = None,
    crop_fraction: float = typer.Option(0.5, "--crop-fraction",
                                        help="Crop side as a fraction of the input side."),
    crop_stride: float = typer.Option(0.25, "--crop-stride",
                                      help="Crop step as a fraction of the input side."),
    designs: int = typer.Option(32, "--designs", min=2,
                                help="Sobol base points (h runs designs x (K + 2) times "
                                     "per image)."),
    batch_size: BatchSizeOption = 64,
    assets: AssetsOption = None,
    card: CardOption = None,
    progress: ProgressOption = True,
) -> None:
    """Discover K spoofing-evidence concepts on the spoof images of a dataset (SPED).

    Crops the images, factorises the layer's activations with Semi-NMF, ranks the concepts by
    total Sobol index for the spoof decision, and writes the bank OUT with the Fig. 4 grid of
    each concept's most activating crops beside it (OUT-stem_concepts.png). --limit draws a
    random subset with --seed, which also seeds the Semi-NMF and the masks. --by-attack
    factorises each attack type's images alone (K concepts each, from the --limit subset) and
    ranks the merged concepts on all of them together.
    """
    from xfas.workflows.concepts import Selection, discover_concepts, grid_path

    check_choice("--split", split, ("train", "val", "test"))
    fas_model = open_model(model, card=card, assets=assets, what="to discover concepts on")
    selection = Selection(split=split, attack=attack, limit=limit, seed=seed)
    sped = discover_concepts(fas_model, data, out, selection=selection, per_attack=per_attack,
                             assets=assets, progress=progress, layer=layer,
                             n_concepts=concepts, seed=seed, crop_fraction=crop_fraction,
                             crop_stride=crop_stride, n_designs=designs, batch_size=batch_size)
    bank = sped.bank_
    found = (f"{concepts} per attack type ({', '.join(dict.fromkeys(bank.sources))})"
             if per_attack else str(concepts))
    Console().print(concept_table(bank, f"{bank.n_concepts} concepts ({found}) of "
                                  f"{fas_model.name} at {sped.layer} from {bank.n_images} "
                                  "spoof images"))
    typer.echo(f"written {out} and {grid_path(out)}")


app.command("discover", hidden=True)(discover_command)


@concepts_app.command("label")
def label_command(
    model: ModelOption,
    concepts: ConceptBankOption,
    data: EvidenceDataOption,
    split: SplitOption = "val",
    limit: LimitOption = None,
    seed: SeedOption = 0,
    min_share: float = typer.Option(0.25, "--min-share", help="Least share of a concept's "
                                    "map mass on an evidence type for it to be proposed."),
    min_lift: float = typer.Option(1.5, "--min-lift", help="Least ratio of that share to a "
                                   "uniform map's."),
    write: bool = typer.Option(False, "--write", help="Store the proposed names in the bank."),
    assets: AssetsOption = None,
    card: CardOption = None,
    progress: ProgressOption = True,
) -> None:
    """Propose a name for each concept: the evidence type its maps overlap most.

    On the images of SPLIT (live and spoof; keep it apart from the images you later score),
    each concept's maps are compared with each evidence mask on the layer's grid: share =
    fraction of the map's mass on the evidence, lift = share / the share of a uniform map. A
    concept gets the evidence of highest lift among those with share >= --min-share and lift
    >= --min-lift. --limit draws a random subset with --seed.
    """
    from xfas.sped import SPED
    from xfas.workflows.concepts import Selection, propose_names_from_masks

    fas_model = open_model(model, card=card, assets=assets, what="to name concepts on")
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


@concepts_app.command("name")
def name_command(
    bank: BankArgument,
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
    bank: BankArgument,
    figure: Path | None = typer.Option(None, "--figure", help="Where to write the Fig. 4 "
                                       "crop grid (default: BANK-stem_concepts.png)."),
) -> None:
    """Print a bank's concepts by importance and draw its crop grid (Fig. 4)."""
    from xfas.sped import ConceptBank, crop_grid_figure
    from xfas.workflows.concepts import grid_path

    loaded = ConceptBank.load(bank)
    Console().print(concept_table(loaded, f"{loaded.n_concepts} concepts of "
                                  f"{loaded.model_name} at {loaded.layer} ({bank})"))
    if loaded.top_crops is not None:
        typer.echo(f"written {crop_grid_figure(loaded, figure or grid_path(bank))}")
