"""The grouped commands (xfas concepts discover, xfas synth generate|grid, xfas benchmark
run|report|reliance) and the old spellings kept for scripts (xfas discover, xfas synth --out,
xfas synth-grid, xfas benchmark --out, xfas report, xfas reliance): each reaches the same
command and gives the same result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xfas.cli import main


def files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


# --- synth --------------------------------------------------------------------------------

def test_synth_generate_and_synth_out_write_the_same_data_set(tmp_path, capsys) -> None:
    args = ["--n", "3", "--size", "32", "--seed", "4", "--no-progress"]
    assert main(["synth", "generate", "--out", str(tmp_path / "new"), *args]) == 0
    assert main(["synth", "--out", str(tmp_path / "old"), *args]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"wrote 3 images to {tmp_path / name} (manifest: "
                       f"{tmp_path / name / 'manifest.json'})" for name in ("new", "old")]
    written = files(tmp_path / "new")
    assert len([name for name in written if name.startswith("images/")]) == 3
    assert written == files(tmp_path / "old")


@pytest.mark.parametrize("args", [["synth"], ["synth", "generate"], ["synth", "--n", "3"]])
def test_synth_without_out_is_a_usage_error(args, capsys) -> None:
    assert main(args) == 2
    assert "Missing option '--out'" in capsys.readouterr().err


def test_synth_grid_and_synth_dash_grid_draw_the_same_picture(tmp_path, capsys) -> None:
    args = ["--size", "32", "--per-attack", "1", "--seed", "2"]
    assert main(["synth", "grid", "--out", str(tmp_path / "new.png"), *args]) == 0
    assert main(["synth-grid", "--out", str(tmp_path / "old.png"), *args]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {tmp_path / 'new.png'}",
                                                    f"wrote {tmp_path / 'old.png'}"]
    assert (tmp_path / "new.png").read_bytes() == (tmp_path / "old.png").read_bytes()


def test_an_option_before_the_command_name_is_refused(tmp_path, capsys) -> None:
    out = tmp_path / "grid.png"
    assert main(["synth", "--seed", "3", "grid", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --seed before 'grid'") and "\n" not in err
    assert not out.exists()
    assert main(["benchmark", "--out", str(tmp_path), "report", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: --out before 'report'")


# --- concepts -----------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", [["concepts", "discover"], ["discover"]])
def test_concepts_discover_under_both_names(spelling, tmp_path, capsys) -> None:
    assert main([*spelling, "--help"]) == 0
    assert "Discover K spoofing-evidence concepts" in capsys.readouterr().out
    bank = tmp_path / "bank.safetensors"
    code = main([*spelling, "--model", "cnn", "--data", str(tmp_path), "--out", str(bank),
                 "--split", "dev"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "error: --split 'dev': expected train, val or test"
    assert not bank.exists()


# --- benchmark ----------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", [["benchmark", "run"], ["benchmark"]])
def test_benchmark_run_under_both_names_needs_data_for_a_new_run(spelling, tmp_path,
                                                                 capsys) -> None:
    assert main([*spelling, "--out", str(tmp_path / "run"), "--model", "cnn"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --data: required for a new run") and "\n" not in err
    assert not (tmp_path / "run").exists()


def test_benchmark_without_out_is_a_usage_error(capsys) -> None:
    assert main(["benchmark", "--model", "cnn"]) == 2
    assert "Missing option '--out'" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", [["benchmark", "report"], ["report"]])
def test_report_under_both_names_takes_one_or_two_runs(spelling, tmp_path, capsys) -> None:
    assert main([*spelling, "--help"]) == 0
    assert "Render a benchmark run" in capsys.readouterr().out
    assert main([*spelling, *[str(tmp_path)] * 3]) == 2
    assert capsys.readouterr().err.strip() == ("error: RUNS: expected one run folder, or two "
                                               "to compare; got 3")


@pytest.mark.parametrize("spelling", [["benchmark", "reliance"], ["reliance"]])
def test_reliance_under_both_names_checks_the_split(spelling, tmp_path, capsys) -> None:
    assert main([*spelling, "--help"]) == 0
    assert "rest on the evidence" in capsys.readouterr().out
    assert main([*spelling, "--model", "cnn", "--data", str(tmp_path), "--split", "x"]) == 2
    assert capsys.readouterr().err.strip() == ("error: --split 'x': expected train, val, test "
                                               "or all")


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> dict[str, Path]:
    """A tiny SynthSpoof set and an untrained CNN checkpoint."""
    import torch

    from xfas.data.synth import generate_synthspoof
    from xfas.models import build_model, save_model

    root = tmp_path_factory.mktemp("groups")
    data = generate_synthspoof(root / "synth", n=8, size=64, seed=0, progress=False)
    torch.manual_seed(0)
    model = save_model(build_model("cnn").eval(), root / "cnn.safetensors")
    return {"root": root, "data": Path(data), "model": Path(model)}


@pytest.mark.slow
def test_the_benchmark_group_end_to_end_under_both_names(bench, capsys) -> None:
    run = bench["root"] / "run"
    assert main(["benchmark", "run", "--data", str(bench["data"]), "--model",
                 str(bench["model"]), "--out", str(run), "--methods", "gradcam", "--split",
                 "all", "--limit", "2", "--no-faithfulness", "--no-progress"]) == 0
    assert "computed, 0 already done" in capsys.readouterr().out
    config = json.loads((run / "results.json").read_text())["config"]
    assert config["limit"] == 2 and config["methods"] == ["gradcam"]
    # the old spelling resumes the run the new one made: nothing left to compute
    assert main(["benchmark", "--out", str(run), "--resume", "--no-progress"]) == 0
    assert "0 unit(s) computed" in capsys.readouterr().out
    for spelling, name in ((["benchmark", "report"], "new.html"), (["report"], "old.html")):
        assert main([*spelling, str(run), "--out", str(run / name)]) == 0
        assert capsys.readouterr().out.strip() == str(run / name)
        assert (run / name).read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype")
    results = []
    for spelling, name in ((["benchmark", "reliance"], "new.json"), (["reliance"], "old.json")):
        assert main([*spelling, "--model", str(bench["model"]), "--data", str(bench["data"]),
                     "--split", "all", "--limit", "2", "--out", str(run / name)]) == 0
        assert f"written {run / name}" in capsys.readouterr().out
        results.append(json.loads((run / name).read_text()))
    assert results[0] == results[1] and results[0]["images"] == 2
