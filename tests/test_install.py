"""A regular (non-editable) install exposes exactly one import name, ``evbt``, and works from
a folder that holds its own ``data/`` and ``backtest/`` packages.

To stay quick, the fresh virtualenv borrows the already-installed dependencies: a ``.pth``
file lists this interpreter's site-packages. A path listed in a ``.pth`` file is put on
``sys.path`` but not processed as a site dir, so the editable install's finder (a ``.pth``
of its own there) is not loaded; the venv sees only the evbt it installed itself.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # a wheel build and a cold Numba compile: about a minute

# What a build reads: the project file, the README (long description) and the packages.
SOURCES = ("pyproject.toml", "README.md", "evbt", "data", "signals", "strategies", "backtest")


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{argv}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _can_build_here() -> bool:
    """setuptools >= 69 and wheel importable: build without an isolated environment."""
    if importlib.util.find_spec("wheel") is None:
        return False
    import setuptools

    return int(setuptools.__version__.split(".")[0]) >= 69


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "results")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    env_dir = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    py = env_dir / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    host = sysconfig.get_paths()["purelib"]
    (Path(purelib.stdout.strip()) / "_host_site.pth").write_text(host + "\n")
    pip = [str(py), "-m", "pip", "install", "--no-deps", "--ignore-installed", "--quiet"]
    if _can_build_here():
        pip.append("--no-build-isolation")
    _run([*pip, str(src)], cwd=tmp)
    return env_dir


def test_only_evbt_is_a_top_level_name(venv):
    code = textwrap.dedent(
        """
        import importlib.metadata as md, json, sys
        dist = md.distribution("evbt")
        files = [str(f) for f in dist.files]
        tops = sorted({f.split("/")[0] for f in files
                       if not f.split("/")[0].endswith(".dist-info") and not f.startswith("..")})
        print(json.dumps({"path": str(dist._path), "prefix": sys.prefix, "tops": tops,
                          "top_level": dist.read_text("top_level.txt"), "files": files}))
        """
    )
    got = json.loads(_run([str(venv / "bin" / "python"), "-c", code], cwd=venv).stdout)
    assert got["path"].startswith(got["prefix"])  # the venv's own install, not the editable one
    assert got["tops"] == ["evbt"]
    assert got["top_level"] is None or got["top_level"].split() == ["evbt"]
    files = set(got["files"])
    assert {"evbt/data/calendar.py", "evbt/backtest/nb.py", "evbt/cli/__init__.py"} <= files
    assert any(f.startswith("evbt/data/sample/") and f.endswith(".parquet") for f in files)
    assert "evbt/data/events/catalog.csv" in files


def test_runs_beside_a_users_own_data_and_backtest_packages(venv, tmp_path):
    user = tmp_path / "project"
    for pkg in ("data", "backtest"):
        (user / pkg).mkdir(parents=True)
        (user / pkg / "__init__.py").write_text(f"WHO = 'user {pkg}'\n")
    (user / "data" / "calendar.py").write_text("raise ImportError('the user calendar')\n")
    (user / "demo.toml").write_text(
        '[strategy]\nname = "launch_shock"\n\n[study]\nenabled = false\n'
    )
    code = textwrap.dedent(
        """
        import json
        import data, backtest, evbt
        result = evbt.run(evbt.load_config("demo.toml"))
        print(json.dumps({"data": data.WHO, "backtest": backtest.WHO,
                          "evbt": evbt.__file__, "trades": len(result.trades),
                          "synthetic": result.manifest["data"]["synthetic"]}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = _run([str(venv / "bin" / "python"), "-c", code], cwd=user, env=env)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["data"] == "user data" and got["backtest"] == "user backtest"
    assert got["evbt"].startswith(str(venv))
    assert got["trades"] > 0 and got["synthetic"] is True


def test_console_script_is_installed(venv, tmp_path):
    proc = _run([str(venv / "bin" / "evbt"), "--help"], cwd=tmp_path)
    assert "backtest" in proc.stdout and "events" in proc.stdout
