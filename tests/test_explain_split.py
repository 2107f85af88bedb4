"""split_model: h(g(x)) == model(x), h really is the part after the layer, and the fallback for
models that cannot be cut exactly."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from xfas.errors import AssetMissingError, XfasError
from xfas.explain import split_model
from xfas.models import build_model
from xfas.models.minifasnet import load_minifasnet

from helpers.models import TinyCNN, images
from helpers.tolerance import assert_close


def _replaced(model: nn.Module, layer: str, x: torch.Tensor, activations: torch.Tensor):
    """The model's output with the layer's output replaced, computed with a plain hook."""
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: activations)
    try:
        with torch.no_grad():
            return model(x)
    finally:
        handle.remove()


def _check_exact(model: nn.Module, layer: str | None, x: torch.Tensor) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an exact split does not warn
        g, h = split_model(model, layer)
    with torch.no_grad():
        a = g(x)
        assert_close(h(a), model(x))
        edited = a * torch.linspace(0, 2, a.shape[1])[None, :, None, None]
        name = layer or model.default_layer
        assert_close(h(edited), _replaced(model, name, x, edited))


def test_tiny_cnn_splits_exactly_and_h_is_only_the_head():
    model = TinyCNN().eval()
    _check_exact(model, "features.4", images(3, 16))
    g, h = split_model(model, "features.4")
    calls = []
    model.features[0].register_forward_hook(lambda m, i, o: calls.append(1))
    with torch.no_grad():
        h(g(images(2, 16)))
    model.features[0]._forward_hooks.clear()
    assert calls == [1]  # the first conv ran in g only


@pytest.mark.parametrize("name", ["cnn", "cnn-ca", "cnn-sa", "cnn-cbam"])
def test_seed_cnns_split_exactly_at_the_default_and_an_inner_layer(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    x = images(2, 64)
    _check_exact(model, None, x)
    _check_exact(model, "features.block4", x)


@pytest.mark.parametrize("variant", ["v2", "v1se"])
def test_minifasnet_splits_exactly(variant):
    try:
        model = load_minifasnet(variant)
    except AssetMissingError as missing:
        pytest.skip(f"MiniFASNet weights missing: {missing}")
    x = images(2, 80) * 255
    _check_exact(model, None, x)
    _check_exact(model, "conv_4", x)


class Residual(nn.Module):
    """x + conv(x): cutting at the conv leaves x crossing the cut."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc((x + self.conv(x)).mean(dim=(2, 3)))


class Untraceable(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        a = self.conv(x)
        if a.sum() > 0:
            a = a * 2
        return self.fc(a.mean(dim=(2, 3)))


@pytest.mark.parametrize("model_class", [Residual, Untraceable])
def test_models_without_a_clean_cut_fall_back_with_a_warning(model_class):
    torch.manual_seed(0)
    model = model_class().eval()
    x = images(2, 8)
    with pytest.warns(RuntimeWarning, match="no exact split"):
        g, h = split_model(model, "conv")
    with torch.no_grad():
        a = g(x)
        assert_close(h(a, x), model(x))
        edited = -a
        assert_close(h(edited, x), _replaced(model, "conv", x, edited))
    with pytest.raises(XfasError, match="needs the original inputs"):
        h(a)
    assert not model.conv._forward_hooks


def test_unknown_layer_is_an_error():
    with pytest.raises(XfasError, match="valid names"):
        split_model(TinyCNN(), "head.7")
