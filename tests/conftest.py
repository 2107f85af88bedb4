"""Fixtures several test modules share. Shared code lives in the ``helpers`` package (on the
path through ``pythonpath`` in pyproject.toml); test modules never import each other."""

from __future__ import annotations

from typing import Iterator

import pytest

from xfas.explain import register, unregister

from helpers.benchmark import RedOracle


@pytest.fixture(scope="module")
def oracle() -> Iterator[str]:
    """The test-only ``RedOracle`` explainer registered for the module's tests, then removed."""
    register(RedOracle.name, RedOracle, overwrite=True)
    yield RedOracle.name
    unregister(RedOracle.name)
