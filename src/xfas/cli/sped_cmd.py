"""``xfas discover`` and ``xfas concepts label|name|show``: SPED concept banks from the command
line. A bank is one safetensors file (BANK, e.g. ``bank.safetensors``) with its JSON header in
the file's metadata; ``discover`` writes the Fig. 4 crop grid beside it as
``<BANK stem>_concepts.png``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
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


def grid_path(bank: Path) -> Path:
    """Where ``discover`` and ``concepts show`` write the Fig. 4 grid of ``bank``."""
    return bank.with_name(f"{bank.stem}_concepts.png")


def _native(model) -> bool:
    """True when the dataset's own float images are the model's inputs (whole-image RGB models
    in [0, 1], such as the seed CNNs), so they are read exactly as in training."""
    return (model.crop_scale is None and model.channel_order == "RGB"
            and abs(model.pixel_scale - 1 / 255) < 1e-12)


def load_inputs(data: Path, split: str | None, model, spoof_only: bool, attack: str | None,
                limit: int | None, seed: int, masks: bool, assets: Path | None,
                progress: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
    """The model inputs (N, 3, S, S) of the chosen images of ``data`` and, with ``masks``,
    their evidence masks {evidence: bool (N, S, S)} on the same inputs.

    Seed CNNs read the dataset's own images (as in training); other models (MiniFASNet) get
    ``model.preprocess`` of the original image, around the face found by the detector (the
    whole image when no face is found, with a warning)."""
    from xfas.data import open_dataset
    from xfas.data.datasets.base import resize
    from xfas.progress import progress_bar

    native = _native(model)
    dataset = open_dataset(data, split=split, image_size=model.input_size if native else None)
    chosen = np.arange(len(dataset))
    if spoof_only:
        chosen = chosen[dataset.labels[chosen] == 1]
    if attack is not None:
        attacks = np.array(dataset.attacks, dtype=object)
        found = sorted({a for a, label in zip(attacks, dataset.labels) if label == 1})
        if attack not in found:
            raise XfasError(f"--attack {attack!r}: no such spoof images in {data} (split "
                            f"{split}); attacks there: {', '.join(found) or 'none'}")
        chosen = chosen[attacks[chosen] == attack]
    if chosen.size == 0:
        raise XfasError(f"--data {data}: no {'spoof ' if spoof_only else ''}images in split "
                        f"{split!r}")
    if limit is not None and chosen.size > limit:
        chosen = np.sort(np.random.default_rng(seed).choice(chosen, size=limit, replace=False))
    if masks and not hasattr(dataset, "load_masks"):
        raise XfasError(f"--data {data}: has no evidence masks (the benchmark layout of "
                        "`xfas synth` has them)")
    detector = None
    if not native and model.crop_scale is not None:
        from xfas.data.face import FaceDetector
        detector = FaceDetector.from_assets(assets)
    tensors: list[torch.Tensor] = []
    evidence: dict[str, list[torch.Tensor]] = {}
    missed = 0
    with progress_bar(progress) as bar:
        task = bar.add_task("reading images", total=int(chosen.size))
        for index in chosen.tolist():
            if native:
                item = dataset[index]
                tensors.append(item["image"])
                for name, mask in (item.get("masks") or {}).items() if masks else ():
                    evidence.setdefault(name, []).append(mask)
            else:
                rgb = dataset.original(index)
                box = detector.detect(rgb) if detector is not None else None
                missed += detector is not None and box is None
                tensor, geometry = model.preprocess(rgb, box)
                tensors.append(tensor)
                if masks:
                    x0, y0, x1, y1 = geometry.box
                    full = dataset.load_masks(dataset.names[index])
                    for name in dataset.evidence_types:
                        mask = full.get(name)
                        side = model.input_size
                        cut = (np.zeros((side, side), bool) if mask is None else
                               resize(mask.numpy()[y0:y1, x0:x1].astype(np.uint8), side,
                                      nearest=True) > 0)
                        evidence.setdefault(name, []).append(torch.from_numpy(cut))
            bar.advance(task)
    if missed:
        typer.echo(f"warning: {data}: no face found in {missed} of {chosen.size} images; the "
                   "whole image was used for them", err=True)
    stacked = {name: torch.stack(parts) for name, parts in evidence.items()} if masks else None
    return torch.stack(tensors), stacked


def explain_concepts(out: Path, model, inputs: list, bank: Path, batch_size: int,
                     progress: bool) -> list[Path]:
    """``xfas explain --concepts BANK``: Fig. 6 (OUT/IMAGE_sped.png) for each prepared input
    (``xfas.explain_images.ExplainInput``) and its verdict in words on stdout."""
    from xfas.sped import SPED, describe_explanation, explanation_figure

    sped = SPED.load(bank, model, batch_size=batch_size, progress=progress)
    explanation = sped.explain(torch.stack([item.tensor for item in inputs]))
    written = []
    for index, item in enumerate(inputs):
        written.append(explanation_figure(item.image, explanation, index,
                                          out / f"{item.name}_sped.png", item.geometry))
        typer.echo(f"{item.name}: {describe_explanation(explanation, index)}")
        typer.echo(str(written[-1]))
    return written


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
    from xfas.sped import SPED, crop_grid_figure

    if split not in ("train", "val", "test"):
        raise XfasError(f"--split {split!r}: expected train, val or test")
    if out.exists() and out.is_dir():
        raise XfasError(f"--out {out}: is a folder; give a file name such as bank.safetensors")
    fas_model = load_model(model, assets=assets)
    images, _ = load_inputs(data, split, fas_model, True, attack, limit, seed, False, assets,
                            progress)
    sped = SPED(fas_model, layer=layer, n_concepts=concepts, seed=seed,
                crop_fraction=crop_fraction, crop_stride=crop_stride, n_designs=designs,
                batch_size=batch_size, progress=progress).fit(images)
    sped.save(out)
    figure = crop_grid_figure(sped.bank_, grid_path(out))
    Console().print(concept_table(sped.bank_, f"{concepts} concepts of {fas_model.name} at "
                                  f"{sped.layer} from {images.shape[0]} spoof images"))
    typer.echo(f"written {out} and {figure}")


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
    from xfas.sped import SPED, propose_names

    fas_model = load_model(model, assets=assets)
    sped = SPED.load(concepts, fas_model, progress=progress)
    images, masks = load_inputs(data, split, fas_model, False, None, limit, seed, True, assets,
                                progress)
    proposal = propose_names(sped, images, masks, min_share, min_lift)
    table = Table("index", "name", "images", *[f"{e}\nshare / lift" for e in proposal.evidence],
                  "proposed", title=f"concepts of {concepts} on {data} ({split}, "
                                    f"{images.shape[0]} images)")
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

    loaded = ConceptBank.load(bank)
    Console().print(concept_table(loaded, f"{loaded.n_concepts} concepts of "
                                  f"{loaded.model_name} at {loaded.layer} ({bank})"))
    if loaded.top_crops is not None:
        typer.echo(f"written {crop_grid_figure(loaded, figure or grid_path(bank))}")
