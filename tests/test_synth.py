"""SynthSpoof: determinism, layout, masks against pixel differences, coverage of evidence and
distractors, colour statistics, the CLI and user face photos."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from xfas.cli.app import main
from xfas.data.datasets.benchmark import BenchmarkDataset
from xfas.data.synth import (ALL_EVIDENCE_TYPES, build_composition,
                             edge_radius, generate_synthspoof, load_face_photos, render_sample,
                             split_of)
from xfas.errors import XfasError
from xfas.explain import create_explainer
from xfas.models import build_model, save_model
from xfas.plots import EVIDENCE_COLOURS, evidence_overlay, overlay, save_sample_grid
from xfas.workflows.sample_grids import heat_map_panel

from helpers.folders import folder_bytes
from helpers.synth import (HANDS, assert_masks_are_pixel_differences, colour_features,
                           cross_validated, disc, edge_features, pixel_difference)
from helpers.tolerance import assert_close

SIZE = 128


@pytest.fixture(scope="module")
def samples():
    """The first 240 samples of seed 0 (shared by several tests)."""
    return [render_sample(i, seed=0, size=SIZE) for i in range(240)]




# ---- determinism and layout -----------------------------------------------------------------
def test_same_seed_gives_identical_bytes_and_image_i_ignores_n(tmp_path):
    generate_synthspoof(tmp_path / "a", 12, seed=5, progress=False)
    generate_synthspoof(tmp_path / "b", 12, seed=5, progress=False)
    generate_synthspoof(tmp_path / "c", 5, seed=5, progress=False)
    a, b, c = (folder_bytes(tmp_path / x) for x in "abc")
    assert a == b
    shared = [k for k in c if k.startswith(("images", "masks"))]
    assert len(shared) >= 5 and all(c[k] == a[k] for k in shared)
    other = folder_bytes(generate_synthspoof(tmp_path / "d", 12, seed=6, progress=False))
    assert other["images/000000.png"] != a["images/000000.png"]


def test_layout_and_manifest_schema(tmp_path):
    out = generate_synthspoof(tmp_path / "ds", 30, seed=1, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["generator"] == "synthspoof"
    assert manifest["seed"] == 1 and manifest["size"] == SIZE
    images = manifest["images"]
    assert sorted(images) == sorted(p.stem for p in (out / "images").iterdir())
    mask_files = {(p.parent.name, p.stem) for p in (out / "masks").rglob("*.png")}
    assert {d.name for d in (out / "masks").iterdir()} <= set(ALL_EVIDENCE_TYPES)
    for name, entry in images.items():
        assert entry["label"] in ("live", "spoof") and entry["split"] in ("train", "val", "test")
        assert entry["attack"] in ("live", "print", "cut", "replay")
        assert (entry["attack"] == "live") == (entry["label"] == "live")
        assert set(entry["evidence"]) <= set(ALL_EVIDENCE_TYPES)
        if entry["label"] == "live":
            assert entry["evidence"] == []
        assert {e for e, n in mask_files if n == name} == set(entry["evidence"])
        image = np.asarray(Image.open(out / "images" / f"{name}.png"))
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
        for evidence in entry["evidence"]:
            mask = np.asarray(Image.open(out / "masks" / evidence / f"{name}.png"))
            assert mask.shape == (SIZE, SIZE) and mask.dtype == np.uint8
            assert set(np.unique(mask)) == {0, 255}
        x, y, w, h = entry["face_box"]
        assert 0.1 * SIZE < w < 0.7 * SIZE and 0 < x + w / 2 < SIZE and 0 < y + h / 2 < SIZE


def test_splits_are_a_hash_of_the_index_near_70_15_15():
    splits = [split_of(0, i) for i in range(3000)]
    fractions = [splits.count(s) / len(splits) for s in ("train", "val", "test")]
    assert_close(fractions, [0.70, 0.15, 0.15], rtol=0, atol=0.03)  # a hash, not exact
    assert splits[:50] == [split_of(0, i) for i in range(50)]
    assert [split_of(1, i) for i in range(50)] != splits[:50]


# ---- masks are exactly the visible evidence -------------------------------------------------
def test_masks_equal_pixel_differences_when_the_evidence_is_left_out():
    """Each mask is checked against an independent truth: the pixels that change when the
    object is removed from the scene (camera effects off), not the generator's geometry."""
    checked = {name: 0 for name in ALL_EVIDENCE_TYPES}
    for index in range(60):
        scene = build_composition(index, seed=2, size=SIZE)
        for evidence in assert_masks_are_pixel_differences(scene, edge_radius(SIZE)):
            checked[evidence] += 1
    assert all(count >= 3 for count in checked.values()), checked


def test_a_finger_over_the_edge_moves_pixels_from_edge_to_hand():
    for index in range(200):
        scene = build_composition(index, seed=0, size=SIZE)
        if scene.attack not in ("print", "cut"):
            continue
        _, with_hands = scene.render(effects=False)
        _, no_hands = scene.render(omit=HANDS, effects=False)
        if "clutching_hand" not in with_hands or "photo_edge" not in no_hands:
            continue
        moved = no_hands["photo_edge"] & with_hands["clutching_hand"]
        if moved.any():
            assert not (with_hands.get("photo_edge", np.zeros_like(moved)) & moved).any()
            return
    pytest.fail("no sample with a hand over the paper edge in 200")


def test_masks_are_disjoint_present_types_nonempty_live_empty(samples):
    for s in samples:
        assert s.image.shape == (SIZE, SIZE, 3) and s.image.dtype == np.uint8
        if s.label == "live":
            assert s.masks == {}
            continue
        assert s.masks, f"spoof without evidence ({s.attack})"
        stack = np.stack([m for m in s.masks.values()])
        assert stack.shape[1:] == (SIZE, SIZE) and stack.dtype == bool
        assert all(m.any() for m in stack)
        assert stack.sum(axis=0).max() == 1
        allowed = {"print": {"photo_edge", "clutching_hand", "print_surface"},
                   "cut": {"photo_edge", "clutching_hand", "cut_hole", "print_surface"},
                   "replay": {"ipad_border", "clutching_hand", "screen_surface"}}[s.attack]
        assert set(s.masks) <= allowed


def test_every_evidence_type_and_attack_appears(samples):
    seen = {name for s in samples for name in s.masks}
    assert seen == set(ALL_EVIDENCE_TYPES)
    counts = {a: sum(s.attack == a for s in samples) for a in ("live", "print", "cut", "replay")}
    assert 0.3 < counts["live"] / len(samples) < 0.5
    assert all(0.12 < counts[a] / len(samples) < 0.28 for a in ("print", "cut", "replay"))
    hands = sum("clutching_hand" in s.masks for s in samples if s.label == "spoof")
    assert hands > 0.3 * sum(s.label == "spoof" for s in samples)


def test_live_images_carry_visible_distractors(samples):
    live = [s for s in samples if s.label == "live"]
    assert sum("hand" in s.distractors for s in live) > 0.15 * len(live)
    assert sum("held_object" in s.distractors for s in live) > 0.05 * len(live)
    rect = {"frame", "poster", "window", "door", "monitor", "board", "shelf"}
    assert sum(bool(rect & set(s.distractors)) for s in live) > 0.4 * len(live)
    shown = 0
    for index in range(80):
        scene = build_composition(index, seed=0, size=SIZE)
        if scene.attack == "live" and "hand" in scene.distractors:
            full, _ = scene.render(effects=False)
            gone, _ = scene.render(omit={"distractor_hand"}, effects=False)
            assert pixel_difference(full, gone).sum() > 20  # the hand is in the picture
            shown += 1
    assert shown >= 3


def test_the_medium_outline_shows_in_the_frame(samples):
    """Spoofs carry their evidence in view: in 9 of 10 prints and cuts the photo-edge band is
    at least one image side long (band area >= size x band width), and likewise the bezel of
    replays."""
    band = SIZE * 2 * edge_radius(SIZE)
    for attacks, evidence in ((("print", "cut"), "photo_edge"), (("replay",), "ipad_border")):
        areas = np.array([s.masks.get(evidence, np.zeros((SIZE, SIZE), bool)).sum()
                          for s in samples if s.attack in attacks])
        assert len(areas) > 30 and np.quantile(areas, 0.1) >= band, (evidence, areas)


def _luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def test_held_media_cast_a_shadow_just_past_their_outline():
    """Behind a held print or device, the pixels 1-2 px outside its outline are darker than
    those 5-7 px out (mean luma lower by more than 4 %): the medium casts a shadow."""
    near, far = [], []
    for index in range(120):
        scene = build_composition(index, seed=3, size=SIZE)
        if scene.attack == "live":
            continue
        medium = {"replay": {"bezel", "screen"}}.get(scene.attack, {"paper"})
        base = HANDS | {"arms"}
        full, _ = scene.render(omit=base, effects=False)
        without, _ = scene.render(omit=base | medium, effects=False)
        seen = ndimage.binary_fill_holes(pixel_difference(full, without))
        ring = lambda r: ndimage.binary_dilation(seen, disc(r))  # noqa: E731
        luma, inner, outer = _luma(without), ring(2) & ~seen, ring(7) & ~ring(4)
        if inner.any() and outer.any():
            near.append(luma[inner].mean())
            far.append(luma[outer].mean())
    assert len(near) > 50
    assert np.mean(near) / np.mean(far) < 0.96, (np.mean(near), np.mean(far))


def test_face_size_and_position_are_no_cue(samples):
    """Median face widths of live and spoof images agree within 8 %, their centres within 6 %
    of the image, and spoof widths spread around the live median: a model cannot tell live
    from spoof by the face's size or place."""
    def centre_and_width(group):
        boxes = np.array([s.face_box for s in group])
        return boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 2]

    (lx, lw), (sx, sw) = (centre_and_width([s for s in samples if s.label == label])
                          for label in ("live", "spoof"))
    assert abs(np.median(lw) - np.median(sw)) < 0.08 * np.median(lw)
    assert abs(np.median(lx) - np.median(sx)) < 0.06 * SIZE
    assert np.quantile(sw, 0.1) < np.quantile(lw, 0.5) < np.quantile(sw, 0.9)


@pytest.mark.slow
def test_colour_statistics_do_not_separate_live_from_spoof(samples):
    """Per-channel mean, std and 8-bin histograms (bins of 32 levels): a cross-validated
    logistic regression on them stays under the bounds, so colour alone is no shortcut. The
    bounds leave room for the variance of 240 samples."""
    accuracy, balanced = cross_validated([colour_features(s.image) for s in samples], samples)
    assert accuracy < 0.75 and balanced < 0.68, (accuracy, balanced)


@pytest.mark.slow
def test_straight_edges_do_not_separate_live_from_spoof(samples):
    """Number and total length of straight lines (Canny + probabilistic Hough) and the
    gradient-orientation histogram. A held photo's outline, margin and shadow are themselves
    evidence, so straight lines may be a cue, but only a weak one (live scenes hold frames,
    doors and monitors too): a cross-validated logistic regression stays under the bounds."""
    accuracy, balanced = cross_validated([edge_features(s.image) for s in samples], samples)
    assert accuracy < 0.88 and balanced < 0.86, (accuracy, balanced)


# ---- user photos, errors, CLI ---------------------------------------------------------------
def test_bad_face_folders_raise_naming_the_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(XfasError, match="empty"):
        load_face_photos(empty)
    (empty / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(XfasError, match="broken.jpg"):
        load_face_photos(empty)


@pytest.mark.parametrize("args, flag", [
    (["--n", "0"], "--n"), (["--size", "16"], "--size"), (["--seed", "-1"], "--seed"),
    (["--mix", "live=1,robot=1"], "--mix")])
def test_cli_rejects_bad_arguments_with_one_line(tmp_path, capsys, args, flag):
    code = main(["synth", "--out", str(tmp_path / "x"), "--no-progress", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"error: {flag}") and "\n" not in err
    assert not (tmp_path / "x").exists()


def test_cli_writes_and_refuses_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["synth", "--out", str(out), "--n", "4", "--seed", "3", "--drawn",
                 "--no-progress"]) == 0
    before = folder_bytes(out)
    assert len([k for k in before if k.startswith("images/")]) == 4
    assert main(["synth", "--out", str(out), "--n", "2", "--drawn", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--out" in err and "--overwrite" in err and "\n" not in err
    assert folder_bytes(out) == before
    assert main(["synth", "--out", str(out), "--n", "2", "--no-progress", "--overwrite"]) == 0
    assert len(list((out / "images").iterdir())) == 2


def test_cli_empty_faces_folder_errors(tmp_path, capsys):
    (tmp_path / "faces").mkdir()
    code = main(["synth", "--out", str(tmp_path / "ds"), "--n", "2", "--no-progress",
                 "--faces", str(tmp_path / "faces")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and str(tmp_path / "faces") in err and "\n" not in err


def test_sample_grid_is_written(tmp_path):
    path = save_sample_grid(tmp_path / "grid.png", seed=0, size=64, per_attack=2)
    with Image.open(path) as image:
        assert image.size[0] > 4 * 64 and image.size[1] > 4 * 64
    with pytest.raises(XfasError):
        save_sample_grid(tmp_path / "grid.jpg")


def test_heat_panel_outlines_each_mask_in_its_colour() -> None:
    image = np.full((32, 32, 3), 128, np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[8:20, 10:24] = True
    panel = evidence_overlay(image, {"photo_edge": mask}, np.zeros((32, 32)))
    colour = np.array(EVIDENCE_COLOURS["photo_edge"])
    outline = np.all(panel == colour, axis=2)
    # the outline is exactly the mask's boundary: mask pixels with a 4-neighbour outside it
    boundary = mask & ~ndimage.binary_erosion(mask, border_value=0)
    assert np.array_equal(outline, boundary)
    # away from the outline the panel is the overlay of a zero map (jet's dark blue, half)
    assert np.array_equal(panel[0, 0], overlay(image, np.zeros((32, 32)))[0, 0])


def test_explained_grid_shows_the_models_maps(tmp_path) -> None:
    model = build_model("cnn")
    sample = render_sample(0, seed=0, size=64)
    panel = heat_map_panel(model, "gradcam")(sample.image, {})
    # with no masks the panel is exactly the overlay of the model's Grad-CAM in image coords
    x, geometry = model.preprocess(sample.image)
    expected = create_explainer("gradcam", model).explain(x[None], target="spoof")
    heat = geometry.to_image(expected)[0].numpy()
    # two runs of the explainer: 8-bit pixels that may round a last bit apart, no more
    difference = panel.astype(int) - overlay(sample.image, heat).astype(int)
    assert np.abs(difference).max() <= 1
    save_model(model, tmp_path / "cnn.safetensors")
    code = main(["synth-grid", "--out", str(tmp_path / "grid.png"), "--size", "64",
                 "--per-attack", "1", "--model", str(tmp_path / "cnn.safetensors"),
                 "--drawn"])  # drawn people, as save_sample_grid draws below
    assert code == 0
    plain = save_sample_grid(tmp_path / "plain.png", seed=0, size=64, per_attack=1)
    with Image.open(tmp_path / "grid.png") as explained, Image.open(plain) as masks:
        assert explained.size == masks.size
        assert not np.array_equal(np.asarray(explained.convert("RGB")),
                                  np.asarray(masks.convert("RGB")))


def test_generated_layout_loads_as_a_benchmark_dataset(tmp_path):
    out = generate_synthspoof(tmp_path / "ds", 20, seed=0, progress=False)
    bench = BenchmarkDataset(out, image_size=None)
    manifest = json.loads((out / "manifest.json").read_text())["images"]
    assert len(bench) == 20
    for k in range(len(bench)):
        item = bench[k]
        marked = {e for e, m in item["masks"].items() if bool(m.any())}
        assert marked == set(manifest[item["name"]]["evidence"])
