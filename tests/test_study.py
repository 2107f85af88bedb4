"""The attention study: every model and seed is trained once, Table II summarises the seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from test_train import BorderDataset, small_config  # noqa: E402
from xfas.study import run_attention_study


def test_study_tables_the_seeds_and_reuses_finished_runs(tmp_path) -> None:
    splits = {"train": BorderDataset(64, 0), "val": BorderDataset(16, 1),
              "test": BorderDataset(16, 2)}
    models = ("cnn", "cnn-ca")
    summary = run_attention_study(splits, tmp_path, (0, 1), small_config(epochs=1),
                                  models=models, progress=False)
    for name in models:
        rows = summary["per_seed"][name]
        assert len(rows) == 2
        for metric in ("accuracy", "f1", "acer"):
            values = [row[metric] for row in rows]
            assert summary["table"][name][metric]["mean"] == pytest.approx(np.mean(values))
            assert summary["table"][name][metric]["std"] == pytest.approx(np.std(values, ddof=1))
    assert summary["table"]["cnn"]["accuracy"]["p_vs_baseline"] is None
    assert json.loads((tmp_path / "table2.json").read_text())["seeds"] == [0, 1]
    assert "cnn-ca" in (tmp_path / "table2.md").read_text()
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/seed*/test_metrics.json")}
    assert len(stamps) == 4
    run_attention_study(splits, tmp_path, (0, 1), small_config(epochs=1), models=models,
                        progress=False)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
