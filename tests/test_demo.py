"""`xfas demo` end to end at a tiny size: every stage runs and writes what the README promises,
the stored test metrics are those of the saved checkpoint on the test split, and a second run
reuses the finished stages."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from xfas.cli import main
from xfas.data.benchmark_layout import ALL_EVIDENCE_TYPES
from xfas.data.splits import open_splits
from xfas.models import load_model
from xfas.sped import SPED
from xfas.training import evaluate

from helpers.assets import ASSETS
from helpers.tolerance import assert_close

TINY = ["--images", "100", "--epochs", "1", "--concepts", "2", "--sped-images", "8",
        "--bench-images", "1"]


@pytest.mark.slow
def test_demo_writes_data_model_concepts_benchmark_and_report(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    tiny = TINY + (["--assets", str(ASSETS)] if ASSETS.is_dir() else [])
    assert main(["demo", "--out", str(out), *tiny]) == 0
    assert (out / "synthspoof" / "manifest.json").exists()
    assert (out / "cnn-cbam" / "best.safetensors").exists()
    metrics = json.loads((out / "cnn-cbam" / "test_metrics.json").read_text())
    # the stored report is the saved checkpoint's on the test split: its accuracy recounted
    # here from the model's own spoof probabilities, and the whole report made again
    splits = open_splits(out / "synthspoof")
    model = load_model(out / "cnn-cbam")
    test = [splits["test"][i] for i in range(len(splits["test"]))]
    with torch.no_grad():
        spoof = model.spoof_probability(model(torch.stack([item["image"] for item in test])))
    labels = np.array([item["label"] for item in test])
    assert metrics["n"] == len(test) > 0
    assert_close(metrics["accuracy"], np.mean((spoof.numpy() >= 0.5) == labels))
    assert_close(metrics, evaluate(model, splits["test"], dev_set=splits["val"],
                                   progress=False))
    assert (out / "concepts.safetensors").exists() and (out / "concepts_concepts.png").exists()
    results = json.loads((out / "benchmark" / "results.json").read_text())
    assert {"gradcam", "rise", "lime", "shap", "sped", "sped-matched"} <= set(results["table"])
    report = out / "benchmark" / "report.html"
    printed = capsys.readouterr().out
    assert report.exists() and str(report.resolve()) in printed
    if ASSETS.is_dir():
        # MiniFASNetV2's bank, found on SynthSpoof's spoofs; each concept named after the
        # evidence it overlaps or left with its default name
        bank = SPED.load(out / "minifasnet" / "concepts.safetensors",
                         load_model("minifasnet-v2", assets=ASSETS))
        evidence = {e.replace("_", " ") for e in ALL_EVIDENCE_TYPES}
        assert all(name in evidence or name == f"concept {k + 1}"
                   for k, name in enumerate(bank.names)), bank.names
    # a second run finds every stage done and recomputes nothing
    assert main(["demo", "--out", str(out), *tiny]) == 0
    assert "reusing" in capsys.readouterr().out
