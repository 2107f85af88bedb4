"""The evidence types and exactly which image pixels each one's mask holds.

Every mask is a boolean array in final image coordinates; a pixel is evidence when the evidence
is *visible* there: parts outside the frame do not exist, parts hidden behind something drawn
in front do not count, and the types never overlap (a pixel belongs to the frontmost).

- ``photo_edge``: the band of pixels within ``edge_radius(size)`` px (Euclidean; 2 px at
  128, so the band is about 4 px wide) of the outline of the printed paper, on both sides of it,
  minus pixels where a hand or an arm is visible (visible hand skin is ``clutching_hand``).
  The outline is the paper's boundary inside the
  image (the frame border is not an edge) and does not include the rims of cut holes.
- ``cut_hole``: the pixels inside the paper's outline where the paper was cut away, so the
  scene behind (usually the attacker's real eyes or mouth) shows through, minus what a hand
  in front hides.
- ``ipad_border``: the visible pixels of the screen device outside its display: the bezel
  and the rim of the body.
- ``clutching_hand``: the visible skin pixels (palm, wrist, thumb, fingers) of the hands that
  hold the paper or device. Sleeves and forearms are not evidence.

Beyond the paper's four types, the attack surface:

- ``print_surface``: the visible printed paper (margin included) that no other type claims;
- ``screen_surface``: the visible display of the device.

Live images have no evidence; their hands and rectangles are distractors.
"""

from __future__ import annotations

import cv2
import numpy as np

from xfas.data.benchmark_layout import ALL_EVIDENCE_TYPES

# When two claims meet at a pixel, the frontmost object wins: hands, then holes, bezel, edge,
# and the surfaces take only what is left.
PRIORITY = ("clutching_hand", "cut_hole", "ipad_border", "photo_edge", "print_surface",
            "screen_surface")


def edge_radius(size: int) -> int:
    """Half the width of the ``photo_edge`` band, in pixels: max(1, round(size / 64))."""
    return max(1, int(round(size / 64)))


def edge_band(region: np.ndarray, size: int) -> np.ndarray:
    """Pixels within ``edge_radius(size)`` of the boundary of ``region`` (bool H x W), on both
    sides, ignoring the frame border: dilation minus erosion by a disc, with the outside of the
    image counted as region for the erosion and as background for the dilation."""
    r = edge_radius(size)
    offsets = np.arange(-r, r + 1)
    disc = (np.hypot(offsets[:, None], offsets[None, :]) <= r).astype(np.uint8)
    m = region.astype(np.uint8)
    grown = cv2.dilate(m, disc, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    shrunk = cv2.erode(m, disc, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return grown.astype(bool) & ~shrunk.astype(bool)


def exclusive(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Masks made disjoint by ``PRIORITY``; empty ones dropped; keys in
    ``ALL_EVIDENCE_TYPES`` order."""
    taken = None
    out: dict[str, np.ndarray] = {}
    for name in PRIORITY:
        if name not in masks:
            continue
        m = masks[name] if taken is None else masks[name] & ~taken
        taken = m.copy() if taken is None else taken | m
        if m.any():
            out[name] = m
    return {name: out[name] for name in ALL_EVIDENCE_TYPES if name in out}
