"""The colours every picture draws evidence in: one per evidence type (sample grids, heat-map
panels, the web page's legend) and the single outline colour of the benchmark's overlays."""

from __future__ import annotations

RGB = tuple[int, int, int]

EVIDENCE_COLOURS: dict[str, RGB] = {"clutching_hand": (255, 200, 0), "cut_hole": (230, 40, 200),
                                    "ipad_border": (0, 200, 230), "photo_edge": (235, 30, 30)}
# the attack surfaces (SynthSpoof's masks of the printed or displayed area): pale, drawn under
# the paper's four types, which lie on or around them
SURFACE_COLOURS: dict[str, RGB] = {"print_surface": (205, 190, 160),
                                   "screen_surface": (160, 175, 215)}
OTHER_EVIDENCE: RGB = (40, 160, 60)  # evidence types beyond the paper's four
OUTLINE: RGB = (0, 255, 0)  # evidence contours on the benchmark's and the study's overlays


def evidence_colour(evidence: str) -> RGB:
    """The colour of ``evidence`` (``OTHER_EVIDENCE`` for a type beyond the paper's four and
    the attack surfaces)."""
    return EVIDENCE_COLOURS.get(evidence, SURFACE_COLOURS.get(evidence, OTHER_EVIDENCE))
