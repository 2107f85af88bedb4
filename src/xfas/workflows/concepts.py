"""SPED on a dataset: the model inputs of a dataset's images (with their evidence masks on the
same inputs), concept discovery on its spoof images (pooled, or per attack type and merged)
into a bank file with its Fig. 4 grid, and names proposed from its evidence masks.
``xfas concepts`` and the demo run these steps."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from xfas.data import open_dataset
from xfas.data.benchmark_layout import BenchmarkLayout
from xfas.data.face import FaceDetector
from xfas.data.geometry import resize_square
from xfas.errors import XfasError
from xfas.models import FASModel
from xfas.models.base import reads_dataset_images
from xfas.progress import progress_bar
from xfas.sped import SPED, LabelProposal, crop_grid_figure, propose_names
from xfas.sped.labeling import MIN_LIFT, MIN_SHARE


@dataclass(frozen=True)
class Selection:
    """Which images of a dataset: a split (None: all), spoof images only or every image, one
    attack type or all, at most ``limit`` of them (a subset drawn with ``seed``)."""

    split: str | None = "train"
    spoof_only: bool = True
    attack: str | None = None
    limit: int | None = None
    seed: int = 0


def grid_path(bank: Path) -> Path:
    """Where the Fig. 4 crop grid of the bank file ``bank`` is written."""
    return bank.with_name(f"{bank.stem}_concepts.png")


def _chosen(dataset, data: Path, selection: Selection) -> np.ndarray:
    chosen = np.arange(len(dataset))
    if selection.spoof_only:
        chosen = chosen[dataset.labels[chosen] == 1]
    if selection.attack is not None:
        attacks = np.array(dataset.attacks, dtype=object)
        found = sorted({a for a, label in zip(attacks, dataset.labels) if label == 1})
        if selection.attack not in found:
            raise XfasError(f"--attack {selection.attack!r}: no such spoof images in {data} "
                            f"(split {selection.split}); attacks there: "
                            f"{', '.join(found) or 'none'}")
        chosen = chosen[attacks[chosen] == selection.attack]
    if chosen.size == 0:
        kind = "spoof " if selection.spoof_only else ""
        raise XfasError(f"--data {data}: no {kind}images in split {selection.split!r}")
    if selection.limit is not None and chosen.size > selection.limit:
        rng = np.random.default_rng(selection.seed)
        chosen = np.sort(rng.choice(chosen, size=selection.limit, replace=False))
    return chosen


def selected_attacks(data: str | Path, model: FASModel, selection: Selection) -> list[str]:
    """The attack type of each selected image of ``data``, in the order ``dataset_inputs``
    returns the images ("live" for live images)."""
    dataset = open_dataset(Path(data), split=selection.split,
                           image_size=model.input_size if reads_dataset_images(model) else None)
    attacks = dataset.attacks
    return [str(attacks[i]) for i in _chosen(dataset, Path(data), selection).tolist()]


def dataset_inputs(data: str | Path, model: FASModel, selection: Selection, *,
                   masks: bool = False, assets: Path | None = None, progress: bool = True
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
    """The model inputs (N, 3, S, S) of the selected images of ``data`` and, with ``masks``,
    their evidence masks {evidence: bool (N, S, S)} on the same inputs.

    Seed CNNs read the dataset's own images (as in training); other models (MiniFASNet) get
    ``model.preprocess`` of the original image, around the face found by the detector (the
    whole image when no face is found, with a warning)."""
    data = Path(data)
    native = reads_dataset_images(model)
    dataset = open_dataset(data, split=selection.split,
                           image_size=model.input_size if native else None)
    chosen = _chosen(dataset, data, selection)
    if masks and not hasattr(dataset, "load_masks"):
        raise XfasError(f"--data {data}: has no evidence masks (the benchmark layout of "
                        "`xfas synth` has them)")
    detector = (FaceDetector.from_assets(assets)
                if not native and model.crop_scale is not None else None)
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
                    for name, cut in _masks_on_input(dataset, index, geometry.box,
                                                     side=model.input_size).items():
                        evidence.setdefault(name, []).append(cut)
            bar.advance(task)
    if missed:
        warnings.warn(f"{data}: no face found in {missed} of {chosen.size} images; the whole "
                      "image was used for them", stacklevel=2)
    stacked = {name: torch.stack(parts) for name, parts in evidence.items()} if masks else None
    return torch.stack(tensors), stacked


def _masks_on_input(dataset, index: int, box: tuple[int, int, int, int], *, side: int
                    ) -> dict[str, torch.Tensor]:
    """Every evidence mask of item ``index`` cut to ``box`` and resized to the model input."""
    x0, y0, x1, y1 = box
    full = dataset.load_masks(dataset.names[index])
    cuts = {}
    for name in dataset.evidence_types:
        mask = full.get(name)
        cut = (np.zeros((side, side), bool) if mask is None else
               resize_square(mask.numpy()[y0:y1, x0:x1].astype(np.uint8), side,
                             cv2.INTER_NEAREST) > 0)
        cuts[name] = torch.from_numpy(cut)
    return cuts


def discover_concepts(model: FASModel, data: str | Path, bank: Path, *, selection: Selection,
                      per_attack: bool = False, assets: Path | None = None,
                      progress: bool = True, **settings) -> SPED:
    """SPED fitted on the selected spoof images of ``data`` (``settings`` go to ``SPED``:
    n_concepts, layer, seed, crop_fraction, ...), saved to ``bank`` with its Fig. 4 grid
    beside it (``grid_path``).

    ``per_attack``: n_concepts concepts found on each attack type's images separately
    (``limit`` draws from all the selected spoofs first, so pooled and per-attack discovery
    see the same images), merged into one bank that records each concept's attack type
    (``SPED.fit`` with ``attacks``)."""
    if bank.exists() and bank.is_dir():
        raise XfasError(f"--out {bank}: is a folder; give a file name such as bank.safetensors")
    if per_attack and selection.attack is not None:
        raise XfasError(f"--attack {selection.attack!r}: one attack type; --by-attack "
                        "discovers on every attack type of the split, leave one of them out")
    if per_attack and not selection.spoof_only:
        raise XfasError("--by-attack: discovers on spoof images only")
    images, _ = dataset_inputs(data, model, selection, assets=assets, progress=progress)
    attacks = selected_attacks(data, model, selection) if per_attack else None
    sped = SPED(model, progress=progress, **settings)
    try:
        sped.fit(images, attacks)
    except XfasError as error:
        raise XfasError(f"--data {data} (split {selection.split}): {error}") from None
    sped.save(bank)
    crop_grid_figure(sped.bank_, grid_path(bank), credit=BenchmarkLayout(data).credit())
    return sped


def propose_names_from_masks(sped: SPED, data: str | Path, selection: Selection, *,
                             min_share: float = MIN_SHARE, min_lift: float = MIN_LIFT,
                             assets: Path | None = None, progress: bool = True
                             ) -> tuple[LabelProposal, int]:
    """Names for ``sped``'s concepts from the evidence masks of the selected images of
    ``data`` (see ``xfas.sped.labeling``), and how many images they came from."""
    images, masks = dataset_inputs(data, sped.model, selection, masks=True, assets=assets,
                                   progress=progress)
    return propose_names(sped, images, masks, min_share=min_share,
                         min_lift=min_lift), int(images.shape[0])
