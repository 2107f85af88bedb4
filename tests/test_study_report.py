"""The attention study's explanations end to end on a tiny generated SynthSpoof set (the four
models trained one epoch on a few images; LIME and SHAP with few samples): one figure per
attack type with the rows and columns asked for, the attention benchmark equal to each
model's own benchmark run, the paired test recomputed from the runs' databases, the report
inlining the figures and Table II, a rerun that computes nothing, data without masks handled
with a note, and the command line with the benchmark switched off."""

from __future__ import annotations

import base64
import html
import json
import shutil
import sqlite3

import pytest
from PIL import Image
from scipy import stats
from torch.utils.data import Subset

from xfas.cli import main
from xfas.data.splits import open_splits
from xfas.data.synth.writer import generate_synthspoof
from xfas.plots.grid import TITLE_INCHES
from xfas.studies.attention import STUDY_MODELS, explain_attention_study, run_attention_study
from xfas.studies.attention.figures import CELL_INCHES, FIGURE_DPI

from helpers.tolerance import assert_close
from helpers.training import small_config

pytestmark = pytest.mark.slow

METHODS = ("gradcam", "lime", "shap")
TINY = {"lime": {"n_samples": 8}, "shap": {"n_samples": 8}}
FIGURE_IMAGES = 1
CELL, TITLE = round(CELL_INCHES * FIGURE_DPI), round(TITLE_INCHES * FIGURE_DPI)


def _explain(data, out):
    return explain_attention_study(data, out, seed=0, bench_images=2,
                                   figure_images=FIGURE_IMAGES, method_options=TINY, steps=2,
                                   progress=False)


def _train(splits, out) -> None:
    run_attention_study(splits, out, (0,), config=small_config(epochs=1, batch_size=8),
                        progress=False)


def _copy_study(out, target) -> None:
    """The trained runs and Table II of ``out`` in ``target``, so only explanations are new."""
    for model in STUDY_MODELS:
        shutil.copytree(out / model / "seed0", target / model / "seed0")
    shutil.copy(out / "table2.json", target / "table2.json")


def _folders(data, manifest, target):
    """The images of ``data`` as live/ and spoof/ folders: a layout without masks."""
    for name, entry in manifest.items():
        (target / entry["label"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(data / "images" / f"{name}.png", target / entry["label"] / f"{name}.png")
    return target


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("attention")
    data = generate_synthspoof(root / "synth", n=40, size=64, seed=1, progress=False)
    manifest = json.loads((data / "manifest.json").read_text())["images"]
    test = {name: e for name, e in manifest.items() if e["split"] == "test"}
    assert {e["label"] for e in test.values()} == {"live", "spoof"}, \
        "this data set's test split must hold both classes"
    out = root / "study"
    splits = open_splits(data)
    splits["train"] = Subset(splits["train"], range(8))
    _train(splits, out)
    return data, out, manifest, test, _explain(data, out), splits


def test_one_figure_per_attack_type_with_the_rows_and_columns_asked(study) -> None:
    _, out, _, test, result, _ = study
    spoofs: dict[str, list[str]] = {}
    for name, entry in test.items():
        if entry["label"] == "spoof":
            spoofs.setdefault(entry["attack"], []).append(name)
    assert sorted(result.figures) == sorted(spoofs)
    drawn = json.loads((out / "figures.json").read_text())["images"]
    for attack, names in spoofs.items():
        path = out / f"figure_{attack}.png"
        assert result.figures[attack] == path
        shown = min(FIGURE_IMAGES, len(names))
        rows, columns = shown * len(METHODS), 1 + len(STUDY_MODELS)
        with Image.open(path) as image:
            assert image.size == (columns * CELL, rows * CELL + TITLE)
        assert len(drawn[attack]) == shown and set(drawn[attack]) <= set(names)


def _niou_by_image(database, method: str) -> dict[str, float]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT image, AVG(value) FROM scores WHERE method = ? AND "
                          "metric = 'niou' AND evidence != '*' AND value IS NOT NULL "
                          "GROUP BY image", (method,)).fetchall()
    return dict(rows)


def test_attention_benchmark_equals_each_models_own_run(study) -> None:
    _, out, _, _, result, _ = study
    summary = json.loads((out / "attention_benchmark.json").read_text())
    assert summary == json.loads(json.dumps(result.benchmark))
    assert set(summary["rows"]) == set(STUDY_MODELS) and summary["images"] == 2
    for model in STUDY_MODELS:
        own = json.loads((out / "benchmark" / model / "results.json").read_text())
        assert own["data"]["n_scored"] == 2
        assert set(summary["rows"][model]) == set(METHODS)
        for method in METHODS:
            row = summary["rows"][model][method]
            assert row["mean_iou"] == own["mean"][method]["iou"]
            assert row["mean_niou"] == own["mean"][method]["niou"]
            assert row["pointing_game"] == own["mean"][method]["pointing_game"]
            assert row["deletion_auc"] == own["faithfulness"][method]["deletion_auc"]
            assert row["insertion_auc"] == own["faithfulness"][method]["insertion_auc"]
            assert row["niou"] == {e: own["table"][method][e]["niou"]
                                   for e in own["evidence_types"]}
    base_dir = out / "benchmark" / "cnn"
    for model in STUDY_MODELS[1:]:
        for method in METHODS:
            base = _niou_by_image(base_dir / "results.sqlite", method)
            mine = _niou_by_image(out / "benchmark" / model / "results.sqlite", method)
            differences = [mine[i] - base[i] for i in sorted(base.keys() & mine.keys())]
            cell = summary["versus"][model][method]
            assert cell["n"] == len(differences) == 2
            expected = (1.0 if not any(differences)
                        else float(stats.wilcoxon(differences).pvalue))
            assert_close(cell["p_value"], expected)
            rows = summary["rows"]
            assert_close(cell["delta_mean_niou"],
                         rows[model][method]["mean_niou"] - rows["cnn"][method]["mean_niou"])
    markdown = (out / "attention_benchmark.md").read_text()
    assert sum(line.startswith(f"| {m} | ") for m in STUDY_MODELS
               for line in markdown.splitlines()) == len(STUDY_MODELS) * len(METHODS)
    assert summary["sentence"] in markdown


def test_report_inlines_the_figures_table_two_and_the_answer(study) -> None:
    _, out, _, _, result, _ = study
    assert result.report == out / "report.html"
    text = result.report.read_text()
    for path in result.figures.values():
        assert "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode() in text
    table2 = json.loads((out / "table2.json").read_text())
    for model, metrics in table2["table"].items():
        cell = metrics["accuracy"]
        assert f"<td>{model}</td><td>{cell['mean']:.4f} ± {cell['std']:.4f}" in text
    assert html.escape(result.benchmark["sentence"]) in text
    assert "http://" not in text and "https://" not in text


def test_rerun_computes_nothing(study) -> None:
    data, out, _, _, result, splits = study
    files = [*out.glob("figure_*.png"), *out.glob("*/seed0/test_metrics.json"),
             *out.glob("*/seed0/best.safetensors")]
    stamps = {path: path.stat().st_mtime_ns for path in files}
    _train(splits, out)
    again = _explain(data, out)
    assert again.units_computed == {model: 0 for model in STUDY_MODELS}
    assert {path: path.stat().st_mtime_ns for path in files} == stamps
    assert again.benchmark == result.benchmark and again.figures == result.figures


def test_data_without_masks_get_figures_without_a_benchmark(study, tmp_path) -> None:
    data, out, manifest, _, _, _ = study
    folders = _folders(data, manifest, tmp_path / "folders")
    second = tmp_path / "study"
    _copy_study(out, second)
    result = explain_attention_study(folders, second, seed=0, bench_images=2, figure_images=1,
                                     method_options=TINY, progress=False)
    assert result.benchmark is None and result.units_computed == {}
    assert any("no evidence masks" in note for note in result.notes)
    assert list(result.figures) == ["spoof"]  # the folder layout's only attack type
    with Image.open(second / "figure_spoof.png") as image:
        assert image.size == ((1 + len(STUDY_MODELS)) * CELL, len(METHODS) * CELL + TITLE)
    assert not (second / "attention_benchmark.json").exists()
    assert not (second / "benchmark").exists()
    report = result.report.read_text()
    assert "No attention benchmark" in report and "no evidence masks" in report
    assert base64.b64encode((second / "figure_spoof.png").read_bytes()).decode() in report


def test_cli_with_the_benchmark_off_prints_table_two_and_the_report(
        study, tmp_path, capsys) -> None:
    data, out, manifest, _, _, _ = study
    second = tmp_path / "study"
    _copy_study(out, second)
    code = main(["study", "attention", "--data", str(data), "--out", str(second),
                 "--seeds", "0", "--bench-images", "0"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "| cnn-cbam |" in printed and "note: --bench-images 0" in printed
    assert f"report: {second / 'report.html'}" in printed
    assert (second / "table2.md").read_text() == (out / "table2.md").read_text()
    assert not list(second.glob("figure_*.png")) and not (second / "benchmark").exists()
    report = (second / "report.html").read_text()
    assert "No attention benchmark" in report and "No figure was drawn" in report


def test_other_benchmark_settings_on_rerun_name_the_folder_to_delete(study) -> None:
    from xfas.errors import XfasError

    data, out, _, _, _, _ = study
    with pytest.raises(XfasError, match=r"limit: stored 2, now 3.*benchmark[/\\]cnn.*delete"):
        explain_attention_study(data, out, seed=0, bench_images=3, figure_images=1,
                                method_options=TINY, steps=2, progress=False)
