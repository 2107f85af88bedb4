"""Choosing and checking the images of a benchmark run before any model runs.

The scored images are the spoof images (or images with a mask file) of the chosen split; the
SPED calibration images come from another split, or, when the data has no splits, from a
seeded 20 % carved out of the scored ones (and then never scored). Every image and mask file
is read once here: a file that cannot be used (unreadable image, mask of another size,
unreadable or empty mask, a mask the manifest lists but that is missing, no face for a crop
model) becomes a ``Problem`` naming the file, is printed as a warning and counted in the
report; it never stops the run, and nothing is skipped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from xfas.benchmark.store import ImageRecord, Problem
from xfas.data.benchmark_layout import BenchmarkLayout, read_mask
from xfas.data.datasets.benchmark import BenchmarkDataset
from xfas.data.image_io import load_image
from xfas.errors import ItemError, XfasError
from xfas.progress import progress_bar

AUTO, ALL_IMAGES = "auto", "all"
SCORED, CALIBRATION = "scored", "calibration"


@dataclass
class ScanResult:
    """The images a run scores and calibrates on, the problems found, and how they were
    chosen (``info``, shown in the report)."""

    scored: list[ImageRecord]
    calibration: list[ImageRecord]
    problems: list[Problem] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def scan_benchmark(root: str | Path, split: str | None = AUTO, calibration_split: str = "val",
                   *, need_calibration: bool = False, calibration_fraction: float = 0.2,
                   limit: int | None = None, seed: int = 0, detector: Any = None,
                   progress: bool = True) -> ScanResult:
    """Select and check the images of a run in the benchmark layout at ``root``.

    Args:
        split: the split scored; "auto" = "test" when every manifest entry has a split, else
            every image; None or "all" = every image.
        calibration_split: where the SPED assignment is calibrated when a split is scored.
        need_calibration: choose calibration images at all (only ``sped-matched`` needs them).
        calibration_fraction: without a split, the seeded share of images set aside for
            calibration (and not scored).
        limit: at most this many scored images, the first usable ones by name (an image
            with a problem does not count); the calibration images are never capped, so a
            quick run's SPED assignment rests on all of them.
        detector: a ``FaceDetector`` for crop models (their images need a face box), else None.
    """
    root = Path(root)
    layout = BenchmarkLayout(root)
    manifest = layout.read_manifest()
    has_splits = bool(manifest) and all(e.split is not None for e in manifest.values())
    scored_split = ("test" if has_splits else None) if split == AUTO else split
    scored_split = None if scored_split == ALL_IMAGES else scored_split
    problems: list[Problem] = []
    dataset = _open(root, scored_split, seed, problems=problems)
    candidates = _candidates(dataset)
    info: dict[str, Any] = {"data": str(root), "scored_split": scored_split or "all images",
                            "manifest_splits": has_splits}
    calibration: list[str] = []
    if need_calibration:
        if scored_split is not None:
            if calibration_split == scored_split:
                raise XfasError(f"--calibration-split {calibration_split!r}: must differ from "
                                f"the scored split {scored_split!r} (calibration images are "
                                "never scored)")
            calibration = _candidates(_open(root, calibration_split, seed, problems=problems))
            info["calibration"] = f"split {calibration_split!r}"
        else:
            candidates, calibration = carve(candidates, calibration_fraction, seed)
            info["calibration"] = (f"{calibration_fraction:.0%} of the images, seeded "
                                   f"(seed {seed}), set aside and not scored")
    paths = layout.image_files()
    listed = {name: entry.evidence for name, entry in manifest.items()}
    records = {SCORED: [], CALIBRATION: []}
    jobs = [(SCORED, n) for n in candidates] + [(CALIBRATION, n) for n in calibration]
    wanted = len(candidates) if limit is None else min(limit, len(candidates))
    with progress_bar(progress) as bar:
        task = bar.add_task("checking images", total=wanted + len(calibration))
        for role, name in jobs:
            if role == SCORED and len(records[SCORED]) >= wanted:
                continue  # the limit counts usable images: enough are found
            record = check_image(name, role, paths[name], layout=layout,
                                 evidence_types=dataset.evidence_types,
                                 listed=listed.get(name, ()), detector=detector, problems=problems)
            if record is not None:
                records[role].append(record)
                bar.advance(task)
            elif role == CALIBRATION:
                bar.advance(task)
    for problem in problems:
        warnings.warn(f"{problem.file}: {problem.detail} ({problem.reason})", stacklevel=2)
    if need_calibration and not records[CALIBRATION]:
        raise XfasError(f"{root}: no usable calibration image ({info['calibration']}) for "
                        "the SPED assignment; add spoof images with masks there or leave "
                        "out sped-matched")
    info.update(n_scored=len(records[SCORED]), n_calibration=len(records[CALIBRATION]),
                evidence_types=sorted({e for r in records[SCORED] for e in r.masks},
                                      key=list(dataset.evidence_types).index))
    return ScanResult(records[SCORED], records[CALIBRATION], problems, info)


def carve(names: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(kept, set aside): a seeded ``fraction`` of ``names`` (at least one when there are two
    or more), both in the input order."""
    count = len(names)
    take = min(count - 1, max(1, int(round(fraction * count)))) if count >= 2 else 0
    chosen = set(np.random.default_rng(seed).permutation(count)[:take].tolist())
    return ([n for i, n in enumerate(names) if i not in chosen],
            [n for i, n in enumerate(names) if i in chosen])


def check_image(name: str, role: str, path: Path, *, layout: BenchmarkLayout,
                evidence_types: Sequence[str], listed: Sequence[str], detector: Any,
                problems: list[Problem]) -> ImageRecord | None:
    """The record of one image with its usable masks, or None (with the reasons appended to
    ``problems``) when it cannot be scored."""
    try:
        image = load_image(path)
    except XfasError as error:
        problems.append(Problem(str(path), "unreadable_image",
                                str(error).removeprefix(f"{path}: ")))
        return None
    height, width = image.shape[:2]
    masks: dict[str, str] = {}
    for evidence in evidence_types:
        mask_path = layout.mask_path(evidence, name)
        if not mask_path.is_file():
            if evidence in listed:
                problems.append(Problem(str(mask_path), "missing_mask", "listed as evidence in "
                                        "the manifest but the mask file is missing"))
            continue
        try:
            mask = read_mask(mask_path)
        except ItemError as error:
            problems.append(Problem(str(mask_path), "unreadable_mask", error.detail))
            continue
        if mask.shape != (height, width):
            problems.append(Problem(str(mask_path), "mask_size",
                                    f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                                    f"{width}x{height}; not scored"))
        elif not mask.any():
            problems.append(Problem(str(mask_path), "empty_mask",
                                    "no evidence pixel (all zero); not scored"))
        else:
            masks[evidence] = str(mask_path)
    if not masks:
        problems.append(Problem(str(path), "no_usable_mask",
                                f"{role} image without a usable evidence mask; not used"))
        return None
    box = None
    if detector is not None:
        box = detector.detect(image)
        if box is None:
            problems.append(Problem(str(path), "no_face", "no face found for the model's crop; "
                                    "not used"))
            return None
        box = tuple(int(v) for v in box)
    return ImageRecord(name, role, str(path), masks, box, height, width)


def _open(root: Path, split: str | None, seed: int, *, problems: list[Problem]) -> BenchmarkDataset:
    """The dataset of one split; the files it left out while indexing become problems."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # re-issued below with the run's other problems
        dataset = BenchmarkDataset(root, split=split, image_size=None, seed=seed)
    known = {(p.file, p.reason) for p in problems}
    for reason, entry in dataset.summary().items():
        for file in entry["files"]:
            if (file, reason) not in known:
                problems.append(Problem(file, reason, entry["action"]))
    return dataset


def _candidates(dataset: BenchmarkDataset) -> list[str]:
    """Names of the spoof images, and of any image with a mask file, sorted."""
    return sorted(name for name, label in zip(dataset.names, dataset.labels)
                  if label == 1 or dataset.layout.has_mask_file(name, dataset.evidence_types))
