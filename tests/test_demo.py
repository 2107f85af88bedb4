"""`xfas demo` end to end at a tiny size: every stage runs and writes what the README promises,
and a second run reuses the finished stages."""

from __future__ import annotations

import json

import pytest

from xfas.cli import main

TINY = ["--images", "100", "--epochs", "1", "--concepts", "2", "--sped-images", "8",
        "--bench-images", "1"]


@pytest.mark.slow
def test_demo_writes_data_model_concepts_benchmark_and_report(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *TINY]) == 0
    assert (out / "synthspoof" / "manifest.json").exists()
    assert (out / "cnn-cbam" / "best.safetensors").exists()
    metrics = json.loads((out / "cnn-cbam" / "test_metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert (out / "concepts.safetensors").exists() and (out / "concepts_concepts.png").exists()
    results = json.loads((out / "benchmark" / "results.json").read_text())
    assert {"gradcam", "rise", "lime", "shap", "sped", "sped-matched"} <= set(results["table"])
    report = out / "benchmark" / "report.html"
    assert report.exists() and str(report.resolve()) in capsys.readouterr().out
    # a second run finds every stage done and recomputes nothing
    assert main(["demo", "--out", str(out), *TINY]) == 0
    assert "reusing" in capsys.readouterr().out
