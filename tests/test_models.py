"""The attention paper's CNNs, their attention blocks, checkpoints and the model interface."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xfas.errors import XfasError
from xfas.explain.hooks import capture
from xfas.models import CropGeometry, build_model, context_crop_box, load_model, save_model
from xfas.models.attention import ChannelAttention, SpatialAttention

from helpers.tolerance import assert_close

NAMES = ["cnn", "cnn-ca", "cnn-sa", "cnn-cbam"]


@pytest.mark.parametrize("name", NAMES)
def test_every_model_runs_forward_and_backward(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name)
    x = torch.rand(4, 3, 64, 64, requires_grad=True)
    logits = model(x)
    assert logits.shape == (4, 2)
    model.spoof_logit(logits).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", NAMES)
def test_default_layer_is_the_last_spatial_feature_map(name: str) -> None:
    model = build_model(name).eval()
    modules = dict(model.named_modules())
    assert model.default_layer in modules
    seen = {}
    def record(module, inputs, output) -> None:
        seen["shape"] = output.shape

    handle = modules[model.default_layer].register_forward_hook(record)
    model(torch.rand(1, 3, 64, 64))
    handle.remove()
    assert seen["shape"] == (1, 128, 8, 8)


def test_layer_table_matches_the_paper_widths() -> None:
    model = build_model("cnn")
    convs = [m.out_channels for m in model.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [10, 3, 16, 32, 64, 96, 128, 192, 256, 128]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 6


def test_a_cell_of_the_last_map_sees_only_its_receptive_field() -> None:
    """The input pixels that move one cell of the default layer, found by back-propagation,
    lie within RECEPTIVE_FIELD px centred on the cell (counted independently of the layer
    table: 3x3 convolutions add 2 px times the stride so far, 2x2 pools 1 px times it), and
    reach nearly that far; a 3x3 convolution after pool3 would widen the field past it."""
    from xfas.models.cnn import RECEPTIVE_FIELD

    field, stride = 1, 1
    for module in build_model("cnn").features.modules():
        if isinstance(module, torch.nn.Conv2d):
            field += (module.kernel_size[0] - 1) * stride
        elif isinstance(module, torch.nn.MaxPool2d):
            field += stride
            stride *= 2
    assert (field, stride) == (RECEPTIVE_FIELD, 8)
    torch.manual_seed(0)
    model = build_model("cnn").eval()
    x = torch.rand(8, 3, 64, 64, requires_grad=True)
    layer = dict(model.named_modules())[model.default_layer]
    seen = {}
    handle = layer.register_forward_hook(lambda m, i, out: seen.update(out=out))
    model(x)
    handle.remove()
    row, col = 3, 4  # cell centre (in input pixels): 8 * index + 3.5
    seen["out"][:, :, row, col].sum().backward()
    moved = (x.grad.abs().sum(dim=(0, 1)) > 0).nonzero()
    centre = torch.tensor([8 * row + 3.5, 8 * col + 3.5])
    reach = (moved.float() - centre).abs().amax(dim=0)
    assert (reach <= RECEPTIVE_FIELD / 2).all()
    assert (reach >= RECEPTIVE_FIELD / 2 - 4).all()


@pytest.mark.parametrize("name", ["cnn", "cnn-ca", "cnn-sa", "cnn-cbam"])
def test_a_uniform_image_gives_uniform_feature_maps(name: str) -> None:
    """Padding copies the border instead of adding zeros, so no cell can tell where it is from
    the frame: a uniform input gives every cell of the last map the same features (with zero
    padding the cells along the border differ from the inner ones)."""
    torch.manual_seed(0)
    model = build_model(name).eval()
    with capture(model.get_submodule(model.default_layer), model.default_layer) as record:
        model(torch.full((2, 3, 64, 64), 0.6))
    features = record.require()
    corner = features[:, :, :1, :1].expand_as(features)
    assert_close(features / features.abs().amax(), corner / features.abs().amax())


def test_outputs_do_not_depend_on_the_thread_count() -> None:
    """Benchmark workers run one torch thread, an in-process run several: the last map and the
    logits must agree (the map relative to its own scale, see helpers.tolerance)."""
    torch.manual_seed(0)
    model, x = build_model("cnn").eval(), torch.rand(6, 3, 64, 64)
    layer = model.get_submodule(model.default_layer)
    threads, results = torch.get_num_threads(), []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            with capture(layer, model.default_layer) as record, torch.no_grad():
                logits = model(x)
            results.append((record.require(), logits))
    finally:
        torch.set_num_threads(threads)
    (one_map, one_logits), (two_map, two_logits) = results
    scale = one_map.abs().amax()
    assert_close(two_map / scale, one_map / scale)
    assert_close(two_logits, one_logits)


def test_attention_variants_differ_only_in_the_attention_block() -> None:
    assert isinstance(build_model("cnn").features.attention, torch.nn.Identity)
    assert isinstance(build_model("cnn-ca").features.attention, ChannelAttention)
    assert isinstance(build_model("cnn-sa").features.attention, SpatialAttention)
    cbam = build_model("cnn-cbam").features.attention
    assert [type(m) for m in cbam] == [ChannelAttention, SpatialAttention]


def test_channel_attention_matches_hand_computation() -> None:
    torch.manual_seed(1)
    block = ChannelAttention(8, reduction=2)
    x = torch.randn(2, 8, 5, 5)
    w1 = block.mlp[0].weight[:, :, 0, 0]
    w2 = block.mlp[2].weight[:, :, 0, 0]
    mlp = lambda v: torch.relu(v @ w1.T) @ w2.T  # noqa: E731
    scale = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))))
    assert_close(block(x), x * scale[:, :, None, None])


def test_spatial_attention_with_a_single_tap_kernel() -> None:
    block = SpatialAttention()
    with torch.no_grad():
        block.conv.weight.zero_()
        block.conv.weight[0, 0, 3, 3] = 1.0   # centre tap reads the channel-mean map
        block.conv.weight[0, 1, 3, 3] = -1.0  # and subtracts the channel-max map
    x = torch.randn(1, 4, 6, 6)
    expected = x * torch.sigmoid(x.mean(dim=1, keepdim=True) - x.amax(dim=1, keepdim=True))
    assert_close(block(x), expected)


def test_unknown_model_name_lists_the_valid_ones() -> None:
    with pytest.raises(XfasError, match="cnn-cbam"):
        build_model("resnet")


def test_spoof_probability_and_logit_for_two_and_three_classes() -> None:
    model = build_model("cnn")
    logits = torch.tensor([[2.0, -1.0]])
    assert_close(model.spoof_probability(logits), [np.exp(-1) / (np.exp(2) + np.exp(-1))])
    assert_close(model.spoof_logit(logits), [-3.0])
    model.live_index = 1  # MiniFASNet's convention: classes 0 and 2 are attacks
    three = torch.tensor([[0.5, 1.0, -2.0]])
    p = torch.softmax(three, dim=1)[0]
    assert_close(model.spoof_probability(three), [1 - p[1].item()])
    assert_close(model.spoof_logit(three),
                 [np.log(p[0].item() + p[2].item()) - np.log(p[1].item())])


def test_checkpoint_round_trip(tmp_path) -> None:
    torch.manual_seed(2)
    model = build_model("cnn-cbam").eval()
    path = save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(path)
    x = torch.rand(2, 3, 64, 64)
    assert_close(loaded(x), model(x))
    assert loaded.name == "cnn-cbam" and loaded.fingerprint() == model.fingerprint()
    assert load_model(tmp_path / "m.safetensors").training is False


def test_tampered_checkpoint_is_refused(tmp_path) -> None:
    path = save_model(build_model("cnn"), tmp_path / "m.safetensors")
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF  # flip bits inside the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(XfasError, match="digest"):
        load_model(path)


def test_checkpoint_of_another_architecture_names_the_tensor(tmp_path) -> None:
    """A checkpoint of an older layer table (block6 3x3, not 1x1) is one line of error."""
    from xfas.models.checkpoint import read_checkpoint, save_checkpoint

    path = save_model(build_model("cnn"), tmp_path / "m.safetensors")
    tensors, header = read_checkpoint(path)
    tensors["features.block6.0.weight"] = torch.zeros(192, 128, 3, 3)
    old = save_checkpoint(tmp_path / "old.safetensors", tensors, header)
    with pytest.raises(XfasError) as error:
        load_model(old)
    message = str(error.value)
    assert "old.safetensors" in message and "features.block6.0.weight" in message
    assert "(192, 128, 3, 3)" in message and "(192, 128, 1, 1)" in message
    assert "\n" not in message


def test_non_checkpoint_files_are_refused(tmp_path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(XfasError, match="junk.safetensors"):
        load_model(junk)
    torch.save({"a": torch.zeros(1)}, tmp_path / "pickle.pt")
    with pytest.raises(XfasError, match="pickle.pt"):
        load_model(tmp_path / "pickle.pt")


def test_architecture_name_without_weights_is_an_error() -> None:
    with pytest.raises(XfasError, match="xfas train"):
        load_model("cnn")


def test_preprocess_whole_image_and_geometry() -> None:
    model = build_model("cnn")
    image = np.zeros((100, 50, 3), np.uint8)
    image[:, :, 0] = 255
    x, geometry = model.preprocess(image)
    assert x.shape == (3, 64, 64)
    assert_close(x[0], 1.0)
    assert_close(x[1:], 0.0)
    assert geometry == CropGeometry((100, 50), (0, 0, 50, 100))
    with pytest.raises(XfasError, match="uint8"):
        model.preprocess(image.astype(np.float32))


def test_preprocess_averages_when_shrinking_as_the_training_data_do() -> None:
    # A 1-px checkerboard of 0 / 255 at 192 px: each 3x3 block averages to 4/9 or 5/9 of
    # white. Bilinear sampling at a third of the size picks single pixels (0 or 255): an
    # aliased texture the model never saw in training, whose datasets average.
    board = (np.indices((192, 192)).sum(0) % 2 * 255).astype(np.uint8)
    x, _ = build_model("cnn").preprocess(np.repeat(board[..., None], 3, axis=2))
    assert_close([x.min(), x.max()], [113 / 255, 142 / 255])


def test_context_crop_box_matches_the_silent_face_formula() -> None:
    # face (100, 100, 50, 40) in a 480x640 (H x W) image, scale 2.7: both (H-1)/h and (W-1)/w
    # exceed 2.7, so the box grows to 135 x 108 about the centre (125, 120).
    assert context_crop_box((100, 100, 50, 40), (480, 640), 2.7) == (57, 66, 193, 175)
    # a face at the left edge: the box is shifted right to start at 0
    x0, y0, x1, y1 = context_crop_box((0, 200, 100, 100), (480, 640), 2.7)
    assert x0 == 0 and x1 - x0 == 271
    # a face too large for the scale: s = (H-1)/h caps it at the image height
    x0, y0, x1, y1 = context_crop_box((200, 100, 300, 300), (480, 640), 4.0)
    assert (y0, y1) == (0, 480)


def test_geometry_maps_back_inside_the_box_only() -> None:
    geometry = CropGeometry((40, 60), (10, 5, 30, 25))
    ones = geometry.to_image(torch.ones(2, 8, 8))
    assert ones.shape == (2, 40, 60)
    assert_close(ones[:, 5:25, 10:30], 1.0)
    assert_close(ones.sum(), 2 * 20 * 20)
