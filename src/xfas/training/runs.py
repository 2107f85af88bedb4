"""A trained and evaluated run, made once and reused: what the demo and the studies need from
a training run is its test-set report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from xfas.models import load_model
from xfas.training.config import TrainConfig
from xfas.training.evaluation import evaluate
from xfas.training.run_state import STATE_FILE
from xfas.training.trainer import train

METRICS_FILE = "test_metrics.json"


def trained_run_metrics(splits: dict[str, Dataset], run: Path, config: TrainConfig,
                        *, progress: bool = True) -> dict[str, Any]:
    """The test-set FAS report of the run in ``run``, kept in ``run/test_metrics.json``:
    trains first (resuming an interrupted run) unless that file already exists."""
    result_file = run / METRICS_FILE
    if not result_file.exists():
        train(splits["train"], splits["val"], run, config=config,
              resume=(run / STATE_FILE).exists(), progress=progress)
        report = evaluate(load_model(run), splits["test"], dev_set=splits["val"],
                          progress=progress)
        result_file.write_text(json.dumps(report, indent=1))
    return json.loads(result_file.read_text())
