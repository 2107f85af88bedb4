"""The demo's stages: the whole pipeline on a fresh machine with nothing downloaded.

SynthSpoof data -> train cnn-cbam -> FAS metrics -> SPED concepts (named from the validation
masks) -> the X-FAS benchmark with every explainer -> the HTML report; and, when the
Silent-Face assets are found, the real MiniFASNet models' verdicts and explanations on the
three sample images. Every stage keeps its output under the demo folder and is skipped when
already done, so an interrupted demo continues where it stopped.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from xfas.assets import SAMPLE_IMAGES, find_asset
from xfas.benchmark import BenchmarkConfig, render_report, run_benchmark
from xfas.data.benchmark_layout import BenchmarkLayout
from xfas.data.image_io import load_image
from xfas.data.splits import open_splits
from xfas.data.synth import generate_synthspoof
from xfas.errors import AssetMissingError
from xfas.models import load_model
from xfas.models.fused import FusedPredictor
from xfas.sped import SPED
from xfas.training import TrainConfig, trained_run_metrics
from xfas.workflows.concepts import Selection, discover_concepts, propose_names_from_masks
from xfas.workflows.explain_files import explain_inputs, prepare_inputs, write_outputs

SAMPLE_METHODS = ["gradcam", "lime", "shap"]
Note = Callable[[str], None]  # told what a stage reused or skipped


def _quiet(message: str) -> None:
    """The default ``Note``: say nothing."""


@dataclass(frozen=True)
class DemoSettings:
    """What the demo makes, all under ``out``."""

    out: Path = Path("runs/demo")
    images: int = 2000
    epochs: int = 15
    concepts: int = 8
    sped_images: int = 200
    bench_images: int = 16
    seed: int = 0
    assets: Path | None = None


@dataclass
class DemoResult:
    """What the demo found: the model's test metrics, the concepts, the benchmark's results
    and report, the MiniFASNet verdicts [(image, label, spoof probability)] and the seconds
    each stage took."""

    metrics: dict[str, Any]
    sped: SPED
    results: dict[str, Any]
    report: Path
    verdicts: list[tuple[str, str, float]]
    seconds: dict[str, float] = field(default_factory=dict)


def make_data(folder: Path, n: int, seed: int, *, note: Note) -> Path:
    """SynthSpoof in ``folder`` (reused when its manifest is there)."""
    if BenchmarkLayout(folder).manifest_path.exists():
        note(f"reusing {folder}")
        return folder
    return generate_synthspoof(folder, n, size=128, seed=seed, overwrite=True)


def train_model(data: Path, run: Path, epochs: int, *, seed: int) -> dict[str, Any]:
    """The demo's cnn-cbam, trained (or reused) in ``run``; its test-set report."""
    config = TrainConfig(model="cnn-cbam", epochs=epochs, batch_size=32, learning_rate=1e-3,
                         patience=3, seed=seed)
    return trained_run_metrics(open_splits(data), run, config)


def concept_bank(data: Path, run: Path, bank: Path, *, settings: DemoSettings, note: Note
                 ) -> SPED:
    """SPED concepts of the trained model on training spoofs, named from the validation
    masks (reused when ``bank`` exists)."""
    model = load_model(run)
    if bank.exists():
        note(f"reusing {bank}")
        return SPED.load(bank, model)
    sped = discover_concepts(model, data, bank, selection=Selection(
        split="train", limit=settings.sped_images, seed=settings.seed),
        n_concepts=settings.concepts, seed=settings.seed)
    proposal, _ = propose_names_from_masks(
        sped, data, Selection(split="val", spoof_only=False, seed=settings.seed))
    sped.set_names(proposal.names(sped.names))
    sped.save(bank)
    return sped


def benchmark(data: Path, run: Path, bank: Path, *, out: Path, settings: DemoSettings
              ) -> tuple[dict[str, Any], Path]:
    """Every explainer and SPED scored on the test spoofs; the results and the report."""
    config = BenchmarkConfig(data=str(data), model=str(run), concepts=str(bank), methods="all",
                             limit=settings.bench_images, seed=settings.seed)
    return run_benchmark(config, out).results, render_report(out)


def explain_samples(out: Path, assets: Path | None) -> list[tuple[str, str, float]]:
    """Verdicts of the fused MiniFASNet models and Grad-CAM / LIME / SHAP figures of V2 on the
    three sample images; [] with a warning when the assets are not found."""
    try:
        paths = [find_asset(name, root=assets) for name in SAMPLE_IMAGES]
        predictor = FusedPredictor.from_assets(assets)
        model = load_model("minifasnet-v2", assets=assets)
    except AssetMissingError as missing:
        warnings.warn(f"skipping the real MiniFASNet part: {missing}", stacklevel=2)
        return []
    verdicts = []
    for path in paths:
        prediction = predictor.predict(load_image(path), name=path.name)
        verdicts.append((path.name, prediction.label, prediction.spoof_probability))
    inputs = prepare_inputs(paths, model, assets)
    write_outputs(out, model, inputs, results=explain_inputs(model, inputs, SAMPLE_METHODS))
    return verdicts


def run_demo(settings: DemoSettings, on_stage: Note = _quiet, on_note: Note = _quiet
             ) -> DemoResult:
    """Every stage in turn; ``on_stage`` is told each stage's name as it starts, ``on_note``
    what a stage reused."""
    seconds: dict[str, float] = {}

    def stage(name: str, action: Callable[..., Any], *args: Any, **options: Any) -> Any:
        on_stage(name)
        start = time.perf_counter()
        result = action(*args, **options)
        seconds[name] = time.perf_counter() - start
        return result

    out = settings.out
    data = stage("SynthSpoof", make_data, out / "synthspoof", settings.images, settings.seed,
                 note=on_note)
    run = out / "cnn-cbam"
    metrics = stage("training cnn-cbam", train_model, data, run, settings.epochs,
                    seed=settings.seed)
    bank = out / "concepts.safetensors"
    sped = stage("SPED concept discovery", concept_bank, data, run, bank, settings=settings,
                 note=on_note)
    results, report = stage("X-FAS benchmark", benchmark, data, run, bank,
                            out=out / "benchmark", settings=settings)
    verdicts = stage("MiniFASNet on the sample images", explain_samples, out / "minifasnet",
                     settings.assets)
    return DemoResult(metrics, sped, results, report, verdicts, seconds)
