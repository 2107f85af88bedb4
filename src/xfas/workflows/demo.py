"""The demo's stages: the whole pipeline on a fresh machine with nothing downloaded.

SynthSpoof data (real people when face photos are found, else drawn ones) -> train cnn-cbam ->
FAS metrics -> SPED concepts at each candidate layer (named from the validation masks) -> the
X-FAS benchmark (the papers' methods, LIME, SHAP and SPED; every layer method's layer, and
SPED's bank, chosen on the validation split by one rule; the chosen bank's concepts named after
the evidence types calibration assigned them) -> the HTML report; and, when the Silent-Face
assets are found, the real
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
from xfas.benchmark.config import CALIBRATION
from xfas.benchmark.runner import names_from_assignment
from xfas.data.benchmark_layout import BenchmarkLayout
from xfas.data.image_io import load_image
from xfas.data.splits import open_splits
from xfas.data.synth import generate_synthspoof
from xfas.errors import AssetMissingError
from xfas.explain.layers import spatial_layers
from xfas.models import FASModel, load_model
from xfas.models.fused import FusedPredictor
from xfas.sped import SPED, crop_grid_figure
from xfas.training import TrainConfig, trained_run_metrics
from xfas.workflows.concepts import (Selection, discover_concepts, grid_path,
                                     propose_names_from_masks)
from xfas.workflows.explain_files import (explain_concepts, explain_inputs, prepare_inputs,
                                          write_outputs)

SAMPLE_METHODS = ["gradcam", "lime", "shap"]
# Table I of the papers, LIME and SHAP, and SPED both ways
BENCHMARK_METHODS = ("gradcam,gradcam++,eigengradcam,ablationcam,randomcam,rise,lime,shap,"
                     "sped,sped-matched")
# Perturbation budgets that fit the demo's time on two cores, with the explainers' efficient
# sampling (docs/explainers.md measures what a smaller budget costs in agreement with the
# default one); the table's note lists them.
BENCHMARK_OPTIONS = {"rise": {"n_masks": 1000, "control_variate": True, "sampling": "paired"},
                     "lime": {"n_samples": 300, "sampling": "paired"},
                     "shap": {"n_samples": 256, "sampling": "paired"}}
Note = Callable[[str], None]  # told what a stage reused or skipped


def _quiet(message: str) -> None:
    """The default ``Note``: say nothing."""


@dataclass(frozen=True)
class DemoSettings:
    """What the demo makes, all under ``out``."""

    out: Path = Path("runs/demo")
    images: int = 2000
    epochs: int = 15
    concepts: int = 16
    sped_images: int = 200
    importance_images: int = 64  # of the sped_images, those the Sobol importances average
    bench_images: int = 96
    bench_workers: int = 2
    bench_steps: int = 16  # points of each deletion / insertion curve
    seed: int = 0
    assets: Path | None = None
    faces: Path | None = None  # real face photos; None: drawn people
    minifasnet_concepts: int = 8
    minifasnet_bench_images: int = 24  # SynthSpoof test spoofs its matched concepts are scored on
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
               name_on: Selection, assets: Path | None, note: Note, **settings: Any) -> SPED:
    """SPED concepts of ``model`` found on the ``discover_on`` images of ``data`` (``settings``
    go to ``discover_concepts``: n_concepts, layer, per_attack, ...), named from the masks of
    the ``name_on`` images and saved to ``bank`` (reused when it exists)."""
    if bank.exists():
        note(f"reusing {bank}")
        return SPED.load(bank, model)
    sped = discover_concepts(model, data, bank, selection=discover_on, assets=assets,
                             seed=discover_on.seed, **settings)
    proposal, _ = propose_names_from_masks(sped, data, name_on, assets=assets)
    sped.set_names(proposal.names(sped.names))
    sped.save(bank)
    return sped


def concept_banks(data: Path, run: Path, folder: Path, *, settings: DemoSettings, note: Note
                  ) -> list[Path]:
    """The trained model's concepts at each of its candidate layers (``spatial_layers``),
    found on training spoofs and named from every validation image's masks (``named_bank``):
    the banks among which the benchmark's layer rule picks SPED's, as it picks each CAM's
    layer. Pooled discovery with K = 16 (docs/sped.md: the validation sweep behind it)."""
    model = load_model(run)
    banks = []
    for layer in spatial_layers(model):
        bank = folder / f"{layer}.safetensors"
        named_bank(model, data, bank, discover_on=Selection(
            split="train", limit=settings.sped_images, seed=settings.seed),
            name_on=Selection(split="val", spoof_only=False, seed=settings.seed),
            n_concepts=settings.concepts, layer=layer,
            importance_images=settings.importance_images, assets=None, note=note)
        banks.append(bank)
    return banks


def benchmark(data: Path, run: Path, banks: list[Path], *, out: Path, settings: DemoSettings
              ) -> tuple[dict[str, Any], Path]:
    """The papers' methods, LIME, SHAP and SPED scored on the test spoofs, every layer method's
    layer (and SPED's bank) chosen on the validation split by one rule; the results and the
    report."""
    config = BenchmarkConfig(data=str(data), model=str(run),
                             concepts=",".join(str(bank) for bank in banks),
                             methods=BENCHMARK_METHODS, layer_rule=CALIBRATION,
                             method_options=BENCHMARK_OPTIONS, limit=settings.bench_images,
                             steps=settings.bench_steps, seed=settings.seed)
    return (run_benchmark(config, out, workers=settings.bench_workers).results,
            render_report(out))


def chosen_bank(results: dict[str, Any], target: Path, *, run: Path, data: Path) -> SPED:
    """The bank the benchmark's rule chose for ``sped-matched``, saved to ``target`` (the one
    bank the README, the service and the explain command point at; reused when it exists)
    with each concept the calibration assigned to an evidence type named after it
    (``save_named_by_assignment``)."""
    if target.exists():
        return SPED.load(target, load_model(run))
    return save_named_by_assignment(Path(results["layers"]["sped-matched"]["bank"]), target,
                                    model=load_model(run), results=results, data=data)


def save_named_by_assignment(bank: Path, target: Path, *, model: FASModel,
                             results: dict[str, Any], data: Path) -> SPED:
    """``bank``'s concepts named after the evidence types a benchmark run's ``sped-matched``
    assigned them (``names_from_assignment``; other names stay), saved to ``target`` with its
    Fig. 4 grid and the credit line of ``data``'s images."""
    sped = SPED.load(bank, model)
    sped.set_names(dict(enumerate(names_from_assignment(results["sped_assignment"],
                                                        sped.names))))
    sped.save(target)
    crop_grid_figure(sped.bank_, grid_path(target), credit=BenchmarkLayout(data).credit())
    return sped


def minifasnet_bank(model: FASModel, data: Path, bank: Path, *, settings: DemoSettings,
                    note: Note) -> SPED:
    """MiniFASNetV2's (``model``'s) concepts on SynthSpoof's training spoofs (cut around the
    face its detector finds), named from the validation masks (``named_bank``) into
    ``discovered`` beside ``bank``; then those the masks leave unnamed are named after the
    evidence type the matched protocol assigns them on the validation spoofs
    (``calibrated_bank``), into ``bank``, the one the service and ``xfas explain`` read."""
    if bank.exists():
        note(f"reusing {bank}")
        return SPED.load(bank, model)
    images = settings.minifasnet_images
    discovered = bank.with_name("discovered.safetensors")
    named_bank(model, data, discovered,
               discover_on=Selection(split="train", limit=images, seed=settings.seed),
               name_on=Selection(split="val", spoof_only=False, limit=images,
                                 seed=settings.seed),
               n_concepts=settings.minifasnet_concepts, assets=settings.assets, note=note)
    return calibrated_bank(model, data, discovered, bank=bank, settings=settings)


def calibrated_bank(model: FASModel, data: Path, discovered: Path, *, bank: Path,
                    settings: DemoSettings) -> SPED:
    """``discovered``'s concepts named after the evidence types ``sped-matched`` assigns them
    on every validation spoof of ``data`` (``save_named_by_assignment``; a name from the masks
    stays unless the calibration assigns that concept a type), saved to ``bank``. The
    calibration is a benchmark run of ``sped-matched`` beside ``bank`` that also scores
    ``minifasnet_bench_images`` test spoofs: how well the assigned concepts localise there."""
    config = BenchmarkConfig(data=str(data), model="minifasnet-v2", concepts=str(discovered),
                             methods="sped-matched", limit=settings.minifasnet_bench_images,
                             faithfulness=False, seed=settings.seed,
                             assets=None if settings.assets is None else str(settings.assets))
    results = run_benchmark(config, bank.with_name("benchmark"), progress=False).results
    return save_named_by_assignment(discovered, bank, model=model, results=results, data=data)


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
    minifasnet_bank(model, data, bank, settings=settings, note=note)
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
    banks = stage("SPED concept discovery", concept_banks, data, run, out / "concepts",
                  settings=settings, note=on_note)
    results, report = stage("X-FAS benchmark", benchmark, data, run, banks,
                            out=out / "benchmark", settings=settings)
    sped = chosen_bank(results, out / "concepts.safetensors", run=run, data=data)
    verdicts, sentences = stage("MiniFASNet: its concepts, and the real sample images",
                                explain_samples, out / "minifasnet", data, settings, note=on_note)
    return DemoResult(metrics, sped, results, report, verdicts, seconds, sentences)
