"""The camera: scene lighting, white balance, blur, sensor noise and JPEG compression.

Applied to the whole composited image, live or spoof alike, so none of these is a cue.
Displays emit their own light: on their pixels the lighting gain is flattened (gain ** 0.3).
"""

from __future__ import annotations

import cv2
import numpy as np

from xfas.data.synth.media import glare


def lighting(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth gain map (size, size): exposure, a light gradient and vignetting."""
    axis = np.arange(size, dtype=np.float32) / size - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.float32(np.cos(angle)) * axis[None, :] + np.float32(np.sin(angle)) * axis[:, None]
    gain = np.float32(rng.uniform(0.65, 1.25)) * (1 + np.float32(rng.uniform(0, 0.5)) * ramp)
    radius2 = axis[None, :] ** 2 + axis[:, None] ** 2
    return gain * (1 - np.float32(rng.uniform(0, 0.6)) * radius2)


def tone(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """The camera's own rendering of float RGB ``x``: contrast about the mean, colourfulness,
    and a lifted black level (haze), each random; as broad as the print and screen looks."""
    mean = np.float32(x.mean())
    x = mean + np.float32(rng.uniform(0.7, 1.15)) * (x - mean)
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = grey[..., None] + np.float32(rng.uniform(0.55, 1.25)) * (x - grey[..., None])
    lift = np.float32(rng.uniform(0, 30) if rng.random() < 0.4 else 0.0)
    return lift + x * (1 - lift / 255)


def _motion_kernel(rng: np.random.Generator, size: int) -> np.ndarray:
    length = int(rng.integers(2, 5)) * max(1, size // 128) + 1
    kernel = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    angle = rng.uniform(0, np.pi)
    d = np.array([np.cos(angle), np.sin(angle)]) * c
    cv2.line(kernel, (int(round(c - d[0])), int(round(c - d[1]))),
             (int(round(c + d[0])), int(round(c + d[1]))), 1.0, 1)
    return kernel / kernel.sum()


def apply_camera(rng: np.random.Generator, image: np.ndarray, emissive: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) uint8 as a random camera would record it; returns uint8."""
    size = image.shape[0]
    gain = lighting(rng, size)
    if emissive.any():
        gain = np.where(emissive, gain ** 0.3, gain)
    balance = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    x = image.astype(np.float32) * (gain[..., None] * balance)
    x = tone(rng, x)
    if rng.random() < 0.25:  # a lens flare or a bright reflection anywhere in the picture
        x += glare(rng, size)[..., None]
    kind = rng.random()
    if kind < 0.55:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 1.1) * size / 128)
    elif kind < 0.7:
        x = cv2.filter2D(x, -1, _motion_kernel(rng, size))
    sigma = np.float32(rng.uniform(0.5, 7.0))
    if rng.random() < 0.5:
        x += (rng.standard_normal(x.shape[:2], dtype=np.float32) * sigma)[..., None]
    else:
        x += rng.standard_normal(x.shape, dtype=np.float32) * sigma
    out = np.clip(x + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.75:
        ok, data = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY,
                                                         int(rng.integers(35, 96))])
        out = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out)
