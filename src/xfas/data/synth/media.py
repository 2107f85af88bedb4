"""The attack media: a printed photo (paper, optionally bent, optionally with holes) and a
screen device (bezel + display), placed in the camera image by a homography.

A medium has its own flat coordinates in pixels (``sheet``: the paper, or the whole device).
``Placement`` maps image pixels back to those coordinates (the inverse homography, then for
paper a small bend u += a sin(pi v), v += c sin(pi u) in normalised sheet units), so every
image pixel knows where on the medium it falls: region masks are exact per pixel and the
content is sampled with ``cv2.remap``. The face inside the medium is placed so that its image
size and position follow the same ranges as live faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from xfas.data.synth import draw

PAPERS = np.array([[246, 246, 242], [244, 238, 222], [226, 226, 220], [236, 240, 248],
                   [250, 250, 250]], dtype=np.float32)


@dataclass(frozen=True)
class Placement:
    """Image pixel -> sheet coordinates (float32 maps, shape of the image) for one medium."""

    u: np.ndarray
    v: np.ndarray
    sheet_size: tuple[float, float]   # (width, height) of the sheet in sheet pixels
    homography: np.ndarray            # sheet px -> image px (before the bend)

    def inside(self) -> np.ndarray:
        w, h = self.sheet_size
        return (self.u >= 0) & (self.u < w) & (self.v >= 0) & (self.v < h)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Sheet points (N, 2) -> image points, by the homography (bend not applied)."""
        p = cv2.perspectiveTransform(np.asarray(points, np.float64).reshape(-1, 1, 2),
                                     self.homography)
        return p.reshape(-1, 2)


def place(rng: np.random.Generator, image_size: int, sheet_size: tuple[float, float],
          *, anchor: tuple[float, float], target: tuple[float, float], scale: float,
          bend: float) -> Placement:
    """A placement whose sheet point ``anchor`` lands on image point ``target`` at ``scale``
    image px per sheet px, rotated and seen slightly in perspective; ``bend`` is the largest
    bend amplitude as a fraction of the sheet."""
    angle = rng.normal(0, 0.12)
    c, s = np.cos(angle), np.sin(angle)
    to_origin = np.array([[1, 0, -anchor[0]], [0, 1, -anchor[1]], [0, 0, 1]], np.float64)
    rot_scale = np.array([[c * scale, -s * scale, 0], [s * scale, c * scale, 0], [0, 0, 1]])
    tilt = rng.normal(0, 0.35, 2) / image_size
    perspective = np.array([[1, 0, 0], [0, 1, 0], [tilt[0], tilt[1], 1]])
    to_target = np.array([[1, 0, target[0]], [0, 1, target[1]], [0, 0, 1]], np.float64)
    homography = to_target @ perspective @ rot_scale @ to_origin
    inverse = np.linalg.inv(homography)
    axis = np.arange(image_size, dtype=np.float32)
    inverse = inverse.astype(np.float32)
    xs, ys = axis[None, :], axis[:, None]
    den = inverse[2, 0] * xs + inverse[2, 1] * ys + inverse[2, 2]
    u = (inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]) / den
    v = (inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]) / den
    w, h = sheet_size
    if bend > 0:
        a, b = rng.uniform(-bend, bend, 2)
        un, vn = u / w, v / h
        u = u + np.float32(a * w) * np.sin(np.float32(np.pi) * np.clip(vn, -0.5, 1.5))
        v = v + np.float32(b * h) * np.sin(np.float32(np.pi) * np.clip(un, -0.5, 1.5))
    behind = den <= 0  # points behind the camera never belong to the sheet
    u[behind] = -1e6
    return Placement(u.astype(np.float32), v.astype(np.float32), (float(w), float(h)), homography)


def sample(image: np.ndarray, placement: Placement, offset: tuple[float, float] = (0.0, 0.0),
           *, nearest: bool = False) -> np.ndarray:
    """``image`` (in sheet px, its origin at ``offset`` on the sheet) seen through the placement."""
    mode = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.remap(image, placement.u - offset[0], placement.v - offset[1], mode,
                     borderMode=cv2.BORDER_REPLICATE)


# ---- the looks of print and screen ----------------------------------------------------------
@dataclass(frozen=True)
class Look:
    """How strongly prints and screens show what they are.

    ``SUBTLE`` is for drawn people: a strong look would make the printed face itself the cue,
    and models trained on drawn SynthSpoof would look at the face instead of the evidence.
    ``RECAPTURED`` is for real people: a photo printed or shown and photographed again loses
    contrast and sharpness and gains halftone dots or a screen's pixel grid, which is what a
    real face anti-spoofing model reads (measured in docs/experiments.md)."""

    print_contrast: tuple[float, float]
    print_blur: tuple[float, float]
    halftone: tuple[float, float]       # depth of the halftone dots
    screen_contrast: tuple[float, float]
    screen_black: tuple[float, float]   # the display's raised black level
    grid_strength: float                # share of a clearly visible pixel grid and moire


SUBTLE = Look(print_contrast=(0.88, 1.0), print_blur=(0.2, 0.5), halftone=(0.01, 0.04),
              screen_contrast=(1.0, 1.0), screen_black=(0.0, 0.04), grid_strength=0.35)
RECAPTURED = Look(print_contrast=(0.55, 0.7), print_blur=(0.8, 1.4), halftone=(0.1, 0.2),
                  screen_contrast=(0.5, 0.7), screen_black=(0.06, 0.14), grid_strength=1.0)


def print_look(rng: np.random.Generator, photo: np.ndarray, paper: np.ndarray,
               *, look: Look = SUBTLE) -> np.ndarray:
    """A photo as printed on paper of colour ``paper``: lower contrast, ink colour shift,
    gamma, halftone dots and blur, as strong as ``look`` says; ink multiplies the paper
    white."""
    contrast, gamma = rng.uniform(*look.print_contrast), rng.uniform(0.92, 1.08)
    ink = rng.uniform(0.97, 1.03, 3)
    mean = photo.mean() / 255
    levels = np.arange(256) / 255
    x = cv2.LUT(photo, _channel_lut(np.clip((mean + contrast * (levels[:, None] - mean)) * ink,
                                            0, 1) ** gamma * paper / 255))
    x = saturate(x, rng.uniform(0.95, 1.15))
    x = cv2.GaussianBlur(x, (0, 0), rng.uniform(*look.print_blur))
    h, w = x.shape[:2]
    period, angle = rng.uniform(1.4, 3.0), rng.uniform(0, np.pi)
    # cos(a) cos(b) = (cos(a + b) + cos(a - b)) / 2, with a and b along two perpendicular axes
    dots = draw.wave(h, w, angle + np.pi / 4, period=period / np.sqrt(2)) + \
        draw.wave(h, w, angle - np.pi / 4, period=period / np.sqrt(2))
    dots = 1 - rng.uniform(*look.halftone) * (0.5 + 0.25 * dots)
    return x.astype(np.float32) * 255 * dots[..., None]


def saturate(x: np.ndarray, factor: float) -> np.ndarray:
    """Scale the colourfulness of float RGB ``x``: grey + factor (x - grey), with grey the
    Rec. 601 luma."""
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    return grey[..., None] + np.float32(factor) * (x - grey[..., None])


def _channel_lut(table: np.ndarray) -> np.ndarray:
    """A (256, 3) table as the (1, 256, 3) float32 LUT that cv2.LUT applies per channel."""
    return np.ascontiguousarray(table.astype(np.float32).reshape(1, 256, 3))


def screen_look(rng: np.random.Generator, photo: np.ndarray, look: Look = SUBTLE) -> np.ndarray:
    """A photo as shown on a display: slight colour cast, raised black level, lower contrast,
    gamma, slight blur, as strong as ``look`` says."""
    cast = rng.uniform(0.97, 1.03, 3)
    black = rng.uniform(*look.screen_black)
    contrast = rng.uniform(*look.screen_contrast)
    levels = 0.5 + contrast * (np.arange(256)[:, None] / 255 - 0.5)
    table = black + (1 - black) * np.clip(levels * cast, 0, 1) ** rng.uniform(0.92, 1.08)
    x = saturate(cv2.LUT(photo, _channel_lut(table * 255)), rng.uniform(0.95, 1.15))
    return cv2.GaussianBlur(x, (0, 0), rng.uniform(0.2, 0.5))


def pixel_grid(rng: np.random.Generator, placement: Placement, look: Look = SUBTLE
               ) -> np.ndarray:
    """A display's pixel grid seen by the camera: a fine grid in sheet px, sampled per image
    pixel, which aliases into moire; plus a low-frequency moire wave. Returns a gain map whose
    deviations from its mean are ``look.grid_strength`` of a clearly visible grid's."""
    pitch = rng.uniform(0.7, 2.2)
    gu = np.cos(placement.u * (2 * np.pi / pitch))
    gv = np.cos(placement.v * (2 * np.pi / pitch))
    gain = 1 - rng.uniform(0.02, 0.08) * (0.5 + 0.25 * (gu + gv))
    size = placement.u.shape[0]
    angle, period = rng.uniform(0, np.pi), rng.uniform(3.0, 10.0) * size / 128
    moire = draw.wave(size, size, angle, period=period, phase=rng.uniform(0, 2 * np.pi))
    grid = gain * (1 + rng.uniform(0.0, 0.045) * moire)
    return (1 + look.grid_strength * (grid - grid.mean())).astype(np.float32)


def glare(rng: np.random.Generator, size: int) -> np.ndarray:
    """An elongated specular highlight (additive, 0-255 float) of random place and strength."""
    cx, cy = rng.uniform(0, size, 2)
    angle = rng.uniform(0, np.pi)
    sx, sy = rng.uniform(0.2, 0.6) * size, rng.uniform(0.04, 0.15) * size
    c, s = np.cos(angle), np.sin(angle)
    along = draw.plane(size, size, angle, scale=sx) - np.float32((c * cx + s * cy) / sx)
    across = draw.plane(size, size, angle + np.pi / 2,
                        scale=sy) - np.float32((-s * cx + c * cy) / sy)
    return (rng.uniform(40, 140) * np.exp(-along * along - across * across)).astype(np.float32)


# ---- shapes on the sheet --------------------------------------------------------------------
def rounded_rect(placement: Placement, box: tuple[float, float, float, float],
                 radius: float) -> np.ndarray:
    """Image mask of the sheet region box = (x0, y0, x1, y1) with corners rounded by ``radius``."""
    x0, y0, x1, y1 = box
    hx, hy = (x1 - x0) / 2 - radius, (y1 - y0) / 2 - radius
    dx = np.maximum(np.abs(placement.u - (x0 + x1) / 2) - hx, 0)
    dy = np.maximum(np.abs(placement.v - (y0 + y1) / 2) - hy, 0)
    inside = (np.abs(placement.u - (x0 + x1) / 2) <= hx + radius) & \
             (np.abs(placement.v - (y0 + y1) / 2) <= hy + radius)
    return inside & (dx * dx + dy * dy <= radius * radius)


def hole_shapes(rng: np.random.Generator, sheet_size: tuple[int, int], eyes: np.ndarray,
                *, mouth: np.ndarray, face_width: float, which: str) -> np.ndarray:
    """A uint8 sheet-sized mask of the holes cut at the eyes and/or mouth (``which`` is
    "eyes", "mouth" or "both"): ellipses, rectangles or one band across both eyes."""
    w, h = sheet_size
    mask = np.zeros((h, w), np.uint8)
    if which in ("eyes", "both"):
        ax, ay = rng.uniform(0.12, 0.2) * face_width, rng.uniform(0.06, 0.12) * face_width
        kind = rng.choice(["ellipse", "rect", "band"])
        if kind == "band":
            left, right = eyes.min(axis=0), eyes.max(axis=0)
            quad = np.array([[left[0] - ax, left[1] - ay], [right[0] + ax, right[1] - ay],
                             [right[0] + ax, right[1] + ay], [left[0] - ax, left[1] + ay]])
            draw.fill(mask, quad, 1, aa=False)
        for eye in eyes if kind != "band" else []:
            if kind == "ellipse":
                draw.fill(mask, draw.ellipse_points((eye[0], eye[1]), (ax, ay)), 1, aa=False)
            else:
                draw.fill(mask, np.array([[eye[0] - ax, eye[1] - ay], [eye[0] + ax, eye[1] - ay],
                                          [eye[0] + ax, eye[1] + ay], [eye[0] - ax, eye[1] + ay]]),
                          1, aa=False)
    if which in ("mouth", "both"):
        ax, ay = rng.uniform(0.18, 0.3) * face_width, rng.uniform(0.07, 0.14) * face_width
        draw.fill(mask, draw.ellipse_points((mouth[0], mouth[1]), (ax, ay)), 1, aa=False)
    return mask
