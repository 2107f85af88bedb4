"""``xfas study backbones``: the attention paper's Table I, its backbones against its CNN."""

from __future__ import annotations

from pathlib import Path

import typer

from xfas.cli.options import (DataOption, EpochsOption, LearningRateOption, PatienceOption,
                              ProgressOption, TrainBatchOption)
from xfas.cli.parsing import parse_seeds
from xfas.cli.train_cmd import study_app

# Written out so that starting the command line imports no torch (a test holds them equal to
# xfas.studies.backbones.DEFAULT_MODELS and STUDY_MODELS).
DEFAULT_MODELS = "cnn,mobilenetv3,resnet50"
ALL_MODELS = "cnn,xception,resnet50,vgg16,densenet121,efficientnetb7,mobilenetv3"


@study_app.command("backbones")
def backbones_study_command(
    data: DataOption,
    out: Path = typer.Option(..., "--out", help="Study folder (finished runs are reused)."),
    models: str = typer.Option(
        DEFAULT_MODELS, "--models",
        help="Comma-separated: cnn (the paper's custom CNN, the baseline) and the backbones "
             "xception, resnet50, vgg16, densenet121, efficientnetb7, mobilenetv3; 'all' for "
             "every one (the paper's Table I)."),
    seeds: str = typer.Option("0,1", "--seeds",
                              help="Comma-separated seeds; each model trains per seed."),
    images: int = typer.Option(
        960, "--images", min=8,
        help="Training images (a seeded subset stratified by label); validation and test get "
             "a quarter and three quarters as many; --all-images uses every image."),
    all_images: bool = typer.Option(False, "--all-images", help="Use every image of each "
                                    "split (the paper's setting; for a GPU)."),
    epochs: EpochsOption = 6,
    patience: PatienceOption = 3,
    lr: LearningRateOption = 1e-3,
    batch_size: TrainBatchOption = 32,
    pretrained: Path | None = typer.Option(
        None, "--pretrained",
        help="Folder of ImageNet weights named after the backbones (resnet50.pth, "
             "vgg16.safetensors, ...: timm or torchvision state dicts). Nothing is downloaded: "
             "a backbone without a file trains from scratch, and the table says which."),
    progress: ProgressOption = True,
) -> None:
    """Train the paper's custom CNN and its backbones on the same data and seeds: Table I.

    Writes OUT/table1.md and OUT/table1.json: accuracy, precision, recall, F1, APCER, BPCER,
    ACER and AUC as mean ± std over the seeds, each backbone tested against the CNN.

    The defaults fit 30 minutes on 2 CPU cores. The paper's setting, for a GPU: --models all
    --seeds 0,1,2 --all-images --epochs 50 --lr 1e-4 --patience 10 (docs/studies.md).
    """
    from xfas.data.splits import open_splits
    from xfas.studies.backbones import TABLE1, limit_splits, run_backbone_study
    from xfas.training import TrainConfig

    chosen = tuple(name.strip() for name in (ALL_MODELS if models == "all" else models)
                   .split(",") if name.strip())
    config = TrainConfig(epochs=epochs, patience=patience, learning_rate=lr,
                         batch_size=batch_size)
    seed_list = parse_seeds(seeds)
    splits = limit_splits(open_splits(data), None if all_images else images, seed=seed_list[0])
    summary = run_backbone_study(splits, out, seed_list, config=config, models=chosen,
                                 pretrained=pretrained, progress=progress)
    typer.echo((out / f"{TABLE1}.md").read_text())
    typer.echo(f"written {out / f'{TABLE1}.md'} and {out / f'{TABLE1}.json'} "
               f"({len(summary['seeds'])} seeds)")
