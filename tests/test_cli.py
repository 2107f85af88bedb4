"""The command line's contract: --version, --help on every command, one-line user errors, the
command tree (groups shown, old names hidden but working), one help text per shared flag, and
a start that imports no torch."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from dataclasses import fields

import pytest
import typer.main
from PIL import Image

from xfas import __version__
from xfas.cli import app, main
from xfas.training import TrainConfig

from helpers.assets import faces

SHOWN = {"models", "train", "eval", "predict", "explain", "serve", "demo", "study", "concepts",
         "synth", "benchmark", "annotations", "annotate", "export", "check-model"}
ALIASES = {"discover", "synth-grid", "report", "reliance"}
GROUPS = {"concepts": {"discover", "label", "name", "show"}, "synth": {"generate", "grid"},
          "benchmark": {"run", "report", "reliance"}, "study": {"attention", "backbones"},
          "annotations": {"import", "export", "agree", "check"}}
# Flags whose meaning differs between commands, with how many help texts each may have; every
# other flag has exactly one. --model: a model to load, a fused predictor, an architecture to
# train; --data: any dataset, one with evidence masks; --concepts: a bank file, or how many
# concepts to discover (discover, demo); --batch-size: a forward pass, a training step;
# --images: how many images the demo generates, the folder of images an annotation file names,
# how many training images the backbone study uses; --pretrained: a weights file, a folder.
MEANINGS = {"--out": None, "--model": 3, "--data": 2, "--concepts": 3, "--batch-size": 2,
            "--resume": 2, "--bench-images": 2, "--images": 3, "--pretrained": 2,
            "--limit": 2}  # the benchmark's limit caps the scored images, not calibration


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xfas", *args], capture_output=True, text=True,
                          timeout=300)


def commands(group=None, path=()) -> dict[tuple[str, ...], object]:
    """{command path: click command} of every command and group, hidden ones included."""
    group = group or typer.main.get_command(app)
    found = {}
    for name, command in group.commands.items():
        found[(*path, name)] = command
        if hasattr(command, "commands"):
            found.update(commands(command, (*path, name)))
    return found


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"xfas {__version__}"


@pytest.mark.parametrize("path", sorted(commands()), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...], capsys) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage" in out and len(out.splitlines()) > 3


def test_unknown_command_exits_non_zero() -> None:
    done = run("no-such-command")
    assert done.returncode != 0


def test_the_command_tree() -> None:
    tree = commands()
    top = {path[0]: command for path, command in tree.items() if len(path) == 1}
    assert {name for name, command in top.items() if not command.hidden} == SHOWN
    assert {name for name, command in top.items() if command.hidden} == ALIASES
    for group, names in GROUPS.items():
        assert {path[1] for path in tree if len(path) == 2 and path[0] == group} == names


def test_the_top_level_help_lists_the_groups_not_the_old_names(capsys) -> None:
    assert main(["--help"]) == 0
    listed = {line.strip("│ ").split(" ")[0] for line in capsys.readouterr().out.splitlines()}
    assert SHOWN <= listed and not ALIASES & listed


def test_an_old_name_is_the_same_command_as_its_new_one() -> None:
    tree = commands()
    for old, new in (("discover", ("concepts", "discover")), ("synth-grid", ("synth", "grid")),
                     ("report", ("benchmark", "report")),
                     ("reliance", ("benchmark", "reliance"))):
        assert inspect.unwrap(tree[(old,)].callback) is inspect.unwrap(tree[new].callback)


def test_each_shared_flag_has_one_help_text() -> None:
    helps: dict[str, set[str]] = {}
    for command in commands().values():
        for param in command.params:
            for flag in param.opts:
                if flag.startswith("--") and flag != "--help":
                    helps.setdefault(flag, set()).add(param.help)
    assert helps["--assets"] and helps["--seed"] and helps["--progress"]
    for flag, texts in helps.items():
        allowed = MEANINGS.get(flag, 1)
        assert allowed is None or len(texts) <= allowed, (flag, texts)


def test_train_defaults_are_train_configs() -> None:
    params = {param.name: param.default for param in commands()[("train",)].params}
    names = {"lr": "learning_rate"}
    defaults = {field.name: field.default for field in fields(TrainConfig)}
    for name in ("model", "epochs", "batch_size", "lr", "patience", "seed", "augment",
                 "ema_decay", "label_smoothing"):
        assert params[name] == defaults[names.get(name, name)], name


def test_starting_the_command_line_imports_no_torch() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys, xfas.cli; "
                           "print('torch' in sys.modules)"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "False"


def test_a_warning_prints_as_one_line_without_source_code(tmp_path) -> None:
    # a face-photo folder in which one image shows no face: generation warns and goes on
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copyfile(sorted(faces().rglob("*.jpg"))[0], photos / "001_03.jpg")
    Image.new("RGB", (64, 64), (128, 128, 128)).save(photos / "002_03.png")
    done = run("synth", "generate", "--out", str(tmp_path / "data"), "--n", "2",
               "--faces", str(photos), "--no-progress")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "002_03.png" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: "), done.stderr
    assert "UserWarning" not in done.stderr and "warnings.warn" not in done.stderr
