"""Validation evidence for SPED's defaults (issue 21, point 2): the layer, K, the crop size and
pooled versus per-attack discovery, each chosen on validation images, never on the test split.

For each setting (layer x K x crop fraction x discovery), SPED discovers its concepts on up to
``--images`` training spoofs (a seeded subset; per attack type: the same images grouped by
attack, K concepts per attack type) and the X-FAS benchmark runner then scores ``sped`` and
``sped-matched`` on the validation spoofs only: on a copy of the data that holds the validation
spoofs and nothing else, without splits, so the runner's ``calibration_fraction=0.5`` carves a
seeded half for the concept-to-evidence assignment (best mean nIoU per evidence type) and scores
the other half (nIoU of the top 30 % of pixels, in image coordinates, the assigned concept's map
without activation gating). The test split is never opened.

Cost: the Sobol importances change only ``sped`` (the importance-weighted map of activated
concepts); ``sped-matched`` scores the ungated map of one concept, which depends on W alone.
So the sweep estimates importances with ``--sweep-designs`` Sobol base points, and the
``--confirm`` settings of each discovery mode best by ``sped-matched`` are re-ranked with SPED's
default 32 designs on the very same concepts (their ``sped-matched`` must come out identical:
a check).

Usage (OMP_NUM_THREADS=1; XFAS_ASSETS for the face detector, as ``make demo``):
    python benchmarks/sped_defaults.py [--data runs/demo/synthspoof] [--model runs/demo/cnn-cbam]
        [--layers features.block2,features.block3,features.attention] [--concepts 8,16]
        [--crops 0.5,0.25] [--modes pooled,per-attack] [--images 200] [--sweep-designs 2]
        [--confirm 1] [--out runs/sped_defaults] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xfas.benchmark.config import BenchmarkConfig
from xfas.benchmark.runner import run_benchmark
from xfas.models import load_model
from xfas.sped import SPED
from xfas.sped.merge import Discovery, attack_groups, merge_discoveries
from xfas.workflows.concepts import Selection, dataset_inputs, selected_attacks

ROOT = Path(__file__).resolve().parent
EVIDENCE = ("clutching_hand", "cut_hole", "ipad_border", "photo_edge")  # the paper's four
DEFAULT_DESIGNS = 32
POOLED, PER_ATTACK = "pooled", "per-attack"
METHODS = ("sped", "sped-matched")
VAL_COPY = "val_spoofs"


@dataclass(frozen=True)
class Setting:
    """One point of the grid."""

    layer: str
    k: int
    crop: float
    mode: str

    @property
    def tag(self) -> str:
        return f"{self.layer.split('.')[-1]}-k{self.k}-c{self.crop:g}-{self.mode}"

    def changed(self, factor: str) -> str:
        """This setting's value of ``factor`` (a field name), as the report writes it."""
        value = getattr(self, factor)
        return f"{value:g}" if isinstance(value, float) else str(value)


FACTORS = {"layer": "layer", "k": "K", "crop": "crop fraction", "mode": "discovery"}


def validation_copy(data: Path, out: Path) -> tuple[Path, int]:
    """A benchmark-layout folder at ``out`` holding only the validation spoofs of ``data``
    (links to their images and masks), their manifest entries without splits: (folder, count)."""
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    kept = {name: {key: value for key, value in entry.items() if key != "split"}
            for name, entry in manifest["images"].items()
            if entry.get("split") == "val" and entry.get("label") == "spoof"}
    if out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)
    for name in kept:
        [image] = list((data / "images").glob(f"{name}.*"))
        (out / "images" / image.name).symlink_to(image.resolve())
        for folder in sorted((data / "masks").iterdir()):
            mask = folder / f"{name}.png"
            if mask.is_file():
                (out / "masks" / folder.name).mkdir(parents=True, exist_ok=True)
                (out / "masks" / folder.name / mask.name).symlink_to(mask.resolve())
    head = {key: value for key, value in manifest.items() if key not in ("images", "splits")}
    (out / "manifest.json").write_text(json.dumps({**head, "images": kept}, indent=1),
                                       encoding="utf-8")
    return out, len(kept)


def discover(model: Any, setting: Setting, *, images: torch.Tensor, attacks: list[str],
             seed: int) -> Discovery:
    """Stages 1-3 of SPED for one setting: pooled, or per attack type and merged."""
    sped = SPED(model, layer=setting.layer, n_concepts=setting.k, seed=seed,
                crop_fraction=setting.crop, progress=False)
    if setting.mode == POOLED:
        return sped.discover(images)
    groups = attack_groups(attacks, int(images.shape[0]))
    return merge_discoveries([sped.discover(images[torch.as_tensor(rows)], source=attack)
                              for attack, rows in groups.items()])


def run_dir(out: Path, setting: Setting, designs: int) -> Path:
    return out / "benchmark" / f"{setting.tag}-d{designs}"


def score(model: Any, setting: Setting, discovery: Discovery, *, images: torch.Tensor,
          designs: int, args: argparse.Namespace) -> dict[str, float]:
    """Rank the discovered concepts with ``designs`` Sobol base points on the discovery images,
    save the bank and run the benchmark's sped and sped-matched on the validation copy;
    returns the seconds each took."""
    sped = SPED(model, layer=setting.layer, n_concepts=setting.k, seed=args.seed,
                crop_fraction=setting.crop, n_designs=designs, progress=False)
    started = time.perf_counter()
    sped.fit_discovered(images, discovery)
    ranked = time.perf_counter() - started
    bank = sped.save(args.out / "banks" / f"{setting.tag}-d{designs}.safetensors")
    config = BenchmarkConfig(data=str(args.out / VAL_COPY), model=args.model,
                             concepts=str(bank), methods="sped,sped-matched", split="all",
                             calibration_fraction=0.5, seed=args.seed, faithfulness=False,
                             assets=os.environ.get("XFAS_ASSETS"))
    folder = run_dir(args.out, setting, designs)
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_benchmark(config, folder, progress=False)
    return {"rank_s": ranked, "bench_s": time.perf_counter() - started}


@dataclass
class Measured:
    """What one benchmark run of a setting measured (read back from its folder)."""

    means: dict[str, dict[str, float]]  # method -> evidence -> mean nIoU
    counts: dict[str, int]  # evidence -> images scored
    per_image: dict[str, dict[str, dict[str, float]]]  # method -> evidence -> image -> nIoU
    assignment: dict[str, Any]
    n_concepts: int

    def mean(self, method: str) -> float:
        return float(np.mean([self.means[method][e] for e in EVIDENCE]))


def read_run(folder: Path) -> Measured:
    """The table, per-image nIoU and SPED assignment of a benchmark run folder."""
    from xfas.sped import ConceptBank

    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    table = results["table"]
    per_image: dict[str, dict[str, dict[str, float]]] = {}
    with (folder / "scores.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["metric"] == "niou" and row["evidence"] in EVIDENCE and row["value"]:
                per_image.setdefault(row["method"], {}).setdefault(row["evidence"], {})[
                    row["image"]] = float(row["value"])
    return Measured(
        means={m: {e: table[m][e]["niou"] for e in EVIDENCE} for m in METHODS},
        counts={e: table["sped-matched"][e]["n"] for e in EVIDENCE},
        per_image=per_image, assignment=results.get("sped_assignment", {}),
        n_concepts=ConceptBank.load(results["config"]["concepts"]).n_concepts)


def paired_difference(a: Measured, b: Measured, method: str = "sped-matched", *,
                      resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean over the four types of a's mean nIoU minus b's, on the same scored images, with a
    95 % paired bootstrap interval (images resampled, seeded): (difference, low, high)."""
    images = sorted({i for e in EVIDENCE for i in a.per_image[method][e]})
    diffs = np.array([[a.per_image[method][e].get(i, np.nan) - b.per_image[method][e].get(
        i, np.nan) for i in images] for e in EVIDENCE])  # (types, images), NaN: no mask

    rng = np.random.default_rng(seed)
    columns = rng.integers(0, len(images), (resamples, len(images)))
    draws = np.nanmean(diffs[:, columns], axis=-1).mean(axis=0)  # (resamples,)
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(np.nanmean(diffs, axis=1).mean()), float(low), float(high)


def fmt(value: float | None) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.3f}"


def comparison_lines(best: Setting, measured: dict[tuple[Setting, int], Measured],
                     settings: list[Setting], designs: int) -> list[str]:
    """How much the best setting wins by: against each one-factor neighbour (the same
    setting with one factor changed) and against the best setting of each other level of a
    factor, as paired bootstrap intervals of the difference in mean ``sped-matched`` nIoU."""
    lines = ["| factor | compared with | its mean | winner minus it [95 % CI] |",
             "|---|---|---|---|"]
    winner = measured[best, designs]
    for factor, title in FACTORS.items():
        for other in sorted({getattr(s, factor) for s in settings} - {getattr(best, factor)},
                            key=str):
            rivals = [s for s in settings if getattr(s, factor) == other]
            neighbour = [s for s in rivals if all(getattr(s, f) == getattr(best, f)
                                                  for f in FACTORS if f != factor)]
            top = max(rivals, key=lambda s: measured[s, designs].mean("sped-matched"))
            pairs = [("same other factors", n) for n in neighbour[:1]]
            pairs += [("best with it", top)] if top not in neighbour else []
            for label, rival in pairs:
                diff, low, high = paired_difference(winner, measured[rival, designs])
                lines.append(f"| {title} | {rival.changed(factor)} ({label}: {rival.tag}) | "
                             f"{measured[rival, designs].mean('sped-matched'):.3f} | "
                             f"{diff:+.3f} [{low:+.3f}, {high:+.3f}] |")
    return lines


def write_report(args: argparse.Namespace, settings: list[Setting], saved: dict[str, Any]
                 ) -> Path:
    """The Markdown table of every setting, read back from the benchmark run folders;
    ``saved``: the timings, counts, command line and final load average of the run
    (``timings.json``)."""
    timings, argv = saved["settings"], saved["argv"]
    n_train, n_val, minutes = saved["n_train"], saved["n_val"], saved["minutes"]
    load = saved["load"]
    sweep = args.sweep_designs
    measured = {(s, d): read_run(run_dir(args.out, s, d)) for s in settings
                for d in (sweep, DEFAULT_DESIGNS) if run_dir(args.out, s, d).is_dir()}
    confirmed = [s for s in settings if (s, DEFAULT_DESIGNS) in measured]
    order = sorted(settings, key=lambda s: -measured[s, sweep].mean("sped-matched"))
    counts = measured[order[0], sweep].counts
    lines = [
        "# SPED defaults on validation data",
        "",
        "`" + " ".join(["OMP_NUM_THREADS=1 python benchmarks/sped_defaults.py", *argv]) + "`",
        "",
        f"- Model {args.model}, data {args.data}. Discovery on {n_train} training spoofs "
        f"(seeded subset, seed {args.seed}); per attack type: the same images grouped by "
        "attack, K concepts per attack type, merged (importances and typical activations "
        "on all of them).",
        f"- Scored on the validation split only: its {n_val} spoofs, halved with a seed "
        f"({args.seed}): the `sped-matched` assignment (best mean nIoU per evidence type) "
        "on one half, the scores on the other (images scored per type: "
        + ", ".join(f"{e} {n}" for e, n in counts.items()) + "). The test split is never "
        "read. nIoU of the top 30 % of pixels in image coordinates (the benchmark runner, "
        "`xfas.benchmark.metrics.niou`); means over the paper's four evidence types.",
        f"- Sweep: Sobol importances with {sweep} base points (they change `sped` only, "
        f"never `sped-matched`), so the sweep's `sped` column is a rough estimate; the best "
        f"{args.confirm} setting(s) of each discovery mode by `sped-matched` re-ranked with "
        f"{DEFAULT_DESIGNS} (SPED's default) below, where `sped` can be compared.",
        f"- Machine: {os.cpu_count()} CPU cores ({platform.machine()}), torch "
        f"{torch.__version__}, {torch.get_num_threads()} thread(s), Python "
        f"{platform.python_version()}; load average {load:.1f} at the end (other jobs share "
        f"the cores). Compute {minutes:.1f} min.",
        "- Cut to fit the time: importances with few designs in the sweep and the default 32 "
        "only for the settings below; one discovery seed and one halving of the validation "
        "spoofs (the intervals below are over images, not over seeds).",
        "",
        "## Sweep: `sped-matched` (the assigned concept's ungated map)",
        "",
        "| layer | K | crop | discovery | concepts | " + " | ".join(EVIDENCE)
        + " | **mean** | `sped` mean | discovery s | rank s | bench s |",
        "|---|---|---|---|---|" + "---|" * (len(EVIDENCE) + 5),
    ]
    for s in order:
        m, t = measured[s, sweep], timings.get(s.tag, {})
        seconds = [t.get(key, float("nan")) for key in
                   ("discovery_s", f"rank_s_{sweep}", f"bench_s_{sweep}")]
        lines.append(
            f"| {s.layer} | {s.k} | {s.crop:g} | {s.mode} | {m.n_concepts} | "
            + " | ".join(fmt(m.means["sped-matched"][e]) for e in EVIDENCE)
            + f" | **{m.mean('sped-matched'):.3f}** | {m.mean('sped'):.3f} | "
            + " | ".join(f"{x:.0f}" for x in seconds) + " |")
    lines += ["", "Marginal means of `sped-matched` (over the other factors; best in brackets):",
              ""]
    for factor, title in FACTORS.items():
        values: dict[str, list[float]] = {}
        for s in settings:
            values.setdefault(s.changed(factor), []).append(measured[s, sweep].mean(
                "sped-matched"))
        lines.append(f"- {title}: " + ", ".join(f"{v} {np.mean(x):.3f} ({max(x):.3f})"
                                                for v, x in values.items()))
    best = order[0]
    lines += ["", f"## How much the best setting ({best.tag}) wins by", "",
              "Paired over the same scored images (bootstrap of images, 2000 draws, seeded); "
              "an interval that holds 0 is no evidence either way.", ""]
    lines += comparison_lines(best, measured, settings, sweep)
    if confirmed:
        lines += ["", f"## With {DEFAULT_DESIGNS} Sobol designs (SPED's default)", "",
                  "| layer | K | crop | discovery | `sped-matched` mean | "
                  + " | ".join(f"`sped` {e}" for e in EVIDENCE) + " | `sped` mean |",
                  "|---|---|---|---|---|" + "---|" * (len(EVIDENCE) + 1)]
        for s in confirmed:
            m = measured[s, DEFAULT_DESIGNS]
            same = m.means["sped-matched"] == measured[s, sweep].means["sped-matched"]
            lines.append(f"| {s.layer} | {s.k} | {s.crop:g} | {s.mode} | "
                         f"{m.mean('sped-matched'):.3f}"
                         f"{'' if same else ' (differs from the sweep!)'} | "
                         + " | ".join(fmt(m.means["sped"][e]) for e in EVIDENCE)
                         + f" | {m.mean('sped'):.3f} |")
        if len(confirmed) == 2:
            diff, low, high = paired_difference(measured[confirmed[0], DEFAULT_DESIGNS],
                                                measured[confirmed[1], DEFAULT_DESIGNS], "sped")
            lines += ["", f"`sped`, {confirmed[0].tag} minus {confirmed[1].tag}: {diff:+.3f} "
                      f"[{low:+.3f}, {high:+.3f}] (paired bootstrap, 95 %)."]
    assignment = measured[best, sweep].assignment
    lines += ["", f"Assignment of the best setting ({best.tag}) on the calibration half:", "",
              "| evidence | concept | calibration nIoU | n |", "|---|---|---|---|"]
    for e in EVIDENCE:
        if e in assignment:
            a = assignment[e]
            lines.append(f"| {e} | {a['concept']} | {fmt(a.get('calibration_niou'))} | "
                         f"{a.get('n')} |")
    path = (args.out if args.quick else ROOT / "results") / "sped_defaults.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("runs/demo/synthspoof"))
    parser.add_argument("--model", default="runs/demo/cnn-cbam")
    parser.add_argument("--layers", default="features.block2,features.block3,features.attention")
    parser.add_argument("--concepts", default="8,16")
    parser.add_argument("--crops", default="0.5,0.25")
    parser.add_argument("--modes", default=f"{POOLED},{PER_ATTACK}")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--sweep-designs", type=int, default=2)
    parser.add_argument("--confirm", type=int, default=1,
                        help="settings of each discovery mode re-ranked with 32 designs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/sped_defaults"))
    parser.add_argument("--report-only", action="store_true",
                        help="write the report from the run folders of an earlier run")
    parser.add_argument("--quick", action="store_true", help="20 images, K 4, one layer")
    args = parser.parse_args()
    if args.quick:
        args.images, args.concepts, args.layers, args.crops = 20, "4", "features.attention", "0.5"
    settings = [Setting(layer, int(k), float(crop), mode)
                for layer in args.layers.split(",") for k in args.concepts.split(",")
                for crop in args.crops.split(",") for mode in args.modes.split(",")]
    timings_path = args.out / "timings.json"
    if args.report_only:
        path = write_report(args, settings, json.loads(timings_path.read_text(encoding="utf-8")))
        print(f"written {path}")
        return
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    model = load_model(args.model)
    selection = Selection(split="train", limit=args.images, seed=args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # faces the detector misses: as in the demo
        images, _ = dataset_inputs(args.data, model, selection,
                                   assets=os.environ.get("XFAS_ASSETS"), progress=False)
    attacks = selected_attacks(args.data, model, selection)
    _, n_val = validation_copy(args.data, args.out / VAL_COPY)
    timings: dict[str, dict[str, float]] = {}
    discoveries: dict[Setting, Discovery] = {}
    means: dict[Setting, float] = {}
    for index, setting in enumerate(settings):
        clock = time.perf_counter()
        discoveries[setting] = discover(model, setting, images=images, attacks=attacks,
                                        seed=args.seed)
        spent = {"discovery_s": time.perf_counter() - clock}
        spent.update({f"{key}_{args.sweep_designs}": value for key, value in score(
            model, setting, discoveries[setting], images=images, designs=args.sweep_designs,
            args=args).items()})
        timings[setting.tag] = spent
        means[setting] = read_run(run_dir(args.out, setting, args.sweep_designs)).mean(
            "sped-matched")
        print(f"[{index + 1}/{len(settings)}] {setting.tag}: sped-matched "
              f"{means[setting]:.3f} ({(time.perf_counter() - started) / 60:.1f} min)",
              flush=True)
    ranked = sorted(settings, key=lambda s: -means[s])
    for mode in dict.fromkeys(s.mode for s in ranked):
        for setting in [s for s in ranked if s.mode == mode][:args.confirm]:
            timings[setting.tag].update({f"{key}_{DEFAULT_DESIGNS}": value for key, value in
                                         score(model, setting, discoveries[setting],
                                               images=images, designs=DEFAULT_DESIGNS,
                                               args=args).items()})
            print(f"[confirm] {setting.tag} ({(time.perf_counter() - started) / 60:.1f} min)",
                  flush=True)
    saved = {"settings": timings, "n_train": int(images.shape[0]), "n_val": n_val,
             "minutes": (time.perf_counter() - started) / 60, "argv": sys.argv[1:],
             "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")}
    timings_path.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    path = write_report(args, settings, saved)
    print(f"written {path}")


if __name__ == "__main__":
    main()
