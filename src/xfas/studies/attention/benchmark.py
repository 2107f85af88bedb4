"""Does attention make the model look at the evidence? The X-FAS benchmark of each model of the
attention study (its first seed's best checkpoint) on the same test images, tabulated model x
method, and each attention model's nIoU compared with the plain CNN's by a paired test over
those images.

Files, under the study folder ``OUT``::

    benchmark/<model>/            one benchmark run per model (resumable, reused on rerun)
    attention_benchmark.json      {"models", "methods", "evidence_types", "rows", "versus",
                                   "baseline", "test", "significance", "method_options",
                                   "steps", "fraction", "images", "sentence"}
    attention_benchmark.md        the same as a Markdown table, its note and the sentence

``rows[model][method]`` holds mean IoU, mean nIoU, nIoU per evidence type, pointing game,
deletion and insertion AUC, copied from that run's ``results.json``. ``versus[model][method]``
holds the difference of mean nIoU from the baseline and the paired test over the images both
runs scored (per-image nIoU, averaged over the image's evidence types, from ``scores.csv``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats

from xfas.benchmark import BenchmarkConfig, BenchmarkRun, run_benchmark
from xfas.benchmark.store import DB_NAME, IMAGE_EVIDENCE
from xfas.benchmark.tables import RESULTS_JSON, SCORES_CSV, format_value
from xfas.errors import XfasError

BENCH_METHODS = ("gradcam", "lime", "shap")
BENCH_IMAGES = 16
BENCH_DIR = "benchmark"
ATTENTION_JSON, ATTENTION_MD = "attention_benchmark.json", "attention_benchmark.md"
# Fewer samples than the benchmark's defaults (LIME 1000, SHAP 2048, 32 curve steps), so that
# the study's four benchmarks fit in minutes on a CPU (timing in docs/experiments.md); paired
# sampling (each coalition with its complement) cuts the variance that fewer samples add.
STUDY_METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "lime": {"n_samples": 64, "sampling": "paired"},
    "shap": {"n_samples": 64, "sampling": "paired"}}
STUDY_STEPS = 16
SIGNIFICANCE = 0.05
PAIRED_TEST = "Wilcoxon signed-rank test (two-sided; zero differences dropped)"


def benchmark_models(data: str | Path, out: str | Path, runs: Mapping[str, Path],
                     *, methods: Sequence[str] = BENCH_METHODS, images: int = BENCH_IMAGES,
                     method_options: Mapping[str, Mapping[str, Any]] | None = None,
                     steps: int = STUDY_STEPS, progress: bool = True) -> dict[str, BenchmarkRun]:
    """Run (or reuse) the benchmark of each model's checkpoint ``runs[model]`` on the first
    ``images`` test spoofs (by name) of ``data`` into ``out/benchmark/<model>``."""
    options = STUDY_METHOD_OPTIONS if method_options is None else method_options
    results = {}
    for name, run in runs.items():
        config = BenchmarkConfig(
            data=str(data), model=str(run), methods=list(methods), split="test", limit=images,
            steps=steps, method_options={m: dict(o) for m, o in options.items() if m in methods})
        target = Path(out) / BENCH_DIR / name
        existed = (target / DB_NAME).is_file()
        try:
            results[name] = run_benchmark(config, target, progress=progress)
        except XfasError as error:
            if not existed:
                raise
            raise XfasError(f"{error}. The study keeps this benchmark in {target}: rerun with "
                            "the same settings, or delete that folder to benchmark again with "
                            "other ones") from None
    return results


def per_image_niou(run_dir: str | Path, method: str) -> dict[str, float]:
    """{image: nIoU averaged over the image's evidence types} of one method, read from the
    run's ``scores.csv`` (NaN scores left out; images with none are absent)."""
    values: dict[str, list[float]] = {}
    with (Path(run_dir) / SCORES_CSV).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (row["method"] == method and row["metric"] == "niou"
                    and row["evidence"] != IMAGE_EVIDENCE and row["value"] != ""):
                values.setdefault(row["image"], []).append(float(row["value"]))
    return {image: float(np.mean(v)) for image, v in values.items()}


def paired_comparison(baseline: Mapping[str, float], other: Mapping[str, float]
                      ) -> dict[str, Any]:
    """``other`` - ``baseline`` over the images both score: n, mean difference, two-sided
    Wilcoxon signed-rank p-value (1.0 when every difference is zero, None without images)
    and whether p < ``SIGNIFICANCE``."""
    common = sorted(baseline.keys() & other.keys())
    differences = np.array([other[i] - baseline[i] for i in common], dtype=float)
    if not len(differences):
        return {"n": 0, "mean_difference": None, "p_value": None, "significant": False}
    p_value = (1.0 if not np.any(differences != 0)
               else float(stats.wilcoxon(differences).pvalue))
    return {"n": len(common), "mean_difference": float(differences.mean()), "p_value": p_value,
            "significant": p_value < SIGNIFICANCE}


def _row(results: Mapping[str, Any], method: str) -> dict[str, Any]:
    mean = results["mean"].get(method, {})
    faith = results["faithfulness"].get(method, {})
    return {"mean_iou": mean.get("iou"), "mean_niou": mean.get("niou"),
            "niou": {e: results["table"][method][e]["niou"] for e in results["evidence_types"]},
            "pointing_game": mean.get("pointing_game"),
            "deletion_auc": faith.get("deletion_auc"), "insertion_auc": faith.get("insertion_auc")}


def summarise_benchmarks(out: str | Path, models: Sequence[str],
                         methods: Sequence[str] = BENCH_METHODS) -> dict[str, Any]:
    """The attention benchmark (see the module docstring) from the runs in
    ``out/benchmark/<model>``; the first model is the baseline."""
    root = Path(out) / BENCH_DIR
    results = {m: json.loads((root / m / RESULTS_JSON).read_text(encoding="utf-8"))
               for m in models}
    evidence_types: list[str] = []
    for run in results.values():
        evidence_types += [e for e in run["evidence_types"] if e not in evidence_types]
    rows = {m: {method: _row(results[m], method) for method in methods} for m in models}
    baseline = models[0]
    versus: dict[str, dict[str, Any]] = {}
    for model in models[1:]:
        versus[model] = {}
        for method in methods:
            base, mine = rows[baseline][method]["mean_niou"], rows[model][method]["mean_niou"]
            test = paired_comparison(per_image_niou(root / baseline, method),
                                     per_image_niou(root / model, method))
            versus[model][method] = {"delta_mean_niou": None if base is None or mine is None
                                     else mine - base, **test}
    config = results[baseline]["config"]
    summary = {"models": list(models), "methods": list(methods),
               "evidence_types": evidence_types, "rows": rows, "versus": versus,
               "baseline": baseline, "test": PAIRED_TEST, "significance": SIGNIFICANCE,
               "method_options": config.get("method_options", {}),
               "steps": config.get("steps"), "fraction": config.get("fraction"),
               "images": results[baseline].get("data", {}).get("n_scored")}
    summary["sentence"] = attention_sentence(summary)
    return summary


def write_attention_benchmark(out: str | Path, models: Sequence[str],
                              methods: Sequence[str] = BENCH_METHODS) -> dict[str, Any]:
    """Write ``attention_benchmark.json`` and ``.md`` into ``out``; returns the summary."""
    summary = summarise_benchmarks(out, models, methods)
    (Path(out) / ATTENTION_JSON).write_text(json.dumps(summary, indent=1, allow_nan=False),
                                            encoding="utf-8")
    (Path(out) / ATTENTION_MD).write_text(benchmark_markdown(summary), encoding="utf-8")
    return summary


def benchmark_columns(summary: Mapping[str, Any]) -> list[str]:
    """Column names of the attention benchmark table after model and method."""
    return (["mean IoU", "mean nIoU"] + [f"{e} nIoU" for e in summary["evidence_types"]]
            + ["pointing game", "deletion AUC ↓", "insertion AUC ↑",
               f"Δ nIoU vs {summary['baseline']}", "p"])


def benchmark_cells(summary: Mapping[str, Any]) -> list[list[str]]:
    """The table's rows as text: model, method, then ``benchmark_columns``; * marks
    p < ``SIGNIFICANCE``."""
    lines = []
    for model in summary["models"]:
        for method in summary["methods"]:
            row = summary["rows"][model][method]
            cells = [model, method, format_value(row["mean_iou"]), format_value(row["mean_niou"])]
            cells += [format_value(row["niou"].get(e)) for e in summary["evidence_types"]]
            cells += [format_value(row["pointing_game"]), format_value(row["deletion_auc"]),
                      format_value(row["insertion_auc"])]
            versus = summary["versus"].get(model, {}).get(method)
            if versus is None:
                cells += ["", ""]
            else:
                delta = versus["delta_mean_niou"]
                cells.append("–" if delta is None else f"{delta:+.3f}")
                p_value = versus["p_value"]
                cells.append("–" if p_value is None else
                             f"{p_value:.3g}" + ("*" if versus["significant"] else ""))
            lines.append(cells)
    return lines


def benchmark_note(summary: Mapping[str, Any]) -> str:
    """What the numbers are and how they were made (the settings that differ from the
    benchmark's defaults included)."""
    options = "; ".join(f"{m}: " + ", ".join(f"{k}={v}" for k, v in o.items())
                        for m, o in summary["method_options"].items()) or "defaults"
    fraction = summary.get("fraction") or 0.3
    comparisons = sum(len(by_method) for by_method in summary["versus"].values())
    return (f"X-FAS benchmark of each model's first-seed checkpoint on the same "
            f"{summary['images']} test spoof images: IoU and nIoU of the top {fraction:.0%} "
            f"pixels against the evidence masks (mean over evidence types), pointing game, "
            f"deletion / insertion AUC ({summary['steps']} steps). Fewer samples than the "
            f"benchmark's defaults, to keep the study cheap ({options}). p: {summary['test']} "
            f"of per-image nIoU against {summary['baseline']}; * = p < {summary['significance']}, "
            f"not corrected for the {comparisons} comparisons.")


def benchmark_markdown(summary: Mapping[str, Any]) -> str:
    """The attention benchmark as Markdown: the table, its note and the sentence."""
    heads = ["model", "method"] + benchmark_columns(summary)
    lines = ["| " + " | ".join(heads) + " |", "|---|---|" + "---:|" * (len(heads) - 2)]
    lines += ["| " + " | ".join(cells) + " |" for cells in benchmark_cells(summary)]
    return "\n".join(lines + ["", benchmark_note(summary), "", summary["sentence"]]) + "\n"


def attention_sentence(summary: Mapping[str, Any]) -> str:
    """Plain words: does attention make the model look at the evidence, per attention model
    and method, with the nIoU difference from the baseline and its paired test."""
    baseline, significance = summary["baseline"], summary["significance"]
    more, less, parts = [], [], []
    for model, by_method in summary["versus"].items():
        words = []
        for method, cell in by_method.items():
            if cell["p_value"] is None or cell["delta_mean_niou"] is None:
                words.append(f"{method} not comparable (no common image)")
                continue
            if cell["significant"]:
                higher = cell["delta_mean_niou"] > 0
                (more if higher else less).append(f"{model} ({method})")
                verdict = "significantly more" if higher else "significantly less"
            else:
                verdict = "no significant difference"
            words.append(f"{method} {cell['delta_mean_niou']:+.3f} ({verdict}, "
                         f"p = {cell['p_value']:.3g}, n = {cell['n']})")
        parts.append(f"{model}: " + "; ".join(words))
    if not parts:
        return "Only one model was benchmarked: nothing to compare."
    if more and less:
        answer = (f"Mixed: attention raises nIoU for {', '.join(more)} and lowers it for "
                  f"{', '.join(less)}.")
    elif more:
        answer = f"Yes, for {', '.join(more)}; not significantly for the other pairs."
    elif less:
        answer = (f"No: attention never raises nIoU significantly, and lowers it for "
                  f"{', '.join(less)}.")
    else:
        answer = (f"No: no attention model's nIoU differs significantly from {baseline}'s "
                  f"(p < {significance}).")
    return (f"Does attention make the model look at the evidence? {answer} Mean nIoU minus "
            f"{baseline}'s, with a {summary['test']} over the same images: "
            + ". ".join(parts) + ".")
