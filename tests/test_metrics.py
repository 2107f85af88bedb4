"""FAS classification metrics: hand-computed cases and agreement with scikit-learn."""

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import (accuracy_score, precision_recall_fscore_support, roc_auc_score,
                             roc_curve)

from xfas.errors import XfasError
from xfas.training.fas_metrics import (accuracy, acer, apcer, apcer_per_attack, bpcer,
                                       bpcer_at_apcer, eer, fas_report, hter,
                                       precision_recall_f1, predict, roc_auc,
                                       threshold_at_apcer)

from helpers.tolerance import assert_close

# The hand case used throughout (threshold 0.5, spoof when score >= 0.5):
#   live  (label 0): 0.1, 0.4, 0.35, 0.8, 0.55   -> predicted 0, 0, 0, 1, 1
#   spoof (label 1): 0.9, 0.6, 0.3               -> predicted 1, 1, 0
#   attack types of the spoofs: print, replay, print
LABELS = [0, 0, 0, 0, 0, 1, 1, 1]
SCORES = [0.1, 0.4, 0.35, 0.8, 0.55, 0.9, 0.6, 0.3]
ATTACKS = ["live", "live", "live", "live", "live", "print", "replay", "print"]


def test_accuracy_hand_case():
    # correct: 3 live + 2 spoof = 5 of 8
    assert_close(accuracy(LABELS, predict(SCORES, 0.5)), 5 / 8)


def test_precision_recall_f1_hand_case():
    result = precision_recall_f1(LABELS, predict(SCORES, 0.5))
    live, spoof = result["per_class"]["live"], result["per_class"]["spoof"]
    # live: predicted live = 3 live + 1 spoof (0.3) = 4, of which 3 right; support 5
    assert_close(live["precision"], 3 / 4)
    assert_close(live["recall"], 3 / 5)
    assert_close(live["f1"], 2 * 0.75 * 0.6 / 1.35)  # = 2/3
    assert live["support"] == 5
    # spoof: predicted spoof = 0.8, 0.55 (live) + 0.9, 0.6 = 4, of which 2 right; support 3
    assert_close(spoof["precision"], 1 / 2)
    assert_close(spoof["recall"], 2 / 3)
    assert_close(spoof["f1"], 4 / 7)
    assert_close(result["macro"]["precision"], (3 / 4 + 1 / 2) / 2)
    assert_close(result["macro"]["recall"], (3 / 5 + 2 / 3) / 2)
    assert_close(result["macro"]["f1"], (2 / 3 + 4 / 7) / 2)


def test_iso_rates_hand_case():
    # APCER: attacks scored < 0.5: only 0.3 -> 1/3; BPCER: live scored >= 0.5: 0.8, 0.55 -> 2/5
    assert_close(apcer(LABELS, SCORES, 0.5), 1 / 3)
    assert_close(bpcer(LABELS, SCORES, 0.5), 2 / 5)
    assert_close(acer(LABELS, SCORES, 0.5), (1 / 3 + 2 / 5) / 2)
    # per attack: print = {0.9, 0.3} -> 1/2 missed, replay = {0.6} -> 0; worst = 1/2
    assert_close(apcer_per_attack(LABELS, SCORES, ATTACKS, threshold=0.5), {"print": 0.5,
                                                                            "replay": 0.0})
    assert_close(apcer(LABELS, SCORES, 0.5, attacks=ATTACKS), 0.5)
    assert_close(acer(LABELS, SCORES, 0.5, attacks=ATTACKS), (0.5 + 0.4) / 2)
    # the threshold is inclusive: at 0.6 the attack scored 0.6 is still spoof
    assert_close(apcer(LABELS, SCORES, 0.6), 1 / 3)
    assert_close(bpcer(LABELS, SCORES, 0.8), 1 / 5)


def test_auc_hand_case():
    # spoof > live pairs: 0.9 beats all 5, 0.6 beats 0.1, 0.4, 0.35, 0.55 (4), 0.3 beats 0.1 (1)
    assert_close(roc_auc(LABELS, SCORES), 10 / 15)
    # ties count one half: one pair, tied
    assert_close(roc_auc([0, 1], [0.5, 0.5]), 0.5)


def test_eer_hand_case():
    # thresholds   0.1  0.3  0.35 0.4  0.55 0.6  0.8  0.9  inf
    # APCER        0    0    1/3  1/3  1/3  1/3  2/3  2/3  1
    # BPCER        1    4/5  4/5  3/5  2/5  1/5  1/5  0    0
    # APCER - BPCER turns positive between 0.55 (-1/15) and 0.6 (+2/15): weight 1/3 along
    # the segment (1/3, 2/5) -> (1/3, 1/5), i.e. (1/3, 1/3); threshold 0.55 + 0.05 / 3.
    rate, threshold = eer(LABELS, SCORES)
    assert_close(rate, 1 / 3)
    assert_close(threshold, 0.55 + 0.05 / 3)


def test_eer_separated_inverted_and_flat():
    # separated: EER 0 for any t in (0.2, 0.8]; the middle of that interval is 0.5
    assert_close(eer([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), (0.0, 0.5))
    # inverted: at t in (0.2, 0.8] every sample is wrong, APCER = BPCER = 1
    assert_close(eer([0, 0, 1, 1], [0.9, 0.8, 0.1, 0.2]), (1.0, 0.5))
    # all scores equal: the ROC is the chance diagonal (0, 1) -> (1, 0), EER 1/2
    assert_close(eer([0, 0, 1, 1], [0.5] * 4), (0.5, 0.5))


def test_bpcer_at_apcer_hand_case():
    # 3 attacks: APCER <= 5 % (or 1 %) allows floor(0.15) = 0 missed attacks, so the threshold
    # is the lowest attack score 0.3; live scored >= 0.3: 0.4, 0.35, 0.8, 0.55 -> 4/5
    assert_close(threshold_at_apcer(LABELS, SCORES, 0.05), 0.3)
    assert_close(bpcer_at_apcer(LABELS, SCORES, 0.05), 4 / 5)
    assert_close(bpcer_at_apcer(LABELS, SCORES, 0.01), 4 / 5)
    # APCER <= 34 % allows 1 missed attack: threshold 0.6, live >= 0.6: 0.8 -> 1/5
    assert_close(bpcer_at_apcer(LABELS, SCORES, 0.34), 1 / 5)
    assert apcer(LABELS, SCORES, threshold_at_apcer(LABELS, SCORES, 0.34)) <= 0.34


def test_hter_uses_the_given_threshold():
    # at 0.55 + 0.05/3: attacks below it: 0.3 -> 1/3; live at or above: 0.8 -> 1/5
    assert_close(hter(LABELS, SCORES, 0.55 + 0.05 / 3), (1 / 3 + 1 / 5) / 2)


def test_fas_report_hand_case_and_json():
    dev_labels, dev_scores = [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]  # dev EER threshold 0.5
    report = fas_report(torch.tensor(LABELS), torch.tensor(SCORES), ATTACKS, threshold=0.5,
                        dev_labels=dev_labels, dev_scores=dev_scores)
    json.dumps(report, allow_nan=False)
    assert report["n"] == 8 and report["n_live"] == 5 and report["n_spoof"] == 3
    assert_close(report["accuracy"], 5 / 8)
    assert_close(report["f1_macro"], (2 / 3 + 4 / 7) / 2)
    assert_close(report["per_class"]["spoof"]["recall"], 2 / 3)
    assert_close(report["apcer"], 0.5)
    assert_close(report["apcer_pooled"], 1 / 3)
    assert_close(report["apcer_per_attack"], {"print": 0.5, "replay": 0.0})
    assert_close(report["bpcer"], 0.4)
    assert_close(report["acer"], 0.45)
    assert_close(report["eer"], 1 / 3)
    assert_close(report["hter_threshold"], 0.5)
    assert report["hter_threshold_source"] == "dev_eer"
    assert_close(report["hter"], (1 / 3 + 2 / 5) / 2)
    assert_close(report["auc"], 2 / 3)
    assert_close(report["bpcer_at_apcer_5pct"], 0.8)
    assert_close(report["bpcer_at_apcer_1pct"], 0.8)
    no_dev = fas_report(LABELS, SCORES, threshold=0.8)
    assert no_dev["hter_threshold_source"] == "given"
    # at 0.8: attacks below 0.8: 0.6, 0.3 -> 2/3; live at or above: 0.8 -> 1/5
    assert_close(no_dev["hter"], (2 / 3 + 1 / 5) / 2)
    assert "apcer_per_attack" not in no_dev


def _random_case(seed: int, ties: bool):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]
    scores = rng.normal(labels * rng.uniform(0, 2), 1.0)
    if ties:
        scores = np.round(scores, 1)
    return labels, scores


@pytest.mark.parametrize("seed", range(12))
def test_classification_metrics_match_sklearn(seed):
    labels, scores = _random_case(seed, ties=seed % 2 == 0)
    predictions = predict(scores, 0.3)
    assert_close(accuracy(labels, predictions), accuracy_score(labels, predictions))
    ours = precision_recall_f1(labels, predictions)
    p, r, f, support = precision_recall_fscore_support(labels, predictions, labels=[0, 1],
                                                       zero_division=0)
    for index, name in enumerate(("live", "spoof")):
        assert_close(ours["per_class"][name]["precision"], p[index])
        assert_close(ours["per_class"][name]["recall"], r[index])
        assert_close(ours["per_class"][name]["f1"], f[index])
        assert ours["per_class"][name]["support"] == support[index]
    p, r, f, _ = precision_recall_fscore_support(labels, predictions, labels=[0, 1],
                                                 average="macro", zero_division=0)
    assert_close(ours["macro"], {"precision": p, "recall": r, "f1": f})
    assert_close(roc_auc(labels, scores), roc_auc_score(labels, scores))


@pytest.mark.parametrize("seed", range(12))
def test_eer_matches_brute_force_over_sklearn_roc(seed):
    labels, scores = _random_case(seed, ties=seed % 3 == 0)
    # sklearn: positive = spoof, so fpr = BPCER and 1 - tpr = APCER; every threshold kept
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    fnr = 1 - tpr
    weights = np.linspace(0, 1, 4001)[:, None]
    along_fpr = fpr[:-1] + weights * (fpr[1:] - fpr[:-1])  # every ROC segment, densely
    along_fnr = fnr[:-1] + weights * (fnr[1:] - fnr[:-1])
    best = np.argmin(np.abs(along_fpr - along_fnr))
    brute = 0.5 * (along_fpr.ravel()[best] + along_fnr.ravel()[best])
    rate, threshold = eer(labels, scores)
    assert_close(rate, brute, rtol=0, atol=1e-3)
    # the threshold realises an operating point whose two error rates bracket the EER
    a, b = apcer(labels, scores, threshold), bpcer(labels, scores, threshold)
    assert min(a, b) - 1e-12 <= rate <= max(a, b) + 1e-12


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("target", [0.01, 0.05, 0.2])
def test_bpcer_at_apcer_matches_search_over_thresholds(seed, target):
    labels, scores = _random_case(seed, ties=seed % 2 == 1)
    live, attack = scores[labels == 0], scores[labels == 1]
    # every threshold worth trying is a score (+inf has APCER 1 > target)
    best = min(np.mean(live >= t) for t in np.unique(scores) if np.mean(attack < t) <= target)
    assert_close(bpcer_at_apcer(labels, scores, target), best)


def test_errors_name_the_input():
    with pytest.raises(XfasError, match="scores: length 3"):
        apcer([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(XfasError, match="labels: values must be 0"):
        bpcer([0, 2], [0.1, 0.2])
    with pytest.raises(XfasError, match="EER: labels contain no live"):
        eer([1, 1], [0.1, 0.2])
    with pytest.raises(XfasError, match="ROC AUC: labels contain no spoof"):
        roc_auc([0, 0], [0.1, 0.2])
    with pytest.raises(XfasError, match="BPCER: labels contain no live"):
        bpcer([1, 1], [0.1, 0.2])
    with pytest.raises(XfasError, match="scores: 1 value"):
        eer([0, 1], [0.1, float("nan")])
    with pytest.raises(XfasError, match="predictions: length"):
        accuracy([0, 1], [0])
    with pytest.raises(XfasError, match="attacks: spoof sample 1"):
        apcer([0, 1], [0.1, 0.2], attacks=["live", None])
    with pytest.raises(XfasError, match=r"HTER \(dev EER threshold\): dev_labels contain no"):
        fas_report([0, 1], [0.1, 0.9], dev_labels=[0, 0], dev_scores=[0.1, 0.2])
    with pytest.raises(XfasError, match="give both"):
        fas_report([0, 1], [0.1, 0.9], dev_labels=[0, 1])
