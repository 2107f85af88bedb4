"""Painting a scene as a stack of layers and telling, per pixel, which layer is seen.

Each ``Layer`` has colours, a coverage mask and evidence *claims* (image-space regions that
belong to the object the layer draws, e.g. the paper's edge band, which lies on both sides of
the paper). Compositing paints layers back to front; a claim of layer i is visible where the
frontmost layer is i or one behind it, so anything drawn in front removes it. Layers can be
left out by name, which is how the tests check masks against pixel differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from xfas.data.synth.camera import DRAWN, Profile, apply_camera
from xfas.data.synth.evidence import exclusive


@dataclass
class Layer:
    """One object of the scene, in image coordinates."""

    name: str
    rgb: np.ndarray                  # (H, W, 3) uint8; only pixels under ``cover`` are used
    cover: np.ndarray                # (H, W) bool
    claims: dict[str, np.ndarray] = field(default_factory=dict)
    emissive: bool = False           # a display: scene lighting barely changes it


def composite(layers: list[Layer], omit: frozenset[str] = frozenset()
              ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Paint the kept layers; returns (image uint8, emissive-pixel mask, visible evidence)."""
    kept = [layer for layer in layers if layer.name not in omit and layer.cover.any()]
    height, width = kept[0].cover.shape
    image = np.zeros((height, width, 3), np.uint8)
    top = np.full((height, width), -1, np.int16)
    for i, layer in enumerate(kept):
        cv2.copyTo(layer.rgb, layer.cover.view(np.uint8), image)  # in place, fast
        np.copyto(top, i, where=layer.cover)
    emissive = np.zeros((height, width), bool)
    claims: dict[str, np.ndarray] = {}
    for i, layer in enumerate(kept):
        if layer.emissive:
            emissive |= top == i
        for name, region in layer.claims.items():
            seen = region & (top <= i)
            claims[name] = seen if name not in claims else claims[name] | seen
    return image, emissive, exclusive(claims)


@dataclass
class Composition:
    """A finished scene: its layers, the seed of its camera, and facts for the manifest."""

    attack: str
    layers: list[Layer]
    camera_seed: int
    face_box: tuple[float, float, float, float]   # (x, y, w, h) of the visible face oval
    distractors: list[str]
    people: dict[str, str] = field(default_factory=dict)  # role -> person id (real photos)
    profile: Profile = DRAWN                                 # the camera that records it

    def render(self, omit: frozenset[str] = frozenset(), effects: bool = True
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The image (uint8 RGB) and its visible evidence masks; ``omit`` leaves layers out,
        ``effects=False`` skips the camera (lighting, blur, noise, JPEG)."""
        image, emissive, masks = composite(self.layers, frozenset(omit))
        return (self.camera(image, emissive)[0] if effects else image), masks

    def camera(self, image: np.ndarray, emissive: np.ndarray
               ) -> tuple[np.ndarray, dict[str, Any]]:
        """The composited ``image`` as this scene's camera records it, and what the camera
        did (``apply_camera``)."""
        return apply_camera(np.random.default_rng(self.camera_seed), image, emissive,
                            profile=self.profile)
