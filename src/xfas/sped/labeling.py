"""Proposing a name for each concept from annotated evidence masks (``xfas concepts label``).

On images with evidence masks (kept apart from any images later scored), each concept's maps
are compared with each evidence type at the resolution the concepts live at, the layer's
h x w grid: a cell belongs to an evidence type when any of its pixels does (thin evidence such
as a 2-pixel paper edge still owns the cells it crosses).

For concept k and evidence e, over the images where k is activated:
- share: the mean fraction of k's map mass that falls on e's cells;
- chance: the mean fraction of cells that are e's (the share of a uniform map);
- lift = share / chance: how much more k's maps sit on e than a map spread evenly would.

The proposal for k is the evidence type of highest lift among those with share >= ``min_share``
and lift >= ``min_lift``; none when no type qualifies (e.g. a face or background concept).
Several concepts proposed for one type get distinct names in order of their lift on it
("photo edge", "photo edge 2", ...), so each name picks out one concept (``assign_by_name``
takes the exact name first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from xfas.errors import XfasError
from xfas.sped.attribution import ConceptExplanation

MIN_SHARE = 0.25
MIN_LIFT = 1.5


@dataclass
class LabelProposal:
    """The overlap table and the proposed name of each concept.

    Attributes:
        evidence: the E evidence types (columns).
        share, chance, lift: (K, E) as in the module docstring (NaN where k is never activated).
        activated_images: (K,) images where each concept is activated.
        proposed: K evidence types, or None where no type qualifies.
    """

    evidence: list[str]
    share: np.ndarray
    chance: np.ndarray
    lift: np.ndarray
    activated_images: np.ndarray
    proposed: list[str | None]

    def names(self, current: list[str]) -> dict[int, str]:
        """{index: label} for the concepts with a proposal ("photo_edge" -> "photo edge");
        of several concepts proposed for one type, the one of highest lift on it takes the
        plain name and the others "photo edge 2", "photo edge 3", ... in order of lift (ties:
        the lower index)."""
        labels: dict[int, str] = {}
        for evidence in dict.fromkeys(p for p in self.proposed if p is not None):
            column = self.evidence.index(evidence)
            holders = sorted((k for k, p in enumerate(self.proposed)
                              if p == evidence and k < len(current)),
                             key=lambda k: (-float(self.lift[k, column]), k))
            base = evidence.replace("_", " ")
            labels.update({k: base if rank == 1 else f"{base} {rank}"
                           for rank, k in enumerate(holders, start=1)})
        return dict(sorted(labels.items()))


def overlap_table(explanation: ConceptExplanation, masks: Mapping[str, torch.Tensor],
                  grid: tuple[int, int], *, min_share: float = MIN_SHARE,
                  min_lift: float = MIN_LIFT) -> LabelProposal:
    """The table of the module docstring for ``explanation`` (N images) and ``masks``
    ({evidence: bool (N, H, W)} at the maps' size); ``grid`` is the layer's (h, w)."""
    maps = explanation.maps.detach().float()
    n, k, height, width = maps.shape
    if not masks:
        raise XfasError("masks: no evidence types given")
    for name, mask in masks.items():
        if tuple(mask.shape) != (n, height, width):
            raise XfasError(f"masks[{name!r}]: shape {tuple(mask.shape)}, expected "
                            f"{(n, height, width)} like the maps")
    cells_maps = F.adaptive_avg_pool2d(maps, grid).flatten(2)  # (N, K, cells)
    mass = cells_maps.sum(dim=2)  # (N, K)
    present = (mass > 0) & explanation.activated.to(maps.device)
    names = list(masks)
    cells = torch.stack([F.adaptive_max_pool2d(masks[e].to(maps).float()[:, None], grid)
                         .flatten(1) for e in names], dim=1)  # (N, E, cells)
    share = torch.einsum("nkc,nec->nke", cells_maps, cells) / mass.clamp_min(1e-12)[..., None]
    chance = cells.mean(dim=2)  # (N, E)
    weight = present.double()  # (N, K)
    count = weight.sum(dim=0)  # (K,)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_share = (torch.einsum("nk,nke->ke", weight, share.double()) / count[:, None]
                      ).cpu().numpy()
        mean_chance = (torch.einsum("nk,ne->ke", weight, chance.double()) / count[:, None]
                       ).cpu().numpy()
        lift = mean_share / mean_chance
    proposed: list[str | None] = []
    for concept in range(k):
        ok = (mean_share[concept] >= min_share) & (lift[concept] >= min_lift)
        if not ok.any():
            proposed.append(None)
            continue
        candidates = np.where(ok, lift[concept], -np.inf)
        proposed.append(names[int(np.argmax(candidates))])
    return LabelProposal(names, mean_share, mean_chance, lift, count.cpu().numpy().astype(int),
                         proposed)


def propose_names(sped, images: torch.Tensor, masks: Mapping[str, torch.Tensor],
                  *, min_share: float = MIN_SHARE, min_lift: float = MIN_LIFT) -> LabelProposal:
    """Explain ``images`` (N, 3, H, W) with a fitted ``SPED`` and compare the concept maps with
    ``masks`` ({evidence: bool (N, H, W)}, on the same model inputs)."""
    explanation = sped.explain(images)
    return overlap_table(explanation, {e: m.to(explanation.maps.device)
                                       for e, m in masks.items()}, sped.bank_.grid,
                         min_share=min_share,
                         min_lift=min_lift)
