"""Sim-to-real: a model trained on SynthSpoof's real people only, judged on real photos it never
saw. Real attacks: the Silent-Face poster and tablet samples and the replay and print frames
of its demo recording; real live faces: its live sample and live frames, and the photos of the
people SynthSpoof kept out of training (its test split). The threshold is the model's EER
threshold on SynthSpoof's validation split, chosen before any real photo is seen. Writes
benchmarks/results/sim_to_real.md.

    python benchmarks/bench_sim_to_real.py --data SYNTH --run RUN [--assets DIR] [--faces DIR]

RUN is a `xfas train` run on SYNTH (`xfas synth` with real faces); the labels and masks of the
real photos are tests/fixtures/real_photos/annotations.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from xfas.data import FolderDataset, open_dataset  # noqa: E402
from xfas.data.face import FaceDetector  # noqa: E402
from xfas.data.synth import find_face_photos  # noqa: E402
from xfas.models import load_model  # noqa: E402
from xfas.training import predict_dataset  # noqa: E402
from xfas.training.fas_metrics import eer, fas_report  # noqa: E402
from xfas.training.scoring import score_dataset  # noqa: E402
from xfas.workflows.real_photos import real_photo_folder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sim_to_real.md"
ANNOTATIONS = ROOT / "tests" / "fixtures" / "real_photos" / "annotations.json"


def held_out_people(data: Path, faces: Path) -> list[Path]:
    """The face photos of the people in SynthSpoof's test split (never trained on)."""
    people = json.loads((data / "manifest.json").read_text())["people"]
    return sorted(p for p in faces.rglob("*.jpg")
                  if people.get(p.stem.split("_", 1)[0]) == "test")


def scores(model, folder: Path, detector: FaceDetector) -> list[tuple[str, int, float | None]]:
    """(file, label, spoof probability) of every image of ``folder``'s live/ and spoof/, fed
    as the model wants it (``score_dataset``: its crop around the detected face); None
    without a face."""
    scored = score_dataset(model, FolderDataset(folder), detector=detector)
    rows = [(Path(path).name, int(label), float(score))
            for path, label, score in zip(scored.paths, scored.labels, scored.scores)]
    return rows + [(Path(path).name, int(Path(path).parent.name == "spoof"), None)
                   for path in scored.no_face + scored.unreadable]


def group_of(name: str) -> str:
    """Which kind of real image a file is, for the per-source table."""
    if name.startswith("image_"):
        return "Silent-Face samples"
    if name.startswith("demo_gif_"):
        return "demo recording frames"
    return "held-out real people (live)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--assets", type=Path, default=None)
    parser.add_argument("--faces", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    model = load_model(args.run)
    val = open_dataset(args.data, split="val", image_size=model.input_size)
    val_labels, val_scores, _ = predict_dataset(model, val)
    threshold = eer(val_labels, val_scores)[1]
    faces = find_face_photos(args.faces)
    live = held_out_people(args.data, faces) if faces is not None else []
    detector = FaceDetector.from_assets(args.assets)
    with tempfile.TemporaryDirectory() as tmp:
        folder = real_photo_folder(Path(tmp) / "real", ANNOTATIONS, assets=args.assets,
                                   live_photos=live)
        rows = scores(model, folder, detector)
    found = [r for r in rows if r[2] is not None]
    labels = [r[1] for r in found]
    values = [r[2] for r in found]
    report = fas_report(labels, values, threshold=threshold)
    at_half = fas_report(labels, values, threshold=0.5)
    lines = ["# Sim-to-real: trained on SynthSpoof's real people, judged on real photos", "",
             f"Model {args.run} ({model.name}, crop scale {model.crop_scale}) trained on "
             f"{args.data}; threshold {threshold:.3f}, its EER threshold on SynthSpoof's "
             f"validation split. {len(rows)} real images ({sum(r[1] == 0 for r in rows)} live, "
             f"{sum(r[1] == 1 for r in rows)} attacks), a face found in {len(found)}. Goal "
             "(issue 20): ACER <= 10 % at that threshold, AUC >= 0.95.", "",
             "| threshold | AUC | APCER | BPCER | ACER |", "|---|---:|---:|---:|---:|",
             f"| SynthSpoof validation EER ({threshold:.3f}) | {report['auc']:.3f} | "
             f"{report['apcer']:.3f} | {report['bpcer']:.3f} | {report['acer']:.3f} |",
             f"| 0.5 | {at_half['auc']:.3f} | {at_half['apcer']:.3f} | {at_half['bpcer']:.3f} | "
             f"{at_half['acer']:.3f} |", "", "## Per source", "",
             "| source | label | images | mean spoof probability | judged spoof |",
             "|---|---|---:|---:|---:|"]
    for group in sorted({group_of(r[0]) for r in found}):
        for label, word in ((0, "live"), (1, "attack")):
            chosen = [r[2] for r in found if group_of(r[0]) == group and r[1] == label]
            if chosen:
                lines.append(f"| {group} | {word} | {len(chosen)} | {np.mean(chosen):.3f} | "
                             f"{np.mean(np.array(chosen) >= threshold):.3f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
