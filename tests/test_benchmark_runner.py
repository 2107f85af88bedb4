"""The benchmark runner: the results.json contract, tables equal to the stored per-image rows,
an oracle explainer scored against hand-computed IoU (the data and the oracle are described in
helpers.benchmark), resume after an interruption or a kill, problems in the data counted, and
the same results in process, in a process pool and on a local Dask cluster."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xfas.benchmark import (BenchmarkConfig, RunStore, render_report, resolve_methods,
                            run_benchmark)
from xfas.benchmark.metrics import iou, niou
from xfas.benchmark.runner import assign_by_name, assign_concepts, names_from_assignment
from xfas.benchmark.scan import carve, scan_benchmark
from xfas.benchmark.tables import averaged_types
from xfas.data.synth import generate_synthspoof
from xfas.errors import XfasError
from xfas.explain import available_explainers, create_explainer
from xfas.models import load_model
from xfas.sped import SPED

from helpers.assets import ASSETS, asset
from helpers.benchmark import K_SELECTED, SIZE, db_rows, make_benchmark, make_checkpoint
from helpers.tolerance import assert_close

# Scores rest on the top 30 % of each map (K_SELECTED pixels): on another CPU a map's last
# bits can order a near tie at the cut-off the other way, which moves an IoU by about one
# pixel in K_SELECTED. Runs that compute maps separately agree within a few such pixels.
SCORE_ATOL = 3 / K_SELECTED


@pytest.fixture(scope="module")
def bench(tmp_path_factory, oracle):
    """A benchmark folder, a checkpoint, and a finished reference run."""
    root = tmp_path_factory.mktemp("bench")
    masks = make_benchmark(root / "data")
    model = make_checkpoint(root / "model.safetensors")
    config = BenchmarkConfig(data=str(root / "data"), model=str(model),
                             methods=f"gradcam,randomcam,{oracle}", steps=2, unit_size=3)
    run = run_benchmark(config, root / "run", progress=False)
    return {"root": root, "masks": masks, "config": config, "run": run, "out": root / "run"}


def test_results_json_contract(bench) -> None:
    results = json.loads((bench["out"] / "results.json").read_text())
    assert set(results["table"]) == {"gradcam", "randomcam", "oracle"}
    for method, cells in results["table"].items():
        assert set(cells) == {"photo_edge", "clutching_hand"}
        for cell in cells.values():
            assert isinstance(cell["iou"], float) and isinstance(cell["niou"], float)
            assert isinstance(cell["n"], int)
            assert cell["iou_ci"][0] <= cell["iou"] <= cell["iou_ci"][1]
    # test split only: t0..t5 (six photo_edge, three clutching_hand); val and live not scored
    assert results["table"]["gradcam"]["photo_edge"]["n"] == 6
    assert results["table"]["gradcam"]["clutching_hand"]["n"] == 3
    for key in ("faithfulness", "pointing_game", "mean", "problems", "config"):
        assert key in results
    assert set(results["faithfulness"]["gradcam"]) == {"deletion_auc", "insertion_auc", "n"}
    assert results["faithfulness"]["gradcam"]["n"] == 6
    images = {row[0] for row in db_rows(bench["out"])}
    assert images == {f"t{i}" for i in range(6)}
    for name in ("table.md", "table.csv", "scores.csv"):
        assert (bench["out"] / name).stat().st_size > 0


def test_table_is_the_mean_of_stored_rows(bench) -> None:
    results = json.loads((bench["out"] / "results.json").read_text())
    with sqlite3.connect(bench["out"] / "results.sqlite") as db:
        sql = db.execute("SELECT method, evidence, metric, AVG(value), COUNT(value) FROM scores "
                         "GROUP BY method, evidence, metric").fetchall()
    checked = 0
    for method, evidence, metric, mean, count in sql:
        if metric in ("iou", "niou"):
            assert_close(results["table"][method][evidence][metric], mean)
            assert results["table"][method][evidence]["n"] == count
        elif metric == "pointing_game":
            assert_close(results["pointing_game"][method][evidence]["rate"], mean)
        else:
            assert evidence == "*"
            assert_close(results["faithfulness"][method][metric], mean)
        checked += 1
    assert checked == 3 * (2 * 3 + 2)  # methods x (evidence x metrics + 2 AUCs)
    for method in results["methods"]:  # mean column: mean over evidence types
        expected = np.mean([results["table"][method][e]["niou"]
                            for e in ("photo_edge", "clutching_hand")])
        assert_close(results["mean"][method]["niou"], expected)


def test_oracle_map_equal_to_mask_scores_niou_one(bench) -> None:
    rows = db_rows(bench["out"])
    for name, masks in bench["masks"].items():
        if not name.startswith("t"):
            continue
        y = int(masks["photo_edge"].sum())
        assert_close(rows[(name, "oracle", "photo_edge", "niou")], 1.0)
        assert_close(rows[(name, "oracle", "photo_edge", "iou")],
                     min(K_SELECTED, y) / max(K_SELECTED, y))
        assert rows[(name, "oracle", "photo_edge", "pointing_game")] == 1.0
    results = bench["run"].results
    assert_close(results["table"]["oracle"]["photo_edge"]["niou"], 1.0)
    assert_close(results["table"]["oracle"]["photo_edge"]["niou_ci"], [1.0, 1.0])
    # the oracle does not mark the green hand: below perfect there
    assert results["table"]["oracle"]["clutching_hand"]["niou"] < 0.5


def test_finished_run_recomputes_nothing(bench) -> None:
    again = run_benchmark(bench["config"], bench["out"], progress=False)
    assert again.units_computed == 0 and again.units_skipped == bench["run"].units_total == 4
    # the table is made again from the rows read back from the store: the same bits
    assert again.results["table"] == bench["run"].results["table"]
    with pytest.raises(XfasError, match="another configuration"):
        run_benchmark(BenchmarkConfig(**{**bench["config"].__dict__, "seed": 1}), bench["out"],
                      progress=False)


def test_interrupted_run_resumes_to_the_same_database(bench, tmp_path) -> None:
    out = tmp_path / "run"

    def stop_after_two(count: int) -> None:
        if count == 2:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        run_benchmark(bench["config"], out, progress=False, on_unit=stop_after_two)
    assert len(db_rows(out)) > 0
    resumed = run_benchmark(bench["config"], out, resume=True, progress=False)
    assert resumed.units_computed == 2 and resumed.units_skipped == 2
    assert_close(db_rows(out), db_rows(bench["out"]), rtol=0, atol=SCORE_ATOL)
    assert_close(resumed.results["table"], bench["run"].results["table"], rtol=0,
                 atol=SCORE_ATOL)


def test_resume_needs_a_run(bench, tmp_path) -> None:
    with pytest.raises(XfasError, match="no run to resume"):
        run_benchmark(bench["config"], tmp_path / "nothing", resume=True, progress=False)


@pytest.mark.slow
def test_killed_process_resumes_to_the_same_database(bench, tmp_path) -> None:
    """A real SIGKILL in the middle of a run (after two stored units) loses nothing stored."""
    out = tmp_path / "run"
    config = bench["config"]
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from helpers.benchmark import RedOracle
        from xfas.explain import register
        from xfas.benchmark import BenchmarkConfig, run_benchmark
        register("oracle", RedOracle, overwrite=True)
        def kill(count):
            if count == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        config = BenchmarkConfig(data={config.data!r}, model={config.model!r},
                                 methods={config.methods!r}, steps=2, unit_size=3)
        run_benchmark(config, {str(out)!r}, progress=False, on_unit=kill)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == -9, done.stderr
    resumed = run_benchmark(config, out, resume=True, progress=False)
    assert resumed.units_computed == 2
    assert_close(db_rows(out), db_rows(bench["out"]), rtol=0, atol=SCORE_ATOL)


def _write_mask(root: Path, evidence: str, name: str, mask: np.ndarray) -> Path:
    path = root / "masks" / evidence / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask.astype(np.uint8) * 255).save(path)
    return path


def test_problems_are_counted_not_fatal(bench, tmp_path, oracle) -> None:
    root = tmp_path / "data"
    make_benchmark(root, n_test=4, n_val=0)
    wrong = _write_mask(root, "photo_edge", "t0", np.ones((32, 48), bool))  # wrong size
    (root / "images" / "t2.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    empty = _write_mask(root, "cut_hole", "t3", np.zeros((SIZE, SIZE), bool))
    garbled = root / "masks" / "ipad_border" / "t3.png"
    garbled.parent.mkdir(parents=True)
    garbled.write_bytes(b"garbage, not an image")
    config = BenchmarkConfig(data=str(root), model=bench["config"].model, methods=oracle,
                             faithfulness=False)
    with pytest.warns(UserWarning) as caught:
        run = run_benchmark(config, tmp_path / "run", progress=False)
    messages = " ".join(str(w.message) for w in caught)
    for path in (wrong, empty, garbled, root / "images" / "t2.png"):
        assert str(path) in messages
    assert run.results["problems"] == {"empty_mask": 1, "mask_size": 1, "unreadable_image": 1,
                                       "unreadable_mask": 1}
    rows = db_rows(tmp_path / "run")
    scored = {(image, evidence) for image, _, evidence, _ in rows}
    # t0 keeps its readable hand mask, t3 its photo_edge; t2 is left out; t1 is whole
    assert scored == {("t0", "clutching_hand"), ("t1", "photo_edge"), ("t3", "photo_edge")}


def test_image_without_usable_mask_is_a_problem(tmp_path) -> None:
    root = tmp_path / "data"
    make_benchmark(root, n_test=2, n_val=0)
    empty = _write_mask(root, "photo_edge", "t1", np.zeros((SIZE, SIZE), bool))
    with pytest.warns(UserWarning) as caught:
        result = scan_benchmark(root, progress=False)
    messages = [str(w.message) for w in caught]
    assert any(str(empty) in m and "no evidence pixel" in m for m in messages)
    assert any("t1.png" in m and "no_usable_mask" in m for m in messages)
    reasons = sorted(p.reason for p in result.problems)
    assert reasons == ["empty_mask", "no_usable_mask"]
    assert [r.name for r in result.scored] == ["t0"]


def test_method_names() -> None:
    plain = [n for n in available_explainers() if n not in ("sped", "sped-matched")]
    assert resolve_methods("all", has_concepts=False) == plain
    assert resolve_methods("all", has_concepts=True) == plain + ["sped", "sped-matched"]
    assert resolve_methods("rise, gradcam,rise", False) == ["rise", "gradcam"]
    with pytest.raises(XfasError, match="valid names: gradcam"):
        resolve_methods("gradcam,nope", False)
    with pytest.raises(XfasError, match="need a concept bank"):
        resolve_methods("sped", False)


def test_calibration_is_carved_without_splits(tmp_path) -> None:
    kept, aside = carve([f"i{k}" for k in range(10)], 0.2, seed=3)
    assert len(aside) == 2 and not set(kept) & set(aside) and len(kept) == 8
    assert carve([f"i{k}" for k in range(10)], 0.2, seed=3) == (kept, aside)
    root = tmp_path / "data"
    make_benchmark(root, n_test=10, n_val=0)
    (root / "manifest.json").unlink()  # no manifest: no splits
    result = scan_benchmark(root, need_calibration=True, seed=3, progress=False)
    scored = {r.name for r in result.scored}
    calibration = {r.name for r in result.calibration}
    assert len(calibration) == 2 and not scored & calibration
    assert scored | calibration == {f"t{k}" for k in range(10)}
    assert "set aside" in result.info["calibration"]


def test_calibration_split_comes_from_the_manifest(bench) -> None:
    result = scan_benchmark(bench["config"].data, need_calibration=True, progress=False)
    assert [r.name for r in result.calibration] == ["v0", "v1"]
    assert [r.name for r in result.scored] == [f"t{k}" for k in range(6)]


def test_limit_caps_the_scored_images_only(tmp_path) -> None:
    root = tmp_path / "data"
    make_benchmark(root, n_test=6, n_val=4)
    result = scan_benchmark(root, need_calibration=True, limit=2, progress=False)
    assert [r.name for r in result.scored] == ["t0", "t1"]
    assert [r.name for r in result.calibration] == ["v0", "v1", "v2", "v3"]


def test_limit_counts_usable_images(tmp_path) -> None:
    """An unreadable image among the first does not count: --limit 3 still scores three."""
    root = tmp_path / "data"
    make_benchmark(root, n_test=6, n_val=0)
    (root / "images" / "t1.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match="t1.png"):
        result = scan_benchmark(root, limit=3, progress=False)
    assert [r.name for r in result.scored] == ["t0", "t2", "t3"]
    assert [p.reason for p in result.problems] == ["unreadable_image"]


def test_concept_assignment_takes_the_best_mean_and_the_lower_index_on_ties() -> None:
    rows = [("a", "photo_edge", 0, 0.5, 0.6), ("b", "photo_edge", 0, 0.3, 0.2),
            ("a", "photo_edge", 1, 0.4, 0.5), ("b", "photo_edge", 1, 0.4, 0.3),
            ("a", "photo_edge", 2, 0.1, 0.1), ("b", "photo_edge", 2, 0.2, 0.2),
            ("a", "hand", 0, 0.1, 0.1), ("a", "hand", 1, 0.2, 0.3), ("a", "hand", 2, 0.6, 0.7)]
    assignment, matrices = assign_concepts(rows, ["edge", "glare", "fingers"])
    assert assignment["photo_edge"]["concept"] == 0  # nIoU 0.4 = 0.4: the lower index
    assert_close(assignment["photo_edge"]["calibration_niou"], 0.4)
    assert_close(assignment["photo_edge"]["calibration_iou"], 0.4)
    assert assignment["hand"] == {"concept": 2, "name": "fingers", "calibration_niou": 0.7,
                                  "calibration_iou": 0.6, "n": 1}
    assert_close(matrices["mean_iou"]["photo_edge"], [0.4, 0.4, 0.15])
    assert_close(matrices["mean_niou"]["photo_edge"], [0.4, 0.4, 0.15])


def test_names_from_the_assignment_give_the_assignment_back_by_name() -> None:
    """Concept 1 holds photo_edge (nIoU 0.8) and ipad_border (0.6): it takes the better
    one's name, and ipad_border finds no concept by name; concept 3 is named cut hole; a
    concept assigned nothing keeps its name."""
    assignment = {"photo_edge": {"concept": 1, "calibration_niou": 0.8},
                  "ipad_border": {"concept": 1, "calibration_niou": 0.6},
                  "cut_hole": {"concept": 3, "calibration_niou": 0.5}}
    names = names_from_assignment(assignment, ["concept 1", "concept 2", "edge", "concept 4"])
    assert names == ["concept 1", "photo edge", "edge", "cut hole"]
    with pytest.warns(UserWarning, match="ipad_border"):
        back = assign_by_name(names, [0.25] * 4, ["photo_edge", "ipad_border", "cut_hole"])
    assert {e: a["concept"] for e, a in back.items()} == {"photo_edge": 1, "cut_hole": 3}


def test_concept_assignment_follows_niou_where_iou_disagrees() -> None:
    """Hand-made 10 x 10 maps (top 30 %: 30 pixels). Image a has a 5-pixel mask, b a
    30-pixel one. Concept 0 covers a's mask and misses b's: IoU 5/30 and 0, nIoU 1 and 0.
    Concept 1 misses a's mask and half covers b's: IoU 15/45 on b, nIoU the same. Mean IoU
    prefers concept 1 (1/6 > 1/12), mean nIoU concept 0 (1/2 > 1/6)."""
    def region(rows: slice, cols: slice) -> np.ndarray:
        area = np.zeros((10, 10), bool)
        area[rows, cols] = True
        return area

    masks = {"a": region(slice(0, 1), slice(0, 5)), "b": region(slice(7, 10), slice(0, 10))}
    top = region(slice(0, 3), slice(0, 10))  # covers a's mask, misses b's
    maps = {("a", 0): top, ("b", 0): top,
            ("a", 1): region(slice(4, 7), slice(0, 10)),  # misses a's mask
            ("b", 1): region(slice(4, 10), slice(0, 5))}  # half of b's mask
    rows = [(image, "photo_edge", concept, iou(masks[image], saliency.astype(float)),
             niou(masks[image], saliency.astype(float)))
            for (image, concept), saliency in maps.items()]
    assignment, matrices = assign_concepts(rows, ["edge", "glare"])
    assert_close(matrices["mean_iou"]["photo_edge"], [1 / 12, 1 / 6])
    assert_close(matrices["mean_niou"]["photo_edge"], [1 / 2, 1 / 6])
    assert assignment["photo_edge"]["concept"] == 0
    assert_close(assignment["photo_edge"]["calibration_niou"], 0.5)
    assert_close(assignment["photo_edge"]["calibration_iou"], 1 / 12)
    assert assignment["photo_edge"]["n"] == 2


@pytest.mark.slow
def test_dask_and_process_pool_give_the_in_process_results(bench, tmp_path) -> None:
    config = BenchmarkConfig(**{**bench["config"].__dict__, "methods": "gradcam,randomcam"})
    reference = bench["run"].results
    for name, options in (("dask", {"dask": "local"}), ("pool", {"workers": 2})):
        run = run_benchmark(config, tmp_path / name, progress=False, **options)
        assert run.units_computed == 2
        for method in ("gradcam", "randomcam"):
            assert_close(run.results["table"][method], reference["table"][method], rtol=0,
                         atol=SCORE_ATOL, msg=f"{name} table, {method}")
            assert_close(run.results["faithfulness"][method],
                         reference["faithfulness"][method], rtol=0, atol=SCORE_ATOL,
                         msg=f"{name} faithfulness, {method}")
        expected = {k: v for k, v in db_rows(bench["out"]).items() if k[1] != "oracle"}
        assert_close(db_rows(tmp_path / name), expected, rtol=0, atol=SCORE_ATOL, msg=name)


FAST_SPED = {"transform_iter": 10}  # fewer factorisation steps: a cheap bank for the tests


def model_inputs(model, data: Path, names) -> tuple[torch.Tensor, list]:
    """The model inputs of the named images of ``data`` and their geometries."""
    pairs = [model.preprocess(np.asarray(Image.open(data / "images" / f"{n}.png")))
             for n in names]
    return torch.stack([p[0] for p in pairs]), [p[1] for p in pairs]


@pytest.fixture(scope="module")
def sped_bank(bench, tmp_path_factory) -> Path:
    """A small SPED concept bank of the bench model, fitted on the bench images."""
    model = load_model(bench["config"].model)
    names = [f"t{i}" for i in range(6)] + ["v0", "v1"]
    bank = tmp_path_factory.mktemp("bank") / "bank.safetensors"
    SPED(model, n_concepts=3, n_designs=2, crop_stride=0.5, top_crops=1, progress=False,
         nmf_options={"max_iter": 20}, **FAST_SPED).fit(
        model_inputs(model, Path(bench["config"].data), names)[0]).save(bank)
    return bank


@pytest.mark.slow
def test_sped_single_map_and_matched_concepts(bench, sped_bank, tmp_path) -> None:
    """SPED scored both ways; the assignment is made on the val split (never scored) and
    equals the concept with the best mean nIoU recomputed here from the bank's ungated
    maps, which sped-matched scores."""
    config = bench["config"]
    model = load_model(config.model)
    data = Path(config.data)
    sped_config = BenchmarkConfig(data=config.data, model=config.model, concepts=str(sped_bank),
                                  methods="sped,sped-matched", faithfulness=False,
                                  unit_size=4, method_options={"sped": FAST_SPED})
    run = run_benchmark(sped_config, tmp_path / "run", progress=False)
    assignment = run.results["sped_assignment"]

    explainer = create_explainer("sped", model, concepts=str(sped_bank), progress=False,
                                 **FAST_SPED)
    batch, geometries = model_inputs(model, data, ["v0", "v1"])
    maps = explainer.explain_concepts(batch).ungated_maps
    masks = bench["masks"]
    for evidence in ("photo_edge", "clutching_hand"):
        holders = [i for i, n in enumerate(["v0", "v1"]) if evidence in masks[n]]
        means = {metric: [np.mean([score(masks[["v0", "v1"][i]][evidence],
                                         geometries[i].to_image(maps[i, k])) for i in holders])
                          for k in range(3)]
                 for metric, score in (("iou", iou), ("niou", niou))}
        best = int(np.argmax(means["niou"]))
        assert assignment[evidence]["concept"] == best
        for metric in ("iou", "niou"):
            assert_close(assignment[evidence][f"calibration_{metric}"], means[metric][best],
                         rtol=0, atol=SCORE_ATOL, msg=f"{evidence} {metric}")
        assert assignment[evidence]["n"] == len(holders)

    rows = db_rows(tmp_path / "run")
    assert {image for image, *_ in rows} == {f"t{i}" for i in range(6)}  # val never scored
    batch, geometries = model_inputs(model, data, ["t0"])
    concept = assignment["photo_edge"]["concept"]
    expected = iou(masks["t0"]["photo_edge"], geometries[0].to_image(
        explainer.explain_concepts(batch).ungated_maps[0, concept]))
    assert_close(rows[("t0", "sped-matched", "photo_edge", "iou")], expected, rtol=0,
                 atol=SCORE_ATOL)
    assert_close(rows[("t0", "sped", "photo_edge", "iou")],
                 iou(masks["t0"]["photo_edge"],
                     geometries[0].to_image(explainer.explain(batch)[0])),
                 rtol=0, atol=SCORE_ATOL)
    text = render_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "calibration nIoU" in text and (tmp_path / "run" / "figures" / "concepts.png").is_file()


@pytest.mark.slow
def test_matched_protocol_calibrates_on_all_images_and_ignores_the_gate(bench, sped_bank,
                                                                        tmp_path) -> None:
    """With --limit 2 only t0 and t1 are scored, but all four val images calibrate; with a
    gate no concept passes (activation threshold 10^6), SPED's single map is empty while the
    matched concept's map is not."""
    data = tmp_path / "data"
    make_benchmark(data, n_test=6, n_val=4)
    config = BenchmarkConfig(data=str(data), model=bench["config"].model,
                             concepts=str(sped_bank), methods="sped,sped-matched",
                             faithfulness=False, limit=2, unit_size=4,
                             method_options={"sped": {**FAST_SPED, "activation_threshold": 1e6}})
    out = tmp_path / "run"
    run = run_benchmark(config, out, progress=False)
    validation = ["v0", "v1", "v2", "v3"]
    with RunStore(out / "results.sqlite") as store:
        assert [r.name for r in store.images("calibration")] == validation
        assert store.get_meta("sped_calibration")["images"] == validation
    assert run.results["sped_assignment"]["photo_edge"]["n"] == len(validation)
    assert {image for image, *_ in db_rows(out)} == {"t0", "t1"}
    shown = {method: np.asarray(Image.open(out / "figures" / "maps" / f"t0__{method}.png"))
             for method in ("sped", "sped-matched")}
    assert shown["sped"].max() == 0 and shown["sped-matched"].max() > 0


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*no face found")
def test_crop_model_maps_are_zero_outside_the_face_crop(tmp_path) -> None:
    """MiniFASNet explains a crop around the detected face: its maps, back on the image, are
    zero outside that crop (stored face box), and the scores are made on the whole image."""
    asset("models/2.7_80x80_MiniFASNetV2.pth")
    data = generate_synthspoof(tmp_path / "synth", n=12, size=96, seed=1, progress=False)
    config = BenchmarkConfig(data=str(data), model="minifasnet-v2", methods="gradcam",
                             split=None, faithfulness=False, assets=str(ASSETS))
    run = run_benchmark(config, tmp_path / "run", progress=False)
    with RunStore(tmp_path / "run" / "results.sqlite", create=False) as store:
        records = store.images("scored")
    assert records and all(r.face_box is not None for r in records)
    assert run.results["problems"].get("no_face", 0) + len(records) == len(
        [n for n in json.loads((data / "manifest.json").read_text())["images"].values()
         if n["label"] == "spoof"])
    model = load_model("minifasnet-v2", assets=ASSETS)
    record = records[0]
    image = np.asarray(Image.open(record.path).convert("RGB"))
    _, geometry = model.preprocess(image, record.face_box)
    x0, y0, x1, y1 = geometry.box
    saliency = np.asarray(Image.open(tmp_path / "run" / "figures" / "maps"
                                     / f"{record.name}__gradcam.png"))
    outside = np.ones(saliency.shape, bool)
    outside[y0:y1, x0:x1] = False  # the thumbnail is the image's size (96 <= 128)
    assert saliency[outside].max() == 0 and saliency[~outside].max() > 0


def test_the_mean_columns_average_the_papers_four_types_only() -> None:
    # the attack surfaces are reported beside the papers' types, not averaged in with them
    types = ["clutching_hand", "photo_edge", "print_surface", "screen_surface"]
    assert averaged_types(types) == ["clutching_hand", "photo_edge"]
    assert averaged_types(["print_surface", "tape"]) == ["print_surface", "tape"]
