"""Packaging: an SPDX license with its file, bundled data inside the package that reads it,
and a wheel build that prints no setuptools warning."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"  # a string (PEP 639), not the deprecated table
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert re.search(r"Copyright \(c\) \d{4} evbt developers", text)


def _package_folders() -> dict[str, Path]:
    """Every folder the package installs, by package name (the package-dir map, walked)."""
    out: dict[str, Path] = {}
    for pkg, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items():
        base = ROOT / folder
        for d in [base, *sorted(p for p in base.rglob("*") if p.is_dir())]:
            rel = d.relative_to(base).parts
            if "__pycache__" in rel or any(part.startswith(".") for part in rel):
                continue
            out[".".join([pkg, *rel])] = d
    return out


def test_every_installed_folder_is_a_listed_package():
    """A folder inside a package is importable (a namespace package) whether or not it holds
    code; setuptools warns when one is not in ``packages``. So each folder that ships files is a
    regular package, listed: data files live in the package that reads them."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    bad = []
    for name, folder in _package_folders().items():
        if not any(p.is_file() for p in folder.iterdir()):
            continue
        if not (folder / "__init__.py").is_file():
            bad.append(f"{folder.relative_to(ROOT)}: no __init__.py")
        if name not in listed:
            bad.append(f"{name} ({folder.relative_to(ROOT)}): not in [tool.setuptools] packages")
    assert bad == []


def test_no_module_beside_a_folder_of_the_same_name():
    bad = [
        str(folder.relative_to(ROOT))
        for folder in _package_folders().values()
        if folder.with_suffix(".py").exists()
    ]
    assert bad == []


def test_sample_data_is_read_through_importlib_resources():
    from importlib import resources

    from evbt.data import sample

    expected = resources.files("evbt.data.sample").joinpath("sample_prices.parquet")
    assert expected.is_file()
    assert str(expected) == sample.SAMPLE_PATH
    df = sample.load_sample()
    assert df.attrs["synthetic"] is True and df.attrs["origin"] == str(expected)


def _can_build_here() -> bool:
    """setuptools >= 77 (SPDX license strings) and wheel importable: build offline."""
    if importlib.util.find_spec("wheel") is None:
        return False
    import setuptools

    return int(setuptools.__version__.split(".")[0]) >= 77


def test_wheel_builds_without_a_warning(tmp_path):
    """The wheel, built from the tracked sources, prints no warning from setuptools (license
    form, package discovery, data files); and it carries the license and the bundled data."""
    if not _can_build_here():
        pytest.skip("needs setuptools>=77 and wheel to build offline (pip install -e '.[test]')")
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "results")
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    for folder in {str(f) for f in PYPROJECT["tool"]["setuptools"]["package-dir"].values()}:
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    # PYTHONDONTWRITEBYTECODE makes distutils log "byte-compiling is disabled": not ours.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    argv = [sys.executable, "-m", "pip", "wheel", ".", "--no-build-isolation", "--no-deps"]
    proc = subprocess.run(
        [*argv, "--no-cache-dir", "-v", "-w", str(tmp_path / "wheel")],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    warnings = [line.strip() for line in log.splitlines() if re.search(r"warn", line, re.I)]
    assert warnings == [], log[-6000:]
    (wheel,) = (tmp_path / "wheel").glob("evbt-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(meta).decode()
    assert "License-Expression: MIT" in metadata.splitlines()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {
        "evbt/py.typed",
        "evbt/data/sample/__init__.py",
        "evbt/data/sample/sample_prices.parquet",
        "evbt/data/events/catalog.csv",
        "evbt/data/events/attributes.csv",
    } <= names
