"""Simple image statistics of SynthSpoof samples (colour, straight lines and edge
orientations, the face region) and the cross-validated classifier that checks they do not give
live and spoof away."""

from __future__ import annotations

import cv2
import numpy as np


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
