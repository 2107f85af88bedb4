"""Simple image statistics of SynthSpoof samples (colour, straight lines and edge
orientations, the face region) and the cross-validated classifier that checks they do not give
live and spoof away."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage


def colour_features(image: np.ndarray) -> np.ndarray:
    """Per-channel mean, std and 8-bin histograms (bins of 32 levels)."""
    pixels = image.reshape(-1, 3)
    hist = [np.bincount(pixels[:, c] >> 5, minlength=8) / len(pixels) for c in range(3)]
    return np.concatenate([pixels.mean(0), pixels.std(0), *hist])


def edge_features(image: np.ndarray) -> np.ndarray:
    """Number and total length of straight lines (Canny + probabilistic Hough) and the
    magnitude-weighted gradient-orientation histogram."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    lines = cv2.HoughLinesP(cv2.Canny(grey, 50, 150), 1, np.pi / 180, 25,
                            minLineLength=20, maxLineGap=3)
    lengths = [] if lines is None else [np.hypot(x1 - x0, y1 - y0)
                                        for x0, y0, x1, y1 in lines[:, 0]]
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    magnitude = np.hypot(gx, gy)
    orientation = np.histogram(np.arctan2(gy, gx) % np.pi, bins=8, range=(0, np.pi),
                               weights=magnitude)[0] / max(magnitude.sum(), 1e-6)
    return np.concatenate([[len(lengths), sum(lengths)], orientation])


def face_region(sample) -> np.ndarray:
    """The pixels of a sample's face box (the printed or shown face for spoofs)."""
    height, width = sample.image.shape[:2]
    x, y, w, h = (int(round(v)) for v in sample.face_box)
    x0, y0 = min(max(x, 0), width - 1), min(max(y, 0), height - 1)
    return sample.image[y0:max(y0 + 1, min(y + h, height)), x0:max(x0 + 1, min(x + w, width))]


def cross_validated(features: list[np.ndarray], samples) -> tuple[float, float]:
    """(accuracy, balanced accuracy) of a 5-fold logistic regression, spoof vs live."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = np.array(features), np.array([s.label == "spoof" for s in samples])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    return (cross_val_score(model, x, y, cv=folds).mean(),
            cross_val_score(model, x, y, cv=folds, scoring="balanced_accuracy").mean())


HANDS = frozenset({"palms", "fingers"})  # the layers of a holder's hands


def pixel_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where two renders (H, W, 3) differ, (H, W) bool."""
    return (a != b).any(axis=-1)


def disc(r: int) -> np.ndarray:
    """A filled disc of radius ``r`` as a structuring element."""
    offsets = np.arange(-r, r + 1)
    return np.hypot(offsets[:, None], offsets[None, :]) <= r


def assert_masks_are_pixel_differences(scene, edge: int) -> set[str]:
    """Check each evidence mask of ``scene`` (a SynthSpoof composition) against an independent
    truth: the pixels that change when its object leaves the scene (camera effects off), not
    the generator's geometry; ``edge`` is the photo-edge band's radius. Returns the evidence
    types that were present and checked."""
    full, masks = scene.render(effects=False)
    if scene.attack == "live":
        assert masks == {}
        return set()
    checked = set()
    if "clutching_hand" in masks:
        no_hands, _ = scene.render(omit=HANDS, effects=False)
        assert np.array_equal(pixel_difference(full, no_hands), masks["clutching_hand"])
        checked.add("clutching_hand")
    base = HANDS | {"arms"}
    with_medium, bare = scene.render(omit=base, effects=False)

    def same(truth: np.ndarray, evidence: str) -> None:
        assert np.array_equal(truth, bare.get(evidence, np.zeros_like(truth))), evidence
        if truth.any():
            checked.add(evidence)

    if scene.attack == "replay":
        without, _ = scene.render(omit=base | {"bezel"}, effects=False)
        same(pixel_difference(with_medium, without), "ipad_border")
        no_screen, _ = scene.render(omit=base | {"screen"}, effects=False)
        alone, _ = scene.render(omit=base | {"room", "bezel"}, effects=False)
        same(pixel_difference(with_medium, no_screen) | alone.any(axis=-1), "screen_surface")
        return checked
    without, _ = scene.render(omit=base | {"paper"}, effects=False)
    alone, _ = scene.render(omit=base | {"room"}, effects=False)
    # a paper pixel either differs from the room behind it or, drawn on black, is not black (a
    # dark print over a shadow can match the room exactly)
    paper_seen = pixel_difference(with_medium, without) | alone.any(axis=-1)
    outline = ndimage.binary_fill_holes(paper_seen)
    band = ndimage.binary_dilation(outline, disc(edge)) & \
        ~ndimage.binary_erosion(outline, disc(edge), border_value=1)
    same(band, "photo_edge")
    same(paper_seen & ~band, "print_surface")  # the print the edge band leaves
    if scene.attack == "cut":
        same(outline & ~paper_seen, "cut_hole")  # inside the outline, showing what is behind
    return checked
