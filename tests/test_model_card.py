"""The model card: written beside every saved model, read back field for field, applied to a
model's preprocessing, and refused with the field at fault named; ``xfas check-model`` finds a
mis-wired card on real labelled photos."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from xfas.assets import DETECTOR_MODEL, MINIFASNET_V2
from xfas.cli import main
from xfas.errors import XfasError
from xfas.models import build_model, load_model, save_model
from xfas.models.card import (ModelCard, apply_card, card_beside, card_of, read_card,
                              write_card)
from xfas.models.registry import card_threshold
from xfas.training.wiring import CARD, wirings

from helpers.assets import ASSETS, asset
from helpers.real_images import real_image_folder
from helpers.tolerance import assert_close


def test_saving_a_model_writes_its_card_and_loading_reads_it(tmp_path) -> None:
    model = build_model("cnn-ca")
    checkpoint = save_model(model, tmp_path / "run" / "best.safetensors")
    card = read_card(tmp_path / "run" / "best.json")
    assert card == ModelCard(input_size=64, model="cnn-ca", channel_order="RGB",
                             pixel_scale=1 / 255, crop_scale=None, resize="auto",
                             num_classes=2, live_index=0, threshold=0.5,
                             target_layer="features.attention")
    changed = replace(card, threshold=0.25, channel_order="BGR")
    write_card(changed, card_beside(checkpoint))
    loaded = load_model(tmp_path / "run")
    assert loaded.threshold == 0.25 and loaded.channel_order == "BGR"
    assert card_threshold(tmp_path / "run") == 0.25


def test_a_card_changes_what_preprocess_feeds_the_model() -> None:
    image = np.zeros((40, 60, 3), np.uint8)
    image[..., 0] = 200  # red
    model = apply_card(build_model("cnn"), ModelCard(input_size=64, channel_order="BGR",
                                                     pixel_scale=1.0), source="test")
    x, _ = model.preprocess(image)
    assert_close(x[2].mean().item(), 200.0)  # red is now the last channel, in 0-255
    assert_close(x[0].mean().item(), 0.0)


def test_json_and_yaml_cards_read_alike(tmp_path) -> None:
    text = {"input_size": 80, "channel_order": "BGR", "pixel_scale": "1/255",
            "crop_scale": 2.7, "num_classes": 3, "live_index": 1, "threshold": 0.4}
    (tmp_path / "c.json").write_text(json.dumps(text))
    pytest.importorskip("yaml")
    (tmp_path / "c.yaml").write_text("\n".join(f"{k}: {v}" for k, v in text.items()))
    from_json, from_yaml = read_card(tmp_path / "c.json"), read_card(tmp_path / "c.yaml")
    assert from_json == from_yaml
    assert_close(from_json.pixel_scale, 1 / 255)


@pytest.mark.parametrize("field, value, named", [
    ("channel_order", "RBG", "channel_order"),
    ("live_index", 3, "live_index"),
    ("resize", "lanczos", "resize"),
    ("colour", "RGB", "unknown fields .'colour'."),
    ("input_size", "80", "input_size"),
])
def test_a_bad_card_names_the_file_and_field(tmp_path, field, value, named) -> None:
    data = {"input_size": 80, "num_classes": 3, field: value}
    (tmp_path / "c.json").write_text(json.dumps(data))
    with pytest.raises(XfasError, match=named) as caught:
        read_card(tmp_path / "c.json")
    assert str(tmp_path / "c.json") in str(caught.value)


def test_a_card_that_does_not_fit_the_weights_is_refused() -> None:
    card = replace(card_of(build_model("cnn")), input_size=80)
    with pytest.raises(XfasError, match="input_size 80 does not fit"):
        apply_card(build_model("cnn"), card, source="--card c.json")
    normalising = replace(card_of(build_model("cnn")), mean=(0.5, 0.5, 0.5))
    with pytest.raises(XfasError, match="normalises inside itself"):
        apply_card(build_model("cnn"), normalising, source="--card c.json")


def test_the_usual_miswirings_of_a_card() -> None:
    card = ModelCard(input_size=80, channel_order="BGR", pixel_scale=1.0, crop_scale=2.7,
                     num_classes=3, live_index=1)
    found = wirings(card)
    assert found[CARD] == card
    assert found["RGB"].channel_order == "RGB"
    assert_close(found["pixels / 255"].pixel_scale, 1 / 255)
    assert found["whole image"].crop_scale is None and found["crop 4.0"].crop_scale == 4.0
    assert {found["live index 0"].live_index, found["live index 2"].live_index} == {0, 2}


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory) -> Path:
    asset(MINIFASNET_V2)
    asset(DETECTOR_MODEL)
    return real_image_folder(tmp_path_factory.mktemp("real") / "photos")


@pytest.mark.slow
def test_check_model_catches_a_card_that_feeds_rgb(real_folder, tmp_path, capsys) -> None:
    right = card_of(load_model("minifasnet-v2", assets=ASSETS))
    wrong = write_card(replace(right, channel_order="RGB"), tmp_path / "rgb.json")
    common = ["--data", str(real_folder), "--assets", str(ASSETS), "--no-progress"]
    assert main(["check-model", "--model", "minifasnet-v2", "--card", str(wrong), *common]) == 1
    printed = capsys.readouterr().out
    assert "warning: 'BGR' gives AUC" in printed
    assert main(["check-model", "--model", "minifasnet-v2", *common]) == 0
    assert "ok: the card's wiring separates best" in capsys.readouterr().out


@pytest.mark.slow
def test_check_model_catches_a_card_that_scales_to_one(real_folder, tmp_path, capsys) -> None:
    right = card_of(load_model("minifasnet-v2", assets=ASSETS))
    wrong = write_card(replace(right, pixel_scale=1 / 255), tmp_path / "scaled.json")
    assert main(["check-model", "--model", "minifasnet-v2", "--card", str(wrong), "--data",
                 str(real_folder), "--assets", str(ASSETS), "--no-progress"]) == 1
    assert "warning: 'pixels 0-255' gives AUC" in capsys.readouterr().out
