"""Stage 5 of SPED: where each concept is in an image (CRAFT, Fel et al. 2023, Sec. 3.3).

With the concept directions W fixed, an image's spatial activations A_i (hw x C) are factorised
A_i ~ U_i W^T with U_i (hw x K) >= 0 (the Semi-NMF U step, Ding et al. 2010 Eq. 8, iterated
with W frozen: ``SemiNMF.transform``). Column k of U_i, reshaped to h x w and upsampled to the
input size, is concept k's map. Following Collins et al. 2018 ("Deep feature factorization"),
values under ``map_threshold`` (10 %) of the map's maximum are set to zero.

An image's activation of concept k is the mean of U_i[:, k] over positions divided by the
concept's typical value (its mean over the fit images' full views); the concept is *activated*
when that ratio is at least ``activation_threshold`` (0.5 by default: half its usual
strength). Maps of concepts that are not activated are all zero: the concept is absent.
The maps before that gating are kept too (``ungated_maps``): the benchmark's matched protocol
scores the assigned concept's map on every image, whether or not the gate lets it through.

An image's *effect* of concept k is signed: the spoof logit of h(U_i W^T) minus that of
h(U_i W^T) with column k of U_i set to zero. Positive: the concept pushes the image towards
spoof; zero or negative: it does not, or pushes towards live. Only activated concepts with a
positive effect are spoofing evidence (``ConceptExplanation.evidence``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from xfas.sped.semi_nmf import SemiNMF


@dataclass
class ConceptExplanation:
    """SPED's explanation of N images with K concepts (maps on the model's input, H x W).

    Attributes:
        maps: (N, K, H, W) float32 in [0, 1], one map per concept (zero where absent).
        ungated_maps: (N, K, H, W) the same maps without activation gating: zero only where
            the concept's coefficients are.
        activation: (N, K) mean concept coefficient relative to the concept's typical value.
        activated: (N, K) bool, ``activation >= activation_threshold``.
        importance: (K,) concept importances (Sobol total indices, summing to 1).
        names: K concept names.
        spoof_probability: (N,) the model's spoof probability of each image.
        combined: (N, H, W) in [0, 1], importance-weighted sum of the activated concepts' maps.
        effects: (N, K) float32, each concept's signed effect on the image's spoof log-odds
            (module docstring): > 0 pushes towards spoof, <= 0 does not.
    """

    maps: torch.Tensor
    ungated_maps: torch.Tensor
    activation: torch.Tensor
    activated: torch.Tensor
    importance: torch.Tensor
    names: list[str]
    spoof_probability: torch.Tensor
    combined: torch.Tensor
    effects: torch.Tensor

    def __len__(self) -> int:
        return int(self.maps.shape[0])

    def evidence(self, index: int) -> list[int]:
        """The spoofing evidence of image ``index``: the activated concepts whose effect is
        positive, most important first (ties: lower index first)."""
        return self._ranked(index, towards_spoof=True)

    def against(self, index: int) -> list[int]:
        """The activated concepts of image ``index`` that do not push it towards spoof (effect
        <= 0, or not finite), most important first: never spoofing evidence."""
        return self._ranked(index, towards_spoof=False)

    def _ranked(self, index: int, *, towards_spoof: bool) -> list[int]:
        importance = self.importance.detach().cpu().double()
        effects = self.effects[index].detach().cpu().double()
        chosen = [k for k in range(importance.shape[0]) if bool(self.activated[index, k])
                  and (float(effects[k]) > 0) == towards_spoof]
        return sorted(chosen, key=lambda k: (-float(importance[k]), k))


def spatial_coefficients(nmf: SemiNMF, activations: torch.Tensor, n_iter: int = 100
                         ) -> torch.Tensor:
    """U with W fixed for spatial activations (N, C, h, w) -> (N, K, h, w), all >= 0.

    Exactly ``n_iter`` U steps (no early stop, whose test would look at the whole batch), so
    an image's coefficients do not depend on the other images of its batch."""
    n, c, h, w = activations.shape
    flat = activations.reshape(n, c, h * w).mT  # (N, hw, C): one row per position
    u = nmf.transform(flat, max_iter=n_iter, tol=-math.inf)  # (N, hw, K)
    return u.mT.reshape(n, -1, h, w).to(activations.dtype)


def relative_activation(coefficients: torch.Tensor, typical: torch.Tensor) -> torch.Tensor:
    """Mean coefficient over positions divided by the concept's typical value: (N, K, h, w)
    -> (N, K); 0 for a concept whose typical value is not positive (never seen in the fit)."""
    mean = coefficients.flatten(2).mean(dim=2)
    typical = typical.to(mean)
    seen = typical > 0
    return torch.where(seen, mean / torch.where(seen, typical, torch.ones_like(typical)),
                       torch.zeros_like(mean))


def concept_maps(coefficients: torch.Tensor, size: tuple[int, int],
                 map_threshold: float = 0.1) -> torch.Tensor:
    """Coefficient maps (N, K, h, w) -> (N, K, H, W) in [0, 1]: bilinear upsampling, division
    by each map's maximum, zero under ``map_threshold`` of it; maps whose maximum is 0 are all
    zero. No activation gating here (``SPED.explain`` applies it)."""
    maps = F.interpolate(coefficients.float(), size=tuple(size), mode="bilinear",
                         align_corners=False).clamp_min(0.0)
    peak = maps.amax(dim=(2, 3), keepdim=True)
    alive = peak > 0
    maps = maps / torch.where(alive, peak, torch.ones_like(peak))
    maps = torch.where(maps >= map_threshold, maps, torch.zeros_like(maps))
    return maps * alive


def combine_maps(maps: torch.Tensor, importance: torch.Tensor, activated: torch.Tensor
                 ) -> torch.Tensor:
    """The importance-weighted sum of the activated concepts' maps, divided by its maximum:
    (N, K, H, W) -> (N, H, W) in [0, 1] (all zero when no concept is activated)."""
    weights = importance.to(maps)[None, :] * activated.to(maps)
    total = torch.einsum("nkhw,nk->nhw", maps, weights)
    peak = total.flatten(1).amax(dim=1)[:, None, None]
    return torch.where(peak > 0, total / torch.where(peak > 0, peak, torch.ones_like(peak)),
                       torch.zeros_like(total))
