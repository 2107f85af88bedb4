"""Paired significance tests between the benchmark's methods, per evidence type.

Two methods are compared on the images both scored (a NaN in either drops the image): a
two-sided Wilcoxon signed-rank test of their per-image nIoU (``scipy.stats.wilcoxon``), then
the p-values of all method pairs of one evidence type are Holm-corrected together. A pair
with fewer than ``MIN_PAIRS`` such images is not tested (p is None): below six, no two-sided
exact p-value can reach 0.05 (the smallest is 2 / 2**n). A pair whose differences are all
zero has p = 1.0 (scipy's statistic is undefined there). Methods without any score on a type
take no part in its comparisons.

A type's ``best`` method has the highest mean nIoU and is significantly better
(Holm-corrected p < ``ALPHA``) than every other method that scored the type; otherwise
``best`` is None, as when fewer than two methods scored it or a pair could not be tested.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.stats import rankdata, wilcoxon

ALPHA = 0.05
MIN_PAIRS = 6
METRIC = "niou"
TEST = "wilcoxon signed-rank, two-sided, Holm-corrected per evidence type"

Scores = Mapping[str, float]  # image -> value (NaN where the method had nothing to measure)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values, in the input order: the k-th
    smallest (k from 0) becomes max over j <= k of min(1, (m - j) * p_(j))."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def paired_values(a: Scores, b: Scores) -> tuple[np.ndarray, np.ndarray]:
    """The values of the images both ``a`` and ``b`` scored (not NaN in either), in image
    order."""
    images = sorted(i for i in a.keys() & b.keys()
                    if not (math.isnan(a[i]) or math.isnan(b[i])))
    return (np.array([a[i] for i in images], dtype=np.float64),
            np.array([b[i] for i in images], dtype=np.float64))


def paired_test(a: Scores, b: Scores) -> tuple[int, float | None, int]:
    """(paired images n, two-sided Wilcoxon p or None when n < MIN_PAIRS, direction): the
    direction is +1 when the positive differences a - b outrank the negative ones, -1 when
    the negative ones do, 0 when neither."""
    x, y = paired_values(a, b)
    if x.size < MIN_PAIRS:
        return int(x.size), None, 0
    difference = x - y
    if not difference.any():
        return int(x.size), 1.0, 0
    nonzero = difference[difference != 0]
    ranks = rankdata(np.abs(nonzero))
    lead = float(ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum())
    return int(x.size), float(wilcoxon(x, y).pvalue), int(np.sign(lead))


def compare_methods(scores: Mapping[str, Scores]) -> dict[str, Any]:
    """The paired comparison of one evidence type's methods ({method: {image: nIoU}}, in
    table order): {"metric", "test", "alpha", "min_pairs", "pairs": {"A vs B": {"n", "p",
    "p_holm", "better"}}, "best"}; ``better`` names the method whose differences outrank the
    other's when p_holm < ALPHA, else None."""
    means = {m: float(np.nanmean(list(s.values()))) for m, s in scores.items()
             if any(not math.isnan(v) for v in s.values())}
    methods = [m for m in scores if m in means]
    tests = {(a, b): paired_test(scores[a], scores[b]) for a, b in combinations(methods, 2)}
    tested = [pair for pair, (_, p, _) in tests.items() if p is not None]
    adjusted = dict(zip(tested, holm([tests[pair][1] for pair in tested])))
    pairs: dict[str, dict[str, Any]] = {}
    wins: dict[str, set[str]] = {m: set() for m in methods}
    for (a, b), (n, p, direction) in tests.items():
        p_holm = adjusted.get((a, b))
        better = None
        if p_holm is not None and p_holm < ALPHA and direction:
            better = a if direction > 0 else b
            wins[better].add(b if better == a else a)
        pairs[f"{a} vs {b}"] = {"n": n, "p": p, "p_holm": p_holm, "better": better}
    top = max(means.values(), default=math.nan)
    leaders = [m for m in methods if means[m] == top]
    best = (leaders[0] if len(methods) > 1 and len(leaders) == 1
            and len(wins[leaders[0]]) == len(methods) - 1 else None)
    return {"metric": METRIC, "test": TEST, "alpha": ALPHA, "min_pairs": MIN_PAIRS,
            "pairs": pairs, "best": best}


def significance(per_image: Mapping[str, Mapping[str, Scores]]) -> dict[str, dict[str, Any]]:
    """``compare_methods`` of every evidence type of {evidence: {method: {image: nIoU}}}."""
    return {evidence: compare_methods(scores) for evidence, scores in per_image.items()}
