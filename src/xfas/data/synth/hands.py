"""Hands: a palm with knuckles, a thumb and fingers, and a sleeved forearm.

A hand lives in its own frame: origin at ``anchor`` (where the fingers cross the edge they
hold), ``direction`` the way the fingers point (into the held medium, or up along a cheek),
unit = the palm width. Holding a medium splits it in depth: the arm and the palm are behind the
medium (``draw_arm``, ``draw_palm``), the thumb and fingers curl over its front
(``draw_fingers``). Every part is drawn with hard edges on a colour canvas and, with the same
call, on the masks that say which pixels it covers (``cover``) and which are skin (``skin``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xfas.data.synth import draw


@dataclass(frozen=True)
class Hand:
    """One hand; positions in canvas pixels, ``palm`` is the palm width in pixels."""

    anchor: tuple[float, float]
    direction: float        # radians, the way the fingers point
    palm: float
    fingers: int            # fingers over the front, thumb included (1-4)
    reach: float            # how far past the anchor the fingertips go, in palm widths
    spread: float           # how far apart the fingers are, in palm widths
    tilt: float             # angle of the fingers against ``direction``, radians
    arm_angle: float        # angle of the forearm against the back direction, radians
    skin: tuple[float, float, float]
    sleeve: tuple[float, float, float]


def sample_hand(rng: np.random.Generator, anchor: tuple[float, float], direction: float,
                *, palm: float, skin: tuple[float, float, float]) -> Hand:
    """A random hand gripping at ``anchor`` with fingers pointing along ``direction``."""
    sleeve = rng.uniform(20, 230, 3) * (rng.uniform(0.35, 1.0) if rng.random() < 0.5 else 1.0)
    return Hand(anchor=(float(anchor[0]), float(anchor[1])), direction=float(direction),
                palm=float(palm), fingers=int(rng.choice([1, 1, 2, 3, 4])),
                reach=float(rng.uniform(0.12, 0.45)), spread=float(rng.uniform(0.18, 0.3)),
                tilt=float(rng.normal(0, 0.25)), arm_angle=float(rng.normal(0, 0.4)),
                skin=tuple(float(v) for v in np.clip(np.array(skin) + rng.normal(0, 6, 3), 0, 255)),
                sleeve=tuple(float(v) for v in np.clip(sleeve, 0, 255)))


class _HandPainter:
    def __init__(self, hand: Hand, canvas: np.ndarray, cover: np.ndarray,
                 *, skin: np.ndarray | None) -> None:
        self.h = hand
        self.targets = [(canvas, None), (cover, 1)] + ([(skin, 1)] if skin is not None else [])
        self.cover, self.canvas = cover, canvas
        self.skin = np.array(hand.skin)

    def to_canvas(self, local: np.ndarray) -> np.ndarray:
        """Local frame: x along the fingers, y across; unit = palm width."""
        return draw.similarity(np.atleast_2d(local), self.h.anchor, self.h.palm,
                               angle=self.h.direction)

    def _shape(self, kind: str, points: np.ndarray, colour, *, size: float = 0.0,
               skin: bool = True) -> None:
        pts = self.to_canvas(points)
        targets = self.targets if skin else self.targets[:2]
        for image, value in targets:
            c = colour if value is None else value
            if kind == "poly":
                draw.fill(image, pts, c, aa=False)
            elif kind == "line":
                draw.capsule(image, pts[0], pts[1], thickness=size * self.h.palm, colour=c,
                             aa=False)
            else:
                draw.disc(image, pts[0], size * self.h.palm, colour=c, aa=False)

    def arm(self) -> None:
        a = np.pi + self.h.arm_angle
        start = np.array([-0.55, 0.0])
        end = start + 6.0 * np.array([np.cos(a), np.sin(a)])
        sleeve_start = start + 0.75 * np.array([np.cos(a), np.sin(a)])
        self._shape("line", np.array([sleeve_start, end]), self.h.sleeve, size=0.95, skin=False)

    def palm(self) -> None:
        a = np.pi + self.h.arm_angle
        wrist = np.array([-0.55, 0.0]) + 0.7 * np.array([np.cos(a), np.sin(a)])
        self._shape("line", np.array([[-0.55, 0.0], wrist]), draw.shade_colour(self.skin, 0.9),
                    size=0.62)
        palm = draw.ellipse_points((-0.5, 0.0), (0.45, 0.5), n=20)
        self._shape("poly", palm, draw.shade_colour(self.skin, 0.95))
        for k in range(4):  # knuckles of the fingers that stay behind
            y = (k - 1.5) * 0.24
            self._shape("disc", np.array([[-0.12, y]]), draw.shade_colour(self.skin, 0.88),
                        size=0.13)

    def fingers(self) -> None:
        h = self.h
        for k in range(h.fingers):
            thumb = k == 0
            y = (k - (h.fingers - 1) / 2) * h.spread
            angle = h.tilt + (0.35 if thumb else 0.0) * np.sign(h.tilt or 1.0)
            tip_len = 0.3 + h.reach + (0.0 if thumb else 0.08 * (k % 2))
            base = np.array([-0.3, y])
            tip = np.array([tip_len * np.cos(angle), y + tip_len * np.sin(angle)])
            width = 0.24 if thumb else 0.2
            self._shape("line", np.array([base, tip]), draw.shade_colour(self.skin, 0.72),
                        size=width + 0.06)
            self._shape("line", np.array([base, tip]), draw.shade_colour(self.skin, 1.02),
                        size=width)
            nail = tip - 0.08 * np.array([np.cos(angle), np.sin(angle)])
            centre = self.to_canvas(nail)[0]
            draw.disc(self.canvas, centre, max(0.6, 0.055 * h.palm),
                      colour=draw.mix_colour(self.skin, np.array([250, 225, 220]), 0.45))
            crease = base + 0.55 * (tip - base)
            draw.disc(self.canvas, self.to_canvas(crease)[0], max(0.5, 0.03 * h.palm),
                      colour=draw.shade_colour(self.skin, 0.8))


def draw_arm(hand: Hand, canvas: np.ndarray, cover: np.ndarray) -> None:
    """The sleeved forearm (not skin) on ``canvas`` and ``cover`` in place."""
    _HandPainter(hand, canvas, cover, skin=None).arm()


def draw_palm(hand: Hand, canvas: np.ndarray, cover: np.ndarray, *, skin: np.ndarray) -> None:
    """Wrist, palm and the knuckles of the fingers kept behind, in place."""
    _HandPainter(hand, canvas, cover, skin=skin).palm()


def draw_fingers(hand: Hand, canvas: np.ndarray, cover: np.ndarray, *, skin: np.ndarray) -> None:
    """Thumb and fingers reaching past the anchor (over the front of what the hand holds)."""
    _HandPainter(hand, canvas, cover, skin=skin).fingers()
