"""One SynthSpoof sample in memory: ``render_sample(index, seed, size)``.

A sample is fully determined by (seed, index, size, face photos, mix). Without face photos the
people are drawn; with them every person is real (``xfas.data.synth.cast``). A spoof scene
whose evidence ends up entirely out of frame or hidden is drawn again from the same generator
(at most ``MAX_TRIES`` times), so spoofs practically always carry evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from xfas.data.benchmark_layout import EVIDENCE_TYPES
from xfas.data.synth.attacks import build_live, build_spoof
from xfas.data.synth.cast import DRAWN_STYLE, PHOTO_STYLE, DrawnCast, PhotoCast, Style
from xfas.data.synth.layers import Composition, composite
from xfas.data.synth.layout import (SPLITS, check_mix, choose_attack, person_split, sample_rng,
                                    split_of)
from xfas.data.synth.photos import FacePhoto, load_face_photos
from xfas.errors import XfasError

MAX_TRIES = 8
MIN_SIZE = 32

Faces = str | Path | Sequence[FacePhoto] | None


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
        split: "train", "val" or "test".
        people: with real photos, the ids of the people shown: {"person"} for live images,
            {"attacker", "victim"} for attacks.
        capture: what the camera did (``xfas.data.synth.camera.apply_camera``).
    """

    image: np.ndarray
    masks: dict[str, np.ndarray]
    label: str
    attack: str
    face_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    distractors: list[str] = field(default_factory=list)
    split: str = "train"
    people: dict[str, str] = field(default_factory=dict)
    capture: dict[str, Any] = field(default_factory=dict)


def check_size(size: int) -> int:
    """``size`` if it is an int of at least ``MIN_SIZE``; else XfasError naming --size."""
    if int(size) != size or size < MIN_SIZE:
        raise XfasError(f"--size {size}: must be an integer of at least {MIN_SIZE} px")
    return int(size)


def resolve_faces(faces: Faces) -> tuple[FacePhoto, ...] | None:
    """The real people: None (drawn people), loaded from a folder, or the given photos
    (XfasError for an empty sequence or one that holds something else)."""
    if faces is None:
        return None
    if isinstance(faces, (str, Path)):
        return load_face_photos(faces)
    photos = tuple(faces)
    if not photos:
        raise XfasError("faces: an empty sequence of photos")
    if not all(isinstance(p, FacePhoto) for p in photos):
        raise XfasError("faces: expected a folder or photos from load_face_photos")
    return photos


def _cast(photos: tuple[FacePhoto, ...] | None, seed: int, index: int, *, style: Style | None
          ) -> tuple[DrawnCast | PhotoCast, str]:
    """Who appears in image ``index`` and its split: drawn people, or the real people of the
    image's split (the first split that has people, when the image's own has none)."""
    split = split_of(seed, index)
    if photos is None:
        return DrawnCast(style or DRAWN_STYLE), split
    pools = {name: [p for p in photos if person_split(seed, p.person) == name]
             for name, _ in SPLITS}
    if not pools[split]:
        split = next(name for name, _ in SPLITS if pools[name])
    return PhotoCast(pools[split], style or PHOTO_STYLE), split


def _build(index: int, seed: int, size: int, *, faces: Faces, mix: Mapping[str, float] | None,
           style: Style | None
           ) -> tuple[Composition, str, tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
    size = check_size(size)
    if int(seed) != seed or seed < 0:
        raise XfasError(f"--seed {seed}: must be a non-negative integer")
    if int(index) != index or index < 0:
        raise XfasError(f"index {index}: must be a non-negative integer")
    cast, split = _cast(resolve_faces(faces), seed, index, style=style)
    rng = sample_rng(seed, index)
    attack = choose_attack(rng, check_mix(mix))
    if attack == "live":
        scene = build_live(rng, size, cast=cast)
        return scene, split, composite(scene.layers)
    for _ in range(MAX_TRIES):
        scene = build_spoof(rng, size, attack, cast=cast)
        painted = composite(scene.layers)
        if set(painted[2]) & set(EVIDENCE_TYPES):  # some of the paper's evidence is visible
            break
    return scene, split, painted


def build_composition(index: int, seed: int = 0, size: int = 128, *, faces: Faces = None,
                      mix: Mapping[str, float] | None = None,
                      style: Style | None = None) -> Composition:
    """The layered scene of sample ``index`` (before the camera), for tests and tools that
    need to leave layers out; ``render_sample`` is the usual entry point."""
    return _build(index, seed, size, faces=faces, mix=mix, style=style)[0]


def render_sample(index: int, seed: int = 0, size: int = 128, *, faces: Faces = None,
                  mix: Mapping[str, float] | None = None, style: Style | None = None) -> Sample:
    """Sample ``index`` of the SynthSpoof data set with ``seed``.

    Args:
        index: position in the data set (any non-negative int; independent of N).
        seed: data set seed.
        size: image side in pixels (>= 32).
        faces: None to draw the people, or a folder of real face photos / the photos
            ``load_face_photos`` loaded (load them once when rendering many samples): then
            live images are real people and attacks print or show real people.
        mix: attack -> weight, default 40 % live and 20 % each of print, cut, replay.
        style: how attacks and camera look (``xfas.data.synth.cast.Style``); default the
            cast's own (drawn or real people).

    Example:
        >>> s = render_sample(3, seed=0)
        >>> s.image.shape, s.label in ("live", "spoof")
        ((128, 128, 3), True)
    """
    scene, split, (image, emissive, masks) = _build(index, seed, size, faces=faces, mix=mix,
                                                    style=style)
    image, capture = scene.camera(image, emissive)
    label = "live" if scene.attack == "live" else "spoof"
    return Sample(image, masks, label, scene.attack, scene.face_box, scene.distractors, split,
                  scene.people, capture)
