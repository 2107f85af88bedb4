"""Does a model's spoof verdict rest on the evidence or on the face? Blur one region at a time.

A heat map shows where an explainer puts its mass, not what the verdict needs. This check asks
the model itself: every spoof image is shown again with one region blurred away (Gaussian,
sigma = 1/16 of the image side, which erases edges, fingers and print or screen texture but
keeps the colours): the evidence (the masks of the papers' four types, dilated by 1/40 of the
side; not the attack surface, which covers the face), the face box minus the evidence, or a
control box of the face box's size at a random place. A model that reads the
evidence loses its spoof verdict when the evidence is blurred and keeps it when the face is.
The face box comes from the manifest's ``face_box`` entry (``xfas synth`` writes it), else, for
models that crop around the face (MiniFASNet), from the face detector, as ``xfas predict`` finds
it; crop models crop every version of the image by it, so each is fed as the model wants it.
Images without a box are left out of the face and control rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from xfas.data.benchmark_layout import SURFACE_TYPES, FaceBox
from xfas.data.datasets.benchmark import BenchmarkDataset
from xfas.data.face import FaceDetector
from xfas.errors import XfasError
from xfas.models.base import FASModel
from xfas.progress import tracked

REGIONS = ("evidence", "face", "control")
BLUR_FRACTION = 1 / 16     # blur sigma as a fraction of the image side
DILATE_FRACTION = 1 / 40   # evidence dilation as a fraction of the image side


@dataclass(frozen=True)
class RegionEffect:
    """What blurring one region did to the spoof images that have it."""

    region: str
    images: int
    area: float               # mean share of the image blurred
    spoof_probability: float  # mean spoof probability after blurring
    flipped: float            # share of images judged spoof before and live after


@dataclass(frozen=True)
class RelianceResult:
    """Spoof images scored, their mean spoof probability untouched, and one effect per region."""

    images: int
    spoof_probability: float
    threshold: float
    effects: tuple[RegionEffect, ...]

    def to_json(self) -> dict:
        """The result as JSON-ready dicts (what ``xfas benchmark reliance --out`` writes)."""
        return {"images": self.images, "spoof_probability": self.spoof_probability,
                "threshold": self.threshold, "effects": [asdict(e) for e in self.effects]}


def blur_region(image: np.ndarray, region: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with the pixels of bool ``region`` replaced by a Gaussian blur
    of the whole image: the region keeps its colours, so no flat patch draws a new outline."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    return np.where(region[..., None], blurred, image)


def box_mask(shape: tuple[int, int], box: FaceBox) -> np.ndarray:
    """A bool mask of the (x, y, w, h) box, clipped to ``shape`` (H, W)."""
    height, width = shape
    x, y, w, h = box
    mask = np.zeros(shape, bool)
    mask[max(int(round(y)), 0):min(int(round(y + h)), height),
         max(int(round(x)), 0):min(int(round(x + w)), width)] = True
    return mask


def region_masks(evidence: np.ndarray, face_box: FaceBox | None,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The regions of one image: the dilated ``evidence`` (bool (H, W)), and with a face box
    also the face box minus that evidence and a control box of the face box's size placed
    uniformly at random inside the image."""
    height, width = evidence.shape
    reach = max(1, int(round(DILATE_FRACTION * max(height, width))))
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    dilated = cv2.dilate(evidence.astype(np.uint8), kernel) > 0
    regions = {"evidence": dilated}
    if face_box is not None:
        face = box_mask((height, width), face_box)
        regions["face"] = face & ~dilated
        rows, cols = np.flatnonzero(face.any(axis=1)), np.flatnonzero(face.any(axis=0))
        h, w = (rows.size, cols.size) if rows.size else (0, 0)
        y0, x0 = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
        regions["control"] = box_mask((height, width), (x0, y0, w, h))
    return regions


def _spoof_probability(model: FASModel, images: list[np.ndarray],
                       face_box: FaceBox | None) -> np.ndarray:
    """Spoof probabilities of ``images``, cropped around ``face_box`` by models that crop."""
    batch, _ = model.preprocess_batch(images, [face_box] * len(images))
    device = next(model.parameters()).device
    with torch.no_grad():
        return model.spoof_probability(model(batch.to(device))).cpu().numpy()


def evidence_reliance(model: FASModel, data: str | Path, split: str | None = "test",
                      *, threshold: float = 0.5, seed: int = 0, limit: int | None = None,
                      progress: bool = True, detector: FaceDetector | None = None
                      ) -> RelianceResult:
    """Blur the evidence, the face and a control box of each spoof image of ``data`` (the
    benchmark layout) in turn and report how the model's spoof probability changes.

    Example:
        >>> result = evidence_reliance(load_model("runs/demo/cnn-cbam"), "synth")
        >>> [(e.region, e.flipped) for e in result.effects]
    """
    root = Path(data)
    model.eval()
    dataset = BenchmarkDataset(root, split=split, image_size=None)
    spoofs = [int(i) for i in np.flatnonzero(dataset.labels == 1)][:limit]
    if not spoofs:
        where = "" if split is None else f" in the {split} split"
        raise XfasError(f"--data {root}: no spoof images{where}")
    boxes = {name: entry.face_box for name, entry in dataset.layout.read_manifest().items()}
    if model.crop_scale is not None and detector is None:
        detector = FaceDetector.from_assets(None)
    rng = np.random.default_rng(seed)
    before: list[float] = []
    after: dict[str, list[tuple[float, float, float]]] = {r: [] for r in REGIONS}
    for index in tracked(spoofs, "blurring regions", enabled=progress):
        item = dataset[index]
        if item["label"] != 1:  # an unreadable image, replaced by the dataset with a live one
            continue
        image = (item["image"].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        evidence = np.any(np.stack([m.numpy() for e, m in item["masks"].items()
                                    if e not in SURFACE_TYPES]), axis=0)
        if not evidence.any():
            raise XfasError(f"{root}: spoof image {item['name']!r} has no evidence mask")
        face_box = boxes.get(item["name"])
        if face_box is None and model.crop_scale is not None:
            face_box = detector.detect(image)
        regions = region_masks(evidence, face_box, rng)
        sigma = BLUR_FRACTION * max(image.shape[:2])
        names = list(regions)
        probs = _spoof_probability(model, [image] + [blur_region(image, regions[r], sigma)
                                                     for r in names], face_box)
        before.append(float(probs[0]))
        for name, p in zip(names, probs[1:]):
            after[name].append((float(regions[name].mean()), float(p), float(probs[0])))
    if not before:
        raise XfasError(f"--data {root}: none of its spoof images could be read")
    effects = tuple(_effect(name, rows, threshold) for name, rows in after.items() if rows)
    return RelianceResult(len(before), float(np.mean(before)), threshold, effects)


def _effect(region: str, rows: list[tuple[float, float, float]], threshold: float
            ) -> RegionEffect:
    area, p_after, p_before = (np.array(column) for column in zip(*rows))
    flipped = (p_before >= threshold) & (p_after < threshold)
    return RegionEffect(region, len(rows), float(area.mean()), float(p_after.mean()),
                        float(flipped.mean()))
