"""The real MiniFASNet models: they load strictly, reproduce what the original Silent-Face
pipeline saw on its sample images (assets README table), through the API and the CLI, and
refuse bad weight files with a message naming them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from xfas.assets import MINIFASNET_V1SE, MINIFASNET_V2
from xfas.cli import main
from xfas.data.image_io import load_image
from xfas.errors import AssetMissingError, XfasError
from xfas.models.base import CropGeometry
from xfas.models.fused import FusedPredictor
from xfas.models.minifasnet import MiniFASNetV1SE, MiniFASNetV2, load_minifasnet

from helpers.assets import ASSETS, asset
from helpers.tolerance import assert_close

# The assets README: face box, V2 softmax, V1SE softmax, fused label of the original pipeline.
TABLE = {
    "image_F1.jpg": ((178, 136, 223, 225), (.08, .00, .92), (.31, .14, .55), "spoof"),
    "image_F2.jpg": ((120, 252, 252, 256), (.00, .00, 1.0), (.00, .36, .63), "spoof"),
    "image_T1.jpg": ((106, 147, 207, 213), (.00, .99, .01), (.00, 1.0, .00), "live"),
}
TOLERANCE = 0.02  # the table has two decimals; V1SE on F2 sums to .99 (rounding)


@pytest.fixture(scope="module")
def predictor() -> FusedPredictor:
    for relative in (MINIFASNET_V2, MINIFASNET_V1SE):
        asset(relative)
    return FusedPredictor.from_assets(ASSETS)


def image(name: str) -> np.ndarray:
    return load_image(asset(f"images/{name}"))


@pytest.mark.parametrize("name", sorted(TABLE))
def test_fused_predictor_reproduces_the_readme_table(predictor: FusedPredictor,
                                                     name: str) -> None:
    box, v2, v1se, label = TABLE[name]
    assert predictor.detector.backend == "retinaface"
    result = predictor.predict(image(name))
    assert np.all(np.abs(np.subtract(result.face_box, box)) <= 3), result.face_box
    assert_close(result.per_model["minifasnet-v2"], v2, rtol=0, atol=TOLERANCE)
    assert_close(result.per_model["minifasnet-v1se"], v1se, rtol=0, atol=TOLERANCE)
    assert result.label == label
    # the fusion of the README: mean softmax, spoof probability = 1 - P(live)
    expected_spoof = 1 - (v2[1] + v1se[1]) / 2
    assert_close(result.spoof_probability, expected_spoof, rtol=0, atol=TOLERANCE)
    assert_close(result.fused.sum(), 1.0)


def test_models_describe_themselves(predictor: FusedPredictor) -> None:
    v2, v1se = predictor.models
    assert isinstance(v2, MiniFASNetV2) and isinstance(v1se, MiniFASNetV1SE)
    assert (v2.crop_scale, v1se.crop_scale) == (2.7, 4.0)
    assert not v2.training and not v1se.training
    features = {}
    handle = v2.get_submodule(v2.default_layer).register_forward_hook(
        lambda module, args, out: features.setdefault("map", out))
    v2(torch.zeros(1, 3, 80, 80))
    handle.remove()
    assert features["map"].shape == (1, 512, 5, 5)


def test_rgb_instead_of_bgr_or_scaled_input_changes_the_answer(predictor: FusedPredictor
                                                               ) -> None:
    # README: RGB input turns F1 and F2 into "live"; dividing by 255 makes everything class 2.
    names = sorted(TABLE)  # F1, F2, T1
    images = [image(name) for name in names]
    boxes = [TABLE[name][0] for name in names]
    for model in predictor.models:
        x, _ = model.preprocess_batch(images, boxes)
        with torch.no_grad():
            swapped = model(x.flip(1)).argmax(1).tolist()
            scaled = model(x / 255).argmax(1).tolist()
        assert swapped[:2] == [1, 1], model.name
        assert scaled == [2, 2, 2], model.name


def test_forward_and_backward(predictor: FusedPredictor) -> None:
    for model in predictor.models:
        x = (torch.rand(2, 3, 80, 80, generator=torch.Generator().manual_seed(0)) * 255)
        x.requires_grad_(True)
        model.spoof_score(x).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        assert model.conv1.conv.weight.grad.abs().sum() > 0
        model.zero_grad(set_to_none=True)
    fresh = MiniFASNetV1SE().train()  # training mode, random weights
    logits = fresh(torch.rand(4, 3, 80, 80) * 255)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 1])).backward()
    assert fresh.conv_4.model[5].se_module.fc1.weight.grad.abs().sum() > 0


def test_crop_geometry_round_trip() -> None:
    # Hand-computed Silent-Face crop: a 100x100 face at (400, 400) in a 1000x1000 image, scale
    # 2.7 -> 270x270 about the centre (450, 450) -> x from 315 to 585 inclusive.
    model = MiniFASNetV2()
    picture = np.random.default_rng(0).integers(0, 256, (1000, 1000, 3), dtype=np.uint8)
    x, geometry = model.preprocess(picture, (400, 400, 100, 100))
    assert x.shape == (3, 80, 80)
    assert geometry == CropGeometry((1000, 1000), (315, 315, 586, 586))
    back = geometry.to_image(torch.ones(80, 80))
    expected = torch.zeros(1000, 1000)
    expected[315:586, 315:586] = 1
    assert_close(back, expected)
    # on a portrait sample the scale is bounded by the width: (W-1)/w = 479/213 for V1SE
    _, geometry = MiniFASNetV1SE().preprocess(np.zeros((640, 480, 3), np.uint8),
                                              (106, 147, 213, 213))
    assert geometry.box[0] == 0 and geometry.box[2] == 480


def test_bgr_crop_matches_hand_made_crop() -> None:
    model = MiniFASNetV2()
    picture = np.random.default_rng(1).integers(0, 256, (1000, 1000, 3), dtype=np.uint8)
    x, _ = model.preprocess(picture, (400, 400, 100, 100))
    hand = cv2.resize(picture[315:586, 315:586, ::-1].copy(), (80, 80)).astype(np.float32)
    # both are OpenCV's resize of the same 8-bit pixels: the same integers on every CPU
    np.testing.assert_array_equal(x.permute(1, 2, 0).numpy(), hand)


def test_bad_weight_files_are_named(tmp_path: Path) -> None:
    real_v1se = asset(MINIFASNET_V1SE)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"definitely not a torch file" * 20)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(asset(MINIFASNET_V2).read_bytes()[:500_000])
    wrong_keys = tmp_path / "wrong_keys.pth"
    torch.save({"module.something.weight": torch.zeros(3)}, wrong_keys)
    not_dict = tmp_path / "list.pth"
    torch.save([torch.zeros(3)], not_dict)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    for path in (garbage, truncated, wrong_keys, not_dict, empty):
        with pytest.raises(XfasError, match=path.name):
            load_minifasnet("v2", weights=path)
    with pytest.raises(XfasError, match=f"{real_v1se.name}.*minifasnet-v2"):
        load_minifasnet("v2", weights=real_v1se)  # the other model's shapes
    with pytest.raises(AssetMissingError, match="missing.pth"):
        load_minifasnet("v2", weights=tmp_path / "missing.pth")
    with pytest.raises(XfasError, match="v3"):
        load_minifasnet("v3", assets=ASSETS)


def test_no_face_is_an_error_naming_the_image(predictor: FusedPredictor) -> None:
    with pytest.raises(XfasError, match="blank.png: no face found"):
        predictor.predict(np.full((200, 200, 3), 90, np.uint8), name="blank.png")


def test_cli_reproduces_the_verdicts(predictor: FusedPredictor, capsys) -> None:
    paths = [str(asset(f"images/{name}")) for name in sorted(TABLE)]
    assert main(["predict", *paths, "--assets", str(ASSETS), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(r["image"]).name for r in rows] == sorted(TABLE)
    for row in rows:
        _, v2, v1se, label = TABLE[Path(row["image"]).name]
        assert row["label"] == label
        assert_close(row["per_model"]["minifasnet-v2"], v2, rtol=0, atol=TOLERANCE)
        assert_close(row["per_model"]["minifasnet-v1se"], v1se, rtol=0, atol=TOLERANCE)
    assert main(["predict", paths[0], "--assets", str(ASSETS)]) == 0
    word, number = capsys.readouterr().out.split()
    assert word == "spoof"
    assert_close(float(number), 1 - (0 + .14) / 2, rtol=0, atol=TOLERANCE)


def test_cli_single_model_and_weights(capsys) -> None:
    path = str(asset("images/image_T1.jpg"))
    weights = str(asset(MINIFASNET_V1SE))
    assert main(["predict", path, "--model", "minifasnet-v1se", "--weights", weights,
                 "--assets", str(ASSETS)]) == 0
    word, number = capsys.readouterr().out.split()
    assert word == "live"
    assert_close(float(number), 0.0, rtol=0, atol=TOLERANCE)
    assert main(["predict", path, "--weights", weights, "--assets", str(ASSETS)]) == 2
    assert "--weights" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_missing_image_is_a_one_line_error(tmp_path: Path) -> None:
    asset(MINIFASNET_V2)
    missing = tmp_path / "no_such_face.jpg"
    env = {**os.environ, "XFAS_ASSETS": str(ASSETS)}
    done = subprocess.run([sys.executable, "-m", "xfas", "predict", str(missing)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {missing}: file not found"
    assert done.stdout == ""
