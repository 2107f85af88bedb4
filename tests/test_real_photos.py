"""The real-photo annotations (tests/fixtures/real_photos/annotations.json) and the folders
xfas.workflows.real_photos writes from them: every frame of the demo recording labelled once,
every drawn mask non-empty, inside its image and shaped by its "subtract" polygons, the
benchmark layout read back with exactly those masks, the labelled folder sorted by label; and
SPED's assignment of concepts to evidence types by the concepts' names, which a set this small
needs. Tests that read the Silent-Face images skip, naming the file, without the assets."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageSequence

from xfas.benchmark import BenchmarkConfig, RunStore, run_benchmark
from xfas.benchmark.config import BY_NAME
from xfas.benchmark.runner import assign_by_name
from xfas.data.datasets.benchmark import BenchmarkDataset
from xfas.data.image_io import load_image
from xfas.workflows.real_photos import (frame_attack, rasterise, read_annotations,
                                        real_photo_benchmark, real_photo_folder)

from helpers.assets import ASSETS, asset

ANNOTATIONS = Path(__file__).parent / "fixtures" / "real_photos" / "annotations.json"
MARGIN = 0.1  # a polygon may run this share of the image's size past its border (an edge
# that leaves the frame), no further: a corner beyond it is a typo such as swapped x and y


@pytest.fixture(scope="module")
def annotations() -> dict:
    return read_annotations(ANNOTATIONS)


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """The demo recording's frames, read here with PIL (not through the module tested)."""
    with Image.open(asset("images/demo.gif")) as gif:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


@pytest.fixture(scope="module")
def entries(annotations, frames) -> dict[str, tuple[np.ndarray, dict]]:
    """{name as the workflow writes it: (image, entry)} of every annotated image and frame."""
    out = {}
    for name, entry in annotations["images"].items():
        if "evidence" in entry:
            out[Path(name).stem] = (load_image(asset(f"images/{name}")), entry)
    for index, entry in annotations["demo.gif"]["annotated"].items():
        out[f"demo_gif_{int(index):03d}"] = (frames[int(index)], entry)
    return out


@pytest.fixture(scope="module")
def bench_folder(tmp_path_factory, entries) -> Path:
    """The benchmark layout of the annotated images (``entries`` first: it skips without the
    assets)."""
    return real_photo_benchmark(tmp_path_factory.mktemp("real") / "bench", ANNOTATIONS,
                                assets=ASSETS)


def test_every_frame_of_the_recording_has_exactly_one_label(annotations, frames) -> None:
    ranges = annotations["demo.gif"]["frames"]
    covered = [index for first, last in ranges.values() for index in range(first, last + 1)]
    assert sorted(covered) == list(range(len(frames)))  # each frame once: no gap, no overlap
    assert set(ranges) == {"live", "replay", "print"}


def test_every_second_attack_frame_is_annotated_with_its_own_attack(annotations) -> None:
    annotated = {int(i): e for i, e in annotations["demo.gif"]["annotated"].items()}
    for attack in ("replay", "print"):
        first, last = annotations["demo.gif"]["frames"][attack]
        done = sorted(i for i in annotated if first <= i <= last)
        assert done and done[0] <= first + 1 and done[-1] >= last - 1, attack
        assert max(np.diff(done)) <= 2, f"{attack}: two frames in a row without masks"
    for index, entry in annotated.items():
        assert entry["label"] == "spoof" and entry["attack"] == frame_attack(annotations, index)


def test_every_mask_is_filled_inside_its_image_and_cut_by_its_subtractions(entries) -> None:
    for name, (image, entry) in entries.items():
        height, width = image.shape[:2]
        masks = rasterise(entry, (height, width))
        assert set(masks) == set(entry["evidence"]), name
        assert set(entry.get("subtract", {})) <= set(entry["evidence"]), name
        for evidence, polygons in entry["evidence"].items():
            assert masks[evidence].any(), f"{name} {evidence}: empty mask"
            for polygon in [*polygons, *entry.get("subtract", {}).get(evidence, [])]:
                points = np.asarray(polygon)
                assert points.shape[1] == 2 and len(points) >= 3, f"{name} {evidence}"
                assert (points >= -MARGIN * np.array([width, height])).all() and \
                    (points <= (1 + MARGIN) * np.array([width, height])).all(), \
                    f"{name} {evidence}: a corner far outside the {width}x{height} image"
            filled = np.zeros((height, width), np.uint8)
            for polygon in polygons:
                cv2.fillPoly(filled, [np.asarray(polygon, np.int32)], 1)
            for polygon in entry.get("subtract", {}).get(evidence, []):
                cut = filled.copy()
                cv2.fillPoly(cut, [np.asarray(polygon, np.int32)], 0)
                assert cut.sum() < filled.sum(), f"{name} {evidence}: a subtraction removes " \
                                                 "nothing"
                assert not masks[evidence][cut == 0].any()  # what it removes stays removed


def test_benchmark_layout_reads_back_with_the_drawn_masks(bench_folder, entries) -> None:
    dataset = BenchmarkDataset(bench_folder, split="test", image_size=None)
    assert sorted(dataset.names) == sorted(entries)  # only annotated images, all in "test"
    assert set(dataset.labels.tolist()) == {1}
    for name, (image, entry) in entries.items():
        # the same integers written and read back: exact equality
        assert np.array_equal(dataset.original(name), image), name
        read = {e: m.numpy() for e, m in dataset.load_masks(name).items()}
        drawn = rasterise(entry, image.shape[:2])
        assert set(read) == set(drawn), name
        for evidence, mask in drawn.items():
            assert np.array_equal(read[evidence], mask), f"{name} {evidence}"


def test_labelled_folder_puts_each_image_under_its_label(tmp_path, annotations, frames) -> None:
    extra = tmp_path / "person.png"
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(extra)
    root = real_photo_folder(tmp_path / "folder", ANNOTATIONS, assets=ASSETS,
                             live_photos=[extra])
    expected = {"live": {"person"}, "spoof": set()}
    for name, entry in annotations["images"].items():
        asset(f"images/{name}")
        expected[entry["label"]].add(Path(name).stem)
    for attack, (first, last) in annotations["demo.gif"]["frames"].items():
        label = "live" if attack == "live" else "spoof"
        expected[label] |= {f"demo_gif_{i:03d}" for i in range(first, last + 1)}
    for label, names in expected.items():
        assert {p.stem for p in (root / label).glob("*.png")} == names, label
    for index in (0, 32, 33, 87):  # lossless PNG: the frame's own pixels
        label = "live" if index <= 32 else "spoof"
        assert np.array_equal(load_image(root / label / f"demo_gif_{index:03d}.png"),
                              frames[index])


# --- SPED's assignment by the concepts' names ----------------------------------------------

def test_assignment_by_name_takes_the_most_important_concept_of_that_name() -> None:
    names = ["concept 1", "Photo edge", "photo-edge", "clutching hand", "clutching_hand"]
    importances = [0.4, 0.1, 0.3, 0.1, 0.1]
    with pytest.warns(UserWarning, match="no concept is named 'ipad border'"):
        assignment = assign_by_name(names, importances,
                                    ["photo_edge", "clutching_hand", "ipad_border"])
    assert {e: a["concept"] for e, a in assignment.items()} == {
        "photo_edge": 2, "clutching_hand": 3}  # most important; a tie: the lower index
    assert assignment["photo_edge"]["name"] == "photo-edge"
    assert all(a["by"] == "name" and a["calibration_iou"] is None and a["n"] == 0
               for a in assignment.values())


def test_assignment_by_name_takes_the_exact_name_before_numbered_ones() -> None:
    """``xfas concepts label`` names a second and third concept on one type "photo edge 2"
    and "photo edge 3": the plain name wins even when less important, then the lowest
    number; a name that only starts like the type is no match."""
    names = ["photo edge 2", "photo edge", "photo edge 3", "photo edges"]
    assignment = assign_by_name(names, [0.5, 0.1, 0.3, 0.1], ["photo_edge"])
    assert assignment["photo_edge"]["concept"] == 1
    assert assignment["photo_edge"]["calibration_niou"] is None
    without_plain = assign_by_name(["photo edge 3", "photo edges", "photo edge 2"],
                                   [0.5, 0.4, 0.1], ["photo_edge"])
    assert without_plain["photo_edge"]["concept"] == 2


def test_assignment_by_name_of_unnamed_concepts_is_empty() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert assign_by_name(["concept 1", "concept 2"], [0.5, 0.5], ["photo_edge"]) == {}
    assert len(caught) == 1 and "photo_edge" in str(caught[0].message)


@pytest.mark.slow
def test_runner_assigns_by_name_without_calibration_images(tmp_path, bench_folder) -> None:
    """On the real set (one split, nothing to calibrate on) ``calibration_split="names"``
    sets no image aside and takes each type's concept from the bank's names."""
    import torch

    from xfas.models import load_model
    from xfas.sped import SPED

    asset("models/2.7_80x80_MiniFASNetV2.pth")
    model = load_model("minifasnet-v2", assets=ASSETS)
    images = torch.stack([model.preprocess(load_image(p))[0]
                          for p in sorted((bench_folder / "images").glob("*.png"))[:4]])
    fast = {"transform_iter": 10}  # a cheap bank: the assignment, not the concepts, is tested
    sped = SPED(model, n_concepts=3, n_designs=2, crop_stride=0.5, top_crops=1, progress=False,
                nmf_options={"max_iter": 20}, **fast).fit(images)
    sped.set_names({0: "clutching hand", 2: "ipad border"})
    bank = sped.save(tmp_path / "bank.safetensors")
    config = BenchmarkConfig(data=str(bench_folder), model="minifasnet-v2", concepts=str(bank),
                             methods="sped,sped-matched", calibration_split=BY_NAME, limit=4,
                             faithfulness=False, method_options={"sped": fast},
                             assets=str(ASSETS))
    run = run_benchmark(config, tmp_path / "run", progress=False)  # the first 4: replay
    assert {e: a["concept"] for e, a in run.results["sped_assignment"].items()} == {
        "clutching_hand": 0, "ipad_border": 2}
    with RunStore(tmp_path / "run" / "results.sqlite", create=False) as store:
        assert not store.images("calibration")
        scored = {r.name for r in store.images("scored")}
        matched = {(image, evidence) for image, method, evidence, _, _ in store.scores()
                   if method == "sped-matched"}
    assert len(scored) == 4
    assert {evidence for _, evidence in matched} == {"clutching_hand", "ipad_border"}
    note = (tmp_path / "run" / "table.md").read_text()
    assert "clutching_hand → clutching hand (by its name)" in note and "calibration" not in note
