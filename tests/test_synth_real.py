"""SynthSpoof on real people: the photos and their people, person-disjoint splits,
determinism, masks that are exactly the visible evidence, and no shortcut in simple image
statistics. Needs the real face photos (../shared/faces/london or $XFAS_FACES); the tests skip,
naming the folder, without them."""

from __future__ import annotations

import dataclasses
import json
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from xfas.cli.app import main
from xfas.data.benchmark_layout import BenchmarkLayout
from xfas.data.synth import (ALL_EVIDENCE_TYPES, EVIDENCE_TYPES, build_composition,
                             edge_radius, find_face_photos, generate_synthspoof,
                             load_face_photos, render_sample)
from xfas.data.synth.cast import PHOTO_STYLE
from xfas.data.synth.photos import person_matte, photo_credit
from xfas.errors import XfasError

from helpers.assets import faces
from helpers.folders import folder_bytes
from helpers.synth import (assert_masks_are_pixel_differences, colour_features,
                           cross_validated, edge_features, face_region)

SIZE = 128
# Every real person cut from the studio and set in front of a new background (the default), and
# every person left in the studio.
MOVED = dataclasses.replace(PHOTO_STYLE, backdrop=1.0)
STUDIO = dataclasses.replace(PHOTO_STYLE, backdrop=0.0)


@pytest.fixture(scope="module")
def photos():
    """Every photo of the real face folder, loaded once."""
    return load_face_photos(faces())


@pytest.fixture(scope="module")
def samples(photos):
    """The first 240 real-people samples of seed 0."""
    return [render_sample(i, seed=0, size=SIZE, faces=photos) for i in range(240)]




# ---- the photos ------------------------------------------------------------------------------
def test_photos_know_their_person_and_face(photos):
    people = {p.person for p in photos}
    assert len(photos) >= 2 * len(people) > 0  # the London set: two photos per person
    for photo in photos:
        height, width = photo.image.shape[:2]
        x, y, w, h = photo.box
        assert 0.3 * width < x + w / 2 < 0.7 * width and 0.2 * height < y + h / 2 < 0.6 * height
        assert (photo.eyes[:, 1] < photo.mouth[1]).all()
        assert photo.eyes[0, 0] < photo.mouth[0] < photo.eyes[1, 0]


def test_a_photo_without_a_face_is_left_out_naming_it(tmp_path, photos):
    folder = tmp_path / "mixed"
    folder.mkdir()
    source = sorted(faces().rglob("*.jpg"))[0]
    (folder / source.name).write_bytes(source.read_bytes())
    Image.new("RGB", (120, 160), (128, 128, 128)).save(folder / "wall_01.png")
    with pytest.warns(UserWarning, match="wall_01.png: no face found"):
        loaded = load_face_photos(folder)
    assert [p.person for p in loaded] == [source.name.split("_")[0]]


def test_photos_are_turned_upright_by_exif(tmp_path):
    source = sorted(faces().rglob("*.jpg"))[0]
    upright = np.asarray(Image.open(source).convert("RGB"))
    folder = tmp_path / "exif"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter anticlockwise: display rotates it back
    Image.fromarray(np.rot90(upright, 1)).save(folder / "p_1.png", exif=exif)
    (photo,) = load_face_photos(folder)
    assert np.array_equal(photo.image, upright)  # a lossless round trip


def test_the_face_folder_is_found_or_named(tmp_path, monkeypatch):
    monkeypatch.delenv("XFAS_FACES", raising=False)
    assert find_face_photos() is None
    monkeypatch.setenv("XFAS_FACES", str(tmp_path))
    assert find_face_photos() == tmp_path
    with pytest.raises(XfasError, match="missing_folder"):
        find_face_photos(tmp_path / "missing_folder")
    monkeypatch.setenv("XFAS_FACES", str(tmp_path / "gone"))
    with pytest.raises(XfasError, match=r"\$XFAS_FACES .*gone"):
        find_face_photos()


def test_drawn_people_and_folders_without_a_manifest_carry_no_credit(tmp_path) -> None:
    drawn = generate_synthspoof(tmp_path / "drawn", 2, seed=0, progress=False)
    assert "credit" not in json.loads((drawn / "manifest.json").read_text())
    assert BenchmarkLayout(drawn).credit() is None and BenchmarkLayout(tmp_path).credit() is None


def test_the_credit_line_comes_from_the_photos_folder(tmp_path) -> None:
    assert "DeBruine & Jones" in photo_credit(faces())  # the London set's README names it
    own = tmp_path / "mine"
    own.mkdir()
    assert "mine" in photo_credit(own)
    (own / "CREDIT.txt").write_text("Photos: A. Person, CC BY 4.0\n")
    assert photo_credit(own) == "Photos: A. Person, CC BY 4.0"


def _planted_person() -> tuple[np.ndarray, np.ndarray]:
    """A 384 x 512 picture of a plain light wall (a vertical gradient and noise) with a person
    planted in it (a skin-coloured head and neck, a white shirt to the bottom corners), and the
    person's true mask."""
    height, width = 512, 384
    rng = np.random.default_rng(0)
    rows = np.linspace(0, 1, height)[:, None, None]
    image = 195 + 20 * rows + rng.normal(0, 2, (height, width, 3))
    truth = np.zeros((height, width), np.uint8)
    cv2.ellipse(truth, (192, 215), (80, 105), 0, 0, 360, 1, -1)
    cv2.rectangle(truth, (160, 300), (224, 420), 1, -1)
    shoulders = np.array([[100, 380], [284, 380], [384, 450], [384, 512], [0, 512], [0, 450]])
    cv2.fillPoly(truth, [shoulders.astype(np.int32)], 1)
    person = truth.astype(bool)
    image[person] = (190, 140, 115)
    image[person & (np.arange(height)[:, None] > 395)] = (245, 245, 245)
    return np.clip(image, 0, 255).astype(np.uint8), person


def test_the_matte_separates_a_planted_person_from_a_plain_wall():
    image, person = _planted_person()
    alpha = person_matte(image, (122.0, 140.0, 140.0, 150.0))  # a face detector's box
    assert alpha.shape == person.shape and alpha.dtype == np.float32
    ring = np.ones((13, 13), np.uint8)
    inside = cv2.erode(person.astype(np.uint8), ring).astype(bool)
    outside = ~cv2.dilate(person.astype(np.uint8), ring).astype(bool)
    assert alpha[inside].min() > 0.95 and alpha[outside].max() < 0.05
    found = alpha > 0.5
    assert (found & person).sum() / (found | person).sum() > 0.95
    cv2.setRNGSeed(12345)  # OpenCV's generator in another state: the same matte
    assert np.array_equal(person_matte(image, (122.0, 140.0, 140.0, 150.0)), alpha)


def test_the_real_photos_mattes_keep_the_face_and_drop_the_wall(photos):
    for photo in photos[:6]:
        alpha = photo.matte
        x, y, w, h = (int(v) for v in photo.box)
        assert alpha[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4].min() > 0.99
        assert alpha[:8].max() < 0.01  # the wall above the head
        assert 0.2 < alpha.mean() < 0.8


@pytest.mark.slow
def test_backdrops_are_as_frequent_behind_live_people_as_behind_attackers(photos):
    share = 0.5
    style = dataclasses.replace(PHOTO_STYLE, backdrop=share)
    samples = [render_sample(i, seed=1, size=64, faces=photos, style=style) for i in range(200)]
    moved = {label: [("backdrop" in s.distractors) for s in samples if s.label == label]
             for label in ("live", "spoof")}
    rates = {label: np.mean(flags) for label, flags in moved.items()}
    assert all(abs(rate - share) < 0.15 for rate in rates.values()), rates
    studio = dataclasses.replace(PHOTO_STYLE, backdrop=0.0)
    assert "backdrop" not in render_sample(0, seed=1, size=64, faces=photos,
                                           style=studio).distractors
    assert all("backdrop" in render_sample(i, seed=1, size=64, faces=photos).distractors
               for i in range(10))  # the default moves every person


def test_a_moved_person_keeps_their_face_and_loses_the_studio_wall(photos):
    """Live scenes (camera off) with every person moved: the face is the photo's face, the
    top corners (the studio wall in a framed photo) are a new background."""
    walls = []
    for index in range(40):
        scene = build_composition(index, seed=5, size=SIZE, faces=photos, style=MOVED)
        if scene.attack != "live":
            continue
        assert "backdrop" in scene.distractors
        image, _ = scene.render(effects=False)
        x, y, w, h = (int(round(v)) for v in scene.face_box)
        face = image[y + h // 3:y + 2 * h // 3, x + w // 3:x + 2 * w // 3].reshape(-1, 3)
        assert 60 < face.mean() < 240  # skin, not a wall colour painted over it
        walls.append(image[:6, :6].reshape(-1, 3).mean(axis=0))
    assert len(walls) >= 8
    # the London wall is one light grey; the backdrops are of many colours and brightnesses
    assert np.ptp(np.array(walls), axis=0).max() > 80


def test_moved_people_give_the_same_bytes_for_the_same_seed(photos):
    a = [render_sample(i, seed=6, size=64, faces=photos, style=MOVED) for i in range(6)]
    b = [render_sample(i, seed=6, size=64, faces=photos, style=MOVED) for i in range(6)]
    for x, y in zip(a, b):
        assert np.array_equal(x.image, y.image) and x.masks.keys() == y.masks.keys()
        assert all(np.array_equal(x.masks[k], y.masks[k]) for k in x.masks)


# ---- the data set ----------------------------------------------------------------------------
def test_nobody_is_in_two_splits_and_every_image_shows_its_splits_people(tmp_path, photos):
    out = generate_synthspoof(tmp_path / "ds", 80, seed=3, faces=faces(), progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    people = manifest["people"]
    assert set(people) == {p.person for p in photos}
    assert {split for split in people.values()} == {"train", "val", "test"}
    assert "London Set" in manifest["credit"]
    assert BenchmarkLayout(out).credit() == manifest["credit"]  # what concept figures carry
    for name, entry in manifest["images"].items():
        shown = set(entry["people"].values())
        assert shown and all(people[person] == entry["split"] for person in shown), name
        roles = set(entry["people"])
        assert roles == ({"person"} if entry["label"] == "live" else {"attacker", "victim"})


def test_same_seed_same_bytes(tmp_path, photos):
    generate_synthspoof(tmp_path / "a", 10, seed=4, faces=photos, progress=False)
    generate_synthspoof(tmp_path / "b", 10, seed=4, faces=photos, progress=False)
    assert folder_bytes(tmp_path / "a") == folder_bytes(tmp_path / "b")


def test_attackers_hold_other_peoples_photos_and_sometimes_their_own(samples):
    spoofs = [s for s in samples if s.label == "spoof"]
    own = sum(s.people["attacker"] == s.people["victim"] for s in spoofs)
    assert 0.05 * len(spoofs) < own < 0.4 * len(spoofs)


@pytest.mark.parametrize("style", [None, STUDIO], ids=["default", "studio"])
def test_masks_equal_pixel_differences_when_the_evidence_is_left_out(photos, style):
    """As for drawn people: each mask is the set of pixels that change when its object leaves
    the scene (camera off), an independent truth; with people in front of backdrops (the
    default) and left in the studio."""
    checked = {name: 0 for name in ALL_EVIDENCE_TYPES}
    for index in range(60):
        scene = build_composition(index, seed=2, size=SIZE, faces=photos, style=style)
        for evidence in assert_masks_are_pixel_differences(scene, edge_radius(SIZE)):
            checked[evidence] += 1
    assert all(count >= 2 for count in checked.values()), checked


def test_every_spoof_shows_the_papers_evidence_and_live_images_none(samples):
    for s in samples:
        if s.label == "live":
            assert s.masks == {}
        else:
            assert set(s.masks) & set(EVIDENCE_TYPES), s.attack
            stack = np.stack(list(s.masks.values()))
            assert stack.sum(axis=0).max() == 1  # the types never overlap


@pytest.mark.slow
def test_simple_statistics_separate_live_from_spoof_only_weakly(samples):
    """Live and attack images are the same people, scenes and camera; what tells them apart is
    the attack. Colour statistics of the whole image or of the face alone, and straight-line
    and edge-orientation statistics, give a cross-validated logistic regression at most the
    balanced accuracies below (the recaptured print or screen itself lowers contrast and lifts
    the black level: that is evidence, which a real FAS model needs to see; docs/data.md)."""
    assert cross_validated([colour_features(s.image) for s in samples], samples)[1] < 0.72
    assert cross_validated([colour_features(face_region(s)) for s in samples], samples)[1] < 0.85
    assert cross_validated([edge_features(s.image) for s in samples], samples)[1] < 0.90


def test_cli_uses_the_face_folder_or_draws_people(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XFAS_FACES", str(faces()))
    assert main(["synth", "--out", str(tmp_path / "real"), "--n", "3", "--no-progress"]) == 0
    assert json.loads((tmp_path / "real" / "manifest.json").read_text())["faces"] == str(faces())
    assert main(["synth", "--out", str(tmp_path / "drawn"), "--n", "3", "--drawn",
                 "--no-progress"]) == 0
    assert json.loads((tmp_path / "drawn" / "manifest.json").read_text())["faces"] is None
    monkeypatch.delenv("XFAS_FACES")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["synth", "--out", str(tmp_path / "none"), "--n", "2", "--no-progress"]) == 0
    assert "so the people were drawn" in capsys.readouterr().err
