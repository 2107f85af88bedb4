"""The attention paper's backbones: built with timm at 64x64 with 2 outputs and a 4x4 default
target layer, ImageNet weights from a local timm or torchvision file, trained and saved like
the CNN, and tabulated against the CNN over seeds (Table I); torchvision imports beside a CPU
torch whose torchvision cannot load its operators, and the workaround does nothing otherwise."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from xfas.errors import XfasError
from xfas.explain import create_explainer
from xfas.models import build_model, load_model
from xfas.models.backbones import BACKBONES, import_timm
from xfas.models.card import read_card
from xfas.models.torchvision_compat import import_torchvision
from xfas.studies.backbones import (DEFAULT_MODELS, STUDY_MODELS, limit_splits,
                                  run_backbone_study)
from xfas.training import train

from helpers.tolerance import assert_close
from helpers.training import BorderDataset, small_config

if importlib.util.find_spec("timm") is None:
    pytest.skip("timm is not installed (pip install 'xfas[backbones]')", allow_module_level=True)

LIGHT = ("mobilenetv3", "resnet50", "xception")
HEAVY = ("vgg16", "densenet121", "efficientnetb7")


def fake_torchvision(root: Path, body: str) -> Path:
    """A package named torchvision under ``root`` whose __init__ runs ``body``."""
    (root / "torchvision").mkdir(parents=True)
    (root / "torchvision" / "__init__.py").write_text(body)
    return root


def compat_run(root: Path) -> list[str]:
    """[module's marker, whether schemas were defined] of import_torchvision with ``root``
    first on the path, in a fresh interpreter."""
    code = ("from xfas.models.torchvision_compat import import_torchvision, "
            "operators_defined_here\nmodule = import_torchvision()\n"
            "print(module.MARKER, operators_defined_here())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**_env(), "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _env() -> dict[str, str]:
    import os
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.mark.slow
def test_a_torchvision_that_imports_normally_is_left_alone(tmp_path) -> None:
    root = fake_torchvision(tmp_path, "MARKER = 'normal'\n")
    assert compat_run(root) == ["normal", "False"]


@pytest.mark.slow
def test_a_torchvision_without_its_operators_imports_after_the_schemas_are_defined(tmp_path
                                                                                   ) -> None:
    body = ("import torch\n"
            "if not torch._C._dispatch_has_kernel_for_dispatch_key('torchvision::nms', 'Meta')"
            " and not hasattr(torch.ops.torchvision, 'nms'):\n"
            "    raise RuntimeError('operator torchvision::nms does not exist')\n"
            "MARKER = 'loaded'\n")
    assert compat_run(fake_torchvision(tmp_path, body)) == ["loaded", "True"]


@pytest.mark.slow
def test_the_installed_torchvision_imports() -> None:
    assert import_torchvision().__version__


@pytest.mark.parametrize("name", [*LIGHT, *(pytest.param(n, marks=pytest.mark.slow)
                                            for n in HEAVY)])
def test_every_backbone_gives_two_logits_and_a_4x4_target_layer(name: str) -> None:
    model = build_model(name).eval()
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    found = {}
    layer = dict(model.named_modules())[model.default_layer]
    handle = layer.register_forward_hook(lambda _m, _i, out: found.setdefault("map", out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    assert logits.shape == (2, 2) and model.live_index == 0
    assert found["map"].shape[-2:] == (4, 4)
    maps = create_explainer("gradcam", model).explain(x)
    assert maps.shape == (2, 64, 64)


def test_timm_weights_load_except_the_classifier(tmp_path) -> None:
    net = import_timm().create_model("mobilenetv3_large_100", num_classes=1000)
    torch.save(net.state_dict(), tmp_path / "mobilenetv3.pth")
    model = build_model("mobilenetv3", pretrained=tmp_path / "mobilenetv3.pth")
    for key, value in net.state_dict().items():
        if key.startswith("classifier."):
            assert model.net.state_dict()[key].shape[0] == 2
        else:
            assert torch.equal(model.net.state_dict()[key], value), key


def test_torchvision_weights_load_in_their_order(tmp_path) -> None:
    theirs = import_torchvision().models.mobilenet_v3_large(weights=None).eval()
    torch.save({"state_dict": theirs.state_dict()}, tmp_path / "tv.pth")
    model = build_model("mobilenetv3", pretrained=tmp_path / "tv.pth").eval()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_close(model.net.forward_features(x), theirs.features(x))


def test_weights_of_another_network_are_refused_naming_the_tensor(tmp_path) -> None:
    net = import_timm().create_model("resnet18", num_classes=1000)
    torch.save(net.state_dict(), tmp_path / "resnet18.pth")
    with pytest.raises(XfasError, match="resnet18.pth"):
        build_model("resnet50", pretrained=tmp_path / "resnet18.pth")
    with pytest.raises(XfasError, match="only the backbones"):
        build_model("cnn", pretrained=tmp_path / "resnet18.pth")


def test_a_backbone_trains_saves_its_card_and_loads_back(tmp_path) -> None:
    result = train(BorderDataset(48, 0), BorderDataset(16, 1), tmp_path / "run",
                   config=small_config(model="mobilenetv3", epochs=2), progress=False)
    assert result.epochs_run == 2
    assert all(math.isfinite(row["train_loss"]) for row in result.history)
    model = load_model(tmp_path / "run")
    assert model.name == "mobilenetv3"
    assert read_card(tmp_path / "run" / "best.json").target_layer == "net.blocks.4"


@pytest.mark.slow
def test_table1_has_the_cnn_and_each_backbone_over_seeds(tmp_path) -> None:
    splits = {"train": BorderDataset(48, 0), "val": BorderDataset(16, 1),
              "test": BorderDataset(16, 2)}
    summary = run_backbone_study(splits, tmp_path, (0, 1), config=small_config(epochs=1),
                                 models=("mobilenetv3", "cnn"), progress=False)
    assert list(summary["table"]) == ["cnn", "mobilenetv3"]  # the CNN is the baseline
    assert summary["table"]["cnn"]["accuracy"]["p_vs_baseline"] is None
    assert len(summary["per_seed"]["mobilenetv3"]) == 2
    table = (tmp_path / "table1.md").read_text()
    assert "| mobilenetv3 |" in table and "trained from scratch" in table
    assert json.loads((tmp_path / "table1.json").read_text())["pretrained"] == {
        "cnn": None, "mobilenetv3": None}


def test_unknown_study_models_are_refused(tmp_path) -> None:
    with pytest.raises(XfasError, match="--models"):
        run_backbone_study({}, tmp_path, (0,), config=small_config(), models=("cnn", "vgg19"))


def test_the_command_line_defaults_are_the_studys() -> None:
    from xfas.cli import backbones_cmd

    assert tuple(backbones_cmd.DEFAULT_MODELS.split(",")) == DEFAULT_MODELS
    assert set(backbones_cmd.ALL_MODELS.split(",")) == set(STUDY_MODELS)
    assert set(STUDY_MODELS) == {"cnn", *BACKBONES}


def test_the_study_subset_keeps_the_label_shares() -> None:
    from torch.utils.data import Dataset

    class Labelled(Dataset):
        labels = torch.tensor([0] * 60 + [1] * 140).numpy()

        def __len__(self) -> int:
            return len(self.labels)

    splits = {"train": Labelled(), "val": Labelled(), "test": Labelled()}
    limited = limit_splits(splits, 100, seed=0)
    wanted = {"train": 100, "val": 25, "test": 75}
    for name, part in limited.items():  # each class rounds on its own
        assert abs(len(part) - wanted[name]) <= 1, name
    chosen = Labelled.labels[limited["train"].indices]
    assert (chosen == 0).sum() == 30 and (chosen == 1).sum() == 70
    assert limit_splits(splits, None) is splits
