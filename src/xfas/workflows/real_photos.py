"""Real photos to measure on: the Silent-Face sample images and the frames of its demo
recording (a live person, a phone replay and a print of her), labelled by eye, and some of them
with evidence masks drawn by eye; plus, for live faces, real face photos of people a model never
trained on. The labels and masks are polygons in an annotation file (the tests keep one,
``tests/fixtures/real_photos/annotations.json``); the images are read from the assets.

Two folders come out: a labelled ``live/`` + ``spoof/`` folder (``xfas eval`` reads it) and a
benchmark-layout folder of the annotated images (``xfas benchmark run`` reads it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np
from PIL import Image, ImageSequence

from xfas.assets import find_asset
from xfas.data.benchmark_layout import BenchmarkLayout, read_json
from xfas.data.image_io import load_image, write_png
from xfas.errors import XfasError

RECORDING = "images/demo.gif"


def read_annotations(path: str | Path) -> dict[str, Any]:
    """The annotation file: {"images": {name: entry}, "demo.gif": {"frames": {attack:
    [first, last]}, "annotated": {frame: entry}}}; an entry has "label", "attack" and, when
    annotated, "evidence" {type: [polygon]} and "subtract" {type: [polygon]}."""
    data = read_json(Path(path))
    if not isinstance(data, dict) or "images" not in data or "demo.gif" not in data:
        raise XfasError(f"{path}: expected an object with \"images\" and \"demo.gif\"")
    return data


def recording_frames(assets: str | Path | None = None) -> list[np.ndarray]:
    """Every frame of the demo recording as RGB uint8."""
    with Image.open(find_asset(RECORDING, root=assets)) as gif:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def frame_attack(annotations: dict[str, Any], index: int) -> str:
    """The attack shown in frame ``index`` of the recording ("live" for the live person)."""
    for attack, (first, last) in annotations["demo.gif"]["frames"].items():
        if first <= index <= last:
            return attack
    raise XfasError(f"demo.gif frame {index}: no label in the annotation file")


def rasterise(entry: dict[str, Any], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """{evidence: bool mask}: each type's polygons filled, minus its "subtract" polygons."""
    masks = {}
    for evidence, polygons in entry.get("evidence", {}).items():
        mask = np.zeros(shape, np.uint8)
        for polygon in polygons:
            cv2.fillPoly(mask, [np.asarray(polygon, np.int32)], 1)
        for polygon in entry.get("subtract", {}).get(evidence, []):
            cv2.fillPoly(mask, [np.asarray(polygon, np.int32)], 0)
        masks[evidence] = mask.astype(bool)
    return masks


def _annotated(annotations: dict[str, Any], assets: str | Path | None
               ) -> Iterable[tuple[str, np.ndarray, dict[str, Any]]]:
    """(name, image, entry) of every image and frame the annotation file labels."""
    for name, entry in annotations["images"].items():
        yield Path(name).stem, load_image(find_asset(f"images/{name}", root=assets)), entry
    frames = recording_frames(assets)
    annotated = annotations["demo.gif"].get("annotated", {})
    for index, frame in enumerate(frames):
        attack = frame_attack(annotations, index)
        entry = annotated.get(str(index), {"label": "live" if attack == "live" else "spoof",
                                           "attack": attack})
        yield f"demo_gif_{index:03d}", frame, entry


def real_photo_benchmark(out: str | Path, annotations: str | Path, *,
                         assets: str | Path | None = None) -> Path:
    """The annotated real images (those with evidence polygons) in the benchmark layout at
    ``out``, all in the "test" split."""
    layout = BenchmarkLayout(out)
    layout.prepare(overwrite=True)
    records = {}
    for name, image, entry in _annotated(read_annotations(annotations), assets):
        if "evidence" not in entry:
            continue
        masks = rasterise(entry, image.shape[:2])
        layout.write_sample(name, image, masks)
        records[name] = {"label": entry["label"], "attack": entry["attack"],
                         "evidence": sorted(masks), "split": "test"}
    layout.write_manifest({"images": records, "source": str(annotations)})
    return Path(out)


def real_photo_folder(out: str | Path, annotations: str | Path, *,
                      assets: str | Path | None = None,
                      live_photos: Iterable[Path] = ()) -> Path:
    """A ``live/`` + ``spoof/`` folder at ``out``: every labelled image and frame, and the
    ``live_photos`` (real face photos of people the model never saw) as live."""
    root = Path(out)
    for name, image, entry in _annotated(read_annotations(annotations), assets):
        write_png(root / entry["label"] / f"{name}.png", image)
    for path in live_photos:
        write_png(root / "live" / f"{Path(path).stem}.png", load_image(path))
    (root / "sources.json").write_text(json.dumps({"annotations": str(annotations)}, indent=1),
                                       encoding="utf-8")
    return root
