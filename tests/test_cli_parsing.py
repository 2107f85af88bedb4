"""Reading command-line text (xfas.cli.parsing): the values read, and errors that name the
flag at fault."""

from __future__ import annotations

import pytest

from xfas.cli.parsing import check_choice, parse_methods, parse_mix, parse_seeds, parse_target
from xfas.errors import XfasError


def test_seeds() -> None:
    assert parse_seeds("0,1,2") == (0, 1, 2)
    assert parse_seeds(" 7 , ,3") == (7, 3)
    with pytest.raises(XfasError, match=r"^--seeds '0,x': expected comma-separated integers"):
        parse_seeds("0,x")
    with pytest.raises(XfasError, match="^--seeds: give at least one seed"):
        parse_seeds(" , ")


def test_mix() -> None:
    assert parse_mix(None) is None
    assert parse_mix("live=0.5, print = 0.25,cut=0.25") == {"live": 0.5, "print": 0.25,
                                                            "cut": 0.25}
    for text in ("live", "live=half", "live=0.5,print"):
        with pytest.raises(XfasError, match=f"^--mix '{text}': expected attack=weight"):
            parse_mix(text)


def test_methods_keep_order_and_drop_repeats() -> None:
    assert parse_methods("rise, gradcam,rise") == ["rise", "gradcam"]
    with pytest.raises(XfasError, match=r"^--methods 'gradcam,nope': unknown nope; "
                                        r"valid names: .*gradcam"):
        parse_methods("gradcam,nope")
    with pytest.raises(XfasError, match=r"unknown \(empty\)"):
        parse_methods(" , ")


def test_target() -> None:
    assert parse_target("spoof") == "spoof"
    assert parse_target("1") == 1
    with pytest.raises(XfasError, match="^--target 'live': expected 'spoof' or a class index"):
        parse_target("live")


def test_choice() -> None:
    assert check_choice("--split", "val", ("train", "val", "test")) == "val"
    with pytest.raises(XfasError, match="^--split 'dev': expected train, val, test or all$"):
        check_choice("--split", "dev", ("train", "val", "test", "all"))
