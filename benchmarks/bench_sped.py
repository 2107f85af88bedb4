"""Speed of SPED's concept discovery and explanations, side by side with craft-xai (CRAFT's
reference implementation, Fel et al. 2023) on the same crops and K. Writes a Markdown report to
benchmarks/results/sped.md.

- Discovery: ``SPED.fit`` on N SynthSpoof spoof images (64x64) with the seed CNN (cnn-cbam)
  at its default layer, each stage timed (crops + activations, Semi-NMF, coefficients of the
  full views, Sobol importance, top crops for Fig. 4).
- Floor: the forward passes through g that the crops need (g over the same crops, prebuilt, in
  batches of the same size): no discovery can be faster than it.
- craft-xai (``craft.craft_torch.Craft``): ``fit`` on exactly our crops (each crop handed to it
  as a 64x64 image with patch_size=64, so its own unfold yields that crop unchanged) and
  ``estimate_importance`` on the images, K concepts, 32 designs, the same batch size. CRAFT
  needs non-negative activations (scikit-learn's NMF), so its g is ReLU(g): the same forward
  passes plus a ReLU; its h outputs the spoof log-odds in column 1 (class_id=1).
  ``craft.sobol.sampler`` imports TensorFlow but its Halton sampler does not use it: an empty
  stand-in module is put in ``sys.modules`` (only if TensorFlow is not installed).
- Explanation: ``SPED.explain`` per image as a multiple of one forward pass of the model, on a
  batch of 64 and on single images (ours and the forward pass timed alternately).

Runs take turns (floor, SPED, CRAFT rotate each repeat) so drift of a shared machine spreads over
all three. Usage: python benchmarks/bench_sped.py [--images 200] [--repeats 1] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Callable

import torch

from xfas.data.synth.generator import render_sample
from xfas.explain.split import split_model
from xfas.models import build_model, load_model
from xfas.sped import SPED
from xfas.sped.crops import CropGrid, crop_batches

ROOT = Path(__file__).resolve().parent
SIZE = 64


def spoof_images(count: int, seed: int = 0) -> torch.Tensor:
    """The first ``count`` spoof images of SynthSpoof (seed, 64x64) as model inputs in [0, 1]."""
    images, index = [], 0
    while len(images) < count:
        sample = render_sample(index, seed, SIZE)
        index += 1
        if sample.label == "spoof":
            images.append(torch.from_numpy(sample.image).permute(2, 0, 1).float() / 255.0)
    return torch.stack(images)


def load_craft():
    """craft-xai's torch Craft, or None (with the reason) when it is not installed."""
    if "tensorflow" not in sys.modules:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            sys.modules["tensorflow"] = types.ModuleType("tensorflow")  # unused by Halton
    try:
        from craft.craft_torch import Craft
    except ImportError as error:
        return None, f"craft-xai not installed ({error}); pip install --no-deps craft-xai"
    return Craft, ""


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--concepts", type=int, default=8)
    parser.add_argument("--designs", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--model", default=None, help="a trained cnn checkpoint (default: an "
                        "untrained cnn-cbam, seeded; speed does not depend on the weights)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="50 images, 8 explain repeats")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "sped.md")
    args = parser.parse_args()
    if args.quick:
        args.images = 50
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    model = load_model(args.model) if args.model else build_model("cnn-cbam").eval()
    layer = model.default_layer
    images = spoof_images(args.images)
    g, h = split_model(model, layer)
    boxes = CropGrid(0.5, 0.25).boxes(SIZE, SIZE)
    crops = torch.cat(list(crop_batches(images, boxes, args.batch_size)))
    print(f"{images.shape[0]} images, {crops.shape[0]} crops, K={args.concepts}", flush=True)

    with torch.no_grad():  # warm-up: first calls allocate and (fx) compile
        g(crops[:args.batch_size])
        model(images[:args.batch_size])

    def floor() -> None:
        with torch.no_grad():
            for start in range(0, crops.shape[0], args.batch_size):
                g(crops[start:start + args.batch_size])

    stage_runs: list[dict[str, float]] = []

    def ours() -> None:
        sped = SPED(model, n_concepts=args.concepts, n_designs=args.designs,
                    batch_size=args.batch_size, progress=False, seed=0).fit(images)
        stage_runs.append(dict(sped.timings_))

    craft_class, craft_missing = load_craft()
    craft_parts: list[tuple[float, float]] = []

    def craft() -> None:
        def latent(x: torch.Tensor) -> torch.Tensor:
            return torch.relu(g(x))

        def head(a: torch.Tensor) -> torch.Tensor:
            score = model.spoof_logit(h(a))
            return torch.stack([torch.zeros_like(score), score], dim=1)

        extractor = craft_class(latent, head, number_of_concepts=args.concepts,
                                batch_size=args.batch_size, patch_size=SIZE, device="cpu")
        fit_time = timed(lambda: extractor.fit(crops))
        with torch.no_grad():
            importance_time = timed(lambda: extractor.estimate_importance(
                images, class_id=1, nb_design=args.designs))
        craft_parts.append((fit_time, importance_time))

    runs = {"floor": floor, "SPED": ours}
    if craft_class is not None:
        runs["craft-xai"] = craft
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(args.repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            elapsed = timed(runs[name])
            times[name].append(elapsed)
            print(f"  {name}: {elapsed:.1f} s", flush=True)
    median = {name: statistics.median(values) for name, values in times.items()}

    # per-image explanation time, in forward passes of the whole model
    sped = SPED(model, n_concepts=args.concepts, n_designs=args.designs,
                batch_size=args.batch_size, progress=False, seed=0).fit(images[:50])
    batch = spoof_images(args.images + 64)[args.images:]
    explain_repeats = 8 if args.quick else 15
    explain_rows = []
    for label, x in (("batch of 64", batch), ("single image", batch[:1])):
        forward, explain = [], []
        with torch.no_grad():
            model(x), sped.explain(x)  # warm-up
            for _ in range(explain_repeats):
                forward.append(timed(lambda: model(x)))
                explain.append(timed(lambda: sped.explain(x)))
        f, e = statistics.median(forward), statistics.median(explain)
        explain_rows.append((label, f / x.shape[0] * 1e3, e / x.shape[0] * 1e3, e / f))

    stages = {key: statistics.median(run[key] for run in stage_runs) for key in stage_runs[0]}
    write_report(args, images.shape[0], crops.shape[0], median, times, stages, craft_parts,
                 craft_missing, explain_rows)


def write_report(args, n_images: int, n_crops: int, median: dict[str, float],
                 times: dict[str, list[float]], stages: dict[str, float],
                 craft_parts: list[tuple[float, float]], craft_missing: str,
                 explain_rows: list[tuple[str, float, float, float]]) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    ours, floor = median["SPED"], median["floor"]
    lines = [
        "# SPED speed",
        "",
        f"`python benchmarks/bench_sped.py --images {args.images} --repeats {args.repeats}"
        + (f" --model {args.model}" if args.model else "")
        + (f" --threads {args.threads}" if args.threads else "") + "`",
        "",
        f"- Model: {args.model or 'an untrained cnn-cbam (seed 0)'}.",
        f"- Discovery on {n_images} SynthSpoof spoof images (64x64), cnn-cbam at "
        f"features.attention (128 x 8 x 8), {n_crops} crops (half the side, stride a quarter), "
        f"K = {args.concepts}, {args.designs} Sobol designs, batch size {args.batch_size}.",
        f"- Machine: {os.cpu_count()} CPU cores ({platform.machine()}), torch "
        f"{torch.__version__} with {torch.get_num_threads()} threads, Python "
        f"{platform.python_version()}; load average {load:.1f} at the end (other jobs share "
        "the cores, so absolute times are pessimistic; the ratios come from the same run).",
        f"- Medians of {args.repeats} run(s) each, taking turns.",
        "",
        "## Discovery",
        "",
        "| run | seconds | / floor | / craft-xai |",
        "|---|---|---|---|",
    ]
    craft = median.get("craft-xai")
    for name in ("floor", "SPED", "craft-xai"):
        if name not in median:
            continue
        vs_craft = f"{median[name] / craft:.2f}" if craft else "-"
        lines.append(f"| {name} | {median[name]:.1f} | {median[name] / floor:.2f} | "
                     f"{vs_craft} |")
    lines += ["", "SPED's stages (seconds, median over its runs):", "",
              "| stage | seconds | share |", "|---|---|---|"]
    total = sum(stages.values())
    for key, value in stages.items():
        lines.append(f"| {key.replace('_', ' ')} | {value:.2f} | {value / total:.0%} |")
    if craft_parts:
        fit = statistics.median(p[0] for p in craft_parts)
        importance = statistics.median(p[1] for p in craft_parts)
        lines += ["", f"craft-xai's parts: fit (g on the crops + scikit-learn NMF) {fit:.1f} s, "
                      f"estimate_importance (NMF transform + Sobol) {importance:.1f} s."]
    else:
        lines += ["", f"craft-xai: not run: {craft_missing}."]
    goal_craft = "not measured" if not craft else (
        f"{ours / craft:.2f}x craft-xai's time (goal <= 0.5: "
        f"{'met' if ours / craft <= 0.5 else 'not met'})")
    lines += ["", f"Result: discovery takes {ours / floor:.2f}x the floor (goal <= 1.3: "
                  f"{'met' if ours / floor <= 1.3 else 'not met'}) and {goal_craft}.", "",
              "## Explanation", "",
              "Per image, SPED.explain (g, the factorisation with W fixed, h for the verdict, "
              "the maps) against one forward pass of the whole model:", "",
              "| input | forward ms / image | explain ms / image | multiple |",
              "|---|---|---|---|"]
    for label, forward, explain, ratio in explain_rows:
        lines.append(f"| {label} | {forward:.2f} | {explain:.2f} | {ratio:.2f} |")
    lines += ["", "Goal: at most 1.5 forward passes per image (the limit is 1).", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
