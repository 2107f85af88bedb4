"""A run's settings as a user gives them (xfas.benchmark.settings): METHOD.OPTION=VALUE
explainer options, and the configuration of a new or resumed run."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from xfas.benchmark import BenchmarkConfig
from xfas.benchmark.settings import config_for_run, parse_method_options
from xfas.benchmark.store import DB_NAME, RunStore
from xfas.errors import XfasError


def test_method_options_read_json_values_and_keep_text() -> None:
    settings = ["rise.n_masks=500", "lime.segmentation=grid", "rise.p=0.25",
                " shap . exact = true", "rise.sizes=[4, 8]", "lime.note="]
    assert parse_method_options(settings) == {
        "rise": {"n_masks": 500, "p": 0.25, "sizes": [4, 8]},
        "lime": {"segmentation": "grid", "note": ""},
        "shap": {"exact": True}}
    assert parse_method_options([]) == {}


def test_a_later_setting_of_the_same_option_wins() -> None:
    assert parse_method_options(["rise.n_masks=5", "rise.n_masks=9"]) == {"rise": {"n_masks": 9}}


@pytest.mark.parametrize("setting", ["rise.n_masks", "n_masks=5", ".n_masks=5", "rise.=5",
                                     " .x=1"])
def test_a_malformed_method_option_is_named(setting: str) -> None:
    with pytest.raises(XfasError, match=f"^--set '{setting}': expected METHOD.OPTION=VALUE"):
        parse_method_options([setting])


def test_a_new_run_takes_what_is_given(tmp_path: Path) -> None:
    config = config_for_run(tmp_path, resume=False, given={
        "data": tmp_path / "bench", "model": "runs/cnn", "seed": 3, "limit": None,
        "method_options": {"rise": {"n_masks": 8}}})
    assert config == BenchmarkConfig(data=str(tmp_path / "bench"), model="runs/cnn", seed=3,
                                     method_options={"rise": {"n_masks": 8}})
    assert isinstance(config.data, str)


@pytest.mark.parametrize("given, named", [({"model": "m"}, "--data"), ({"data": "d"}, "--model"),
                                          ({"data": None, "model": None},
                                           "--data and --model")])
def test_a_new_run_needs_data_and_model(tmp_path: Path, given: dict, named: str) -> None:
    with pytest.raises(XfasError, match=f"^{named}: required for a new run"):
        config_for_run(tmp_path, resume=False, given=given)


def test_a_resumed_run_starts_from_its_stored_configuration(tmp_path: Path) -> None:
    stored = asdict(BenchmarkConfig(data="bench", model="runs/cnn", methods="gradcam,rise",
                                    limit=4, seed=2, method_options={"rise": {"n_masks": 8}}))
    stored["a_field_of_an_older_version"] = 1
    with RunStore(tmp_path / DB_NAME) as store:
        store.init_run(config=stored, fingerprint="f", versions={})
    config = config_for_run(tmp_path, resume=True,
                            given={"device": "cuda", "seed": None, "steps": 8})
    assert config == BenchmarkConfig(data="bench", model="runs/cnn", methods="gradcam,rise",
                                     limit=4, seed=2, method_options={"rise": {"n_masks": 8}},
                                     device="cuda", steps=8)


def test_resuming_needs_a_stored_run(tmp_path: Path) -> None:
    with pytest.raises(XfasError, match=f"^--resume: no run in {tmp_path} \\(no {DB_NAME}\\)"):
        config_for_run(tmp_path, resume=True, given={"data": "d", "model": "m"})
    RunStore(tmp_path / DB_NAME).close()  # a database whose run never began
    with pytest.raises(XfasError, match="^--resume: the run in .* has no stored configuration"):
        config_for_run(tmp_path, resume=True, given={})
