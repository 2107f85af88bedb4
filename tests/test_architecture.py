"""The architecture stays true without anyone policing it: every import in ``src/xfas`` runs
down the layer order of the README (data -> annotations -> models -> training -> plots ->
explain -> sped -> benchmark -> workflows -> studies / serve -> cli), the package root holds
only small shared utilities, no module takes part in an import cycle, and every function takes
its parameters past the third by keyword. The source is read with ``ast``, imports inside
functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
LAYERS = (("data",), ("annotations",), ("models",), ("training",), ("plots",), ("explain",),
          ("sped",), ("benchmark",), ("workflows",), ("studies", "serve"), ("cli",))
SHARED = {"xfas", "xfas.errors", "xfas.progress", "xfas.assets"}  # importable from anywhere
# Old import paths kept for users (issues 2 and 4 named them); nothing inside xfas uses them.
COMPATIBILITY = {"xfas.metrics", "xfas.viz", "xfas.__main__"}


def module_files(root: Path) -> dict[str, Path]:
    """{dotted module name: file} of every module under ``root`` (a folder holding xfas/)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The xfas modules ``name`` imports (``from P import m`` counts as module P.m when m is
    a module, else as P)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "xfas")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            if base.split(".")[0] != "xfas":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
    return found - {name}


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: the xfas modules it imports} for every module under ``root``."""
    modules = module_files(root)
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def layer_of(module: str) -> int | None:
    """The layer index of ``module``'s top-level package (None for the shared root)."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    for index, packages in enumerate(LAYERS):
        if parts[1] in packages:
            return index
    return None


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import that runs against the layer order, and every root module that is
    neither a shared utility nor a compatibility path."""
    found = []
    for module, targets in sorted(graph.items()):
        top = ".".join(module.split(".")[:2])
        if module.count(".") == 1 and module not in SHARED | COMPATIBILITY \
                and layer_of(module) is None:
            found.append(f"{module}: a module at the package root that is not a shared utility")
        for target in sorted(targets):
            if target in COMPATIBILITY and module not in COMPATIBILITY:
                found.append(f"{module} imports {target}, an old import path kept for users")
                continue
            if module in COMPATIBILITY or target in SHARED:
                continue
            mine, theirs = layer_of(module), layer_of(target)
            same_package = ".".join(target.split(".")[:2]) == top
            if mine is None:
                found.append(f"{module} (shared utility) imports {target}")
            elif theirs is not None and not same_package and theirs >= mine:
                found.append(f"{module} imports {target}: {LAYERS[theirs]} is not below "
                             f"{LAYERS[mine]}")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: its strongly connected components of two or more
    modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_import_runs_down_the_layers() -> None:
    assert violations(import_graph(SOURCE)) == []


def test_no_module_takes_part_in_an_import_cycle() -> None:
    assert cycles(import_graph(SOURCE)) == []


def test_every_package_of_the_source_has_a_layer() -> None:
    packages = {p.name for p in (SOURCE / "xfas").iterdir()
                if p.is_dir() and (p / "__init__.py").is_file()}
    assert packages == {name for layer in LAYERS for name in layer}


MAX_POSITIONAL = 3
FRAMEWORK_DECORATORS = (".command", ".callback")  # typer passes every option by keyword


def positional_overflows(root: Path) -> list[str]:
    """Every function under ``root`` with more than ``MAX_POSITIONAL`` positional parameters
    (``self`` and ``cls`` not counted; typer commands left out)."""
    found = []
    for name, path in module_files(root).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if any(ast.unparse(d).split("(")[0].endswith(FRAMEWORK_DECORATORS)
                   for d in node.decorator_list):
                continue
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            if names and names[0] in ("self", "cls"):
                names = names[1:]
            if len(names) > MAX_POSITIONAL:
                found.append(f"{name}.{node.name} (line {node.lineno}): {len(names)} positional "
                             "parameters")
    return found


def test_parameters_past_the_third_are_keyword_only() -> None:
    assert positional_overflows(SOURCE) == []


def test_the_keyword_check_finds_a_planted_function(tmp_path) -> None:
    root = _tree(tmp_path, {"xfas/data/a.py": "def f(a, b, c, *, d):\n    pass\n"
                                             "class C:\n    def g(self, a, b, c, d):\n"
                                             "        pass\n"})
    assert positional_overflows(root) == ["xfas.data.a.g (line 4): 4 positional parameters"]


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("files", "expected"), [
    ({"xfas/data/io.py": "def f():\n    from xfas.models import m\n",
      "xfas/models/m.py": ""}, "xfas.data.io imports xfas.models.m"),
    ({"xfas/explain/r.py": "from xfas.sped import SPED\n", "xfas/sped/__init__.py": ""},
     "xfas.explain.r imports xfas.sped"),
    ({"xfas/serve/a.py": "import xfas.studies.attention\n",
      "xfas/studies/attention/__init__.py": ""}, "xfas.serve.a imports xfas.studies.attention"),
    ({"xfas/helpers.py": "x = 1\n"}, "xfas.helpers: a module at the package root"),
    ({"xfas/errors.py": "from xfas.data import x\n", "xfas/data/x.py": ""},
     "xfas.errors (shared utility) imports xfas.data.x"),
    ({"xfas/plots/a.py": "from xfas import viz\n", "xfas/viz.py": ""},
     "xfas.plots.a imports xfas.viz, an old import path"),
])
def test_the_checker_finds_a_planted_violation(tmp_path, files, expected) -> None:
    found = violations(import_graph(_tree(tmp_path, files)))
    assert any(line.startswith(expected) for line in found), found


def test_the_checker_allows_downward_and_same_package_imports(tmp_path) -> None:
    root = _tree(tmp_path, {"xfas/cli/a.py": "from xfas.data import io\nfrom xfas.cli import b\n",
                            "xfas/cli/b.py": "from xfas.errors import E\n",
                            "xfas/data/io.py": "", "xfas/errors.py": ""})
    assert violations(import_graph(root)) == []


def test_the_checker_finds_a_planted_cycle(tmp_path) -> None:
    root = _tree(tmp_path, {"xfas/sped/a.py": "from xfas.sped.b import x\n",
                            "xfas/sped/b.py": "def f():\n    from xfas.sped import a\n",
                            "xfas/sped/c.py": "from xfas.sped import a\n"})
    assert cycles(import_graph(root)) == [["xfas.sped.a", "xfas.sped.b"]]
