"""What a benchmark run computes (``BenchmarkConfig``): the one description of a run that the
runner stores, compares on resume and sends to every worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from xfas.benchmark.scan import AUTO

ALL = "all"
BY_NAME = "names"  # calibration_split: assign SPED concepts by their names, no calibration
FIXED, CALIBRATION = "fixed", "calibration"  # the layer rules
LAYER_RULES = (FIXED, CALIBRATION)


@dataclass(frozen=True)
class BenchmarkConfig:
    """What a run computes. Everything here except ``device``, ``assets`` and ``progress``
    is part of the stored configuration a resumed run must match.

    Args:
        data: folder in the benchmark layout (``images/``, ``masks/<evidence>/``, manifest).
        model: a checkpoint, a training run folder, an ONNX file or ``minifasnet-v2`` /
            ``minifasnet-v1se``.
        card: the model card of ``model`` (None: the one beside its file, if any).
        concepts: a SPED concept bank; adds ``sped`` and ``sped-matched`` to "all". Under the
            calibration layer rule, several banks separated by commas (one per layer, say):
            each of ``sped`` and ``sped-matched`` uses the one the rule picks.
        methods: "all", a comma-separated string or a list of explainer names.
        split: the split scored ("auto": "test" when the manifest has splits, else all
            images; "all" or None: all images).
        calibration_split: where SPED's concept-to-evidence assignment is made; "names"
            (``BY_NAME``): from the bank's concept names instead (``assign_by_name``), with no
            calibration images, for data too small to set any aside.
        calibration_fraction: without splits, the seeded share set aside for calibration.
        limit: at most this many scored images, the first usable ones (calibration always
            uses all of its images).
        seed: every random choice (tie-breaking, explainers, splits).
        fraction: share of top pixels binarised for IoU / nIoU (the benchmark's 30 %).
        faithfulness: compute deletion / insertion AUC; ``steps`` of their curves.
        batch_size: explainers' batch (images, or perturbed inputs per forward pass).
        unit_size: images per work unit (what a resumed run may recompute).
        layer: target layer of layer methods (None: the model's default) under the fixed rule.
        layer_rule: how each layer method's layer is chosen. "fixed": ``layer`` (or the
            method's own ``METHOD.layer`` option, or the model's default) and SPED's bank as
            given. "calibration": every layer method alike gets the candidate layer
            (``xfas.explain.layers.spatial_layers``) with the highest mean nIoU over the
            averaged evidence types on the calibration images, which are never scored; SPED's
            candidates are the banks given in ``concepts``, scored the same way.
        method_options: {method: {option: value}} passed to that explainer.
        grid_images: images kept for the report's grid.
    """

    data: str
    model: str
    card: str | None = None
    concepts: str | None = None
    methods: str | Sequence[str] = ALL
    split: str | None = AUTO
    calibration_split: str = "val"
    calibration_fraction: float = 0.2
    limit: int | None = None
    seed: int = 0
    fraction: float = 0.3
    faithfulness: bool = True
    steps: int = 32
    batch_size: int = 64
    unit_size: int = 16
    layer: str | None = None
    layer_rule: str = FIXED
    method_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    grid_images: int = 8
    grid_side: int = 128
    device: str = "cpu"
    assets: str | None = None

    @property
    def banks(self) -> list[str]:
        """The concept bank files of ``concepts`` (none without)."""
        if self.concepts is None:
            return []
        return [bank.strip() for bank in str(self.concepts).split(",") if bank.strip()]
