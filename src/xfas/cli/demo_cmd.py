"""``xfas demo``: the whole pipeline on SynthSpoof in one command (the stages live in
``xfas.workflows.demo``); prints a summary table and the report's path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import app
from xfas.cli.options import AssetsOption, DrawnOption, EpochsOption, FacesOption, SeedOption

if TYPE_CHECKING:
    from xfas.workflows.demo import DemoResult

console = Console()


def _number(value: float | None) -> str:
    from xfas.benchmark.tables import format_value

    return format_value(value, missing="-")


def summary_table(result: "DemoResult") -> Table:
    """The terminal summary: model quality, concepts, Table I means, MiniFASNet, timings."""
    table = Table("", "mean IoU", "mean nIoU", "deletion AUC", "insertion AUC",
                  title="xfas demo")
    table.add_row("cnn-cbam test accuracy / ACER / AUC",
                  " / ".join(_number(result.metrics.get(k)) for k in ("accuracy", "acer", "auc")))
    ranked = sorted(zip(result.sped.importances_.tolist(), result.sped.names), reverse=True)[:4]
    table.add_row("top SPED concepts", ", ".join(f"{n} ({i:.2f})" for i, n in ranked))
    for method, mean in result.results["mean"].items():
        faithful = result.results["faithfulness"].get(method, {})
        table.add_row(f"benchmark: {method}", _number(mean.get("iou")), _number(mean.get("niou")),
                      _number(faithful.get("deletion_auc")),
                      _number(faithful.get("insertion_auc")))
    for name, label, score in result.verdicts:
        table.add_row(f"MiniFASNet {name}", f"{label} ({score:.2f})")
    for name, sentence in result.sentences:
        table.add_row(f"MiniFASNet concepts, {name}", sentence)
    table.add_row("time per stage", ", ".join(f"{k} {v:.0f}s" for k, v in result.seconds.items()))
    return table


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for everything the "
                             "demo writes (reused: finished stages are skipped)."),
    images: int = typer.Option(2000, "--images", min=100,
                               help="SynthSpoof images to generate."),
    epochs: EpochsOption = 15,
    concepts: int = typer.Option(16, "--concepts", min=2,
                                 help="SPED concepts to discover at each candidate layer."),
    sped_images: int = typer.Option(200, "--sped-images", min=4,
                                    help="Spoof images SPED discovers from."),
    bench_images: int = typer.Option(96, "--bench-images", min=1,
                                     help="Spoof test images the benchmark scores."),
    workers: int = typer.Option(2, "--workers", min=1, help="Local processes (1: this process)."),
    seed: SeedOption = 0,
    assets: AssetsOption = None,
    faces: FacesOption = None,
    drawn: DrawnOption = False,
) -> None:
    """The whole pipeline on SynthSpoof in one command.

    Generates SynthSpoof (real people when face photos are found), trains cnn-cbam, discovers
    SPED concepts, benchmarks every explainer, writes the HTML report, finds MiniFASNet's
    concepts and explains the real sample images with them.
    """
    from xfas.cli.synth_cmd import note_drawn, people
    from xfas.workflows.demo import DemoSettings, run_demo

    photos = people(faces, drawn=drawn)
    note_drawn(photos, drawn=drawn)
    settings = DemoSettings(out=out, images=images, epochs=epochs, concepts=concepts,
                            sped_images=sped_images, bench_images=bench_images,
                            bench_workers=workers, seed=seed,
                            assets=assets, faces=photos)
    result = run_demo(settings, on_stage=lambda name: console.rule(f"[bold]{name}"),
                      on_note=console.print)
    console.print(summary_table(result))
    typer.echo(f"report: {result.report.resolve()}")
