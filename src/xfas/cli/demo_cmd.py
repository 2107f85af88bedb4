"""``xfas demo``: the whole pipeline on a fresh machine with nothing downloaded.

SynthSpoof data -> train cnn-cbam -> FAS metrics -> SPED concepts (named from the validation
masks) -> the X-FAS benchmark with every explainer -> the HTML report; and, when the Silent-Face
assets are found, the real MiniFASNet models' verdicts and explanations on the three sample
images. Every stage keeps its output in ``--out`` and is skipped when already done, so an
interrupted demo continues where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from xfas.cli.app import app
from xfas.errors import AssetMissingError

console = Console()


@dataclass
class Timer:
    """Seconds spent per stage, for the final summary."""

    stages: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, action, *args, **kwargs):
        console.rule(f"[bold]{name}")
        start = time.perf_counter()
        result = action(*args, **kwargs)
        self.stages[name] = time.perf_counter() - start
        return result


def make_data(folder: Path, n: int, seed: int) -> Path:
    from xfas.data.benchmark_layout import BenchmarkLayout
    from xfas.data.synth import generate_synthspoof

    if BenchmarkLayout(folder).manifest_path.exists():
        console.print(f"reusing {folder}")
        return folder
    return generate_synthspoof(folder, n, size=128, seed=seed, overwrite=True)


def train_model(data: Path, run: Path, epochs: int, seed: int) -> dict:
    from xfas.data.splits import open_splits
    from xfas.training import trained_run_metrics
    from xfas.training import TrainConfig

    config = TrainConfig(model="cnn-cbam", epochs=epochs, batch_size=32, learning_rate=1e-3,
                         patience=3, seed=seed)
    return trained_run_metrics(open_splits(data), run, config)


def discover_concepts(data: Path, run: Path, bank: Path, k: int, images: int, seed: int):
    from xfas.cli.sped_cmd import load_inputs
    from xfas.models import load_model
    from xfas.sped import SPED, crop_grid_figure, propose_names

    model = load_model(run)
    if bank.exists():
        console.print(f"reusing {bank}")
        return SPED.load(bank, model)
    spoof, _ = load_inputs(data, "train", model, True, None, images, seed, False, None)
    sped = SPED(model, n_concepts=k, seed=seed).fit(spoof)
    val_images, val_masks = load_inputs(data, "val", model, False, None, None, seed, True, None)
    sped.set_names(propose_names(sped, val_images, val_masks).names(sped.names))
    sped.save(bank)
    crop_grid_figure(sped.bank_, bank.with_suffix(".png"))
    return sped


def run_xfas_benchmark(data: Path, run: Path, bank: Path, out: Path, limit: int, seed: int):
    from xfas.benchmark import BenchmarkConfig, render_report, run_benchmark

    config = BenchmarkConfig(data=str(data), model=str(run), concepts=str(bank), methods="all",
                             limit=limit, seed=seed)
    result = run_benchmark(config, out)
    return result, render_report(out)


def explain_samples(out: Path, assets: Path | None) -> list[tuple[str, str, float]]:
    """Verdicts of the fused MiniFASNet models and Grad-CAM / LIME / SHAP figures of V2 on the
    three sample images; [] with a note when the assets are not found."""
    from xfas.assets import SAMPLE_IMAGES, find_asset
    from xfas.data.image_io import load_image
    from xfas.explain_images import explain_inputs, prepare_inputs, write_outputs
    from xfas.models import load_model
    from xfas.models.fused import FusedPredictor

    try:
        paths = [find_asset(name, root=assets) for name in SAMPLE_IMAGES]
        predictor = FusedPredictor.from_assets(assets)
        model = load_model("minifasnet-v2", assets=assets)
    except AssetMissingError as missing:
        console.print(f"[yellow]skipping the real MiniFASNet part: {missing}")
        return []
    verdicts = []
    for path in paths:
        prediction = predictor.predict(load_image(path), name=path.name)
        verdicts.append((path.name, prediction.label, prediction.spoof_probability))
    inputs = prepare_inputs(paths, model, assets)
    results = explain_inputs(model, inputs, ["gradcam", "lime", "shap"], "spoof", None, 0, 64,
                             True)
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(out, model, inputs, results)
    return verdicts


def _fmt(value: float | None, digits: int = 3) -> str:
    """A number for the summary, or a dash where the run had nothing to measure."""
    return "-" if value is None else f"{value:.{digits}f}"


def summary_table(metrics: dict, sped, results: dict, verdicts, timer: Timer) -> Table:
    """The terminal summary: model quality, concepts, Table I means, MiniFASNet, timings."""
    table = Table("", "mean IoU", "mean nIoU", "deletion AUC", "insertion AUC",
                  title="xfas demo")
    table.add_row("cnn-cbam test accuracy / ACER / AUC",
                  " / ".join(_fmt(metrics.get(k)) for k in ("accuracy", "acer", "auc")))
    ranked = sorted(zip(sped.importances_.tolist(), sped.names), reverse=True)[:4]
    table.add_row("top SPED concepts", ", ".join(f"{n} ({i:.2f})" for i, n in ranked))
    for method, mean in results["mean"].items():
        faithful = results["faithfulness"].get(method, {})
        table.add_row(f"benchmark: {method}", _fmt(mean.get("iou")), _fmt(mean.get("niou")),
                      _fmt(faithful.get("deletion_auc")), _fmt(faithful.get("insertion_auc")))
    for name, label, score in verdicts:
        table.add_row(f"MiniFASNet {name}", f"{label} ({score:.2f})")
    table.add_row("time per stage", ", ".join(f"{k} {v:.0f}s" for k, v in timer.stages.items()))
    return table


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for everything the "
                             "demo writes (reused: finished stages are skipped)."),
    images: int = typer.Option(2000, min=100, help="SynthSpoof images to generate."),
    epochs: int = typer.Option(15, min=1, help="Training epochs of cnn-cbam."),
    concepts: int = typer.Option(8, min=2, help="SPED concepts to discover."),
    sped_images: int = typer.Option(200, min=4, help="Spoof images SPED discovers from."),
    bench_images: int = typer.Option(16, min=1, help="Spoof test images the benchmark scores "
                                     "(every method at its default settings)."),
    seed: int = typer.Option(0, help="Seed of every stage."),
    assets: Path | None = typer.Option(None, "--assets", help="Silent-Face assets folder "
                                       "(default: $XFAS_ASSETS)."),
) -> None:
    """Generate SynthSpoof, train cnn-cbam, discover SPED concepts, benchmark every explainer,
    write the HTML report, and explain the real sample images with MiniFASNet."""
    timer = Timer()
    data = timer.run("SynthSpoof", make_data, out / "synthspoof", images, seed)
    run = out / "cnn-cbam"
    metrics = timer.run("training cnn-cbam", train_model, data, run, epochs, seed)
    bank = out / "concepts.safetensors"
    sped = timer.run("SPED concept discovery", discover_concepts, data, run, bank, concepts,
                     sped_images, seed)
    bench, report = timer.run("X-FAS benchmark", run_xfas_benchmark, data, run, bank,
                              out / "benchmark", bench_images, seed)
    verdicts = timer.run("MiniFASNet on the sample images", explain_samples,
                         out / "minifasnet", assets)
    console.print(summary_table(metrics, sped, bench.results, verdicts, timer))
    typer.echo(f"report: {report.resolve()}")
