"""A run's settings as a user gives them: explainer options written ``METHOD.OPTION=VALUE``,
and the configuration of a new or resumed run from the settings given (a resumed run starts
from its stored configuration, so only what changes, such as the device, need be given)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from xfas.benchmark.config import BenchmarkConfig
from xfas.benchmark.store import DB_NAME, RunStore
from xfas.errors import XfasError

REQUIRED = ("data", "model")  # what a new run cannot do without


def parse_method_options(settings: Iterable[str]) -> dict[str, dict[str, Any]]:
    """['rise.n_masks=500', 'lime.segmentation=grid'] -> {'rise': {'n_masks': 500},
    'lime': {'segmentation': 'grid'}}: ``BenchmarkConfig.method_options``. A value is read
    as JSON when it parses (numbers, true / false, lists), else kept as text."""
    options: dict[str, dict[str, Any]] = {}
    for setting in settings:
        key, equals, text = setting.partition("=")
        method, dot, option = key.partition(".")
        if not equals or not dot or not method.strip() or not option.strip():
            raise XfasError(f"--set {setting!r}: expected METHOD.OPTION=VALUE, e.g. "
                            "rise.n_masks=500")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        options.setdefault(method.strip(), {})[option.strip()] = value
    return options


def config_for_run(out: str | Path, *, resume: bool,
                   given: Mapping[str, Any]) -> BenchmarkConfig:
    """The configuration of the run in ``out``.

    Args:
        out: the run folder.
        resume: start from the configuration stored in ``out`` and update it with ``given``
            (the runner then checks that the result still matches the stored run); else a new
            configuration from ``given`` alone, which must hold ``data`` and ``model``.
        given: ``BenchmarkConfig`` fields; a None value counts as not given, a path is
            stored as text.

    Example:
        >>> config_for_run("runs/bench", resume=True, given={"device": "cuda"})
    """
    chosen = {name: str(value) if isinstance(value, Path) else value
              for name, value in given.items() if value is not None}
    if not resume:
        missing = [f"--{name}" for name in REQUIRED if name not in chosen]
        if missing:
            raise XfasError(f"{' and '.join(missing)}: required for a new run (or pass "
                            f"--resume to continue the run in {out})")
        return BenchmarkConfig(**chosen)
    database = Path(out) / DB_NAME
    if not database.is_file():
        raise XfasError(f"--resume: no run in {out} (no {DB_NAME})")
    with RunStore(database, create=False) as store:
        stored = (store.run_info() or {}).get("config")
    if not stored:
        raise XfasError(f"--resume: the run in {out} has no stored configuration (it stopped "
                        "before it began); start it again without --resume")
    names = {field.name for field in fields(BenchmarkConfig)}
    kept = {name: value for name, value in stored.items() if name in names}
    return BenchmarkConfig(**{**kept, **chosen})
