"""``xfas train``, ``xfas eval`` and ``xfas study attention``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import app
from xfas.errors import XfasError
from xfas.training import TrainConfig

study_app = typer.Typer(help="Studies of the papers, reproduced on your data.",
                        no_args_is_help=True)
app.add_typer(study_app, name="study")

DATA_HELP = ("Dataset folder: the benchmark layout of `xfas synth`, live/ and spoof/ folders, "
             "CelebA-Spoof or CASIA-FASD.")


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise XfasError(f"--seeds {text!r}: expected comma-separated integers") from None
    if not seeds:
        raise XfasError("--seeds: give at least one seed")
    return seeds


@app.command("train")
def train_command(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    out: Path = typer.Option(..., "--out", help="Run folder for checkpoints and history."),
    model: str = typer.Option("cnn-cbam", "--model", help="cnn, cnn-ca, cnn-sa or cnn-cbam."),
    epochs: int = typer.Option(50, min=1, help="Maximum number of epochs."),
    batch_size: int = typer.Option(TrainConfig.batch_size, min=1, help="Images per step."),
    lr: float = typer.Option(1e-4, min=0.0, help="Initial Adam learning rate."),
    patience: int = typer.Option(10, min=1, help="Early-stopping patience in epochs."),
    seed: int = typer.Option(0, help="Seed of initialisation, shuffling and augmentation."),
    augment: bool = typer.Option(True, help="Random crops of 80-100 %, flips, mild "
                                 "brightness/contrast."),
    ema_decay: float = typer.Option(
        TrainConfig.ema_decay, "--ema-decay", min=0.0, max=0.9999,
        help="Validate and keep an exponential moving average of the weights with this decay "
             "(0: the raw weights, as in the paper)."),
    label_smoothing: float = typer.Option(
        TrainConfig.label_smoothing, "--label-smoothing", min=0.0, max=0.99,
        help="Label smoothing of the cross-entropy, in training and validation (0: the "
             "paper's plain cross-entropy)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
) -> None:
    """Train a FAS model with the attention paper's recipe; Ctrl-C keeps the best checkpoint."""
    from xfas.data.splits import open_splits
    from xfas.models import build_model
    from xfas.training import train

    build_model(model)  # an unknown name fails before the data is read
    splits = open_splits(data)
    config = TrainConfig(model=model, epochs=epochs, batch_size=batch_size, learning_rate=lr,
                         patience=patience, seed=seed, augment=augment,
                         ema_decay=ema_decay, label_smoothing=label_smoothing)
    result = train(splits["train"], splits["val"], out, config, resume=resume)
    typer.echo(f"best epoch {result.best_epoch}: validation loss {result.best_val_loss:.4f}; "
               f"model in {out / 'best.safetensors'}")


@app.command("eval")
def eval_command(
    model: str = typer.Option(..., "--model", help="A run folder or checkpoint of `xfas train`."),
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    split: str = typer.Option("test", help="Split to score: train, val or test."),
    out: Path = typer.Option(None, "--out", help="JSON file for the metrics "
                             "(default: <run>/eval_<split>.json)."),
    threshold: float = typer.Option(0.5, min=0.0, max=1.0, help="Spoof-probability threshold."),
) -> None:
    """Score a trained model: accuracy, precision, recall, F1, APCER, BPCER, ACER, HTER, EER, AUC."""
    from xfas.data.splits import open_splits
    from xfas.training import evaluate
    from xfas.models import load_model

    if split not in ("train", "val", "test"):
        raise XfasError(f"--split {split!r}: expected train, val or test")
    fas_model = load_model(model)
    splits = open_splits(data, image_size=fas_model.input_size)
    report = evaluate(fas_model, splits[split], dev_set=splits["val"], threshold=threshold)
    target = out or (Path(model) if Path(model).is_dir() else Path(model).parent) \
        / f"eval_{split}.json"
    target.write_text(json.dumps(report, indent=1))
    table = Table("metric", "value", title=f"{fas_model.name} on {data} ({split})")
    for key, value in report.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4f}")
    Console().print(table)
    typer.echo(f"written {target}")


@study_app.command("attention")
def attention_study_command(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    out: Path = typer.Option(..., "--out", help="Study folder (finished runs are reused)."),
    seeds: str = typer.Option("0,1,2", help="Comma-separated seeds; each model trains per seed."),
    epochs: int = typer.Option(8, min=1, help="Maximum epochs per run (the paper: 50)."),
    patience: int = typer.Option(3, min=1, help="Early-stopping patience."),
    lr: float = typer.Option(1e-3, min=0.0, help="Adam learning rate (the paper: 1e-4)."),
    batch_size: int = typer.Option(32, min=1, help="Images per step."),
    bench_images: int = typer.Option(
        16, "--bench-images", min=0,
        help="Test spoof images on which the X-FAS benchmark scores Grad-CAM, LIME and SHAP "
             "of each model's first-seed checkpoint (needs evidence masks; reused on rerun). "
             "0 skips the benchmark and the figures."),
    figure_images: int = typer.Option(
        2, "--figure-images", min=0,
        help="Test images per attack type in figure_<attack>.png (0: no figures)."),
) -> None:
    """Train cnn, cnn-ca, cnn-sa, cnn-cbam on the same data and seeds; write Table II, then
    benchmark their explanations against the evidence (attention_benchmark.md), draw one
    figure per attack type and write report.html."""
    from xfas.data.splits import open_splits
    from xfas.studies.attention import explain_attention_study, run_attention_study
    from xfas.studies.attention import ATTENTION_MD

    config = TrainConfig(epochs=epochs, patience=patience, learning_rate=lr,
                         batch_size=batch_size)
    chosen = _seeds(seeds)
    summary = run_attention_study(open_splits(data), out, chosen, config)
    typer.echo((out / "table2.md").read_text())
    typer.echo(f"written {out / 'table2.md'} and {out / 'table2.json'} "
               f"({len(summary['seeds'])} seeds)")
    result = explain_attention_study(data, out, seed=chosen[0], bench_images=bench_images,
                                     figure_images=figure_images)
    for note in result.notes:
        typer.echo(f"note: {note}")
    if result.benchmark is not None:
        typer.echo((out / ATTENTION_MD).read_text())
    for attack, path in result.figures.items():
        typer.echo(f"figure ({attack}): {path}")
    typer.echo(f"report: {result.report}")
