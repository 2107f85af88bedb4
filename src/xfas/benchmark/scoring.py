"""The work of one benchmark unit, run in whatever process computes it (the parent, a pool
worker or a Dask worker): load a batch of images, explain them with one method (or a group that
shares a pass), map the maps back onto the images, and score them.

A unit is (image batch, methods). Its result is plain data (score rows, done marks and the few
small maps the report's grid shows), returned to the parent, which alone writes the store.

Scores per image, method and evidence type with a mask: IoU, nIoU and the pointing game of the
map in image coordinates (crop models' maps are zero outside the crop, ``CropGeometry``).
``sped`` scores SPED's single map (activated concepts only); ``sped-matched`` scores, per
evidence type, the assigned concept's map without activation gating, the same maps its
calibration compared (``compute_calibration``), so a concept the gate calls absent on an image
is still scored where it is rather than as an empty map.
Faithfulness per image and method, on the model's input: deletion and insertion AUC of the
spoof probability (RISE), with the baselines of RISE (zero for deletion, blur for insertion).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from xfas.benchmark.config import BenchmarkConfig
from xfas.benchmark.figures import map_thumbnail
from xfas.benchmark.metrics import curve_auc, iou, niou, perturbation_curves, pointing_game
from xfas.benchmark.store import IMAGE_EVIDENCE, Row
from xfas.data.benchmark_layout import read_mask
from xfas.data.image_io import load_image
from xfas.errors import XfasError

SPED, SPED_MATCHED = "sped", "sped-matched"
LOCALISATION = ("iou", "niou", "pointing_game")
FAITHFULNESS = ("deletion_auc", "insertion_auc")
DELETION_BASELINE, INSERTION_BASELINE = "zero", "blur"
CALIBRATE = "calibrate"  # the pseudo-method of calibration units


@dataclass(frozen=True)
class UnitImage:
    """What a worker needs to score one image: its file, usable masks and face box."""

    name: str
    path: str
    masks: tuple[tuple[str, str], ...]  # (evidence, mask file)
    face_box: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Unit:
    """A batch of images and the methods run on them together."""

    images: tuple[UnitImage, ...]
    methods: tuple[str, ...]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The (image, method) pairs this unit finishes."""
        return [(image.name, method) for image in self.images for method in self.methods]


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs besides the unit; picklable, sent once per task: the run's
    configuration (paths made absolute, options resolved), the model's fingerprint, the SPED
    assignment, the images the report's grid shows, and whether to use one torch thread."""

    config: BenchmarkConfig
    fingerprint: str
    assignment: Mapping[str, int] = field(default_factory=dict)  # evidence -> SPED concept
    grid: frozenset[str] = frozenset()
    single_thread: bool = False  # pool and Dask workers: one torch thread each
    layers: Mapping[str, str] = field(default_factory=dict)  # layer method -> its layer
    banks: Mapping[str, str] = field(default_factory=dict)  # sped / sped-matched -> bank file
    # calibration units: method -> the layers (or, for SPED, the banks) compared
    candidates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def layer_of(self, method: str) -> str | None:
        """The layer ``method`` reads: the one chosen for it, else its own ``layer`` option,
        else the run's ``layer`` (None: the model's default)."""
        options = self.config.method_options.get(method, {})
        return self.layers.get(method, options.get("layer", self.config.layer))

    def bank_of(self, method: str) -> str:
        """The concept bank ``sped`` or ``sped-matched`` uses: the one chosen for it, else the
        run's (only) bank."""
        if method in self.banks:
            return self.banks[method]
        if not self.config.banks:
            raise XfasError(f"method {method!r}: needs a concept bank (--concepts)")
        return self.config.banks[0]


@dataclass
class UnitResult:
    """Score rows, done marks, and grid maps {(image, method): uint8 (h, w)}."""

    rows: list[Row]
    done: list[tuple[str, str]]
    maps: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)


ConceptRow = tuple[str, str, int, float, float]  # (image, evidence, concept, IoU, nIoU)
CandidateRow = tuple[str, str, str, str, float]  # (image, method, layer or bank, evidence, nIoU)


@dataclass
class CalibrationResult:
    """On a unit of calibration images: nIoU of each method's map at each of its candidate
    layers (SPED: banks) against every mask, and IoU and nIoU of every concept map of each
    bank ``sped-matched`` compares, with the concepts' names."""

    candidate_rows: list[CandidateRow] = field(default_factory=list)
    concept_rows: dict[str, list[ConceptRow]] = field(default_factory=dict)  # bank -> rows
    names: dict[str, list[str]] = field(default_factory=dict)  # bank -> concept names


# --- the model and explainers of this process ----------------------------------------------

class WorkerContext:
    """The model (checked against the run's fingerprint) and explainers, made once per
    process and reused by every unit it computes."""

    def __init__(self, spec: WorkerSpec, model: torch.nn.Module | None = None) -> None:
        from xfas.models import load_model

        if spec.single_thread:
            torch.set_num_threads(1)
        config = spec.config
        self.model = model if model is not None else load_model(
            config.model, device=config.device, assets=config.assets, card=config.card)
        found = self.model.fingerprint()
        if found != spec.fingerprint:
            raise XfasError(f"model {config.model!r}: fingerprint {found} differs from the "
                            f"run's {spec.fingerprint}; the weights changed since the run "
                            "started")
        self.spec = spec
        self._explainers: dict[str, Any] = {}

    def explainer(self, name: str, spec: WorkerSpec, *, layer: str | None = None,
                  bank: str | None = None) -> Any:
        """The explainer ``name`` with the run's settings, at ``layer`` or with ``bank`` when
        given, else at the layer or with the bank ``spec`` gives it (cached)."""
        config = spec.config
        layer = layer if layer is not None else spec.layer_of(name)
        bank = bank if bank is not None or name not in (SPED, SPED_MATCHED) else spec.bank_of(name)
        options = dict(config.method_options.get(name, {}))
        key = json.dumps([name, layer, bank, config.seed, config.batch_size, options],
                         sort_keys=True, default=str)
        if key not in self._explainers:
            self._explainers[key] = make_explainer(name, self.model, spec, layer=layer,
                                                   bank=bank)
        return self._explainers[key]


_CONTEXT: list[tuple[tuple, WorkerContext]] = []


def context(spec: WorkerSpec, model: torch.nn.Module | None = None) -> WorkerContext:
    """This process's context for ``spec``'s model (one at a time); ``model``, when given,
    is used instead of loading it again."""
    config = spec.config
    key = (config.model, config.card, spec.fingerprint, config.device, config.assets,
           config.concepts, spec.single_thread)
    if not _CONTEXT or _CONTEXT[0][0] != key or (model is not None
                                                   and _CONTEXT[0][1].model is not model):
        _CONTEXT[:] = [(key, WorkerContext(spec, model))]
    return _CONTEXT[0][1]


def make_explainer(name: str, model: torch.nn.Module, spec: WorkerSpec, *,
                   layer: str | None = None, bank: str | None = None) -> Any:
    """``create_explainer`` with the run's seed, batch size and options, at ``layer`` (None:
    the layer ``spec`` gives the method); SPED's with ``bank`` (None: the one ``spec`` gives)."""
    from xfas.explain import create_explainer

    config = spec.config
    options = {k: v for k, v in config.method_options.get(name, {}).items() if k != "layer"}
    if name in (SPED, SPED_MATCHED):
        sped_options = {"progress": False, **config.method_options.get(SPED, {})}
        return create_explainer(SPED, model, seed=config.seed,  # the bank knows its layer
                                batch_size=config.batch_size,
                                concepts=bank if bank is not None else spec.bank_of(name),
                                **sped_options)
    options.setdefault("progress", False)
    return create_explainer(name, model, layer=layer if layer is not None else spec.layer_of(name),
                            seed=config.seed, batch_size=config.batch_size, **options)


def shares_cam_pass(name: str, explainer: Any, spec: WorkerSpec) -> bool:
    """Whether method ``name`` joins the gradient CAMs' single pass (``explain_many``) of its
    layer: a gradient CAM without options of its own besides its layer."""
    from xfas.explain import GradientCAM

    own = set(spec.config.method_options.get(name, {})) - {"layer"}
    return not own and isinstance(explainer, GradientCAM)


def uses_layer(name: str, model: torch.nn.Module, spec: WorkerSpec) -> bool:
    """Whether method ``name`` reads a layer (the CAM family; SPED reads its bank's)."""
    return (name not in (SPED, SPED_MATCHED)
            and bool(getattr(make_explainer(name, model, spec), "uses_layer", False)))


def cam_passes(methods: Sequence[str], spec: WorkerSpec,
               explainer: Callable[[str], Any]) -> dict[str | None, list[str]]:
    """{layer: the methods of ``methods`` that share one gradient-CAM pass there}
    (``shares_cam_pass``); ``explainer(name)`` makes or fetches the method's explainer."""
    by_layer: dict[str | None, list[str]] = {}
    for method in methods:
        if method not in (SPED, SPED_MATCHED) and shares_cam_pass(method, explainer(method),
                                                                   spec):
            by_layer.setdefault(spec.layer_of(method), []).append(method)
    return by_layer


def method_groups(methods: Sequence[str], model: torch.nn.Module,
                  spec: WorkerSpec) -> list[tuple[str, ...]]:
    """Methods grouped as units run them: the gradient CAMs of one layer together (one pass),
    SPED's two scorings together when they use one bank (one concept explanation), every
    other method alone."""
    sped = [m for m in methods if m in (SPED, SPED_MATCHED)]
    by_layer = cam_passes(methods, spec, lambda name: make_explainer(name, model, spec))
    cams = {m for group in by_layer.values() for m in group}
    groups = [tuple(group) for group in by_layer.values()]
    groups += [(m,) for m in methods if m not in cams and m not in sped]
    if len({spec.bank_of(m) for m in sped}) == 1:
        return groups + [tuple(sped)]
    return groups + [(m,) for m in sped]


# --- computing a unit ----------------------------------------------------------------------

@dataclass
class _Loaded:
    item: UnitImage
    masks: dict[str, np.ndarray]
    geometry: Any


def _load(model: Any, images: Sequence[UnitImage]) -> tuple[torch.Tensor, list[_Loaded]]:
    """The model's input batch of ``images`` and each image's masks and geometry."""
    from xfas.explain.base import model_device

    tensors, loaded = [], []
    for item in images:
        rgb = load_image(item.path)
        tensor, geometry = model.preprocess(rgb, item.face_box)
        tensors.append(tensor)
        loaded.append(_Loaded(item, {e: read_mask(p) for e, p in item.masks}, geometry))
    return torch.stack(tensors).to(model_device(model)), loaded


def _explain(ctx: WorkerContext, spec: WorkerSpec, methods: Sequence[str],
             *, batch: torch.Tensor) -> dict[str, torch.Tensor]:
    """{method: maps (N, S, S)} on the model input; ``sped-matched``: (N, K, S, S), every
    concept's map without activation gating."""
    from xfas.explain import explain_many

    config = spec.config
    maps: dict[str, torch.Tensor] = {}
    for layer, cams in cam_passes(methods, spec, lambda name: ctx.explainer(name, spec)).items():
        maps.update(explain_many(ctx.model, batch, cams, target="spoof", layer=layer,
                                 seed=config.seed, batch_size=config.batch_size))
    explained: dict[str, Any] = {}  # bank -> its concept explanation of the batch
    for method in (m for m in methods if m in (SPED, SPED_MATCHED)):
        bank = spec.bank_of(method)
        if bank not in explained:
            explained[bank] = ctx.explainer(SPED, spec, bank=bank).explain_concepts(batch)
        maps[method] = (explained[bank].combined if method == SPED
                        else explained[bank].ungated_maps)
    for method in methods:
        if method not in maps:
            maps[method] = ctx.explainer(method, spec).explain(batch, target="spoof")
    return {m: maps[m].detach().float().cpu() for m in methods}


def localisation_rows(image: str, method: str, evidence: str, *, mask: np.ndarray,
                      full_map: torch.Tensor, fraction: float, seed: int) -> list[Row]:
    """IoU, nIoU (top ``fraction`` pixels) and pointing game of one map against one mask."""
    return [(image, method, evidence, "iou", iou(mask, full_map, fraction, seed=seed)),
            (image, method, evidence, "niou", niou(mask, full_map, fraction, seed=seed)),
            (image, method, evidence, "pointing_game", pointing_game(mask, full_map, seed))]


def faithfulness_rows(model: Any, batch: torch.Tensor, maps: torch.Tensor,
                      *, names: Sequence[str], method: str, spec: WorkerSpec) -> list[Row]:
    """Deletion and insertion AUC of the spoof probability, per image, on the model input
    (the perturbed batches run in the layout the model evaluates fastest)."""
    from xfas.explain.base import PerturbedForward

    forward = PerturbedForward(model)

    def score(x: torch.Tensor) -> torch.Tensor:
        return model.spoof_probability(forward(x))

    config = spec.config
    rows: list[Row] = []
    for metric, mode, baseline in (("deletion_auc", "deletion", DELETION_BASELINE),
                                   ("insertion_auc", "insertion", INSERTION_BASELINE)):
        fractions, curves = perturbation_curves(score, batch, maps.to(batch.device), mode=mode,
                                                steps=config.steps, baseline=baseline,
                                                batch_size=config.batch_size, seed=config.seed,
                                                progress=False)
        aucs = np.atleast_1d(curve_auc(fractions, curves))
        rows += [(name, method, IMAGE_EVIDENCE, metric, float(v)) for name, v in zip(names, aucs)]
    return rows


def compute_unit(spec: WorkerSpec, unit: Unit) -> UnitResult:
    """Scores of every image x method of ``unit`` (see the module docstring)."""
    config = spec.config
    ctx = context(spec)
    batch, loaded = _load(ctx.model, unit.images)
    maps = _explain(ctx, spec, unit.methods, batch=batch)
    rows: list[Row] = []
    grid: dict[tuple[str, str], np.ndarray] = {}
    for index, image in enumerate(loaded):
        name = image.item.name
        for method in unit.methods:
            if method == SPED_MATCHED:
                shown = None
                for evidence, mask in image.masks.items():
                    if evidence not in spec.assignment:
                        continue
                    full = image.geometry.to_image(maps[method][index, spec.assignment[evidence]])
                    rows += localisation_rows(name, method, evidence, mask=mask, full_map=full,
                                              fraction=config.fraction, seed=config.seed)
                    shown = full if shown is None else shown
            else:
                shown = image.geometry.to_image(maps[method][index])
                for evidence, mask in image.masks.items():
                    rows += localisation_rows(name, method, evidence, mask=mask, full_map=shown,
                                              fraction=config.fraction, seed=config.seed)
            if name in spec.grid and shown is not None:
                grid[(name, method)] = map_thumbnail(shown.numpy(), config.grid_side)
    if config.faithfulness:
        names = [image.item.name for image in loaded]
        for method in unit.methods:
            if method != SPED_MATCHED:
                rows += faithfulness_rows(ctx.model, batch, maps[method], names=names,
                                          method=method, spec=spec)
    return UnitResult(rows, unit.pairs, grid)


def compute_calibration(spec: WorkerSpec, unit: Unit) -> CalibrationResult:
    """On the unit's calibration images, the maps calibration compares (``spec.candidates``):
    each layer method's map at each of its candidate layers, ``sped``'s combined map with each
    of its banks (nIoU against every mask), and every concept's map of each of
    ``sped-matched``'s banks (IoU and nIoU, in image coordinates and without activation gating,
    as ``sped-matched`` scores them): what the layers, banks and the assignment of concepts to
    evidence types are chosen from."""
    from xfas.explain import explain_many

    ctx = context(spec)
    config = spec.config
    batch, loaded = _load(ctx.model, unit.images)
    fraction, seed = config.fraction, config.seed
    result = CalibrationResult()

    def score(method: str, candidate: str, maps: torch.Tensor) -> None:
        for index, image in enumerate(loaded):
            full = image.geometry.to_image(maps[index].detach().float().cpu())
            result.candidate_rows += [(image.item.name, method, candidate, evidence,
                                       niou(mask, full, fraction, seed=seed))
                                      for evidence, mask in image.masks.items()]

    explained: dict[str, Any] = {}  # bank -> its concept explanation of the batch

    def concepts(bank: str) -> Any:
        if bank not in explained:
            explained[bank] = ctx.explainer(SPED, spec, bank=bank).explain_concepts(batch)
        return explained[bank]

    cams: dict[str, list[str]] = {}  # layer -> the gradient CAMs compared there
    for method, candidates in spec.candidates.items():
        for candidate in candidates:
            if method == SPED_MATCHED:
                _concept_rows(concepts(candidate), bank=candidate, loaded=loaded,
                              config=config, result=result)
            elif method == SPED:
                score(method, candidate, concepts(candidate).combined)
            elif shares_cam_pass(method, ctx.explainer(method, spec, layer=candidate), spec):
                cams.setdefault(candidate, []).append(method)
            else:
                explainer = ctx.explainer(method, spec, layer=candidate)
                score(method, candidate, explainer.explain(batch, target="spoof"))
    for layer, methods in cams.items():
        maps = explain_many(ctx.model, batch, methods, target="spoof", layer=layer,
                            seed=seed, batch_size=config.batch_size)
        for method in methods:
            score(method, layer, maps[method])
    return result


def _concept_rows(explanation: Any, *, bank: str, loaded: Sequence[_Loaded],
                  config: BenchmarkConfig, result: CalibrationResult) -> None:
    """IoU and nIoU of each concept map of ``bank``'s ``explanation`` of the loaded images
    against each of their masks, into ``result``."""
    concept_maps = explanation.ungated_maps.detach().float().cpu()
    fraction, seed = config.fraction, config.seed
    rows = result.concept_rows.setdefault(bank, [])
    for index, image in enumerate(loaded):
        full = image.geometry.to_image(concept_maps[index])  # (K, H, W)
        for evidence, mask in image.masks.items():
            for concept in range(full.shape[0]):
                rows.append((image.item.name, evidence, concept,
                             iou(mask, full[concept], fraction, seed=seed),
                             niou(mask, full[concept], fraction, seed=seed)))
    result.names[bank] = list(explanation.names)
