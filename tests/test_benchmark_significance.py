"""The benchmark's paired significance tests: Wilcoxon p-values equal scipy's on the images
both methods scored, Holm's correction against hand-computed values, ``best`` only when one
method beats every other significantly, the edge cases (one method, few images, all
differences zero, NaN cells), and the ``significance`` key, Table I's bold and its note on a
small real run."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy.stats import wilcoxon

from xfas.benchmark import BenchmarkConfig, render_report, run_benchmark
from xfas.benchmark.significance import MIN_PAIRS, compare_methods, holm, paired_test

from helpers.benchmark import make_benchmark, make_checkpoint
from helpers.tolerance import assert_close


def scores(values) -> dict[str, float]:
    """{image: value} with images named i00, i01, ..."""
    return {f"i{k:02d}": float(v) for k, v in enumerate(values)}


A = [0.61, 0.42, 0.55, 0.30, 0.72, 0.48, 0.66, 0.51, math.nan, 0.39]
B = [0.52, 0.45, 0.41, 0.33, 0.60, 0.40, 0.58, 0.55, 0.47, math.nan]
C = [0.20, 0.35, 0.30, 0.28, 0.41, 0.22, 0.37, 0.31, 0.26, 0.33]


def test_p_values_equal_scipy_on_the_images_both_scored() -> None:
    result = compare_methods({"a": scores(A), "b": scores(B), "c": scores(C)})
    both = [k for k in range(len(A)) if not (math.isnan(A[k]) or math.isnan(B[k]))]
    assert len(both) == 8
    expected = wilcoxon([A[k] for k in both], [B[k] for k in both]).pvalue
    assert result["pairs"]["a vs b"]["n"] == 8
    assert_close(result["pairs"]["a vs b"]["p"], expected)
    a_c = [k for k in range(len(A)) if not math.isnan(A[k])]
    assert result["pairs"]["a vs c"]["n"] == 9
    assert_close(result["pairs"]["a vs c"]["p"],
                 wilcoxon([A[k] for k in a_c], [C[k] for k in a_c]).pvalue)
    assert set(result["pairs"]) == {"a vs b", "a vs c", "b vs c"}
    assert result["metric"] == "niou" and "wilcoxon" in result["test"]


def test_holm_against_hand_computed_values() -> None:
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> 0.06
    assert_close(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert_close(holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1, kept monotone
    assert_close(holm([0.2]), [0.2])
    assert holm([]) == []


def test_holm_is_applied_over_the_pairs_of_a_type() -> None:
    result = compare_methods({"a": scores(A), "b": scores(B), "c": scores(C)})
    pairs = list(result["pairs"].values())
    raw = np.array([pair["p"] for pair in pairs])
    order = np.argsort(raw)
    stepped = np.maximum.accumulate(np.minimum(1.0, raw[order] * np.array([3, 2, 1])))
    expected = np.empty(3)
    expected[order] = stepped
    assert_close([pair["p_holm"] for pair in pairs], expected)


def test_a_planted_winner_is_best() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.5, 20)
    methods = {"low": scores(base), "high": scores(base + rng.uniform(0.1, 0.3, 20)),
               "mid": scores(base + rng.uniform(-0.02, 0.03, 20))}
    result = compare_methods(methods)
    assert result["best"] == "high"
    assert result["pairs"]["low vs high"]["better"] == "high"
    assert result["pairs"]["high vs mid"]["better"] == "high"
    assert result["pairs"]["high vs mid"]["p_holm"] < 0.05


def test_two_equal_leaders_give_no_best() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.5, 20)
    top = scores(base + 0.2)
    result = compare_methods({"one": top, "two": dict(top), "low": scores(base)})
    assert result["best"] is None
    assert result["pairs"]["one vs two"]["p"] == 1.0  # all differences zero
    assert result["pairs"]["one vs two"]["better"] is None
    assert result["pairs"]["one vs low"]["better"] == "one"
    assert result["pairs"]["two vs low"]["better"] == "two"


def test_all_differences_zero_give_p_one_without_a_warning() -> None:
    same = scores(C)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert paired_test(same, dict(same)) == (len(C), 1.0, 0)


def test_fewer_than_min_pairs_images_are_not_tested() -> None:
    few = MIN_PAIRS - 1
    result = compare_methods({"a": scores(np.full(few, 0.9)), "b": scores(np.full(few, 0.1))})
    assert result["pairs"]["a vs b"] == {"n": few, "p": None, "p_holm": None, "better": None}
    assert result["best"] is None
    # enough images each, too few scored by both (NaN elsewhere)
    a = scores([0.9] * 8 + [math.nan] * 4)
    b = scores([math.nan] * 4 + [0.1] * 8)
    assert paired_test(a, b) == (4, None, 0)


def test_one_method_and_empty_methods_have_no_pairs() -> None:
    for methods in ({}, {"a": scores(A)}, {"a": scores(A), "empty": scores([math.nan] * 10)},
                    {"empty": {}, "a": scores(A)}):
        result = compare_methods(methods)
        assert result["pairs"] == {} and result["best"] is None


def test_a_method_without_scores_takes_no_part() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0.2, 0.5, 20)
    result = compare_methods({"high": scores(base + 0.2), "none": scores([math.nan] * 20),
                              "low": scores(base)})
    assert set(result["pairs"]) == {"high vs low"}
    assert result["best"] == "high"


@pytest.fixture(scope="module")
def run(tmp_path_factory, oracle):
    """A finished run of randomcam and the oracle (its map is the photo_edge mask) on six
    photo_edge and three clutching_hand images, without faithfulness."""
    root = tmp_path_factory.mktemp("significance")
    make_benchmark(root / "data")
    model = make_checkpoint(root / "model.safetensors")
    config = BenchmarkConfig(data=str(root / "data"), model=str(model),
                             methods=f"randomcam,{oracle}", faithfulness=False, unit_size=3)
    run_benchmark(config, root / "run", progress=False)
    return root / "run"


def test_summarize_gives_the_significance_key(run) -> None:
    results = json.loads((run / "results.json").read_text())
    edge = results["significance"]["photo_edge"]
    pair = edge["pairs"]["randomcam vs oracle"]
    assert pair["n"] == 6
    # the oracle's nIoU (1.0) beats randomcam's on all six images: exact p = 2 / 2**6
    assert_close(pair["p"], 2 / 64)
    assert_close(pair["p_holm"], 2 / 64)  # one pair: Holm changes nothing
    assert pair["better"] == "oracle" and edge["best"] == "oracle"
    hand = results["significance"]["clutching_hand"]
    assert hand["pairs"]["randomcam vs oracle"]["n"] == 3
    assert hand["pairs"]["randomcam vs oracle"]["p"] is None and hand["best"] is None


def test_table_and_report_bold_only_the_significant_best(run) -> None:
    lines = (run / "table.md").read_text().splitlines()
    heads = lines[0].split(" | ")
    oracle = next(line for line in lines if line.startswith("| oracle")).split(" | ")
    assert oracle[heads.index("photo_edge nIoU")] == "**1.000**"
    assert not oracle[heads.index("photo_edge IoU")].startswith("**")
    assert not oracle[heads.index("clutching_hand nIoU")].startswith("**")  # 3 images
    assert sum(line.count("**") for line in lines) == 2
    note = next(line for line in lines if line.startswith("Bold:"))
    assert "Holm" in note and "0.05" in note and "clutching_hand" in note
    text = render_report(run).read_text(encoding="utf-8")
    assert text.count("class=\"best\"") == 1
    assert "<td class=\"best\">1.000</td>" in text and "Holm" in text
