"""The camera: scene lighting, white balance, blur, sensor noise and JPEG compression.

Applied to the whole composited image, live or spoof alike, so none of these is a cue.
Displays emit their own light: on their pixels the lighting gain is flattened (gain ** 0.3).
Two profiles: ``DRAWN`` varies widely, for drawn people; ``PHOTO``, for real people, keeps what
a phone or webcam does to a face (no dark corners, at most slight blur), which is what a real
face anti-spoofing model accepts as live (measured in docs/experiments.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from xfas.data.synth.media import glare


@dataclass(frozen=True)
class Profile:
    """Ranges of one camera's effects (blur sigma at 128 px, scaled with the image)."""

    exposure: tuple[float, float]
    gradient: float          # largest slope of the light across the image
    vignette: float          # largest darkening of the corners' squared radius
    blur: tuple[float, float]
    gaussian_blur: float     # chance of a Gaussian blur
    motion_blur: float       # chance of a motion blur (after the Gaussian's)
    noise: float             # largest standard deviation of the sensor noise, in grey levels
    contrast: tuple[float, float] = (0.7, 1.15)   # the camera's own contrast about the mean
    haze: float = 30.0       # largest lift of the black level, in grey levels


DRAWN = Profile(exposure=(0.65, 1.25), gradient=0.5, vignette=0.6, blur=(0.3, 1.1),
                gaussian_blur=0.55, motion_blur=0.15, noise=7.0)
PHOTO = Profile(exposure=(0.75, 1.2), gradient=0.25, vignette=0.0, blur=(0.2, 0.4),
                gaussian_blur=0.25, motion_blur=0.0, noise=1.0)


def lighting(rng: np.random.Generator, size: int, profile: Profile = DRAWN) -> np.ndarray:
    """A smooth gain map (size, size): exposure, a light gradient and vignetting."""
    axis = np.arange(size, dtype=np.float32) / size - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.float32(np.cos(angle)) * axis[None, :] + np.float32(np.sin(angle)) * axis[:, None]
    gain = np.float32(rng.uniform(*profile.exposure)) * (
        1 + np.float32(rng.uniform(0, profile.gradient)) * ramp)
    radius2 = axis[None, :] ** 2 + axis[:, None] ** 2
    return gain * (1 - np.float32(rng.uniform(0, profile.vignette)) * radius2)


def tone(rng: np.random.Generator, x: np.ndarray, profile: Profile = DRAWN) -> np.ndarray:
    """The camera's own rendering of float RGB ``x``: contrast about the mean, colourfulness,
    and a lifted black level (haze), each random; as broad as the print and screen looks, so
    that contrast and black level alone tell no attack."""
    mean = np.float32(x.mean())
    x = mean + np.float32(rng.uniform(*profile.contrast)) * (x - mean)
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = grey[..., None] + np.float32(rng.uniform(0.55, 1.25)) * (x - grey[..., None])
    lift = np.float32(rng.uniform(0, profile.haze) if rng.random() < 0.4 else 0.0)
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


def apply_camera(rng: np.random.Generator, image: np.ndarray, emissive: np.ndarray,
                 *, profile: Profile = DRAWN) -> tuple[np.ndarray, dict[str, Any]]:
    """``image`` (H, W, 3) uint8 as a random camera of ``profile`` would record it (uint8),
    and what the camera did: {"exposure": mean gain, "glare": bool, "blur": "none" /
    "gaussian" / "motion", "noise": sigma in grey levels, "jpeg": quality or None}."""
    size = image.shape[0]
    gain = lighting(rng, size, profile)
    if emissive.any():
        gain = np.where(emissive, gain ** 0.3, gain)
    balance = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    x = image.astype(np.float32) * (gain[..., None] * balance)
    x = tone(rng, x, profile)
    capture: dict[str, Any] = {"exposure": round(float(gain.mean()), 3),
                               "glare": bool(rng.random() < 0.25), "blur": "none"}
    if capture["glare"]:  # a lens flare or a bright reflection anywhere in the picture
        x += glare(rng, size)[..., None]
    kind = rng.random()
    if kind < profile.gaussian_blur:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(*profile.blur) * size / 128)
        capture["blur"] = "gaussian"
    elif kind < profile.gaussian_blur + profile.motion_blur:
        x = cv2.filter2D(x, -1, _motion_kernel(rng, size))
        capture["blur"] = "motion"
    sigma = np.float32(rng.uniform(0.5, profile.noise))
    capture["noise"] = round(float(sigma), 2)
    if rng.random() < 0.5:
        x += (rng.standard_normal(x.shape[:2], dtype=np.float32) * sigma)[..., None]
    else:
        x += rng.standard_normal(x.shape, dtype=np.float32) * sigma
    out = np.clip(x + 0.5, 0, 255).astype(np.uint8)
    capture["jpeg"] = None
    if rng.random() < 0.75:
        capture["jpeg"] = int(rng.integers(35, 96))
        ok, data = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY,
                                                         capture["jpeg"]])
        out = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out), capture
