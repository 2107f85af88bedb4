"""The attention paper's question as a study: train cnn, cnn-ca, cnn-sa and cnn-cbam on the
same data with the same seeds, and tabulate its Table II (accuracy, precision, recall, F1) with
APCER / BPCER / ACER / AUC as mean and spread over seeds, and whether each attention variant
differs significantly from the plain CNN (paired t-test over seeds).

Example:
    >>> splits = open_splits("synth")
    >>> run_attention_study(splits, "study", seeds=(0, 1, 2), config=TrainConfig())
"""


from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from torch.utils.data import Dataset

from xfas.training import TrainConfig, trained_run_metrics

STUDY_MODELS = ("cnn", "cnn-ca", "cnn-sa", "cnn-cbam")
TABLE_METRICS = ("accuracy", "precision", "recall", "f1", "apcer", "bpcer", "acer", "auc")
SIGNIFICANCE = 0.05


def headline(report: dict[str, Any]) -> dict[str, float]:
    """The Table II numbers of one ``fas_report``."""
    return {"accuracy": report["accuracy"], "precision": report["precision_macro"],
            "recall": report["recall_macro"], "f1": report["f1_macro"],
            "apcer": report["apcer"], "bpcer": report["bpcer"], "acer": report["acer"],
            "auc": report["auc"]}


def run_attention_study(splits: dict[str, Dataset], out: str | Path, seeds: tuple[int, ...],
                        *, config: TrainConfig, models: tuple[str, ...] = STUDY_MODELS,
                        progress: bool = True) -> dict[str, Any]:
    """Train and evaluate every model for every seed under ``out/<model>/seed<k>`` (finished
    runs are reused, interrupted ones resumed) and write ``table2.md`` and ``table2.json``."""
    return run_seeded_table(splits, out, seeds, configs={name: config for name in models},
                            stem="table2", progress=progress)


def run_seeded_table(splits: dict[str, Dataset], out: str | Path, seeds: tuple[int, ...],
                     *, configs: dict[str, TrainConfig], stem: str,
                     progress: bool = True) -> dict[str, Any]:
    """Train and evaluate each model (``configs``: model -> its training configuration; the
    first is the baseline) for every seed under ``out/<model>/seed<k>`` (finished runs are
    reused, interrupted ones resumed) and write ``<stem>.md`` and ``<stem>.json``: mean,
    spread and paired t-test against the baseline of each metric over the seeds."""
    out = Path(out)
    per_seed: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    for seed in seeds:
        for name, config in configs.items():
            report = trained_run_metrics(splits, out / name / f"seed{seed}",
                                         replace(config, model=name, seed=seed), progress=progress)
            per_seed[name].append(headline(report))
    summary = summarise(per_seed, baseline=next(iter(configs)))
    summary["seeds"] = list(seeds)
    first = next(iter(configs.values()))
    summary["config"] = {k: v for k, v in vars(first).items()
                         if k not in ("model", "seed", "pretrained")}
    summary["pretrained"] = {name: config.pretrained for name, config in configs.items()}
    (out / f"{stem}.json").write_text(json.dumps(summary, indent=1))
    (out / f"{stem}.md").write_text(table_markdown(summary))
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
