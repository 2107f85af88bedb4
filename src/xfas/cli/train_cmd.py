"""``xfas train`` and ``xfas study attention`` (the ``study`` group; ``xfas eval`` is in
``eval_cmd``, ``xfas study backbones`` in ``backbones_cmd``)."""

from __future__ import annotations

from pathlib import Path

import typer

from xfas.cli.app import app
from xfas.cli.options import (DataOption, EpochsOption, LearningRateOption, PatienceOption,
                              SeedOption, TrainBatchOption)
from xfas.cli.parsing import parse_seeds

study_app = typer.Typer(help="Studies of the papers, reproduced on your data.",
                        no_args_is_help=True)
app.add_typer(study_app, name="study")


# The defaults below are TrainConfig's (a test holds them equal); they are written out so
# that starting the command line does not import torch.
@app.command("train")
def train_command(
    data: DataOption,
    out: Path = typer.Option(..., "--out", help="Run folder for checkpoints and history."),
    model: str = typer.Option("cnn-cbam", "--model",
                              help="An architecture: cnn, cnn-ca, cnn-sa, cnn-cbam, or a "
                                   "backbone (xception, resnet50, vgg16, densenet121, "
                                   "efficientnetb7, mobilenetv3; pip install 'xfas[backbones]')."),
    epochs: EpochsOption = 50,
    batch_size: TrainBatchOption = 4,
    lr: LearningRateOption = 1e-4,
    patience: PatienceOption = 10,
    seed: SeedOption = 0,
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Random crops of "
                                 "80-100 %, flips, mild brightness/contrast."),
    ema_decay: float = typer.Option(
        0.995, "--ema-decay", min=0.0, max=0.9999,
        help="Validate and keep an exponential moving average of the weights with this decay "
             "(0: the raw weights, as in the paper)."),
    label_smoothing: float = typer.Option(
        0.1, "--label-smoothing", min=0.0, max=0.99,
        help="Label smoothing of the cross-entropy, in training and validation (0: the "
             "paper's plain cross-entropy)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
    pretrained: Path | None = typer.Option(
        None, "--pretrained", help="ImageNet weights for a backbone: a local timm or "
                                   "torchvision state dict (nothing is downloaded; without it "
                                   "the backbone trains from scratch)."),
) -> None:
    """Train a FAS model with the attention paper's recipe; Ctrl-C keeps the best checkpoint.

    The run folder gets best.safetensors and its model card best.json."""
    from xfas.data.splits import open_splits
    from xfas.models import build_model
    from xfas.training import TrainConfig, train

    weights = str(pretrained) if pretrained is not None else None
    build_model(model, pretrained=weights)  # a wrong name or file fails before the data is read
    splits = open_splits(data)
    config = TrainConfig(model=model, epochs=epochs, batch_size=batch_size, learning_rate=lr,
                         patience=patience, seed=seed, augment=augment,
                         ema_decay=ema_decay, label_smoothing=label_smoothing,
                         pretrained=weights)
    result = train(splits["train"], splits["val"], out, config=config, resume=resume)
    typer.echo(f"best epoch {result.best_epoch}: validation loss {result.best_val_loss:.4f}; "
               f"model in {out / 'best.safetensors'}")


@study_app.command("attention")
def attention_study_command(
    data: DataOption,
    out: Path = typer.Option(..., "--out", help="Study folder (finished runs are reused)."),
    seeds: str = typer.Option("0,1,2", "--seeds",
                              help="Comma-separated seeds; each model trains per seed."),
    epochs: EpochsOption = 8,
    patience: PatienceOption = 3,
    lr: LearningRateOption = 1e-3,
    batch_size: TrainBatchOption = 32,
    bench_images: int = typer.Option(
        16, "--bench-images", min=0,
        help="Test spoof images on which the X-FAS benchmark scores Grad-CAM, LIME and SHAP "
             "of each model's first-seed checkpoint (needs evidence masks; reused on rerun). "
             "0 skips the benchmark and the figures."),
    figure_images: int = typer.Option(
        2, "--figure-images", min=0,
        help="Test images per attack type in figure_<attack>.png (0: no figures)."),
) -> None:
    """Train cnn, cnn-ca, cnn-sa and cnn-cbam on the same data and seeds and compare them.

    Writes Table II, then benchmarks their explanations against the evidence
    (attention_benchmark.md), draws one figure per attack type and writes report.html. The
    paper trains for 50 epochs at a learning rate of 1e-4.
    """
    from xfas.data.splits import open_splits
    from xfas.studies.attention import (ATTENTION_MD, explain_attention_study,
                                        run_attention_study)
    from xfas.training import TrainConfig

    config = TrainConfig(epochs=epochs, patience=patience, learning_rate=lr,
                         batch_size=batch_size)
    chosen = parse_seeds(seeds)
    summary = run_attention_study(open_splits(data), out, chosen, config=config)
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
