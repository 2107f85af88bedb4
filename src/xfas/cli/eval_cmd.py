"""``xfas eval``: a model's FAS metrics on a labelled dataset (the steps live in
``xfas.workflows.evaluate_data``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import app
from xfas.cli.loading import model_label, open_scorer
from xfas.cli.options import (AssetsOption, CardOption, DataOption, PredictorOption,
                              ProgressOption, SplitOption, ThresholdOption)
from xfas.cli.parsing import check_choice


@app.command("eval")
def eval_command(
    model: PredictorOption,
    data: DataOption,
    card: CardOption = None,
    split: SplitOption = "test",
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the metrics (MODEL_SPLIT.json) and the per-image "
                            "scores (MODEL_SPLIT_scores.csv), or the JSON file itself. "
                            "Default: DATA_eval/ beside the data folder."),
    threshold: ThresholdOption = None,
    assets: AssetsOption = None,
    progress: ProgressOption = True,
) -> None:
    """Score a model on a labelled dataset: accuracy, precision, recall, F1, APCER, BPCER,
    ACER, HTER, EER, AUC.

    --split test (default), val, train, or all (every image, e.g. of your own live/ and
    spoof/ folders). Each image is fed as the model wants it: crop models (MiniFASNet, and
    'minifasnet', the fused verdict of `xfas predict`) get the face the detector finds, cut
    and scaled as their card says; images without a face are left out and counted.
    """
    from xfas.workflows.evaluate_data import evaluate_on_data

    check_choice("--split", split, ("train", "val", "test", "all"))
    scorer = open_scorer(model, card=card, assets=assets)
    result = evaluate_on_data(scorer, data, split=split, label=model_label(model),
                              threshold=threshold, out=out, progress=progress)
    report = result.report
    table = Table("metric", "value", title=f"{model} on {data} ({split}, {report['scored']} "
                                           f"images)")
    for key, value in report.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4f}")
    Console().print(table)
    for note in report["notes"]:
        typer.echo(f"note: {note}")
    typer.echo(f"written {result.report_file} and {result.scores_file}")
