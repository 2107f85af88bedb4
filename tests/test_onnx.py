"""ONNX models: MiniFASNetV2 exported by ``xfas export`` and loaded back with its card gives the
native model's verdicts on the sample images and its Grad-CAM maps; a graph onnx2torch cannot
convert runs through onnxruntime, where only the black-box methods explain it; an ONNX file
without its card is refused, naming the card."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from xfas.assets import DETECTOR_MODEL, MINIFASNET_V2
from xfas.cli import main
from xfas.data.face import FaceDetector
from xfas.data.image_io import load_image
from xfas.errors import XfasError
from xfas.explain import create_explainer
from xfas.models import build_model, load_model
from xfas.models.card import ModelCard, write_card
from xfas.models.onnx_export import export_onnx

from helpers.assets import ASSETS, asset
from helpers.models import pearson, raw_maps
from helpers.tolerance import assert_close

for _name in ("onnx", "onnxruntime", "onnx2torch"):
    if importlib.util.find_spec(_name) is None:
        pytest.skip(f"{_name} is not installed (pip install 'xfas[onnx]')",
                    allow_module_level=True)

import onnx  # noqa: E402

SAMPLES = ("image_F1.jpg", "image_F2.jpg", "image_T1.jpg")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    asset(MINIFASNET_V2)
    out = tmp_path_factory.mktemp("onnx") / "v2.onnx"
    assert main(["export", "--model", "minifasnet-v2", "--onnx", str(out),
                 "--assets", str(ASSETS)]) == 0
    return out


@pytest.mark.slow
def test_exported_minifasnet_gives_the_native_verdicts_and_gradcam(exported) -> None:
    native = load_model("minifasnet-v2", assets=ASSETS)
    loaded = load_model(exported)  # the card v2.json beside it
    assert type(loaded).__name__ == "GraphModel"
    assert (loaded.channel_order, loaded.pixel_scale, loaded.crop_scale, loaded.live_index) \
        == ("BGR", 1.0, 2.7, 1)
    detector = FaceDetector.from_assets(ASSETS, caffemodel=asset(DETECTOR_MODEL))
    inputs = []
    for name in SAMPLES:
        image = load_image(asset(f"images/{name}"))
        box = detector.detect(image)
        x_native, _ = native.preprocess(image, box)
        x_loaded, _ = loaded.preprocess(image, box)
        assert_close(x_loaded, x_native)
        inputs.append(x_loaded)
    batch = torch.stack(inputs)
    with torch.no_grad():
        p_native = native.spoof_probability(native(batch))
        p_loaded = loaded.spoof_probability(loaded(batch))
    assert_close(p_loaded, p_native)
    assert ((p_loaded >= 0.5) == (p_native >= 0.5)).all()
    assert (p_native >= 0.5).tolist() == [True, True, False]  # F1, F2 spoof; T1 live
    maps_native = create_explainer("gradcam", native).explain(batch)
    maps_loaded = create_explainer("gradcam", loaded).explain(batch)
    for a, b in zip(maps_native, maps_loaded):
        assert pearson(a, b) >= 0.99


def test_export_writes_the_card_beside_the_file(exported) -> None:
    card = json.loads(exported.with_suffix(".json").read_text())
    assert card["channel_order"] == "BGR" and card["crop_scale"] == 2.7
    assert card["live_index"] == 1 and card["input_size"] == 80
    assert card["target_layer"] == "conv_6_sep/prelu/PRelu"


@pytest.mark.slow
def test_the_onnx_file_predicts_as_the_native_model_on_the_command_line(exported,
                                                                         capsys) -> None:
    image = str(asset("images/image_F1.jpg"))
    assert main(["predict", image, "--model", "minifasnet-v2", "--assets", str(ASSETS)]) == 0
    native = capsys.readouterr().out
    assert main(["predict", image, "--model", str(exported), "--assets", str(ASSETS)]) == 0
    assert capsys.readouterr().out == native


def test_a_trained_cnn_round_trips(tmp_path) -> None:
    model = build_model("cnn-cbam").eval()
    path, card = export_onnx(model, tmp_path / "cnn.onnx")
    loaded = load_model(path, card=card)
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert_close(loaded(x), model(x))
    found = raw_maps(create_explainer("gradcam++", loaded), x)
    expected = raw_maps(create_explainer("gradcam++", model), x)
    assert expected.abs().max() > 0
    assert_close(found, expected)


def unconvertible_graph(path: Path) -> Path:
    """A 2-class model onnx2torch has no converter for (ReduceMean of opset 18, axes as an
    input): logits = W @ (mean colour of the image) + b."""
    from onnx import TensorProto, helper, numpy_helper

    weight = np.array([[1.0, -2.0, 0.5], [-1.0, 2.0, -0.5]], np.float32)
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input", "axes"], ["pooled"], keepdims=0),
         helper.make_node("Gemm", ["pooled", "weight"], ["logits"], transB=1)],
        "mean_colour",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(np.array([2, 3], np.int64), "axes"),
         numpy_helper.from_array(weight, "weight")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(path))
    write_card(ModelCard(input_size=16, live_index=0), path.with_suffix(".json"))
    return path


def test_an_unconvertible_graph_runs_through_onnxruntime_for_black_box_methods(tmp_path
                                                                               ) -> None:
    path = unconvertible_graph(tmp_path / "mean.onnx")
    with pytest.warns(UserWarning, match="only the black-box methods"):
        model = load_model(path)
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    colour = x.mean(dim=(2, 3))
    expected = colour @ torch.tensor([[1.0, -2.0, 0.5], [-1.0, 2.0, -0.5]]).T
    with torch.no_grad():
        assert_close(model(x), expected)
    maps = create_explainer("rise", model, n_masks=64, progress=False).explain(x)
    assert maps.shape == (2, 16, 16)
    with pytest.raises(XfasError, match="rise, lime, shap"):
        create_explainer("gradcam", model)


def test_an_onnx_file_without_its_card_is_refused_naming_it(tmp_path) -> None:
    path = unconvertible_graph(tmp_path / "mean.onnx")
    path.with_suffix(".json").unlink()
    with pytest.raises(XfasError, match="needs its model card") as caught:
        load_model(path)
    assert str(path.with_suffix(".json")) in str(caught.value)
