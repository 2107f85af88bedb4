"""The SPED commands end to end on a tiny generated SynthSpoof set with an untrained CNN: the
machinery (files written, names stored, user errors), not the quality of the concepts."""

from __future__ import annotations

import json

import pytest

from xfas.cli import main
from xfas.sped import SPED, ConceptBank

from helpers.models import synth_and_untrained_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("sped_cli")
    return (root, *synth_and_untrained_model(root, 24))


def test_discover_label_and_name(setup, capsys) -> None:
    root, data, model_path = setup
    bank = root / "bank.safetensors"
    code = main(["discover", "--model", str(model_path), "--data", str(data), "--out", str(bank),
                 "--concepts", "3", "--designs", "4", "--limit", "6", "--no-progress"])
    assert code == 0
    assert bank.is_file() and (root / "bank_concepts.png").is_file()
    loaded = ConceptBank.load(bank)
    assert loaded.n_concepts == 3 and loaded.n_images == 6 and loaded.layer == "features.attention"
    assert loaded.top_crops is not None and loaded.top_crops.shape[:3] == (3, 6, 3)
    assert "importance" in capsys.readouterr().out

    # thresholds of 0 make every concept take its evidence type of highest lift
    code = main(["concepts", "label", "--model", str(model_path), "--concepts", str(bank),
                 "--data", str(data), "--split", "val", "--min-share", "0", "--min-lift", "0",
                 "--write", "--no-progress"])
    assert code == 0
    assert "proposed names: 0: " in capsys.readouterr().out
    # the paper's four evidence types and the two attack surfaces SynthSpoof masks as well
    evidence = {"clutching hand", "cut hole", "ipad border", "photo edge", "print surface",
                "screen surface"}
    assert set(ConceptBank.load(bank).names) <= evidence

    names = root / "names.json"
    names.write_text(json.dumps({"0": "paper edge", "2": "fingers"}))
    before = ConceptBank.load(bank).names
    assert main(["concepts", "name", str(bank), "--names", str(names)]) == 0
    assert ConceptBank.load(bank).names == ["paper edge", before[1], "fingers"]
    from xfas.models import load_model
    assert SPED.load(bank, load_model(model_path)).names[2] == "fingers"


def test_user_errors_name_the_input(setup, capsys) -> None:
    root, data, model_path = setup
    bank = root / "other.safetensors"
    assert main(["discover", "--model", str(model_path), "--data", str(data), "--out", str(bank),
                 "--attack", "mask3d", "--concepts", "2", "--no-progress"]) == 2
    assert "--attack 'mask3d'" in capsys.readouterr().err
    bad = root / "bad.json"
    bad.write_text(json.dumps({"7": "edge"}))
    assert main(["concepts", "name", str(root / "missing.safetensors"), "--names",
                 str(bad)]) == 2
    assert "missing.safetensors" in capsys.readouterr().err


def test_explain_with_concepts_writes_fig6_and_a_sentence(setup, capsys) -> None:
    root, data, model_path = setup
    bank = root / "explain_bank.safetensors"
    assert main(["discover", "--model", str(model_path), "--data", str(data), "--out", str(bank),
                 "--concepts", "2", "--designs", "4", "--limit", "4", "--no-progress"]) == 0
    image = sorted((data / "images").glob("*.png"))[0]
    out = root / "explained"
    capsys.readouterr()
    assert main(["explain", str(image), "--model", str(model_path), "--methods", "gradcam",
                 "--out", str(out), "--concepts", str(bank), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert (out / f"{image.stem}_sped.png").is_file()
    assert f"{image.stem}: spoof (" in printed or f"{image.stem}: live (" in printed

