"""Gradient, ablation and score CAMs against independent truths: captum (the reference library
importable here; pytorch-grad-cam needs torchvision, which has no CPU build in this
environment), maps computed by hand on a model with closed-form gradients, and direct loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xfas.explain import create_explainer, explain_many
from xfas.explain.eigencam import first_component
from xfas.models import build_model

from helpers.models import QuadraticModel, TinyCNN, images, pearson, raw_maps
from helpers.tolerance import assert_close, assert_raw_maps_close, assert_same_maps

captum_attr = pytest.importorskip("captum.attr")

CAMS = ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam", "eigengradcam"]


def _minmax(maps: np.ndarray) -> np.ndarray:
    out = np.zeros_like(maps)
    for i, m in enumerate(maps):
        span = m.max() - m.min()
        out[i] = (m - m.min()) / span if span > 0 else 0.0
    return out


def _hand_cam(method: str, a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Each method's raw map (before ReLU and scaling) written out in numpy for activations a
    and gradients g."""
    if method == "gradcam":
        raw = (g.mean(axis=(2, 3), keepdims=True) * a).sum(1)
    elif method == "gradcam++":
        denominator = 2 * g ** 2 + a.sum(axis=(2, 3), keepdims=True) * g ** 3
        alpha = np.where(denominator != 0, g ** 2 / np.where(denominator != 0, denominator, 1), 0)
        raw = ((alpha * np.maximum(g, 0)).sum(axis=(2, 3), keepdims=True) * a).sum(1)
    elif method == "xgradcam":
        w = (a * g / a.sum(axis=(2, 3), keepdims=True)).sum(axis=(2, 3), keepdims=True)
        raw = (w * a).sum(1)
    elif method == "hirescam":
        raw = (g * a).sum(1)
    elif method == "layercam":
        raw = (np.maximum(g, 0) * a).sum(1)
    else:
        feats = a if method == "eigencam" else g * a
        reference = a.sum(1) if method == "eigencam" else \
            (g.mean(axis=(2, 3), keepdims=True) * a).sum(1)
        raw = np.zeros(a.shape[:1] + a.shape[2:])
        for i in range(a.shape[0]):
            m = feats[i].reshape(feats.shape[1], -1).T
            m = m - m.mean(axis=0)
            projection = m @ np.linalg.svd(m, full_matrices=False)[2][0]
            if projection @ reference[i].ravel() < 0:
                projection = -projection
            raw[i] = projection.reshape(a.shape[2:])
    return raw


@pytest.mark.parametrize("method", CAMS)
def test_cams_equal_the_closed_form_on_a_quadratic_model(method):
    x = images(3, 8, seed=1)
    model = QuadraticModel()
    ours = raw_maps(create_explainer(method, model, layer="feat", progress=False), x)
    x64 = x.double().numpy()
    expected = _hand_cam(method, QuadraticModel.activations(x64), QuadraticModel.gradients(x64))
    assert (np.ptp(np.maximum(expected, 0), axis=(1, 2)) > 0).all()  # no flat map after ReLU
    assert_raw_maps_close(ours, expected)


def _captum_gradcam(model, layer, x, size, target):
    def score(t):  # one forward pass; 2 classes, index 0 = live
        z = model(t)
        return z[:, 1] - z[:, 0] if target == "spoof" else z[:, target]

    cam = captum_attr.LayerGradCam(score, model.get_submodule(layer))
    raw = cam.attribute(x, relu_attributions=True)
    up = captum_attr.LayerAttribution.interpolate(raw, size, "bilinear")[:, 0]
    return _minmax(up.detach().numpy())


# (model, weight seed, target) chosen so that no map is flat (all-negative CAMs are all zeros)
@pytest.mark.parametrize("model_name, seed, target", [
    ("tiny", 0, "spoof"), ("tiny", 0, 1), ("cnn", 1, "spoof"), ("cnn-ca", 0, "spoof"),
    ("cnn-cbam", 0, 1), ("cnn-sa", 2, "spoof")])
def test_gradcam_matches_captum(model_name, seed, target):
    if model_name == "tiny":
        model, layer, x = TinyCNN(seed=seed).eval(), "features.4", images(6, 16, seed=2)
    else:
        torch.manual_seed(seed)
        model, x = build_model(model_name).eval(), images(4, 64, seed=2)
        layer = model.default_layer
    ours = create_explainer("gradcam", model, layer=layer, progress=False).explain(x, target)
    reference = _captum_gradcam(model, layer, x, tuple(x.shape[-2:]), target)
    assert all(theirs.max() == 1.0 for theirs in reference)  # no flat map: a real comparison
    for mine, theirs in zip(ours.numpy(), reference):
        assert pearson(mine, theirs) >= 0.99


def test_ablationcam_matches_captum_layer_feature_ablation():
    model, layer, x = TinyCNN(seed=2).eval(), "features.4", images(3, 16, seed=5)
    ours = create_explainer("ablationcam", model, layer=layer, progress=False).explain(x)
    probability = lambda t: 1 - torch.softmax(model(t), dim=1)[:, 0]  # noqa: E731
    module = model.get_submodule(layer)
    ablation = captum_attr.LayerFeatureAblation(probability, module)
    with torch.no_grad():
        activations = []
        handle = module.register_forward_hook(lambda m, i, o: activations.append(o))
        y = probability(x)
        handle.remove()
    a = activations[0]
    channel_mask = torch.arange(a.shape[1])[None, :, None, None].expand(1, *a.shape[1:])
    drops = ablation.attribute(x, layer_mask=channel_mask, perturbations_per_eval=16)
    weights = drops[:, :, 0, 0] / y[:, None]
    raw = torch.relu((weights[:, :, None, None] * a).sum(1))
    reference = _minmax(F.interpolate(raw[:, None], size=(16, 16), mode="bilinear",
                                      align_corners=False)[:, 0].numpy())
    assert all(theirs.max() == 1.0 for theirs in reference)  # no flat map: a real comparison
    for mine, theirs in zip(ours.numpy(), reference):
        assert pearson(mine, theirs) >= 0.99


def test_ablationcam_runs_the_early_layers_once_per_batch():
    model = TinyCNN(seed=4).eval()
    calls = []
    model.features[0].register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    create_explainer("ablationcam", model, layer="features.4", batch_size=4,
                     progress=False).explain(images(3, 16))
    model.features[0]._forward_hooks.clear()
    assert calls == [3]  # 16 channels x 3 images ablated, the first conv ran once


def test_scorecam_equals_a_direct_loop():
    model, layer, x = TinyCNN(seed=6).eval(), "features.4", images(2, 16, seed=7)
    ours = raw_maps(create_explainer("scorecam", model, layer=layer, batch_size=5,
                                     progress=False), x)
    module = model.get_submodule(layer)
    store = []
    handle = module.register_forward_hook(lambda m, i, o: store.append(o.detach()))
    with torch.no_grad():
        model(x)
    handle.remove()
    expected = []
    for n in range(2):
        total = torch.zeros(8, 8)
        for k, a in enumerate(store[0][n]):
            up = F.interpolate(a[None, None], size=(16, 16), mode="bilinear",
                               align_corners=False)[0, 0]
            mask = (up - up.min()) / (up.max() - up.min()) if up.max() > up.min() else 0 * up
            with torch.no_grad():
                w = 1 - torch.softmax(model(x[n:n + 1] * mask), dim=1)[0, 0]
            total += w * a
        expected.append(total)
    assert_raw_maps_close(ours, torch.stack(expected))


def test_explain_many_equals_single_methods_and_shares_one_pass():
    model, x = TinyCNN(seed=8).eval(), images(4, 16, seed=9)
    calls = []
    model.features[0].register_forward_hook(lambda m, i, o: calls.append(1))
    many = explain_many(model, x, CAMS + ["randomcam"], layer="features.4", batch_size=64)
    assert len(calls) == 1
    model.features[0]._forward_hooks.clear()
    for name, maps in many.items():
        single = create_explainer(name, model, layer="features.4", progress=False).explain(x)
        assert_same_maps(maps, single)  # explain_many gives normalised maps only


def test_eigen_sign_agrees_with_the_reference_where_the_svd_sign_does_not():
    generator = torch.Generator().manual_seed(0)
    flipped = 0
    for _ in range(20):
        features = torch.randn(1, 6, 5, 5, generator=generator, dtype=torch.float64)
        reference = torch.randn(1, 5, 5, generator=generator, dtype=torch.float64)
        ours = first_component(features, reference)
        assert float((ours * reference).sum()) >= 0
        m = features[0].reshape(6, -1).T.numpy()
        m = m - m.mean(axis=0)
        plain = m @ np.linalg.svd(m, full_matrices=False)[2][0]
        assert_close(ours.abs().ravel(), np.abs(plain))
        flipped += float(plain @ reference.numpy().ravel()) < 0
    assert flipped > 0  # the reference's unsigned component would have disagreed sometimes


def test_randomcam_is_seeded():
    model, x = TinyCNN(seed=1).eval(), images(2, 16)
    make = lambda seed: raw_maps(create_explainer("randomcam", model, seed=seed,  # noqa: E731
                                                  progress=False), x)
    assert_raw_maps_close(make(3), make(3))
    assert (make(3) - make(4)).abs().max() > 0.1 * make(3).abs().max()  # another seed: new map
