"""Agreement between annotators (IoU and Dice on hand-made masks, pixel kappa against
scikit-learn's cohen_kappa_score, the benchmark nIoU of one annotator as a map of the other),
the checks of a data set, and the annotation page's data side (saving polygons as masks,
loading them back, the manifest kept in step)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import cohen_kappa_score

from xfas.annotations import check_annotations, compare_annotators
from xfas.annotations.agreement import cohen_kappa, iou_and_dice
from xfas.annotations.editing import AnnotationEditor
from xfas.benchmark.metrics import niou
from xfas.data.benchmark_layout import BenchmarkLayout, read_mask
from xfas.errors import XfasError
from xfas.workflows.annotation_agreement import agreement_json, agreement_table, \
    annotator_agreement

from helpers.annotation_files import block
from helpers.tolerance import assert_close

SIZE = (20, 20)


def data_set(root: Path, masks: dict[str, dict[str, np.ndarray]], *,
             manifest: dict | None = None) -> BenchmarkLayout:
    layout = BenchmarkLayout(root)
    layout.images_dir.mkdir(parents=True)
    for name, kinds in masks.items():
        Image.fromarray(np.full((*SIZE, 3), 90, np.uint8)).save(layout.images_dir / f"{name}.png")
        for evidence, mask in kinds.items():
            layout.write_mask(evidence, name, mask)
    if manifest is not None:
        layout.write_manifest({"images": manifest})
    return layout


def box(rows, cols) -> np.ndarray:
    return block(rows, cols, SIZE)


# --- agreement ----------------------------------------------------------------------------------

def test_iou_and_dice_of_hand_made_masks() -> None:
    a, b = box((0, 4), (0, 5)), box((2, 6), (0, 5))  # 20 pixels each, 10 shared
    assert iou_and_dice(a, b) == (10 / 30, 20 / 40)
    assert iou_and_dice(a, a) == (1.0, 1.0)
    assert iou_and_dice(a, box((10, 12), (10, 12))) == (0.0, 0.0)
    assert all(math.isnan(v) for v in iou_and_dice(box((0, 0), (0, 0)), box((0, 0), (0, 0))))


def test_pixel_kappa_matches_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    a = rng.random((3, *SIZE)) < 0.3
    b = a ^ (rng.random((3, *SIZE)) < 0.1)
    counts = np.array([[np.sum(~a & ~b), np.sum(~a & b)], [np.sum(a & ~b), np.sum(a & b)]])
    assert_close(cohen_kappa(counts), cohen_kappa_score(a.ravel(), b.ravel()))


def test_two_annotators_compared_per_type(tmp_path) -> None:
    a1, b1 = box((0, 4), (0, 5)), box((2, 6), (0, 5))
    a2, b2 = box((10, 15), (10, 15)), box((10, 15), (10, 14))
    hand_a = box((5, 8), (5, 8))
    data_set(tmp_path / "A", {"x1": {"photo_edge": a1, "clutching_hand": hand_a},
                              "x2": {"photo_edge": a2}, "only_a": {}})
    data_set(tmp_path / "B", {"x1": {"photo_edge": b1}, "x2": {"photo_edge": b2},
                              "only_b": {}})
    result = annotator_agreement(tmp_path / "A", tmp_path / "B")
    assert (result.common, result.only_a, result.only_b) == (2, ("only_a",), ("only_b",))
    assert sorted(result.types) == ["clutching_hand", "photo_edge"]
    edge = result.types["photo_edge"]
    assert edge.images == 2
    assert_close(edge.iou, np.mean([10 / 30, 20 / 25]))
    assert_close(edge.dice, np.mean([20 / 40, 40 / 45]))
    stacked_a, stacked_b = np.stack([a1, a2]).ravel(), np.stack([b1, b2]).ravel()
    assert_close(edge.kappa, cohen_kappa_score(stacked_a, stacked_b))
    # the benchmark's nIoU with one annotator's mask as the map of the other's
    assert_close(edge.extra["niou_a_as_map"], np.mean([niou(b1, a1.astype(float)),
                                                      niou(b2, a2.astype(float))]))
    assert_close(edge.extra["niou_b_as_map"], np.mean([niou(a1, b1.astype(float)),
                                                      niou(a2, b2.astype(float))]))
    # B drew no hand: an empty mask against A's, nothing agrees
    hand = result.types["clutching_hand"]
    assert (hand.images, hand.iou, hand.dice) == (1, 0.0, 0.0)
    assert math.isnan(hand.extra["niou_a_as_map"])  # B's empty mask cannot be scored against
    table = agreement_table(result)
    assert "| photo_edge | 2 |" in table and "annotator nIoU" in table
    numbers = agreement_json(result)
    assert numbers["types"]["clutching_hand"]["niou_a_as_map"] is None
    json.dumps(numbers)  # JSON-ready: no NaN


def test_identical_annotators_agree_fully(tmp_path) -> None:
    masks = {"x": {"cut_hole": box((3, 7), (3, 9))}}
    data_set(tmp_path / "A", masks)
    data_set(tmp_path / "B", masks)
    hole = compare_annotators(tmp_path / "A", tmp_path / "B").types["cut_hole"]
    assert (hole.iou, hole.dice, hole.kappa) == (1.0, 1.0, 1.0)


def test_agreement_refuses_folders_without_common_images(tmp_path) -> None:
    data_set(tmp_path / "A", {"x": {}})
    data_set(tmp_path / "B", {"y": {}})
    with pytest.raises(XfasError, match="no image name in common"):
        compare_annotators(tmp_path / "A", tmp_path / "B")


# --- check -------------------------------------------------------------------------------------

def test_check_lists_every_kind_of_problem(tmp_path) -> None:
    layout = data_set(tmp_path / "d", {
        "ok": {"photo_edge": box((0, 2), (0, 20))},
        "empty": {"cut_hole": box((0, 0), (0, 0))},
        "large": {"cut_hole": box((0, 10), (0, 20))},        # half the image
        "unlisted": {"clutching_hand": box((0, 3), (0, 3))},
        "listed": {}},
        manifest={"ok": {"label": "spoof", "evidence": ["photo_edge", "print_surface"]},
                  "empty": {"label": "spoof", "evidence": ["cut_hole"]},
                  "large": {"label": "spoof", "evidence": ["cut_hole"]},
                  "unlisted": {"label": "spoof", "evidence": []},
                  "listed": {"label": "spoof", "evidence": ["ipad_border"]},
                  "gone": {"label": "live"}})
    layout.write_mask("print_surface", "ok", box((0, 20), (0, 20)))  # a type with no limit
    layout.write_mask("photo_edge", "wrong_size", np.ones((5, 5), bool))
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(layout.images_dir / "small.png")
    layout.write_mask("photo_edge", "small", box((0, 2), (0, 2)))
    layout.write_mask("photo_edge", "orphan", box((0, 2), (0, 2)))
    findings = {(f.kind, f.file.relative_to(tmp_path / "d").as_posix())
                for f in check_annotations(tmp_path / "d")}
    assert findings == {
        ("empty_mask", "masks/cut_hole/empty.png"),
        ("large_mask", "masks/cut_hole/large.png"),
        ("mask_not_listed", "masks/clutching_hand/unlisted.png"),
        ("listed_without_mask", "masks/ipad_border/listed.png"),
        ("mask_size", "masks/photo_edge/small.png"),
        ("mask_without_image", "masks/photo_edge/orphan.png"),
        ("mask_without_image", "masks/photo_edge/wrong_size.png"),
        ("missing_image", "manifest.json"),
        ("not_in_manifest", "images/small.png")}


def test_check_of_a_clean_data_set_finds_nothing(tmp_path) -> None:
    data_set(tmp_path / "d", {"a": {"photo_edge": box((0, 2), (0, 20))}},
             manifest={"a": {"label": "spoof", "evidence": ["photo_edge"]}})
    assert check_annotations(tmp_path / "d") == []


# --- the annotation page's data side ------------------------------------------------------------

def test_saved_polygons_become_masks_and_load_back(tmp_path) -> None:
    layout = data_set(tmp_path / "d", {"a": {}, "b": {"cut_hole": box((2, 6), (2, 6))}},
                      manifest={"a": {"label": "live"}, "b": {"label": "spoof",
                                                              "attack": "cut",
                                                              "evidence": ["cut_hole"]}})
    editor = AnnotationEditor(tmp_path / "d")
    assert [(i["name"], i["annotated"], i["evidence"]) for i in editor.images()] == [
        ("a", False, []), ("b", False, ["cut_hole"])]
    reply = editor.save("a", {"photo_edge": [[[2, 3], [12, 3], [12, 8], [2, 8]]],
                              "cut_hole": []})
    assert reply == {"name": "a", "pixels": {"photo_edge": 50, "cut_hole": 0},
                     "evidence": ["photo_edge"]}
    assert np.array_equal(read_mask(layout.mask_path("photo_edge", "a")), box((3, 8), (2, 12)))
    manifest = json.loads(layout.manifest_path.read_text())["images"]
    assert manifest["a"] == {"label": "spoof", "attack": "spoof", "evidence": ["photo_edge"]}
    loaded = editor.load("a")
    assert loaded["polygons"] == {"photo_edge": [[[2.0, 3.0], [12.0, 3.0], [12.0, 8.0],
                                                  [2.0, 8.0]]], "cut_hole": []}
    # a mask file without polygons is traced into editable polygons along pixel edges
    traced = editor.load("b")["polygons"]["cut_hole"]
    assert sorted(map(tuple, traced[0])) == [(2, 2), (2, 6), (6, 2), (6, 6)]
    # clearing a type removes its mask and its place in the manifest; the label stays
    editor.save("b", {"cut_hole": []})
    assert not layout.mask_path("cut_hole", "b").exists()
    entry = json.loads(layout.manifest_path.read_text())["images"]["b"]
    assert entry == {"label": "spoof", "attack": "cut", "evidence": []}
    assert [i["annotated"] for i in editor.images()] == [True, True]


def test_a_mask_with_a_hole_stays_locked_until_replaced(tmp_path) -> None:
    ring = box((2, 10), (2, 10)) & ~box((4, 8), (4, 8))
    layout = data_set(tmp_path / "d", {"a": {"ipad_border": ring}})
    editor = AnnotationEditor(tmp_path / "d")
    loaded = editor.load("a")
    assert loaded["polygons"] == {} and np.array_equal(loaded["locked"]["ipad_border"], ring)
    editor.save("a", {"photo_edge": [[[1, 1], [3, 1], [3, 3]]]})  # another type: ring kept
    assert np.array_equal(read_mask(layout.mask_path("ipad_border", "a")), ring)
    assert not layout.manifest_path.exists()  # no manifest: the masks say what is a spoof


@pytest.mark.parametrize(("polygons", "message"), [
    ({"photo_edge": [[[0, 0], [10, 10], [10, 0], [0, 10]]]},
     "image 'a', photo_edge polygon 1: self-intersecting polygon"),
    ({"photo_edge": [[[0, 0], [50, 0], [0, 5]]]},
     "image 'a', photo_edge polygon 1: polygon point (50, 0) lies outside the 20x20 image"),
    ({"glare": [[[0, 0], [5, 0], [0, 5]]]}, "image 'a': unknown evidence type 'glare'"),
])
def test_bad_polygons_are_refused_and_nothing_is_written(tmp_path, polygons, message) -> None:
    layout = data_set(tmp_path / "d", {"a": {}})
    with pytest.raises(XfasError) as caught:
        AnnotationEditor(tmp_path / "d").save("a", polygons)
    assert str(caught.value).startswith(message)
    assert not layout.masks_dir.exists() and not layout.polygons_path("a").exists()
