"""Is SynthSpoof on real people believable? A real face anti-spoofing model that never saw it
(Silent-Face's MiniFASNetV2 + V1SE, fused and fed through its own detector and crops, as
`xfas predict` does) scores the first N images of a seed: faces found, BPCER at its 0.5
threshold, APCER per attack type and AUC, against the goals of issue 20; the same per capture
variation; and the rendering choices that move it, each changed alone. Writes
benchmarks/results/realism.md.

    python benchmarks/bench_realism.py [--n 1000] [--seed 0] [--size 128] [--faces DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from xfas.data.synth import find_face_photos, load_face_photos, render_sample  # noqa: E402
from xfas.data.synth.camera import DRAWN  # noqa: E402
from xfas.data.synth.cast import PHOTO_STYLE, Style  # noqa: E402
from xfas.data.synth.media import SUBTLE  # noqa: E402
from xfas.errors import XfasError  # noqa: E402
from xfas.models.fused import FusedPredictor  # noqa: E402
from xfas.progress import tracked  # noqa: E402
from xfas.training.fas_metrics import roc_auc  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "realism.md"
ATTACKS = ("print", "cut", "replay")
GOALS = "face found >= 98 %, BPCER <= 5 %, APCER <= 20 % per attack type, AUC >= 0.95"
CHANGES: dict[str, Style] = {
    "the drawn people's camera (vignetting, strong blur and noise)":
        dataclasses.replace(PHOTO_STYLE, profile=DRAWN),
    "the drawn people's subtle print and screen look":
        dataclasses.replace(PHOTO_STYLE, look=SUBTLE),
    "hands of the drawn people's size": dataclasses.replace(PHOTO_STYLE, palm=1.0),
    "people left in the studio (no backdrop)": dataclasses.replace(PHOTO_STYLE, backdrop=0.0),
}


def score(photos: Any, predictor: FusedPredictor, *, n: int, seed: int, size: int,
          style: Style | None) -> list[dict[str, Any]]:
    """One record per image: attack, capture and the fused spoof probability (None: no face)."""
    records = []
    for index in tracked(range(n), "scoring"):
        sample = render_sample(index, seed, size, faces=photos, style=style)
        try:
            probability = predictor.predict(sample.image).spoof_probability
        except XfasError:  # no face found
            probability = None
        records.append({"attack": sample.attack, "capture": sample.capture,
                        "p": probability})
    return records


def summary(records: list[dict[str, Any]]) -> dict[str, float]:
    """Faces found, BPCER, APCER per attack type and AUC (on the images with a face)."""
    found = [r for r in records if r["p"] is not None]
    out = {"found": len(found) / len(records)}
    live = [r["p"] for r in found if r["attack"] == "live"]
    out["bpcer"] = float(np.mean(np.array(live) >= 0.5)) if live else float("nan")
    for attack in ATTACKS:
        scores = [r["p"] for r in found if r["attack"] == attack]
        out[f"apcer_{attack}"] = float(np.mean(np.array(scores) < 0.5)) if scores else float("nan")
    labels = [int(r["attack"] != "live") for r in found]
    out["auc"] = roc_auc(labels, [r["p"] for r in found]) if 0 < sum(labels) < len(labels) \
        else float("nan")
    return out


def _row(name: str, values: dict[str, float]) -> str:
    cells = [values["found"], values["bpcer"], *(values[f"apcer_{a}"] for a in ATTACKS),
             values["auc"]]
    return f"| {name} | " + " | ".join(f"{v:.3f}" for v in cells) + " |"


HEADER = ["| images | face found | BPCER | APCER print | APCER cut | APCER replay | AUC |",
          "|---|---:|---:|---:|---:|---:|---:|"]


def by_capture(records: list[dict[str, Any]]) -> list[str]:
    """The summary per capture variation (blur, JPEG, glare, noise, exposure)."""
    groups = {
        "no blur": lambda c: c["blur"] == "none",
        "Gaussian blur": lambda c: c["blur"] == "gaussian",
        "no JPEG": lambda c: c["jpeg"] is None,
        "JPEG quality < 65": lambda c: c["jpeg"] is not None and c["jpeg"] < 65,
        "JPEG quality >= 65": lambda c: c["jpeg"] is not None and c["jpeg"] >= 65,
        "lens glare": lambda c: c["glare"],
        "noise sigma < 0.75": lambda c: c["noise"] < 0.75,
        "noise sigma >= 0.75": lambda c: c["noise"] >= 0.75,
        "darker (exposure < 0.95)": lambda c: c["exposure"] < 0.95,
        "brighter (exposure >= 0.95)": lambda c: c["exposure"] >= 0.95,
    }
    lines = []
    for name, chosen in groups.items():
        group = [r for r in records if chosen(r["capture"])]
        if group:
            lines.append(_row(f"{name} ({len(group)})", summary(group)))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--faces", type=Path, default=None,
                        help="face photos (default: $XFAS_FACES)")
    parser.add_argument("--assets", type=Path, default=None,
                        help="Silent-Face assets (default: $XFAS_ASSETS)")
    parser.add_argument("--changes", type=int, default=400,
                        help="images per rendering change (0: none)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    folder = find_face_photos(args.faces)
    if folder is None:
        raise SystemExit("no face photos: pass --faces DIR or set XFAS_FACES")
    photos = load_face_photos(folder)
    predictor = FusedPredictor.from_assets(args.assets)
    records = score(photos, predictor, n=args.n, seed=args.seed, size=args.size, style=None)
    overall = summary(records)
    lines = ["# SynthSpoof on real people, as a real FAS model sees it", "",
             f"MiniFASNetV2 + V1SE fused (`xfas predict`'s pipeline: RetinaFace, context crops) "
             f"on the first {args.n} images of seed {args.seed} at {args.size} px, people from "
             f"{folder}. Goals (issue 20): {GOALS}. The BPCER and APCER use the model's own 0.5 "
             "threshold; APCER and AUC count the images with a face found.", "",
             *HEADER, _row(f"all ({args.n})", overall), "", "## Per capture variation", "",
             *HEADER, *by_capture(records)]
    if args.changes:
        lines += ["", "## Rendering choices, each changed alone", "",
                  f"The first {args.changes} images of the same seed, with the default choices "
                  "(first row) and with one choice replaced (by the drawn people's, or none).",
                  "", *HEADER,
                  _row("defaults", summary(records[:args.changes]))]
        for name, style in CHANGES.items():
            changed = score(photos, predictor, n=args.changes, seed=args.seed, size=args.size,
                            style=style)
            lines.append(_row(name, summary(changed)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
