"""The attention study's report, ``OUT/report.html``: one self-contained HTML file (CSS inline,
every picture a base64 ``data:`` URI) with Table II, the attention benchmark with its answer
to "does attention make the model look at the evidence?", and the figures per attack type.
It is a function of the study folder: ``table2.json``, ``attention_benchmark.json`` and the
figure files, plus the notes of what was skipped."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from xfas.benchmark.report import (html_image, html_page, html_table,
                                   write_report_file)
from xfas.studies.attention.benchmark import benchmark_cells, benchmark_columns, benchmark_note
from xfas.studies.attention.table2 import TABLE_METRICS, table2_cells, table2_note

REPORT = "report.html"


def table2_html(summary: Mapping[str, Any]) -> str:
    """Table II as HTML with its note."""
    return (html_table(["model", *TABLE_METRICS], table2_cells(dict(summary)))
            + f"<p class=\"note\">{html.escape(table2_note(dict(summary)))}</p>")


def attention_html(summary: Mapping[str, Any]) -> str:
    """The attention benchmark as HTML: the sentence, the table and its note."""
    return (f"<p>{html.escape(summary['sentence'])}</p>"
            + html_table(["model", "method", *benchmark_columns(summary)], benchmark_cells(summary))
            + f"<p class=\"note\">{html.escape(benchmark_note(summary))}</p>")


def figures_html(figures: Mapping[str, Path]) -> str:
    """Each figure, inlined, under its attack type."""
    if not figures:
        return "<p class=\"note\">No figure was drawn.</p>"
    return "\n".join(f"<h3>{html.escape(attack)}</h3>"
                     + html_image(Path(path).read_bytes(), f"figure {attack}")
                     for attack, path in figures.items()) + (
        "<p class=\"note\">Per image, one row per method; the input (evidence outlined in "
        "green when the data have masks), then each model's map of the spoof score.</p>")


def render_study_report(out: str | Path, attention: Mapping[str, Any] | None,
                        figures: Mapping[str, Path], *, notes: Sequence[str] = ()) -> Path:
    """Write ``out/report.html`` from ``out``'s ``table2.json``, the attention benchmark's
    summary (None: skipped) and ``figures`` ({attack: PNG file}); ``notes`` say what was
    skipped and why."""
    out = Path(out)
    table2 = json.loads((out / "table2.json").read_text(encoding="utf-8"))
    sections = [f"<p class=\"note\">Study folder {html.escape(str(out.resolve()))}; seeds "
                f"{html.escape(', '.join(map(str, table2.get('seeds', []))))}; training "
                f"{html.escape(json.dumps(table2.get('config', {}), sort_keys=True))}.</p>"]
    sections += [f"<p class=\"note\">{html.escape(note)}</p>" for note in notes]
    sections += ["<h2>Table II: classification over seeds</h2>", table2_html(table2)]
    sections.append("<h2>Does attention make the model look at the evidence?</h2>")
    sections.append(attention_html(attention) if attention is not None
                    else "<p class=\"note\">No attention benchmark in this study (see the "
                    "notes above).</p>")
    sections += ["<h2>Figures: the models' explanations per attack type</h2>",
                 figures_html(figures)]
    target = out / REPORT
    write_report_file(target, html_page(f"Attention study: {out.name}", sections))
    return target
