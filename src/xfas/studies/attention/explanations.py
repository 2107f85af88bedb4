"""After the attention study has trained its models: does attention make them look at the
evidence? The X-FAS benchmark of each model's first-seed checkpoint
(``xfas.studies.attention.benchmark``), the paper's Figures 2-4 per attack type
(``xfas.studies.attention.figures``) and one HTML report (``xfas.studies.attention.report``).

Example:
    >>> explain_attention_study("synth", "study", seed=0).report
    PosixPath('study/report.html')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xfas.data.benchmark_layout import BenchmarkLayout
from xfas.data.splits import open_splits
from xfas.errors import XfasError
from xfas.models.registry import RUN_CHECKPOINT
from xfas.studies.attention.benchmark import (BENCH_IMAGES, BENCH_METHODS, STUDY_METHOD_OPTIONS,
                                              STUDY_STEPS, benchmark_models,
                                              write_attention_benchmark)
from xfas.studies.attention.figures import attention_figures
from xfas.studies.attention.report import render_study_report
from xfas.studies.attention.table2 import STUDY_MODELS

FIGURE_IMAGES = 2


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
                            *, models: tuple[str, ...] = STUDY_MODELS,
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
        masks = BenchmarkLayout(data).has_evidence_masks()
        if masks:
            runs_done = benchmark_models(data, out, runs, methods=methods, images=bench_images,
                                         method_options=options, steps=steps,
                                         progress=progress)
            result.units_computed = {n: r.units_computed for n, r in runs_done.items()}
            result.benchmark = write_attention_benchmark(out, models, methods)
        else:
            result.notes.append(f"{data}: no evidence masks (not the benchmark layout of "
                                "`xfas synth`): no attention benchmark, and the figures "
                                "outline no evidence.")
        if figure_images == 0:
            result.notes.append("--figure-images 0: no figures.")
        else:
            result.figures = attention_figures(open_splits(data)["test"], runs, out,
                                               methods=methods,
                                               count=figure_images, seed=seed,
                                               method_options=options, outline=masks,
                                               credit=BenchmarkLayout(data).credit(),
                                               progress=progress)
            if not result.figures:
                result.notes.append(f"{data}: the test split has no spoof image: no figures.")
    result.report = render_study_report(out, result.benchmark, result.figures, notes=result.notes)
    return result
