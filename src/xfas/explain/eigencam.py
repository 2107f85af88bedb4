"""Eigen-CAM (Bany Muhammad and Yeasin, 2020) and its gradient variant: the map is the
projection of the (pixels x channels) matrix, centred per channel, on its first principal
component. A principal component has no sign; the reference implementation leaves it to the SVD,
so maps come out inverted at random. Here the sign is fixed so that the map agrees (non-negative
inner product) with a map that has one: the summed activations for Eigen-CAM, Grad-CAM's raw map
for EigenGradCAM."""

from __future__ import annotations

from typing import ClassVar

import torch

from xfas.explain.cam import GradientCAM


def first_component(features: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Projection (N, h, w) of features (N, K, h, w) on their first principal component,
    signed to agree with ``reference`` (N, h, w)."""
    n, _, h, w = features.shape
    matrix = torch.nan_to_num(features.double(), nan=0.0, posinf=0.0, neginf=0.0)
    matrix = matrix.flatten(2).transpose(1, 2)  # (N, hw, K)
    centred = matrix - matrix.mean(dim=1, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    projection = (centred @ vh[:, 0, :, None])[..., 0]  # (N, hw)
    agreement = (projection * reference.reshape(n, -1).double()).sum(dim=1, keepdim=True)
    projection = torch.where(agreement < 0, -projection, projection)
    return projection.reshape(n, h, w).to(features.dtype)


class EigenCAM(GradientCAM):
    """Eigen-CAM: first principal component of the activations (no gradients)."""

    name = "eigencam"
    needs_gradients: ClassVar[bool] = False

    def cam(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return first_component(activations, activations.sum(dim=1))


class EigenGradCAM(GradientCAM):
    """EigenGradCAM: first principal component of gradients x activations, signed like
    Grad-CAM's raw map sum_k mean(G_k) A_k."""

    name = "eigengradcam"

    def cam(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        gradcam = (gradients.mean(dim=(2, 3), keepdim=True) * activations).sum(dim=1)
        return first_component(gradients * activations, gradcam)
