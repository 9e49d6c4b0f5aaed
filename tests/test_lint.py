"""The package's layers: no upward imports, no cycles (ruff and mypy run as their own CI step)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- layering
# The package's layers, lowest first. A module may import its own layer and those below it,
# never above; and module-level imports form no cycle. (evbt/__init__.py is the public API
# and imports lazily, so importing any evbt.* module loads nothing above it.)
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("errors", ("evbt.errors", "evbt.fields")),
    ("strategies", ("evbt.strategies",)),
    ("config", ("evbt.config", "evbt.grid")),
    ("data", ("evbt.data",)),
    ("signals", ("evbt.signals",)),
    ("backtest", ("evbt.backtest",)),
    ("store/report/api", ("evbt.store", "evbt.report", "evbt")),
    ("cli", ("evbt.cli",)),
]
# Imports inside a function that reach up on purpose, each with its reason.
UPWARD_ALLOWED = {
    # BacktestResult.write / StudyRun.write: the result object is the notebook's handle on
    # its run folder; the store is imported only when .write() is called.
    ("evbt.backtest.result", "evbt.store"),
    # A sweep streams its parts into a run folder while it runs (begin_run / finish_run,
    # contract C3): the store is its output channel, loaded when the sweep starts.
    ("evbt.backtest.sweep", "evbt.store"),
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


def test_every_module_has_a_layer():
    mods = _modules()
    assert "evbt.data.calendar" in mods and "evbt.cli" in mods
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


def test_no_import_cycles():
    mods = _modules()
    graph = {
        name: {t for t, top, _ in _imports(path, name, mods) if top and t in mods and t != name}
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
