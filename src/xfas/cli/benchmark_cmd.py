"""``xfas benchmark`` (run, resume or re-tabulate the X-FAS benchmark) and ``xfas report``
(the HTML report of a run, or the comparison of two runs). Thin wrappers over
``xfas.benchmark``."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import typer

from xfas.cli.app import app
from xfas.errors import XfasError


def parse_options(settings: list[str]) -> dict[str, dict[str, Any]]:
    """['rise.n_masks=500', 'lime.segmentation=grid'] -> {'rise': {'n_masks': 500}, ...};
    values are read as JSON when they parse (numbers, true/false), else kept as text."""
    options: dict[str, dict[str, Any]] = {}
    for setting in settings:
        key, sep, text = setting.partition("=")
        method, dot, option = key.partition(".")
        if not sep or not dot or not method or not option:
            raise XfasError(f"--set {setting!r}: expected METHOD.OPTION=VALUE, e.g. "
                            "rise.n_masks=500")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        options.setdefault(method.strip(), {})[option.strip()] = value
    return options


def build_config(out: Path, resume: bool, given: dict[str, Any]):
    """The run's configuration: the stored one (with --resume) updated by the options given,
    or a new one from the options (then --data and --model are required)."""
    from xfas.benchmark import BenchmarkConfig
    from xfas.benchmark.store import DB_NAME, RunStore

    given = {k: v for k, v in given.items() if v is not None}
    names = {f.name for f in fields(BenchmarkConfig)}
    if resume:
        if not (out / DB_NAME).is_file():
            raise XfasError(f"--resume: no run in {out} (no {DB_NAME})")
        with RunStore(out / DB_NAME, create=False) as store:
            stored = (store.run_info() or {}).get("config", {})
        base = {k: v for k, v in stored.items() if k in names}
        return BenchmarkConfig(**{**base, **given})
    missing = [f"--{k}" for k in ("data", "model") if k not in given]
    if missing:
        raise XfasError(f"{' and '.join(missing)}: required for a new run (or pass --resume "
                        f"to continue the run in {out})")
    return BenchmarkConfig(**given)


@app.command("benchmark")
def benchmark_command(
    out: Path = typer.Option(..., "--out", "-o",
                             help="Run folder: results.sqlite, tables, figures/ (the report)."),
    data: Path | None = typer.Option(
        None, "--data", "-d", help="Benchmark folder: images/, masks/<evidence>/, optional "
                                   "manifest.json (what `xfas synth` writes)."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="A checkpoint or run folder from `xfas train`, or "
                                    "'minifasnet-v2' / 'minifasnet-v1se'."),
    concepts: Path | None = typer.Option(
        None, "--concepts", help="A SPED concept bank (`xfas discover`); adds the methods "
                                 "sped (one map) and sped-matched (the concept assigned to "
                                 "each evidence type)."),
    methods: str | None = typer.Option(
        None, "--methods", help="'all' (default: every explainer, plus SPED with --concepts) "
                                "or a comma-separated list."),
    split: str | None = typer.Option(
        None, "--split", help="Split scored: 'auto' (default: test when the manifest has "
                              "splits, else every image), 'all', train, val or test."),
    calibration_split: str | None = typer.Option(
        None, "--calibration-split", help="Split on which SPED's concepts are assigned to "
                                          "evidence types (default val; never scored). "
                                          "Without splits, a seeded 20 % is set aside."),
    limit: int | None = typer.Option(None, "--limit", help="At most N images (quick runs)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of every random choice (0)."),
    faithfulness: bool | None = typer.Option(
        None, "--faithfulness/--no-faithfulness",
        help="Deletion / insertion AUC of the spoof score per image and method (default on)."),
    steps: int | None = typer.Option(
        None, "--steps", help="Steps of the deletion / insertion curves (default 32)."),
    batch_size: int | None = typer.Option(
        None, "--batch-size", help="Explainers' batch: images or perturbed inputs per forward "
                                   "pass (default 64)."),
    unit_size: int | None = typer.Option(
        None, "--unit-size", help="Images per work unit, the most a resumed run recomputes "
                                  "(default 16)."),
    layer: str | None = typer.Option(
        None, "--layer", help="Target layer of the layer methods (default: the model's)."),
    settings: list[str] = typer.Option(
        [], "--set", help="An explainer option, METHOD.OPTION=VALUE (repeatable), e.g. "
                          "rise.n_masks=500. The defaults are the benchmark's."),
    workers: int = typer.Option(1, "--workers", help="Local processes (1: this process)."),
    dask: str | None = typer.Option(
        None, "--dask", help="Run the units on Dask: 'local' (a cluster on this machine) or "
                             "a scheduler address tcp://HOST:PORT."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in --out with its stored configuration "
                                "(options given must match it)."),
    device: str = typer.Option("cpu", "--device", help="Torch device, e.g. cpu or cuda."),
    assets: Path | None = typer.Option(
        None, "--assets", help="Folder with models/, detector/ (default: $XFAS_ASSETS)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Run the X-FAS benchmark: every explainer (and SPED) on the spoof images of --data,
    scored against their evidence masks.

    Per image and evidence type: IoU and nIoU of the map's top 30 % pixels and the pointing
    game; per image and method: deletion and insertion AUC (faithfulness). Writes into OUT:
    results.sqlite (every score; an interrupted run resumes with --resume and loses nothing),
    table.md, table.csv, results.json (Table I) and scores.csv (per image). Rerunning a
    finished run recomputes nothing. Render the report with `xfas report OUT`.
    """
    from xfas.benchmark import run_benchmark
    from xfas.benchmark.runner import print_summary

    given = {"data": None if data is None else str(data), "model": model,
             "concepts": None if concepts is None else str(concepts), "methods": methods,
             "split": split, "calibration_split": calibration_split, "limit": limit,
             "seed": seed, "faithfulness": faithfulness, "steps": steps,
             "batch_size": batch_size, "unit_size": unit_size, "layer": layer,
             "method_options": parse_options(settings) or None, "device": device,
             "assets": None if assets is None else str(assets)}
    config = build_config(out, resume, given)
    try:
        run = run_benchmark(config, out, resume=resume, workers=workers, dask=dask,
                            progress=progress)
    except KeyboardInterrupt as stop:  # typer would turn it into a silent exit
        typer.echo(f"interrupted: {stop}", err=True)
        raise typer.Exit(130) from None
    typer.echo(print_summary(run))


@app.command("report")
def report_command(
    runs: list[Path] = typer.Argument(..., help="A run folder, or two to compare (A B)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="HTML file (default RUN/report.html, or "
                                  "RUN_A/compare_<B>.html for two runs)."),
) -> None:
    """Render a benchmark run as one self-contained HTML file: Table I, bar charts with
    bootstrap 95 % intervals, a grid of images x methods with the evidence outlined, SPED's
    concepts and assignment, the problems found and the configuration. With two runs, one
    comparison report (both tables and the differences B - A)."""
    from xfas.benchmark import render_comparison, render_report

    if len(runs) == 1:
        path = render_report(runs[0], out)
    elif len(runs) == 2:
        path = render_comparison(runs[0], runs[1], out)
    else:
        raise XfasError(f"xfas report: expected one run folder or two to compare, got "
                        f"{len(runs)}")
    typer.echo(str(path))
