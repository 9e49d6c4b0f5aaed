"""The package's layers: no upward imports, no cycles (ruff and mypy run as their own CI step)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- layering
# The package's layers, lowest first. A module may import its own layer and those below it,
# never above; and module-level imports form no cycle. (evbt/__init__.py is the public API
# and imports lazily, so importing any evbt.* module loads nothing above it.)
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("evbt.errors", "evbt.fsutil", "evbt.hints")),
    ("strategies", ("evbt.strategies",)),
    ("data", ("evbt.data",)),
    ("signals", ("evbt.signals",)),
    ("backtest", ("evbt.backtest",)),
    (
        "application",
        (
            "evbt",
            "evbt.api",
            "evbt.config",
            "evbt.manifest",
            "evbt.parts",
            "evbt.report",
            "evbt.result",
            "evbt.store",
        ),
    ),
    ("cli", ("evbt.cli",)),
]
# Imports inside a function that reach up on purpose, each with its reason (none today).
UPWARD_ALLOWED: set[tuple[str, str]] = set()
# Computation never loads or writes: edges that are downward but still forbidden, at module
# level or inside a function (orchestration up, computation down).
FORBIDDEN = {
    "evbt.backtest": ("evbt.data",),
}


def _layer(module: str) -> int:
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    return rank


def _modules() -> dict[str, Path]:
    """Every module of the package, by installed name, from pyproject's package-dir map."""
    import tomllib

    pdir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    out: dict[str, Path] = {}
    for pkg, folder in pdir.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([pkg, *parts])] = path
    return out


def _imports(path: Path, name: str, known: dict[str, Path]) -> list[tuple[str, bool, int]]:
    """(imported evbt module, at module level?, line) for every import in ``path``."""
    import ast

    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # annotations only, never executed
            child_top = top and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import):
                out.extend((a.name, top, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    pkg = name if is_pkg else name.rpartition(".")[0]
                    for _ in range(child.level - 1):
                        pkg = pkg.rpartition(".")[0]
                    base = f"{pkg}.{base}" if base else pkg
                for a in child.names:
                    sub = f"{base}.{a.name}"
                    out.append((sub if sub in known else base, top, child.lineno))
            visit(child, child_top)

    visit(tree, True)
    return [(m, top, line) for m, top, line in out if m == "evbt" or m.startswith("evbt.")]


def _is_type_checking(test: object) -> bool:
    import ast

    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_parent(target: str, name: str) -> bool:
    """Importing a package's own parent (``evbt`` from ``evbt.api``) runs no code of it
    beyond what already ran: not an edge of a circle."""
    return name.startswith(target + ".")


def test_every_module_has_a_layer():
    mods = _modules()
    assert "evbt.data.calendar" in mods and "evbt.cli" in mods and "evbt.api" in mods
    assert [m for m in mods if _layer(m) < 0] == []


def test_no_upward_imports():
    mods = _modules()
    bad = []
    for name, path in mods.items():
        for target, top, line in _imports(path, name, mods):
            if _layer(target) <= _layer(name):
                continue
            if not top and (name, _prefix(target)) in UPWARD_ALLOWED:
                continue
            where = "module level" if top else "in a function"
            bad.append(
                f"{path.relative_to(ROOT)}:{line}: {name} ({LAYERS[_layer(name)][0]}) imports "
                f"{target} ({LAYERS[_layer(target)][0]}) {where}"
            )
    assert bad == [], "\n".join(bad)


def _prefix(target: str) -> str:
    for _, prefixes in LAYERS:
        for p in prefixes:
            if p != "evbt" and (target == p or target.startswith(p + ".")):
                return p
    return target


def test_package_init_imports_nothing_at_import_time():
    mods = _modules()
    eager = [t for t, top, _ in _imports(mods["evbt"], "evbt", mods) if top]
    assert eager == []  # evbt/__init__.py resolves its names lazily (PEP 562)


def test_computation_loads_and_writes_nothing():
    """backtest/ takes arrays and frames: it imports neither the data layer (loading) nor
    anything above it (store, report, CLI), not even inside a function."""
    mods = _modules()
    bad = []
    for name, path in mods.items():
        for layer, banned in FORBIDDEN.items():
            if not (name == layer or name.startswith(layer + ".")):
                continue
            for target, _top, line in _imports(path, name, mods):
                if any(target == b or target.startswith(b + ".") for b in banned):
                    bad.append(f"{path.relative_to(ROOT)}:{line}: {name} imports {target}")
    assert bad == [], "\n".join(bad)


def test_kernels_never_import_pandas():
    import ast

    bad = []
    for path in sorted((ROOT / "backtest").glob("*nb.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "pandas"]
    assert bad == []


@pytest.mark.parametrize("in_functions", [False, True], ids=["module level", "all imports"])
def test_no_import_cycles(in_functions):
    """No circle among the package's modules: at module level, and counting the imports
    inside functions too (a circle hidden in a function is still a circle)."""
    mods = _modules()
    graph = {
        name: {
            t
            for t, top, _ in _imports(path, name, mods)
            if (top or in_functions) and t in mods and t != name and not _is_parent(t, name)
        }
        for name, path in mods.items()
    }
    # a module's import also runs its parent packages' __init__ (not a cycle by itself)
    cycles, index, low, stack, on = [], {}, {}, [], set()

    def strong(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    assert cycles == []


# --------------------------------------------------------------------------- type checks
def _typecheck_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("typecheck", ROOT / "scripts" / "typecheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_typecheck_tree_is_the_installed_layout(tmp_path):
    """scripts/typecheck.py lays out every module under its installed name, nothing more."""
    links = _typecheck_script().link_tree(ROOT, tmp_path)
    names = set()
    for link, src in links.items():
        assert link.resolve() == src.resolve()
        if link.suffix == ".py":
            parts = [p for p in link.relative_to(tmp_path).with_suffix("").parts if p != "__init__"]
            names.add(".".join(parts))
    assert names == set(_modules())


@pytest.mark.slow  # mypy on the package (about 35 s where no mypy cache is left)
def test_mypy_sees_the_mapped_packages(capsys):
    """On the installed layout mypy knows evbt.data and the rest (they are not Any): a module
    assigned to an int is an error it reports, once per package."""
    code = "import evbt.backtest, evbt.data, evbt.signals, evbt.strategies\n" + "".join(
        f"{p}: int = evbt.{p}\n" for p in ("backtest", "data", "signals", "strategies")
    )
    # incremental, like `python scripts/typecheck.py`: CI's type-check step runs first and
    # leaves mypy's cache, so this check takes seconds, not the 30-40 s of a cold one
    # (mypy checks each cached module's source hash: an edited module is checked afresh)
    rc = _typecheck_script().main(["-c", code])
    out = capsys.readouterr().out
    assert rc == 1, out
    assert out.count('expression has type Module, variable has type "int"') == 4, out
    assert "Cannot find" not in out and "Found 4 errors" in out, out
