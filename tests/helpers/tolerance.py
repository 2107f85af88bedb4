"""The tolerance policy for float results: every test compares floats through this module, so
the suite passes on any CPU and BLAS, not only on the machine a test was written on.

1. Values are compared with ``assert_close`` at ``RTOL = ATOL = 1e-4`` (the tolerance of
   captum's test helpers): ``|actual - expected| <= ATOL + RTOL * |expected|`` element by
   element. Another tolerance needs a reason at that spot: values near or below 1e-4 are
   compared relatively (``atol=0``, or an ``atol`` scaled to them), so that the comparison
   still says something; an estimate (sampled, iterative, compressed, rounded to two
   decimals) gets the bound that is what the test is about.
2. Saliency maps are compared raw, before per-map normalisation, wherever the API allows it:
   an explainer's ``attribute`` gives the raw maps, ``explain`` min-max scales each map, which
   divides by the map's range and so magnifies last-bit differences (a batched kernel against
   a single-image one, one thread count against another). ``assert_raw_maps_close`` divides
   each raw map by its own largest magnitude first, since an attribution's unit is arbitrary.
3. Where only normalised output is reachable, the test checks what a user would notice:
   ``assert_same_maps`` (every pixel within one step of an 8-bit heat map, and the same top
   pixels up to near ties), the same verdicts (spoof or live, activated or not), the same
   ranking; benchmark scores made of top-30 % pixels agree within a few pixels' worth.
4. Bit equality (``torch.equal``, ``np.array_equal``, ``==``) is kept only where the code
   promises it on every CPU: seeded integer draws, copies of values, files written twice,
   values read back from a file, exact zeros the code sets. Each such spot says why in a
   short comment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

RTOL = 1e-4
ATOL = 1e-4
MAP_ATOL = 1 / 255  # one step of the 8-bit heat maps users look at
TOP_FRACTION = 0.3  # the benchmark's binarisation: the top 30 % of a map's pixels


def _as_array(value: Any) -> np.ndarray:
    """``value`` (a tensor on any device, an array, a number or a nested sequence of them) as
    a float64 numpy array."""
    if torch.is_tensor(value):
        return value.detach().to("cpu", torch.float64).numpy()
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and value \
            and torch.is_tensor(value[0]):
        return np.stack([_as_array(item) for item in value])
    return np.asarray(value, dtype=np.float64)


def _where(index: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, index))}]" if index else "(scalar)"


def _compare(actual: Any, expected: Any, rtol: float, atol: float, label: str) -> None:
    if actual is None or expected is None or isinstance(expected, (str, bytes, bool)):
        assert actual == expected, f"{label}: {actual!r} != {expected!r}"  # not numbers
        return
    if isinstance(expected, Mapping):
        assert isinstance(actual, Mapping), f"{label}: expected a mapping, got {actual!r}"
        assert set(actual) == set(expected), \
            f"{label}: keys {sorted(map(str, actual))} != {sorted(map(str, expected))}"
        for key in expected:
            _compare(actual[key], expected[key], rtol, atol, f"{label}[{key!r}]")
        return
    if isinstance(expected, (list, tuple)) and any(
            item is None or isinstance(item, (str, bytes, Mapping)) for item in expected):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), \
            f"{label}: {actual!r} != {expected!r}"
        for index, (found, wanted) in enumerate(zip(actual, expected)):
            _compare(found, wanted, rtol, atol, f"{label}[{index}]")
        return
    a, e = _as_array(actual), _as_array(expected)
    if e.shape != a.shape:
        assert e.ndim == 0, f"{label}: shape {a.shape} != expected shape {e.shape}"
        e = np.broadcast_to(e, a.shape)
    finite = np.isfinite(e)
    with np.errstate(invalid="ignore"):
        difference = np.where(a == e, 0.0, np.abs(a - e))  # inf - inf is NaN, inf == inf
        bound = np.where(finite, atol + rtol * np.abs(np.where(finite, e, 0.0)), 0.0)
        bad = ~(difference <= bound)  # NaN anywhere counts as a mismatch
    if not bad.any():
        return
    scores = np.where(bad, np.nan_to_num(difference - bound, nan=np.inf), -np.inf)
    worst = np.unravel_index(int(np.argmax(scores)), a.shape) if a.ndim else ()
    raise AssertionError(
        f"{label}: {int(bad.sum())} of {a.size} values differ beyond atol={atol:g} + "
        f"rtol={rtol:g} x |expected|; greatest absolute difference {np.max(difference):.4g}; "
        f"worst at {_where(tuple(int(i) for i in worst))}: actual {float(a[worst])!r}, "
        f"expected {float(e[worst])!r}")


def assert_close(actual: Any, expected: Any, *, rtol: float = RTOL, atol: float = ATOL,
                 msg: str = "") -> None:
    """Fail unless ``|actual - expected| <= atol + rtol * |expected|`` everywhere.

    Takes torch tensors, numpy arrays, numbers, sequences of them and mappings of them
    (compared key by key; lists holding strings, mappings or None item by item; None,
    strings and booleans must be equal); a scalar ``expected`` is
    compared with every value. NaN never matches; infinities match only themselves. The
    message names the number of mismatches, the greatest difference and where the worst one
    is, prefixed by ``msg``."""
    _compare(actual, expected, rtol, atol, msg or "values")


def assert_raw_maps_close(actual: Any, expected: Any, *, rtol: float = RTOL,
                          atol: float = ATOL) -> None:
    """Raw maps (N, h, w) compared map by map after dividing both by the expected map's
    largest magnitude (a map of zeros is compared as is): attributions have arbitrary units,
    and a tolerance relative to the map is what makes "the same map" mean the same thing for
    a map in probabilities and one in activations."""
    a, e = _as_array(actual), _as_array(expected)
    assert a.shape == e.shape, f"maps: shape {a.shape} != expected shape {e.shape}"
    for index, (mine, theirs) in enumerate(zip(a, e)):
        scale = np.abs(theirs[np.isfinite(theirs)]).max(initial=0.0)
        scale = scale if scale > 0 else 1.0
        _compare(mine / scale, theirs / scale, rtol, atol,
                 f"map {index} (divided by its largest magnitude {scale:.4g})")


def _top_pixels(saliency: np.ndarray, fraction: float) -> tuple[np.ndarray, float]:
    """(mask of the ``fraction`` highest pixels, the lowest value among them) of one map."""
    flat = saliency.ravel()
    count = max(1, int(np.floor(fraction * flat.size + 0.5)))
    order = np.argsort(-flat, kind="stable")[:count]
    mask = np.zeros(flat.size, bool)
    mask[order] = True
    return mask.reshape(saliency.shape), float(flat[order[-1]])


def assert_same_top_pixels(actual: Any, expected: Any, *, fraction: float = TOP_FRACTION,
                           atol: float = MAP_ATOL) -> None:
    """The top ``fraction`` of each map's pixels (N, H, W or H, W) are the same in both, up
    to near ties: a pixel chosen in one map and not the other lies within ``atol`` of the
    other map's cut-off value."""
    a, e = _as_array(actual), _as_array(expected)
    assert a.shape == e.shape, f"maps: shape {a.shape} != expected shape {e.shape}"
    for index, (mine, theirs) in enumerate(zip(a.reshape(-1, *a.shape[-2:]),
                                               e.reshape(-1, *e.shape[-2:]))):
        top_mine, cut_mine = _top_pixels(mine, fraction)
        top_theirs, cut_theirs = _top_pixels(theirs, fraction)
        only_mine = top_mine & ~top_theirs
        only_theirs = top_theirs & ~top_mine
        far = (theirs[only_mine] < cut_theirs - atol).sum() \
            + (mine[only_theirs] < cut_mine - atol).sum()
        assert far == 0, (f"map {index}: {int(only_mine.sum())} of {int(top_mine.sum())} top "
                          f"pixels differ, {int(far)} of them not near ties (atol {atol:g})")


def assert_same_maps(actual: Any, expected: Any, *, atol: float = MAP_ATOL) -> None:
    """Normalised maps in [0, 1] that a user cannot tell apart: every pixel within ``atol``
    (one step of an 8-bit heat map) and the same top pixels up to near ties."""
    assert_close(actual, expected, rtol=0.0, atol=atol, msg="normalised maps")
    assert_same_top_pixels(actual, expected, atol=atol)
