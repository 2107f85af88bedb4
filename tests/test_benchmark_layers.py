"""The benchmark's layer rules: the candidate layers (one per resolution), the calibration rule
(each method's layer, and SPED's bank, with the highest mean nIoU on the calibration images,
recomputed here from the explainers), the same scores as a fixed run at the chosen layer or
with the chosen bank, and the errors for settings that contradict the rule."""

from __future__ import annotations

import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from xfas.benchmark import BenchmarkConfig, run_benchmark
from xfas.benchmark.metrics import niou
from xfas.benchmark.runner import choose
from xfas.benchmark.scoring import CalibrationResult
from xfas.errors import XfasError
from xfas.explain import create_explainer
from xfas.explain.layers import spatial_layers
from xfas.models import build_model, load_model
from xfas.sped import SPED

from helpers.benchmark import K_SELECTED, make_benchmark, make_checkpoint
from helpers.tolerance import assert_close

SCORE_ATOL = 3 / K_SELECTED  # a near tie at the top-30 % cut-off may move by a pixel or so
VALIDATION = ["v0", "v1", "v2", "v3"]


class Pyramid(nn.Module):
    """Convolutions at 32, 16, 8, 4 and 2 cells per side; the default layer is the 2x2 one."""

    input_size = 32
    default_layer = "body.c5"

    def __init__(self) -> None:
        super().__init__()
        def conv() -> nn.Conv2d:
            return nn.Conv2d(3, 3, 3, padding=1)
        self.body = nn.Sequential(OrderedDict(
            c1=conv(), p1=nn.MaxPool2d(2), c2=conv(), p2=nn.MaxPool2d(2), c3=conv(),
            p3=nn.MaxPool2d(2), c4=conv(), p4=nn.MaxPool2d(2), c5=conv()))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def test_candidates_are_the_last_layer_of_each_resolution_finest_first() -> None:
    """32x32 is the input's own resolution (left out), 2x2 too coarse, but it is the default
    layer, which is always a candidate; of p1 and c2 (both 16x16) the later one."""
    assert spatial_layers(Pyramid()) == ["body.c2", "body.c3", "body.c4", "body.c5"]
    assert spatial_layers(build_model("cnn")) == ["features.block2", "features.block3",
                                                  "features.attention"]


def _rows(scores: dict[tuple[str, str], list[float]]) -> CalibrationResult:
    """Calibration rows of gradcam: {(layer, evidence): one nIoU per image}."""
    rows = [(f"i{index}", "gradcam", layer, evidence, value)
            for (layer, evidence), values in scores.items()
            for index, value in enumerate(values)]
    return CalibrationResult(candidate_rows=rows)


def test_choice_is_the_mean_over_types_of_type_means() -> None:
    """Layer a: photo_edge 1.0 on one image, clutching_hand 0.0 on three: mean of the type
    means 0.5 (pooled over rows it would be 0.25); layer b: 0.4 everywhere. a wins."""
    result = _rows({("a", "photo_edge"): [1.0], ("a", "clutching_hand"): [0.0, 0.0, 0.0],
                    ("b", "photo_edge"): [0.4], ("b", "clutching_hand"): [0.4, 0.4, 0.4]})
    layers = choose(result, candidates={"gradcam": ("a", "b")},
                    evidence_types=["photo_edge", "clutching_hand"])
    entry = layers["gradcam"]
    assert entry["layer"] == "a" and entry["rule"] == "calibration"
    assert_close(entry["calibration_niou"], 0.5)
    assert_close(entry["candidates"]["b"], 0.4)
    assert entry["n"] == 3 and set(layers) == {"gradcam"}


def test_choice_ignores_types_outside_the_mean_and_breaks_ties_to_the_first() -> None:
    result = _rows({("a", "photo_edge"): [0.6], ("a", "print_surface"): [0.9],
                    ("b", "photo_edge"): [0.65], ("b", "print_surface"): [0.1]})
    layers = choose(result, candidates={"gradcam": ("a", "b")}, evidence_types=["photo_edge"])
    assert layers["gradcam"]["layer"] == "b"
    tie = _rows({("a", "photo_edge"): [0.5], ("b", "photo_edge"): [0.5]})
    assert choose(tie, candidates={"gradcam": ("b", "a")},
                  evidence_types=["photo_edge"])["gradcam"]["layer"] == "b"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("layers")
    masks = make_benchmark(root / "data", n_test=6, n_val=4)
    return {"data": root / "data", "masks": masks,
            "model": make_checkpoint(root / "model.safetensors")}


def _inputs(model, data: Path, names) -> tuple[torch.Tensor, list]:
    pairs = [model.preprocess(np.asarray(Image.open(data / "images" / f"{n}.png")))
             for n in names]
    return torch.stack([p[0] for p in pairs]), [p[1] for p in pairs]


def _mean_over_types(maps: torch.Tensor, geometries: list, masks: dict) -> float:
    """The calibration score recomputed: per evidence type the mean nIoU over the validation
    images with that mask, then the mean over the types."""
    by_type: dict[str, list[float]] = {}
    for index, name in enumerate(VALIDATION):
        for evidence, mask in masks[name].items():
            by_type.setdefault(evidence, []).append(
                niou(mask, geometries[index].to_image(maps[index])))
    return float(np.mean([np.mean(values) for values in by_type.values()]))


@pytest.mark.slow
def test_calibration_rule_picks_the_best_layer_and_scores_like_a_fixed_run(data, tmp_path
                                                                           ) -> None:
    model = load_model(str(data["model"]))
    config = BenchmarkConfig(data=str(data["data"]), model=str(data["model"]),
                             methods="gradcam,ablationcam", layer_rule="calibration",
                             faithfulness=False, unit_size=4)
    run = run_benchmark(config, tmp_path / "calibrated", progress=False)
    batch, geometries = _inputs(model, data["data"], VALIDATION)
    for method in ("gradcam", "ablationcam"):
        entry = run.results["layers"][method]
        assert set(entry["candidates"]) == set(spatial_layers(model))
        for layer, score in entry["candidates"].items():
            maps = create_explainer(method, model, layer=layer,
                                    progress=False).explain(batch, target="spoof")
            assert_close(score, _mean_over_types(maps, geometries, data["masks"]), rtol=0,
                         atol=SCORE_ATOL, msg=f"{method} at {layer}")
        assert entry["layer"] == max(entry["candidates"], key=entry["candidates"].get)
        assert entry["n"] == len(VALIDATION)
    fixed = BenchmarkConfig(data=str(data["data"]), model=str(data["model"]), methods="gradcam",
                            layer=run.results["layers"]["gradcam"]["layer"],
                            faithfulness=False, unit_size=4)
    same = run_benchmark(fixed, tmp_path / "fixed", progress=False).results
    assert same["layers"]["gradcam"] == {"rule": "fixed",
                                         "layer": run.results["layers"]["gradcam"]["layer"]}
    for evidence, cell in same["table"]["gradcam"].items():
        assert_close(run.results["table"]["gradcam"][evidence]["niou"], cell["niou"])
    table = (tmp_path / "calibrated" / "table.md").read_text(encoding="utf-8")
    assert f"gradcam {run.results['layers']['gradcam']['layer']} (nIoU" in table


@pytest.mark.slow
def test_calibration_rule_never_reads_a_test_image(data, tmp_path) -> None:
    """The same validation images with other test images (noise, no evidence where the masks
    say) give the very same layer scores: the rule reads the calibration split only."""
    other = tmp_path / "data"
    shutil.copytree(data["data"], other)
    rng = np.random.default_rng(1)
    for index in range(6):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
            other / "images" / f"t{index}.png")
    layers = {}
    for name, root in (("given", data["data"]), ("other", other)):
        config = BenchmarkConfig(data=str(root), model=str(data["model"]), methods="gradcam",
                                 layer_rule="calibration", faithfulness=False, unit_size=4)
        layers[name] = run_benchmark(config, tmp_path / name, progress=False).results["layers"]
    assert layers["given"] == layers["other"]
    scores = layers["given"]["gradcam"]["candidates"]
    assert len(set(scores.values())) > 1  # the layers do score differently


@pytest.mark.slow
def test_calibration_rule_picks_the_best_bank_for_each_sped_scoring(data, tmp_path) -> None:
    model = load_model(str(data["model"]))
    names = [f"t{i}" for i in range(6)]
    banks = []
    for layer in ("features.block3", "features.attention"):
        bank = tmp_path / f"{layer}.safetensors"
        SPED(model, layer=layer, n_concepts=3, n_designs=2, crop_stride=0.5, top_crops=1,
             progress=False, transform_iter=10, nmf_options={"max_iter": 20}).fit(
            _inputs(model, data["data"], names)[0]).save(bank)
        banks.append(str(bank))
    options = {"sped": {"transform_iter": 10}}
    config = BenchmarkConfig(data=str(data["data"]), model=str(data["model"]),
                             concepts=",".join(banks), methods="sped,sped-matched",
                             layer_rule="calibration", faithfulness=False, unit_size=4,
                             method_options=options)
    run = run_benchmark(config, tmp_path / "calibrated", progress=False)
    for method in ("sped", "sped-matched"):
        entry = run.results["layers"][method]
        assert set(entry["candidates"]) == set(banks)
        assert entry["bank"] == max(entry["candidates"], key=entry["candidates"].get)
        assert entry["layer"] == Path(entry["bank"]).stem
    chosen = run.results["layers"]["sped-matched"]["bank"]
    one_bank = BenchmarkConfig(data=str(data["data"]), model=str(data["model"]),
                               concepts=chosen, methods="sped-matched", faithfulness=False,
                               unit_size=4, method_options=options)
    same = run_benchmark(one_bank, tmp_path / "fixed", progress=False).results
    assert same["sped_assignment"] == run.results["sped_assignment"]
    for evidence, cell in same["table"]["sped-matched"].items():
        assert_close(run.results["table"]["sped-matched"][evidence]["niou"], cell["niou"])


@pytest.mark.parametrize("settings, message", [
    ({"layer_rule": "calibration", "layer": "features.block3"}, "--layer features.block3"),
    ({"layer_rule": "calibration", "method_options": {"gradcam": {"layer": "features.block3"}}},
     "gradcam.layer"),
    ({"layer_rule": "best"}, "--layer-rule 'best'"),
    ({"layer_rule": "calibration", "calibration_split": "names"}, "--calibration-split names"),
])
def test_settings_that_contradict_the_rule_are_refused(data, tmp_path, settings, message
                                                       ) -> None:
    config = BenchmarkConfig(data=str(data["data"]), model=str(data["model"]),
                             methods="gradcam", **settings)
    with pytest.raises(XfasError, match=message.replace("(", r"\(")):
        run_benchmark(config, tmp_path / "run", progress=False)


def test_several_banks_need_the_calibration_rule(data, tmp_path) -> None:
    bank = tmp_path / "bank.safetensors"
    bank.write_bytes(b"")
    config = BenchmarkConfig(data=str(data["data"]), model=str(data["model"]),
                             concepts=f"{bank},{bank}", methods="sped")
    with pytest.raises(XfasError, match="several banks need --layer-rule calibration"):
        run_benchmark(config, tmp_path / "run", progress=False)
