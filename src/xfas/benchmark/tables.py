"""Table I of the X-FAS benchmark from a run's stored scores, as Markdown, CSV and JSON.

Rows are methods; columns are the evidence types x {IoU, nIoU} (the papers' four, then the
attack surfaces and any other type the data has), then the mean over the papers' four types
and the faithfulness columns (deletion AUC, lower is better; insertion AUC, higher is better).
Every number is the mean over images of the per-image rows in the store (NaN left out), so the
tables are a pure function of ``results.sqlite``.

``results.json`` (the contract other tools read)::

    {"table": {METHOD: {EVIDENCE: {"iou", "niou", "n", "iou_ci", "niou_ci"}}},
     "pointing_game": {METHOD: {EVIDENCE: {"rate", "n"}}},
     "mean": {METHOD: {"iou", "niou", "pointing_game"}},  # over the papers' four types
     "faithfulness": {METHOD: {"deletion_auc", "insertion_auc", "n"}},
     "sped_assignment": {EVIDENCE: {"concept", "name", "calibration_niou",
                                    "calibration_iou", "n"}},  # chosen by nIoU
     "layers": {METHOD: {"rule", "layer", "bank", "calibration_niou", "n",
                         "candidates": {LAYER or BANK: score}}},  # layer methods and SPED
     "significance": {EVIDENCE: {"metric": "niou", "test", "alpha", "min_pairs",
                                 "pairs": {"A vs B": {"n", "p", "p_holm", "better"}},
                                 "best"}},
     "problems": {REASON: count}, "methods": [...], "evidence_types": [...],
     "config": {...}, "model_fingerprint", "versions", "created", "data": {...}}

Missing values are ``null``; ``*_ci`` are percentile-bootstrap 95 % intervals over images.
``significance`` compares every two methods of an evidence type on the images both scored
(per-image nIoU, two-sided Wilcoxon signed-rank, Holm-corrected over the type's pairs; see
``xfas/benchmark/significance.py``): ``n`` paired images, ``p`` and ``p_holm`` (``null`` with
fewer than ``min_pairs`` images), ``better`` the method ahead when ``p_holm < alpha`` (0.05);
``best`` is the method with the highest mean nIoU when it is significantly better than every
other method that scored the type, else ``null``. Table I bolds that method's nIoU.
``layers`` says where each layer method read the model: ``rule`` "fixed" (the run's layer or
the model's default; SPED: its bank's layer) or "calibration" (the candidate with the highest
mean nIoU on the calibration images, ``calibration_niou`` over ``n`` images, every candidate's
score beside; SPED's candidates are banks), and ``bank`` for SPED.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Mapping, Sequence

from xfas.benchmark.metrics import bootstrap_ci, mean_ignoring_nan
from xfas.benchmark.significance import ALPHA, MIN_PAIRS, TEST, significance
from xfas.benchmark.store import IMAGE_EVIDENCE, RunStore
from xfas.data.benchmark_layout import EVIDENCE_TYPES

RESULTS_JSON, TABLE_MD, TABLE_CSV, SCORES_CSV = ("results.json", "table.md", "table.csv",
                                                 "scores.csv")
N_BOOT = 1000


def _number(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def summarize(store: RunStore) -> dict[str, Any]:
    """The results of a run (see the module docstring) from its store."""
    info = store.run_info() or {}
    config = info.get("config", {})
    methods = list(config.get("methods", []))
    scan = store.get_meta("scan") or {}
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    per_image: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for image, method, evidence, metric, value in store.scores():  # by image: same sums, same CIs
        values[(method, evidence, metric)].append(value)
        if metric == "niou":
            per_image[evidence].setdefault(method, {})[image] = value
    known = list(scan.get("evidence_types", []))
    found = {e for (_, e, _) in values if e != IMAGE_EVIDENCE}
    evidence_types = [e for e in known if e in found] + sorted(found - set(known))
    averaged = averaged_types(evidence_types)
    methods += sorted({m for (m, _, _) in values} - set(methods))
    seed = int(config.get("seed", 0))
    table: dict[str, dict[str, Any]] = {}
    pointing: dict[str, dict[str, Any]] = {}
    means: dict[str, dict[str, Any]] = {}
    faithfulness: dict[str, dict[str, Any]] = {}
    for method in methods:
        table[method], pointing[method] = {}, {}
        for evidence in evidence_types:
            cell: dict[str, Any] = {}
            for metric in ("iou", "niou"):
                sample = values.get((method, evidence, metric), [])
                mean, n, _ = mean_ignoring_nan(sample)
                cell[metric] = _number(mean)
                cell["n"] = n
                cell[f"{metric}_ci"] = ([_number(v) for v in bootstrap_ci(sample, N_BOOT,
                                                                          seed=seed)]
                                        if n else None)
            table[method][evidence] = cell
            rate, n, _ = mean_ignoring_nan(values.get((method, evidence, "pointing_game"), []))
            pointing[method][evidence] = {"rate": _number(rate), "n": n}
        means[method] = {
            "iou": _number(mean_ignoring_nan(
                [_nan(table[method][e]["iou"]) for e in averaged])[0]),
            "niou": _number(mean_ignoring_nan(
                [_nan(table[method][e]["niou"]) for e in averaged])[0]),
            "pointing_game": _number(mean_ignoring_nan(
                [_nan(pointing[method][e]["rate"]) for e in averaged])[0])}
        deletion = mean_ignoring_nan(values.get((method, IMAGE_EVIDENCE, "deletion_auc"), []))
        insertion = mean_ignoring_nan(values.get((method, IMAGE_EVIDENCE, "insertion_auc"), []))
        if deletion[1] or insertion[1]:
            faithfulness[method] = {"deletion_auc": _number(deletion[0]),
                                    "insertion_auc": _number(insertion[0]),
                                    "n": max(deletion[1], insertion[1])}
    problems = Counter(p.reason for p in store.problems())
    tested = significance({e: {m: per_image[e][m] for m in methods if m in per_image[e]}
                           for e in evidence_types})
    return {"table": table, "pointing_game": pointing, "mean": means,
            "faithfulness": faithfulness,
            "sped_assignment": store.get_meta("sped_assignment") or {},
            "layers": store.get_meta("layers") or {},
            "significance": tested, "problems": dict(sorted(problems.items())), "methods": methods,
            "evidence_types": evidence_types, "data": scan, "config": config,
            "model_fingerprint": info.get("fingerprint"), "versions": info.get("versions"),
            "created": info.get("created")}


def averaged_types(evidence_types: Sequence[str]) -> list[str]:
    """The evidence types the mean columns average: the papers' four where a run has any of
    them (the attack surfaces and other extra types are reported beside, not averaged in, so
    that the means stay comparable with the papers'), else every type the run has."""
    paper = [e for e in evidence_types if e in EVIDENCE_TYPES]
    return paper or list(evidence_types)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def format_value(value: float | None, digits: int = 3, missing: str = "–") -> str:
    """A number for a table cell with ``digits`` decimals; ``missing`` for None or NaN (a
    score the run had nothing to measure for)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return f"{value:.{digits}f}"


def table_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[float | None]]]:
    """Table I as (column names, one row of values per method): evidence x {IoU, nIoU},
    mean IoU, mean nIoU, pointing game, deletion AUC, insertion AUC."""
    evidence_types = results["evidence_types"]
    columns = [f"{e} {m}" for e in evidence_types for m in ("IoU", "nIoU")]
    columns += ["mean IoU", "mean nIoU", "pointing game", "deletion AUC", "insertion AUC"]
    rows = []
    for method in results["methods"]:
        row: list[float | None] = []
        for evidence in evidence_types:
            cell = results["table"][method][evidence]
            row += [cell["iou"], cell["niou"]]
        mean = results["mean"][method]
        faith = results["faithfulness"].get(method, {})
        row += [mean["iou"], mean["niou"], mean["pointing_game"], faith.get("deletion_auc"),
                faith.get("insertion_auc")]
        rows.append(row)
    return columns, rows


def evidence_counts(results: Mapping[str, Any]) -> dict[str, int]:
    """Images scored per evidence type (the most any method has)."""
    return {e: max((results["table"][m][e]["n"] for m in results["methods"]), default=0)
            for e in results["evidence_types"]}


def significant_cells(results: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The (method, column) cells of Table I in bold: each evidence type's nIoU of its
    ``best`` method, the one significantly better than every other (see ``significance``)."""
    return {(tested["best"], f"{evidence} nIoU")
            for evidence, tested in (results.get("significance") or {}).items()
            if tested.get("best") is not None}


def significance_note(results: Mapping[str, Any]) -> str:
    """What bold means in Table I, and which evidence types had pairs too small to test."""
    note = (f"Bold: a type's highest nIoU where that method is significantly better than every "
            f"other method that scored the type (per-image nIoU on the images both scored, "
            f"{TEST}, alpha {ALPHA}).")
    untested = [evidence for evidence, tested in (results.get("significance") or {}).items()
                if any(pair["p"] is None for pair in tested["pairs"].values())]
    if untested:
        note += (f" Not tested (fewer than {MIN_PAIRS} images scored by both methods of a "
                 f"pair): {', '.join(untested)}.")
    return note


def layers_note(results: Mapping[str, Any]) -> str:
    """Which layer each layer method read, and how it was chosen ("" without layer methods)."""
    layers = results.get("layers") or {}
    if not layers:
        return ""
    fixed = [f"{m} {e['layer']}" for m, e in layers.items() if e.get("rule") != "calibration"]
    chosen = [f"{m} {e['layer']} (nIoU {format_value(e.get('calibration_niou'))}, n {e['n']})"
              for m, e in layers.items() if e.get("rule") == "calibration"]
    parts = []
    if chosen:
        parts.append("Layers chosen by one rule for every layer method (the candidate with "
                     "the highest mean nIoU on the calibration images, never scored; SPED's "
                     "candidates are its banks, one per layer): " + "; ".join(chosen) + ".")
    if fixed:
        parts.append("Layers: " + "; ".join(fixed) + ".")
    return " ".join(parts)


def settings_note(results: Mapping[str, Any]) -> str:
    """The explainer options a run gave (budgets below a method's default, say), so that a
    table says how its numbers were made ("" when every method ran at its defaults)."""
    options = results["config"].get("method_options") or {}
    if not options:
        return ""
    given = "; ".join(f"{method} " + ", ".join(f"{key}={value}" for key, value in
                                               sorted(settings.items()))
                      for method, settings in sorted(options.items()))
    return f"Explainer settings given (the rest at their defaults): {given}."


def markdown_table(results: Mapping[str, Any]) -> str:
    """Table I in Markdown (3 decimals; – where a method has no score; bold as
    ``significant_cells`` says), with the number of images per evidence type, what bold
    means and the SPED assignment under it."""
    columns, rows = table_rows(results)
    bold = significant_cells(results)
    heads = [c.replace("deletion AUC", "deletion AUC ↓").replace("insertion AUC",
                                                                   "insertion AUC ↑")
             for c in columns]
    lines = ["| method | " + " | ".join(heads) + " |",
             "|---|" + "---:|" * len(columns)]
    for method, row in zip(results["methods"], rows):
        cells = [f"**{format_value(v)}**" if (method, column) in bold else format_value(v)
                 for column, v in zip(columns, row)]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    counts = [f"{e} {n}" for e, n in evidence_counts(results).items()]
    notes = [(f"Top {results['config'].get('fraction', 0.3):.0%} of pixels; images per "
              f"evidence type: {', '.join(counts) or 'none'}."), significance_note(results)]
    assignment = results.get("sped_assignment") or {}
    if assignment:
        notes.append("SPED assignment: " + "; ".join(
            f"{e} → {a['name']} (by its name)" if a.get("by") == "name" else
            f"{e} → {a['name']} (calibration, never scored: nIoU "
            f"{format_value(a.get('calibration_niou'))}, n {a['n']})"
            for e, a in assignment.items()))
    notes += [note for note in (layers_note(results), settings_note(results)) if note]
    if results.get("problems"):
        notes.append("Problems: " + ", ".join(f"{r} {n}" for r, n in results["problems"].items())
                      + ".")
    return "\n".join(lines + [""] + notes) + "\n"


def csv_table(results: Mapping[str, Any]) -> str:
    """Table I as CSV with full precision (empty where a method has no score)."""
    columns, rows = table_rows(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method"] + [c.replace(" ", "_") for c in columns])
    for method, row in zip(results["methods"], rows):
        writer.writerow([method] + ["" if v is None else repr(float(v)) for v in row])
    return buffer.getvalue()


def write_tables(run_dir: str | Path, store: RunStore,
                 results: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write results.json, table.md, table.csv and scores.csv (per image) into ``run_dir``;
    returns the results."""
    run_dir = Path(run_dir)
    results = dict(results) if results is not None else summarize(store)
    _write(run_dir / RESULTS_JSON, json.dumps(results, indent=1, allow_nan=False) + "\n")
    _write(run_dir / TABLE_MD, markdown_table(results))
    _write(run_dir / TABLE_CSV, csv_table(results))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "method", "evidence", "metric", "value"])
    for image, method, evidence, metric, value in sorted(store.iter_scores()):
        writer.writerow([image, method, evidence, metric, "" if math.isnan(value)
                         else repr(float(value))])
    _write(run_dir / SCORES_CSV, buffer.getvalue())
    return results


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def differences(a: Mapping[str, Any], b: Mapping[str, Any],
                metrics: Sequence[str] = ("iou", "niou")) -> dict[str, dict[str, Any]]:
    """{method: {evidence: {metric: b - a}}} for the methods and evidence types of both runs
    (None where either is missing)."""
    out: dict[str, dict[str, Any]] = {}
    for method in [m for m in a["methods"] if m in b["methods"]]:
        out[method] = {}
        for evidence in [e for e in a["evidence_types"] if e in b["evidence_types"]]:
            cell_a, cell_b = a["table"][method][evidence], b["table"][method][evidence]
            out[method][evidence] = {
                k: None if cell_a[k] is None or cell_b[k] is None else cell_b[k] - cell_a[k]
                for k in metrics}
    return out
