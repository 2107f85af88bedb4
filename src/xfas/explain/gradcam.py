"""Gradient-weighted CAMs that differ only in their weights. A = activations (N, K, h, w),
G = dS/dA with S the target score (the spoof log-odds for target="spoof")."""

from __future__ import annotations

import torch

from xfas.explain.base import safe_divide
from xfas.explain.cam import GradientCAM


class GradCAM(GradientCAM):
    """Grad-CAM (Selvaraju et al., 2017): eq. 1, w_k = (1/Z) sum_ij G_kij; eq. 2, the map
    ReLU(sum_k w_k A_k)."""

    name = "gradcam"

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients.mean(dim=(2, 3), keepdim=True)


class GradCAMPlusPlus(GradientCAM):
    """Grad-CAM++ (Chattopadhay et al., 2018) with the exponential score of its eq. 19:
    alpha_kij = G^2 / (2 G^2 + sum_ab A_kab G^3), and w_k = sum_ij alpha_kij ReLU(G_kij) (eq. 7;
    the factor exp(S) of dY/dA is one positive constant per image and cancels in the scaling)."""

    name = "gradcam++"

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        g2 = gradients.pow(2)
        g3 = gradients.pow(3)
        sum_activations = activations.sum(dim=(2, 3), keepdim=True)
        alpha = safe_divide(g2, 2 * g2 + sum_activations * g3)
        return (alpha * gradients.clamp_min(0)).sum(dim=(2, 3), keepdim=True)


class XGradCAM(GradientCAM):
    """XGrad-CAM (Fu et al., 2020, "Axiom-based Grad-CAM"): the gradients averaged with the
    normalised activations as weights, w_k = sum_ij (A_kij / sum_ab A_kab) G_kij."""

    name = "xgradcam"

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        sum_activations = activations.sum(dim=(2, 3), keepdim=True)
        return safe_divide(activations * gradients, sum_activations).sum(dim=(2, 3), keepdim=True)


class HiResCAM(GradientCAM):
    """HiResCAM (Draelos and Carin, 2020): the element-wise product, ReLU(sum_k G_k * A_k),
    without averaging the gradients."""

    name = "hirescam"

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients


class LayerCAM(GradientCAM):
    """LayerCAM (Jiang et al., 2021): per-pixel weights w_kij = ReLU(G_kij), map
    ReLU(sum_k w_k * A_k)."""

    name = "layercam"

    def weights(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients.clamp_min(0)
