"""Sub-pixel drawing helpers over OpenCV: float points in, fixed-point cv2 calls out.

OpenCV draws at integer pixels unless given ``shift`` fractional bits; every helper here takes
float coordinates and passes them with ``SHIFT`` bits so small faces (30 px) keep their shape.
``aa=False`` draws hard (8-connected) edges: silhouettes whose coverage must equal a mask are
drawn that way, with the same call on the colour canvas and on the mask.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

SHIFT = 4
_ONE = 1 << SHIFT

Colour = tuple[float, float, float] | float


def _fixed(points: np.ndarray) -> np.ndarray:
    return (np.asarray(points, dtype=np.float64) * _ONE).round().astype(np.int32).reshape(-1, 2)


def _line_type(aa: bool) -> int:
    return cv2.LINE_AA if aa else cv2.LINE_8


def fill(image: np.ndarray, points: np.ndarray, colour: Colour, *, aa: bool = True) -> None:
    """Fill the polygon ``points`` (N, 2) in place."""
    cv2.fillPoly(image, [_fixed(points)], colour, _line_type(aa), SHIFT)


def polyline(image: np.ndarray, points: np.ndarray, colour: Colour, *, thickness: int,
             closed: bool = False, aa: bool = True) -> None:
    """Draw an open or closed polyline in place."""
    cv2.polylines(image, [_fixed(points)], closed, colour, max(1, int(thickness)),
                  _line_type(aa), SHIFT)


def capsule(image: np.ndarray, start: np.ndarray, end: np.ndarray, *, thickness: float,
            colour: Colour, aa: bool = True) -> None:
    """A thick segment with round caps (a finger, an arm, a bar)."""
    a, b = _fixed(start)[0], _fixed(end)[0]
    cv2.line(image, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour,
             max(1, int(round(thickness))), _line_type(aa), SHIFT)


def disc(image: np.ndarray, centre: np.ndarray, radius: float, *, colour: Colour,
         aa: bool = True) -> None:
    """A filled circle."""
    c = _fixed(centre)[0]
    cv2.circle(image, (int(c[0]), int(c[1])), max(1, int(round(radius * _ONE))), colour, -1,
               _line_type(aa), SHIFT)


def ellipse_points(centre: tuple[float, float], axes: tuple[float, float], *, t0: float = 0.0,
                   t1: float = 2 * np.pi, n: int = 28) -> np.ndarray:
    """Points (n, 2) of the axis-aligned ellipse arc about ``centre`` with half-axes ``axes``
    (x, y) from angle t0 to t1 (radians)."""
    return _unit_arc(float(t0), float(t1), int(n)) * axes + centre


@lru_cache(maxsize=1024)
def _unit_arc(t0: float, t1: float, n: int) -> np.ndarray:
    t = np.linspace(t0, t1, n)
    arc = np.stack([np.cos(t), np.sin(t)], axis=1)
    arc.flags.writeable = False
    return arc


def similarity(points: np.ndarray, centre: tuple[float, float], scale: float,
               *, angle: float) -> np.ndarray:
    """Map local points (unit = ``scale`` px) to canvas points: rotate by ``angle`` about the
    local origin, scale, translate to ``centre``."""
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    rotation = np.array([[c, s], [-s, c]])
    return np.asarray(points, dtype=np.float64) @ rotation + centre


def shade_colour(colour: np.ndarray, factor: float) -> tuple[float, float, float]:
    """``colour`` (RGB 0-255) multiplied by ``factor`` and clipped, as a cv2 colour tuple."""
    return tuple(min(255.0, max(0.0, float(c) * factor)) for c in colour)


def mix_colour(a: np.ndarray, b: np.ndarray, t: float) -> tuple[float, float, float]:
    """(1 - t) a + t b as a cv2 colour tuple."""
    return tuple(min(255.0, max(0.0, (1 - t) * float(x) + t * float(y))) for x, y in zip(a, b))


def low_frequency_noise(rng: np.random.Generator, height: int, width: int, *, cells: int,
                        amplitude: float) -> np.ndarray:
    """A smooth random field (height, width) float32 with values in about ±amplitude: a
    ``cells`` x ``cells`` grid of uniform values upsampled bicubically."""
    grid = rng.uniform(-amplitude, amplitude, size=(cells, cells)).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


def plane(height: int, width: int, angle: float, *, scale: float) -> np.ndarray:
    """The linear ramp (cos(angle) x + sin(angle) y) / scale over the pixel grid, float32."""
    xs = np.arange(width, dtype=np.float32) * np.float32(np.cos(angle) / scale)
    ys = np.arange(height, dtype=np.float32) * np.float32(np.sin(angle) / scale)
    return ys[:, None] + xs[None, :]


def wave(height: int, width: int, angle: float, *, period: float, phase: float = 0.0) -> np.ndarray:
    """cos(2 pi (cos(angle) x + sin(angle) y) / period + phase) over the pixel grid, float32,
    computed from two 1-D tables (cos(a + b) = cos a cos b - sin a sin b)."""
    k = 2 * np.pi / period
    a = np.arange(width) * (k * np.cos(angle)) + phase
    b = np.arange(height) * (k * np.sin(angle))
    return (np.cos(b)[:, None] * np.cos(a)[None, :]
            - np.sin(b)[:, None] * np.sin(a)[None, :]).astype(np.float32)