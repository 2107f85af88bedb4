"""How far two annotators agree, per evidence type: the mean IoU and Dice score of their
masks over the images either of them marked, and the pixel-level Cohen's kappa over all the
pixels of those images. Callers may add scores of their own per image (the benchmark's nIoU
of one annotator's mask taken as a map of the other's is what ``xfas annotations agree``
adds, through ``xfas.workflows.annotation_agreement``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from xfas.data.benchmark_layout import BenchmarkLayout, read_mask
from xfas.errors import ItemError, XfasError

PairScore = Callable[[np.ndarray, np.ndarray], float]  # (mask of A, mask of B) -> score


@dataclass(frozen=True)
class TypeAgreement:
    """Agreement on one evidence type over ``images`` images (marked by either annotator):
    mean IoU and Dice per image, pixel Cohen's kappa pooled over their pixels, and the mean
    of each extra score (NaN values left out)."""

    evidence: str
    images: int
    iou: float
    dice: float
    kappa: float
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Agreement:
    """Two annotators' agreement: per evidence type, over the images both folders hold
    (``common``); images only one folder holds are named, not compared."""

    dir_a: Path
    dir_b: Path
    common: int
    types: dict[str, TypeAgreement]
    only_a: tuple[str, ...] = ()
    only_b: tuple[str, ...] = ()


def iou_and_dice(mask_a: np.ndarray, mask_b: np.ndarray) -> tuple[float, float]:
    """IoU = |A and B| / |A or B| and Dice = 2 |A and B| / (|A| + |B|); NaN for two empty
    masks."""
    both = int(np.count_nonzero(mask_a & mask_b))
    total = int(np.count_nonzero(mask_a)) + int(np.count_nonzero(mask_b))
    if total == 0:
        return math.nan, math.nan
    return both / (total - both), 2 * both / total


def cohen_kappa(counts: np.ndarray) -> float:
    """Cohen's kappa from a 2 x 2 table ``counts[a, b]`` of pixels (a: annotator A says
    evidence, b: annotator B says evidence): (p_o - p_e) / (1 - p_e), with p_o the observed
    agreement and p_e the agreement expected from each annotator's own rate (Cohen, 1960).
    NaN when p_e = 1 (both annotators give every pixel the same value)."""
    total = float(counts.sum())
    observed = (counts[0, 0] + counts[1, 1]) / total
    expected = float(counts.sum(axis=1) @ counts.sum(axis=0)) / total ** 2
    if expected >= 1.0:
        return math.nan
    return float((observed - expected) / (1.0 - expected))


def compare_annotators(dir_a: str | Path, dir_b: str | Path, *,
                       scores: Mapping[str, PairScore] | None = None) -> Agreement:
    """Compare the evidence masks of two folders in the benchmark layout (the same images,
    matched by name). A mask file that one annotator lacks counts as an empty mask.

    Args:
        scores: extra per-image scores {name: f(mask_a, mask_b)}, averaged per type.
    """
    layouts = [BenchmarkLayout(d) for d in (dir_a, dir_b)]
    for layout in layouts:
        if not layout.is_layout():
            raise XfasError(f"{layout.root}: not in the benchmark layout (no images/ folder)")
    names_a, names_b = (set(layout.image_files()) for layout in layouts)
    common = sorted(names_a & names_b)
    if not common:
        raise XfasError(f"{dir_a} and {dir_b}: no image name in common")
    evidence_types = tuple(dict.fromkeys(layouts[0].evidence_types()
                                         + layouts[1].evidence_types()))
    types = {}
    for evidence in evidence_types:
        result = _compare_type(layouts, evidence, names=common, scores=scores or {})
        if result is not None:
            types[evidence] = result
    return Agreement(Path(dir_a), Path(dir_b), len(common), types,
                     tuple(sorted(names_a - names_b)), tuple(sorted(names_b - names_a)))


def _compare_type(layouts: list[BenchmarkLayout], evidence: str, *, names: list[str],
                  scores: Mapping[str, PairScore]) -> TypeAgreement | None:
    """The agreement on one type, or None when neither annotator marked it anywhere."""
    counts = np.zeros((2, 2), dtype=np.int64)
    ious, dices, extra = [], [], {key: [] for key in scores}
    for name in names:
        pair = _mask_pair(layouts, evidence, name)
        if pair is None:
            continue
        mask_a, mask_b = pair
        iou, dice = iou_and_dice(mask_a, mask_b)
        ious.append(iou)
        dices.append(dice)
        for key, score in scores.items():
            extra[key].append(score(mask_a, mask_b))
        both = int(np.count_nonzero(mask_a & mask_b))
        only_a = int(np.count_nonzero(mask_a)) - both
        only_b = int(np.count_nonzero(mask_b)) - both
        counts += np.array([[mask_a.size - both - only_a - only_b, only_b], [only_a, both]])
    if not ious:
        return None
    return TypeAgreement(evidence, len(ious), float(np.mean(ious)), float(np.mean(dices)),
                         cohen_kappa(counts), {key: _nan_mean(v) for key, v in extra.items()})


def _mask_pair(layouts: list[BenchmarkLayout], evidence: str, name: str
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """Both annotators' masks of one image and type (a missing file: empty), or None when
    neither marked a pixel."""
    masks: list[np.ndarray | None] = []
    for layout in layouts:
        path = layout.mask_path(evidence, name)
        try:
            masks.append(read_mask(path) if path.is_file() else None)
        except ItemError as error:
            raise XfasError(str(error)) from None
    present = [m for m in masks if m is not None]
    if not any(m.any() for m in present):
        return None
    if len(present) == 2 and present[0].shape != present[1].shape:
        paths = [layout.mask_path(evidence, name) for layout in layouts]
        raise XfasError(f"{paths[1]}: the mask is {present[1].shape[1]}x{present[1].shape[0]} "
                        f"but {paths[0]} is {present[0].shape[1]}x{present[0].shape[0]}")
    shape = present[0].shape
    mask_a, mask_b = (m if m is not None else np.zeros(shape, dtype=bool) for m in masks)
    return mask_a, mask_b


def _nan_mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan
