"""Discovery per attack type, merged into one concept bank.

The SPED paper fits its concepts on "images with commonalities, such as attack images with the
same spoof strategy": a print's paper edge and a replay's bezel are then each found among
images that all show them, instead of competing in one factorisation. ``SPED.fit(images,
attacks=...)`` runs stages 1-3 (crops, pooled activations, Semi-NMF) on each attack type's
images alone, K concepts each (``SPED.discover``), and merges the results here: the W columns
concatenated in attack order (sorted names), each concept recording its attack type
(``ConceptBank.sources``) and keeping its own most activating crops. Stage 4 (U with the
merged W fixed, the typical activations and the Sobol importances) then runs once on all the
images together (``SPED.fit_discovered``), so the importances rank every concept of the bank
against every other, as ``SPED.explain`` uses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from xfas.errors import XfasError
from xfas.sped.semi_nmf import SemiNMF


@dataclass
class Discovery:
    """Stages 1-3 of SPED on one group of images, or several merged: concept directions that
    are not ranked yet.

    Attributes:
        nmf: the fitted Semi-NMF; its ``components_`` (C, K) are the concept directions.
        layer: the layer whose activations were factorised.
        top_crops: (K, T, 3, H, W) uint8 RGB, each concept's most activating crops, or None.
        n_images, n_crops: how much data the concepts were found on.
        sources: one group name (attack type) per concept; empty for one pooled discovery.
        summary: the Semi-NMF settings and outcome (JSON-able), for the bank's ``nmf``.
        timings: seconds per stage.
    """

    nmf: SemiNMF
    layer: str
    top_crops: torch.Tensor | None
    n_images: int
    n_crops: int
    sources: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_concepts(self) -> int:
        return int(self.nmf.n_components)


def attack_groups(attacks: Sequence[str], n_images: int) -> dict[str, np.ndarray]:
    """The image indices of each attack type, attacks in sorted order: {attack: (n,) int64}.
    XfasError when ``attacks`` does not hold one non-empty name per image."""
    names = [str(a) for a in attacks]
    if len(names) != n_images:
        raise XfasError(f"attacks: {len(names)} attack names for {n_images} images; give one "
                        "per image")
    if any(not name.strip() for name in names):
        raise XfasError("attacks: an empty attack name; give each image its attack type")
    labels = np.array(names, dtype=object)
    return {name: np.flatnonzero(labels == name) for name in sorted(set(names))}


def merge_discoveries(parts: Sequence[Discovery]) -> Discovery:
    """One discovery holding the concepts of every part, in order: W columns concatenated,
    sources and top crops (the fewest crops any part kept) concatenated, data counted once per
    part. The Semi-NMF settings are the parts' (they share one ``SPED``); the per-part
    iterations and errors are kept under ``summary["parts"]``."""
    if not parts:
        raise XfasError("discoveries: nothing to merge")
    layers = sorted({part.layer for part in parts})
    if len(layers) > 1:
        raise XfasError(f"discoveries: made at different layers ({', '.join(layers)})")
    if any(not part.sources for part in parts):
        raise XfasError("discoveries: a part without a source name; merge per-group "
                        "discoveries (SPED.discover(images, source=...))")
    names = [part.sources[0] for part in parts]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise XfasError(f"discoveries: several parts from {', '.join(map(repr, repeated))}; "
                        "give each group of images one discovery")
    sources = [s for part in parts for s in part.sources]
    first = parts[0].nmf
    components = torch.cat([part.nmf.components_.float() for part in parts], dim=1)
    nmf = SemiNMF.from_state({"components": components.contiguous(),
                              "n_components": int(components.shape[1]), "init": first.init,
                              "n_init": first.n_init, "max_iter": first.max_iter,
                              "tol": first.tol, "seed": first.seed, "eps": first.eps},
                             progress=False)
    nmf.inner_iter = first.inner_iter
    crops = None
    if all(part.top_crops is not None for part in parts):
        count = min(int(part.top_crops.shape[1]) for part in parts)
        crops = torch.cat([part.top_crops[:, :count] for part in parts])
    summary = {key: value for key, value in parts[0].summary.items()
               if key not in ("n_iter", "reconstruction_error")}
    summary["parts"] = {part.sources[0]: {key: part.summary.get(key) for key in
                                          ("n_iter", "reconstruction_error")}
                        | {"n_images": part.n_images, "n_crops": part.n_crops}
                        for part in parts}
    timings: dict[str, float] = {}
    for part in parts:
        for stage, seconds in part.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    return Discovery(nmf=nmf, layer=layers[0], top_crops=crops,
                     n_images=sum(part.n_images for part in parts),
                     n_crops=sum(part.n_crops for part in parts), sources=sources,
                     summary=summary, timings=timings)
