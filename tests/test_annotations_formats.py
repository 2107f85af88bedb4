"""Import from and export to COCO, LabelMe and CVAT: files written here in each tool's real
format (validated against the format's documented schema) import to masks worked out by
hand; xfas -> format -> xfas round trips give identical masks, and xfas's exports validate
and read back in the reference tools' own terms (pycocotools for COCO, LabelMe's mask
placement); bad input is one error naming the file and the entry, and an import that fails
leaves --out as it was."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from xfas.annotations import export_annotations, import_annotations, mask_to_polygons, rasterize
from xfas.data.benchmark_layout import BenchmarkLayout, read_mask
from xfas.errors import XfasError

from helpers import annotation_files as files
from helpers.annotation_files import SIZE, block
from helpers.folders import folder_bytes

# pycocotools' compiled decode warns under NumPy 2 when the tests call it directly
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

MAP = {"coco": {"hand": "clutching_hand", "paper_edge": "photo_edge", "face": "ignore"},
       "labelme": {"hand": "clutching_hand"},
       "cvat": {"hand": "clutching_hand", "bezel": "ipad_border", "hole": "cut_hole"}}


def masks_of(root: Path) -> dict[str, dict[str, np.ndarray]]:
    """{image name: {evidence: mask}} of every mask file of a data set."""
    layout = BenchmarkLayout(root)
    found: dict[str, dict[str, np.ndarray]] = {name: {} for name in layout.image_files()}
    for evidence in layout.evidence_types():
        for name in found:
            if layout.mask_path(evidence, name).is_file():
                found[name][evidence] = read_mask(layout.mask_path(evidence, name))
    return found


def assert_same_masks(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert sorted(actual[name]) == sorted(expected[name]), name
        for evidence, mask in expected[name].items():
            assert np.array_equal(actual[name][evidence], mask), (name, evidence)


@pytest.fixture()
def photos(tmp_path) -> Path:
    files.write_images(tmp_path / "photos")
    return tmp_path / "photos"


# --- files in each tool's format ------------------------------------------------------------

def test_a_coco_file_imports_to_the_masks_it_describes(tmp_path, photos) -> None:
    expected = files.write_coco(tmp_path / "instances.json")
    files.check_coco(tmp_path / "instances.json")
    summary = import_annotations(tmp_path / "instances.json", format="coco", images=photos,
                                 out=tmp_path / "bench", mapping=MAP["coco"])
    assert_same_masks(masks_of(tmp_path / "bench"), expected)
    assert summary.images == 3 and summary.with_evidence == 2 and summary.ignored == ("face",)
    manifest = json.loads((tmp_path / "bench/manifest.json").read_text())["images"]
    assert manifest == {
        "a": {"label": "spoof", "attack": "spoof", "evidence": ["clutching_hand", "photo_edge"]},
        "b": {"label": "spoof", "attack": "spoof", "evidence": ["cut_hole"]},
        "c": {"label": "live", "attack": "live", "evidence": []}}
    # images are copied byte for byte, the JPEG is not re-encoded
    assert (tmp_path / "bench/images/b.jpg").read_bytes() == (photos / "b.jpg").read_bytes()


def test_the_coco_reference_implementation_agrees_on_the_test_file(tmp_path, photos) -> None:
    files.write_coco(tmp_path / "instances.json")
    import_annotations(tmp_path / "instances.json", format="coco", images=photos,
                       out=tmp_path / "bench", mapping=MAP["coco"])
    coco = COCO(str(tmp_path / "instances.json"))
    names = {7: "a", 8: "b"}
    evidence = {1: "clutching_hand", 2: "photo_edge", 4: "cut_hole"}
    reference: dict = {}
    for annotation in coco.dataset["annotations"]:
        if annotation["category_id"] in evidence:
            key = (names[annotation["image_id"]], evidence[annotation["category_id"]])
            reference[key] = reference.get(key, 0) | coco.annToMask(annotation)
    ours = masks_of(tmp_path / "bench")
    for (name, kind), mask in reference.items():
        assert np.array_equal(ours[name][kind], mask.astype(bool)), (name, kind)


def test_labelme_files_import_to_the_masks_they_describe(tmp_path, photos) -> None:
    expected = files.write_labelme(tmp_path / "labelme")
    for path in sorted((tmp_path / "labelme").glob("*.json")):
        files.check_labelme(path)
    import_annotations(tmp_path / "labelme", format="labelme", images=photos,
                       out=tmp_path / "bench", mapping=MAP["labelme"])
    assert_same_masks(masks_of(tmp_path / "bench"), expected)


def test_a_cvat_file_imports_to_the_masks_it_describes(tmp_path, photos) -> None:
    expected = files.write_cvat(tmp_path / "annotations.xml")
    files.check_cvat(tmp_path / "annotations.xml")
    import_annotations(tmp_path / "annotations.xml", format="cvat", images=photos,
                       out=tmp_path / "bench", mapping=MAP["cvat"])
    assert_same_masks(masks_of(tmp_path / "bench"), expected)


# --- round trips --------------------------------------------------------------------------------

def layout_with_masks(root: Path) -> dict[str, dict[str, np.ndarray]]:
    """A data set whose masks need every way out: plain polygons, an L shape and two parts,
    a hole (RLE / mask), two parts touching at a corner (outline through one corner twice),
    an irregular blob and a one-pixel mask."""
    layout = BenchmarkLayout(root)
    layout.images_dir.mkdir(parents=True)
    rng = np.random.default_rng(3)
    blob = np.zeros(SIZE, dtype=bool)
    yy, xx = np.mgrid[:SIZE[0], :SIZE[1]]
    blob[(yy - 15) ** 2 / 60 + (xx - 20) ** 2 / 150 + rng.random(SIZE) * 0.6 < 1] = True
    corner = block((3, 6), (3, 6)) | block((6, 9), (6, 9))
    masks = {
        "p0": {"photo_edge": files.L_SHAPE | block((20, 25), (30, 38)),
               "clutching_hand": block((12, 18), (12, 30))},
        "p1": {"cut_hole": files.HOLE_B, "ipad_border": corner},
        "p2": {"photo_edge": blob, "cut_hole": block((0, 1), (39, 40))},
        "p3": {}}
    for name, kinds in masks.items():
        Image.fromarray(rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8)).save(
            layout.images_dir / f"{name}.png")
        for evidence, mask in kinds.items():
            layout.write_mask(evidence, name, mask)
    return masks


@pytest.mark.parametrize("format_name", ["coco", "labelme", "cvat"])
def test_round_trips_give_identical_masks(tmp_path, format_name: str) -> None:
    masks = layout_with_masks(tmp_path / "data")
    target = tmp_path / {"coco": "out.json", "labelme": "labelme", "cvat": "out.xml"}[format_name]
    written = export_annotations(tmp_path / "data", format=format_name, out=target)
    if format_name == "coco":
        files.check_coco(written)
    elif format_name == "cvat":
        files.check_cvat(written)
    else:
        assert sorted(p.name for p in written.glob("*.json")) == [f"p{i}.json" for i in range(4)]
        for path in written.glob("*.json"):
            files.check_labelme(path)
    import_annotations(written, format=format_name, images=tmp_path / "data/images",
                       out=tmp_path / "back")
    assert_same_masks(masks_of(tmp_path / "back"), masks)
    # and once more: the second export is the first, byte for byte
    again = export_annotations(tmp_path / "back", format=format_name, out=tmp_path / "again")
    first = {p.name: p.read_bytes() for p in ([written] if written.is_file()
                                                else sorted(written.iterdir()))}
    second = {p.name: p.read_bytes() for p in ([again] if again.is_file()
                                                 else sorted(again.iterdir()))}
    if format_name != "labelme":  # LabelMe files point at their images by relative path
        assert list(first.values()) == list(second.values())


def test_the_coco_export_reads_back_in_pycocotools(tmp_path) -> None:
    masks = layout_with_masks(tmp_path / "data")
    export_annotations(tmp_path / "data", format="coco", out=tmp_path / "out.json")
    coco = COCO(str(tmp_path / "out.json"))
    names = {image["id"]: Path(image["file_name"]).stem for image in coco.dataset["images"]}
    kinds = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    seen = set()
    for annotation in coco.dataset["annotations"]:
        name, kind = names[annotation["image_id"]], kinds[annotation["category_id"]]
        assert np.array_equal(coco.annToMask(annotation).astype(bool), masks[name][kind])
        assert annotation["area"] == masks[name][kind].sum()
        seen.add((name, kind))
    assert seen == {(n, k) for n, kinds_ in masks.items() for k in kinds_}
    # the hole cannot be polygons: it is RLE; the L shape is polygons
    by_key = {(names[a["image_id"]], kinds[a["category_id"]]): a
              for a in coco.dataset["annotations"]}
    assert isinstance(by_key[("p1", "cut_hole")]["segmentation"], dict)
    assert isinstance(by_key[("p0", "photo_edge")]["segmentation"], list)


def test_the_labelme_export_places_masks_as_labelme_does(tmp_path) -> None:
    masks = layout_with_masks(tmp_path / "data")
    export_annotations(tmp_path / "data", format="labelme", out=tmp_path / "labelme")
    data = json.loads((tmp_path / "labelme/p1.json").read_text())
    assert (tmp_path / "labelme" / data["imagePath"]).resolve() == \
        (tmp_path / "data/images/p1.png").resolve()
    shape = next(s for s in data["shapes"] if s["label"] == "cut_hole")
    assert shape["shape_type"] == "mask"
    # LabelMe: mask[y1:y2 + 1, x1:x2 + 1] = the decoded PNG, points = [[x1, y1], [x2, y2]]
    (x1, y1), (x2, y2) = np.asarray(shape["points"]).astype(int)
    crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(shape["mask"])))).astype(bool)
    placed = np.zeros(SIZE, dtype=bool)
    placed[y1:y2 + 1, x1:x2 + 1] = crop
    assert np.array_equal(placed, masks["p1"]["cut_hole"])


def test_traced_polygons_follow_pixel_edges() -> None:
    mask = files.L_SHAPE
    polygons = mask_to_polygons(mask)
    assert len(polygons) == 1
    assert sorted(map(tuple, polygons[0].astype(int).tolist())) == sorted(
        [(2, 2), (12, 2), (12, 6), (6, 6), (6, 10), (2, 10)])
    assert mask_to_polygons(files.HOLE_B) is None
    assert np.array_equal(rasterize([np.array([[4, 4], [14, 4], [14, 12], [4, 12]])], SIZE),
                          files.HAND_A)


# --- bad input ------------------------------------------------------------------------------------

def coco_with(tmp_path: Path, **changes) -> Path:
    """The test COCO file with one annotation's fields changed (annotation id 1)."""
    files.write_coco(tmp_path / "instances.json")
    data = json.loads((tmp_path / "instances.json").read_text())
    for key, value in changes.items():
        if key == "file_name":
            data["images"][0]["file_name"] = value
        else:
            data["annotations"][0][key] = value
    (tmp_path / "instances.json").write_text(json.dumps(data))
    return tmp_path / "instances.json"


@pytest.mark.parametrize(("changes", "mapping", "message"), [
    ({}, {}, "unknown categories 'face', 'hand', 'paper_edge'; map each to an evidence type "
             "(clutching_hand, cut_hole, ipad_border, photo_edge)"),
    ({"segmentation": [[4, 4, 100, 4, 14, 12]]}, MAP["coco"],
     "annotation id 1 (image 'a.png', category 'hand'): polygon point (100, 4) lies outside "
     "the 40x30 image"),
    ({"segmentation": [[0, 0, 10, 10, 10, 0, 0, 10]]}, MAP["coco"],
     "annotation id 1 (image 'a.png', category 'hand'): self-intersecting polygon"),
    ({"segmentation": [[1, 1, 5, 5, 9, 9]]}, MAP["coco"],
     "annotation id 1 (image 'a.png', category 'hand'): empty polygon"),
    ({"segmentation": [[4, 4, 14, 4]]}, MAP["coco"],
     "annotation id 1 (image 'a.png', category 'hand'): empty polygon"),
    ({"segmentation": []}, MAP["coco"], "annotation id 1 (image 'a.png', category 'hand'): "
                                        "empty segmentation"),
    ({"segmentation": {"size": [30, 40], "counts": [5, 3]}}, MAP["coco"],
     "annotation id 1 (image 'a.png', category 'hand'): malformed RLE"),
    ({"category_id": 99}, MAP["coco"], "annotation id 1: category_id 99 is not in"),
    ({"file_name": "missing.png"}, MAP["coco"], "1 image(s) that"),
])
def test_bad_coco_input_is_one_error_naming_the_entry(tmp_path, photos, changes, mapping,
                                                      message) -> None:
    source = coco_with(tmp_path, **changes)
    with pytest.raises(XfasError) as caught:
        import_annotations(source, format="coco", images=photos, out=tmp_path / "bench",
                           mapping=mapping)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert str(source) in text or "--images" in text
    assert not (tmp_path / "bench").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_labelme_and_cvat_shapes_name_their_entry(tmp_path, photos) -> None:
    files.write_labelme(tmp_path / "labelme")
    data = json.loads((tmp_path / "labelme/a.json").read_text())
    data["shapes"].append(files.labelme_shape("hand", "line", [[1, 1], [5, 5]]))
    (tmp_path / "labelme/a.json").write_text(json.dumps(data))
    with pytest.raises(XfasError, match=r"a\.json: shapes\[3\] \('hand'\): a 'line' shape is "
                                        r"not a region"):
        import_annotations(tmp_path / "labelme", format="labelme", images=photos,
                           out=tmp_path / "bench", mapping=MAP["labelme"])
    files.write_cvat(tmp_path / "bad.xml")
    text = (tmp_path / "bad.xml").read_text().replace('rle="1, 2, 1, 4, 1, 2, 1"',
                                                       'rle="1, 2, 1, 4, 1, 2, 9"')
    (tmp_path / "bad.xml").write_text(text)
    with pytest.raises(XfasError, match=r"bad\.xml: image 'b\.jpg', <mask> 1 \('hole'\): the "
                                        r"rle runs add up to 20 pixels, but the box is 4x3"):
        import_annotations(tmp_path / "bad.xml", format="cvat", images=photos,
                           out=tmp_path / "bench", mapping=MAP["cvat"])
    (tmp_path / "broken.xml").write_text("<annotations><image name='a.png'")
    with pytest.raises(XfasError, match=r"broken\.xml: not readable XML"):
        import_annotations(tmp_path / "broken.xml", format="cvat", images=photos,
                           out=tmp_path / "bench", mapping=MAP["cvat"])
    assert not (tmp_path / "bench").exists()


def test_a_failing_import_leaves_out_as_it_was(tmp_path, photos) -> None:
    out = tmp_path / "bench"
    files.write_coco(tmp_path / "instances.json")
    import_annotations(tmp_path / "instances.json", format="coco", images=photos, out=out,
                       mapping=MAP["coco"])
    (out / "notes.txt").write_text("mine")
    before = folder_bytes(out)
    # the last image's annotation is broken: the first two were already written when it fails
    data = json.loads((tmp_path / "instances.json").read_text())
    data["annotations"].append({"id": 6, "image_id": 9, "category_id": 1, "iscrowd": 0,
                                "area": 1.0, "bbox": [0, 0, 1, 1],
                                "segmentation": [[0, 0, 9, 9, 9, 0, 0, 9]]})
    (tmp_path / "instances.json").write_text(json.dumps(data))
    with pytest.raises(XfasError, match="annotation id 6 .*self-intersecting"):
        import_annotations(tmp_path / "instances.json", format="coco", images=photos, out=out,
                           mapping=MAP["coco"], overwrite=True)
    assert folder_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench", "instances.json", "photos"]
    # without --overwrite a non-empty folder is refused before anything is read
    with pytest.raises(XfasError, match="folder exists and is not empty; pass --overwrite"):
        import_annotations(tmp_path / "instances.json", format="coco", images=photos, out=out,
                           mapping=MAP["coco"])


def test_overwrite_replaces_the_data_set_and_keeps_other_files(tmp_path, photos) -> None:
    out = tmp_path / "bench"
    files.write_cvat(tmp_path / "annotations.xml")
    import_annotations(tmp_path / "annotations.xml", format="cvat", images=photos, out=out,
                       mapping=MAP["cvat"])
    (out / "notes.txt").write_text("mine")
    expected = files.write_coco(tmp_path / "instances.json")
    import_annotations(tmp_path / "instances.json", format="coco", images=photos, out=out,
                       mapping=MAP["coco"], overwrite=True)
    assert_same_masks(masks_of(out), expected)
    assert (out / "notes.txt").read_text() == "mine"
