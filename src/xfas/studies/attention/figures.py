"""The attention paper's Figures 2-4: for each attack type in the test split, a few of its
test images explained by every model of the attention study (its first seed's checkpoint) with
Grad-CAM, LIME and SHAP, side by side.

``figure_<attack>.png``: for each chosen image, one row per method; the columns are the input
(its evidence outlined in green when the data have masks), then the map of each model overlaid,
evidence outlined too. Every cell is ``CELL_INCHES`` square at ``FIGURE_DPI`` and the title
takes ``xfas.plots.grid.TITLE_INCHES``, so a figure of R rows and C columns is exactly
C x CELL_INCHES x FIGURE_DPI pixels wide and (R x CELL_INCHES + TITLE_INCHES) x FIGURE_DPI
high.

``figures.json`` records what was drawn (data, images, models' fingerprints, methods, options,
seed); a rerun with the same inputs finds its figures there and draws nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from xfas.plots import image_grid, outlined_overlay, save_figure
from xfas.progress import progress_bar

CELL_INCHES, FIGURE_DPI = 2.0, 80
FIGURES_JSON = "figures.json"


@dataclass(frozen=True)
class Panel:
    """One test image of a figure: its name, RGB pixels and evidence masks (bool (H, W))."""

    name: str
    image: np.ndarray
    masks: tuple[np.ndarray, ...]


def figure_path(out: str | Path, attack: str) -> Path:
    """``out/figure_<attack>.png`` (characters unsafe in file names replaced)."""
    return Path(out) / f"figure_{re.sub(r'[^A-Za-z0-9_.-]+', '_', attack)}.png"


def spoof_attacks(labels: Sequence[int], attacks: Sequence[str]) -> list[str]:
    """The attack types of the spoof items, sorted."""
    return sorted({a for label, a in zip(labels, attacks) if int(label) == 1})


def choose_images(labels: Sequence[int], attacks: Sequence[str], attack: str, *, count: int,
                  seed: int) -> list[int]:
    """Indices of ``count`` spoof items of ``attack`` drawn with ``seed`` (all when fewer),
    in index order."""
    candidates = [i for i, (label, a) in enumerate(zip(labels, attacks))
                  if int(label) == 1 and a == attack]
    if len(candidates) <= count:
        return candidates
    chosen = np.random.default_rng(seed).choice(len(candidates), size=count, replace=False)
    return sorted(candidates[int(k)] for k in chosen)


def model_maps(model: Any, images: Sequence[np.ndarray], methods: Sequence[str], *, seed: int,
               method_options: Mapping[str, Mapping[str, Any]]) -> dict[str, list[np.ndarray]]:
    """{method: one map per image in [0, 1], at the image's size} of the spoof score."""
    from xfas.explain import create_explainer
    from xfas.explain.base import model_device

    batch, geometries = model.preprocess_batch(list(images))
    batch = batch.to(model_device(model))
    maps = {}
    for method in methods:
        options = {"progress": False, **method_options.get(method, {})}
        raw = create_explainer(method, model, seed=seed, **options).explain(batch, "spoof")
        maps[method] = [g.to_image(m.detach().float().cpu()).numpy()
                        for g, m in zip(geometries, raw)]
    return maps


def draw_figure(panels: Sequence[Panel], maps: Mapping[str, Mapping[str, Sequence[np.ndarray]]],
                methods: Sequence[str], *, path: str | Path, title: str,
                credit: str | None = None) -> Path:
    """One figure (see the module docstring): ``maps[model][method][i]`` is the map of
    ``panels[i]``; models are columns in ``maps``' order; the images' ``credit`` line under
    it when their licence asks for one."""
    models = list(maps)
    cells, row_titles = [], []
    for p, panel in enumerate(panels):
        for method in methods:
            cells.append([outlined_overlay(panel.image, None, panel.masks)]
                         + [outlined_overlay(panel.image, maps[model][method][p], panel.masks)
                            for model in models])
            row_titles.append(f"{panel.name}: {method}")
    figure = image_grid(cells, column_titles=[None, *models], row_titles=row_titles,
                        cell=CELL_INCHES, title=title, layout="constrained")
    if credit:
        figure.supxlabel(credit, fontsize=5)
    return save_figure(figure, path, dpi=FIGURE_DPI, crop=False)


def _panel(test_set: Any, index: int, names: Sequence[str], *, outline: bool) -> Panel:
    name = names[index]
    masks: tuple[np.ndarray, ...] = ()
    if outline and hasattr(test_set, "load_masks"):
        masks = tuple(m.numpy().astype(np.uint8) for m in test_set.load_masks(name).values())
    return Panel(name, test_set.original(index), masks)


def attention_figures(test_set: Any, runs: Mapping[str, Path], out: str | Path,
                      *, methods: Sequence[str], count: int = 2, seed: int = 0,
                      method_options: Mapping[str, Mapping[str, Any]] | None = None,
                      outline: bool = True, credit: str | None = None,
                      progress: bool = True) -> dict[str, Path]:
    """Draw ``figure_<attack>.png`` into ``out`` for each spoof attack type of ``test_set``
    (a dataset with ``labels``, ``attacks`` and ``original``) with the checkpoints
    ``runs[model]``; returns {attack: path}. ``outline``: draw the evidence masks
    (``test_set.load_masks``) when there are any; ``credit``: the images' credit line."""
    from xfas.models import load_model

    out = Path(out)
    options = {m: dict(o) for m, o in (method_options or {}).items() if m in methods}
    labels, attacks = list(test_set.labels), list(test_set.attacks)
    names = list(getattr(test_set, "names", [f"test #{i}" for i in range(len(labels))]))
    chosen = {a: choose_images(labels, attacks, a, count=count, seed=seed)
              for a in spoof_attacks(labels, attacks)}
    models = {name: load_model(run) for name, run in runs.items()}
    spec = {"data": str(getattr(test_set, "root", "")), "methods": list(methods),
            "options": options, "seed": seed, "outline": outline, "credit": credit,
            "images": {a: [names[i] for i in idx] for a, idx in chosen.items()},
            "models": {name: model.fingerprint() for name, model in models.items()}}
    paths = {a: figure_path(out, a) for a in chosen}
    record = out / FIGURES_JSON
    if record.is_file() and json.loads(record.read_text(encoding="utf-8")) == spec \
            and all(p.is_file() for p in paths.values()):
        return paths
    order = sorted({i for idx in chosen.values() for i in idx})
    panels = {i: _panel(test_set, i, names, outline=outline) for i in order}
    maps: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    with progress_bar(progress) as bar:
        task = bar.add_task("attention figures", total=len(models))
        for name, model in models.items():
            found = model_maps(model, [panels[i].image for i in order], methods, seed=seed,
                               method_options=options)
            maps[name] = {m: dict(zip(order, found[m])) for m in methods}
            bar.advance(task)
    for attack, indices in chosen.items():
        per_model = {name: {m: [maps[name][m][i] for i in indices] for m in methods}
                     for name in models}
        draw_figure([panels[i] for i in indices], per_model, methods, path=paths[attack],
                    title=f"{attack}: {', '.join(methods)} of {', '.join(models)}",
                    credit=credit)
    record.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return paths
