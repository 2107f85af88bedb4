"""Face anti-spoofing classification metrics: accuracy / precision / recall / F1 and the
ISO/IEC 30107-3 presentation-attack-detection error rates.

Conventions used everywhere in this module:

- labels: 0 = live (bona fide), 1 = spoof (presentation attack);
- scores: the spoof score, higher = more spoof (e.g. the spoof probability);
- decision: a sample is classified **spoof when score >= threshold**, live otherwise;
- APCER = fraction of attack samples classified live (attacks accepted);
- BPCER = fraction of live samples classified spoof (bona fide rejected);
- ACER = (APCER + BPCER) / 2 with the worst attack type's APCER (ISO/IEC 30107-3);
- HTER = (APCER_pooled + BPCER) / 2, all attacks pooled, at a threshold fixed beforehand
  (normally the EER threshold of a development set).

Inputs may be numpy arrays, torch tensors or sequences; outputs are Python floats and dicts.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy.stats import rankdata

from xfas.errors import XfasError

__all__ = ["CLASS_NAMES", "LIVE", "SPOOF", "accuracy", "acer", "apcer", "apcer_per_attack",
           "bpcer", "bpcer_at_apcer", "eer", "fas_report", "hter", "precision_recall_f1",
           "predict", "roc_auc", "threshold_at_apcer"]

LIVE, SPOOF = 0, 1
CLASS_NAMES = {LIVE: "live", SPOOF: "spoof"}


def _as_array(values: Any, name: str) -> np.ndarray:
    """A 1-D numpy array from a numpy array, a torch tensor or a sequence."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise XfasError(f"{name}: expected a 1-D sequence, got shape {array.shape}")
    return array


def _labels(labels: Any, name: str = "labels") -> np.ndarray:
    """Labels as an int array of 0 (live) / 1 (spoof); anything else is an error."""
    array = _as_array(labels, name)
    if array.size == 0:
        raise XfasError(f"{name}: empty")
    if array.dtype == bool:
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.number):
        raise XfasError(f"{name}: expected numbers 0 (live) / 1 (spoof), got dtype {array.dtype}")
    bad = ~np.isin(array, (0, 1))
    if bad.any():
        raise XfasError(f"{name}: values must be 0 (live) or 1 (spoof), found "
                        f"{np.unique(array[bad])[:5].tolist()}")
    return array.astype(np.int64)


def _scores(scores: Any, n: int, name: str = "scores") -> np.ndarray:
    """Scores as a float64 array of length ``n``; NaN or infinite values are an error."""
    array = _as_array(scores, name)
    if array.shape[0] != n:
        raise XfasError(f"{name}: length {array.shape[0]} does not match labels' length {n}")
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise XfasError(f"{name}: expected numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise XfasError(f"{name}: {int((~np.isfinite(array)).sum())} value(s) are NaN or "
                        "infinite")
    return array


def _need(labels: np.ndarray, cls: int, metric: str, *, name: str = "labels") -> None:
    """Raise unless class ``cls`` occurs in ``labels`` (the metric divides by its count)."""
    if not (labels == cls).any():
        raise XfasError(f"{metric}: {name} contain no {CLASS_NAMES[cls]} sample "
                        f"(label {cls}); {metric} needs at least one")


def _threshold(threshold: float) -> float:
    value = float(threshold)
    if math.isnan(value):
        raise XfasError("threshold: is NaN")
    return value


def predict(scores: Any, threshold: float = 0.5) -> np.ndarray:
    """Predicted labels: 1 (spoof) where score >= threshold, else 0 (live)."""
    array = _as_array(scores, "scores").astype(np.float64)
    if np.isnan(array).any():
        raise XfasError("scores: contain NaN")
    return (array >= _threshold(threshold)).astype(np.int64)


# --- classification metrics (as the attention paper reports them) -----------------------------

def accuracy(labels: Any, predictions: Any) -> float:
    """Fraction of samples whose predicted label equals the label."""
    y = _labels(labels)
    p = _labels(predictions, "predictions")
    if p.shape != y.shape:
        raise XfasError(f"predictions: length {p.shape[0]} does not match labels' length "
                        f"{y.shape[0]}")
    return float((y == p).mean())


def precision_recall_f1(labels: Any, predictions: Any) -> dict[str, Any]:
    """Precision, recall and F1 of each class (live, spoof) and their unweighted (macro) mean.

    Undefined ratios (a class never predicted, or absent from ``labels``) count as 0, like
    scikit-learn's ``zero_division=0``; both classes always enter the macro mean.

    Returns:
        ``{"macro": {"precision", "recall", "f1"},
        "per_class": {"live": {"precision", "recall", "f1", "support"}, "spoof": {...}}}``
    """
    y = _labels(labels)
    p = _labels(predictions, "predictions")
    if p.shape != y.shape:
        raise XfasError(f"predictions: length {p.shape[0]} does not match labels' length "
                        f"{y.shape[0]}")
    per_class: dict[str, dict[str, float | int]] = {}
    for cls, name in CLASS_NAMES.items():
        true_pos = int(((p == cls) & (y == cls)).sum())
        predicted = int((p == cls).sum())
        support = int((y == cls).sum())
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1,
                           "support": support}
    macro = {key: float(np.mean([per_class[name][key] for name in CLASS_NAMES.values()]))
             for key in ("precision", "recall", "f1")}
    return {"macro": macro, "per_class": per_class}


# --- ISO/IEC 30107-3 error rates ----------------------------------------------------------------

def _attack_types(attacks: Any, labels: np.ndarray) -> np.ndarray:
    """Attack-type strings, one per sample; a spoof sample without a type is an error."""
    values = list(attacks.tolist() if hasattr(attacks, "tolist") else attacks)
    if len(values) != labels.shape[0]:
        raise XfasError(f"attacks: length {len(values)} does not match labels' length "
                        f"{labels.shape[0]}")
    out = np.empty(len(values), dtype=object)
    for i, (value, label) in enumerate(zip(values, labels)):
        if label == SPOOF and (value is None or str(value) == ""):
            raise XfasError(f"attacks: spoof sample {i} has no attack type")
        out[i] = None if label == LIVE else str(value)
    return out


def apcer_per_attack(labels: Any, scores: Any, attacks: Sequence[str],
                     *, threshold: float = 0.5) -> dict[str, float]:
    """APCER of each attack type: the fraction of that type's samples classified live
    (score < threshold). ``attacks`` holds one type string per sample (ignored for live ones)."""
    y = _labels(labels)
    s = _scores(scores, y.shape[0])
    _need(y, SPOOF, "APCER")
    types = _attack_types(attacks, y)
    t = _threshold(threshold)
    result = {}
    for name in sorted({a for a in types if a is not None}):
        chosen = types == name
        result[name] = float((s[chosen] < t).mean())
    return result


def apcer(labels: Any, scores: Any, threshold: float = 0.5,
          *, attacks: Sequence[str] | None = None) -> float:
    """APCER (ISO/IEC 30107-3): the worst attack type's fraction of attacks classified live,
    max over types of APCER_type; with ``attacks=None`` all attacks form one type."""
    if attacks is not None:
        return max(apcer_per_attack(labels, scores, attacks, threshold=threshold).values())
    y = _labels(labels)
    s = _scores(scores, y.shape[0])
    _need(y, SPOOF, "APCER")
    return float((s[y == SPOOF] < _threshold(threshold)).mean())


def bpcer(labels: Any, scores: Any, threshold: float = 0.5) -> float:
    """BPCER (ISO/IEC 30107-3): the fraction of live samples classified spoof (score >= t)."""
    y = _labels(labels)
    s = _scores(scores, y.shape[0])
    _need(y, LIVE, "BPCER")
    return float((s[y == LIVE] >= _threshold(threshold)).mean())


def acer(labels: Any, scores: Any, threshold: float = 0.5,
         *, attacks: Sequence[str] | None = None) -> float:
    """ACER = (APCER + BPCER) / 2, APCER being the worst attack type's."""
    return 0.5 * (apcer(labels, scores, threshold, attacks=attacks) + bpcer(labels, scores,
                                                                            threshold))


def hter(labels: Any, scores: Any, threshold: float) -> float:
    """HTER = (APCER + BPCER) / 2 with all attacks pooled, at a threshold chosen beforehand
    (use ``eer(dev_labels, dev_scores)[1]`` so the test set does not choose its own threshold)."""
    return 0.5 * (apcer(labels, scores, threshold) + bpcer(labels, scores, threshold))


def _operating_points(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, ...]:
    """(thresholds, APCER, BPCER) at every distinct score, then at +inf (all classified live)."""
    thresholds = np.append(np.unique(s), np.inf)
    attack = np.sort(s[y == SPOOF])
    live = np.sort(s[y == LIVE])
    apcers = np.searchsorted(attack, thresholds, side="left") / attack.size  # attacks < t
    bpcers = 1.0 - np.searchsorted(live, thresholds, side="left") / live.size  # live >= t
    return thresholds, apcers, bpcers


def eer(labels: Any, scores: Any) -> tuple[float, float]:
    """Equal error rate and its threshold: the point where APCER (pooled) equals BPCER.

    The operating points (APCER, BPCER) at the distinct scores as thresholds, then at +inf,
    form the ROC as a polyline; APCER - BPCER never decreases along it. The EER is where the
    segment between the last point with APCER < BPCER and the next one crosses APCER = BPCER
    (linear interpolation, the convention of the ROC convex hull).
    The threshold is interpolated between the two points' thresholds with the same weight
    (clamped to the highest score when the next point is +inf). When some operating point
    has APCER = BPCER exactly, that value is the EER and the threshold is the middle of the
    whole threshold interval that yields it (so perfectly separated classes get the midpoint
    between the highest live and the lowest attack score, with EER 0).

    Returns:
        ``(eer, threshold)``; apply the threshold as "spoof when score >= threshold".
    """
    y = _labels(labels)
    s = _scores(scores, y.shape[0])
    _need(y, SPOOF, "EER")
    _need(y, LIVE, "EER")
    thresholds, apcers, bpcers = _operating_points(y, s)
    gap = apcers - bpcers  # -1 at the lowest score, +1 at +inf, non-decreasing
    j = int(np.argmax(gap >= 0))
    if gap[j] == 0:
        last = j + int(np.argmax(gap[j:] > 0)) - 1  # end of the plateau with APCER = BPCER
        # points j..last are realised for thresholds in (t[j-1], t[last]]
        return float(apcers[j]), float(0.5 * (thresholds[j - 1] + thresholds[last]))
    weight = -gap[j - 1] / (gap[j] - gap[j - 1])
    rate = apcers[j - 1] + weight * (apcers[j] - apcers[j - 1])
    low, high = thresholds[j - 1], thresholds[j]
    threshold = low if np.isinf(high) else low + weight * (high - low)
    return float(rate), float(threshold)


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve = P(score of a random attack > score of a random live sample),
    ties counting one half (the Mann-Whitney U statistic over n_spoof * n_live)."""
    y = _labels(labels)
    s = _scores(scores, y.shape[0])
    _need(y, SPOOF, "ROC AUC")
    _need(y, LIVE, "ROC AUC")
    ranks = rankdata(s)  # average ranks for ties
    n_spoof, n_live = int((y == SPOOF).sum()), int((y == LIVE).sum())
    u = ranks[y == SPOOF].sum() - n_spoof * (n_spoof + 1) / 2
    return float(u / (n_spoof * n_live))


def threshold_at_apcer(labels: Any, scores: Any, target: float) -> float:
    """The highest threshold whose (pooled) APCER is <= ``target``: with attack scores sorted
    a_(0) <= a_(1) <= ..., and k = floor(target * n_attacks), it is a_(k), since exactly the
    attacks scored below a_(k) (at most k of them) are then classified live. The highest such
    threshold gives the lowest BPCER."""
    y = _labels(labels)
    s = _scores(scores, y.shape[0])
    _need(y, SPOOF, "threshold at APCER")
    target = float(target)
    if not 0.0 <= target < 1.0:
        raise XfasError(f"target APCER: must be in [0, 1), got {target}")
    attack = np.sort(s[y == SPOOF])
    allowed = int(math.floor(target * attack.size + 1e-9))  # attacks that may be missed
    return float(attack[allowed])


def bpcer_at_apcer(labels: Any, scores: Any, target: float) -> float:
    """BPCER at the threshold set so that APCER <= ``target`` (e.g. 0.05 for BPCER@APCER=5 %),
    the lowest BPCER any threshold with that APCER reaches."""
    threshold = threshold_at_apcer(labels, scores, target)
    return bpcer(labels, scores, threshold)


# --- the report -------------------------------------------------------------------------------

def fas_report(labels: Any, scores: Any, attacks: Sequence[str] | None = None,
               *, threshold: float = 0.5, dev_labels: Any = None,
               dev_scores: Any = None) -> dict[str, Any]:
    """Every metric above as a JSON-serialisable dict (floats, ints, nested dicts).

    Args:
        labels: 0 (live) / 1 (spoof), one per test sample; both classes must occur.
        scores: spoof scores (higher = more spoof), one per sample.
        attacks: optional attack-type string per sample (ignored for live ones); gives
            ``apcer_per_attack`` and makes ``apcer``/``acer`` the worst type's.
        threshold: decision threshold (spoof when score >= threshold) for accuracy,
            precision/recall/F1, APCER, BPCER and ACER.
        dev_labels, dev_scores: a development set; when given, HTER is computed at its EER
            threshold (``hter_threshold_source = "dev_eer"``), otherwise at ``threshold``
            (``"given"``).

    Returns:
        keys ``n, n_live, n_spoof, threshold, accuracy, precision_macro, recall_macro,
        f1_macro, per_class, apcer, apcer_pooled, [apcer_per_attack], bpcer, acer, eer,
        eer_threshold, hter, hter_threshold, hter_threshold_source, auc,
        bpcer_at_apcer_5pct, bpcer_at_apcer_1pct``.

    Example:
        >>> fas_report([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])["acer"]
        0.5
    """
    y = _labels(labels)
    s = _scores(scores, y.shape[0])
    _need(y, LIVE, "fas_report")
    _need(y, SPOOF, "fas_report")
    t = _threshold(threshold)
    predicted = predict(s, t)
    prf = precision_recall_f1(y, predicted)
    pooled = apcer(y, s, t)
    report: dict[str, Any] = {
        "n": int(y.size), "n_live": int((y == LIVE).sum()), "n_spoof": int((y == SPOOF).sum()),
        "threshold": t,
        "accuracy": accuracy(y, predicted),
        "precision_macro": prf["macro"]["precision"],
        "recall_macro": prf["macro"]["recall"],
        "f1_macro": prf["macro"]["f1"],
        "per_class": prf["per_class"],
        "apcer": pooled, "apcer_pooled": pooled,
    }
    if attacks is not None:
        per_attack = apcer_per_attack(y, s, attacks, threshold=t)
        report["apcer_per_attack"] = per_attack
        report["apcer"] = max(per_attack.values())
    report["bpcer"] = bpcer(y, s, t)
    report["acer"] = 0.5 * (report["apcer"] + report["bpcer"])
    report["eer"], report["eer_threshold"] = eer(y, s)
    if (dev_labels is None) != (dev_scores is None):
        raise XfasError("dev_labels / dev_scores: give both or neither")
    if dev_labels is not None:
        dev_y = _labels(dev_labels, "dev_labels")
        dev_s = _scores(dev_scores, dev_y.shape[0], "dev_scores")
        _need(dev_y, LIVE, "HTER (dev EER threshold)", name="dev_labels")
        _need(dev_y, SPOOF, "HTER (dev EER threshold)", name="dev_labels")
        hter_threshold, source = eer(dev_y, dev_s)[1], "dev_eer"
    else:
        hter_threshold, source = t, "given"
    report["hter"] = hter(y, s, hter_threshold)
    report["hter_threshold"] = hter_threshold
    report["hter_threshold_source"] = source
    report["auc"] = roc_auc(y, s)
    report["bpcer_at_apcer_5pct"] = bpcer_at_apcer(y, s, 0.05)
    report["bpcer_at_apcer_1pct"] = bpcer_at_apcer(y, s, 0.01)
    return report
