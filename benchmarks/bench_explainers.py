"""Speed and sample efficiency of the xfas explainers, side by side with the reference libraries
where they can be imported (captum, lime, shap, and dianna for RISE, an optional
``pip install dianna``; pytorch-grad-cam and torchray need torchvision, which has no CPU build
here). Writes a Markdown table of medians and ratios to benchmarks/results/.

- Gradient CAMs and AblationCAM: time per batch, in forward-pass equivalents (fpe: the time over
  one forward pass of the same batch), ours and the reference timed alternately so that drift of
  a shared machine cancels.
- RISE, LIME, SHAP: overhead = total time / time of the same number of model evaluations alone
  (the floor), and ours / reference at the same budget (the same number of masks or samples),
  timed alternately; every reference's model function gets channels-last batches, the layout
  xfas hands the model, so a ratio measures the packages' own work.
- Efficiency: Pearson r with the default-budget map of maps made with a fraction of the
  default budget, by default and with the efficient options (RISE's control variate and paired
  masks, LIME's and SHAP's paired coalitions), on real face crops; and the floor, r between
  two default-budget maps with different seeds (a noisy default map caps every r).

Usage: python benchmarks/bench_explainers.py [--quick] [--threads N] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from xfas.explain import create_explainer, explain_many
from xfas.explain.regions import gaussian_blur, grid_cells

ROOT = Path(__file__).resolve().parent
REFERENCES = ("captum", "lime", "shap", "dianna")
FIVE_CAMS = ["gradcam", "gradcam++", "xgradcam", "layercam", "eigengradcam"]
OTHER_CAMS = ["gradcam++", "xgradcam", "hirescam", "layercam", "eigencam", "eigengradcam",
              "randomcam"]
CURVE_OPTIONS = {
    "rise": {"default (i.i.d.)": {}, "control variate": {"control_variate": True},
             "control variate + paired": {"control_variate": True, "sampling": "paired"}},
    "lime": {"default (i.i.d.)": {}, "paired": {"sampling": "paired"}},
    "shap": {"default (i.i.d.)": {}, "paired": {"sampling": "paired"}},
}
DEFAULT_BUDGET = {"rise": ("n_masks", 4000), "lime": ("n_samples", 1000),
                  "shap": ("n_samples", 2048)}


@dataclass
class Setting:
    repeats: int
    cam_batch: int
    ablation_batch: int
    overhead_budget: dict[str, int]
    curve_images: int
    curve_fractions: tuple[int, ...]


FULL = Setting(5, 32, 2, {"rise": 1000, "lime": 1000, "shap": 512}, 2, (8, 4))
QUICK = Setting(3, 32, 2, {"rise": 256, "lime": 128, "shap": 128}, 1, (4,))


@dataclass
class Bench:
    """A model to time, its inputs, and the tables being filled."""

    name: str
    model: torch.nn.Module
    images: torch.Tensor
    layer: str
    lines: dict[str, list[str]] = field(default_factory=dict)


def importable(names: tuple[str, ...]) -> list[str]:
    """The packages among ``names`` that this environment can import."""
    return [name for name in names if importlib.util.find_spec(name) is not None]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def alternate(functions: dict[str, Callable[[], object]], repeats: int,
              warm_up: bool = True) -> dict[str, float]:
    """Median milliseconds of each function; the order rotates every repeat."""
    for function in functions.values() if warm_up else ():
        function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    names = list(functions)
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            start = time.perf_counter()
            functions[name]()
            times[name].append(time.perf_counter() - start)
    return {name: median_ms(samples) for name, samples in times.items()}


def forward(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run():
        with torch.no_grad():
            return model(x)
    return run


def spoof_probability(model, runner=None):
    """t -> the spoof probability of model (run through ``runner``, e.g. a counter)."""
    runner = runner or model
    return lambda t: model.spoof_probability(runner(t))


def cam_rows(bench: Bench, setting: Setting) -> list[str]:
    """Grad-CAM against captum, the other CAMs, and explain_many over five CAMs."""
    from captum.attr import LayerGradCam

    model, x = bench.model, bench.images[:setting.cam_batch]
    ours = create_explainer("gradcam", model, progress=False)
    captum = LayerGradCam(lambda t: model.spoof_logit(model(t)), model.get_submodule(bench.layer))
    functions = {
        "forward": forward(model, x),
        "gradcam": lambda: ours.explain(x),
        "captum": lambda: captum.attribute(x, relu_attributions=True),
        "many": lambda: explain_many(model, x, FIVE_CAMS),
        "five_singles": lambda: [create_explainer(m, model, progress=False).explain(x)
                                 for m in FIVE_CAMS],
    }
    for method in OTHER_CAMS:
        functions[method] = (lambda m: lambda: create_explainer(m, model,
                                                                progress=False).explain(x))(method)
    t = alternate(functions, setting.repeats)
    fpe = lambda ms: ms / t["forward"]  # noqa: E731
    rows = [f"| {bench.name} | forward pass | {t['forward']:.1f} | 1.00 | | | |",
            f"| {bench.name} | gradcam | {t['gradcam']:.1f} | {fpe(t['gradcam']):.2f} | "
            f"captum LayerGradCam | {t['captum']:.1f} ({fpe(t['captum']):.2f} fpe) | "
            f"{t['gradcam'] / t['captum']:.2f} |"]
    rows += [f"| {bench.name} | {m} | {t[m]:.1f} | {fpe(t[m]):.2f} | none importable | | |"
             for m in OTHER_CAMS]
    rows.append(f"| {bench.name} | explain_many (5 CAMs) | {t['many']:.1f} | "
                f"{fpe(t['many']):.2f} | 5 separate calls of ours / 5 x captum Grad-CAM | "
                f"{t['five_singles']:.1f} / {5 * t['captum']:.1f} | "
                f"{t['many'] / t['five_singles']:.2f} / {t['many'] / (5 * t['captum']):.2f} |")
    return rows


def ablation_rows(bench: Bench, setting: Setting) -> list[str]:
    """AblationCAM against captum's LayerFeatureAblation with one group per channel."""
    from captum.attr import LayerFeatureAblation

    model, x = bench.model, bench.images[:setting.ablation_batch]
    module = model.get_submodule(bench.layer)
    with torch.no_grad():
        channels = model_layer_shape(model, module, x)[1]
    mask = torch.arange(channels)[None, :, None, None]
    ours = create_explainer("ablationcam", model, batch_size=128, progress=False)
    reference = LayerFeatureAblation(spoof_probability(model), module)

    def captum():
        with torch.no_grad():
            return reference.attribute(x, layer_mask=mask, perturbations_per_eval=128 // len(x))

    t = alternate({"forward": forward(model, x), "ours": lambda: ours.explain(x),
                   "captum": captum}, max(2, setting.repeats - 2), warm_up=False)
    return [f"| {bench.name} ({len(x)} images, {channels} channels) | ablationcam | "
            f"{t['ours']:.1f} | {t['ours'] / t['forward']:.2f} | captum LayerFeatureAblation | "
            f"{t['captum']:.1f} ({t['captum'] / t['forward']:.0f} fpe) | "
            f"{t['ours'] / t['captum']:.3f} |"]


def model_layer_shape(model, module, x) -> tuple[int, ...]:
    shapes = []
    handle = module.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
    try:
        model(x)
    finally:
        handle.remove()
    return shapes[0]


class Counting(torch.nn.Module):
    """Counts the inputs a model is given (to know how many evaluations a library made)."""

    def __init__(self, model):
        super().__init__()
        self.model, self.count = model, 0

    def forward(self, x):
        self.count += x.shape[0]
        return self.model(x)


def channels_last(batch: torch.Tensor) -> torch.Tensor:
    """The batch in the layout xfas's perturbation methods hand a model on the CPU."""
    return batch.contiguous(memory_format=torch.channels_last)


def evaluations_alone(model, inputs: torch.Tensor, count: int) -> Callable[[], object]:
    """``count`` model evaluations of ready channels-last inputs, 64 at a time: the floor."""
    inputs = channels_last(inputs)

    def run():
        with torch.no_grad():
            for start in range(0, count, len(inputs)):
                model(inputs[:min(len(inputs), count - start)])
    return run


def overhead_rows(bench: Bench, setting: Setting, references: bool) -> list[str]:
    """RISE, LIME, SHAP: time over their evaluations alone, and over the reference packages
    (dianna's RISE, lime, shap, captum KernelShap) at the same budget, timed alternately."""
    model, x = bench.model, bench.images[:1]
    counting = Counting(model)
    ready = x.expand(64, *x.shape[1:]).contiguous()  # real pixel values, as the methods see
    budget = setting.overhead_budget
    cells = grid_cells(*tuple(x.shape[-2:]), 8)
    evaluations = {"rise": budget["rise"], "lime": budget["lime"], "shap": budget["shap"] + 2}
    functions = {
        "rise": lambda: create_explainer("rise", model, progress=False,
                                         n_masks=budget["rise"]).explain(x),
        "lime": lambda: create_explainer("lime", model, progress=False,
                                         n_samples=budget["lime"]).explain(x),
        "shap": lambda: create_explainer("shap", model, progress=False,
                                         n_samples=budget["shap"]).explain(x),
    }
    for method in ("rise", "lime", "shap"):
        functions[f"floor-{method}"] = evaluations_alone(model, ready, evaluations[method])
    labels = {}
    if references:
        for name, (function, label) in reference_functions(model, counting, x, cells,
                                                            budget).items():
            counting.count = 0
            function()
            evaluations[name] = counting.count
            functions[name], labels[name] = function, label
    t = alternate(functions, max(2, setting.repeats - 2), warm_up=False)
    rows = []
    for method in ("rise", "lime", "shap"):
        floor = t[f"floor-{method}"]
        ours = (f"| {bench.name} | {method} | {evaluations[method]} | {t[method]:.0f} | "
                f"{floor:.0f} | {t[method] / floor:.2f} |")
        compared = [name for name in labels if name.startswith(method)]
        if not compared:
            note = "none importable" if references else ""
            rows.append(f"{ours} {note} | | | |")
        for name in compared:
            rows.append(f"{ours} {labels[name]} | {evaluations[name]} | {t[name]:.0f} | "
                        f"{t[method] / t[name]:.2f} |")
    return rows


def reference_functions(model, counting, x, cells, budget) -> dict:
    """{name: (function, label)} for the reference packages that import. Every adapter hands
    the model channels-last batches, as xfas does, so the ratios compare the packages' own
    work and not the adapters' memory layout."""
    functions = {}
    probability = spoof_probability(model, counting)
    image = x[0]
    try:
        from dianna.methods.rise_image import RISEImage

        def run_model(batch: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                p = probability(channels_last(torch.from_numpy(batch).float()))
            return torch.stack([1 - p, p], dim=1).numpy()

        def run_dianna():
            np.random.seed(0)  # dianna draws its masks from numpy's global generator
            return RISEImage(n_masks=budget["rise"], feature_res=8, p_keep=0.5,
                             axis_labels={0: "channels"}).explain(
                run_model, image.numpy(), labels=(1,), batch_size=64)

        functions["rise-dianna"] = (run_dianna, "dianna RISEImage")
    except ImportError:
        pass
    try:
        from lime import lime_image
        from xfas.explain.regions import superpixels

        def classify(batch: np.ndarray) -> np.ndarray:
            tensor = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
            with torch.no_grad():
                p = probability(channels_last(tensor))
            return torch.stack([1 - p, p], dim=1).numpy()

        def run_lime():
            labels = superpixels(image).numpy()
            return lime_image.LimeImageExplainer(random_state=0).explain_instance(
                image.permute(1, 2, 0).double().numpy(), classify, labels=(1,), top_labels=None,
                hide_color=None, num_samples=budget["lime"], batch_size=64,
                segmentation_fn=lambda _: labels)

        functions["lime-package"] = (run_lime, "lime package")
    except ImportError:
        pass
    background = gaussian_blur(x, x.shape[-2] / 8)[0]
    features = int(cells.max()) + 1
    try:
        import shap

        def value(z: np.ndarray) -> np.ndarray:
            shown = torch.from_numpy(z).float()
            out = []
            with torch.no_grad():
                for start in range(0, len(shown), 64):
                    masks = shown[start:start + 64][:, cells][:, None]
                    out.append(probability(channels_last(background
                                                         + (image - background) * masks)))
            return torch.cat(out).numpy()

        def run_shap():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                explainer = shap.KernelExplainer(value, np.zeros((1, features)))
                return explainer.shap_values(np.ones((1, features)), nsamples=budget["shap"],
                                             l1_reg=False, silent=True)

        functions["shap-package"] = (run_shap, "shap KernelExplainer")
    except ImportError:
        pass
    try:
        from captum.attr import KernelShap

        def run_captum():
            with torch.no_grad():
                return KernelShap(lambda t: probability(channels_last(t))).attribute(
                    x, baselines=background[None], feature_mask=cells[None, None],
                    n_samples=budget["shap"], perturbations_per_eval=64)

        functions["shap-captum"] = (run_captum, "captum KernelShap")
    except ImportError:
        pass
    return functions


def pearson(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return ((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-300)).tolist()


def curve_rows(bench: Bench, setting: Setting) -> list[str]:
    """r with the default-budget map against the number of evaluations, for each option; the
    first row is the floor: r between two default-budget maps with different seeds."""
    x = bench.images[:setting.curve_images]
    rows = []
    for method, (key, default) in DEFAULT_BUDGET.items():
        def make(seed: int, count: int, **options) -> torch.Tensor:
            return create_explainer(method, bench.model, progress=False, seed=seed,
                                    **{key: count}, **options).explain(x)

        reference = make(0, default)
        rows.append(f"| {method} | default (i.i.d.), another seed | {default} | 1 | "
                    f"{fmt(pearson(reference, make(1, default)))} |")
        for fraction in setting.curve_fractions:
            for label, options in CURVE_OPTIONS[method].items():
                estimate = make(1, default // fraction, **options)
                rows.append(f"| {method} | {label} | {default // fraction} | 1/{fraction} | "
                            f"{fmt(pearson(reference, estimate))} |")
    return rows


def fmt(values: list[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in values)


def benches() -> list[Bench]:
    """The 64x64 CNN on random inputs, and MiniFASNetV2 on real face crops when present."""
    from xfas.models import build_model

    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    cnn = build_model("cnn").eval()
    out = [Bench("cnn 64x64", cnn, torch.rand(32, 3, 64, 64, generator=generator),
                 cnn.default_layer)]
    try:
        from xfas.models.minifasnet import load_minifasnet
        model = load_minifasnet("v2")
    except Exception as missing:  # assets absent: the CNN alone
        print(f"MiniFASNet skipped: {missing}", file=sys.stderr)
        return out
    crops = real_crops(model)
    filler = torch.rand(32 - len(crops), 3, 80, 80, generator=generator) * 255
    out.append(Bench("MiniFASNetV2 80x80", model, torch.cat([crops, filler]),
                     model.default_layer))
    return out


def real_crops(model) -> torch.Tensor:
    """The Silent-Face sample images cropped as the model expects: F1 (spoof), T1 (live), F2
    (spoof), so the efficiency curves see a spoof and a live face first."""
    from xfas.assets import SAMPLE_IMAGES, find_asset
    from xfas.data.face import FaceDetector
    from xfas.data.image_io import load_image

    detector = FaceDetector.from_assets()
    crops = []
    for relative in (SAMPLE_IMAGES[0], SAMPLE_IMAGES[2], SAMPLE_IMAGES[1]):
        image = load_image(find_asset(relative))
        crops.append(model.preprocess(image, detector.detect(image))[0])
    return torch.stack(crops)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller budgets (a smoke run)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: "
                        "torch's choice)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "explainers.md")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    setting = QUICK if args.quick else FULL
    started = time.perf_counter()
    load = os.getloadavg()[0]
    sections = {"cam": [], "ablation": [], "overhead": [], "curve": []}
    all_benches = benches()
    for index, bench in enumerate(all_benches):
        print(f"[{bench.name}] CAMs", file=sys.stderr)
        sections["cam"] += cam_rows(bench, setting)
        print(f"[{bench.name}] AblationCAM", file=sys.stderr)
        sections["ablation"] += ablation_rows(bench, setting)
        print(f"[{bench.name}] perturbation overhead", file=sys.stderr)
        sections["overhead"] += overhead_rows(bench, setting, references=index == 0)
    curve_bench = all_benches[-1]
    print(f"[{curve_bench.name}] efficiency curves", file=sys.stderr)
    sections["curve"] = curve_rows(curve_bench, setting)
    elapsed = time.perf_counter() - started
    report = render(sections, setting, args, curve_bench, elapsed, load)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    return args.out


def render(sections, setting: Setting, args, curve_bench: Bench, elapsed: float,
           load: float) -> str:
    budget = setting.overhead_budget
    return "\n".join([
        "# Explainer benchmark",
        "",
        f"`python benchmarks/bench_explainers.py{' --quick' if args.quick else ''}"
        f"{f' --threads {args.threads}' if args.threads else ''}`: torch {torch.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch "
        f"threads, load average {load:.1f} at start, {elapsed:.0f} s in all. Medians of "
        f"{setting.repeats} alternating runs. Reference libraries: "
        f"{', '.join(importable(REFERENCES)) or 'none'} (pytorch-grad-cam and torchray are "
        "not importable here: they need torchvision).",
        "",
        f"## Gradient CAMs (batch {setting.cam_batch}); fpe = time / one forward pass",
        "",
        "| model | method | ours ms | ours fpe | reference | reference ms | ours / reference |",
        "|---|---|---|---|---|---|---|",
        *sections["cam"],
        "",
        "## AblationCAM",
        "",
        "| model | method | ours ms | ours fpe | reference | reference ms | ours / reference |",
        "|---|---|---|---|---|---|---|",
        *sections["ablation"],
        "",
        f"## Perturbation methods, one image (RISE {budget['rise']} masks, LIME "
        f"{budget['lime']}, SHAP {budget['shap']} samples): time over the same model "
        "evaluations alone (channels-last batches of 64), and over the reference packages at "
        "the same budget; every reference's model function is given channels-last batches too",
        "",
        "| model | method | evaluations | ours ms | evaluations alone ms | ours overhead | "
        "reference | reference evaluations | reference ms | ours / reference |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *sections["overhead"],
        "",
        f"## Efficiency on {curve_bench.name}: Pearson r with the default-budget map, one "
        "value per image (the first row of each method is the floor: two default-budget maps "
        "with different seeds)",
        "",
        "| method | option | evaluations | of default | r with the default map |",
        "|---|---|---|---|---|",
        *sections["curve"],
        "",
    ])


if __name__ == "__main__":
    main()
