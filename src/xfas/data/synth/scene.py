"""Backgrounds: a wall with light falloff and texture, and the straight-edged things in rooms;
and ``backdrop``, the out-of-focus room or wall behind a real person set in a new scene.

Rectangles with sharp edges (picture frames, posters, windows, doors, monitors, shelves) are
drawn in live and spoof scenes alike, from the same distribution, so "a straight edge" or "a
dark rectangle" is never by itself a sign of an attack. ``draw_room`` says which of these
distractors it drew.
"""

from __future__ import annotations

import cv2
import numpy as np

from xfas.data.synth import draw

OBJECTS = ("frame", "poster", "window", "door", "monitor", "shelf", "board")


def _wall_colour(rng: np.random.Generator) -> np.ndarray:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(0, 110) * rng.random(),
                      rng.uniform(60, 245)]]], np.float32)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)


def _wall(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A plain wall (height, width, 3) uint8 with a light gradient and soft blotches, and its
    colour."""
    wall = _wall_colour(rng)
    ramp = draw.plane(height, width, rng.uniform(0, 2 * np.pi), scale=max(height, width)) - 0.5
    gain = 1 + np.float32(rng.uniform(0.05, 0.35)) * ramp
    gain += draw.low_frequency_noise(rng, height, width, cells=int(rng.integers(3, 7)),
                                     amplitude=0.06)
    return np.clip(gain[..., None] * wall.astype(np.float32), 0, 255).astype(np.uint8), wall


def _quad(rng: np.random.Generator, cx: float, cy: float, *, w: float, h: float,
          size: int) -> np.ndarray:
    """Corners of a w x h rectangle centred at (cx, cy), slightly rotated and in perspective."""
    angle = rng.normal(0, 0.06)
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    corners = draw.similarity(corners, (cx, cy), 1.0, angle=angle)
    return corners + rng.normal(0, 0.01 * size, corners.shape)


def _inset(quad: np.ndarray, t: float) -> np.ndarray:
    """The quad shrunk towards its centre by the fraction ``t``."""
    centre = quad.mean(axis=0)
    return centre + (quad - centre) * (1 - t)


def _object(rng: np.random.Generator, canvas: np.ndarray, kind: str, *, wall: np.ndarray,
            scale: tuple[float, float] = (0.15, 0.6)) -> str:
    height, width = canvas.shape[:2]
    size = max(height, width)
    cx, cy = rng.uniform(-0.1, 1.1, 2) * [width, height]
    w, h = rng.uniform(*scale, 2) * size
    light = rng.uniform(170, 250)
    if kind == "door":
        h = size * 1.5
    if kind == "shelf":
        w, h = rng.uniform(0.4, 1.2) * size, rng.uniform(0.03, 0.06) * size
    quad = _quad(rng, cx, cy, w=w, h=h, size=size)
    if kind == "frame":
        draw.fill(canvas, quad, tuple(rng.uniform(20, 200, 3)))
        inner = _inset(quad, rng.uniform(0.08, 0.2))
        draw.fill(canvas, inner, tuple(rng.uniform(30, 230, 3)))
        draw.fill(canvas, _inset(inner, rng.uniform(0.3, 0.7)), tuple(rng.uniform(30, 230, 3)))
    elif kind == "poster":
        draw.fill(canvas, quad, tuple(light - rng.uniform(0, 25, 3)))
        for k in range(int(rng.integers(0, 6))):
            a = quad[0] + (quad[3] - quad[0]) * (0.2 + 0.12 * k)
            b = a + (quad[1] - quad[0]) * rng.uniform(0.3, 0.8)
            draw.capsule(canvas, a + (quad[1] - quad[0]) * 0.1, b, thickness=max(1, size // 90),
                         colour=tuple(rng.uniform(20, 120, 3)))
    elif kind == "window":
        draw.fill(canvas, quad, tuple(rng.uniform(200, 255, 3)))
        bar = tuple(rng.uniform(60, 240, 3))
        draw.polyline(canvas, quad, bar, thickness=max(2, size // 40), closed=True)
        draw.capsule(canvas, (quad[0] + quad[1]) / 2, (quad[2] + quad[3]) / 2,
                     thickness=max(1, size // 60), colour=bar)
        if rng.random() < 0.5:  # blinds: many parallel straight edges
            slats = int(rng.integers(4, 12))
            for t in (np.arange(slats) + 0.5) / slats:
                draw.capsule(canvas, quad[0] + t * (quad[3] - quad[0]),
                             quad[1] + t * (quad[2] - quad[1]), thickness=1,
                             colour=draw.shade_colour(bar, 0.8))
    elif kind == "door":
        draw.fill(canvas, quad, draw.shade_colour(wall, rng.uniform(0.5, 1.3)))
        draw.polyline(canvas, quad, draw.shade_colour(wall, 0.6), thickness=max(1, size // 64),
                      closed=True)
    elif kind == "monitor":
        draw.fill(canvas, quad, tuple(rng.uniform(5, 60) * np.ones(3)))
        draw.fill(canvas, _inset(quad, rng.uniform(0.05, 0.15)), tuple(rng.uniform(10, 120, 3)))
    elif kind == "shelf":
        draw.fill(canvas, quad, tuple(rng.uniform(60, 200, 3)))
        top = quad[0]
        along = (quad[1] - quad[0]) / max(np.linalg.norm(quad[1] - quad[0]), 1e-6)
        x = 0.0
        while x < w * 0.9:
            bw, bh = rng.uniform(0.02, 0.05) * size, rng.uniform(0.08, 0.18) * size
            base = top + along * x
            book = np.array([base, base + along * bw, base + along * bw + [0, -bh],
                             base + [0, -bh]])
            draw.fill(canvas, book, tuple(rng.uniform(20, 230, 3)))
            x += bw + rng.uniform(0, 0.03) * size
    else:  # board
        draw.fill(canvas, quad, tuple(rng.uniform(225, 250) * np.ones(3)))
        draw.polyline(canvas, quad, tuple(rng.uniform(120, 200, 3)), thickness=max(1, size // 50),
                      closed=True)
    return kind


def draw_room(rng: np.random.Generator, height: int, width: int, *, large: float = 0.0
              ) -> tuple[np.ndarray, list[str]]:
    """A random background (height, width, 3) uint8 and the names of the objects drawn on it.

    ``large`` is the probability of one more object as big as a held photo or tablet (0.45 to
    1.1 of the image side: a door, window, picture, monitor or board behind the person), which
    live scenes use so that spoofs do not have more long straight edges than live images."""
    canvas, wall = _wall(rng, height, width)
    objects: list[str] = []
    if rng.random() < 0.4:  # a wall corner or a ceiling line: a long straight edge
        other = draw.shade_colour(wall, rng.uniform(0.6, 1.3))
        x = rng.uniform(0, width)
        if rng.random() < 0.5:
            poly = np.array([[x, -1], [x + rng.normal(0, 4), height + 1], [width + 1, height + 1],
                             [width + 1, -1]])
        else:
            y = rng.uniform(0, 0.5 * height)
            poly = np.array([[-1, -1], [width + 1, -1], [width + 1, y + rng.normal(0, 4)],
                             [-1, y]])
        draw.fill(canvas, poly, other)
        objects.append("edge")
    for _ in range(int(rng.choice([0, 1, 1, 2, 2, 3, 4]))):
        objects.append(_object(rng, canvas, OBJECTS[rng.integers(len(OBJECTS))], wall=wall))
    if rng.random() < large:
        kind = ("frame", "poster", "window", "door", "monitor", "board")[rng.integers(6)]
        objects.append(_object(rng, canvas, kind, wall=wall, scale=(0.45, 1.1)))
    if rng.random() < 0.25:  # out-of-focus lights
        for _ in range(int(rng.integers(3, 9))):
            draw.disc(canvas, rng.uniform(0, 1, 2) * [width, height],
                      rng.uniform(0.02, 0.08) * width, colour=tuple(rng.uniform(120, 255, 3)))
        canvas = cv2.GaussianBlur(canvas, (0, 0), 0.02 * width)
    elif rng.random() < 0.5:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.3, 1.5) * width / 128)
    return canvas, objects


# What lies behind a real person set in a new scene: a room with things in it (else a plain
# wall with a gradient), and the defocus of a camera focused on the face, as a Gaussian sigma
# per 128 px of the picture's longer side.
BACKDROP_ROOM = 0.6
DEFOCUS = (0.5, 2.5)


def backdrop(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """The background (height, width, 3) uint8 behind a person cut from their photo: a drawn
    room (chance ``BACKDROP_ROOM``) or a plain wall, blurred as a camera focused on a face
    nearer to it blurs it."""
    if rng.random() < BACKDROP_ROOM:
        canvas, _ = draw_room(rng, height, width)
    else:
        canvas, _ = _wall(rng, height, width)
    sigma = rng.uniform(*DEFOCUS) * max(height, width) / 128
    return cv2.GaussianBlur(canvas, (0, 0), sigma)
