"""X-FAS benchmark metrics for explanation maps: localisation against a ground-truth mask
(IoU / nIoU of the top-x % pixels, pointing game) and faithfulness to the model (deletion and
insertion AUC, RISE), plus the NaN-aware mean and bootstrap interval used in the tables.

Maps and masks are 2-D (H, W) numpy arrays or torch tensors of the same shape. A mask is
binary: bool, or numbers where > 0.5 counts as inside. Every ranking of a map's pixels uses
one rule (``pixel_order``): decreasing value, ties broken by a random permutation seeded by
``seed``, so a flat map selects pixels spread over the image (not a corner) and the same seed
always selects the same ones.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from xfas.errors import XfasError
from xfas.explain.regions import gaussian_blur
from xfas.progress import tracked

ScoreFn = Callable[[torch.Tensor], torch.Tensor]
Baseline = str | torch.Tensor | np.ndarray

BLUR_KERNEL = 11  # RISE's insertion baseline: a Gaussian blur, 11 x 11 kernel, sigma 5
BLUR_SIGMA = 5.0


# --- input checks ------------------------------------------------------------------------------

def _numpy_2d(values: Any, name: str) -> np.ndarray:
    """A (H, W) numpy view of a numpy array or torch tensor."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 2:
        raise XfasError(f"{name}: expected a 2-D (H, W) array, got shape {array.shape}")
    if array.size == 0:
        raise XfasError(f"{name}: empty, shape {array.shape}")
    return array


def _map_values(saliency: Any, name: str = "map") -> np.ndarray:
    """The map as float64 (H, W); NaN is an error (it has no place in a ranking)."""
    array = _numpy_2d(saliency, name).astype(np.float64)
    if np.isnan(array).any():
        raise XfasError(f"{name}: contains {int(np.isnan(array).sum())} NaN value(s)")
    return array


def _mask_values(mask: Any) -> np.ndarray:
    """The mask as bool (H, W): bool as is, numbers > 0.5 inside."""
    array = _numpy_2d(mask, "mask")
    return array if array.dtype == bool else array.astype(np.float64) > 0.5


def _same_shape(mask: np.ndarray, saliency: np.ndarray) -> None:
    if mask.shape != saliency.shape:
        raise XfasError(f"mask and map: shapes differ, mask {tuple(mask.shape)} vs map "
                        f"{tuple(saliency.shape)}")


def selection_size(n_pixels: int, fraction: float) -> int:
    """How many pixels a top-``fraction`` selection of ``n_pixels`` holds:
    round(fraction * n_pixels), halves rounded up."""
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise XfasError(f"fraction: must be in [0, 1], got {fraction}")
    return int(math.floor(fraction * n_pixels + 0.5))


# --- ranking and binarisation ------------------------------------------------------------------

def pixel_order(map: Any, seed: int = 0) -> np.ndarray:  # noqa: A002 (the benchmark's term)
    """Flat (row-major) pixel indices from most to least important.

    Sorted by decreasing map value; equal values keep the order of a random permutation of
    the pixels drawn with ``numpy.random.default_rng(seed)``, so ties are broken the same
    way for the same seed and shape, and spread uniformly over the image.
    """
    values = _map_values(map).ravel()
    permutation = np.random.default_rng(seed).permutation(values.size)
    return permutation[np.argsort(-values[permutation], kind="stable")]


def binarize_top(map: Any, fraction: float = 0.3, seed: int = 0) -> Any:  # noqa: A002
    """A mask of exactly round(fraction * H * W) pixels (halves up): the map's highest pixels,
    ties broken by ``pixel_order``'s seeded permutation.

    Returns:
        a bool array like the input: a numpy array, or a torch tensor on the map's device.
    """
    values = _map_values(map)
    chosen = np.zeros(values.size, dtype=bool)
    chosen[pixel_order(values, seed)[:selection_size(values.size, fraction)]] = True
    chosen = chosen.reshape(values.shape)
    if isinstance(map, torch.Tensor):
        return torch.from_numpy(chosen).to(map.device)
    return chosen


# --- localisation ------------------------------------------------------------------------------

def _iou_parts(mask: Any, saliency: Any, fraction: float, *, seed: int
               ) -> tuple[float, float, float]:
    """(IoU, x, y): x the share of pixels selected, y the mask's share; IoU NaN if no mask."""
    inside = _mask_values(mask)
    values = _map_values(saliency)
    _same_shape(inside, values)
    n_pixels = values.size
    k = selection_size(n_pixels, fraction)
    if k == 0:
        raise XfasError(f"fraction: {fraction} of {n_pixels} pixels selects no pixel")
    selected = binarize_top(values, fraction, seed)
    n_mask = int(inside.sum())
    if n_mask == 0:
        return math.nan, k / n_pixels, 0.0
    intersection = int((selected & inside).sum())
    union = k + n_mask - intersection
    return intersection / union, k / n_pixels, n_mask / n_pixels


def iou(mask: Any, map: Any, fraction: float = 0.3, *, seed: int = 0) -> float:  # noqa: A002
    """IoU between the mask and the map's top-``fraction`` pixels (``binarize_top``).
    NaN for an empty mask (callers leave NaN out of means and count it)."""
    return float(_iou_parts(mask, map, fraction, seed=seed)[0])


def niou(mask: Any, map: Any, fraction: float = 0.3, *, seed: int = 0) -> float:  # noqa: A002
    """Normalised IoU = IoU * max(x, y) / min(x, y) (X-FAS benchmark, SPED paper).

    x = k / (H W) is the share actually selected (k = round(fraction H W)), y the mask's
    share. A selection of x H W pixels reaches at most IoU = min(x, y) / max(x, y) against a
    mask of y H W pixels, so nIoU = 1 is the best any such selection can do. NaN for an empty
    mask.
    """
    value, x, y = _iou_parts(mask, map, fraction, seed=seed)
    if math.isnan(value):
        return math.nan
    return float(value * max(x, y) / min(x, y))


def pointing_game(mask: Any, map: Any, seed: int = 0) -> float:  # noqa: A002
    """1.0 when the map's maximum lies in the mask, else 0.0; NaN for an empty mask.

    With several maxima, the first in ``pixel_order``'s seeded permutation counts (not "any
    maximum"), so a flat map hits with probability equal to the mask's share of pixels
    instead of always.
    """
    inside = _mask_values(mask)
    values = _map_values(map)
    _same_shape(inside, values)
    if not inside.any():
        return math.nan
    return float(inside.ravel()[pixel_order(values, seed)[0]])


# --- faithfulness (RISE, Petsiuk et al. 2018) ----------------------------------------------------

def _baselines(images: torch.Tensor, baseline: Baseline) -> torch.Tensor:
    """The (N, C, H, W) images that removed pixels are replaced by / insertion starts from."""
    if isinstance(baseline, str):
        if baseline == "blur":
            return gaussian_blur(images, BLUR_SIGMA, radius=BLUR_KERNEL // 2)
        if baseline == "zero":
            return torch.zeros_like(images)
        if baseline == "mean":
            return images.mean(dim=(2, 3), keepdim=True).expand_as(images)
        raise XfasError(f"baseline: unknown name {baseline!r}; use 'blur', 'zero', 'mean' "
                        "or a tensor")
    value = torch.as_tensor(baseline, dtype=images.dtype, device=images.device)
    try:
        return torch.broadcast_to(value, images.shape)
    except RuntimeError:
        raise XfasError(f"baseline: shape {tuple(value.shape)} does not broadcast to the "
                        f"images' shape {tuple(images.shape)}") from None


def _step_counts(n_pixels: int, steps: int) -> np.ndarray:
    """Pixels changed after each of steps + 1 stages: round(i * n / steps), i = 0..steps."""
    if int(steps) != steps or steps < 1:
        raise XfasError(f"steps: must be a positive integer, got {steps}")
    i = np.arange(steps + 1, dtype=np.int64)
    return (2 * i * n_pixels + steps) // (2 * steps)


def perturbation_curves(score_fn: ScoreFn, images: Any, maps: Any, *, mode: str,
                        steps: int = 32, baseline: Baseline = "zero", batch_size: int = 32,
                        seed: int = 0, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Deletion or insertion curves of several images (RISE, Petsiuk et al. 2018, sec. 4.1).

    Pixels are taken in ``pixel_order`` of each map (highest first, seeded ties), in ``steps``
    equal steps of round(i * H W / steps) pixels. "deletion" replaces them by the baseline in
    the image; "insertion" starts from the baseline and reveals the image's pixels (all
    channels of a pixel together). ``score_fn`` maps a (B, C, H, W) batch to (B,) scores; it
    is called under ``torch.no_grad`` on batches of at most ``batch_size`` perturbed images,
    built only when needed, so memory stays bounded.

    Args:
        images: (N, C, H, W) tensor (or array, or sequence of (C, H, W)).
        maps: (N, H, W), one map per image, of the images' H x W.
        baseline: "zero", "mean" (each channel's mean), "blur" (Gaussian, RISE's 11 x 11,
            sigma 5) or a tensor broadcastable to the images.

    Returns:
        ``(fractions, scores)``: fractions (steps + 1,) of pixels changed, from 0 to 1, and
        scores (N, steps + 1).
    """
    if mode not in ("deletion", "insertion"):
        raise XfasError(f"mode: must be 'deletion' or 'insertion', got {mode!r}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise XfasError(f"batch_size: must be a positive integer, got {batch_size}")
    if not isinstance(images, torch.Tensor):
        images = (torch.stack([torch.as_tensor(i) for i in images])
                  if isinstance(images, (list, tuple)) else torch.as_tensor(images))
    if images.ndim != 4:
        raise XfasError(f"images: expected (N, C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        images = images.float()
    n_images, _, height, width = images.shape
    if isinstance(maps, (list, tuple)):
        map_list = list(maps)
    else:
        map_list = list(maps.detach().cpu().numpy() if isinstance(maps, torch.Tensor)
                        else np.asarray(maps))
    if len(map_list) != n_images:
        raise XfasError(f"maps: {len(map_list)} map(s) for {n_images} image(s)")
    ranks = np.empty((n_images, height * width), dtype=np.int64)
    for index, saliency in enumerate(map_list):
        values = _map_values(saliency, f"maps[{index}]")
        if values.shape != (height, width):
            raise XfasError(f"maps[{index}] and images: map shape {values.shape} differs from "
                            f"the images' (H, W) {(height, width)}")
        ranks[index, pixel_order(values, seed)] = np.arange(height * width)
    counts = _step_counts(height * width, steps)
    device = images.device
    rank_t = torch.from_numpy(ranks).to(device)
    count_t = torch.from_numpy(counts).to(device)
    with torch.no_grad():
        backgrounds = _baselines(images, baseline)
        first, second = (backgrounds, images) if mode == "deletion" else (images, backgrounds)
        pairs = [(i, s) for i in range(n_images) for s in range(steps + 1)]
        chunks = [pairs[start:start + batch_size] for start in range(0, len(pairs), batch_size)]
        scores = np.empty((n_images, steps + 1), dtype=np.float64)
        for chunk in tracked(chunks, f"{mode} curves", progress):
            image_index = torch.tensor([i for i, _ in chunk], device=device)
            step_index = torch.tensor([s for _, s in chunk], device=device)
            changed = rank_t[image_index] < count_t[step_index][:, None]
            changed = changed.view(len(chunk), 1, height, width)
            batch = torch.where(changed, first[image_index], second[image_index])
            out = torch.as_tensor(score_fn(batch)).detach().float().reshape(-1).cpu().numpy()
            if out.size != len(chunk):
                raise XfasError(f"score_fn: returned {out.size} score(s) for a batch of "
                                f"{len(chunk)}; it must map (B, C, H, W) to (B,)")
            for (i, s), value in zip(chunk, out):
                scores[i, s] = value
    return counts / (height * width), scores


def curve_auc(fractions: np.ndarray, scores: np.ndarray) -> np.ndarray | float:
    """Trapezoid-rule area under score(fraction) over fraction in [0, 1], i.e. the curve's
    mean score (the interval has length 1). Works on the last axis of ``scores``."""
    widths = np.diff(fractions)
    area = (0.5 * (scores[..., 1:] + scores[..., :-1]) * widths).sum(axis=-1)
    return float(area) if np.ndim(area) == 0 else area


def _single(score_fn: ScoreFn, image: Any, map: Any, *, mode: str, steps: int,  # noqa: A002
            baseline: Baseline, batch_size: int, seed: int) -> float:
    image = torch.as_tensor(image)
    if image.ndim != 3:
        raise XfasError(f"image: expected (C, H, W), got shape {tuple(image.shape)}")
    values = _map_values(map)
    if values.shape != tuple(image.shape[1:]):
        raise XfasError(f"image and map: map shape {values.shape} differs from the image's "
                        f"(H, W) {tuple(image.shape[1:])}")
    if isinstance(baseline, (torch.Tensor, np.ndarray)):
        baseline = torch.as_tensor(baseline)
    fractions, scores = perturbation_curves(score_fn, image[None], values[None], mode=mode,
                                            steps=steps, baseline=baseline,
                                            batch_size=batch_size, seed=seed, progress=False)
    return float(curve_auc(fractions, scores[0]))


def deletion_auc(score_fn: ScoreFn, image: Any, map: Any, *, steps: int = 32,  # noqa: A002
                 baseline: Baseline = "zero", batch_size: int = 32, seed: int = 0) -> float:
    """Deletion AUC (RISE): the mean score while the map's most important pixels are replaced
    by the baseline, most important first; lower = the map found what the score needs.
    The default baseline "zero" is RISE's for deletion. See ``perturbation_curves``."""
    return _single(score_fn, image, map, mode="deletion", steps=steps, baseline=baseline,
                   batch_size=batch_size, seed=seed)


def insertion_auc(score_fn: ScoreFn, image: Any, map: Any, *, steps: int = 32,  # noqa: A002
                  baseline: Baseline = "blur", batch_size: int = 32, seed: int = 0) -> float:
    """Insertion AUC (RISE): the mean score while the map's most important pixels are revealed
    on the baseline, most important first; higher = better. The default baseline "blur" is
    RISE's for insertion. See ``perturbation_curves``."""
    return _single(score_fn, image, map, mode="insertion", steps=steps, baseline=baseline,
                   batch_size=batch_size, seed=seed)


def deletion_aucs(score_fn: ScoreFn, images: Any, maps: Any, *, steps: int = 32,
                  baseline: Baseline = "zero", batch_size: int = 32, seed: int = 0,
                  progress: bool = True) -> list[float]:
    """``deletion_auc`` of each of several images, their steps sharing batches."""
    fractions, scores = perturbation_curves(score_fn, images, maps, mode="deletion", steps=steps,
                                            baseline=baseline, batch_size=batch_size, seed=seed,
                                            progress=progress)
    return [float(v) for v in curve_auc(fractions, scores)]


def insertion_aucs(score_fn: ScoreFn, images: Any, maps: Any, *, steps: int = 32,
                   baseline: Baseline = "blur", batch_size: int = 32, seed: int = 0,
                   progress: bool = True) -> list[float]:
    """``insertion_auc`` of each of several images, their steps sharing batches."""
    fractions, scores = perturbation_curves(score_fn, images, maps, mode="insertion", steps=steps,
                                            baseline=baseline, batch_size=batch_size, seed=seed,
                                            progress=progress)
    return [float(v) for v in curve_auc(fractions, scores)]


# --- aggregation -------------------------------------------------------------------------------

def _without_nan(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, int]:
    array = np.asarray(values, dtype=np.float64).ravel()
    nan = np.isnan(array)
    return array[~nan], int(nan.sum())


def mean_ignoring_nan(values: Sequence[float] | np.ndarray) -> tuple[float, int, int]:
    """(mean over the non-NaN values, how many were used, how many were NaN); the mean is NaN
    when no value is left."""
    used, n_nan = _without_nan(values)
    mean = float(used.mean()) if used.size else math.nan
    return mean, int(used.size), n_nan


def bootstrap_ci(values: Sequence[float] | np.ndarray, n_boot: int = 1000,
                 alpha: float = 0.05, *, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean over images, NaN values left out:
    the alpha/2 and 1 - alpha/2 quantiles of the means of ``n_boot`` resamples (with
    replacement, same size) drawn with ``numpy.random.default_rng(seed)``.
    (NaN, NaN) when no value is left."""
    if int(n_boot) != n_boot or n_boot < 1:
        raise XfasError(f"n_boot: must be a positive integer, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise XfasError(f"alpha: must be in (0, 1), got {alpha}")
    used, _ = _without_nan(values)
    if used.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    rows = max(1, 2_000_000 // used.size)  # resamples per chunk: bounded memory
    means = np.concatenate([
        used[rng.integers(0, used.size, size=(min(rows, n_boot - start), used.size))].mean(1)
        for start in range(0, n_boot, rows)])
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
