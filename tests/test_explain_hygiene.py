"""Every method: no hook, gradient or graph left behind, parameters untouched, no memory growth,
deterministic for a seed, a batch equal to single calls, no NaN whatever comes in."""

from __future__ import annotations

import gc
from contextlib import nullcontext

import pytest
import torch

from xfas.explain import available_explainers, create_explainer
from test_explain_support import TinyCNN, images

SMALL = {"rise": dict(n_masks=64), "lime": dict(n_samples=40), "shap": dict(n_samples=40)}
METHODS = ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam",
           "eigengradcam", "randomcam", "ablationcam", "scorecam", "rise", "lime", "shap"]


def _make(method: str, model, seed: int = 0):
    return create_explainer(method, model, seed=seed, batch_size=16, progress=False,
                            **SMALL.get(method, {}))


def _hooks(model: torch.nn.Module) -> dict[str, int]:
    """Sizes of every hook dictionary of every module."""
    return {f"{name}.{attr}": len(value) for name, module in model.named_modules()
            for attr, value in vars(module).items()
            if attr.endswith("hooks") and isinstance(value, dict) and value}


def test_every_method_of_this_suite_is_registered():
    assert set(METHODS) <= set(available_explainers())


@pytest.mark.parametrize("method", METHODS)
def test_nothing_is_left_on_the_model(method):
    model = TinyCNN(seed=1)
    model.train()
    model.features[0].weight.requires_grad_(False)
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    explainer = _make(method, model)
    for _ in range(3):
        maps = explainer.explain(images(2, 16))
    assert _hooks(model) == {}
    assert all(p.grad is None for p in model.parameters())
    assert {name: p.requires_grad for name, p in model.named_parameters()} == flags
    assert all(module.training for module in model.modules())
    assert maps.grad_fn is None and not maps.requires_grad
    assert maps.dtype == torch.float32 and maps.shape == (2, 16, 16)


@pytest.mark.parametrize("method", METHODS)
def test_deterministic_and_a_batch_equals_single_calls(method):
    model = TinyCNN(seed=2).eval()
    x = images(3, 16, seed=5)
    batch = _make(method, model, seed=7).explain(x)
    again = _make(method, model, seed=7).explain(x)
    assert torch.equal(batch, again)
    singles = torch.cat([_make(method, model, seed=7).explain(x[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-5)
    targets = torch.tensor([1, 0, 1])  # per-image class targets follow their image
    batch = _make(method, model, seed=7).explain(x, targets)
    singles = torch.cat([_make(method, model, seed=7).explain(x[i:i + 1], int(targets[i]))
                         for i in range(3)])
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_no_nan_whatever_comes_in(method):
    model = TinyCNN(seed=3).eval()
    x = images(4, 16)
    x[0, :, 2:5, 2:5] = float("nan")
    x[1, 0, 7, 7] = float("inf")
    x[2] = 0.0
    x[3] = 1e30
    maps = _make(method, model).explain(x)
    assert torch.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "eigengradcam", "layercam"])
def test_gradient_methods_work_under_no_grad_inference_mode_and_frozen_weights(method):
    model = TinyCNN(seed=0).eval()
    x = images(2, 16, seed=2)
    plain = _make(method, model).explain(x)
    assert plain.max() > 0
    with torch.no_grad():
        torch.testing.assert_close(_make(method, model).explain(x), plain)
    with torch.inference_mode():
        torch.testing.assert_close(_make(method, model).explain(x), plain)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    torch.testing.assert_close(_make(method, model).explain(x), plain)
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
def test_hooks_are_released_when_the_model_fails(method):
    model = _FailingHead()
    with pytest.raises(RuntimeError, match="head failed"):
        with pytest.warns(RuntimeWarning) if method == "ablationcam" else nullcontext():
            _make(method, model).explain(images(1, 8))
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
    from xfas.errors import XfasError

    model = _TwiceUsed()
    with pytest.raises(XfasError, match="more than once"):
        create_explainer("gradcam", model, layer="conv", progress=False).explain(images(1, 8))
    with pytest.raises(XfasError, match="did not run"):
        create_explainer("gradcam", model, layer="unused", progress=False).explain(images(1, 8))
    assert _hooks(model) == {}

