"""X-FAS benchmark metrics: hand-computed IoU / nIoU, exact top-k binarisation, seeded tie
breaking, analytic deletion / insertion curves, NaN-aware aggregation and bootstrap."""

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter

from xfas.benchmark.metrics import (binarize_top, bootstrap_ci, deletion_auc, deletion_aucs,
                                    insertion_auc, insertion_aucs, iou, mean_ignoring_nan, niou,
                                    perturbation_curves, pointing_game)
from xfas.errors import XfasError

from helpers.tolerance import assert_close

# A 10 x 10 map decreasing in row-major order: its top 30 % (30 pixels) are rows 0-2.
RAMP = (100 - np.arange(100, dtype=np.float64)).reshape(10, 10)


def rows_mask(first: int, last: int) -> np.ndarray:
    """Mask of rows first..last (inclusive) of a 10 x 10 image."""
    mask = np.zeros((10, 10), dtype=bool)
    mask[first:last + 1] = True
    return mask


def test_iou_niou_mask_smaller_than_selection():
    # mask rows 0-1: y = 0.2 < x = 0.3; selection rows 0-2 contains it: IoU = 20 / 30,
    # nIoU = 2/3 * 0.3 / 0.2 = 1
    assert_close(iou(rows_mask(0, 1), RAMP), 2 / 3)
    assert_close(niou(rows_mask(0, 1), RAMP), 1.0)


def test_iou_niou_mask_larger_than_selection():
    # mask rows 0-4: y = 0.5 > x = 0.3; selection inside it: IoU = 30 / 50,
    # nIoU = 0.6 * 0.5 / 0.3 = 1
    assert_close(iou(rows_mask(0, 4), RAMP), 0.6)
    assert_close(niou(rows_mask(0, 4), RAMP), 1.0)


def test_iou_niou_partial_overlap():
    # mask rows 2-5 (40 px, y = 0.4); selection rows 0-2: intersection row 2 = 10,
    # union 30 + 40 - 10 = 60: IoU = 1/6, nIoU = 1/6 * 0.4 / 0.3 = 2/9
    assert_close(iou(rows_mask(2, 5), RAMP), 1 / 6)
    assert_close(niou(rows_mask(2, 5), RAMP), 2 / 9)
    # fraction 0.5: selection rows 0-4, intersection rows 2-4 = 30, union 50 + 40 - 30 = 60:
    # IoU = 1/2, nIoU = 1/2 * 0.5 / 0.4 = 5/8
    assert_close(iou(rows_mask(2, 5), RAMP, fraction=0.5), 1 / 2)
    assert_close(niou(rows_mask(2, 5), RAMP, fraction=0.5), 5 / 8)


def test_map_equal_to_mask_reaches_the_bound():
    # map = mask (ones inside): the top 30 take all mask pixels first (then random zeros) when
    # y < x, or 30 of the mask pixels when y > x; IoU = min(x, y) / max(x, y), nIoU = 1
    for mask, expected in ((rows_mask(0, 1), 20 / 30), (rows_mask(3, 7), 30 / 50),
                           (rows_mask(5, 7), 1.0)):
        for seed in range(3):
            assert_close(iou(mask, mask.astype(float), seed=seed), expected)
            assert_close(niou(mask, mask.astype(float), seed=seed), 1.0)


def test_empty_mask_gives_nan_and_shapes_must_match():
    empty = np.zeros((10, 10), dtype=bool)
    assert math.isnan(iou(empty, RAMP))
    assert math.isnan(niou(empty, RAMP))
    assert math.isnan(pointing_game(empty, RAMP))
    with pytest.raises(XfasError, match=r"mask \(10, 10\) vs map \(8, 10\)"):
        iou(rows_mask(0, 1), RAMP[:8])
    with pytest.raises(XfasError, match="NaN"):
        binarize_top(np.full((4, 4), np.nan))


def test_torch_and_numpy_agree():
    rng = np.random.default_rng(3)
    saliency = rng.random((12, 9)).round(1)  # many ties
    mask = rng.random((12, 9)) > 0.6
    selected = binarize_top(torch.from_numpy(saliency), 0.3, seed=5)
    assert isinstance(selected, torch.Tensor) and selected.dtype == torch.bool
    assert np.array_equal(selected.numpy(), binarize_top(saliency, 0.3, seed=5))
    assert_close(niou(torch.from_numpy(mask), torch.from_numpy(saliency)), niou(mask, saliency))


@settings(max_examples=150, deadline=None)
@given(height=st.integers(1, 40), width=st.integers(1, 40),
       fraction=st.floats(0.0, 1.0), seed=st.integers(0, 2**31), levels=st.integers(1, 50))
@example(height=35, width=35, fraction=0.58, seed=0, levels=1)  # an exact half: 710.5 -> 711
def test_binarize_top_count_is_exact_and_selects_the_top(height, width, fraction, seed,
                                                         levels):
    rng = np.random.default_rng(seed)
    saliency = rng.integers(0, levels, (height, width)).astype(float)  # few levels: ties
    selected = binarize_top(saliency, fraction, seed=seed)
    assert selected.shape == (height, width)
    # round(fraction x pixel count), halves up; the product taken as the code takes it, since
    # (fraction * height) * width can round a true half (0.58 * 35 * 35 = 710.5) below it
    assert selected.sum() == math.floor(fraction * (height * width) + 0.5)
    if selected.any() and not selected.all():
        assert saliency[selected].min() >= saliency[~selected].max()


def test_flat_map_selection_is_spread_and_seeded():
    flat = np.zeros((64, 64))
    selected = binarize_top(flat, 0.3, seed=0)
    rows, cols = np.nonzero(selected)
    assert selected.sum() == round(0.3 * 64 * 64)
    assert abs(rows.mean() - 31.5) < 2 and abs(cols.mean() - 31.5) < 2
    # every quadrant gets close to its share (a corner-first rule would fill one or two)
    for quadrant in (selected[:32, :32], selected[:32, 32:], selected[32:, :32],
                     selected[32:, 32:]):
        assert abs(quadrant.sum() - selected.sum() / 4) < 0.1 * selected.sum()
    assert np.array_equal(selected, binarize_top(flat, 0.3, seed=0))
    assert not np.array_equal(selected, binarize_top(flat, 0.3, seed=1))


def test_pointing_game():
    mask = rows_mask(0, 1)
    assert pointing_game(mask, RAMP) == 1.0  # maximum at pixel (0, 0)
    assert pointing_game(mask, RAMP[::-1].copy()) == 0.0  # maximum at (9, 9)
    corner = np.zeros((10, 10), dtype=bool)
    corner[0, 0] = True  # only the maximum itself: the second-highest pixel would miss
    assert pointing_game(corner, RAMP) == 1.0
    tied = RAMP.copy()
    tied[9, 9] = tied[0, 0]  # two maxima; the seeded order picks one of them
    picks = {pointing_game(corner, tied, seed=seed) for seed in range(20)}
    assert picks == {0.0, 1.0}
    # a flat map: the seeded first maximum hits with probability y = 0.2
    hits = [pointing_game(mask, np.zeros((10, 10)), seed=seed) for seed in range(400)]
    assert 0.14 < np.mean(hits) < 0.26


# --- deletion / insertion ----------------------------------------------------------------------

def mean_score(batch: torch.Tensor) -> torch.Tensor:
    """The mean pixel value of each image: a score linear in the pixels."""
    return batch.mean(dim=(1, 2, 3))


@pytest.mark.parametrize("steps", [7, 10, 100])
def test_uniform_image_mean_score_is_linear(steps):
    # image of constant c; removing (zero baseline) a fraction x of pixels gives score
    # c (1 - x); inserting gives c x. Both are linear in x, so the trapezoid rule over any
    # partition of [0, 1] is exact: AUC = c / 2, whatever the rounding of the step sizes.
    c = 0.7
    image = torch.full((3, 10, 10), c)
    saliency = np.random.default_rng(0).random((10, 10))
    assert_close(deletion_auc(mean_score, image, saliency, steps=steps, baseline="zero"), c / 2)
    assert_close(insertion_auc(mean_score, image, saliency, steps=steps, baseline="zero"), c / 2)
    # a baseline equal to the image (its mean, or its blur: flat stays flat) changes nothing
    for baseline in ("mean", "blur"):
        assert_close(deletion_auc(mean_score, image, saliency, steps=steps, baseline=baseline), c)
        assert_close(insertion_auc(mean_score, image, saliency, steps=steps, baseline=baseline), c)


def mean_square_score(batch: torch.Tensor) -> torch.Tensor:
    """The mean squared pixel value of each image: a score not linear in the pixels."""
    return (batch ** 2).mean(dim=(1, 2, 3))


@pytest.mark.parametrize("steps", [16, 5, 6])
def test_exact_trapezoid_on_a_graded_image(steps):
    # 4 x 4 image with pixel values 1/16 .. 16/16, map = image: the top r pixels (values
    # 16/16 .. (17-r)/16) go first. With m = 16 - r pixels left (values 1..m over 16) the mean
    # squared value is sum(j^2, j <= m) / 256 / 16 = m (m + 1) (2 m + 1) / 6 / 4096.
    # Step i changes r = round(i * 16 / steps) pixels (halves up: 5 steps give 0 3 6 10 13 16;
    # a cubic curve makes the trapezoid depend on where the steps fall).
    values = np.arange(1, 17, dtype=np.float64).reshape(4, 4) / 16
    image = torch.from_numpy(values)[None].float()
    removed = [math.floor(i * 16 / steps + 0.5) for i in range(steps + 1)]
    fractions = [r / 16 for r in removed]

    def trapezoid(curve):
        return sum((curve[i] + curve[i + 1]) / 2 * (fractions[i + 1] - fractions[i])
                   for i in range(steps))

    left = [(16 - r) * (17 - r) * (33 - 2 * r) / 6 / 4096 for r in removed]
    assert_close(deletion_auc(mean_square_score, image, values, steps=steps, baseline="zero"),
                 trapezoid(left))
    # insertion on a zero image reveals the same pixels: the total (1496 / 4096) minus the rest
    revealed = [1496 / 4096 - value for value in left]
    assert_close(insertion_auc(mean_square_score, image, values, steps=steps, baseline="zero"),
                 trapezoid(revealed))


def test_box_score_prefers_the_box_map():
    # score = mean over a 5 x 5 box; a map equal to the box deletes the box first (score 0
    # after 25 of 256 pixels) and a reversed map deletes it last
    box = np.zeros((16, 16))
    box[4:9, 4:9] = 1.0

    def box_score(batch):
        return batch[:, :, 4:9, 4:9].mean(dim=(1, 2, 3))

    image = torch.ones(1, 16, 16)
    good_del = deletion_auc(box_score, image, box, steps=32, baseline="zero")
    bad_del = deletion_auc(box_score, image, 1 - box, steps=32, baseline="zero")
    good_ins = insertion_auc(box_score, image, box, steps=32, baseline="zero")
    bad_ins = insertion_auc(box_score, image, 1 - box, steps=32, baseline="zero")
    assert good_del < 0.1 < 0.85 < bad_del
    assert good_ins > 0.85 > 0.1 > bad_ins


def test_blur_baseline_matches_scipy():
    # insertion at step 0 scores the blurred image: RISE's Gaussian (sigma 5, 11 taps, i.e.
    # scipy's truncate=1) with edges repeated (scipy's mode="nearest")
    rng = np.random.default_rng(1)
    image = rng.random((2, 12, 14))
    weights = torch.from_numpy(rng.random((2, 12, 14)))
    reference = gaussian_filter(image, sigma=(0, 5, 5), truncate=1.0, mode="nearest")
    _, scores = perturbation_curves(lambda b: (b.double() * weights).sum(dim=(1, 2, 3)),
                                    torch.from_numpy(image)[None], rng.random((1, 12, 14)),
                                    mode="insertion", steps=4, baseline="blur", progress=False)
    assert_close(scores[0, 0], (reference * weights.numpy()).sum())
    assert_close(scores[0, -1], (image * weights.numpy()).sum())


def test_batches_are_bounded_and_batched_form_matches_single():
    rng = np.random.default_rng(2)
    images = torch.from_numpy(rng.random((3, 2, 8, 8))).float()
    maps = rng.random((3, 8, 8))
    sizes = []

    def recording_score(batch):
        sizes.append(batch.shape[0])
        return batch[:, 0, :4].mean(dim=(1, 2))

    batched = deletion_aucs(recording_score, images, maps, steps=9, batch_size=4,
                            progress=False)
    assert max(sizes) <= 4 and sum(sizes) == 3 * 10
    for index in range(3):
        assert_close(batched[index], deletion_auc(recording_score, images[index], maps[index],
                                                  steps=9, batch_size=4))
    inserted = insertion_aucs(recording_score, images, maps, steps=9, baseline="mean",
                              batch_size=5, progress=False)
    assert_close(inserted[1], insertion_auc(recording_score, images[1], maps[1], steps=9,
                                            baseline="mean",
                                            batch_size=32))


def test_faithfulness_errors():
    image = torch.ones(1, 8, 8)
    with pytest.raises(XfasError, match="score_fn: returned 2 score"):
        deletion_auc(lambda b: torch.zeros(2), image, np.zeros((8, 8)), steps=4)
    with pytest.raises(XfasError, match=r"map shape \(8, 7\)"):
        deletion_auc(mean_score, image, np.zeros((8, 7)))
    with pytest.raises(XfasError, match="baseline: unknown name"):
        insertion_auc(mean_score, image, np.zeros((8, 8)), baseline="noise")
    with pytest.raises(XfasError, match="NaN"):
        insertion_auc(mean_score, image, np.full((8, 8), np.nan))


# --- aggregation -------------------------------------------------------------------------------

def test_mean_ignoring_nan():
    assert_close(mean_ignoring_nan([1.0, math.nan, 3.0]), (2.0, 2, 1))
    mean, used, n_nan = mean_ignoring_nan([math.nan, math.nan])
    assert math.isnan(mean) and (used, n_nan) == (0, 2)


def test_bootstrap_ci():
    assert_close(bootstrap_ci([0.4] * 20), (0.4, 0.4))
    values = np.random.default_rng(0).normal(0.5, 0.2, 400)
    low, high = bootstrap_ci(values, n_boot=2000, seed=1)
    # normal theory: mean +- 1.96 sd / sqrt(n)
    half = 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    assert_close(low, values.mean() - half, rtol=0, atol=0.2 * half)
    assert_close(high, values.mean() + half, rtol=0, atol=0.2 * half)
    with_nan = np.concatenate([values, [math.nan] * 7])
    assert_close(bootstrap_ci(with_nan, n_boot=2000, seed=1), (low, high))
    assert_close(bootstrap_ci(values, n_boot=2000, seed=1), (low, high))
    assert all(math.isnan(v) for v in bootstrap_ci([math.nan]))
