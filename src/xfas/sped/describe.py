"""A plain-language sentence for one explained image:

    "spoof (0.97): photo edge (importance 0.41, top and left), clutching hand (0.30, bottom right)"

The verdict is "spoof" when the spoof probability is at least ``threshold``, else "live"; the
number after it is the spoof probability. A spoof verdict lists only the spoofing evidence:
activated concepts whose effect on the image's spoof log-odds is positive (a concept that
pushes the image towards live is never listed, however important), most important first, each
with its importance and where its map lies (``location_words``).

Location words. The map is read as a mass distribution over the image (x, y in [0, 1]):
- compact (standard deviation of x and of y both <= ``SPREAD``): the thirds holding its centre
  of mass: "top", "bottom" (y < 1/3, y > 2/3) and "left", "right" (x < 1/3, x > 2/3),
  combined as "top left", "bottom right", ...; "centre" when in the middle third both ways;
- spread out: the border thirds (top, bottom, left, right) holding at least ``BAND_SHARE`` of
  the mass, joined with "and" ("top and left"); "all around" when all four do; when none
  does, the compact rule applies.
"""

from __future__ import annotations

import torch

from xfas.errors import XfasError
from xfas.sped.attribution import ConceptExplanation

SPREAD = 0.2  # a map with std of x and y <= this (image sides = 1) is one compact place
BAND_SHARE = 0.4  # a border third holding this much of a spread map's mass is named
_THIRD = 1.0 / 3.0


def _centre_words(cx: float, cy: float) -> str:
    vertical = "top" if cy < _THIRD else "bottom" if cy > 2 * _THIRD else ""
    horizontal = "left" if cx < _THIRD else "right" if cx > 2 * _THIRD else ""
    return " ".join(word for word in (vertical, horizontal) if word) or "centre"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def location_words(saliency: torch.Tensor) -> str:
    """Where a map (H, W) >= 0 lies, in words (module docstring); "" for an all-zero map."""
    if saliency.ndim != 2:
        raise XfasError(f"map: expected shape (H, W), got {tuple(saliency.shape)}")
    mass = saliency.detach().double().clamp_min(0.0)
    total = float(mass.sum())
    if total <= 0:
        return ""
    mass = mass / total
    height, width = mass.shape
    y = (torch.arange(height, dtype=torch.float64, device=mass.device) + 0.5) / height
    x = (torch.arange(width, dtype=torch.float64, device=mass.device) + 0.5) / width
    rows, cols = mass.sum(dim=1), mass.sum(dim=0)
    cy, cx = float((rows * y).sum()), float((cols * x).sum())
    sy = float((rows * (y - cy) ** 2).sum()) ** 0.5
    sx = float((cols * (x - cx) ** 2).sum()) ** 0.5
    if max(sx, sy) <= SPREAD:
        return _centre_words(cx, cy)
    shares = {"top": float(rows[y < _THIRD].sum()), "bottom": float(rows[y > 2 * _THIRD].sum()),
              "left": float(cols[x < _THIRD].sum()), "right": float(cols[x > 2 * _THIRD].sum())}
    sides = [side for side, share in shares.items() if share >= BAND_SHARE]
    if len(sides) == 4:
        return "all around"
    return _join(sides) if sides else _centre_words(cx, cy)


def describe_explanation(explanation: ConceptExplanation, index: int = 0,
                         threshold: float = 0.5) -> str:
    """The sentence for image ``index`` of ``explanation`` (module docstring).

    Example:
        >>> describe_explanation(sped.explain(image), 0)
        'spoof (0.97): photo edge (importance 0.41, top and left), clutching hand (0.30, ...)'
    """
    count = len(explanation)
    if not -count <= index < count:
        raise XfasError(f"index {index}: the explanation holds {count} images")
    probability = float(explanation.spoof_probability[index])
    if probability < threshold:
        return f"live ({probability:.2f})"
    importance = explanation.importance.detach().cpu().double()
    evidence = explanation.evidence(index)
    if not evidence:
        if explanation.against(index):
            return f"spoof ({probability:.2f}): no activated concept pushes towards spoof"
        return f"spoof ({probability:.2f}): no discovered concept is activated"
    parts = []
    for rank, k in enumerate(evidence):
        where = location_words(explanation.maps[index, k])
        value = f"importance {float(importance[k]):.2f}" if rank == 0 else \
            f"{float(importance[k]):.2f}"
        parts.append(f"{explanation.names[k]} ({value}{', ' + where if where else ''})")
    return f"spoof ({probability:.2f}): " + ", ".join(parts)
