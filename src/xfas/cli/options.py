"""Every option and argument that two or more commands share, declared once: one flag spelling,
one help text. A command takes one by annotating a parameter with it, e.g.
``assets: AssetsOption = None``; a parameter without a default is required. Options that
only one command has stay in that command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# --- what the commands read -------------------------------------------------------------
ModelOption = Annotated[str | None, typer.Option(
    "--model", "-m", help="A model `xfas models` lists ('minifasnet-v2', 'minifasnet-v1se': "
                          "weights from --assets), a run folder or checkpoint of `xfas train`, "
                          "or an ONNX file (with --card).")]
PredictorOption = Annotated[str, typer.Option(
    "--model", "-m", help="'minifasnet' (MiniFASNetV2 and V1SE fused for the verdict, as "
                          "Silent-Face; V2 is the one explained), or any other model --model "
                          "takes: 'minifasnet-v2', 'minifasnet-v1se', a run folder or "
                          "checkpoint of `xfas train`, an ONNX file (with --card).")]
CardOption = Annotated[Path | None, typer.Option(
    "--card", help="The model card (JSON or YAML): input size, colour order, pixel scale, "
                   "mean / std, face crop, live index, threshold. Default: the one beside "
                   "the model file (MODEL.json), which an ONNX file needs.")]
DataOption = Annotated[Path, typer.Option(
    "--data", "-d", help="Dataset folder: the benchmark layout of `xfas synth`, live/ and "
                         "spoof/ folders, CelebA-Spoof or CASIA-FASD.")]
EvidenceDataOption = Annotated[Path | None, typer.Option(
    "--data", "-d", help="Dataset with evidence masks, in the benchmark layout `xfas synth` "
                         "writes: images/, masks/<evidence>/, manifest.json with face boxes "
                         "and splits.")]
ConceptBankOption = Annotated[Path | None, typer.Option(
    "--concepts", help="A SPED concept bank made on this model (`xfas concepts discover`).")]
ImagesArgument = Annotated[list[Path], typer.Argument(
    help="Image files (JPEG, PNG, ...), one or more.")]
BankArgument = Annotated[Path, typer.Argument(help="The concept bank file.")]
AssetsOption = Annotated[Path | None, typer.Option(
    "--assets", help="Folder with the Silent-Face models/, detector/ and images/ (default: "
                     "$XFAS_ASSETS).")]

# --- which images -----------------------------------------------------------------------
SplitOption = Annotated[str | None, typer.Option(
    "--split", help="Split of the dataset: train, val or test (the benchmark and reliance "
                    "also take 'all').")]
LimitOption = Annotated[int | None, typer.Option(
    "--limit", min=1, help="Use at most N images (quick runs).")]
ScoredLimitOption = Annotated[int | None, typer.Option(
    "--limit", min=1, help="Score at most N images (quick runs); SPED's calibration still uses "
                           "every calibration image.")]
SeedOption = Annotated[int | None, typer.Option(
    "--seed", help="Seed of every random choice: the same seed, the same output.")]
SizeOption = Annotated[int, typer.Option(
    "--size", help="Image side in pixels (at least 32).")]

# --- explaining -------------------------------------------------------------------------
MethodsOption = Annotated[str | None, typer.Option(
    "--methods", help="Explainers, comma-separated (e.g. gradcam,rise,lime); a wrong name "
                      "prints the valid ones. The benchmark also takes 'all'.")]
LayerOption = Annotated[str | None, typer.Option(
    "--layer", help="Model layer the layer methods (CAMs) and SPED read (default: the "
                    "model's).")]
BatchSizeOption = Annotated[int | None, typer.Option(
    "--batch-size", min=1, help="Most inputs in one forward pass: images, crops or "
                                "perturbed copies.")]
ThresholdOption = Annotated[float | None, typer.Option(
    "--threshold", min=0.0, max=1.0, help="Spoof probability at or above which the verdict "
                                          "is spoof (default: the model card's, 0.5 unless "
                                          "the card says otherwise).")]

# --- training ---------------------------------------------------------------------------
EpochsOption = Annotated[int, typer.Option(
    "--epochs", min=1, help="Most training epochs (early stopping may end sooner).")]
TrainBatchOption = Annotated[int, typer.Option(
    "--batch-size", min=1, help="Images per training step.")]
LearningRateOption = Annotated[float, typer.Option(
    "--lr", min=0.0, help="Initial Adam learning rate.")]
PatienceOption = Annotated[int, typer.Option(
    "--patience", min=1, help="Early-stopping patience in epochs.")]

# --- serving ----------------------------------------------------------------------------
HostOption = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOption = Annotated[int, typer.Option("--port", help="TCP port to listen on.")]

# --- output -----------------------------------------------------------------------------
OverwriteOption = Annotated[bool, typer.Option(
    "--overwrite", help="Replace the data set in a non-empty --out folder.")]
ProgressOption = Annotated[bool, typer.Option(
    "--progress/--no-progress", help="Show progress bars.")]

# --- SynthSpoof's people ----------------------------------------------------------------
FacesOption = Annotated[Path | None, typer.Option(
    "--faces", help="Folder of real face photos, one person per file-name prefix "
                    "(001_03.jpg is person 001); default: $XFAS_FACES.")]
DrawnOption = Annotated[bool, typer.Option(
    "--drawn", help="Draw the people even when face photos are found.")]
