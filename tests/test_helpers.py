"""The tests' shared helpers: the tiny models really have the structure the explainer tests
rely on, and the tolerance helpers fail where they should, with a message that says where."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.models import BoxModel, QuadraticModel, images
from helpers.tolerance import (assert_close, assert_raw_maps_close, assert_same_maps,
                               assert_same_top_pixels)


def test_quadratic_model_gradients_are_the_closed_form():
    x = images(2, 8).numpy().astype(np.float64)
    model = QuadraticModel().double()
    captured = {}
    model.feat.register_forward_hook(lambda m, i, o: captured.setdefault("a", o))
    out = model(torch.from_numpy(x))
    (grads,) = torch.autograd.grad((out[:, 1] - out[:, 0]).sum(), captured["a"])
    assert_close(captured["a"], QuadraticModel.activations(x))
    assert_close(grads, QuadraticModel.gradients(x))


def test_box_model_depends_only_on_the_box():
    model = BoxModel()
    x = images(1, 32)
    y = x.clone()
    outside = ~model.inside(32, 32)
    y[:, :, outside] = torch.rand_like(y[:, :, outside])
    # the pixels outside the box never enter the computation: the outputs are the same bits
    assert torch.equal(model(x), model(y))
    y[:, 0, 10, 20] += 0.5  # inside the box
    assert not torch.equal(model(x), model(y))


def test_assert_close_accepts_differences_within_the_tolerance():
    assert_close(torch.tensor([1.0, 2.0]), np.array([1.00005, 2.0002]))
    assert_close(0.30004, 0.3)
    assert_close({"a": 1.0, "b": [0.5, float("inf")]}, {"a": 1.00001, "b": [0.5, float("inf")]})
    assert_close(torch.zeros(2, 3), 0.0)  # a scalar is compared with every value
    assert_close({("t0", "iou"): 0.5, "source": "dev_eer", "ci": None},
                 {("t0", "iou"): 0.50001, "source": "dev_eer", "ci": None})


@pytest.mark.parametrize("actual, expected, message", [
    (np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.0, 1.0], [2.0, 3.01]]),
     r"1 of 4 values differ.*greatest absolute difference 0\.01.*worst at \[1, 1\]"),
    (torch.tensor([1.0, float("nan")]), torch.tensor([1.0, float("nan")]), "1 of 2"),
    (np.ones(3), np.ones(4), r"shape \(3,\) != expected shape \(4,\)"),
    ({"a": 1.0}, {"b": 1.0}, "keys"),
    ({"a": None}, {"a": 0.0}, r"values\['a'\]"),
    ({"a": "given"}, {"a": "dev_eer"}, "'given' != 'dev_eer'"),
    (1.0, float("inf"), "1 of 1"),
])
def test_assert_close_fails_and_says_where(actual, expected, message):
    with pytest.raises(AssertionError, match=message):
        assert_close(actual, expected)


def test_raw_maps_are_compared_relative_to_their_own_scale():
    large = torch.tensor([[[1000.0, 0.0], [500.0, 250.0]]])
    assert_raw_maps_close(large + 0.05, large)  # 0.05 in 1000: within 1e-4 of the map's scale
    with pytest.raises(AssertionError, match="map 0"):
        assert_raw_maps_close(large + 0.2, large)
    small = large / 1e6
    with pytest.raises(AssertionError, match="map 0"):  # a plain atol of 1e-4 would pass it
        assert_raw_maps_close(small * 1.01, small)


def test_same_maps_allows_near_ties_at_the_top_cut_off_only():
    ramp = torch.linspace(0, 0.1, 100).reshape(1, 10, 10)  # steps of about 0.001
    nudged = ramp.clone()
    nudged[0, 6, 9] += 0.002  # the pixel just under the top 30 % moves into it: a near tie
    assert_same_maps(nudged, ramp)
    swapped = ramp.clone()
    swapped[0, 0, 0], swapped[0, 9, 9] = ramp[0, 9, 9], ramp[0, 0, 0]
    with pytest.raises(AssertionError):
        assert_same_maps(swapped, ramp)
    with pytest.raises(AssertionError, match="not near ties"):
        assert_same_top_pixels(swapped, ramp)
