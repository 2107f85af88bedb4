"""The attention study: every model and seed is trained once, Table II summarises the seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from xfas.studies.attention import run_attention_study
from xfas.studies.attention.figures import Panel, draw_figure

from helpers.tolerance import assert_close
from helpers.training import BorderDataset, small_config


def test_study_tables_the_seeds_and_reuses_finished_runs(tmp_path) -> None:
    splits = {"train": BorderDataset(64, 0), "val": BorderDataset(16, 1),
              "test": BorderDataset(16, 2)}
    models = ("cnn", "cnn-ca")
    summary = run_attention_study(splits, tmp_path, (0, 1), config=small_config(epochs=1),
                                  models=models, progress=False)
    for name in models:
        rows = summary["per_seed"][name]
        assert len(rows) == 2
        for metric in ("accuracy", "f1", "acer"):
            values = [row[metric] for row in rows]
            assert_close(summary["table"][name][metric]["mean"], np.mean(values))
            assert_close(summary["table"][name][metric]["std"], np.std(values, ddof=1))
    assert summary["table"]["cnn"]["accuracy"]["p_vs_baseline"] is None
    assert json.loads((tmp_path / "table2.json").read_text())["seeds"] == [0, 1]
    assert "cnn-ca" in (tmp_path / "table2.md").read_text()
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/seed*/test_metrics.json")}
    assert len(stamps) == 4
    run_attention_study(splits, tmp_path, (0, 1), config=small_config(epochs=1), models=models,
                        progress=False)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


# --- the attention benchmark's paired test, on hand-made per-image scores -------------------

def test_paired_test_finds_a_model_higher_on_every_image() -> None:
    from xfas.studies.attention.benchmark import paired_comparison

    base = {f"img{k}": 0.05 * k for k in range(10)}
    higher = {name: value + 0.1 + 0.01 * k for k, (name, value) in enumerate(base.items())}
    result = paired_comparison(base, higher)
    # exact two-sided signed-rank p when all 10 differences are positive: 2 / 2^10
    assert result["n"] == 10
    assert_close(result["p_value"], 2 / 2 ** 10, atol=0)  # a small p: relative only
    assert result["significant"] is True
    assert_close(result["mean_difference"], 0.1 + 0.01 * 4.5)
    same = paired_comparison(base, dict(base))
    assert_close([same["p_value"], same["mean_difference"]], [1.0, 0.0])
    assert same["significant"] is False
    # three higher, one equal (dropped): exact p = 2 / 2^3, not significant
    mixed = paired_comparison({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4},
                              {"a": 0.2, "b": 0.2, "c": 0.5, "d": 0.45})
    assert mixed["n"] == 4
    assert_close(mixed["p_value"], 0.25)
    assert mixed["significant"] is False
    apart = paired_comparison({"a": 0.1}, {"b": 0.2})
    assert apart["n"] == 0 and apart["p_value"] is None


def _versus(delta: float, p_value: float) -> dict:
    return {"delta_mean_niou": delta, "mean_difference": delta, "p_value": p_value, "n": 10,
            "significant": p_value < 0.05}


def test_sentence_answers_yes_only_for_significant_gains() -> None:
    from xfas.studies.attention.benchmark import attention_sentence

    summary = {"baseline": "cnn", "significance": 0.05, "test": "Wilcoxon signed-rank test",
               "versus": {"cnn-ca": {"gradcam": _versus(0.2, 0.002), "lime": _versus(0.01, 0.6)},
                          "cnn-sa": {"gradcam": _versus(0.0, 1.0), "lime": _versus(-0.02, 0.3)}}}
    sentence = attention_sentence(summary)
    assert "Yes, for cnn-ca (gradcam);" in sentence
    assert "cnn-sa (" not in sentence.split("Mean nIoU")[0]
    assert "gradcam +0.200 (significantly more, p = 0.002" in sentence
    for model in summary["versus"].values():
        for cell in model.values():
            cell.update(_versus(cell["delta_mean_niou"], 0.5))
    assert attention_sentence(summary).startswith(
        "Does attention make the model look at the evidence? No:")
    summary["versus"]["cnn-sa"]["lime"] = _versus(-0.2, 0.001)
    assert "lowers it for cnn-sa (lime)" in attention_sentence(summary)


def test_per_image_niou_averages_evidence_types_and_skips_nan(tmp_path) -> None:
    from xfas.studies.attention.benchmark import per_image_niou

    (tmp_path / "scores.csv").write_text(
        "image,method,evidence,metric,value\n"
        "a,gradcam,photo_edge,niou,0.2\n"
        "a,gradcam,clutching_hand,niou,0.4\n"
        "a,gradcam,photo_edge,iou,0.9\n"
        "a,gradcam,*,deletion_auc,0.7\n"
        "a,lime,photo_edge,niou,0.8\n"
        "b,gradcam,photo_edge,niou,\n"
        "b,gradcam,cut_hole,niou,0.5\n"
        "c,gradcam,photo_edge,niou,\n")
    assert_close(per_image_niou(tmp_path, "gradcam"), {"a": 0.3, "b": 0.5})


def test_explanations_need_the_trained_runs(tmp_path) -> None:
    from xfas.errors import XfasError
    from xfas.studies.attention import explain_attention_study

    with pytest.raises(XfasError, match="seed0.*no trained checkpoint"):
        explain_attention_study(tmp_path / "data", tmp_path / "empty", seed=0)


def test_figures_made_from_credited_photos_carry_the_credit_line(tmp_path) -> None:
    """The same figure with a credit line has a line of text (a row of white with a few dark
    pixels) in its lower half, under the images; without, the only text is the titles at the
    top."""
    panel = Panel("x", np.full((16, 16, 3), 200, np.uint8), ())
    maps = {"cnn": {"gradcam": [np.zeros((16, 16))]}}
    drawn = {credit: np.asarray(Image.open(draw_figure(
        [panel], maps, ["gradcam"], path=tmp_path / f"{bool(credit)}.png", title="print",
        credit=credit)).convert("L")) for credit in (None, "Real faces: a credit line")}
    def text_rows_below_the_middle(image: np.ndarray) -> int:
        lower = image[image.shape[0] // 2:]
        dark, white = (lower < 128).mean(axis=1), (lower > 240).mean(axis=1)
        return int(((dark > 0) & (white > 0.8)).sum())

    assert text_rows_below_the_middle(drawn[None]) == 0
    assert text_rows_below_the_middle(drawn["Real faces: a credit line"]) > 0

