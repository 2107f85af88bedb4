"""``xfas eval`` scores what the user asks for, as the model wants its input: a crop model's
scores equal the real pipeline's (``xfas predict``) image by image on real photos; --split all
scores every image of live/ and spoof/ folders; a manifest with only a test split uses the
card's threshold with a note; the report goes beside the data or under --out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xfas.assets import DETECTOR_MODEL, MINIFASNET_V1SE, MINIFASNET_V2
from xfas.cli import main
from xfas.data.datasets import FolderDataset
from xfas.data.image_io import load_image
from xfas.models import build_model, load_model, save_model
from xfas.models.card import card_beside, card_of, write_card
from xfas.models.fused import load_predictor
from xfas.training import predict_dataset

from helpers.assets import ASSETS, asset
from helpers.real_images import real_image_folder
from helpers.tolerance import assert_close


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory) -> Path:
    for relative in (MINIFASNET_V2, MINIFASNET_V1SE, DETECTOR_MODEL):
        asset(relative)
    return real_image_folder(tmp_path_factory.mktemp("real") / "photos")


def scores_csv(path: Path) -> dict[str, tuple[float, str]]:
    with path.open(encoding="utf-8") as handle:
        return {row["path"]: (float(row["spoof_probability"]), row["verdict"])
                for row in csv.DictReader(handle)}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["minifasnet-v2", "minifasnet"])
def test_crop_model_scores_equal_the_real_pipeline_image_by_image(real_folder, tmp_path, model,
                                                                  capsys) -> None:
    out = tmp_path / "eval"
    assert main(["eval", "--model", model, "--data", str(real_folder), "--split", "all",
                 "--out", str(out), "--assets", str(ASSETS), "--no-progress"]) == 0
    scored = scores_csv(out / f"{model}_all_scores.csv")
    predictor = load_predictor(model, assets=ASSETS)
    files = sorted(p for p in real_folder.rglob("*") if p.is_file())
    assert len(scored) == len(files) >= 30  # a face is found in every one of them
    for path in files:
        prediction = predictor.predict(load_image(path), name=str(path))
        score, verdict = scored[str(path)]
        assert_close(score, prediction.spoof_probability)
        assert verdict == ("spoof" if prediction.spoof_probability >= 0.5 else "live"), path
    report = json.loads((out / f"{model}_all.json").read_text())
    assert report["scored"] == len(files) and report["auc"] > 0.95
    assert f"written {out / f'{model}_all.json'}" in capsys.readouterr().out


def write_folder(root: Path, *, manifest: dict | None = None, n: int = 6) -> Path:
    """live/ and spoof/ of flat grey and bright-framed 32x32 images; ``manifest`` entries."""
    rng = np.random.default_rng(0)
    for label in ("live", "spoof"):
        (root / label).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(60, 120, size=(32, 32, 3), dtype=np.uint8)
            if label == "spoof":
                pixels[:4] = 255
            Image.fromarray(pixels).save(root / label / f"{label}{i}.png")
    if manifest is not None:
        (root / "manifest.json").write_text(json.dumps({"images": manifest}))
    return root


def test_split_all_scores_every_image_and_writes_beside_the_data(tmp_path, capsys) -> None:
    data = write_folder(tmp_path / "faces")
    run = save_model(build_model("cnn"), tmp_path / "run" / "best.safetensors").parent
    assert main(["eval", "--model", str(run), "--data", str(data), "--split", "all",
                 "--no-progress"]) == 0
    report_file = tmp_path / "faces_eval" / "run_all.json"
    assert json.loads(report_file.read_text())["n"] == 12
    assert len(scores_csv(tmp_path / "faces_eval" / "run_all_scores.csv")) == 12
    assert f"written {report_file}" in capsys.readouterr().out


def test_a_test_only_manifest_uses_the_cards_threshold_with_a_note(tmp_path, capsys) -> None:
    entries = {f"{label}{i}": {"label": label, "split": "test"}
               for label in ("live", "spoof") for i in range(6)}
    data = write_folder(tmp_path / "faces", manifest=entries)
    model = build_model("cnn")
    checkpoint = save_model(model, tmp_path / "run" / "best.safetensors")
    model.threshold = 0.3
    write_card(card_of(model), card_beside(checkpoint))
    assert main(["eval", "--model", str(checkpoint.parent), "--data", str(data),
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    report = json.loads((tmp_path / "out" / "run_test.json").read_text())
    assert report["threshold"] == 0.3 and report["n"] == 12
    assert report["hter_threshold_source"] == "given"
    printed = capsys.readouterr().out
    assert "threshold 0.3 from the model card" in printed
    assert "no validation images" in printed


def test_threshold_option_overrides_the_card(tmp_path) -> None:
    data = write_folder(tmp_path / "faces")
    run = save_model(build_model("cnn"), tmp_path / "run" / "best.safetensors").parent
    target = tmp_path / "metrics.json"
    assert main(["eval", "--model", str(run), "--data", str(data), "--threshold", "0.7",
                 "--out", str(target), "--split", "all", "--no-progress"]) == 0
    assert json.loads(target.read_text())["threshold"] == 0.7
    assert (tmp_path / "metrics_scores.csv").is_file()


def test_an_empty_split_is_an_error_naming_the_splits_with_images(tmp_path, capsys) -> None:
    entries = {f"{label}{i}": {"label": label, "split": "train"}
               for label in ("live", "spoof") for i in range(6)}
    data = write_folder(tmp_path / "faces", manifest=entries)
    run = save_model(build_model("cnn"), tmp_path / "run" / "best.safetensors").parent
    assert main(["eval", "--model", str(run), "--data", str(data), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "--split test" in error and "train" in error and "--split all" in error


def test_dataset_tensors_are_used_for_models_that_read_them(tmp_path) -> None:
    data = write_folder(tmp_path / "faces")
    model = load_model(save_model(build_model("cnn"), tmp_path / "m.safetensors"))
    dataset = FolderDataset(data, image_size=64)
    labels, scores, _ = predict_dataset(model, dataset, progress=False)
    batch = np.stack([dataset[i]["image"].numpy() for i in range(len(dataset))])
    with torch.no_grad():
        expected = model.spoof_probability(model(torch.from_numpy(batch))).numpy()
    assert_close(scores, expected)
    assert labels.tolist() == dataset.labels.tolist()
