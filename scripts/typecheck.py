"""Type-check the package as it installs: one import name, ``evbt``.

pyproject's ``[tool.setuptools.package-dir]`` installs the top-level folders ``data/``,
``signals/``, ``strategies/`` and ``backtest/`` as ``evbt.data`` and so on. mypy cannot read
that mapping: run on the source folders, it finds no module ``evbt.data`` and every import of
one is ``Any`` (``evbt.run(1, 2, 3)`` passed). This script lays the installed layout out as a
tree of symlinks, ``build/typecheck/evbt/...`` (the folder mypy's ``mypy_path`` in
pyproject names), then runs mypy on the package ``evbt`` with pyproject's settings and prints
its report with the source paths (``data/calendar.py``, not the link's path).

It needs no install, so it checks the same thing in a lenient editable install, a strict one,
or none. Usage: ``python scripts/typecheck.py [mypy arguments]`` (``-p evbt`` unless a
``-c``/``-m``/``-p`` target is given); exit code: mypy's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "typecheck"


def package_dirs(root: Path = ROOT) -> dict[str, Path]:
    """Installed package name -> source folder, from pyproject's package-dir table."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    mapping = pyproject["tool"]["setuptools"]["package-dir"]
    return {pkg: root / folder for pkg, folder in mapping.items()}


def link_tree(root: Path = ROOT, tree: Path = TREE) -> dict[Path, Path]:
    """Lay ``tree`` out as the installed layout (relative symlinks to every ``.py`` and
    ``py.typed``); return link -> source. The tree is made afresh: it holds links only."""
    if tree.exists():
        shutil.rmtree(tree)
    links: dict[Path, Path] = {}
    mapped = package_dirs(root)
    folders = {folder.resolve() for folder in mapped.values()}
    for pkg, folder in mapped.items():
        dest = tree.joinpath(*pkg.split("."))
        for src in sorted(folder.rglob("*")):
            if src.suffix != ".py" and src.name != "py.typed":
                continue
            rel = src.relative_to(folder)
            # a folder mapped to its own package (evbt.data -> data/) is laid out once, there
            if any(p.resolve() in folders for p in list(src.parents)[: len(rel.parts) - 1]):
                continue
            if "__pycache__" in rel.parts:
                continue
            link = dest / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(src, link.parent))
            links[link] = src
    return links


def main(argv: list[str]) -> int:
    links = link_tree()
    # longest link folder first, so evbt/data/... maps to data/..., not evbt/data/...
    prefixes = sorted(
        {
            (str(link.parent.relative_to(ROOT)) + "/", str(src.parent.relative_to(ROOT)) + "/")
            for link, src in links.items()
        },
        key=lambda pair: -len(pair[0]),
    )
    if not {"-c", "-m", "-p", "--command", "--module", "--package"} & set(argv):
        argv = [*argv, "-p", "evbt"]
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *argv]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    for stream, text in ((sys.stdout, proc.stdout), (sys.stderr, proc.stderr)):
        for line in text.splitlines(keepends=True):
            for link_dir, src_dir in prefixes:
                if line.startswith(link_dir):
                    line = src_dir + line[len(link_dir) :]
                    break
            stream.write(line)
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
