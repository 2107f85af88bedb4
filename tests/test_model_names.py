"""One model name everywhere: every command that loads a model takes --card, every name
``xfas models`` lists is understood by every such command (the fused ``minifasnet`` where it
can be used, else an error naming what to use instead), and architectures without weights say
how to train them."""

from __future__ import annotations

import pytest
import typer.main

from xfas.cli import app, main
from xfas.errors import XfasError
from xfas.models import load_model
from xfas.models.registry import FUSED, model_names

# commands whose --model names something to build or a list of models, not a model to load
BUILDS = {("train",), ("demo",), ("study", "attention"), ("study", "backbones")}
# `xfas annotate` (issue 23) joins when it passes --card on to its ServiceConfig
NOT_YET = {("annotate",)}


def model_commands() -> dict[tuple[str, ...], object]:
    """{path: click command} of every visible command with a --model option."""
    found = {}

    def walk(group, path=()):
        for name, command in group.commands.items():
            if getattr(command, "hidden", False):
                continue
            if hasattr(command, "commands"):
                walk(command, (*path, name))
            elif any("--model" in param.opts for param in command.params):
                found[(*path, name)] = command
    walk(typer.main.get_command(app))
    return found


def test_every_command_that_loads_a_model_takes_a_card() -> None:
    commands = model_commands()
    assert {("eval",), ("explain",), ("predict",), ("serve",), ("export",), ("check-model",),
            ("benchmark", "run"), ("benchmark", "reliance")} <= set(commands)
    for path, command in commands.items():
        if path in BUILDS | NOT_YET:
            continue
        assert any("--card" in param.opts for param in command.params), path


def test_xfas_models_lists_every_kind(capsys) -> None:
    assert main(["models"]) == 0
    printed = capsys.readouterr().out
    for names in model_names().values():
        for name in names:
            assert name in printed


@pytest.mark.parametrize("name", model_names()["architectures"] + model_names()["backbones"])
def test_an_architecture_without_weights_says_how_to_train_it(name: str) -> None:
    with pytest.raises(XfasError, match=f"xfas train --model {name}"):
        load_model(name)


@pytest.mark.parametrize("argv", [
    ["explain", "x.jpg", "--model", FUSED, "--out", "o"],
    ["benchmark", "run", "--model", FUSED, "--data", ".", "--out", "o"],
    ["export", "--model", FUSED, "--onnx", "o.onnx"],
    ["concepts", "discover", "--model", FUSED, "--data", ".", "--out", "b.safetensors"],
    ["check-model", "--model", FUSED, "--data", "."],
])
def test_the_fused_model_where_one_network_is_needed_names_what_to_use(argv, capsys) -> None:
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "minifasnet-v2" in error and "no such checkpoint" not in error
