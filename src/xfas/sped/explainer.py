"""SPED concepts as an explainer of the common API: ``create_explainer("sped", model,
concepts=BANK)``. One map per image, the importance-weighted sum of the concepts activated in
it (``ConceptExplanation.combined``); ``explain_concepts`` gives every concept's map (the
benchmark's per-concept mode). The concepts come from ``xfas concepts discover`` or
``SPED.fit`` and were ranked for the spoof decision, so the only target is "spoof". Importing
``xfas.sped`` registers it under the name "sped"; the ``xfas.explainers`` entry point lets
``create_explainer`` find it without that import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from xfas.errors import XfasError
from xfas.explain.base import Explainer, Target, check_images, model_device
from xfas.sped.attribution import ConceptExplanation
from xfas.sped.bank import ConceptBank
from xfas.sped.estimator import SPED


class SPEDExplainer(Explainer):
    """Concept maps of a SPED concept bank (see module docstring).

    Args:
        model: the model the bank was made on (another model is an error).
        layer: None or the bank's layer (the concepts live there; another layer is an error).
        seed, batch_size, progress: as every explainer.
        concepts: a bank file path, a ``ConceptBank`` or a fitted ``SPED``.
        **options: ``SPED`` settings to override (activation_threshold, map_threshold,
            transform_iter).

    Example:
        >>> explainer = create_explainer("sped", model, concepts="bank.safetensors")
        >>> maps = explainer.explain(images)                 # (N, H, W) in [0, 1]
        >>> per_concept = explainer.explain_concepts(images)  # ConceptExplanation
    """

    name = "sped"

    def __init__(self, model: nn.Module, layer: str | None = None, seed: int = 0,
                 *, batch_size: int = 64, progress: bool = True,
                 concepts: str | Path | ConceptBank | SPED | None = None,
                 **options: Any) -> None:
        super().__init__(model, layer=None, seed=seed, batch_size=batch_size, progress=progress)
        self.sped = _concepts(model, concepts, batch_size, progress=progress, options=options)
        if layer is not None and layer != self.sped.layer:
            raise XfasError(f"layer {layer!r}: the concepts were learned at "
                            f"{self.sped.layer!r}; leave layer unset")
        self.layer = self.sped.layer

    def explain(self, images: torch.Tensor, target: Target = "spoof") -> torch.Tensor:
        """(N, H, W) in [0, 1]: the importance-weighted sum of the activated concepts' maps."""
        return self.explain_concepts(images, target).combined

    def explain_concepts(self, images: torch.Tensor, target: Target = "spoof"
                         ) -> ConceptExplanation:
        """Every concept's map (N, K, H, W) with activations, importances and names."""
        if not (isinstance(target, str) and target == "spoof"):
            raise XfasError(f"target {target!r}: SPED concepts explain the spoof decision only "
                            "(target='spoof')")
        images = check_images(images, model_device(self.model, images.device)
                              if torch.is_tensor(images) else torch.device("cpu"))
        return self.sped.explain(images)

    def attribute(self, images: torch.Tensor, target: Target) -> torch.Tensor:
        return self.explain_concepts(images, target).combined


def _concepts(model: nn.Module, concepts: Any, batch_size: int, *, progress: bool,
              options: dict[str, Any]) -> SPED:
    settings = {"batch_size": batch_size, "progress": progress, **options}
    if concepts is None:
        raise XfasError("sped explainer: needs concepts=BANK (a concept bank file from "
                        "`xfas concepts discover`, a ConceptBank or a fitted SPED)")
    if isinstance(concepts, SPED):
        concepts._check_fitted()
        if concepts.model is model and not options:
            return concepts
        return SPED.from_bank(concepts.bank_, model, **settings)
    if isinstance(concepts, ConceptBank):
        return SPED.from_bank(concepts, model, **settings)
    if isinstance(concepts, (str, Path)):
        return SPED.load(concepts, model, **settings)
    raise XfasError(f"concepts: expected a bank path, a ConceptBank or a SPED, got "
                    f"{type(concepts).__name__}")

