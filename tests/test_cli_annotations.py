"""``xfas annotations import|export|agree|check`` from the command line: the README's path
from a COCO file to the benchmark layout, export and agreement, the exit status of check, and
bad input as one line on stderr with exit status 2, never a traceback."""

from __future__ import annotations

import json

import numpy as np

from xfas.cli import main
from xfas.data.benchmark_layout import BenchmarkLayout, read_mask

from helpers import annotation_files as files

MAP = "hand=clutching_hand,paper_edge=photo_edge,face=ignore"


def test_import_export_agree_and_check(tmp_path, capsys) -> None:
    files.write_images(tmp_path / "photos")
    expected = files.write_coco(tmp_path / "instances.json")
    bench = tmp_path / "bench"
    assert main(["annotations", "import", str(tmp_path / "instances.json"), "--from", "coco",
                 "--images", str(tmp_path / "photos"), "--out", str(bench), "--map", MAP]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"imported 3 images into {bench} (2 with evidence; masks: clutching_hand 1, "
                   "cut_hole 1, photo_edge 1)", "left out (--map ...=ignore): face"]
    layout = BenchmarkLayout(bench)
    assert np.array_equal(read_mask(layout.mask_path("clutching_hand", "a")),
                          expected["a"]["clutching_hand"])

    assert main(["annotations", "export", str(bench), "--to", "cvat",
                 "--out", str(tmp_path / "out.xml")]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'out.xml'}"
    files.check_cvat(tmp_path / "out.xml")

    assert main(["annotations", "agree", str(bench), str(bench),
                 "--out", str(tmp_path / "agree.json")]) == 0
    table = capsys.readouterr().out
    assert "| clutching_hand | 1 | 1.000 | 1.000 |" in table
    assert json.loads((tmp_path / "agree.json").read_text())["types"]["cut_hole"]["iou"] == 1.0

    assert main(["annotations", "check", str(bench)]) == 0
    assert capsys.readouterr().out.strip() == f"{bench}: no problem found"
    layout.write_mask("photo_edge", "c", np.zeros(files.SIZE, bool))
    assert main(["annotations", "check", str(bench)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{layout.mask_path('photo_edge', 'c')}: no evidence pixel (all zero) (empty_mask)"]
    assert captured.err.strip() == f"1 problem(s) in {bench}"


def test_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys) -> None:
    files.write_images(tmp_path / "photos")
    files.write_coco(tmp_path / "instances.json")
    base = ["annotations", "import", str(tmp_path / "instances.json"), "--images",
            str(tmp_path / "photos"), "--out", str(tmp_path / "bench")]
    cases = [
        (["--from", "coco"], f"error: {tmp_path / 'instances.json'}: unknown categories "
                             "'face', 'hand', 'paper_edge'"),
        (["--from", "yolo"], "error: --from 'yolo': expected coco, labelme or cvat"),
        (["--from", "coco", "--map", "hand"], "error: --map 'hand': expected category=evidence"),
        (["--from", "coco", "--map", "hand=glove"], "error: --map hand=glove: 'glove' is not an "
                                                    "evidence type"),
        (["--from", "cvat"], f"error: {tmp_path / 'instances.json'}: not readable XML"),
        (["--from", "labelme"], f"error: {tmp_path / 'instances.json'}: not a LabelMe file"),
    ]
    for extra, start in cases:
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert err.startswith(start) and "\n" not in err and "Traceback" not in err, err
    assert not (tmp_path / "bench").exists()
    assert main(["annotations", "check", str(tmp_path / "photos")]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {tmp_path / 'photos'}: not in the "
                                               "benchmark layout (no images/ folder)")
