"""``xfas eval`` end to end: score a model (or the fused MiniFASNet predictor) on the split of a
labelled dataset the user asks for, and write the report and the per-image scores beside the
data or where the user says."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xfas.data.datasets import detect_layout, open_dataset
from xfas.data.splits import evaluation_sets
from xfas.errors import XfasError
from xfas.models import FASModel
from xfas.models.base import reads_dataset_images
from xfas.training.evaluation import evaluate
from xfas.training.scoring import DatasetScores, Scorer


@dataclass(frozen=True)
class Evaluation:
    """The report and where it was written."""

    report: dict[str, Any]
    report_file: Path
    scores_file: Path


def output_files(data: Path, out: Path | None, *, stem: str) -> tuple[Path, Path]:
    """(report JSON, scores CSV): under ``out`` (a folder, or the JSON file itself when it
    ends in .json), else in ``<data>_eval/`` beside the data folder."""
    if out is not None and out.suffix.lower() == ".json":
        return out, out.with_name(f"{out.stem}_scores.csv")
    folder = out if out is not None else data.parent / f"{data.name}_eval"
    return folder / f"{stem}.json", folder / f"{stem}_scores.csv"


def evaluate_on_data(model: Scorer, data: Path, *, split: str, label: str,
                     threshold: float | None = None, out: Path | None = None,
                     progress: bool = True) -> Evaluation:
    """Score ``model`` on ``split`` of ``data`` (see ``xfas.data.splits.evaluation_sets``) at
    ``threshold`` (None: the model card's) and write ``<label>_<split>.json`` and
    ``<label>_<split>_scores.csv`` (see ``output_files``)."""
    size = model.input_size if isinstance(model, FASModel) and reads_dataset_images(model) else 64
    scored_set, dev_set = evaluation_sets(data, split, image_size=size)
    collected: list[DatasetScores] = []
    report = evaluate(model, scored_set, dev_set, threshold=threshold, progress=progress,
                      scores=collected)
    if dev_set is None and split != "val":
        report["notes"].append(f"--split {split}: no development set, so HTER is computed at "
                               "the threshold")
    if split != "all" and detect_layout(data) in ("folder", "benchmark"):
        total = len(open_dataset(data, split=None))
        report["notes"].append(f"scored the {split} split, {len(scored_set)} of the {total} "
                               "images; --split all scores every image")
    report_file, scores_file = output_files(data, out, stem=f"{label}_{split}")
    try:
        report_file.parent.mkdir(parents=True, exist_ok=True)
        report_file.write_text(json.dumps(report, indent=1))
        write_scores(collected[0], scores_file, threshold=report["threshold"])
    except OSError as error:
        raise XfasError(f"{report_file.parent}: cannot write the evaluation there "
                        f"({error.strerror}); choose a folder with --out") from None
    return Evaluation(report, report_file, scores_file)


def write_scores(scores: DatasetScores, path: Path, *, threshold: float) -> Path:
    """One row per scored image: path, label, attack, spoof probability, verdict."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "attack", "spoof_probability", "verdict"])
        for path_, label, attack, score in zip(scores.paths, scores.labels.tolist(),
                                               scores.attacks, scores.scores.tolist()):
            verdict = "spoof" if score >= threshold else "live"
            writer.writerow([path_, "spoof" if label else "live", attack, f"{score:.6f}",
                             verdict])
    return path
