"""SPED, SPoofing Evidence Discovery ("Concept Discovery in Deep Neural Networks for Explainable
Face Anti-Spoofing"): CRAFT's concept discovery (Fel et al. 2023) with Semi-NMF, so activations
may be negative, as a scikit-learn style estimator.

The model f is split at a layer into g (input -> activations, C x h x w) and h (activations ->
output); h runs on cached activations, so the layers before the cut run once per image (or
crop), never once per perturbation. The stages:

1. crops (``crops.CropGrid``) of the fit images, resized to the input size;
2. A = spatially average-pooled g(crops), (N', C);
3. Semi-NMF A ~ U W^T, U >= 0 (``SemiNMF``): the K concept directions W (C x K);
4. importance: for each fit image, U_i (hw x K) with W fixed, masks M in [0, 1]^K from a
   scrambled Halton sequence in the Jansen design (A, B and the K mixed matrices, ``n_designs``
   rows each), outputs y = target(h((U_i * M) W^T)) with each mask multiplying a concept's
   coefficient at every position, and the total-order Jansen estimator
   S_k = E[(f(A) - f(C_k))^2] / (2 Var f) (Saltelli et al. 2010, Table 2 (f)); averaged over
   images (mean and standard deviation kept);
5. maps (``attribution``): per image, U_i with W fixed, one upsampled map per concept;
6. effects (``explain``): per image and concept, the spoof logit of h(U_i W^T) minus that of
   h with concept k's coefficients zeroed, signed (importance is the size of a concept's
   part over the fit images, blind to direction; the effect says which way it pushes).

Stages 1-3 may run per attack type (``fit(images, attacks=...)``, the paper's "attack images
with the same spoof strategy"); their concepts are merged into one bank (``xfas.sped.merge``)
before stage 4 runs on all the images.

The Sobol output is the spoof log-odds: ``FASModel.spoof_logit`` for xfas models; for a plain
``nn.Module`` with two outputs the logit of class 1 minus that of class 0 (index 0 = live; see
``xfas.explain.base.resolve_target``).
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from xfas.errors import XfasError
from xfas.explain.base import (LOGIT, PROBABILITY, check_images, evaluating, model_device,
                               resolve_layer, resolve_target)
from xfas.explain.split import split_model
from xfas.progress import progress_bar
from xfas.sped.attribution import (ConceptExplanation, combine_maps, concept_maps,
                                   relative_activation, spatial_coefficients)
from xfas.sped.bank import ConceptBank, default_names, model_fingerprint, model_name
from xfas.sped.crops import CropGrid, crop_batches, make_crops, to_uint8, top_rows
from xfas.sped.designs import sobol_design, split_outputs
from xfas.sped.estimators import get_estimator
from xfas.sped.merge import Discovery, attack_groups, merge_discoveries
from xfas.sped.samplers import get_sampler
from xfas.sped.semi_nmf import SemiNMF

NMF_SETTINGS = ("init", "n_init", "max_iter", "tol", "eps", "inner_iter")
# One fit, at most 200 iterations, relative tolerance 1e-4: scikit-learn's NMF defaults, which
# CRAFT uses (how close that comes to a fully converged fit: docs/experiments.md).
CRAFT_NMF = {"n_init": 1, "max_iter": 200, "tol": 1e-4}


class SPED:
    """Concept discovery and concept attribution for a FAS model.

    Args:
        model: an xfas ``FASModel`` or any ``nn.Module`` classifier (index 0 = live).
        layer: the module to cut the model at (None: the model's default layer).
        n_concepts: K, the number of concepts (per attack type when ``fit`` is given the
            images' attacks: the bank then holds K per attack type).
        seed: seeds the Semi-NMF initialisation and the Halton masks.
        crop_fraction, crop_stride: crop side and step as fractions of the input side.
        n_designs: base points of the Sobol design (h runs n_designs * (K + 2) times per image).
        batch_size: most crops, images or perturbed activations in memory at once.
        progress: show progress bars during ``fit`` and long ``explain`` calls.
        activation_threshold: a concept is activated in an image when its mean coefficient
            is at least this fraction of its typical value (over the fit images).
        map_threshold: map values under this fraction of the map's maximum become 0.
        sampler, estimator: Sobol sampler ("halton", "sobol", "random") and total-order
            estimator ("jansen", "saltelli").
        top_crops: how many most activating crops per concept the bank keeps (Fig. 4; 0: none).
        nmf_options: ``SemiNMF`` settings (init, n_init, max_iter, tol, eps, inner_iter);
            default: one k-means initialisation, at most 200 iterations, tol 1e-4 (as CRAFT's
            scikit-learn NMF).
        transform_iter: U steps of the factorisation with W fixed. A fixed count (no early
            stop), so an image's maps do not depend on which images share its batch.
        importance_images: average the Sobol importances over at most this many of the fit
            images (a seeded subset; None: all). At a layer early in the network h is most of
            the model, and each image costs n_designs * (K + 2) passes through it.

    Learned state after ``fit`` (or ``load``): ``bank_`` (a ``ConceptBank``), ``nmf_``,
    ``components_`` (W, C x K), ``importances_`` (K,, summing to 1), ``importance_std_``,
    ``raw_importances_``, ``typical_activation_``, ``sources_`` (each concept's attack type,
    empty for pooled discovery); after ``fit`` only: ``image_importances_``
    (one row per image the importances were averaged over, K) and ``timings_`` (seconds per
    stage).

    Example:
        >>> sped = SPED(model, n_concepts=8).fit(spoof_images)       # (N, 3, H, W)
        >>> sped.save("bank.safetensors")
        >>> exp = SPED.load("bank.safetensors", model).explain(images)
        >>> exp.maps.shape                                             # (N, K, H, W)
    """

    def __init__(self, model: nn.Module, layer: str | None = None, n_concepts: int = 10,
                 *, seed: int = 0, crop_fraction: float = 0.5, crop_stride: float = 0.25,
                 n_designs: int = 32, batch_size: int = 64, progress: bool = True,
                 activation_threshold: float = 0.5, map_threshold: float = 0.1,
                 sampler: str = "halton", estimator: str = "jansen", top_crops: int = 8,
                 nmf_options: Mapping[str, Any] | None = None, transform_iter: int = 100,
                 importance_images: int | None = None) -> None:
        if not isinstance(model, nn.Module):
            raise XfasError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.layer = resolve_layer(model, layer)[0]
        self.n_concepts = n_concepts
        self.seed = seed
        self.crop_fraction = crop_fraction
        self.crop_stride = crop_stride
        self.n_designs = n_designs
        self.batch_size = batch_size
        self.progress = progress
        self.activation_threshold = activation_threshold
        self.map_threshold = map_threshold
        self.sampler = sampler
        self.estimator = estimator
        self.top_crops = top_crops
        self.nmf_options = dict(nmf_options or {})
        self.transform_iter = transform_iter
        self.importance_images = importance_images
        self._split: tuple[Callable, Callable, bool] | None = None

    # ------------------------------------------------------------------ checks and parts
    def _check_params(self) -> None:
        def positive_int(value: Any) -> bool:
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool) \
                and value >= 1

        checks = [
            ("n_concepts", positive_int(self.n_concepts), "a positive integer"),
            ("n_designs", positive_int(self.n_designs) and self.n_designs >= 2,
             "an integer >= 2"),
            ("batch_size", positive_int(self.batch_size), "a positive integer"),
            ("transform_iter", positive_int(self.transform_iter), "a positive integer"),
            ("importance_images", self.importance_images is None
             or positive_int(self.importance_images), "a positive integer or None"),
            ("top_crops", isinstance(self.top_crops, int) and self.top_crops >= 0,
             "an integer >= 0"),
            ("activation_threshold", isinstance(self.activation_threshold, (int, float))
             and self.activation_threshold >= 0, "a number >= 0"),
            ("map_threshold", isinstance(self.map_threshold, (int, float))
             and 0 <= self.map_threshold < 1, "a number in [0, 1)"),
        ]
        for name, ok, wanted in checks:
            if not ok:
                raise XfasError(f"{name}: must be {wanted}, got {getattr(self, name)!r}")
        unknown = set(self.nmf_options) - set(NMF_SETTINGS)
        if unknown:
            raise XfasError(f"nmf_options: unknown {sorted(unknown)}; valid: {NMF_SETTINGS}")
        get_sampler(self.sampler)
        get_estimator(self.estimator)
        CropGrid(self.crop_fraction, self.crop_stride)

    def _check_fitted(self) -> None:
        if not hasattr(self, "bank_"):
            raise XfasError("SPED: no concepts yet; call fit(images) or SPED.load(bank, model)")

    @property
    def device(self) -> torch.device:
        return model_device(self.model)

    def split(self) -> tuple[Callable, Callable, bool]:
        """(g, h, exact): the model cut at ``layer``; ``exact`` is False when h has to re-run
        the model on the inputs (no clean cut, ``split_model`` warns)."""
        if self._split is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                g, h = split_model(self.model, self.layer)
            for warning in caught:
                warnings.warn(str(warning.message), warning.category, stacklevel=3)
            exact = not any(issubclass(w.category, RuntimeWarning) for w in caught)
            self._split = (g, h, exact)
        return self._split

    @contextmanager
    def _inference(self) -> Iterator[None]:
        with evaluating(self.model), torch.no_grad():
            yield

    # ------------------------------------------------------------------ fitting
    def fit(self, images: torch.Tensor, attacks: Sequence[str] | None = None) -> "SPED":
        """Discover concepts on ``images`` (N, 3, H, W), preprocessed model inputs (spoof
        images), and rank them. Returns self.

        Without ``attacks``: ``n_concepts`` concepts found on all the images together. With
        ``attacks`` (one attack type per image): ``n_concepts`` concepts per attack type, each
        set found on that type's images alone, merged into one bank whose ``sources`` name
        each concept's attack type (``xfas.sped.merge``); the importances and typical
        activations are then computed on all the images together."""
        self._check_params()
        images = check_images(images, self.device)
        if attacks is None:
            return self.fit_discovered(images, self.discover(images))
        groups = attack_groups(attacks, int(images.shape[0]))
        parts = [self.discover(images[torch.as_tensor(rows, device=images.device)],
                               source=attack) for attack, rows in groups.items()]
        return self.fit_discovered(images, merge_discoveries(parts))

    def discover(self, images: torch.Tensor, source: str = "") -> Discovery:
        """Stages 1-3 on ``images``: crops, their pooled activations and the Semi-NMF, which
        gives ``n_concepts`` concept directions (not ranked yet), with each concept's most
        activating crops. ``source`` names the group of images (an attack type): in errors,
        and in the concepts' ``sources``."""
        self._check_params()
        images = check_images(images, self.device)
        height, width = images.shape[-2:]
        boxes = CropGrid(self.crop_fraction, self.crop_stride).boxes(height, width)
        what = f"images of {source!r}" if source else "images"
        if images.shape[0] * len(boxes) < self.n_concepts:
            raise XfasError(f"{what}: {images.shape[0]} images give {images.shape[0] * len(boxes)}"
                            f" crops, fewer than n_concepts={self.n_concepts}")
        g, _, _ = self.split()
        timings: dict[str, float] = {}
        with self._inference():
            clock = _Clock(self.device)
            pooled = self._crop_activations(g, images, boxes)
            timings["crops_and_activations"] = clock.lap()
            options = {**CRAFT_NMF, **self.nmf_options}
            nmf = _frozen(SemiNMF(self.n_concepts, seed=self.seed, progress=self.progress,
                                  **options).fit(pooled))
            timings["semi_nmf"] = clock.lap()
            crops = self._top_crops(images, boxes, nmf.coefficients_)
            timings["top_crops"] = clock.lap()
        return Discovery(nmf=nmf, layer=self.layer, top_crops=crops,
                         n_images=int(images.shape[0]), n_crops=int(pooled.shape[0]),
                         sources=[source] * self.n_concepts if source else [],
                         summary=_nmf_summary(nmf), timings=timings)

    def fit_discovered(self, images: torch.Tensor, discovery: Discovery) -> "SPED":
        """Stage 4 for the concepts of ``discovery`` (one ``discover``, or several merged):
        U with W fixed on the full views of ``images`` (all the images the concepts were
        found on), the concepts' typical activations and their Sobol importances, stored as
        ``bank_``. Returns self."""
        self._check_params()
        images = check_images(images, self.device)
        if discovery.layer != self.layer:
            raise XfasError(f"discovery: made at layer {discovery.layer!r}, this SPED cuts "
                            f"the model at {self.layer!r}")
        height, width = images.shape[-2:]
        nmf = discovery.nmf.to(self.device)
        g, h, exact = self.split()
        timings = dict(discovery.timings)
        with self._inference():
            clock = _Clock(self.device)
            coefficients = self._image_coefficients(g, nmf, images)
            timings["image_coefficients"] = clock.lap()
            chosen = self._importance_subset(int(images.shape[0]), images.device)
            per_image = self._importance(h, coefficients[chosen], nmf.components_,
                                         images=images[chosen], exact=exact)
            timings["importance"] = clock.lap()
        raw = per_image.mean(dim=0)
        spread = per_image.std(dim=0, correction=0)
        total = float(raw.sum())
        scale = total if total > 0 else 1.0
        self.image_importances_ = per_image.cpu().numpy()
        self.timings_ = timings
        bank = ConceptBank(
            components=nmf.components_.float().cpu(),
            importances=(raw / scale).cpu().numpy(), importance_std=(spread / scale).cpu().numpy(),
            raw_importances=raw.cpu().numpy(), raw_importance_std=spread.cpu().numpy(),
            typical_activation=coefficients.mean(dim=(0, 2, 3)).double().cpu().numpy(),
            names=default_names(discovery.n_concepts), sources=list(discovery.sources),
            layer=self.layer, model_name=model_name(self.model),
            model_fingerprint=model_fingerprint(self.model),
            input_size=(int(height), int(width)), grid=tuple(coefficients.shape[-2:]),
            crop_fraction=float(self.crop_fraction),
            crop_stride=float(self.crop_stride), n_designs=int(self.n_designs),
            sampler=self.sampler, estimator=self.estimator, seed=int(self.seed),
            activation_threshold=float(self.activation_threshold),
            map_threshold=float(self.map_threshold), n_images=int(images.shape[0]),
            n_crops=discovery.n_crops, nmf=dict(discovery.summary),
            top_crops=discovery.top_crops)
        self._set_bank(bank, nmf)
        return self

    def _importance_subset(self, n_images: int, device: torch.device) -> torch.Tensor:
        """The images the Sobol importances are averaged over: all of them, or a seeded subset
        of ``importance_images`` (each costs n_designs * (K + 2) passes through h)."""
        if self.importance_images is None or self.importance_images >= n_images:
            return torch.arange(n_images, device=device)
        rng = np.random.default_rng(self.seed)
        chosen = np.sort(rng.choice(n_images, size=self.importance_images, replace=False))
        return torch.as_tensor(chosen, device=device)

    def _crop_activations(self, g: Callable, images: torch.Tensor, boxes: list) -> torch.Tensor:
        """Stages 1-2: A = spatial mean of g over every crop -> (N * len(boxes), C)."""
        total = images.shape[0] * len(boxes)
        pooled = []
        with progress_bar(self.progress) as bar:
            task = bar.add_task("crops -> activations", total=total)
            for crops in crop_batches(images, boxes, self.batch_size):
                activations = g(crops)
                pooled.append(activations.flatten(2).mean(dim=2) if activations.ndim > 2
                              else activations)
                bar.advance(task, crops.shape[0])
        return torch.cat(pooled)

    def _image_coefficients(self, g: Callable, nmf: SemiNMF, images: torch.Tensor
                            ) -> torch.Tensor:
        """U with W fixed on the images' full views -> (N, K, h, w)."""
        parts = []
        for start in range(0, images.shape[0], self.batch_size):
            activations = _spatial(g(images[start:start + self.batch_size]), self.layer)
            parts.append(spatial_coefficients(nmf, activations, self.transform_iter))
        return torch.cat(parts)

    def _importance(self, h: Callable, coefficients: torch.Tensor, components: torch.Tensor,
                    *, images: torch.Tensor, exact: bool) -> torch.Tensor:
        """Stage 4: total Sobol index of each concept for each image -> (N, K) float64.

        The perturbed activations of image i for a mask row m are sum_k m_k P_ik with
        P_ik = W[:, k] U_i[:, k]^T (C x hw), i.e. (U_i * m) W^T laid out as (C, h, w): one
        (rows x K) @ (K x C hw) product per chunk, ``batch_size`` rows at a time."""
        n_images, k, rows_h, rows_w = coefficients.shape
        design = sobol_design(self.n_designs, k, sampler=self.sampler, seed=self.seed,
                              device=coefficients.device, dtype=coefficients.dtype)
        per_image = design.shape[0]
        directions = components.to(coefficients)  # (C, K)
        score = resolve_target(self.model, "spoof", n_images, kind=LOGIT)
        group = max(1, self.batch_size // per_image)  # whole images per chunk when they fit
        step = per_image if group > 1 else self.batch_size
        outputs = torch.empty(n_images, per_image, device=coefficients.device,
                              dtype=torch.float64)
        with progress_bar(self.progress) as bar:
            task = bar.add_task("Sobol importance", total=n_images * per_image)
            for first in range(0, n_images, group):
                last = min(first + group, n_images)
                # P (G, K, C * hw): concept k's part of each image's activations
                parts = torch.einsum("ck,gkp->gkcp", directions,
                                     coefficients[first:last].flatten(2)).flatten(2)
                for start in range(0, per_image, step):
                    masks = design[start:start + step]
                    activations = (masks @ parts).reshape(-1, directions.shape[0], rows_h,
                                                          rows_w)
                    which = torch.arange(first, last, device=masks.device
                                         ).repeat_interleave(masks.shape[0])
                    inputs = None if exact else images[which]
                    values = score(h(activations, inputs), which).double()
                    outputs[first:last, start:start + masks.shape[0]] = values.reshape(
                        last - first, masks.shape[0])
                    bar.advance(task, values.shape[0])
        if not bool(torch.isfinite(outputs).all()):
            raise XfasError(f"model: non-finite spoof scores on the Sobol design at layer "
                            f"{self.layer!r}")
        f_a, f_b, f_c = split_outputs(outputs.mT, self.n_designs, k)
        return get_estimator(self.estimator)(f_a, f_b, f_c).mT  # (N, K)

    def _effects(self, h: Callable, coefficients: torch.Tensor, *, images: torch.Tensor,
                 exact: bool) -> torch.Tensor:
        """Stage 6: each concept's signed effect on each image's spoof log-odds -> (N, K).

        Per image, K + 1 rebuilt activations through h in batches: U_i W^T (all concepts) and,
        for each k, U_i W^T with column k of U_i zeroed; effect_k = logit(all) - logit(no k)."""
        n_images, k, rows_h, rows_w = coefficients.shape
        directions = self.components_.to(coefficients)  # (C, K)
        masks = torch.cat([torch.ones(1, k), 1.0 - torch.eye(k)]).to(coefficients)  # (K+1, K)
        score = resolve_target(self.model, "spoof", n_images, kind=LOGIT)
        group = max(1, self.batch_size // (k + 1))
        logits = torch.empty(n_images, k + 1, device=coefficients.device, dtype=torch.float64)
        for first in range(0, n_images, group):
            last = min(first + group, n_images)
            parts = torch.einsum("ck,gkp->gkcp", directions,
                                 coefficients[first:last].flatten(2)).flatten(2)
            activations = (masks @ parts).reshape(-1, directions.shape[0], rows_h, rows_w)
            which = torch.arange(first, last, device=coefficients.device
                                 ).repeat_interleave(k + 1)
            values = score(h(activations, None if exact else images[which]), which).double()
            logits[first:last] = values.reshape(last - first, k + 1)
        return (logits[:, :1] - logits[:, 1:]).float()

    def _top_crops(self, images: torch.Tensor, boxes: list, u: torch.Tensor
                   ) -> torch.Tensor | None:
        """The ``top_crops`` most activating crops of each concept, RGB uint8 (K, T, 3, H, W)."""
        if self.top_crops == 0:
            return None
        top = min(self.top_crops, images.shape[0])
        rows = top_rows(u, len(boxes), top).to(images.device)
        crops = make_crops(images, boxes, rows.flatten())
        pixels = to_uint8(crops, getattr(self.model, "channel_order", "RGB"),
                          getattr(self.model, "pixel_scale", 1 / 255))
        return pixels.reshape(u.shape[1], top, *pixels.shape[1:]).cpu()

    # ------------------------------------------------------------------ learned state
    def _set_bank(self, bank: ConceptBank, nmf: SemiNMF | None = None) -> None:
        if nmf is None:
            defaults = SemiNMF(bank.n_concepts)
            settings = {key: bank.nmf.get(key, getattr(defaults, key)) for key in NMF_SETTINGS
                        if key != "inner_iter"}
            nmf = SemiNMF.from_state({"components": bank.components, "n_components":
                                      bank.n_concepts, "seed": bank.seed, **settings},
                                     progress=False)
        self.nmf_ = nmf.to(self.device)
        self.bank_ = bank

    @property
    def components_(self) -> torch.Tensor:
        self._check_fitted()
        return self.nmf_.components_

    @property
    def importances_(self) -> np.ndarray:
        self._check_fitted()
        return self.bank_.importances

    @property
    def importance_std_(self) -> np.ndarray:
        self._check_fitted()
        return self.bank_.importance_std

    @property
    def raw_importances_(self) -> np.ndarray:
        self._check_fitted()
        return self.bank_.raw_importances

    @property
    def typical_activation_(self) -> np.ndarray:
        self._check_fitted()
        return self.bank_.typical_activation

    @property
    def sources_(self) -> list[str]:
        self._check_fitted()
        return list(self.bank_.sources)

    @property
    def names(self) -> list[str]:
        """The K concept names ("concept 1" .. until named)."""
        return list(self.bank_.names) if hasattr(self, "bank_") else default_names(
            self.n_concepts)

    def set_names(self, names: Mapping[int | str, str]) -> "SPED":
        """Name concepts: ``{index: label}`` with 0-based indices. Returns self."""
        self._check_fitted()
        self.bank_ = self.bank_.with_names(names)
        return self

    # ------------------------------------------------------------------ explaining
    def explain(self, images: torch.Tensor) -> ConceptExplanation:
        """Per image and concept: maps (N, K, H, W), relative activations, activated flags,
        signed effects on the spoof log-odds, plus the importances, names, spoof
        probabilities and the combined map."""
        self._check_fitted()
        images = check_images(images, self.device)
        if tuple(images.shape[-2:]) != tuple(self.bank_.input_size):
            raise XfasError(f"images: {images.shape[-1]}x{images.shape[-2]} inputs, but the "
                            f"concepts were learned on {self.bank_.input_size[1]}x"
                            f"{self.bank_.input_size[0]} inputs of {self.bank_.model_name}")
        g, h, exact = self.split()
        probability = resolve_target(self.model, "spoof", images.shape[0], kind=PROBABILITY)
        parts, scores = [], []
        with self._inference():
            for start in range(0, images.shape[0], self.batch_size):
                batch = images[start:start + self.batch_size]
                activations = _spatial(g(batch), self.layer)
                parts.append(spatial_coefficients(self.nmf_, _finite(activations),
                                                  self.transform_iter))
                rows = torch.arange(start, start + batch.shape[0], device=batch.device)
                scores.append(probability(h(activations, None if exact else batch), rows))
            coefficients = torch.cat(parts)
            effects = self._effects(h, coefficients, images=images, exact=exact)
        typical = torch.as_tensor(self.bank_.typical_activation, device=coefficients.device)
        activation = relative_activation(coefficients, typical).float()
        activated = activation >= self.activation_threshold
        ungated = torch.nan_to_num(concept_maps(coefficients, tuple(images.shape[-2:]),
                                                self.map_threshold),
                                   nan=0.0, posinf=0.0, neginf=0.0)
        maps = ungated * activated[:, :, None, None]  # absent concepts: all zero
        importance = torch.as_tensor(self.bank_.importances, dtype=torch.float32,
                                     device=maps.device)
        return ConceptExplanation(maps=maps, ungated_maps=ungated, activation=activation,
                                  activated=activated,
                                  importance=importance, names=self.names,
                                  spoof_probability=torch.cat(scores).float(),
                                  combined=combine_maps(maps, importance, activated),
                                  effects=effects)

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the concept bank (safetensors + JSON header, no pickle) to ``path``."""
        self._check_fitted()
        self.bank_.activation_threshold = float(self.activation_threshold)
        self.bank_.map_threshold = float(self.map_threshold)
        return self.bank_.save(path)

    @classmethod
    def from_bank(cls, bank: ConceptBank, model: nn.Module, source: str = "concept bank",
                  **options: Any) -> "SPED":
        """A fitted SPED from ``bank`` on ``model``; XfasError naming both fingerprints when
        the bank was learned on another model. ``options`` (batch_size, progress,
        activation_threshold, ...) override the bank's settings."""
        fingerprint = model_fingerprint(model)
        if fingerprint != bank.model_fingerprint:
            raise XfasError(f"{source}: made on model {bank.model_name} (fingerprint "
                            f"{bank.model_fingerprint}), but this model is {model_name(model)} "
                            f"(fingerprint {fingerprint}); discover concepts for this model "
                            "with `xfas concepts discover`")
        settings = dict(layer=bank.layer, n_concepts=bank.n_concepts, seed=bank.seed,
                        crop_fraction=bank.crop_fraction, crop_stride=bank.crop_stride,
                        n_designs=bank.n_designs, sampler=bank.sampler,
                        estimator=bank.estimator, activation_threshold=bank.activation_threshold,
                        map_threshold=bank.map_threshold)
        settings.update(options)
        sped = cls(model, **settings)
        sped._check_params()
        sped._set_bank(bank)
        return sped

    @classmethod
    def load(cls, path: str | Path, model: nn.Module, **options: Any) -> "SPED":
        """Read a bank written by ``save`` for ``model`` (see ``from_bank``)."""
        return cls.from_bank(ConceptBank.load(path), model, source=str(path), **options)


def _spatial(activations: torch.Tensor, layer: str) -> torch.Tensor:
    if activations.ndim != 4:
        raise XfasError(f"layer {layer!r}: SPED needs spatial activations (N, C, h, w), got "
                        f"shape {tuple(activations.shape)}; choose a convolutional layer")
    return activations


def _frozen(nmf: SemiNMF) -> SemiNMF:
    """The fitted estimator rebuilt from its state with contiguous float32 components, exactly
    as ``load`` rebuilds it, so explanations right after ``fit`` equal those after a reload."""
    state = nmf.state_dict()
    state["components"] = state["components"].float().contiguous()
    frozen = SemiNMF.from_state(state, progress=False)
    frozen.inner_iter = nmf.inner_iter
    return frozen


def _nmf_summary(nmf: SemiNMF) -> dict[str, Any]:
    error = float(nmf.reconstruction_error_)
    return {"init": nmf.init, "n_init": int(nmf.n_init), "max_iter": int(nmf.max_iter),
            "tol": float(nmf.tol), "eps": float(nmf.eps), "inner_iter": int(nmf.inner_iter),
            "n_iter": int(nmf.n_iter_),
            "reconstruction_error": error if math.isfinite(error) else None}


class _Clock:
    """Wall-clock laps that wait for the device to finish first."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.last = self._now()

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def lap(self) -> float:
        now = self._now()
        elapsed, self.last = now - self.last, now
        return elapsed


def _finite(activations: torch.Tensor) -> torch.Tensor:
    """Activations with NaN and infinite values (from NaN or huge input pixels) set to 0, so
    such cells count as showing no concept instead of breaking the factorisation."""
    return torch.nan_to_num(activations, nan=0.0, posinf=0.0, neginf=0.0)
