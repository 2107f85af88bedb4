"""The concept bank: everything SPED learned, in one safetensors file (no pickle).

Tensors: ``components`` (W, C x K), the importances and their spread, the typical activations,
optionally ``top_crops`` (K x T x 3 x H x W uint8, the most activating crops for Fig. 4) and
``header_sha256``. The JSON header (names, sources, layer, model fingerprint, crop and Sobol
parameters) lives in the file's metadata; banks are written in the current ``VERSION`` and
read in every version of ``READABLE_VERSIONS``. ``xfas.models.checkpoint`` checks a sha256 of
the tensors; the tensor ``header_sha256`` holds the sha256 of the canonical header JSON, so an
edited header is refused too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from xfas.errors import XfasError
from xfas.models.checkpoint import read_checkpoint, save_checkpoint

KIND = "xfas-concept-bank"
# Version 2 added ``sources`` (each concept's attack type); version 1 banks read with none.
VERSION = 2
READABLE_VERSIONS = (1, 2)
_ARRAYS = ("importances", "importance_std", "raw_importances", "raw_importance_std",
           "typical_activation")


def model_fingerprint(model: nn.Module) -> str:
    """``model.fingerprint()`` for xfas models, else the first 16 hex digits of a sha256 over
    the names and bytes of the state dict (in name order)."""
    if hasattr(model, "fingerprint"):
        return str(model.fingerprint())
    digest = hashlib.sha256(type(model).__name__.encode())
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
                      .numpy().tobytes())
    return digest.hexdigest()[:16]


def model_name(model: nn.Module) -> str:
    """``model.name`` for xfas models, else the class name."""
    name = getattr(model, "name", None)
    return name if isinstance(name, str) and name else type(model).__name__


def default_names(k: int) -> list[str]:
    """"concept 1" .. "concept K"."""
    return [f"concept {i + 1}" for i in range(k)]


@dataclass
class ConceptBank:
    """Learned concepts of one model at one layer (see ``SPED``).

    Attributes:
        components: W (C, K) float32, the concept directions in activation space.
        importances: (K,) total Sobol indices averaged over the fit images, divided by their
            sum (so they sum to 1); ``raw_importances`` keeps the undivided means.
        importance_std: (K,) spread (standard deviation over images) on the same scale as
            ``importances``; ``raw_importance_std`` on the raw scale.
        typical_activation: (K,) mean coefficient of each concept over every position of the
            fit images' full views; an image's activation is measured relative to it.
        names: K labels ("concept 1" .. by default).
        sources: K attack types, the group of images each concept was discovered on
            (``SPED.fit(images, attacks=...)``); empty when all were found on one pool.
        layer, model_name, model_fingerprint: where the concepts live.
        input_size: (H, W) of the model inputs.
        grid: (h, w) of the layer's activations (the resolution of the concept maps).
        crop_fraction, crop_stride: the crop grid (``CropGrid``).
        n_designs, sampler, estimator, seed: the Sobol settings.
        activation_threshold: a concept is activated when its relative activation >= this.
        map_threshold: map values under this fraction of the map's maximum are set to zero.
        n_images, n_crops: how much data the concepts were learned from.
        nmf: the Semi-NMF settings and final error (JSON-able).
        top_crops: optional (K, T, 3, H, W) uint8 RGB, each concept's most activating crops.
    """

    components: torch.Tensor
    importances: np.ndarray
    importance_std: np.ndarray
    raw_importances: np.ndarray
    raw_importance_std: np.ndarray
    typical_activation: np.ndarray
    names: list[str]
    layer: str
    model_name: str
    model_fingerprint: str
    input_size: tuple[int, int]
    grid: tuple[int, int] = (0, 0)
    crop_fraction: float = 0.5
    crop_stride: float = 0.25
    n_designs: int = 32
    sampler: str = "halton"
    estimator: str = "jansen"
    seed: int = 0
    activation_threshold: float = 0.5
    map_threshold: float = 0.1
    n_images: int = 0
    n_crops: int = 0
    nmf: dict[str, Any] = field(default_factory=dict)
    top_crops: torch.Tensor | None = None
    sources: list[str] = field(default_factory=list)
    version: int = VERSION

    def __post_init__(self) -> None:
        self.components = torch.as_tensor(self.components, dtype=torch.float32)
        if self.components.ndim != 2:
            raise XfasError(f"concept bank: components must be (C, K), got "
                            f"{tuple(self.components.shape)}")
        k = self.n_concepts
        for name in _ARRAYS:
            value = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if value.shape != (k,):
                raise XfasError(f"concept bank: {name} has {value.shape[0]} values for {k} "
                                "concepts")
            setattr(self, name, value)
        self.names = [str(n) for n in self.names]
        if len(self.names) != k:
            raise XfasError(f"concept bank: {len(self.names)} names for {k} concepts")
        self.sources = [str(s) for s in self.sources]
        if self.sources and len(self.sources) != k:
            raise XfasError(f"concept bank: {len(self.sources)} sources for {k} concepts")
        self.input_size = (int(self.input_size[0]), int(self.input_size[1]))
        self.grid = (int(self.grid[0]), int(self.grid[1]))

    @property
    def n_concepts(self) -> int:
        return int(self.components.shape[1])

    def with_names(self, names: Mapping[int | str, str]) -> "ConceptBank":
        """A copy with some names replaced: ``{index: label}`` (0-based; JSON string keys
        such as "3" are accepted). XfasError naming a bad index or empty label."""
        new = list(self.names)
        for key, label in names.items():
            try:
                index = int(key)
            except (TypeError, ValueError):
                raise XfasError(f"concept name key {key!r}: expected a concept index") from None
            if not 0 <= index < self.n_concepts:
                raise XfasError(f"concept name key {key!r}: no such concept (0..."
                                f"{self.n_concepts - 1})")
            if not isinstance(label, str) or not label.strip():
                raise XfasError(f"concept name for {key!r}: expected a non-empty string, "
                                f"got {label!r}")
            new[index] = label.strip()
        return replace(self, names=new)

    # ------------------------------------------------------------------ files
    def header(self) -> dict[str, Any]:
        """The JSON part of the bank."""
        skip = {"components", "top_crops", *_ARRAYS}
        head = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        head["input_size"] = list(self.input_size)
        head["grid"] = list(self.grid)
        head["kind"] = KIND
        return head

    def save(self, path: str | Path) -> Path:
        """Write the bank to ``path`` (one safetensors file, written atomically)."""
        head = self.header()
        tensors = {"components": self.components.detach().float().cpu(),
                   "header_sha256": _header_digest(head)}
        for name in _ARRAYS:
            tensors[name] = torch.from_numpy(getattr(self, name).astype(np.float64))
        if self.top_crops is not None:
            tensors["top_crops"] = self.top_crops.detach().to(torch.uint8).cpu()
        return save_checkpoint(path, tensors, head)

    @classmethod
    def load(cls, path: str | Path) -> "ConceptBank":
        """Read and verify a bank; XfasError naming ``path`` if it is missing, not a bank, or
        its tensors or header were modified."""
        path = Path(path)
        tensors, head = read_checkpoint(path)
        if head.get("kind") != KIND:
            raise XfasError(f"{path}: not a concept bank (a checkpoint of kind "
                            f"{head.get('kind', 'model')!r}); make one with "
                            "`xfas concepts discover`")
        stored = tensors.get("header_sha256")
        if stored is None or not torch.equal(stored, _header_digest(head)):
            raise XfasError(f"{path}: the bank's header does not match its recorded digest; "
                            "the file was modified or damaged")
        if head.get("version") not in READABLE_VERSIONS:
            raise XfasError(f"{path}: concept bank version {head.get('version')!r}, this xfas "
                            f"reads versions {', '.join(map(str, READABLE_VERSIONS))}")
        known = {f.name for f in fields(cls)} - {"version"}  # read in any, kept as current
        values = {key: value for key, value in head.items() if key in known}
        try:
            return cls(components=tensors["components"], top_crops=tensors.get("top_crops"),
                       **{name: tensors[name].numpy() for name in _ARRAYS}, **values)
        except (KeyError, TypeError) as error:
            raise XfasError(f"{path}: incomplete concept bank ({error})") from None


def _header_digest(head: dict[str, Any]) -> torch.Tensor:
    text = json.dumps(head, sort_keys=True, separators=(",", ":"))
    return torch.frombuffer(bytearray(hashlib.sha256(text.encode()).digest()), dtype=torch.uint8)
