"""Drawing one person (shoulders, neck, head, hair, face features) on an RGB canvas.

A face lives in a local frame: origin at the centre of the face oval, x to the right, y down,
unit = half the face width. ``Face`` holds every appearance choice; ``sample_face`` draws them
from a seeded generator and ``draw_person`` paints them. Yaw turns the features on a cylinder
(x -> R sin(asin(x / R) + yaw)), pitch shifts them vertically, roll rotates the whole frame.
The same code draws live faces and the faces printed on paper or shown on a tablet, so the
printed face is never a different kind of drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from xfas.data.synth import draw

# Skin tones from very light to very dark (RGB); a face interpolates between neighbours.
SKIN_TONES = np.array([[246, 210, 186], [236, 188, 160], [222, 168, 134], [198, 140, 104],
                       [160, 106, 72], [120, 76, 50], [86, 54, 36]], dtype=np.float64)
HAIR_COLOURS = np.array([[24, 20, 18], [52, 36, 26], [92, 62, 40], [150, 110, 70],
                         [205, 170, 110], [140, 60, 30], [150, 150, 150], [215, 212, 205]],
                        dtype=np.float64)
EYE_COLOURS = np.array([[60, 40, 25], [95, 65, 35], [70, 110, 150], [80, 120, 80],
                        [40, 30, 25]], dtype=np.float64)
HAIR_STYLES = ("short", "short", "long", "long", "bald", "bun", "curly", "buzz")
MOUTHS = ("neutral", "neutral", "smile", "smile", "open", "surprised")


@dataclass(frozen=True)
class Face:
    """Everything needed to draw one person; positions in canvas pixels."""

    cx: float
    cy: float
    width: float            # face (oval) width in px: the "face size"
    height_ratio: float     # half height / half width of the oval
    jaw: float              # narrowing of the chin, 0 (round) to 0.35 (pointed)
    roll: float             # radians
    yaw: float              # radians, features turn on a cylinder
    pitch: float            # local units of vertical feature shift
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    hair_style: str
    hair_volume: float
    eye_colour: tuple[float, float, float]
    eye_open: float         # 0 closed .. 1 wide open
    gaze: tuple[float, float]
    mouth: str
    brow_raise: float
    beard: str              # "none", "stubble", "full", "moustache"
    glasses: bool
    clothing: tuple[float, float, float]
    shoulders: float        # shoulder half-width in local units
    stripes: float          # stripe spacing of a striped shirt in local units, 0 for plain
    parting: float          # tilt of the hairline, -1 .. 1
    light: tuple[float, float]  # direction of the key light in the local frame, scaled by strength


def _pick(rng: np.random.Generator, table: np.ndarray, jitter: float) -> tuple[float, ...]:
    t = rng.uniform(0, len(table) - 1)
    i = min(int(t), len(table) - 2)
    c = table[i] + (t - i) * (table[i + 1] - table[i]) + rng.normal(0, jitter, 3)
    return tuple(float(v) for v in np.clip(c, 0, 255))


def sample_face(rng: np.random.Generator, cx: float, cy: float, *, width: float) -> Face:
    """A random person whose face oval is centred at (cx, cy) and ``width`` px wide."""
    hair_style = HAIR_STYLES[rng.integers(len(HAIR_STYLES))]
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.85, 1.15)
    clothing = rng.uniform(20, 235, 3) * (rng.uniform(0.4, 1.0) if rng.random() < 0.5 else 1.0)
    beard = "none"
    if rng.random() < 0.3:
        beard = ("stubble", "full", "moustache")[rng.integers(3)]
    angle = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0.0, 0.35)
    return Face(
        cx=float(cx), cy=float(cy), width=float(width),
        height_ratio=float(rng.uniform(1.2, 1.42)), jaw=float(rng.uniform(0.0, 0.35)),
        roll=float(rng.normal(0, 0.12)), yaw=float(rng.uniform(-0.45, 0.45)),
        pitch=float(rng.uniform(-0.12, 0.12)),
        skin=_pick(rng, SKIN_TONES, 6.0),
        hair=tuple(float(v) for v in np.clip(hair, 0, 255)),
        hair_style=hair_style, hair_volume=float(rng.uniform(0.02, 0.2)),
        eye_colour=tuple(float(v) for v in EYE_COLOURS[rng.integers(len(EYE_COLOURS))]),
        eye_open=float(rng.choice([rng.uniform(0.55, 1.0), rng.uniform(0.0, 0.5)], p=[0.85, 0.15])),
        gaze=(float(rng.uniform(-0.4, 0.4)), float(rng.uniform(-0.25, 0.25))),
        mouth=MOUTHS[rng.integers(len(MOUTHS))], brow_raise=float(rng.uniform(-0.04, 0.1)),
        beard=beard, glasses=bool(rng.random() < 0.18),
        clothing=tuple(float(v) for v in np.clip(clothing, 0, 255)),
        shoulders=float(rng.uniform(2.0, 2.9)),
        stripes=float(rng.uniform(0.22, 0.45)) if rng.random() < 0.25 else 0.0,
        parting=float(rng.uniform(-1, 1)),
        light=(float(np.cos(angle) * strength), float(np.sin(angle) * strength)),
    )


class _Painter:
    """Draws one ``Face``: local points -> canvas points, with yaw applied to features."""

    def __init__(self, canvas: np.ndarray, face: Face) -> None:
        self.canvas = canvas
        self.f = face
        self.unit = face.width / 2
        self.b = face.height_ratio
        self.skin = np.array(face.skin)
        self.hair = np.array(face.hair)
        c, s = np.cos(face.roll) * self.unit, np.sin(face.roll) * self.unit
        self.rotation = np.array([[c, s], [-s, c]])
        self.centre = np.array([face.cx, face.cy])

    def to_canvas(self, points: np.ndarray) -> np.ndarray:
        """Local points -> canvas points (the similarity of ``draw.similarity``)."""
        return np.asarray(points, dtype=np.float64) @ self.rotation + self.centre

    def turn(self, points: np.ndarray, depth: float = 1.05) -> np.ndarray:
        """Feature points on a cylinder of radius ``depth`` turned by yaw, shifted by pitch."""
        p = np.asarray(points, dtype=np.float64)
        x = depth * np.sin(np.arcsin(p[:, 0] * (1 / depth)) + self.f.yaw)  # |x| < 0.7 here
        return np.column_stack([x, p[:, 1] + self.f.pitch])

    def fill(self, local: np.ndarray, colour, features: bool = False) -> None:
        pts = self.turn(local) if features else local
        draw.fill(self.canvas, self.to_canvas(pts), colour)

    def line(self, local: np.ndarray, colour, thickness: float, *, features: bool = True,
             closed: bool = False) -> None:
        pts = self.turn(local) if features else local
        draw.polyline(self.canvas, self.to_canvas(pts), colour,
                      thickness=max(1, int(round(thickness * self.unit))), closed=closed)

    # ---- parts, back to front -------------------------------------------------------------
    def outline(self, grow: float = 1.0) -> np.ndarray:
        t = np.linspace(0, 2 * np.pi, 44, endpoint=False)
        s = np.sin(t)
        x = np.cos(t) * (1 - self.f.jaw * np.clip(s, 0, None) ** 2) * grow
        y = self.b * s * grow
        return np.stack([x - 0.05 * self.f.yaw, y], axis=1)

    def body(self) -> None:
        b, w = self.b, self.f.shoulders
        cloth = np.array(self.f.clothing)
        left = draw.ellipse_points((-w + 1.0, b + 1.5), (1.0, 0.85), t0=np.pi, t1=1.5 * np.pi, n=8)
        right = draw.ellipse_points((w - 1.0, b + 1.5), (1.0, 0.85), t0=1.5 * np.pi, t1=2 * np.pi,
                                    n=8)
        torso = np.concatenate([[[-w - 0.1, b + 9]], left, [[-0.5, b + 0.5]], [[0.5, b + 0.5]],
                                right, [[w + 0.1, b + 9]]])
        neck = np.array([[-0.42, 0.3], [0.42, 0.3], [0.48, b + 0.75], [-0.48, b + 0.75]])
        self.fill(neck, draw.shade_colour(self.skin, 0.8))
        self.fill(torso, draw.shade_colour(cloth, 1.0))
        if self.f.stripes:
            self._stripes(torso, draw.shade_colour(cloth, 0.55 if cloth.mean() > 90 else 1.8))
        opening = np.array([[-0.5, b + 0.48], [0.0, b + 0.95], [0.5, b + 0.48]])
        self.fill(opening, draw.shade_colour(self.skin, 0.8))
        self.line(opening, draw.shade_colour(cloth, 0.6), 0.08, features=False)

    def _stripes(self, torso: np.ndarray, colour) -> None:
        """Horizontal stripes clipped to the torso (a striped shirt: straight parallel edges)."""
        h, w = self.canvas.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        draw.fill(mask, self.to_canvas(torso), 1, aa=False)
        striped = self.canvas.copy()
        for y in np.arange(self.b + 0.6, self.b + 9, self.f.stripes):
            line = self.to_canvas(np.array([[-4.0, y], [4.0, y]]))
            draw.capsule(striped, line[0], line[1], thickness=max(1, 0.07 * self.unit),
                         colour=colour)
        cv2.copyTo(striped, mask, self.canvas)

    def back_hair(self) -> None:
        b, v = self.b, self.f.hair_volume
        if self.f.hair_style == "long":
            top = draw.ellipse_points((0, -0.05), (1.22 + v, b + 0.1 + v), t0=np.pi, t1=2 * np.pi,
                                      n=16)
            shape = np.concatenate([[[-1.3 - v, b + 1.3]], top, [[1.3 + v, b + 1.3]]])
            self.fill(shape, draw.shade_colour(self.hair, 0.8))
        elif self.f.hair_style == "bun":
            draw.disc(self.canvas, self.to_canvas(np.array([[0, -b - 0.3]]))[0], 0.42 * self.unit,
                      colour=draw.shade_colour(self.hair, 0.85))

    def ears(self) -> None:
        for side in (-1, 1):
            x = side * 0.98 - 0.2 * self.f.yaw
            width = 0.17 * (1 - 0.8 * max(0.0, side * self.f.yaw))
            ear = draw.ellipse_points((x, 0.05), (width + 0.02, 0.28))
            self.fill(ear, draw.shade_colour(self.skin, 0.92))

    def face_oval(self) -> None:
        self.fill(self.outline(), draw.shade_colour(self.skin, 1.0))
        self._shade()

    def _shade(self) -> None:
        """Multiply the oval by a key light and a darker rim, per pixel in its bounding box."""
        pts = self.to_canvas(self.outline())
        h, w = self.canvas.shape[:2]
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        draw.fill(mask, pts - [x0, y0], 1, aa=False)
        c, s = np.cos(self.f.roll), np.sin(self.f.roll)
        dx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(self.f.cx)
        dy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(self.f.cy)
        lx = (np.float32(c / self.unit) * dx + np.float32(s / self.unit) * dy)
        ly = (np.float32(-s / self.unit / self.b) * dx + np.float32(c / self.unit / self.b) * dy)
        r2 = lx * lx + ly * ly
        shade = 1 + self.f.light[0] * lx + self.f.light[1] * ly - 0.45 * np.clip(r2 - 0.5, 0, 1)
        region = self.canvas[y0:y1, x0:x1].astype(np.float32)
        shaded = np.clip(region * shade[..., None], 0, 255)
        cv2.copyTo(shaded.astype(np.uint8), mask, self.canvas[y0:y1, x0:x1])

    def beard(self) -> None:
        kind = self.f.beard
        if kind == "none":
            return
        colour = draw.mix_colour(self.skin, self.hair, 0.35 if kind == "stubble" else 0.85)
        if kind in ("stubble", "full"):
            lower = self.outline(1.0)[1:22]  # right cheek, chin, left cheek
            lower = lower[lower[:, 1] > 0.25 * self.b]
            top = np.array([[-0.55, 0.45], [0.0, 0.52], [0.55, 0.45]])
            self.fill(np.concatenate([lower, top]), colour)
        mous = np.array([[-0.34, 0.66], [0.0, 0.52], [0.34, 0.66], [0.0, 0.6]])
        self.fill(mous, draw.mix_colour(self.skin, self.hair, 0.85), features=True)

    def eyes(self) -> None:
        f = self.f
        open_ = 0.02 + 0.1 * f.eye_open
        for side in (-1, 1):
            ex, ey = side * 0.4, -0.08
            socket = draw.ellipse_points((ex, ey - 0.03), (0.27, 0.15))
            self.fill(socket, draw.shade_colour(self.skin, 0.9), features=True)
            white = draw.ellipse_points((ex, ey), (0.2, open_))
            if f.eye_open > 0.12:
                self.fill(white, (236, 232, 226), features=True)
                self._iris(ex, ey, open_)
            lid = draw.ellipse_points((ex, ey), (0.21, open_), t0=np.pi, t1=2 * np.pi, n=10)
            self.line(lid, (25, 18, 15), 0.05)
            brow_y = -0.4 - f.brow_raise
            brow = np.array([[side * 0.14, brow_y + 0.04], [side * 0.38, brow_y - 0.04],
                             [side * 0.62, brow_y + 0.03]])
            brow_colour = draw.shade_colour(self.hair if f.hair_style != "bald" else
                                            self.skin * 0.5, 0.8)
            self.line(brow, brow_colour, 0.09)

    def _iris(self, ex: float, ey: float, open_: float) -> None:
        gx, gy = self.f.gaze
        for radius, colour in ((0.09, self.f.eye_colour), (0.045, (10, 8, 8))):
            circle = draw.ellipse_points((ex + gx * 0.1, ey + gy * 0.04), (radius, radius), n=16)
            dx = np.clip((circle[:, 0] - ex) / 0.2, -1, 1)
            half = open_ * np.sqrt(1 - dx * dx)
            circle[:, 1] = np.clip(circle[:, 1], ey - half, ey + half)
            self.fill(circle, colour, features=True)
        glint = self.to_canvas(self.turn(np.array([[ex + gx * 0.1 + 0.03, ey - 0.03]])))[0]
        draw.disc(self.canvas, glint, max(0.6, 0.025 * self.unit), colour=(250, 250, 250))

    def nose(self) -> None:
        side = 1 if self.f.light[0] < 0 else -1
        ridge = np.array([[side * 0.09, -0.05], [side * 0.12, 0.2], [side * 0.15, 0.36]])
        self.line(ridge, draw.shade_colour(self.skin, 0.82), 0.05)
        tip = draw.ellipse_points((0, 0.36), (0.17, 0.08), t0=0.1, t1=np.pi - 0.1, n=9)
        self.line(tip, draw.shade_colour(self.skin, 0.7), 0.05)
        for s in (-1, 1):
            self.fill(draw.ellipse_points((s * 0.08, 0.41), (0.05, 0.025), n=10),
                      draw.shade_colour(self.skin, 0.45), features=True)

    def mouth(self) -> None:
        lip = draw.mix_colour(self.skin * 0.8, np.array([170, 60, 70]), 0.35)
        dark = (60, 20, 25)
        y, kind = 0.72, self.f.mouth
        if kind == "open":
            self.fill(draw.ellipse_points((0, y), (0.24, 0.13)), dark, features=True)
            self.fill(np.array([[-0.18, y - 0.1], [0.18, y - 0.1], [0.16, y - 0.05],
                                [-0.16, y - 0.05]]), (235, 230, 220), features=True)
            self.line(draw.ellipse_points((0, y), (0.25, 0.14)), lip, 0.06, closed=True)
        elif kind == "surprised":
            self.fill(draw.ellipse_points((0, y), (0.1, 0.1)), dark, features=True)
            self.line(draw.ellipse_points((0, y), (0.11, 0.11)), lip, 0.05, closed=True)
        else:
            x = np.linspace(-0.3, 0.3, 9)
            curve = 0.1 if kind == "smile" else 0.02
            upper = np.stack([x, y - curve * (x / 0.3) ** 2 + curve * 0.4], axis=1)
            if kind == "smile":
                lower = np.stack([x[::-1], y + 0.09 - 0.1 * (x[::-1] / 0.3) ** 2], axis=1)
                self.fill(np.concatenate([upper, lower]), (235, 230, 220), features=True)
                self.line(np.concatenate([upper, lower, upper[:1]]), lip, 0.05)
            else:
                lower = np.stack([x[::-1] * 0.8, y + 0.07 - 0.05 * (x[::-1] / 0.3) ** 2], axis=1)
                self.fill(np.concatenate([upper, lower]), lip, features=True)
                self.line(upper, dark, 0.035)

    def front_hair(self) -> None:
        f, b, v = self.f, self.b, self.f.hair_volume
        style = f.hair_style
        if style == "bald":
            return
        colour = np.array(self.hair)
        if style == "buzz":
            colour = np.array(draw.mix_colour(self.skin, self.hair, 0.6))
        side = {"long": 0.55 * b, "short": -0.2, "bun": -0.25, "curly": 0.0, "buzz": -0.25}[style]
        hair_line = -0.55 * b
        ay = b + 0.06 + v
        lift = np.arcsin(np.clip(side / ay, -1, 1))
        outer = draw.ellipse_points((0, 0), (1.06 + v, ay), t0=np.pi - lift, t1=2 * np.pi + lift,
                                    n=24)
        ys = np.linspace(side, hair_line * 0.55, 5)
        inset = 0.95 if style != "long" else 0.88
        right = np.stack([inset * np.sqrt(np.clip(1 - (ys / b) ** 2, 0, 1)), ys], axis=1)
        xs = np.linspace(right[-1, 0], -right[-1, 0], 9)
        line = np.stack([xs, hair_line + 0.22 * (xs / 0.9) ** 2 + 0.1 * self.f.parting * xs],
                        axis=1)
        left = right[::-1] * [-1, 1]
        cap = np.concatenate([outer, right, line, left])
        self.fill(cap, draw.shade_colour(colour, 1.0))
        strand = draw.shade_colour(colour, 1.25 if colour.mean() < 90 else 0.75)
        for k in (-0.5, 0.0, 0.45):
            arc = draw.ellipse_points((k * 0.6, 0.0), (0.7, b * 0.95), t0=1.2 * np.pi,
                                      t1=1.6 * np.pi, n=6)
            self.line(arc, strand, 0.035, features=False)
        if style == "curly":
            t = np.linspace(np.pi * 0.95, 2.05 * np.pi, 11)
            for ti in t:
                c = np.array([[np.cos(ti) * (1.06 + v), np.sin(ti) * (b + 0.06 + v)]])
                draw.disc(self.canvas, self.to_canvas(c)[0], 0.2 * self.unit,
                          colour=draw.shade_colour(colour, 0.9))

    def glasses(self) -> None:
        if not self.f.glasses:
            return
        frame = (30, 28, 30)
        for side in (-1, 1):
            self.line(draw.ellipse_points((side * 0.4, -0.08), (0.27, 0.19), n=20), frame, 0.05,
                      closed=True)
        self.line(np.array([[-0.14, -0.12], [0.14, -0.12]]), frame, 0.05)


def draw_person(canvas: np.ndarray, face: Face) -> None:
    """Paint ``face`` with its neck, shoulders and hair onto ``canvas`` (H, W, 3 uint8) in place."""
    p = _Painter(canvas, face)
    p.back_hair()
    p.body()
    p.ears()
    p.face_oval()
    p.beard()
    p.eyes()
    p.nose()
    p.mouth()
    p.front_hair()
    p.glasses()


def face_box(face: Face) -> tuple[float, float, float, float]:
    """The canvas bounding box (x, y, w, h) of the face oval, forehead to chin."""
    p = _Painter(np.zeros((1, 1, 3), np.uint8), face)
    pts = p.to_canvas(p.outline())
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def feature_points(face: Face) -> dict[str, np.ndarray]:
    """Canvas positions of the eye centres and the mouth centre (what a cut attack cuts)."""
    p = _Painter(np.zeros((1, 1, 3), np.uint8), face)
    local = np.array([[-0.4, -0.08], [0.4, -0.08], [0.0, 0.72]])
    pts = p.to_canvas(p.turn(local))
    return {"eye_left": pts[0], "eye_right": pts[1], "mouth": pts[2]}
