"""The X-FAS benchmark runner: every explainer (and SPED) on every scored image, scored
against its evidence masks and stored so a run can stop and resume.

A run goes: load the model -> record or check the configuration -> scan the data (which images,
which masks, problems) -> calibrate the SPED assignment (``sped-matched`` only; or take it
from the concept bank's names, ``calibration_split="names"``) -> compute the
work units not yet done, each (image batch, methods), in this process, a process pool or on
Dask -> write Table I (Markdown, CSV, JSON) from the store.

The benchmark's defaults are fixed before any number is seen (top 30 % of pixels, IoU and
nIoU, every method with its default settings) so that it is not tuned toward one method.

Example:
    >>> config = BenchmarkConfig(data="xfas-bench", model="runs/cnn", methods="gradcam,rise")
    >>> run = run_benchmark(config, "runs/bench")
    >>> run.results["table"]["gradcam"]["photo_edge"]["niou"]
"""

from __future__ import annotations

import hashlib
import platform
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from xfas import __version__
from xfas.benchmark.config import (ALL, BY_NAME, CALIBRATION, FIXED, LAYER_RULES,
                                   BenchmarkConfig)
from xfas.benchmark.figures import write_grid_inputs, write_map
from xfas.benchmark.metrics import mean_ignoring_nan
from xfas.benchmark.parallel import Executor
from xfas.benchmark.scan import scan_benchmark
from xfas.benchmark.scoring import (CALIBRATE, SPED, SPED_MATCHED, CalibrationResult, Unit,
                                    UnitImage, WorkerSpec, compute_calibration, compute_unit,
                                    context, method_groups, uses_layer)
from xfas.benchmark.store import DB_NAME, ImageRecord, RunStore
from xfas.benchmark.tables import averaged_types, markdown_table, write_tables
from xfas.errors import XfasError
from xfas.progress import progress_bar

Matrix = dict[str, list[float | None]]  # evidence type -> the mean score of each concept


@dataclass
class BenchmarkRun:
    """What ``run_benchmark`` did: the run folder, its results, and how many units it
    computed now versus found already done."""

    out: Path
    results: dict[str, Any]
    units_total: int
    units_computed: int
    executor: str = "in process"

    @property
    def units_skipped(self) -> int:
        return self.units_total - self.units_computed


def resolve_methods(methods: str | Sequence[str], has_concepts: bool) -> list[str]:
    """The method names of a run: "all" = every registered explainer (plus ``sped`` and
    ``sped-matched`` with a concept bank); unknown names are an error listing the valid ones."""
    from xfas.explain import available_explainers

    valid = [n for n in available_explainers() if n not in (SPED, SPED_MATCHED)]
    if has_concepts:
        valid += [SPED, SPED_MATCHED]
    names = ([n.strip() for n in methods.split(",") if n.strip()]
             if isinstance(methods, str) else [str(n) for n in methods])
    if names == [ALL]:
        return valid
    unknown = [n for n in names if n not in valid]
    if not names or unknown:
        hint = ("" if has_concepts else "; sped and sped-matched need a concept bank "
                "(--concepts)")
        raise XfasError(f"--methods {','.join(names)!r}: unknown {', '.join(unknown) or '(empty)'}"
                        f"; valid names: {', '.join(valid)}, or 'all'{hint}")
    return list(dict.fromkeys(names))


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def stored_config(config: BenchmarkConfig, methods: list[str], fingerprint: str) -> dict:
    """The configuration recorded with the run and compared on resume (absolute paths, the
    resolved methods, the model's fingerprint and the concept bank's digest)."""
    stored = {k: v for k, v in asdict(config).items() if k not in ("device", "assets")}
    stored["data"] = str(Path(config.data).resolve())
    model_path = Path(config.model)
    stored["model"] = str(model_path.resolve()) if model_path.exists() else config.model
    if config.card is not None:  # runs without a card keep their stored configuration
        stored["card"] = str(Path(config.card).resolve())
    else:
        del stored["card"]
    stored["model_fingerprint"] = fingerprint
    stored["methods"] = methods
    stored["method_options"] = {k: dict(v) for k, v in config.method_options.items()}
    if config.layer_rule == FIXED:  # runs from before the layer rules keep their configuration
        del stored["layer_rule"]
    if config.concepts is not None:
        banks = [Path(bank) for bank in config.banks]
        for bank in banks:
            if not bank.is_file():
                raise XfasError(f"--concepts {bank}: no such concept bank file")
        stored["concepts"] = ",".join(str(bank.resolve()) for bank in banks)
        stored["concepts_digest"] = ",".join(_file_digest(bank) for bank in banks)
    stored["baselines"] = {"deletion": "zero", "insertion": "blur"}
    return stored


def versions() -> dict[str, str]:
    """Versions of what produced the numbers."""
    return {"xfas": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def _check_config(config: BenchmarkConfig, methods: list[str]) -> None:
    if not 0.0 < config.fraction < 1.0:
        raise XfasError(f"fraction {config.fraction}: must be in (0, 1)")
    for name, value in (("steps", config.steps), ("batch_size", config.batch_size),
                        ("unit_size", config.unit_size)):
        if not isinstance(value, int) or value < 1:
            raise XfasError(f"{name} {value!r}: expected a positive integer")
    if config.limit is not None and config.limit < 1:
        raise XfasError(f"limit {config.limit}: expected a positive integer")
    if config.layer_rule not in LAYER_RULES:
        raise XfasError(f"--layer-rule {config.layer_rule!r}: expected one of "
                        f"{', '.join(LAYER_RULES)}")
    if config.concepts is not None and not config.banks:
        raise XfasError(f"--concepts {config.concepts!r}: no concept bank file named")
    if config.layer_rule == CALIBRATION:
        given = sorted(m for m, options in config.method_options.items() if "layer" in options)
        if config.layer is not None or given:
            where = ", ".join([f"--layer {config.layer}"] * (config.layer is not None)
                              + [f"{m}.layer" for m in given])
            raise XfasError(f"{where}: the calibration layer rule chooses every layer; give "
                            "a layer or --layer-rule calibration, not both")
        if config.calibration_split == BY_NAME:
            raise XfasError("--layer-rule calibration: needs calibration images, and "
                            "--calibration-split names sets none aside; use a split")
    elif len(config.banks) > 1:
        raise XfasError(f"--concepts {config.concepts}: several banks need --layer-rule "
                        "calibration, which picks one (a fixed run uses one bank)")
    if SPED_MATCHED in config.method_options:
        raise XfasError("options of sped-matched: give them to sped (sped.OPTION=VALUE); "
                        "both scorings use one SPED explainer")
    known = set(methods) | ({SPED} if SPED_MATCHED in methods else set())  # its explainer's
    unknown = sorted(set(config.method_options) - known)
    if unknown:
        raise XfasError(f"method options for {', '.join(unknown)}: not among the run's "
                        f"methods ({', '.join(methods)})")


def _config_difference(stored: dict, wanted: dict) -> str:
    keys = sorted(k for k in stored.keys() | wanted.keys() if stored.get(k) != wanted.get(k))
    return "; ".join(f"{k}: stored {stored.get(k)!r}, now {wanted.get(k)!r}" for k in keys)


def run_benchmark(config: BenchmarkConfig, out: str | Path, resume: bool = False,
                  *, workers: int = 1, dask: str | None = None, progress: bool = True,
                  on_unit: Callable[[int], None] | None = None) -> BenchmarkRun:
    """Run (or resume, or just re-tabulate) the benchmark into the folder ``out``.

    A new ``out`` starts a run; an existing one with the same configuration continues it
    (only units not yet done are computed, none when it is finished); one with another
    configuration is an error. ``resume=True`` requires a run to exist.

    Args:
        workers: 1 = in this process; N = a local pool of N processes.
        dask: "local" or "tcp://HOST:PORT" to compute the units on Dask instead.
        on_unit: called with the number of units computed so far after each unit is stored
            (a hook for progress reports and for tests that interrupt a run).

    Returns:
        a ``BenchmarkRun``; the tables are in ``out`` (results.json, table.md, table.csv,
        scores.csv) and the scores in ``out/results.sqlite``.
    """
    from xfas.models import load_model

    out = Path(out)
    if resume and not (out / DB_NAME).is_file():
        raise XfasError(f"--resume {out}: no run to resume there (no {DB_NAME})")
    if not Path(config.data).is_dir():
        raise XfasError(f"--data {config.data}: folder not found")
    model = load_model(config.model, device=config.device, assets=config.assets,
                       card=config.card)
    fingerprint = model.fingerprint()
    methods = resolve_methods(config.methods, config.concepts is not None)
    _check_config(config, methods)
    wanted = stored_config(config, methods, fingerprint)
    with RunStore(out / DB_NAME) as store:
        info = store.run_info()
        if info is None and resume:
            raise XfasError(f"--resume {out}: no run to resume there (the database is empty)")
        if info is not None and info["config"] != wanted:
            raise XfasError(f"{out}: a run exists with another configuration; use --resume "
                            f"with the same options or another --out "
                            f"({_config_difference(info['config'], wanted)})")
        # workers elsewhere (a pool, Dask) get absolute paths
        spec = WorkerSpec(config=replace(config, data=wanted["data"], model=wanted["model"],
                                         card=wanted.get("card"),
                                         concepts=wanted.get("concepts"),
                                         method_options=wanted["method_options"]),
                          fingerprint=fingerprint)
        context(spec, model)  # this process reuses the model just loaded
        if not store.has_images():
            _scan(config, wanted["data"], model, methods=methods, store=store, out=out,
                  progress=progress)
        if info is None:  # recorded once the data are known to be usable
            store.init_run(wanted, fingerprint, versions())
        scored = store.images("scored")
        executor = Executor(workers, dask)
        with executor:
            spec = _calibrate(spec, store, model=model, methods=methods, executor=executor,
                              progress=progress)
            shown = [m for m in (SPED_MATCHED, SPED) if m in methods]
            if shown:  # the bank sped-matched uses, else sped's
                concept_figure(spec.bank_of(shown[0]), out)
            spec = replace(spec, grid=frozenset(r.name for r in scored[:config.grid_images]))
            units = plan_units(scored, method_groups(methods, model, spec), config.unit_size)
            done = store.done()
            todo = [u for u in units if not all(p in done for p in u.pairs)]
            computed = _compute(todo, len(units), spec, store=store, executor=executor, out=out,
                                progress=progress, on_unit=on_unit)
        results = write_tables(out, store)
    return BenchmarkRun(out, results, len(units), computed, executor.describe())


def _compute(todo: Sequence[Unit], total: int, spec: WorkerSpec, *, store: RunStore,
             executor: Executor, out: Path, progress: bool,
             on_unit: Callable[[int], None] | None) -> int:
    """Compute the units still to do, storing each result (and its grid maps) as it comes;
    returns how many were computed. Ctrl-C keeps every unit stored so far."""
    computed = 0
    with progress_bar(progress) as bar:
        task = bar.add_task(f"benchmark ({executor.describe()})", total=total,
                            completed=total - len(todo))
        try:
            for _, result in executor.imap(compute_unit, spec, todo):
                for (image, method), thumbnail in result.maps.items():
                    write_map(out, image, method, thumbnail=thumbnail)
                store.write_unit(result.rows, result.done)
                computed += 1
                bar.advance(task)
                if on_unit is not None:
                    on_unit(computed)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                f"{computed} unit(s) saved in {out}; continue with `xfas benchmark run --out {out} "
                "--resume` and the same options") from None
    return computed


def plan_units(records: Sequence[ImageRecord], groups: Sequence[tuple[str, ...]],
               unit_size: int) -> list[Unit]:
    """Units of ``unit_size`` images (in name order) x each method group: the same units for
    the same configuration, so a resumed run computes exactly what was missing."""
    items = [UnitImage(r.name, r.path, tuple(sorted(r.masks.items())), r.face_box)
             for r in records]
    batches = [tuple(items[i:i + unit_size]) for i in range(0, len(items), unit_size)]
    return [Unit(batch, group) for batch in batches for group in groups]


def _scan(config: BenchmarkConfig, data: str, model: Any, *, methods: list[str],
          store: RunStore, out: Path, progress: bool) -> None:
    """Choose and check the images, store them with the problems, keep the grid's inputs."""
    from xfas.data.benchmark_layout import read_mask
    from xfas.data.image_io import load_image

    detector = None
    if model.crop_scale is not None:
        from xfas.data.face import FaceDetector
        detector = FaceDetector.from_assets(config.assets)
    result = scan_benchmark(data, config.split, config.calibration_split,
                            need_calibration=(config.layer_rule == CALIBRATION
                                              or (SPED_MATCHED in methods
                                                  and config.calibration_split != BY_NAME)),
                            calibration_fraction=config.calibration_fraction, limit=config.limit,
                            seed=config.seed, detector=detector, progress=progress)
    if not result.scored:
        raise XfasError(f"--data {config.data}: no image to score in "
                        f"{result.info['scored_split']} ({len(result.problems)} problem(s) "
                        "found; see the warnings)")
    entries = [(r.name, load_image(r.path), {e: read_mask(Path(p)) for e, p in r.masks.items()})
               for r in result.scored[:config.grid_images]]
    write_grid_inputs(out, entries, config.grid_side)
    store.write_scan(result.scored + result.calibration, result.problems, result.info)


def concept_figure(bank_path: str, out: Path) -> None:
    """Draw the bank's concepts' top crops (SPED's Fig. 4) into the run's figures, once; a
    bank without crops gets none (the report says so)."""
    from xfas.benchmark.figures import CONCEPTS_FIGURE, FIGURES
    from xfas.sped.bank import ConceptBank
    from xfas.sped.figures import crop_grid_figure

    target = out / FIGURES / CONCEPTS_FIGURE
    if target.is_file():
        return
    bank = ConceptBank.load(bank_path)
    if bank.top_crops is not None:
        crop_grid_figure(bank, target)


def _calibrate(spec: WorkerSpec, store: RunStore, *, model: Any, methods: list[str],
               executor: Executor, progress: bool) -> WorkerSpec:
    """``spec`` with each method's layer (``layers``), SPED's banks (``banks``) and the SPED
    assignment, chosen once per run on the calibration images and stored (a resumed run reads
    them back).

    Under the fixed rule a layer method reads the run's layer and SPED its one bank; under the
    calibration rule each layer method gets the candidate layer, and ``sped`` and
    ``sped-matched`` each the bank, with the highest calibration score (``choose``). The SPED
    assignment: the concept with the highest mean nIoU per evidence type on every calibration
    image, whatever ``limit`` (``assign_concepts``), or with ``calibration_split="names"`` the
    concept named after it (``assign_by_name``)."""
    config = spec.config
    stored_layers = store.get_meta("layers")
    if stored_layers is None:
        stored_layers = _fixed_layers(spec, model, methods)
        # a run from before the layer rules has its assignment already, and keeps it
        if store.get_meta("sped_assignment") is None:
            candidates = _candidates(spec, model, methods)
            result = _calibration_rows(spec, store, candidates, executor=executor,
                                       progress=progress)
            evidence = averaged_types(sorted({e for r in store.images("calibration")
                                              for e in r.masks}))
            if config.layer_rule == CALIBRATION:
                stored_layers.update(choose(result, candidates=candidates,
                                            evidence_types=evidence))
            if SPED_MATCHED in methods:
                _store_assignment(spec, store, result,
                                  bank=stored_layers[SPED_MATCHED]["bank"])
        store.set_meta("layers", stored_layers)
    layers = {m: entry["layer"] for m, entry in stored_layers.items() if "bank" not in entry}
    banks = {m: entry["bank"] for m, entry in stored_layers.items() if "bank" in entry}
    assignment = store.get_meta("sped_assignment") or {}
    return replace(spec, layers=layers, banks=banks,
                   assignment={e: int(a["concept"]) for e, a in assignment.items()})


def _store_assignment(spec: WorkerSpec, store: RunStore, result: CalibrationResult, *,
                      bank: str) -> None:
    """Store ``sped-matched``'s assignment for its ``bank``: by name, or made from the
    calibration rows of that bank, with the calibration matrices behind it."""
    if spec.config.calibration_split == BY_NAME:
        assignment = _assignment_by_name(bank, store)
    else:
        assignment, matrices = assign_concepts(result.concept_rows[bank], result.names[bank])
        store.set_meta("sped_calibration", {
            "images": [r.name for r in store.images("calibration")], **matrices,
            "names": result.names[bank]})
    store.set_meta("sped_assignment", assignment)


def _candidates(spec: WorkerSpec, model: Any, methods: Sequence[str]
                ) -> dict[str, tuple[str, ...]]:
    """What calibration compares per method: under the calibration rule every layer method's
    candidate layers and SPED's banks; under the fixed rule only ``sped-matched``'s one bank
    (for its assignment), unless it is assigned by name."""
    from xfas.explain.layers import spatial_layers

    config = spec.config
    if config.layer_rule == CALIBRATION:
        layers = tuple(spatial_layers(model))
        return {m: tuple(config.banks) if m in (SPED, SPED_MATCHED) else layers
                for m in methods if m in (SPED, SPED_MATCHED) or uses_layer(m, model, spec)}
    if SPED_MATCHED in methods and config.calibration_split != BY_NAME:
        return {SPED_MATCHED: (spec.bank_of(SPED_MATCHED),)}
    return {}


def _fixed_layers(spec: WorkerSpec, model: Any, methods: Sequence[str]
                  ) -> dict[str, dict[str, Any]]:
    """Each layer method's layer and SPED's bank (with its layer) as the fixed rule gives
    them: what Table I reports when no calibration chose them."""
    from xfas.explain.base import resolve_layer
    from xfas.sped.bank import ConceptBank

    entries: dict[str, dict[str, Any]] = {}
    for method in methods:
        if method in (SPED, SPED_MATCHED):
            bank = spec.bank_of(method)
            entries[method] = {"rule": FIXED, "bank": bank,
                               "layer": ConceptBank.load(bank).layer}
        elif uses_layer(method, model, spec):
            entries[method] = {"rule": FIXED,
                               "layer": resolve_layer(model, spec.layer_of(method))[0]}
    return entries


def _calibration_rows(spec: WorkerSpec, store: RunStore,
                      candidates: dict[str, tuple[str, ...]], *, executor: Executor,
                      progress: bool) -> CalibrationResult:
    """Every calibration image's scores of what ``candidates`` compares, gathered."""
    gathered = CalibrationResult()
    if not candidates:
        return gathered
    units = plan_units(store.images("calibration"), [(CALIBRATE,)], spec.config.unit_size)
    with progress_bar(progress) as bar:
        task = bar.add_task("calibration (never scored)", total=len(units))
        for _, result in executor.imap(compute_calibration, replace(spec, candidates=candidates),
                                       units):
            gathered.candidate_rows += result.candidate_rows
            for bank, rows in result.concept_rows.items():
                gathered.concept_rows.setdefault(bank, []).extend(rows)
            gathered.names.update(result.names)
            bar.advance(task)
    return gathered


def choose(result: CalibrationResult, *, candidates: dict[str, tuple[str, ...]],
           evidence_types: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each method's layer entry from calibration scores: its candidate with the highest
    calibration score, the mean over ``evidence_types`` of the per-type mean nIoU over the
    calibration images (the "mean nIoU" Table I reports; ties: the earlier candidate, the finer
    layer). ``sped-matched``'s score of a bank is that mean over the nIoU of the concepts
    ``assign_concepts`` assigns on the same images. An entry records the rule, the layer (and
    the bank, for SPED), the score, the images behind it and every candidate's score."""
    from xfas.sped.bank import ConceptBank

    per_type: dict[tuple[str, str], dict[str, list[float]]] = {}
    images: dict[str, set[str]] = {}
    for image, method, candidate, evidence, value in result.candidate_rows:
        per_type.setdefault((method, candidate), {}).setdefault(evidence, []).append(value)
        if evidence in evidence_types:
            images.setdefault(method, set()).add(image)
    layers: dict[str, dict[str, Any]] = {}
    by_bank: dict[str, dict[str, dict[str, Any]]] = {}  # sped-matched's assignment per bank
    for method, options in candidates.items():
        scores: dict[str, float] = {}
        for candidate in options:
            if method == SPED_MATCHED:
                by_bank[candidate] = assign_concepts(result.concept_rows.get(candidate, []),
                                                     result.names.get(candidate, []))[0]
                values = [by_bank[candidate][e]["calibration_niou"]
                          for e in evidence_types if e in by_bank[candidate]]
            else:
                found = per_type.get((method, candidate), {})
                values = [mean_ignoring_nan(found[e])[0] for e in evidence_types if e in found]
            finite = [v for v in values if np.isfinite(v)]
            scores[candidate] = float(np.mean(finite)) if finite else -np.inf
        best = max(options, key=lambda c: (scores[c], -options.index(c)))
        entry: dict[str, Any] = {"rule": CALIBRATION, "calibration_niou": _finite(scores[best]),
                                 "candidates": {c: _finite(v) for c, v in scores.items()}}
        if method in (SPED, SPED_MATCHED):
            entry.update(bank=best, layer=ConceptBank.load(best).layer)
        else:
            entry["layer"] = best
        if method == SPED_MATCHED:
            entry["n"] = max((a["n"] for a in by_bank[best].values()), default=0)
        else:
            entry["n"] = len(images.get(method, ()))
        layers[method] = entry
    return layers


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _assignment_by_name(bank: str, store: RunStore) -> dict[str, dict[str, Any]]:
    """``assign_by_name`` for the evidence types of the scored images."""
    from xfas.sped.bank import ConceptBank

    concepts = ConceptBank.load(bank)
    evidence = sorted({e for r in store.images("scored") for e in r.masks})
    return assign_by_name(concepts.names, concepts.importances, evidence)


def _means(values: dict[int, list[float]], count: int) -> np.ndarray:
    """Mean of each concept's values (NaN left out, ``mean_ignoring_nan``); -inf where a
    concept has none."""
    means = np.full(count, -np.inf)
    for concept, scores in values.items():
        mean, used, _ = mean_ignoring_nan(scores)
        if used:
            means[concept] = mean
    return means


def assign_concepts(rows: Sequence[tuple[str, str, int, float, float]], names: Sequence[str]
                    ) -> tuple[dict[str, dict[str, Any]], dict[str, Matrix]]:
    """(assignment, {"mean_iou": matrix, "mean_niou": matrix}) from calibration rows (image,
    evidence, concept, IoU, nIoU): each evidence type gets the concept with the highest mean
    nIoU over the images with that mask, the score Table I reports (ties: the lower concept
    index; NaN left out of means). Each assignment records that mean ("calibration_niou"),
    the same concept's mean IoU ("calibration_iou") and the images behind them ("n")."""
    by_evidence: dict[str, tuple[dict[int, list[float]], dict[int, list[float]]]] = {}
    for _, evidence, concept, iou_value, niou_value in rows:
        ious, nious = by_evidence.setdefault(evidence, ({}, {}))
        ious.setdefault(int(concept), []).append(iou_value)
        nious.setdefault(int(concept), []).append(niou_value)
    assignment: dict[str, dict[str, Any]] = {}
    matrices: dict[str, Matrix] = {"mean_iou": {}, "mean_niou": {}}
    for evidence in sorted(by_evidence):
        ious, nious = by_evidence[evidence]
        count = len(names) if names else max(nious) + 1
        mean_iou, mean_niou = _means(ious, count), _means(nious, count)
        for key, means in (("mean_iou", mean_iou), ("mean_niou", mean_niou)):
            matrices[key][evidence] = [None if np.isinf(v) else float(v) for v in means]
        if np.isinf(mean_niou).all():
            warnings.warn(f"SPED calibration: no usable nIoU for {evidence}; sped-matched does "
                          "not score it", stacklevel=2)
            continue
        best = int(np.argmax(mean_niou))  # the first maximum: ties go to the lower index
        assignment[evidence] = {
            "concept": best, "name": names[best] if best < len(names) else f"concept {best + 1}",
            "calibration_niou": float(mean_niou[best]),
            "calibration_iou": float(mean_iou[best]),
            "n": sum(not np.isnan(v) for v in nious[best])}
    return assignment, matrices


def concept_key(name: str) -> str:
    """A concept or evidence name compared without case, "_" or "-": "photo_edge" and
    "Photo edge" are the same."""
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def name_rank(name: str, evidence: str) -> int | None:
    """How a concept's name matches an evidence type: 1 for its exact name ("photo edge"),
    N for the N-th concept ``xfas concepts label`` gave that name ("photo edge 2"), None
    for any other name."""
    key, wanted = concept_key(name), concept_key(evidence)
    if key == wanted:
        return 1
    stem, _, number = key.rpartition(" ")
    return int(number) if stem == wanted and number.isdigit() and int(number) >= 2 else None


def assign_by_name(names: Sequence[str], importances: Sequence[float],
                   evidence_types: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The assignment ``assign_concepts`` would store, taken from the concepts' names instead
    of calibration images: each evidence type gets the concept named after it (the names
    ``xfas concepts label`` gives: "photo_edge" -> "photo edge"); the exact name comes first,
    then the numbered ones label gives further matches ("photo edge 2", then 3, ...); of
    several with the same name, the most important (ties: the lower index). A type no concept
    is named after is left out with a warning, and ``sped-matched`` does not score it."""
    assignment: dict[str, dict[str, Any]] = {}
    for evidence in evidence_types:
        ranks = {k: name_rank(name, evidence) for k, name in enumerate(names)}
        named = [k for k, rank in ranks.items() if rank is not None]
        if not named:
            warnings.warn(f"SPED assignment by name: no concept is named {concept_key(evidence)!r}"
                          f" (names: {', '.join(names)}); sped-matched does not score "
                          f"{evidence}", stacklevel=2)
            continue
        best = min(named, key=lambda k: (ranks[k], -float(importances[k]), k))
        assignment[evidence] = {"concept": best, "name": names[best], "calibration_niou": None,
                                "calibration_iou": None, "n": 0, "by": "name"}
    return assignment


def names_from_assignment(assignment: Mapping[str, Mapping[str, Any]], names: Sequence[str]
                          ) -> list[str]:
    """The bank's names with each concept the calibration assigned to an evidence type named
    after it ("photo_edge" -> "photo edge"): of several types assigned to one concept, the one
    of highest calibration nIoU (ties: the earlier type). Concepts assigned nothing, and
    assignments made by name, leave the names as they are. ``assign_by_name`` on the result
    gives each such concept back its type."""
    best: dict[int, tuple[float, str]] = {}
    for evidence, entry in assignment.items():
        score = entry.get("calibration_niou")
        if entry.get("by") == "name" or score is None:
            continue
        concept = int(entry["concept"])
        if concept not in best or score > best[concept][0]:
            best[concept] = (float(score), evidence)
    return [concept_key(best[k][1]) if k in best else name for k, name in enumerate(names)]


def print_summary(run: BenchmarkRun) -> str:
    """A short text for the command line: what was computed, and Table I."""
    return (f"{run.units_computed} unit(s) computed, {run.units_skipped} already done "
            f"({run.executor}); results in {run.out}\n\n{markdown_table(run.results)}")
