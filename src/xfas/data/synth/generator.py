"""One SynthSpoof sample in memory: ``render_sample(index, seed, size)``.

A sample is fully determined by (seed, index, size, face photos, mix). A spoof scene whose
evidence ends up entirely out of frame or hidden is drawn again from the same generator (at
most ``MAX_TRIES`` times), so spoofs practically always carry evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from xfas.data.synth.attacks import build_live, build_spoof
from xfas.data.synth.layers import Composition, composite
from xfas.data.synth.layout import check_mix, choose_attack, sample_rng
from xfas.data.synth.photos import load_face_photos
from xfas.errors import XfasError

MAX_TRIES = 8
MIN_SIZE = 32

Faces = str | Path | Sequence[np.ndarray] | None


@dataclass
class Sample:
    """One image and its evidence.

    Attributes:
        image: (size, size, 3) uint8 RGB.
        masks: evidence type -> (size, size) bool, only the types visible in this image
            (empty for live images).
        label: "live" or "spoof".
        attack: "live", "print", "cut" or "replay".
        face_box: (x, y, w, h) of the visible face oval (the printed or shown one for spoofs).
        distractors: non-evidence things drawn (e.g. "hand", "held_object", "frame", "edge").
    """

    image: np.ndarray
    masks: dict[str, np.ndarray]
    label: str
    attack: str
    face_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    distractors: list[str] = field(default_factory=list)


def check_size(size: int) -> int:
    """``size`` if it is an int of at least ``MIN_SIZE``; else XfasError naming --size."""
    if int(size) != size or size < MIN_SIZE:
        raise XfasError(f"--size {size}: must be an integer of at least {MIN_SIZE} px")
    return int(size)


def resolve_faces(faces: Faces) -> tuple[np.ndarray, ...] | None:
    """The face photos to print / replay: None, loaded from a folder, or the given arrays
    (XfasError for an empty sequence)."""
    if faces is None:
        return None
    if isinstance(faces, (str, Path)):
        return load_face_photos(faces)
    photos = tuple(faces)
    if not photos:
        raise XfasError("faces: an empty sequence of photos")
    return photos


def _build(index: int, seed: int, size: int, *, faces: Faces, mix: Mapping[str, float] | None
           ) -> tuple[Composition, tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
    size = check_size(size)
    if int(seed) != seed or seed < 0:
        raise XfasError(f"--seed {seed}: must be a non-negative integer")
    if int(index) != index or index < 0:
        raise XfasError(f"index {index}: must be a non-negative integer")
    photos = resolve_faces(faces)
    rng = sample_rng(seed, index)
    attack = choose_attack(rng, check_mix(mix))
    if attack == "live":
        scene = build_live(rng, size)
        return scene, composite(scene.layers)
    for _ in range(MAX_TRIES):
        scene = build_spoof(rng, size, attack, photos=photos)
        painted = composite(scene.layers)
        if painted[2]:  # some evidence is visible
            break
    return scene, painted


def build_composition(index: int, seed: int = 0, size: int = 128, *, faces: Faces = None,
                      mix: Mapping[str, float] | None = None) -> Composition:
    """The layered scene of sample ``index`` (before the camera), for tests and tools that
    need to leave layers out; ``render_sample`` is the usual entry point."""
    return _build(index, seed, size, faces=faces, mix=mix)[0]


def render_sample(index: int, seed: int = 0, size: int = 128, *, faces: Faces = None,
                  mix: Mapping[str, float] | None = None) -> Sample:
    """Sample ``index`` of the SynthSpoof data set with ``seed``.

    Args:
        index: position in the data set (any non-negative int; independent of N).
        seed: data set seed.
        size: image side in pixels (>= 32).
        faces: None to draw printed/replayed faces with the generator, or a folder / a sequence
            of RGB arrays of real face photos to print or replay instead (pass arrays loaded
            once with ``load_face_photos`` when rendering many samples).
        mix: attack -> weight, default 40 % live and 20 % each of print, cut, replay.

    Example:
        >>> s = render_sample(3, seed=0)
        >>> s.image.shape, s.label in ("live", "spoof")
        ((128, 128, 3), True)
    """
    scene, (image, emissive, masks) = _build(index, seed, size, faces=faces, mix=mix)
    image = scene.camera(image, emissive)
    label = "live" if scene.attack == "live" else "spoof"
    return Sample(image, masks, label, scene.attack, scene.face_box, scene.distractors)
