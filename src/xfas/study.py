"""The attention paper's question as a study: train cnn, cnn-ca, cnn-sa and cnn-cbam on the
same data with the same seeds, and tabulate its Table II (accuracy, precision, recall, F1) with
APCER / BPCER / ACER / AUC as mean and spread over seeds, and whether each attention variant
differs significantly from the plain CNN (paired t-test over seeds).

Then ``explain_attention_study`` asks whether attention makes the models look at the evidence:
the X-FAS benchmark of each model's first-seed checkpoint (``xfas.study_bench``), the paper's
Figures 2-4 per attack type (``xfas.study_figures``) and one HTML report
(``xfas.study_report``).

Example:
    >>> splits = open_splits("synth")
    >>> run_attention_study(splits, "study", seeds=(0, 1, 2), config=TrainConfig())
    >>> explain_attention_study("synth", "study", seed=0).report
    PosixPath('study/report.html')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from torch.utils.data import Dataset

from xfas.errors import XfasError
from xfas.evaluate import evaluate
from xfas.models import load_model
from xfas.models.registry import RUN_CHECKPOINT
from xfas.study_bench import (BENCH_IMAGES, BENCH_METHODS, STUDY_METHOD_OPTIONS, STUDY_STEPS,
                              benchmark_models, has_evidence_masks, write_attention_benchmark)
from xfas.study_figures import attention_figures
from xfas.train import STATE_FILE, TrainConfig, train

STUDY_MODELS = ("cnn", "cnn-ca", "cnn-sa", "cnn-cbam")
TABLE_METRICS = ("accuracy", "precision", "recall", "f1", "apcer", "bpcer", "acer", "auc")
LOWER_IS_BETTER = {"apcer", "bpcer", "acer"}
SIGNIFICANCE = 0.05
FIGURE_IMAGES = 2


def headline(report: dict[str, Any]) -> dict[str, float]:
    """The Table II numbers of one ``fas_report``."""
    return {"accuracy": report["accuracy"], "precision": report["precision_macro"],
            "recall": report["recall_macro"], "f1": report["f1_macro"],
            "apcer": report["apcer"], "bpcer": report["bpcer"], "acer": report["acer"],
            "auc": report["auc"]}


def trained_run_metrics(splits: dict[str, Dataset], run: Path, config: TrainConfig,
                        progress: bool = True) -> dict[str, Any]:
    """The test-set FAS report of the run in ``run``, kept in ``run/test_metrics.json``:
    trains first (resuming an interrupted run) unless that file already exists."""
    result_file = run / "test_metrics.json"
    if not result_file.exists():
        train(splits["train"], splits["val"], run, config,
              resume=(run / STATE_FILE).exists(), progress=progress)
        report = evaluate(load_model(run), splits["test"], dev_set=splits["val"],
                          progress=progress)
        result_file.write_text(json.dumps(report, indent=1))
    return json.loads(result_file.read_text())


def run_attention_study(splits: dict[str, Dataset], out: str | Path, seeds: tuple[int, ...],
                        config: TrainConfig, models: tuple[str, ...] = STUDY_MODELS,
                        progress: bool = True) -> dict[str, Any]:
    """Train and evaluate every model for every seed under ``out/<model>/seed<k>`` (finished
    runs are reused, interrupted ones resumed) and write ``table2.md`` and ``table2.json``."""
    out = Path(out)
    per_seed: dict[str, list[dict[str, float]]] = {name: [] for name in models}
    for seed in seeds:
        for name in models:
            report = trained_run_metrics(splits, out / name / f"seed{seed}",
                                         replace(config, model=name, seed=seed), progress)
            per_seed[name].append(headline(report))
    summary = summarise(per_seed, baseline=models[0])
    summary["seeds"] = list(seeds)
    summary["config"] = {k: v for k, v in vars(config).items() if k not in ("model", "seed")}
    (out / "table2.json").write_text(json.dumps(summary, indent=1))
    (out / "table2.md").write_text(table_markdown(summary))
    return summary


def summarise(per_seed: dict[str, list[dict[str, float]]], baseline: str) -> dict[str, Any]:
    """Mean, standard deviation and paired t-test p-value against ``baseline`` per metric."""
    table: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, rows in per_seed.items():
        table[name] = {}
        for metric in TABLE_METRICS:
            values = np.array([row[metric] for row in rows], dtype=float)
            base = np.array([row[metric] for row in per_seed[baseline]], dtype=float)
            p_value = None
            if name != baseline and len(values) >= 2 and np.ptp(values - base) > 0:
                p_value = float(stats.ttest_rel(values, base).pvalue)
            table[name][metric] = {"mean": float(values.mean()),
                                   "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                                   "p_vs_baseline": p_value}
    return {"baseline": baseline, "table": table, "per_seed": per_seed}


def table2_cells(summary: dict[str, Any]) -> list[list[str]]:
    """Table II's rows as text: the model, then mean ± std per metric; * marks p < 0.05
    against the baseline."""
    rows = []
    for name, metrics in summary["table"].items():
        cells = [name]
        for metric in TABLE_METRICS:
            cell = metrics[metric]
            star = "*" if cell["p_vs_baseline"] is not None and \
                cell["p_vs_baseline"] < SIGNIFICANCE else ""
            cells.append(f"{cell['mean']:.4f} ± {cell['std']:.4f}{star}")
        rows.append(cells)
    return rows


def table2_note(summary: dict[str, Any]) -> str:
    """What Table II's cells are, and which differences are significant."""
    seeds = len(summary["seeds"]) if "seeds" in summary else "?"
    return (f"Mean ± standard deviation over {seeds} seeds; * = differs from "
            f"{summary['baseline']} at p < {SIGNIFICANCE} (paired t-test over seeds). "
            f"{significance_sentence(summary)}")


def table_markdown(summary: dict[str, Any]) -> str:
    """Table II as Markdown: mean ± std over seeds; * marks p < 0.05 against the baseline."""
    header = "| model | " + " | ".join(TABLE_METRICS) + " |"
    lines = [header, "|" + "---|" * (len(TABLE_METRICS) + 1)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table2_cells(summary)]
    return "\n".join(lines + ["", table2_note(summary)]) + "\n"


def significance_sentence(summary: dict[str, Any]) -> str:
    """Plain words: which differences from the baseline are significant."""
    found = [f"{name} {metric}" for name, metrics in summary["table"].items()
             for metric, cell in metrics.items()
             if cell["p_vs_baseline"] is not None and cell["p_vs_baseline"] < SIGNIFICANCE]
    if not found:
        return "No difference from the baseline is significant."
    return "Significant: " + ", ".join(found) + "."


@dataclass
class StudyOutputs:
    """What ``explain_attention_study`` made: the report, the figures ({attack: PNG}), the
    attention benchmark's summary (None when skipped), the benchmark units computed by this
    call per model (0 when reused) and notes on what was skipped and why."""

    report: Path
    figures: dict[str, Path] = field(default_factory=dict)
    benchmark: dict[str, Any] | None = None
    units_computed: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def explain_attention_study(data: str | Path, out: str | Path, seed: int,
                            models: tuple[str, ...] = STUDY_MODELS,
                            bench_images: int = BENCH_IMAGES,
                            figure_images: int = FIGURE_IMAGES,
                            methods: tuple[str, ...] = BENCH_METHODS,
                            method_options: dict[str, dict[str, Any]] | None = None,
                            steps: int = STUDY_STEPS, progress: bool = True) -> StudyOutputs:
    """After ``run_attention_study`` into ``out``: benchmark each model's checkpoint of
    ``seed`` on ``bench_images`` test spoofs of ``data`` (needs evidence masks; reused on
    rerun), draw ``figure_<attack>.png`` with ``figure_images`` images per attack type, and
    write ``out/report.html``. ``bench_images=0`` skips the benchmark and the figures; data
    without masks get figures without outlines and no benchmark (a note, not an error).
    ``method_options`` default to ``STUDY_METHOD_OPTIONS`` (fewer LIME / SHAP samples)."""
    from xfas.study_report import render_study_report

    out = Path(out)
    runs = {name: out / name / f"seed{seed}" for name in models}
    missing = [str(run) for run in runs.values() if not (run / RUN_CHECKPOINT).is_file()]
    if missing:
        raise XfasError(f"{', '.join(missing)}: no trained checkpoint ({RUN_CHECKPOINT}); "
                        "train the study first (run_attention_study)")
    options = STUDY_METHOD_OPTIONS if method_options is None else method_options
    result = StudyOutputs(report=out / "report.html")
    if bench_images == 0:
        result.notes.append("--bench-images 0: no attention benchmark and no figures.")
    else:
        masks = has_evidence_masks(data)
        if masks:
            runs_done = benchmark_models(data, out, runs, methods, bench_images, options, steps,
                                         progress)
            result.units_computed = {n: r.units_computed for n, r in runs_done.items()}
            result.benchmark = write_attention_benchmark(out, models, methods)
        else:
            result.notes.append(f"{data}: no evidence masks (not the benchmark layout of "
                                "`xfas synth`): no attention benchmark, and the figures "
                                "outline no evidence.")
        if figure_images == 0:
            result.notes.append("--figure-images 0: no figures.")
        else:
            from xfas.data.splits import open_splits

            result.figures = attention_figures(open_splits(data)["test"], runs, out, methods,
                                               figure_images, seed, options, outline=masks,
                                               progress=progress)
            if not result.figures:
                result.notes.append(f"{data}: the test split has no spoof image: no figures.")
    result.report = render_study_report(out, result.benchmark, result.figures, result.notes)
    return result
