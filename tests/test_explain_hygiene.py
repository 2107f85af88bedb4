"""Every registered method: no hook, gradient or graph left behind, parameters untouched, no
memory growth, deterministic for a seed, a batch equal to single calls, no NaN whatever comes
in. The methods are those ``available_explainers()`` lists when the tests are collected, so a
newly registered method is run here too, and fails until the suite knows how to build it."""

from __future__ import annotations

import copy
import gc
from contextlib import nullcontext
from typing import Callable

import pytest
import torch
from torch import nn

from xfas.errors import XfasError
from xfas.explain import Explainer, available_explainers, create_explainer
from xfas.sped import SPED, ConceptBank

from helpers.models import TinyCNN, images, raw_maps
from helpers.tolerance import assert_raw_maps_close

# How the suite builds each registered method: small budgets, so that a run takes seconds.
OPTIONS: dict[str, dict] = {
    "gradcam": {}, "gradcam++": {}, "xgradcam": {}, "hirescam": {}, "layercam": {},
    "eigencam": {}, "eigengradcam": {}, "randomcam": {}, "ablationcam": {}, "scorecam": {},
    "rise": dict(n_masks=64), "lime": dict(n_samples=40), "shap": dict(n_samples=40),
    # concepts fitted on the model under test (the ``make`` fixture adds them); a threshold
    # of 0 activates every concept, so the maps are not all zero
    "sped": dict(activation_threshold=0.0),
}
SPOOF_ONLY = {"sped"}  # concepts were ranked for the spoof decision: no class targets
METHODS = available_explainers()

Make = Callable[..., Explainer]


def _fit_concepts(model: nn.Module) -> ConceptBank:
    """A small SPED concept bank for ``model``, fitted on a copy so the model under test is
    not touched before the test looks at it."""
    twin = copy.deepcopy(model).eval()
    sped = SPED(twin, n_concepts=3, seed=0, n_designs=4, top_crops=0, progress=False,
                nmf_options={"max_iter": 50}, transform_iter=30)
    return sped.fit(images(6, 16, seed=11)).bank_


@pytest.fixture(scope="module")
def make() -> Make:
    """make(method, model, seed=0): the method's explainer as the suite builds it (an unknown
    method fails the test); SPED's concepts are fitted once per model weights."""
    banks: dict[str, ConceptBank] = {}

    def build(method: str, model: nn.Module, seed: int = 0) -> Explainer:
        if method not in OPTIONS:
            pytest.fail(f"explainer {method!r} is registered but this suite does not know how "
                        "to build it: add it to OPTIONS")
        options = dict(OPTIONS[method])
        if method == "sped":
            from xfas.sped.bank import model_fingerprint

            key = model_fingerprint(model)
            if key not in banks:
                banks[key] = _fit_concepts(model)
            options["concepts"] = banks[key]
        return create_explainer(method, model, seed=seed, batch_size=16, progress=False,
                                **options)

    return build


def _hooks(model: torch.nn.Module) -> dict[str, int]:
    """Sizes of every hook dictionary of every module."""
    return {f"{name}.{attr}": len(value) for name, module in model.named_modules()
            for attr, value in vars(module).items()
            if attr.endswith("hooks") and isinstance(value, dict) and value}


def test_every_registered_method_has_a_way_to_be_built_here():
    registered = set(available_explainers())
    assert registered - set(OPTIONS) == set(), "registered methods this suite cannot build"
    assert set(OPTIONS) - registered == set(), "methods in OPTIONS that are not registered"


@pytest.mark.parametrize("method", METHODS)
def test_nothing_is_left_on_the_model(method, make):
    model = TinyCNN(seed=1)
    model.train()
    model.features[0].weight.requires_grad_(False)
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    explainer = make(method, model)
    for _ in range(3):
        maps = explainer.explain(images(2, 16))
    assert _hooks(model) == {}
    assert all(p.grad is None for p in model.parameters())
    assert {name: p.requires_grad for name, p in model.named_parameters()} == flags
    assert all(module.training for module in model.modules())
    assert maps.grad_fn is None and not maps.requires_grad
    assert maps.dtype == torch.float32 and maps.shape == (2, 16, 16)


@pytest.mark.parametrize("method", METHODS)
def test_deterministic_and_a_batch_equals_single_calls(method, make):
    """Raw maps, before per-map normalisation (see helpers.tolerance): a batch and single
    images run through different kernels, whose last bits differ from one CPU to another."""
    model = TinyCNN(seed=2).eval()
    x = images(3, 16, seed=5)
    batch = raw_maps(make(method, model, seed=7), x)
    assert batch.shape[0] == 3 and batch.abs().amax(dim=(1, 2)).min() > 0  # no empty map
    assert_raw_maps_close(raw_maps(make(method, model, seed=7), x), batch)
    singles = torch.cat([raw_maps(make(method, model, seed=7), x[i:i + 1]) for i in range(3)])
    assert_raw_maps_close(singles, batch)
    targets = torch.tensor([1, 0, 1])  # per-image class targets follow their image
    if method in SPOOF_ONLY:
        with pytest.raises(XfasError, match="spoof"):
            make(method, model, seed=7).explain(x, targets)
        return
    batch = raw_maps(make(method, model, seed=7), x, targets)
    singles = torch.cat([raw_maps(make(method, model, seed=7), x[i:i + 1], int(targets[i]))
                         for i in range(3)])
    assert_raw_maps_close(singles, batch)


@pytest.mark.parametrize("method", METHODS)
def test_no_nan_whatever_comes_in(method, make):
    model = TinyCNN(seed=3).eval()
    x = images(4, 16)
    x[0, :, 2:5, 2:5] = float("nan")
    x[1, 0, 7, 7] = float("inf")
    x[2] = 0.0
    x[3] = 1e30
    maps = make(method, model).explain(x)
    assert torch.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "eigengradcam", "layercam"])
def test_gradient_methods_work_under_no_grad_inference_mode_and_frozen_weights(method, make):
    model = TinyCNN(seed=0).eval()
    x = images(2, 16, seed=2)
    plain = raw_maps(make(method, model), x)
    assert plain.abs().max() > 0
    with torch.no_grad():
        assert_raw_maps_close(raw_maps(make(method, model), x), plain)
    with torch.inference_mode():
        assert_raw_maps_close(raw_maps(make(method, model), x), plain)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    assert_raw_maps_close(raw_maps(make(method, model), x), plain)
    assert not any(p.requires_grad for p in model.parameters())


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _live_tensors() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if issubclass(type(obj), torch.Tensor))


@pytest.mark.slow
def test_memory_does_not_grow_over_500_calls():
    model = TinyCNN(seed=4, channels=4).eval()
    x = images(1, 16)
    explainer = create_explainer("gradcam", model, progress=False)
    for _ in range(20):  # warm-up: allocator pools, lazy imports
        explainer.explain(x)
    tensors, resident = _live_tensors(), _resident_bytes()
    for _ in range(500):
        explainer.explain(x)
    assert _live_tensors() <= tensors
    assert _resident_bytes() - resident < 8 * 2 ** 20
    assert _hooks(model) == {}


class _FailingHead(torch.nn.Module):
    """Fails after the target layer ran: the hooks must still be released."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        self.conv(x)
        raise RuntimeError("head failed")


@pytest.mark.parametrize("method", ["gradcam", "eigencam", "scorecam", "ablationcam"])
def test_hooks_are_released_when_the_model_fails(method, make):
    model = _FailingHead()
    with pytest.raises(RuntimeError, match="head failed"):
        with pytest.warns(RuntimeWarning) if method == "ablationcam" else nullcontext():
            make(method, model).explain(images(1, 8))
    assert _hooks(model) == {}


class _TwiceUsed(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)
        self.fc = torch.nn.Linear(3, 2)
        self.unused = torch.nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.fc(self.conv(self.conv(x)).mean(dim=(2, 3)))


def test_layers_that_run_twice_or_never_are_errors():
    model = _TwiceUsed()
    with pytest.raises(XfasError, match="more than once"):
        create_explainer("gradcam", model, layer="conv", progress=False).explain(images(1, 8))
    with pytest.raises(XfasError, match="did not run"):
        create_explainer("gradcam", model, layer="unused", progress=False).explain(images(1, 8))
    assert _hooks(model) == {}
