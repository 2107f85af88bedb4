"""Two annotators' agreement in the benchmark's own unit: besides IoU, Dice and pixel kappa
(``xfas.annotations.agreement``), the nIoU that one annotator's mask scores when it is taken
as an explanation map and scored against the other's mask, with Table I's rule (its top 30 %
of pixels, ties broken by the seeded order). A method that drew exactly like one annotator
would score this against the other, so it is the ceiling of the benchmark on this data, and
one minus it is how far the annotators are apart: a difference between methods' nIoU smaller
than that is within the annotators' own disagreement."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from xfas.annotations.agreement import Agreement, TypeAgreement, compare_annotators
from xfas.benchmark.metrics import niou

A_AS_MAP, B_AS_MAP = "niou_a_as_map", "niou_b_as_map"


def annotator_agreement(dir_a: str | Path, dir_b: str | Path, *, fraction: float = 0.3,
                        seed: int = 0) -> Agreement:
    """``compare_annotators`` plus, per type, the mean nIoU of A's mask as a map against B's
    (``niou_a_as_map``) and of B's against A's (``niou_b_as_map``)."""
    def a_as_map(mask_a: np.ndarray, mask_b: np.ndarray) -> float:
        return niou(mask_b, mask_a.astype(np.float64), fraction, seed=seed)

    def b_as_map(mask_a: np.ndarray, mask_b: np.ndarray) -> float:
        return niou(mask_a, mask_b.astype(np.float64), fraction, seed=seed)

    return compare_annotators(dir_a, dir_b, scores={A_AS_MAP: a_as_map, B_AS_MAP: b_as_map})


def annotator_niou(result: TypeAgreement) -> float:
    """The mean of the two directions' nIoU: the benchmark's ceiling on this type."""
    values = [result.extra.get(key, math.nan) for key in (A_AS_MAP, B_AS_MAP)]
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def agreement_table(agreement: Agreement) -> str:
    """The agreement as a Markdown table with a closing note on how to read it."""
    lines = [f"Annotators A = {agreement.dir_a}, B = {agreement.dir_b}: "
             f"{agreement.common} images in common.", ""]
    if agreement.only_a or agreement.only_b:
        lines[-1:] = [f"Only in A: {len(agreement.only_a)} images; only in B: "
                      f"{len(agreement.only_b)} images (not compared).", ""]
    lines += ["| evidence | images | IoU | Dice | kappa | nIoU A as map | nIoU B as map | "
              "annotator nIoU | disagreement |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for evidence, result in agreement.types.items():
        ceiling = annotator_niou(result)
        cells = [result.iou, result.dice, result.kappa, result.extra.get(A_AS_MAP, math.nan),
                 result.extra.get(B_AS_MAP, math.nan), ceiling, max(0.0, 1.0 - ceiling)]
        lines.append(f"| {evidence} | {result.images} | "
                     + " | ".join(_cell(v) for v in cells) + " |")
    if not agreement.types:
        lines.append("| (no evidence marked by either annotator) | 0 | | | | | | | |")
    lines += ["", "annotator nIoU: the nIoU (top 30 % of pixels, as in Table I) that one "
              "annotator's mask scores as a map against the other's, both ways averaged. "
              "A method's nIoU near it is as good as an annotator; differences between "
              "methods smaller than the disagreement (1 - annotator nIoU) are within what the "
              "annotators themselves disagree on."]
    return "\n".join(lines)


def agreement_json(agreement: Agreement) -> dict:
    """The agreement as JSON-ready data (NaN as null)."""
    return {"dir_a": str(agreement.dir_a), "dir_b": str(agreement.dir_b),
            "common": agreement.common, "only_a": list(agreement.only_a),
            "only_b": list(agreement.only_b),
            "types": {evidence: {"images": r.images, "iou": _value(r.iou),
                                 "dice": _value(r.dice), "kappa": _value(r.kappa),
                                 A_AS_MAP: _value(r.extra.get(A_AS_MAP, math.nan)),
                                 B_AS_MAP: _value(r.extra.get(B_AS_MAP, math.nan)),
                                 "annotator_niou": _value(annotator_niou(r))}
                      for evidence, r in agreement.types.items()}}


def _value(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 6)


def _cell(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.3f}"
