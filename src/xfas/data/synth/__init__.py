"""SynthSpoof: face anti-spoofing images with pixel-exact evidence masks, made from nothing.

Live faces and print / cut / replay attacks (as in CASIA-FASD) drawn procedurally at any size,
so the whole xfas pipeline (training, explaining, benchmarking explanations against evidence)
runs on a fresh machine. Evidence types and the exact pixels of each mask are defined in
``xfas.data.synth.evidence``; seeds and splits in ``xfas.data.synth.layout``.

Modules, one job each: ``draw`` (sub-pixel cv2 helpers), ``faces`` (a person), ``scene``
(rooms and their straight-edged objects), ``hands``, ``media`` (paper and screen geometry and
looks), ``camera`` (lighting, blur, noise, JPEG), ``layers`` (compositing and visibility),
``evidence`` (mask definitions), ``attacks`` (one scene per attack type), ``generator`` (one
sample), ``writer`` (the data set on disk), ``photos`` (the user's face photos). The sample
figure is ``xfas.plots.sample_grid``.

Example:
    >>> from xfas.data.synth import render_sample, generate_synthspoof
    >>> sample = render_sample(0, seed=0, size=128)
    >>> sorted(sample.masks)  # the evidence visible in this image
    ['cut_hole', 'photo_edge']
    >>> generate_synthspoof("synth", n=2000, seed=0)   # doctest: +SKIP
"""

from xfas.data.benchmark_layout import ALL_EVIDENCE_TYPES, EVIDENCE_TYPES, SURFACE_TYPES
from xfas.data.synth.evidence import edge_band, edge_radius
from xfas.data.synth.generator import Sample, build_composition, check_size, render_sample
from xfas.data.synth.layout import ATTACKS, DEFAULT_MIX, split_of
from xfas.data.synth.photos import (CREDIT, FacePhoto, find_face_photos, frame_photo,
                                    load_face_photos)
from xfas.data.synth.writer import generate_synthspoof

__all__ = ["ALL_EVIDENCE_TYPES", "ATTACKS", "CREDIT", "DEFAULT_MIX", "EVIDENCE_TYPES",
           "FacePhoto", "SURFACE_TYPES", "Sample", "build_composition", "check_size",
           "edge_band", "edge_radius", "find_face_photos", "frame_photo", "generate_synthspoof",
           "load_face_photos", "render_sample", "split_of"]
