"""Dataset loaders on tiny trees built in the real layouts: real PNG/JPEG files, real label
JSON, real _BB.txt files and real MJPG videos written with OpenCV."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from xfas.data.datasets import (BenchmarkDataset, CasiaFASD, CelebASpoof, FolderDataset,
                                balanced_split, balanced_subset, detect_layout, open_dataset,
                                split_indices)
from xfas.data.datasets.casia_fasd import count_frames
from xfas.errors import XfasError

from helpers.assets import ASSETS, asset
from helpers.tolerance import assert_close

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> Path:
    """A flat RGB image of ``size`` (W, H) written by Pillow in the suffix's format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _garbage(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG" * 10)
    return path


def _mean_rgb(item: dict) -> np.ndarray:
    return item["image"].mean(dim=(1, 2)).numpy() * 255


# --- splits and balancing ---------------------------------------------------------------

def test_split_indices_reproduces_the_papers_180k_18k_2k_split():
    parts = split_indices(200_000, (0.9, 0.09, 0.01), seed=3)
    assert [len(parts[s]) for s in ("train", "val", "test")] == [180_000, 18_000, 2_000]
    together = np.concatenate(list(parts.values()))
    assert np.array_equal(np.sort(together), np.arange(200_000))  # disjoint and complete
    # seeded integer draws: the same indices on every CPU
    again = split_indices(200_000, (0.9, 0.09, 0.01), seed=3)
    assert all(np.array_equal(parts[s], again[s]) for s in parts)
    other = split_indices(200_000, (0.9, 0.09, 0.01), seed=4)
    assert not np.array_equal(parts["test"], other["test"])
    with pytest.raises(XfasError, match="add up to 1"):
        split_indices(10, (0.5, 0.2, 0.2))


def test_balanced_subset_counts_and_determinism():
    labels = np.array([0] * 30 + [1] * 70)
    chosen = balanced_subset(labels, 20, seed=1)
    assert len(chosen) == 40 and len(set(chosen.tolist())) == 40
    assert (labels[chosen] == 0).sum() == 20 and (labels[chosen] == 1).sum() == 20
    # seeded integer draws: the same indices on every CPU
    assert np.array_equal(chosen, balanced_subset(labels, 20, seed=1))
    assert not np.array_equal(chosen, balanced_subset(labels, 20, seed=2))
    with pytest.raises(XfasError, match="class 0 has 30 items"):
        balanced_subset(labels, 31)


def test_balanced_split_of_the_paper_is_balanced_in_every_part():
    labels = np.array([0] * 120_000 + [1] * 300_000)
    parts = balanced_split(labels, 100_000, (0.9, 0.09, 0.01), seed=0)
    for name, size in (("train", 90_000), ("val", 9_000), ("test", 1_000)):
        assert (labels[parts[name]] == 0).sum() == size
        assert (labels[parts[name]] == 1).sum() == size
    assert len(np.intersect1d(parts["train"], parts["val"])) == 0
    assert len(np.intersect1d(parts["val"], parts["test"])) == 0


# --- plain folders ------------------------------------------------------------------------

def test_folder_items_labels_colours_and_transform(tmp_path):
    _image(tmp_path / "live" / "a.png", RED)
    _image(tmp_path / "live" / "sub" / "b.bmp", GREEN)
    _image(tmp_path / "spoof" / "c.png", BLUE, size=(50, 20))
    data = FolderDataset(tmp_path, image_size=16)
    assert len(data) == 3
    assert data.labels.tolist() == [0, 0, 1] and data.attacks == ["live", "live", "spoof"]
    item = data[2]
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 16, 16)
    assert item["label"] == 1 and item["attack"] == "spoof"
    assert item["path"] == str(tmp_path / "spoof" / "c.png")
    assert item["box"].tolist() == [0, 0, 50, 20]
    assert_close(_mean_rgb(item), BLUE, rtol=0, atol=0.5)  # in 8-bit levels
    assert_close(_mean_rgb(data[1]), GREEN, rtol=0, atol=0.5)
    assert data.original(2).shape == (20, 50, 3)
    kept = FolderDataset(tmp_path, image_size=None)[2]["image"]
    assert kept.shape == (3, 20, 50)
    flipped = FolderDataset(tmp_path, image_size=16, transform=lambda t: 1 - t)[0]["image"]
    assert_close(flipped[0], torch.zeros(16, 16))
    assert_close(flipped[1], torch.ones(16, 16))


def test_folder_manifest_names_attacks_and_splits(tmp_path):
    for name, folder, colour in (("a", "live", RED), ("b", "live", GREEN), ("c", "spoof", BLUE),
                                 ("d", "spoof", BLUE)):
        _image(tmp_path / folder / f"{name}.jpg", colour)
    manifest = {"images": {
        "live/a.jpg": {"label": "live", "split": "train"},
        "b": {"label": "live", "split": "test"},
        "spoof/c.jpg": {"label": "spoof", "attack": "replay", "split": "train"},
        "d": {"label": "spoof", "attack": "print", "split": "test"}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    test = FolderDataset(tmp_path, split="test")
    assert [Path(p).name for p in (test[0]["path"], test[1]["path"])] == ["b.jpg", "d.jpg"]
    assert test.attacks == ["live", "print"]
    assert FolderDataset(tmp_path, split="train").attacks == ["live", "replay"]
    manifest["images"]["d"]["label"] = "live"
    manifest["images"]["d"]["attack"] = "live"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(XfasError, match="d.jpg says label 0 but the file is in spoof/"):
        FolderDataset(tmp_path)


def test_folder_without_manifest_gets_a_seeded_stratified_split(tmp_path):
    for i in range(10):
        _image(tmp_path / "live" / f"l{i}.png", RED, size=(8, 8))
        _image(tmp_path / "spoof" / f"s{i}.png", BLUE, size=(8, 8))
    parts = {s: FolderDataset(tmp_path, split=s, seed=5) for s in ("train", "val", "test")}
    paths = {s: {d[i]["path"] for i in range(len(d))} for s, d in parts.items()}
    assert sum(len(p) for p in paths.values()) == 20
    assert len(paths["train"] | paths["val"] | paths["test"]) == 20  # disjoint
    assert parts["train"].labels.tolist().count(0) == 7  # 0.7 of each class
    assert parts["train"].labels.tolist().count(1) == 7
    again = FolderDataset(tmp_path, split="train", seed=5)
    assert {again[i]["path"] for i in range(len(again))} == paths["train"]
    with pytest.raises(XfasError, match="split 'validation'"):
        FolderDataset(tmp_path, split="validation")


def test_folder_skips_a_corrupt_image_in_a_dataloader_and_counts_it(tmp_path):
    _image(tmp_path / "live" / "a.png", RED)
    bad = _garbage(tmp_path / "live" / "b.jpg")
    _image(tmp_path / "spoof" / "c.png", BLUE)
    data = FolderDataset(tmp_path, image_size=8)
    with pytest.warns(UserWarning, match="b.jpg"):
        batches = list(DataLoader(data, batch_size=2, shuffle=False))
    labels = torch.cat([b["label"] for b in batches]).tolist()
    assert labels == [0, 1, 1]  # b.jpg replaced by the next readable item, c.png
    summary = data.summary()
    assert summary["unreadable_image"]["count"] == 1
    assert summary["unreadable_image"]["files"] == [str(bad)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # counted once: no second warning
        assert data[1]["path"].endswith("c.png")
    assert data.check(progress=False)["unreadable_image"]["count"] == 1


def test_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(XfasError, match="nowhere: folder not found"):
        FolderDataset(tmp_path / "nowhere")
    with pytest.raises(XfasError, match="no live/ or spoof/"):
        FolderDataset(tmp_path)
    (tmp_path / "images").mkdir()
    with pytest.raises(XfasError, match="benchmark layout.*BenchmarkDataset"):
        FolderDataset(tmp_path)
    (tmp_path / "spoof").mkdir()
    (tmp_path / "spoof" / "notes.txt").write_text("x")
    with pytest.raises(XfasError, match="no image files"):
        FolderDataset(tmp_path)
    everything_bad = tmp_path / "bad"
    _garbage(everything_bad / "live" / "x.jpg")
    with pytest.warns(UserWarning), pytest.raises(XfasError, match="none of its 1 items"):
        FolderDataset(everything_bad)[0]


# --- benchmark layout ----------------------------------------------------------------------

def _benchmark(root: Path, manifest: bool = True) -> None:
    _image(root / "images" / "x.png", RED, size=(40, 40))
    _image(root / "images" / "y.jpg", GREEN, size=(40, 40))
    mask = np.zeros((40, 40), np.uint8)
    mask[:20, :] = 255  # top half is evidence
    (root / "masks" / "photo_edge").mkdir(parents=True)
    Image.fromarray(mask).save(root / "masks" / "photo_edge" / "x.png")
    if manifest:
        (root / "manifest.json").write_text(json.dumps({"images": {
            "x": {"label": "spoof", "attack": "print", "evidence": ["photo_edge"],
                  "split": "test"},
            "y": {"label": "live", "attack": "live", "evidence": [], "split": "train"}}}))


def test_benchmark_items_masks_and_originals(tmp_path):
    _benchmark(tmp_path)
    data = BenchmarkDataset(tmp_path, image_size=20)
    assert data.names == ["x", "y"] and data.attacks == ["print", "live"]
    item = data[data.index_of("x")]
    assert item["name"] == "x" and item["label"] == 1
    assert set(item["masks"]) == {"clutching_hand", "cut_hole", "ipad_border", "photo_edge"}
    edge = item["masks"]["photo_edge"]
    assert edge.dtype == torch.bool and edge.shape == (20, 20)
    assert edge[:10].all() and not edge[10:].any()
    assert not item["masks"]["cut_hole"].any()
    full = data.load_masks("x")
    assert list(full) == ["photo_edge"] and full["photo_edge"].shape == (40, 40)
    assert int(full["photo_edge"].sum()) == 800
    assert data.original("y").shape == (40, 40, 3)
    batch = next(iter(DataLoader(data, batch_size=2)))
    assert batch["masks"]["photo_edge"].shape == (2, 20, 20)
    test = BenchmarkDataset(tmp_path, split="test")
    assert test.names == ["x"]
    with pytest.raises(XfasError, match="'y': no such image"):
        test.index_of("y")


def test_benchmark_without_manifest_labels_by_evidence(tmp_path):
    _benchmark(tmp_path, manifest=False)
    data = BenchmarkDataset(tmp_path)
    assert dict(zip(data.names, data.labels.tolist())) == {"x": 1, "y": 0}
    assert open_dataset(tmp_path).names == ["x", "y"]


def test_benchmark_mask_of_the_wrong_size_is_skipped_and_counted(tmp_path):
    _benchmark(tmp_path)
    bad = tmp_path / "masks" / "photo_edge" / "x.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(bad)
    data = BenchmarkDataset(tmp_path)
    with pytest.warns(UserWarning, match="mask is 10x10 but the image is 40x40"):
        assert data[0]["name"] == "y"
    assert data.summary()["unreadable_mask"]["files"] == [str(bad)]
    (tmp_path / "manifest.json").write_text('{"images": {"x": {"label": "fake"}}}')
    with pytest.raises(XfasError, match="manifest.json: entry 'x': label 'fake'"):
        BenchmarkDataset(tmp_path)


# --- CelebA-Spoof -----------------------------------------------------------------------------

def _labels(spoof_type: int, label: int) -> list[int]:
    values = [0] * 44
    values[40], values[41], values[42], values[43] = spoof_type, 2, 1, label
    return values


def _celeba(root: Path) -> None:
    """Two train images (a live JPEG, a phone-replay PNG with a red face square) and one
    test image without a _BB.txt."""
    live = root / "Data/train/4930/live/000001.jpg"
    _image(live, GREEN, size=(224, 224))
    (live.parent / "000001_BB.txt").write_text("50 60 40 30 0.99\n")
    spoof = root / "Data/train/4930/spoof/494405.png"
    rgb = np.zeros((336, 448, 3), np.uint8)
    rgb[:] = BLUE
    rgb[90:135, 100:180] = RED  # the face box below, scaled by 448/224 and 336/224
    spoof.parent.mkdir(parents=True)
    Image.fromarray(rgb).save(spoof)
    (spoof.parent / "494405_BB.txt").write_text("50 60 40 30 0.9970805\n")
    _image(root / "Data/test/9001/spoof/000777.jpg", BLUE, size=(100, 120))
    metas = root / "metas/intra_test"
    metas.mkdir(parents=True)
    (metas / "train_label.json").write_text(json.dumps({
        "Data/train/4930/live/000001.jpg": _labels(0, 0),
        "Data/train/4930/spoof/494405.png": _labels(9, 1)}))
    (metas / "test_label.json").write_text(json.dumps({
        "Data/test/9001/spoof/000777.jpg": _labels(3, 1)}))


def test_celeba_spoof_labels_attacks_and_box_crop(tmp_path):
    _celeba(tmp_path)
    data = CelebASpoof(tmp_path, split="train", image_size=None, crop_scale=1.0)
    assert data.labels.tolist() == [0, 1] and data.attacks == ["live", "phone"]
    item = data[1]
    # box (50, 60, 40, 30) in the 224 frame -> (100, 90, 80, 45) on 448x336; the Silent-Face
    # context crop at scale 1 keeps it, with its inclusive right/bottom edge: x1 = 100+80+1
    assert item["box"].tolist() == [100, 90, 181, 136]
    crop = (item["image"] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert crop.shape == (46, 81, 3)
    assert (crop[:-1, :-1] == RED).all()
    assert item["illumination"] == 2 and item["environment"] == 1
    wide = CelebASpoof(tmp_path, split="train", image_size=32)[1]
    # scale 1.5: 120 x 67.5 about the centre (140, 112.5) -> (80, 78.75)..(200, 146.25)
    assert wide["box"].tolist() == [80, 78, 201, 147]
    assert wide["image"].shape == (3, 32, 32)
    assert open_dataset(tmp_path, split="train").attacks == ["live", "phone"]


def test_celeba_spoof_missing_box_falls_back_to_the_whole_image(tmp_path):
    _celeba(tmp_path)
    data = CelebASpoof(tmp_path, split="test", image_size=8)
    with pytest.warns(UserWarning, match="000777_BB.txt"):
        item = data[0]
    assert item["attack"] == "a4" and item["box"].tolist() == [0, 0, 100, 120]
    assert data.summary()["missing_bbox"]["count"] == 1
    (tmp_path / "Data/train/4930/spoof/494405_BB.txt").write_text("fifty 60 40 30\n")
    train = CelebASpoof(tmp_path, split="train", image_size=8)
    with pytest.warns(UserWarning, match="494405_BB.txt"):
        assert train[1]["box"].tolist() == [0, 0, 448, 336]
    assert list(train.summary()) == ["malformed_bbox"]


def test_celeba_spoof_bad_label_files_and_folders_are_named(tmp_path):
    _celeba(tmp_path)
    labels = tmp_path / "metas/intra_test/train_label.json"
    labels.write_text('{"Data/train/4930/live/000001.jpg": [0, 0,')
    with pytest.raises(XfasError, match="train_label.json: malformed JSON"):
        CelebASpoof(tmp_path, split="train")
    labels.write_text(json.dumps({"Data/train/4930/live/000001.jpg": [0] * 43}))
    with pytest.raises(XfasError, match="entry 'Data/train/4930/live/000001.jpg' is not a "
                                        "list of 44"):
        CelebASpoof(tmp_path, split="train")
    (tmp_path / "metas/intra_test/test_label.json").unlink()
    with pytest.raises(XfasError, match="test_label.json: file not found"):
        CelebASpoof(tmp_path, split="test")
    with pytest.raises(XfasError, match="Data: folder not found"):
        CelebASpoof(tmp_path / "Data/train", split="test")


def test_celeba_spoof_balanced_subset_and_split(tmp_path):
    (tmp_path / "Data").mkdir()
    metas = tmp_path / "metas/intra_test"
    metas.mkdir(parents=True)
    train = {f"Data/train/1/live/{i:06d}.jpg": _labels(0, 0) for i in range(12)}
    train.update({f"Data/train/1/spoof/{i:06d}.jpg": _labels(1 + i % 10, 1) for i in range(30)})
    test = {f"Data/test/2/live/{i:06d}.jpg": _labels(0, 0) for i in range(8)}
    (metas / "train_label.json").write_text(json.dumps(train))
    (metas / "test_label.json").write_text(json.dumps(test))
    parts = {s: CelebASpoof(tmp_path, split=s, balanced=20, fractions=(0.5, 0.3, 0.2), seed=7)
             for s in ("train", "val", "test")}
    for name, size in (("train", 10), ("val", 6), ("test", 4)):
        assert parts[name].labels.tolist().count(0) == size
        assert parts[name].labels.tolist().count(1) == size
    paths = [str(s.path) for d in parts.values() for s in d._samples]
    assert len(set(paths)) == 40
    assert sum("Data/test" in p for p in paths) == 8  # 20 live need all 12 + 8 from test
    again = CelebASpoof(tmp_path, split="val", balanced=20, fractions=(0.5, 0.3, 0.2), seed=7)
    assert again._samples == parts["val"]._samples
    with pytest.raises(XfasError, match="class 0 has 20 items"):
        CelebASpoof(tmp_path, balanced=21)
    with pytest.raises(XfasError, match="split 'val'"):
        CelebASpoof(tmp_path, split="val")


# --- CASIA-FASD -------------------------------------------------------------------------------

def _colour(frame: int) -> tuple[int, int, int]:
    return 20 + 30 * frame, 200 - 20 * frame, 100  # RGB


def _video(path: Path, frames: list[np.ndarray]) -> Path:
    """An MJPG .avi of RGB frames, written by OpenCV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (width, height))
    assert writer.isOpened()
    for rgb in frames:
        writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))
    writer.release()
    return path


def _flat_video(path: Path, count: int = 7) -> Path:
    frames = [np.full((48, 64, 3), _colour(i), np.uint8) for i in range(count)]
    return _video(path, frames)


def test_casia_fasd_frames_attacks_and_centre_crop_fallback(tmp_path, monkeypatch):
    monkeypatch.delenv("XFAS_ASSETS", raising=False)  # default detector: OpenCV's Haar cascade
    for name in ("1", "HR_2", "5", "HR_4"):
        _flat_video(tmp_path / "train_release/1" / f"{name}.avi")
    _flat_video(tmp_path / "train_release/2/7.avi")
    data = CasiaFASD(tmp_path, split="train", frame_step=3, image_size=16, progress=False)
    assert len(data) == 15  # 5 videos x frames 0, 3, 6
    assert data.attacks[::3] == ["live", "cut", "print", "replay", "replay"]
    assert data.labels[::3].tolist() == [0, 1, 1, 1, 1]
    with pytest.warns(UserWarning, match="no face detected"):
        for index in (8, 0, 4, 14, 3):  # out of order: seeks back and forth
            item = data[index]
            assert item["frame"] == 3 * (index % 3)
            # MJPG compression moves the colours by a few levels
            assert_close(_mean_rgb(item), _colour(item["frame"]), rtol=0, atol=6)
            assert item["box"].tolist() == [8, 0, 56, 48]  # the central 48x48 square
    assert data[14]["subject"] == "2" and data[14]["path"].endswith("2/7.avi")
    assert data.summary()["no_face"]["count"] == 5
    whole = CasiaFASD(tmp_path, frame_step=3, crop_scale=None, image_size=None, progress=False)
    assert whole[0]["image"].shape == (3, 48, 64)
    with pytest.raises(XfasError, match="test_release: folder not found"):
        CasiaFASD(tmp_path, split="test", progress=False)


def test_casia_fasd_frame_counts_are_verified_and_bad_videos_counted(tmp_path):
    good = _flat_video(tmp_path / "test_release/3/1.avi")
    assert count_frames(good) == 7
    cut = tmp_path / "test_release/3/3.avi"
    cut.write_bytes(good.read_bytes()[:-200])  # the index is lost: the header still says 7
    assert int(cv2.VideoCapture(str(cut)).get(cv2.CAP_PROP_FRAME_COUNT)) == 7
    assert count_frames(cut) == 6
    _garbage(tmp_path / "test_release/3/8.avi")
    with pytest.warns(UserWarning, match="8.avi"):
        data = CasiaFASD(tmp_path, split="test", frame_step=5, crop_scale=None, progress=False)
    assert [(a, f) for a, f in zip(data.attacks, (s.frame for s in data._samples))] == [
        ("live", 0), ("live", 5), ("print", 0), ("print", 5)]
    assert data.summary()["unreadable_video"]["count"] == 1
    loader = DataLoader(data, batch_size=2, num_workers=1)
    frames = torch.cat([batch["frame"] for batch in loader]).tolist()
    assert frames == [0, 5, 0, 5]


def test_casia_fasd_crops_the_detected_face(tmp_path):
    from xfas.data.face import FaceDetector
    from xfas.data.image_io import load_image
    frame = load_image(asset("images/image_T1.jpg"))  # upright 480x640
    _video(tmp_path / "train_release/4/HR_1.avi", [frame] * 3)
    # the README's RetinaFace box on this image is (106, 147, 207, 213): centre (209.5, 253.5)
    detectors = [FaceDetector()]
    if (ASSETS / "detector/Widerface-RetinaFace.caffemodel").is_file():
        detectors.append(FaceDetector.from_assets(assets=ASSETS))
    for detector in detectors:
        data = CasiaFASD(tmp_path, frame_step=2, detector=detector, progress=False)
        for item in (data[0], data[1]):
            x0, y0, x1, y1 = item["box"].tolist()
            assert abs((x0 + x1) / 2 - 209.5) < 20 and abs((y0 + y1) / 2 - 253.5) < 20
            assert 250 < x1 - x0 < 400  # about 1.5 face widths (the face is ~207 px wide)
        assert data.summary() == {}, detector.backend


# --- layouts ----------------------------------------------------------------------------------

def test_open_dataset_recognises_each_layout(tmp_path):
    _image(tmp_path / "folder/live/a.png", RED)
    _benchmark(tmp_path / "bench")
    _celeba(tmp_path / "celeba")
    _flat_video(tmp_path / "casia/test_release/1/2.avi", count=2)
    assert [detect_layout(tmp_path / n) for n in ("folder", "bench", "celeba", "casia")] == [
        "folder", "benchmark", "celeba-spoof", "casia-fasd"]
    assert isinstance(open_dataset(tmp_path / "folder"), FolderDataset)
    assert isinstance(open_dataset(tmp_path / "bench"), BenchmarkDataset)
    assert isinstance(open_dataset(tmp_path / "celeba"), CelebASpoof)
    casia = open_dataset(tmp_path / "casia", split="test", crop_scale=None, progress=False)
    assert isinstance(casia, CasiaFASD) and len(casia) == 1
    (tmp_path / "other").mkdir()
    with pytest.raises(XfasError, match="other: not a dataset layout.*benchmark.*celeba-spoof"
                                        ".*casia-fasd.*folder"):
        open_dataset(tmp_path / "other")
