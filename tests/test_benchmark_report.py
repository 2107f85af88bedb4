"""The benchmark's outputs: Table I files, the self-contained HTML report (no external URL,
the tables and pictures embedded), the comparison of two runs, and the ``xfas benchmark`` /
``xfas report`` commands."""

from __future__ import annotations

import base64
import csv
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from xfas.benchmark import BenchmarkConfig, render_comparison, render_report, run_benchmark
from xfas.cli import main
from xfas.errors import XfasError

from helpers.benchmark import make_benchmark, make_checkpoint

DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def runs(tmp_path_factory, oracle):
    """Two finished runs on the same data: A (gradcam, oracle) and B (gradcam, randomcam,
    another seed, no faithfulness)."""
    root = tmp_path_factory.mktemp("report")
    make_benchmark(root / "data")
    model = make_checkpoint(root / "model.safetensors")
    a = BenchmarkConfig(data=str(root / "data"), model=str(model), methods=f"gradcam,{oracle}",
                        steps=2, unit_size=3)
    b = BenchmarkConfig(data=str(root / "data"), model=str(model), methods="gradcam,randomcam",
                        seed=1, faithfulness=False, unit_size=3)
    run_benchmark(a, root / "A", progress=False)
    run_benchmark(b, root / "B", progress=False)
    return root


def test_table_files_match_results_json(runs) -> None:
    results = json.loads((runs / "A" / "results.json").read_text())
    with (runs / "A" / "table.csv").open() as handle:
        rows = {row["method"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"gradcam", "oracle"}
    for method, row in rows.items():
        for evidence in ("photo_edge", "clutching_hand"):  # the same numbers, written twice
            cell = results["table"][method][evidence]
            assert float(row[f"{evidence}_IoU"]) == cell["iou"]
            assert float(row[f"{evidence}_nIoU"]) == cell["niou"]
        assert float(row["deletion_AUC"]) == results["faithfulness"][method]["deletion_auc"]
    markdown = (runs / "A" / "table.md").read_text()
    assert "| oracle | " in markdown and "photo_edge nIoU" in markdown
    lines = markdown.splitlines()
    column = lines[0].split(" | ").index("photo_edge nIoU")
    oracle_row = next(line for line in lines if line.startswith("| oracle"))
    # the mask-equal map's nIoU, bold where significantly best (tests/test_benchmark_significance)
    assert oracle_row.split(" | ")[column].strip("*") == "1.000"
    with (runs / "A" / "scores.csv").open() as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 2 * (6 * 3 + 3 * 3 + 6 * 2)


def test_report_is_self_contained(runs) -> None:
    path = render_report(runs / "A")
    assert path == runs / "A" / "report.html"
    text = path.read_text(encoding="utf-8")
    assert "://" not in text and "http" not in DATA_URI.sub("", text)  # no external URL
    assert "<link" not in text and "<script" not in text
    assert "Table I" in text and "oracle" in text and "photo_edge nIoU" in text
    assert "1.000" in text and "No problem found" in text
    images = DATA_URI.findall(text)
    assert len(images) >= 3  # IoU chart, nIoU chart, grid
    for payload in images:
        with Image.open(io.BytesIO(base64.b64decode(payload))) as picture:
            assert picture.format == "PNG" and min(picture.size) > 10
    assert text.count("<img") == len(images)  # every picture is embedded
    fingerprint = json.loads((runs / "A" / "results.json").read_text())["model_fingerprint"]
    assert fingerprint in text


def test_report_needs_no_model_and_no_data(runs, tmp_path) -> None:
    hidden = runs / "data_hidden"
    (runs / "data").rename(hidden)
    (runs / "model.safetensors").rename(runs / "model.hidden")
    try:
        text = render_report(runs / "A", tmp_path / "r.html").read_text(encoding="utf-8")
    finally:
        hidden.rename(runs / "data")
        (runs / "model.hidden").rename(runs / "model.safetensors")
    assert len(DATA_URI.findall(text)) >= 3


def test_grid_stores_maps_at_the_thumbnail_size(runs) -> None:
    figures = runs / "A" / "figures"
    listing = json.loads((figures / "grid.json").read_text())
    assert [entry["name"] for entry in listing["images"]] == [f"t{i}" for i in range(6)]
    for name in ("t0", "t1"):
        mask = np.asarray(Image.open(figures / "masks" / f"{name}__photo_edge.png")) > 127
        oracle = np.asarray(Image.open(figures / "maps" / f"{name}__oracle.png")) > 127
        assert np.array_equal(oracle, mask)  # the oracle's map is the mask
        image = Image.open(figures / "images" / f"{name}.png")
        assert image.size == (mask.shape[1], mask.shape[0])


def test_comparison_report(runs) -> None:
    path = render_comparison(runs / "A", runs / "B")
    assert path == runs / "A" / "compare_B.html"
    text = path.read_text(encoding="utf-8")
    assert "://" not in text
    a = json.loads((runs / "A" / "results.json").read_text())["table"]["gradcam"]
    b = json.loads((runs / "B" / "results.json").read_text())["table"]["gradcam"]
    for evidence in ("photo_edge", "clutching_hand"):
        for metric in ("iou", "niou"):
            assert f"{b[evidence][metric] - a[evidence][metric]:+.3f}" in text
    assert "oracle, randomcam" in text  # methods in only one run
    assert "<td>seed</td>" in text  # configuration differences


def test_report_of_a_missing_run_is_an_error(tmp_path) -> None:
    with pytest.raises(XfasError, match="not found"):
        render_report(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(XfasError, match="no benchmark database"):
        render_report(tmp_path / "empty")


def test_cli_benchmark_resume_and_report(runs, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    model = str(runs / "model.safetensors")
    args = ["benchmark", "--data", str(runs / "data"), "--model", model, "--out", str(out),
            "--methods", "gradcam,rise", "--set", "rise.n_masks=8", "--limit", "2",
            "--no-faithfulness", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2 unit(s) computed, 0 already done" in printed and "| rise |" in printed
    stored = json.loads((out / "results.json").read_text())["config"]
    assert stored["method_options"] == {"rise": {"n_masks": 8}} and stored["limit"] == 2
    assert main(["benchmark", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert "0 unit(s) computed, 2 already done" in capsys.readouterr().out
    assert main(["benchmark", "--out", str(out), "--resume", "--seed", "5",
                 "--no-progress"]) == 2
    assert "another configuration" in capsys.readouterr().err
    assert main(["benchmark", "--out", str(tmp_path / "new"), "--model", model]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["benchmark", "--out", str(tmp_path / "x"), "--data", str(runs / "data"),
                 "--model", model, "--methods", "gradcam,nope"]) == 2
    assert "valid names" in capsys.readouterr().err
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").is_file()
    assert main(["report", str(out), str(runs / "A"), "--out", str(tmp_path / "c.html")]) == 0
    assert (tmp_path / "c.html").is_file()
    assert main(["report", str(out), str(out), str(out)]) == 2
