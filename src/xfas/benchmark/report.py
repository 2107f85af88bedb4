"""The HTML report of a benchmark run, and the comparison of two runs.

A report is a pure function of the run folder: the scores in ``results.sqlite`` and the few
thumbnails stored under ``figures/`` during the run, so it needs neither the model nor the
data. It is one self-contained file: CSS inline, every picture a base64 ``data:`` URI, no
external URL.

Sections: Table I (with faithfulness; bold marks an evidence type's nIoU whose method
is significantly better than every other), the pointing game, bar charts of IoU and nIoU with
bootstrap 95 % intervals per evidence type, the grid of images x methods (maps overlaid, the
evidence outlined), SPED's assignment of concepts to evidence types and its concepts' crops,
the problems found in the data, and the run's configuration.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from xfas.benchmark.figures import CONCEPTS_FIGURE, FIGURES, bar_chart, method_grid
from xfas.benchmark.store import DB_NAME, RunStore
from xfas.benchmark.tables import (differences, evidence_counts, format_value, layers_note,
                                   settings_note, significance_note, significant_cells, summarize,
                                   table_rows)
from xfas.errors import XfasError
from xfas.plots import data_uri

REPORT = "report.html"
MAX_FILES_LISTED = 50

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
td.best { font-weight: bold; }
td.up { color: #1a7f37; } td.down { color: #b3261e; }
img { max-width: 100%; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.8em; }
.note { color: #555; font-size: 0.9em; }
"""


def _load(run: Path) -> tuple[dict[str, Any], RunStore]:
    run = Path(run)
    if not run.is_dir():
        raise XfasError(f"{run}: run folder not found")
    store = RunStore(run / DB_NAME, create=False)
    return summarize(store), store


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
               classes: Sequence[Sequence[str]] | None = None) -> str:
    """An HTML table of already formatted cells (escaped here)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            css = classes[r][c] if classes is not None else ""
            cells.append(f"<td class=\"{css}\">{html.escape(cell)}</td>" if css
                         else f"<td>{html.escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_image(png: bytes, alt: str) -> str:
    """An <img> with the PNG inlined as a data URI (the report stays one file)."""
    return f"<img alt=\"{html.escape(alt)}\" src=\"{data_uri(png)}\">"


def html_page(title: str, sections: Sequence[str]) -> str:
    """A whole self-contained HTML page (inline CSS) holding ``sections``."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>" + "\n".join(sections) + "</body></html>\n")


def table_one(results: Mapping[str, Any]) -> str:
    """Table I as HTML; an evidence type's nIoU in bold where its method is significantly
    better than every other (``significant_cells``)."""
    columns, rows = table_rows(results)
    bold = significant_cells(results)
    cells = [[method] + [format_value(v) for v in row]
             for method, row in zip(results["methods"], rows)]
    classes = [[""] + ["best" if (method, column) in bold else "" for column in columns]
               for method in results["methods"]]
    headers = ["method"] + [c.replace("deletion AUC", "deletion AUC ↓")
                            .replace("insertion AUC", "insertion AUC ↑") for c in columns]
    counts = ", ".join(f"{e}: {n}" for e, n in evidence_counts(results).items())
    fraction = results["config"].get("fraction", 0.3)
    return (html_table(headers, cells, classes) +
            f"<p class=\"note\">Mean over images of the top {fraction:.0%} pixels' IoU and "
            f"nIoU against each evidence mask; images per evidence type: {html.escape(counts)}. "
            "Faithfulness (RISE): deletion AUC of the spoof probability as the map's top pixels "
            "are removed (lower is better), insertion AUC as they are revealed on a blurred "
            "image (higher is better).</p>"
            f"<p class=\"note\">{html.escape(significance_note(results))}</p>"
            f"<p class=\"note\">{html.escape(layers_note(results))} "
            f"{html.escape(settings_note(results))}</p>")


def _pointing(results: Mapping[str, Any]) -> str:
    evidence_types = results["evidence_types"]
    rows = [[m] + [format_value(results["pointing_game"][m][e]["rate"]) for e in evidence_types]
            + [format_value(results["mean"][m]["pointing_game"])] for m in results["methods"]]
    return html_table(["method", *evidence_types, "mean"], rows)


def _charts(results: Mapping[str, Any]) -> str:
    if not results["evidence_types"]:
        return "<p class=\"note\">No scores to chart.</p>"
    parts = []
    for metric, label in (("iou", "IoU"), ("niou", "nIoU")):
        png = bar_chart(results["table"], results["methods"], results["evidence_types"],
                        metric=metric, title=f"{label} per evidence type (mean over images, "
                                              "bootstrap 95 % CI)")
        parts.append(html_image(png, f"{label} bar chart"))
    return "\n".join(parts)


def _grid(run: Path, methods: Sequence[str]) -> str:
    png = method_grid(run, methods)
    if png is None:
        return "<p class=\"note\">The run stored no grid images.</p>"
    return (html_image(png, "images x methods") + "<p class=\"note\">Each row: the image with its "
            "evidence outlined in green, then each method's map overlaid.</p>")


def _sped(run: Path, results: Mapping[str, Any], calibration: Mapping[str, Any] | None) -> str:
    parts = []
    assignment = results.get("sped_assignment") or {}
    if assignment:
        rows = [[e, str(a["concept"]), a["name"], format_value(a.get("calibration_niou")),
                 str(a["n"])] for e, a in assignment.items()]
        if all(a.get("by") == "name" for a in assignment.values()):
            parts.append("<p>Each evidence type is scored (<code>sped-matched</code>) with the "
                         "concept the bank names after it (no calibration images).</p>")
        else:
            parts.append("<p>Each evidence type is scored (<code>sped-matched</code>) with the "
                         "concept whose maps overlapped its masks best on the calibration "
                         "images, which are never scored.</p>")
        parts.append(html_table(["evidence", "concept", "name", "calibration nIoU", "images"],
                                rows))
    if calibration:
        names = calibration.get("names", [])
        matrix = calibration.get("mean_niou", calibration.get("mean_iou", {}))
        rows = [[e] + [format_value(v) for v in values] for e, values in matrix.items()]
        parts.append(f"<p class=\"note\">Mean calibration nIoU of every concept "
                     f"({len(calibration.get('images', []))} calibration images):</p>")
        parts.append(html_table(["evidence", *names], rows))
    crops = run / FIGURES / CONCEPTS_FIGURE
    if crops.is_file():
        parts.append(html_image(crops.read_bytes(), "SPED concept crops"))
    elif results["config"].get("concepts"):
        parts.append("<p class=\"note\">The concept bank came without a figure of its "
                     "concepts' crops, so none is shown.</p>")
    if not parts:
        return "<p class=\"note\">SPED was not part of this run (no concept bank).</p>"
    return "\n".join(parts)


def _problems(store: RunStore) -> str:
    problems = store.problems()
    if not problems:
        return "<p>No problem found in the data.</p>"
    by_reason: dict[str, list] = {}
    for problem in problems:
        by_reason.setdefault(problem.reason, []).append(problem)
    parts = [html_table(["reason", "files"], [[r, str(len(p))] for r, p in by_reason.items()])]
    for reason, items in by_reason.items():
        listed = "".join(f"<li>{html.escape(p.file)}: {html.escape(p.detail)}</li>"
                         for p in items[:MAX_FILES_LISTED])
        more = (f"<li>… and {len(items) - MAX_FILES_LISTED} more</li>"
                if len(items) > MAX_FILES_LISTED else "")
        parts.append(f"<details><summary>{html.escape(reason)}</summary><ul>{listed}{more}"
                     "</ul></details>")
    return "\n".join(parts)


def _configuration(results: Mapping[str, Any]) -> str:
    shown = {"config": results["config"], "model_fingerprint": results["model_fingerprint"],
             "versions": results["versions"], "created": results["created"],
             "data": results["data"]}
    return f"<pre>{html.escape(json.dumps(shown, indent=1, sort_keys=True))}</pre>"


def render_report(run: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of the run folder ``run`` (default ``run/report.html``)."""
    run = Path(run)
    results, store = _load(run)
    with store:
        calibration = store.get_meta("sped_calibration")
        sections = [
            f"<p class=\"note\">Run {html.escape(str(run.resolve()))}, created "
            f"{html.escape(str(results['created']))}, model fingerprint "
            f"{html.escape(str(results['model_fingerprint']))}.</p>",
            "<h2>Table I: localisation of spoofing evidence</h2>", table_one(results),
            "<h2>Pointing game</h2>", _pointing(results),
            "<h2>Per evidence type</h2>", _charts(results),
            "<h2>Images x methods</h2>", _grid(run, results["methods"]),
            "<h2>SPED concepts</h2>", _sped(run, results, calibration),
            "<h2>Problems in the data</h2>", _problems(store),
            "<h2>Configuration</h2>", _configuration(results)]
    target = Path(out) if out is not None else run / REPORT
    write_report_file(target, html_page(f"X-FAS benchmark: {run.name}", sections))
    return target


def render_comparison(run_a: str | Path, run_b: str | Path,
                      out: str | Path | None = None) -> Path:
    """Write a report comparing two runs (default ``run_a/compare_<run_b name>.html``): both
    Tables I side by side, the differences B - A per method and evidence type, and the
    configuration keys that differ."""
    run_a, run_b = Path(run_a), Path(run_b)
    results_a, store_a = _load(run_a)
    store_a.close()
    results_b, store_b = _load(run_b)
    store_b.close()
    delta = differences(results_a, results_b)
    evidence_types = [e for e in results_a["evidence_types"] if e in results_b["evidence_types"]]
    headers = ["method"] + [f"{e} {m} {s}" for e in evidence_types for m in ("IoU", "nIoU")
                            for s in ("A", "B", "B−A")]
    rows, classes = [], []
    for method, cells in delta.items():
        row, css = [method], [""]
        for evidence in evidence_types:
            for metric in ("iou", "niou"):
                a = results_a["table"][method][evidence][metric]
                b = results_b["table"][method][evidence][metric]
                d = cells[evidence][metric]
                row += [format_value(a), format_value(b), "–" if d is None else f"{d:+.3f}"]
                css += ["", "", "" if not d else ("up" if d > 0 else "down")]
        rows.append(row)
        classes.append(css)
    config_a, config_b = results_a["config"], results_b["config"]
    changed = [[k, json.dumps(config_a.get(k)), json.dumps(config_b.get(k))]
               for k in sorted(config_a.keys() | config_b.keys())
               if config_a.get(k) != config_b.get(k)]
    only = sorted(set(results_a["methods"]) ^ set(results_b["methods"]))
    sections = [
        f"<p>A = {html.escape(str(run_a.resolve()))}<br>B = "
        f"{html.escape(str(run_b.resolve()))}</p>",
        "<h2>Differences (B − A)</h2>",
        html_table(headers, rows, classes) if rows else "<p>No method in common.</p>",
        f"<p class=\"note\">Methods in only one run: {html.escape(', '.join(only) or 'none')}."
        "</p>",
        "<h2>Table I, run A</h2>", table_one(results_a),
        "<h2>Table I, run B</h2>", table_one(results_b),
        "<h2>Configuration differences</h2>",
        html_table(["key", "A", "B"], changed) if changed else "<p>Same configuration.</p>"]
    target = Path(out) if out is not None else run_a / f"compare_{run_b.name}.html"
    write_report_file(target, html_page(f"X-FAS benchmark: {run_a.name} vs {run_b.name}", sections))
    return target


def write_report_file(path: Path, text: str) -> None:
    """Write an HTML report; an unwritable path is an XfasError naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise XfasError(f"{path}: cannot write the report ({error})") from None
