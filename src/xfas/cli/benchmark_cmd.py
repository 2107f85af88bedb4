"""``xfas benchmark run|report|reliance``: run, resume or re-tabulate the X-FAS benchmark,
render a run (or the comparison of two) as HTML, and check whether a model's verdicts rest on
the evidence. ``xfas benchmark --out RUN ...`` (no command name) still runs, and
``xfas report`` and ``xfas reliance`` are the hidden old names of the last two."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import INTERRUPTED, app, run_by_default
from xfas.cli.loading import open_model
from xfas.cli.options import (AssetsOption, BatchSizeOption, CardOption, ConceptBankOption,
                              EvidenceDataOption, LayerOption, LimitOption, MethodsOption,
                              ModelOption, ProgressOption, ScoredLimitOption, SeedOption,
                              SplitOption, ThresholdOption)
from xfas.cli.parsing import check_choice
from xfas.errors import XfasError

benchmark_app = typer.Typer(
    help="The X-FAS benchmark: run it, render a run as HTML, check a model's reliance on the "
         "evidence.\n\n`xfas benchmark --out RUN` with the options below (no command name) runs "
         "the benchmark as `xfas benchmark run` does; see `xfas benchmark run --help`.",
    subcommand_metavar="[COMMAND [ARGS]...]")
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("run")
def run_command(
    out: Path = typer.Option(..., "--out", "-o",
                             help="Run folder: results.sqlite, tables, figures/ (the report)."),
    data: EvidenceDataOption = None,
    model: ModelOption = None,
    card: CardOption = None,
    concepts: ConceptBankOption = None,
    methods: MethodsOption = None,
    split: SplitOption = None,
    calibration_split: str | None = typer.Option(
        None, "--calibration-split", help="Split on which SPED's concepts are assigned to "
                                          "evidence types (default val; never scored). "
                                          "Without splits, a seeded 20 % is set aside. "
                                          "'names': assign each type the concept named "
                                          "after it (xfas concepts label), no calibration."),
    limit: ScoredLimitOption = None,
    seed: SeedOption = None,
    faithfulness: bool | None = typer.Option(
        None, "--faithfulness/--no-faithfulness",
        help="Deletion / insertion AUC of the spoof score per image and method (default on)."),
    steps: int | None = typer.Option(
        None, "--steps", help="Steps of the deletion / insertion curves (default 32)."),
    batch_size: BatchSizeOption = None,
    unit_size: int | None = typer.Option(
        None, "--unit-size", help="Images per work unit, the most a resumed run recomputes "
                                  "(default 16)."),
    layer: LayerOption = None,
    layer_rule: str | None = typer.Option(
        None, "--layer-rule",
        help="How every layer method's layer is chosen: 'fixed' (default: --layer or the "
             "model's default; SPED: its bank's) or 'calibration' (each CAM gets the model "
             "layer, and SPED the bank of --concepts A,B,..., with the highest mean nIoU on "
             "the calibration split, never scored)."),
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
    assets: AssetsOption = None,
    progress: ProgressOption = True,
) -> None:
    """Run the X-FAS benchmark: explainers scored against the evidence masks of --data.

    By default every explainer explains the spoof images of --data. Per image and evidence
    type: IoU and nIoU of the map's top 30 % pixels and the pointing game; per image and
    method: deletion and insertion AUC (faithfulness). --concepts adds SPED as the methods
    sped (one map) and sped-matched (the concept assigned to each evidence type). --methods
    defaults to all, --split to auto (test when the manifest has splits, else every image),
    --seed to 0, --batch-size to 64.

    Writes into OUT: results.sqlite (every score; an interrupted run resumes with --resume and
    loses nothing), table.md, table.csv, results.json (Table I) and scores.csv (per image).
    Rerunning a finished run recomputes nothing. Render the report with `xfas benchmark
    report OUT`.
    """
    from xfas.benchmark import run_benchmark
    from xfas.benchmark.runner import print_summary
    from xfas.benchmark.settings import config_for_run, parse_method_options

    if model is not None:
        from xfas.models.registry import FUSED, fused_model_error
        if model == FUSED:
            raise fused_model_error("to benchmark")
    given = {"data": data, "model": model, "card": card, "concepts": concepts,
             "methods": methods,
             "split": split, "calibration_split": calibration_split, "limit": limit,
             "seed": seed, "faithfulness": faithfulness, "steps": steps,
             "batch_size": batch_size, "unit_size": unit_size, "layer": layer,
             "layer_rule": layer_rule,
             "method_options": parse_method_options(settings) or None, "device": device,
             "assets": assets}
    config = config_for_run(out, resume=resume, given=given)
    try:
        run = run_benchmark(config, out, resume=resume, workers=workers, dask=dask,
                            progress=progress)
    except KeyboardInterrupt as stop:  # typer would turn it into a silent exit
        typer.echo(f"interrupted: {stop}", err=True)
        raise typer.Exit(INTERRUPTED) from None
    typer.echo(print_summary(run))


run_by_default(benchmark_app, run_command)


@benchmark_app.command("report")
def report_command(
    runs: list[Path] = typer.Argument(..., help="A run folder, or two to compare (A B)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="HTML file (default RUN/report.html, or "
                                  "RUN_A/compare_<B>.html for two runs)."),
) -> None:
    """Render a benchmark run as one self-contained HTML file, or compare two runs.

    The report holds Table I, bar charts with bootstrap 95 % intervals, a grid of images x
    methods with the evidence outlined, SPED's concepts and assignment, the problems found and
    the configuration. With two runs, one comparison report (both tables and the differences
    B - A).
    """
    from xfas.benchmark import render_comparison, render_report

    if len(runs) == 1:
        path = render_report(runs[0], out)
    elif len(runs) == 2:
        path = render_comparison(runs[0], runs[1], out)
    else:
        raise XfasError(f"RUNS: expected one run folder, or two to compare; got {len(runs)}")
    typer.echo(str(path))


@benchmark_app.command("reliance")
def reliance_command(
    model: ModelOption,
    data: EvidenceDataOption,
    card: CardOption = None,
    split: SplitOption = "test",
    limit: LimitOption = None,
    threshold: ThresholdOption = None,
    seed: SeedOption = 0,
    out: Path | None = typer.Option(None, "--out", help="JSON file for the result."),
) -> None:
    """Does a model's spoof verdict rest on the evidence or on the face?

    Blurs the evidence, the face (minus evidence) and a control box (placed with --seed) of
    each spoof image in turn; prints the mean spoof probability after each and the share of
    verdicts flipped. --limit takes the first N spoof images.
    """
    from xfas.benchmark.reliance import evidence_reliance

    check_choice("--split", split, ("train", "val", "test", "all"))
    fas_model = open_model(model, card=card, what="to blur regions for")
    result = evidence_reliance(fas_model, data, split=None if split == "all" else split,
                               threshold=fas_model.threshold if threshold is None else threshold,
                               seed=seed, limit=limit)
    table = Table("blurred", "images", "area", "spoof probability", "flipped to live",
                  title=f"{model} on {result.images} spoof images of {data} ({split}); "
                        f"untouched spoof probability {result.spoof_probability:.3f}")
    for effect in result.effects:
        table.add_row(effect.region, str(effect.images), f"{effect.area:.3f}",
                      f"{effect.spoof_probability:.3f}", f"{effect.flipped:.3f}")
    Console().print(table)
    if out is not None:
        try:
            out.write_text(json.dumps(result.to_json(), indent=1))
        except OSError as error:
            raise XfasError(f"--out {out}: cannot write the result ({error.strerror})") from error
        typer.echo(f"written {out}")


app.command("report", hidden=True)(report_command)
app.command("reliance", hidden=True)(reliance_command)
