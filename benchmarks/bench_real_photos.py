"""Named evidence on real photos: MiniFASNetV2's explanations scored against evidence masks drawn
by eye on real attacks (the Silent-Face poster and tablet samples and every second replay and
print frame of its demo recording; tests/fixtures/real_photos/annotations.json). Every
explainer (``methods="all"``) runs through xfas's own benchmark with its default settings; with
a MiniFASNet concept bank, SPED too, and ``sped-matched`` takes, for each evidence type, the
concept the bank names after it (``calibration_split="names"``: the set is too small to keep
calibration images apart). Writes benchmarks/results/real_photos.md: nIoU per method and
evidence type and over each image's types, deletion AUC, with bootstrap 95 % intervals.

    python benchmarks/bench_real_photos.py [--concepts BANK] [--assets DIR] [--out RUN]
        [--methods all] [--set METHOD.OPTION=VALUE ...] [--threads 1]

BANK is a concept bank of MiniFASNetV2 named by ``xfas concepts label`` (``xfas demo`` writes
one at runs/demo/minifasnet/concepts.safetensors). The run folder RUN (default
runs/bench-real-photos) holds the benchmark's store and report; running again with the same
options recomputes nothing, and a changed annotation file asks for another RUN.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from xfas.benchmark import BenchmarkConfig, RunStore, run_benchmark  # noqa: E402
from xfas.benchmark.config import BY_NAME  # noqa: E402
from xfas.benchmark.metrics import bootstrap_ci  # noqa: E402
from xfas.benchmark.settings import parse_method_options  # noqa: E402
from xfas.benchmark.store import DB_NAME, IMAGE_EVIDENCE  # noqa: E402
from xfas.benchmark.tables import N_BOOT  # noqa: E402
from xfas.data.benchmark_layout import read_mask  # noqa: E402
from xfas.data.image_io import load_image  # noqa: E402
from xfas.models import load_model  # noqa: E402
from xfas.sped.bank import ConceptBank  # noqa: E402
from xfas.workflows.real_photos import read_annotations, real_photo_benchmark  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "real_photos.md"
ANNOTATIONS = ROOT / "tests" / "fixtures" / "real_photos" / "annotations.json"
DEMO_BANK = ROOT / "runs" / "demo" / "minifasnet" / "concepts.safetensors"
MODEL = "minifasnet-v2"
DIGEST_FILE = "annotations.sha256"
TIMING_FILE = "timing.json"  # the time the units took, summed over the calls that computed
CREDIT = ("Images: the sample photos and demo recording of Silent-Face-Anti-Spoofing "
          "(minivision-ai, Apache-2.0), read from the assets, not copied; labels and evidence "
          "polygons drawn by eye for xfas (tests/fixtures/real_photos/annotations.json).")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def prepare(out: Path, annotations: Path, assets: str | None) -> Path:
    """The annotated images in the benchmark layout at ``out/data``; refuses a run folder made
    from another annotation file (its stored scores would not match the masks)."""
    stamp = out / DIGEST_FILE
    if stamp.is_file() and stamp.read_text().strip() != digest(annotations):
        sys.exit(f"{out}: made from another version of {annotations}; remove it or give "
                 "another --out")
    out.mkdir(parents=True, exist_ok=True)
    data = real_photo_benchmark(out / "data", annotations, assets=assets)
    stamp.write_text(digest(annotations) + "\n")
    return data


def record_time(out: Path, run, *, seconds: float, load: float) -> dict:
    """The run's computing time so far: this call's ``seconds`` added when it computed units
    (a call that only re-tabulates keeps the time of the calls that did the work)."""
    path = out / TIMING_FILE
    timing = (json.loads(path.read_text()) if path.is_file()
              else {"seconds": 0.0, "units": 0, "load_at_start": []})
    if run.units_computed:
        timing["seconds"] += seconds
        timing["units"] += run.units_computed
        timing["load_at_start"].append(round(load, 1))
        path.write_text(json.dumps(timing) + "\n")
    return timing


def per_image(store: RunStore) -> dict[tuple[str, str, str], dict[str, float]]:
    """{(method, evidence, metric): {image: value}} of the run's stored scores."""
    values: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    for image, method, evidence, metric, value in store.scores():
        values[(method, evidence, metric)][image] = value
    return values


def mean_ci(values: list[float], seed: int) -> str:
    """"mean [low, high]" with the benchmark's bootstrap, or "–" without values."""
    finite = [v for v in values if v is not None and not np.isnan(v)]
    if not finite:
        return "–"
    low, high = bootstrap_ci(finite, N_BOOT, seed=seed)
    return f"{np.mean(finite):.3f} [{low:.3f}, {high:.3f}]"


def image_means(values, method: str, evidence_types: list[str]) -> list[float]:
    """Each image's mean nIoU over the evidence types it has masks for."""
    scores: dict[str, list[float]] = defaultdict(list)
    for evidence in evidence_types:
        for image, value in values.get((method, evidence, "niou"), {}).items():
            if not np.isnan(value):
                scores[image].append(value)
    return [float(np.mean(v)) for v in scores.values()]


def verdicts(store: RunStore, assets: str | None
             ) -> tuple[dict[str, float], dict[str, list[float]]]:
    """MiniFASNetV2's spoof probability of each scored image on the crop the run used, and
    {evidence: share of each mask inside that crop} (no map of the model reaches outside)."""
    model = load_model(MODEL, assets=assets)
    spoof, inside = {}, defaultdict(list)
    with torch.no_grad():
        for record in store.images("scored"):
            x, geometry = model.preprocess(load_image(record.path), record.face_box)
            spoof[record.name] = float(model.spoof_probability(model(x[None]))[0])
            footprint = geometry.to_image(torch.ones(x.shape[-2:])).numpy() > 0
            for evidence, path in record.masks.items():
                mask = read_mask(Path(path))
                inside[evidence].append(float((mask & footprint).sum() / mask.sum()))
    return spoof, inside


def render(run, *, args: argparse.Namespace, timing: dict, annotations: dict) -> str:
    """The results file: how it was run, the images, the table, the SPED assignment."""
    results = run.results
    seed = int(results["config"].get("seed", 0))
    methods, types = results["methods"], results["evidence_types"]
    with RunStore(run.out / DB_NAME, create=False) as store:
        values = per_image(store)
        records = store.images("scored")
        spoof, inside = verdicts(store, args.assets)
    attacks = defaultdict(int)
    frames = annotations["demo.gif"].get("annotated", {})
    for record in records:
        entry = (frames.get(str(int(record.name.rsplit("_", 1)[1])))
                 if record.name.startswith("demo_gif_")
                 else annotations["images"].get(f"{record.name}.jpg"))
        attacks[entry["attack"] if entry else "?"] += 1
    counts = {e: len(values.get((methods[0], e, "niou"), {})) for e in types}
    sped = results.get("sped_assignment") or {}
    command = "python benchmarks/bench_real_photos.py" + "".join(
        f" {flag} {value}" for flag, value in (("--concepts", args.concepts),
                                               ("--methods", args.methods)) if value) + "".join(
        f" --set {s}" for s in args.set)
    lines = [
        "# Named evidence on real photos (MiniFASNetV2)", "",
        f"`{command}`: model {MODEL} (Silent-Face weights), xfas's benchmark "
        f"(`xfas.benchmark.run_benchmark`) with its defaults: top "
        f"{results['config']['fraction']:.0%} of each map's pixels, every explainer's default "
        "settings" + (f" except {', '.join(args.set)}" if args.set else "") + f", seed {seed}. "
        f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} torch thread(s); the run ({timing['units']} work units) took "
        f"{timing['seconds'] / 60:.1f} min (load average at start "
        f"{', '.join(map(str, timing['load_at_start'])) or 'not recorded'}: other jobs shared "
        "the machine)." + (f" {args.note}" if args.note else ""), "",
        CREDIT, "",
        f"Set: {len(records)} real attacks with evidence masks scored ("
        + ", ".join(f"{n} {a}" for a, n in sorted(attacks.items())) + "); "
        f"masks per evidence type: {', '.join(f'{e} {n}' for e, n in counts.items())}. "
        f"MiniFASNetV2 calls {sum(p >= 0.5 for p in spoof.values())} of them spoof "
        f"(spoof probability >= 0.5; mean {np.mean(list(spoof.values())):.3f}): every map "
        "explains the spoof score, whatever the verdict. The model sees a crop around the "
        "face (the detected box scaled by up to 2.7), and its maps are zero outside it; the "
        "share of each type's mask inside the crop (mean over images): " + ", ".join(
            f"{e} {np.mean(inside[e]):.2f}" for e in types) + ".", "",
        "nIoU per evidence type (the IoU of the map's top pixels with the mask, divided by the "
        "best IoU a selection of that size can reach: 1 is perfect; `randomcam`, a random map, "
        "is the chance level), mean over images [bootstrap 95 % interval over images, "
        f"{N_BOOT} resamples]; *per image*: each image's mean over its evidence types, then "
        "the mean over images; deletion AUC of the spoof probability (lower is better), per "
        "image.", "",
        "| method | " + " | ".join(f"{e} nIoU" for e in types)
        + " | per image nIoU | deletion AUC |",
        "|---|" + "---:|" * (len(types) + 2)]
    for method in methods:
        cells = [mean_ci(list(values.get((method, e, "niou"), {}).values()), seed)
                 for e in types]
        cells.append(mean_ci(image_means(values, method, types), seed))
        cells.append(mean_ci(list(values.get((method, IMAGE_EVIDENCE, "deletion_auc"),
                                             {}).values()), seed))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines.append("")
    if args.concepts:
        bank = ConceptBank.load(args.concepts)
        lines.append(f"SPED: concept bank `{args.concepts}`, {bank.n_concepts} concepts of "
                     f"{bank.model_name} at layer {bank.layer} ({bank.grid[0]}x{bank.grid[1]} "
                     f"grid), learned on {bank.n_images} images; names: "
                     f"{', '.join(bank.names)}. `sped` scores the map of every concept "
                     "together; `sped-matched` scores each evidence type with the concept the "
                     "bank names after it (no calibration images): " + ("; ".join(
                         f"{e} -> concept {a['concept']} ({a['name']})" for e, a in sped.items())
                         if sped else "none is named after an evidence type here, so it has "
                         "no score") + ".")
    else:
        lines.append("SPED: not run (no --concepts bank given).")
    if results.get("problems"):
        lines.append("Problems found by the benchmark's checks: " + ", ".join(
            f"{r} {n}" for r, n in results["problems"].items()) + ".")
    shown = run.out.resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    lines += ["", f"The benchmark's own tables, scores and HTML report: `{shown}` "
              "(`xfas benchmark report RUN`).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=Path, default=None,
                        help="a MiniFASNetV2 concept bank with names (adds SPED)")
    parser.add_argument("--assets", default=os.environ.get("XFAS_ASSETS"),
                        help="the Silent-Face assets folder (default $XFAS_ASSETS)")
    parser.add_argument("--annotations", type=Path, default=ANNOTATIONS)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-real-photos")
    parser.add_argument("--methods", default="all")
    parser.add_argument("--set", action="append", default=[], metavar="METHOD.OPTION=VALUE",
                        help="an explainer option (e.g. rise.n_masks=1000), repeatable")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--note", default="", help="a sentence for the results file, e.g. why "
                        "a setting differs from the defaults")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.concepts is None:
        hint = f" ({DEMO_BANK} exists: pass it)" if DEMO_BANK.is_file() else (
            " (`xfas demo` writes one at runs/demo/minifasnet/concepts.safetensors)")
        print(f"no --concepts bank given: running without SPED{hint}", file=sys.stderr)
    elif not args.concepts.is_file():
        sys.exit(f"--concepts {args.concepts}: no such file")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    data = prepare(args.out, args.annotations, args.assets)
    config = BenchmarkConfig(
        data=str(data), model=MODEL,
        concepts=str(args.concepts) if args.concepts else None, methods=args.methods,
        calibration_split=BY_NAME, method_options=parse_method_options(args.set),
        assets=args.assets)
    run = run_benchmark(config, args.out / "run")
    timing = record_time(args.out, run, seconds=time.perf_counter() - started, load=load)
    text = render(run, args=args, timing=timing, annotations=read_annotations(args.annotations))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text, encoding="utf-8")
    print(text)
    return args.results


if __name__ == "__main__":
    main()
