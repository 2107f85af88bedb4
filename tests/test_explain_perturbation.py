"""RISE, LIME and SHAP: a planted region is recovered, Shapley values are exact (brute force)
and efficient, LIME agrees with the lime package, RISE's estimator has its closed form, and
batch_size bounds the perturbed inputs in memory; the channels-last batches they hand the model
give the maps of contiguous ones."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xfas.explain import create_explainer
from xfas.explain.base import PerturbedForward
from xfas.explain.regions import region_maps
from xfas.explain.rise import cell_footprints, rise_masks

from helpers.models import BoxModel, TinyCNN, images, pearson, raw_maps
from helpers.tolerance import assert_close, assert_raw_maps_close, assert_same_maps

PERTURBATION = {
    "rise": dict(n_masks=1000),
    "lime": dict(n_samples=300, segmentation="grid", cells=8),  # cells on the box's edges
    "shap": dict(n_samples=600),
}


def _top_fraction_inside(maps: torch.Tensor, inside: torch.Tensor) -> list[float]:
    """For each map: the share of its top pixels (half the region's area) inside the region."""
    k = int(inside.sum()) // 2
    return [float(inside.flatten()[m.flatten().topk(k).indices].float().mean()) for m in maps]


def _blobs(n: int = 2, size: int = 32, seed: int = 3) -> torch.Tensor:
    """Smooth colour blobs with texture: SLIC finds superpixels in it, hiding texture matters."""
    generator = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=generator)
    smooth = F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    return (smooth + 0.25 * torch.rand(n, 3, size, size, generator=generator)).clamp(0, 1)


@pytest.mark.parametrize("method, options", [
    ("rise", PERTURBATION["rise"]), ("rise", dict(n_masks=400, sampling="paired")),
    ("lime", PERTURBATION["lime"]),
    ("lime", dict(n_samples=150, sampling="paired", segmentation="grid", cells=8)),
    ("shap", PERTURBATION["shap"]), ("shap", dict(n_samples=300, sampling="paired"))])
def test_planted_region_is_found(method, options):
    model, x = BoxModel(), _blobs()
    maps = create_explainer(method, model, progress=False, **options).explain(x)
    assert maps.shape == (2, 32, 32)
    assert min(_top_fraction_inside(maps, model.inside(32, 32))) >= 0.9


@pytest.mark.parametrize("method", ["lime", "shap"])
def test_planted_region_is_found_with_superpixels(method):
    """Superpixels do not follow the box's edges: the strongest region must overlap the box
    and most of the top pixels must be in it."""
    model, x = BoxModel(), _blobs()
    options = dict(segmentation="slic") if method == "lime" else dict(features="slic")
    maps = create_explainer(method, model, progress=False, n_samples=300, **options).explain(x)
    inside = model.inside(32, 32).flatten()
    for m in maps:
        assert inside[m.flatten() == m.max()].any()
    assert min(_top_fraction_inside(maps, model.inside(32, 32))) >= 0.5


def _brute_force_shapley(value, features: int) -> np.ndarray:
    """phi_i = sum over coalitions S without i of |S|!(M-|S|-1)!/M! (v(S+i) - v(S))."""
    phi = np.zeros(features)
    for i in range(features):
        others = [j for j in range(features) if j != i]
        for size in range(features):
            weight = math.factorial(size) * math.factorial(features - size - 1) \
                / math.factorial(features)
            for subset in itertools.combinations(others, size):
                phi[i] += weight * (value(set(subset) | {i}) - value(set(subset)))
    return phi


def _block_labels(size: int = 16) -> torch.Tensor:
    """8 regions: 2 rows x 4 columns of blocks."""
    rows = torch.arange(size) * 2 // size
    cols = torch.arange(size) * 4 // size
    return rows[:, None] * 4 + cols[None, :]


def test_shap_equals_brute_force_shapley_values_and_is_efficient():
    model, x = TinyCNN(seed=11).eval(), images(1, 16, seed=12)
    labels = _block_labels()
    background = torch.full((3, 16, 16), 0.5)
    cache = {}

    def value(coalition: set) -> float:  # the spoof probability of the composed image
        key = frozenset(coalition)
        if key not in cache:
            shown = torch.zeros(16, 16, dtype=torch.bool)
            for region in coalition:
                shown |= labels == region
            composed = torch.where(shown, x[0], background)
            with torch.no_grad():
                cache[key] = float(1 - torch.softmax(model(composed[None]), dim=1)[0, 0])
        return cache[key]

    truth = _brute_force_shapley(value, 8)
    assert np.abs(truth).max() > 1e-3  # a non-trivial case
    exact = create_explainer("shap", model, progress=False, features=labels,
                             background=background, mode="exact").explain_regions(x)[0]
    # Shapley values here are of the order of 1e-3: the tolerance is relative to their scale
    assert_close(exact.values, truth, atol=1e-4 * np.abs(truth).max())
    assert_close(exact.base, value(set()))
    assert_close(exact.full, value(set(range(8))))
    for sampling in ("iid", "paired"):
        kernel = create_explainer("shap", model, progress=False, features=labels,
                                  background=background, mode="kernel", n_samples=3000,
                                  sampling=sampling).explain_regions(x)[0]
        assert_close(kernel.values.sum(), kernel.full - kernel.base)  # efficiency
        assert_close(kernel.full - kernel.base, value(set(range(8))) - value(set()))
        # a sampled estimate: within 5 % of the largest value
        assert_close(kernel.values, truth, atol=0.05 * np.abs(truth).max())


def test_shap_is_efficient_on_a_grid_with_a_blurred_background():
    model, x = TinyCNN(seed=2).eval(), images(2, 16, seed=4)
    for region in create_explainer("shap", model, progress=False, n_samples=200,
                                   cells=4).explain_regions(x):
        assert_close(region.values.sum(), region.full - region.base)
        assert region.values.shape == (16,)


def test_lime_agrees_with_the_lime_package():
    lime_image = pytest.importorskip("lime.lime_image")
    model, x = BoxModel(), images(1, 32, seed=3)
    labels = (torch.arange(32)[:, None] // 4) * 8 + torch.arange(32)[None, :] // 4  # 8x8 grid
    ours = create_explainer("lime", model, progress=False, segmentation=labels,
                            n_samples=1000).explain_regions(x)[0]

    def classifier(batch: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
        with torch.no_grad():
            return torch.softmax(model(tensor), dim=1).numpy()

    explanation = lime_image.LimeImageExplainer(random_state=0).explain_instance(
        x[0].permute(1, 2, 0).double().numpy(), classifier, labels=(1,), top_labels=None,
        hide_color=None, num_samples=1000, batch_size=100,
        segmentation_fn=lambda image: labels.numpy())
    theirs = np.zeros(64)
    for feature, weight in explanation.local_exp[1]:
        theirs[feature] = weight
    assert pearson(ours.values.numpy(), theirs) >= 0.9


def test_region_maps_are_what_explain_returns():
    model, x = BoxModel(), images(2, 32, seed=5)
    for method in ("lime", "shap"):
        explainer = create_explainer(method, model, progress=False, n_samples=100)
        # both are normalised maps, the only output either gives
        assert_same_maps(region_maps(explainer.explain_regions(x)), explainer.explain(x))


def test_paired_rise_masks_are_complements_and_constant_scores_give_their_value():
    generator = torch.Generator().manual_seed(0)
    masks, grids = rise_masks(64, 20, 20, cells=4, p=0.5, generator=generator,
                              device=torch.device("cpu"), paired=True)
    assert masks.shape == (64, 20, 20) and masks.min() >= 0 and masks.max() <= 1
    assert_close(masks[0::2] + masks[1::2], torch.ones(32, 20, 20))
    assert_close(grids[0::2] + grids[1::2], torch.ones(32, 16))
    iid, _ = rise_masks(4000, 16, 16, cells=8, p=0.3, generator=generator,
                        device=torch.device("cpu"))
    assert_close(iid.mean(), 0.3, atol=0.01)  # keep probability p, a sampled mean

    class Constant(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 1), 0.7)

    explainer = create_explainer("rise", Constant(), progress=False, n_masks=100,
                                 sampling="paired")
    # eq. 6 with f = c: sum_i c M_i / (N p) = c where the masks come in complementary pairs
    raw = explainer.attribute(images(1, 16), lambda out: out[:, 0])
    assert_close(raw, torch.full((1, 16, 16), 0.7))
    # with the control variate the constant is all linear part: exactly c, i.i.d. masks too
    explainer = create_explainer("rise", Constant(), progress=False, n_masks=100, p=0.3,
                                 control_variate=True)
    raw = explainer.attribute(images(1, 16), lambda out: out[:, 0])
    assert_close(raw, torch.full((1, 16, 16), 0.7))


def test_rise_control_variate_expectations_match_monte_carlo():
    """E[g_k M(x)] = phi_k(x) p (1 - p) + p^2 sum_j phi_j(x), phi = the mean cell footprint."""
    p, cells = 0.3, 4
    footprint = cell_footprints(12, 12, cells, device=torch.device("cpu"))
    assert_close(footprint.sum(dim=0), torch.ones(12, 12))  # weights sum to 1
    masks, grids = rise_masks(40000, 12, 12, cells=cells, p=p,
                              generator=torch.Generator().manual_seed(1),
                              device=torch.device("cpu"))
    empirical = torch.einsum("nk,nhw->khw", grids, masks) / len(masks)
    expected = footprint * p * (1 - p) + p * p * footprint.sum(dim=0)
    assert_close(empirical, expected, rtol=0.0, atol=0.01)  # a Monte Carlo estimate


@pytest.mark.slow
def test_rise_control_variate_reaches_the_map_with_far_fewer_masks():
    model, x = BoxModel(), _blobs(1)
    make = lambda n, seed, **options: create_explainer(  # noqa: E731
        "rise", model, progress=False, n_masks=n, seed=seed, batch_size=256,
        **options).explain(x)
    reference = make(8000, 9)
    plain, controlled = make(1000, 1), make(250, 1, control_variate=True)
    assert pearson(reference, controlled) > pearson(reference, plain)
    assert pearson(reference, controlled) >= 0.95


@pytest.mark.parametrize("method", ["rise", "lime", "shap", "ablationcam", "scorecam"])
def test_batch_size_bounds_the_perturbed_inputs(method):
    model = TinyCNN(seed=1).eval()
    sizes = []
    handle = model.head[1].register_forward_hook(lambda m, i, o: sizes.append(i[0].shape[0]))
    options = {"rise": dict(n_masks=50), "lime": dict(n_samples=40),
               "shap": dict(n_samples=40)}.get(method, {})
    try:
        create_explainer(method, model, batch_size=7, progress=False,
                         **options).explain(images(3, 16))
    finally:
        handle.remove()
    assert sizes and max(sizes) <= 7
    assert max(sizes) == 7  # the bound is used, not just respected


EFFICIENT = {"rise": dict(control_variate=True, sampling="paired"),
             "lime": dict(sampling="paired"), "shap": dict(sampling="paired")}


@pytest.mark.parametrize("method", ["rise", "lime", "shap"])
def test_efficient_options_reach_the_default_map_with_a_quarter_of_the_budget(method):
    model, x = BoxModel(), _blobs(1, 32, seed=8)
    key, budget = {"rise": ("n_masks", 4000), "lime": ("n_samples", 1000),
                   "shap": ("n_samples", 2048)}[method]
    default = create_explainer(method, model, progress=False, **{key: budget}).explain(x)
    quarter = create_explainer(method, model, progress=False, seed=1,
                               **{key: budget // 4}, **EFFICIENT[method]).explain(x)
    assert pearson(default, quarter) >= 0.95


class _Contiguous(torch.nn.Module):
    """Runs ``model`` on a contiguous copy of its input: the default layout, whatever the
    explainer hands over."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous())


class _ViewHead(torch.nn.Module):
    """A CNN whose head ``view``s its activations, which a channels-last batch cannot take."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.linear = torch.nn.Linear(4 * 16 * 16, 2)
        self.layouts: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.layouts.append(x.is_contiguous())
        features = self.conv(x)
        return self.linear(features.view(features.shape[0], -1))


@pytest.mark.parametrize("method", ["rise", "lime", "shap"])
def test_channels_last_batches_give_the_maps_of_contiguous_ones(method):
    model, x = TinyCNN(seed=4).eval(), images(2, 16, seed=6)
    layouts = []
    handle = model.features[0].register_forward_pre_hook(
        lambda m, i: layouts.append(i[0].is_contiguous(memory_format=torch.channels_last)))
    options = {"rise": dict(n_masks=64), "lime": dict(n_samples=64),
               "shap": dict(n_samples=64)}[method]
    try:
        fast = raw_maps(create_explainer(method, model, progress=False, **options), x)
    finally:
        handle.remove()
    default = raw_maps(create_explainer(method, _Contiguous(model), progress=False, **options),
                       x)
    assert layouts and all(layouts)  # the CPU path hands the model channels-last batches
    assert_raw_maps_close(fast, default)


@pytest.mark.parametrize("method", ["rise", "lime"])
def test_a_model_that_cannot_take_channels_last_gets_contiguous_batches(method):
    model, x = _ViewHead().eval(), images(1, 16, seed=7)
    options = {"rise": dict(n_masks=40), "lime": dict(n_samples=40)}[method]
    fast = raw_maps(create_explainer(method, model, progress=False, batch_size=16, **options), x)
    # the first batch fails in channels-last and is run again contiguous; the rest start so
    assert model.layouts[0] is False and all(model.layouts[1:])
    assert len(model.layouts) == 1 + math.ceil(40 / 16)
    default = raw_maps(create_explainer(method, _Contiguous(model), progress=False,
                                        batch_size=16, **options), x)
    assert_raw_maps_close(fast, default)


def test_an_error_not_about_the_layout_is_raised():
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("broken model")

    with pytest.raises(RuntimeError, match="broken model"):
        PerturbedForward(Broken())(images(2, 8))
