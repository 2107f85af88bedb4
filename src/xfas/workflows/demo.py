"""The demo's stages: the whole pipeline on a fresh machine with nothing downloaded.

SynthSpoof data (real people when face photos are found, else drawn ones) -> train cnn-cbam ->
FAS metrics -> SPED concepts (named from the validation masks) -> the X-FAS benchmark with
every explainer -> the HTML report; and, when the Silent-Face assets are found, the real
MiniFASNet models: SPED concepts discovered on SynthSpoof's spoofs and named from its masks,
then verdicts, heat maps and the concepts in words on the three real sample images. Every
stage keeps its output under the demo folder and is skipped when already done, so an
interrupted demo continues where it stopped.
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
from xfas.models import FASModel, load_model
from xfas.models.fused import FusedPredictor
from xfas.sped import SPED
from xfas.training import TrainConfig, trained_run_metrics
from xfas.workflows.concepts import Selection, discover_concepts, propose_names_from_masks
from xfas.workflows.explain_files import (explain_concepts, explain_inputs, prepare_inputs,
                                          write_outputs)

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
    faces: Path | None = None  # real face photos; None: drawn people
    minifasnet_concepts: int = 8
    minifasnet_images: int = 120  # SynthSpoof spoofs MiniFASNet's concepts are found on


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
    sentences: list[tuple[str, str]] = field(default_factory=list)  # MiniFASNet's, in words


def make_data(folder: Path, n: int, seed: int, *, faces: Path | None, note: Note) -> Path:
    """SynthSpoof in ``folder`` (reused when its manifest is there), with the people of
    ``faces`` (None: drawn)."""
    if BenchmarkLayout(folder).manifest_path.exists():
        note(f"reusing {folder}")
        return folder
    return generate_synthspoof(folder, n, size=128, seed=seed, faces=faces, overwrite=True)


def train_model(data: Path, run: Path, epochs: int, *, seed: int) -> dict[str, Any]:
    """The demo's cnn-cbam, trained (or reused) in ``run``; its test-set report."""
    config = TrainConfig(model="cnn-cbam", epochs=epochs, batch_size=32, learning_rate=1e-3,
                         patience=3, seed=seed)
    return trained_run_metrics(open_splits(data), run, config)


def named_bank(model: FASModel, data: Path, bank: Path, *, discover_on: Selection,
               name_on: Selection, n_concepts: int, assets: Path | None, note: Note) -> SPED:
    """SPED concepts of ``model`` found on the ``discover_on`` images of ``data``, named from
    the masks of the ``name_on`` images and saved to ``bank`` (reused when it exists)."""
    if bank.exists():
        note(f"reusing {bank}")
        return SPED.load(bank, model)
    sped = discover_concepts(model, data, bank, selection=discover_on, assets=assets,
                             n_concepts=n_concepts, seed=discover_on.seed)
    proposal, _ = propose_names_from_masks(sped, data, name_on, assets=assets)
    sped.set_names(proposal.names(sped.names))
    sped.save(bank)
    return sped


def concept_bank(data: Path, run: Path, bank: Path, *, settings: DemoSettings, note: Note
                 ) -> SPED:
    """The trained model's concepts on training spoofs, named from every validation image's
    masks (``named_bank``)."""
    return named_bank(load_model(run), data, bank, discover_on=Selection(
        split="train", limit=settings.sped_images, seed=settings.seed),
        name_on=Selection(split="val", spoof_only=False, seed=settings.seed),
        n_concepts=settings.concepts, assets=None, note=note)


def benchmark(data: Path, run: Path, bank: Path, *, out: Path, settings: DemoSettings
              ) -> tuple[dict[str, Any], Path]:
    """Every explainer and SPED scored on the test spoofs; the results and the report."""
    config = BenchmarkConfig(data=str(data), model=str(run), concepts=str(bank), methods="all",
                             limit=settings.bench_images, seed=settings.seed)
    return run_benchmark(config, out).results, render_report(out)


def minifasnet_bank(data: Path, bank: Path, settings: DemoSettings, *, note: Note) -> SPED:
    """MiniFASNetV2's concepts on SynthSpoof's training spoofs (cut around the face its
    detector finds), named from the validation masks (``named_bank``)."""
    images = settings.minifasnet_images
    return named_bank(load_model("minifasnet-v2", assets=settings.assets), data, bank,
                      discover_on=Selection(split="train", limit=images, seed=settings.seed),
                      name_on=Selection(split="val", spoof_only=False, limit=images,
                                        seed=settings.seed),
                      n_concepts=settings.minifasnet_concepts, assets=settings.assets,
                      note=note)


def explain_samples(out: Path, data: Path, settings: DemoSettings, *, note: Note
                    ) -> tuple[list[tuple[str, str, float]], list[tuple[str, str]]]:
    """Verdicts of the fused MiniFASNet models, Grad-CAM / LIME / SHAP figures of V2 and its
    SPED concepts in words (and Fig. 6) on the three real sample images; nothing, with a
    warning, when the assets are not found."""
    assets = settings.assets
    try:
        paths = [find_asset(name, root=assets) for name in SAMPLE_IMAGES]
        predictor = FusedPredictor.from_assets(assets)
        model = load_model("minifasnet-v2", assets=assets)
    except AssetMissingError as missing:
        warnings.warn(f"skipping the real MiniFASNet part: {missing}", stacklevel=2)
        return [], []
    verdicts = []
    for path in paths:
        prediction = predictor.predict(load_image(path), name=path.name)
        verdicts.append((path.name, prediction.label, prediction.spoof_probability))
    inputs = prepare_inputs(paths, model, assets)
    write_outputs(out, model, inputs, results=explain_inputs(model, inputs, SAMPLE_METHODS))
    bank = out / "concepts.safetensors"
    minifasnet_bank(data, bank, settings, note=note)
    sentences = [(item.name, sentence) for item, (_, sentence) in zip(
        inputs, explain_concepts(out, model, inputs, bank=bank))]
    return verdicts, sentences


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
                 faces=settings.faces, note=on_note)
    run = out / "cnn-cbam"
    metrics = stage("training cnn-cbam", train_model, data, run, settings.epochs,
                    seed=settings.seed)
    bank = out / "concepts.safetensors"
    sped = stage("SPED concept discovery", concept_bank, data, run, bank, settings=settings,
                 note=on_note)
    results, report = stage("X-FAS benchmark", benchmark, data, run, bank,
                            out=out / "benchmark", settings=settings)
    verdicts, sentences = stage("MiniFASNet: its concepts, and the real sample images",
                                explain_samples, out / "minifasnet", data, settings, note=on_note)
    return DemoResult(metrics, sped, results, report, verdicts, seconds, sentences)
