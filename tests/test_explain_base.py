"""The explainer interface: targets, map normalisation, layers, inputs, model state, registry."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from xfas.errors import XfasError
from xfas.explain import (Explainer, available_explainers, create_explainer, normalize_maps,
                          register, resolve_target, unregister)
from xfas.explain.base import LOGIT, PROBABILITY, default_layer, evaluating, resolve_layer
from xfas.models.base import FASModel

from helpers.models import TinyCNN, images
from helpers.tolerance import assert_close


class ThreeClassFAS(FASModel):
    """A FASModel with live index 1 of 3 classes, like MiniFASNet."""

    live_index = 1
    default_layer = "conv"

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean(dim=(2, 3)))


LOGITS = torch.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0]])
ROWS = torch.arange(2)


def test_spoof_target_of_a_fas_model_uses_its_live_index():
    model = ThreeClassFAS()
    logit = resolve_target(model, "spoof", 2, kind=LOGIT)(LOGITS, ROWS)
    expected = [math.log(math.exp(1.0) + math.exp(-1.0)) - 2.0,
                math.log(math.exp(0.5) + math.exp(3.0)) + 0.5]
    assert_close(logit, torch.tensor(expected))
    probability = resolve_target(model, "spoof", 2, kind=PROBABILITY)(LOGITS, ROWS)
    live = torch.exp(LOGITS[:, 1]) / torch.exp(LOGITS).sum(dim=1)
    assert_close(probability, 1 - live)


def test_spoof_target_of_a_plain_module_follows_index_0_is_live():
    plain = nn.Identity()
    two = torch.tensor([[0.2, 1.7], [3.0, -1.0]])
    assert_close(resolve_target(plain, "spoof", 2, kind=LOGIT)(two, ROWS),
                               torch.tensor([1.5, -4.0]))
    assert_close(resolve_target(plain, "spoof", 2, kind=PROBABILITY)(two, ROWS),
                               torch.sigmoid(torch.tensor([1.5, -4.0])))
    single = torch.tensor([[0.3], [-2.0]])
    assert_close(resolve_target(plain, "spoof", 2, kind=LOGIT)(single, ROWS),
                               torch.tensor([0.3, -2.0]))
    assert_close(resolve_target(plain, "spoof", 2, kind=PROBABILITY)(single[:, 0], ROWS),
                               torch.sigmoid(torch.tensor([0.3, -2.0])))


def test_class_targets_select_logits_or_probabilities_per_row():
    plain = nn.Identity()
    assert_close(resolve_target(plain, 2, 2, kind=LOGIT)(LOGITS, ROWS),
                               torch.tensor([-1.0, 3.0]))
    per_image = resolve_target(plain, torch.tensor([0, 2]), 2, kind=PROBABILITY)
    rows = torch.tensor([1, 1, 0])  # three perturbed rows: of image 1, 1 and 0
    out = per_image(LOGITS[[1, 1, 0]], rows)
    softmax = torch.softmax(LOGITS, dim=1)
    assert_close(out, torch.stack([softmax[1, 2], softmax[1, 2], softmax[0, 0]]))
    custom = resolve_target(plain, lambda z: z.sum(dim=1), 2, kind=LOGIT)
    assert_close(custom(LOGITS, ROWS), LOGITS.sum(dim=1))


@pytest.mark.parametrize("target, message", [
    ("live", "expected 'spoof'"), (5, "0..2"), (torch.tensor([0, 1, 2]), "2 class indices"),
    (torch.tensor([0.5, 1.0]), "integers"), (True, "bool"),
    (lambda z: z, "one score per row")])
def test_bad_targets_are_errors(target, message):
    with pytest.raises(XfasError, match=message):
        resolve_target(nn.Identity(), target, 2, kind=LOGIT)(LOGITS, ROWS)


def test_normalize_maps_scales_each_map_and_zeroes_flat_ones():
    raw = torch.tensor([[[0.0, 1.0], [2.0, 4.0]],
                        [[5.0, 5.0], [5.0, 5.0]],
                        [[-3.0, -1.0], [-2.0, -4.0]],
                        [[float("nan"), 2.0], [float("inf"), 1.0]]])
    out = normalize_maps(raw, (2, 2))
    assert_close(out[0], torch.tensor([[0.0, 0.25], [0.5, 1.0]]))
    # flat maps are set to exact zeros by the code: bit equality holds on every CPU
    assert torch.equal(out[1], torch.zeros(2, 2))  # flat
    assert torch.equal(out[2], torch.zeros(2, 2))  # all negative: nothing after ReLU
    assert_close(out[3], torch.tensor([[0.0, 1.0], [0.0, 0.5]]))
    signed = normalize_maps(raw[2:3], (2, 2), relu=False)
    assert_close(signed[0], torch.tensor([[1 / 3, 1.0], [2 / 3, 0.0]]))
    nearly_flat = torch.full((1, 3, 3), 7.0) + 1e-9 * torch.arange(9.0).reshape(1, 3, 3)
    assert torch.equal(normalize_maps(nearly_flat, (3, 3)), torch.zeros(1, 3, 3))  # flat
    tiny_scale = 1e-20 * torch.arange(4.0).reshape(1, 2, 2)
    assert_close(normalize_maps(tiny_scale, (2, 2)).max(), 1.0)  # relative, not absolute, flatness


def test_normalize_maps_upsamples_bilinearly_to_the_input():
    out = normalize_maps(torch.tensor([[[0.0, 1.0]]]), (1, 4))
    assert_close(out, torch.tensor([[[0.0, 0.25, 0.75, 1.0]]]))


def test_layers_default_and_unknown_names():
    assert default_layer(ThreeClassFAS()) == "conv"
    assert default_layer(TinyCNN()) == "features.3"  # the last Conv2d
    with pytest.raises(XfasError, match=r"'nope'.*valid names: features, features\.0"):
        resolve_layer(TinyCNN(), "nope")
    with pytest.raises(XfasError, match="no Conv2d"):
        default_layer(nn.Linear(2, 2))


def test_image_checks():
    explainer = create_explainer("gradcam", TinyCNN(), progress=False)
    assert explainer.explain(images(1, 16)[0]).shape == (1, 16, 16)  # (C, H, W) accepted
    with pytest.raises(XfasError, match="float"):
        explainer.explain(torch.zeros(1, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(XfasError, match=r"\(N, 3, H, W\)"):
        explainer.explain(torch.zeros(16, 16))
    with pytest.raises(XfasError, match="torch.Tensor"):
        explainer.explain([[0.0]])


def test_model_modes_are_restored_and_set_to_eval_during_the_call():
    model = TinyCNN()
    model.train()
    model.head.eval()  # a mixed state must come back exactly
    seen = []
    model.features[1].register_forward_hook(lambda m, i, o: seen.append(m.training))
    create_explainer("gradcam", model, progress=False).explain(images(2, 16))
    model.features[1]._forward_hooks.clear()
    assert seen == [False]
    assert model.training and model.features.training and not model.head.training
    with evaluating(model):
        assert not model.training
    assert model.training


def test_registry_names_errors_and_registration():
    names = available_explainers()
    for required in ["gradcam", "gradcam++", "eigengradcam", "ablationcam", "randomcam", "rise",
                     "lime", "shap", "eigencam", "layercam", "scorecam", "hirescam", "xgradcam"]:
        assert required in names
    with pytest.raises(XfasError, match="valid names: gradcam, gradcam\\+\\+"):
        create_explainer("gradcamm", TinyCNN())
    with pytest.raises(XfasError, match="bad options"):
        create_explainer("rise", TinyCNN(), n_mask=10)
    with pytest.raises(XfasError, match="already registered"):
        register("gradcam", lambda *a, **k: None)

    class Constant(Explainer):
        name = "constant-test"

        def attribute(self, images, target):
            return torch.ones(images.shape[0], 2, 2)

    register("constant-test", Constant)
    try:
        maps = create_explainer("constant-test", TinyCNN()).explain(images(2, 16))
        assert torch.equal(maps, torch.zeros(2, 16, 16))  # flat -> exact zeros, set by the code
    finally:
        unregister("constant-test")


def test_batch_size_must_be_positive():
    with pytest.raises(XfasError, match="batch_size"):
        create_explainer("gradcam", TinyCNN(), batch_size=0)


def test_registering_the_same_factory_twice_is_harmless_and_unregister_removes_it():
    class Ones(Explainer):
        name = "ones-test"

        def attribute(self, images, target):
            return torch.ones(images.shape[0], 2, 2)

    register("ones-test", Ones)
    try:
        register("ones-test", Ones)
        with pytest.raises(XfasError, match="already registered"):
            register("ones-test", type("Other", (Ones,), {}))
        assert "ones-test" in available_explainers()
    finally:
        unregister("ones-test")
    assert "ones-test" not in available_explainers()


def test_sped_is_found_through_its_entry_point_without_importing_xfas_sped():
    code = ("import sys; from xfas.explain import available_explainers; "
            "names = available_explainers(); "
            "print('sped' in names, 'xfas.sped' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["True", "True"]
