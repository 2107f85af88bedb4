"""xfas.viz figures and the `xfas explain` command."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib import colormaps
from PIL import Image

from xfas import viz
from xfas.errors import XfasError
from xfas.models import build_model, save_model
from xfas.models.base import FASModel


def _image(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_overlay_blends_the_image_with_the_colormap():
    image = _image()
    saliency = np.tile(np.linspace(0, 1, 32), (24, 1))
    # 8-bit pixels: alpha 0 gives back the image's own integers
    assert np.array_equal(viz.overlay(image, saliency, alpha=0.0), image)
    jet = np.rint(colormaps["jet"](saliency)[:, :, :3] * 255)
    assert np.abs(viz.overlay(image, saliency, alpha=1.0).astype(float) - jet).max() <= 1
    half = viz.overlay(image, torch.from_numpy(saliency), alpha=0.5).astype(float)
    assert np.abs(half - (image / 2 + jet / 2)).max() <= 1
    with pytest.raises(XfasError, match="does not match"):
        viz.overlay(image, np.zeros((5, 5)))


class _BGRModel(FASModel):
    input_size = 16
    channel_order = "BGR"
    pixel_scale = 1.0


def test_input_to_rgb_undoes_preprocess():
    image = _image(16, 16)
    for model in (FASModel(), _BGRModel()):
        model.input_size = 16
        tensor, _ = model.preprocess(image)
        back = viz.input_to_rgb(tensor, model.channel_order, model.pixel_scale)
        assert np.array_equal(back, image)  # rounded back to the same 8-bit integers


def _png(path) -> np.ndarray:
    with Image.open(path) as opened:
        assert opened.format == "PNG"
        return np.asarray(opened.convert("RGB"))


def test_method_grid_has_a_column_per_method(tmp_path):
    images = [_image(seed=1), _image(seed=2)]
    maps = {"a": [np.zeros((24, 32)), np.ones((24, 32))]}
    narrow = _png(viz.method_grid(images, maps, tmp_path / "one.png"))
    maps["b"] = maps["a"]
    wide = _png(viz.method_grid(images, maps, tmp_path / "two.png", row_titles=["x", "y"]))
    assert wide.shape[1] > narrow.shape[1] * 1.2
    with pytest.raises(XfasError, match="2 images"):
        viz.method_grid(images, {"a": [np.zeros((24, 32))]}, tmp_path / "bad.png")


def test_region_figures_show_the_signs(tmp_path):
    image = np.full((32, 32, 3), 128, dtype=np.uint8)
    segments = (np.arange(32)[:, None] // 16) * 2 + np.arange(32)[None, :] // 16
    values = np.array([1.0, -1.0, 0.2, 0.0])
    picture = _png(viz.shap_figure(image, segments, values, path=tmp_path / "shap.png"))
    red = (picture[:, :, 0] > 180) & (picture[:, :, 2] < 120)
    blue = (picture[:, :, 2] > 180) & (picture[:, :, 0] < 120)
    assert red.sum() > 100 and blue.sum() > 100
    lime = _png(viz.lime_figure(image, segments, values, path=tmp_path / "lime.png", top=1))
    assert lime.shape[0] > 50


@pytest.fixture()
def checkpoint(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "cnn.safetensors"
    save_model(build_model("cnn").eval(), path)
    return path


@pytest.mark.slow
def test_explain_command_writes_overlays_grid_and_maps(tmp_path, checkpoint):
    from xfas.cli import main
    from xfas.data.image_io import save_image

    paths = [save_image(tmp_path / f"face{i}.png", _image(48, 40, seed=i)) for i in range(2)]
    out = tmp_path / "out"
    code = main(["explain", *map(str, paths), "--model", str(checkpoint), "--methods",
                 "gradcam,lime,shap", "--out", str(out), "--samples", "64", "--no-progress"])
    assert code == 0
    for stem in ("face0", "face1"):
        for name in ("gradcam", "lime", "shap", "lime_regions", "shap_cells"):
            _png(out / f"{stem}_{name}.png")
    assert _png(out / "grid.png").shape[1] > 300
    with np.load(out / "maps.npz") as maps:
        assert sorted(maps) == sorted(f"face{i}__{m}" for i in range(2)
                                      for m in ("gradcam", "lime", "shap"))
        for key in maps:
            assert maps[key].shape == (48, 40) and maps[key].dtype == np.float32
            assert 0 <= maps[key].min() and maps[key].max() <= 1


def test_explain_command_rejects_unknown_methods(tmp_path, checkpoint, capsys):
    from xfas.cli import main

    code = main(["explain", "x.png", "--model", str(checkpoint), "--methods", "gradcam,nope",
                 "--out", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert "nope" in error and "valid names: gradcam, gradcam++" in error


def test_explain_command_on_minifasnet_maps_back_to_the_image(tmp_path):
    from xfas.assets import SAMPLE_IMAGES, find_asset
    from xfas.cli import main
    from xfas.errors import AssetMissingError

    try:
        image = find_asset(SAMPLE_IMAGES[2])
        find_asset("models/2.7_80x80_MiniFASNetV2.pth")
    except AssetMissingError as missing:
        pytest.skip(f"Silent-Face assets missing: {missing}")
    out = tmp_path / "out"
    assert main(["explain", str(image), "--model", "minifasnet-v2", "--methods", "gradcam",
                 "--out", str(out), "--no-progress"]) == 0
    with np.load(out / "maps.npz") as maps:
        assert maps["image_T1__gradcam"].shape == (640, 480)  # upright, as the image
