"""Docs are tests: the README quick start and every example config run here."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from evbt.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
REAL = ROOT.parent / "shared" / "marketdata" / "prices.parquet"


def _command(marker: str) -> str:
    m = re.search(rf"<!-- ci: {marker} -->\s*```bash\n(.+?)\n```", README)
    assert m, f"README quick start lacks the '{marker}' block"
    return m.group(1).strip()


def test_quick_start_has_exactly_two_commands():
    block = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", block, flags=re.S)
    assert len(commands) == 2
    assert all(len(c.strip().splitlines()) == 1 for c in commands)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "<!-- ci: test command -->" in ci and "venv" in ci
    assert "pytest" in _command("test command") and ".[test]" in _command("test command")


def test_main_command_runs_the_backtest_it_names(tmp_path, capsys):
    cmd = _command("main command")
    install, _, run = cmd.rpartition("&&")  # the last step runs; the ones before install
    assert "pip install" in install and "venv" in install
    argv = shlex.split(run)
    assert argv[:2] == ["evbt", "backtest"]
    assert (ROOT / argv[2]).exists()
    code = main([*argv[1:2], str(ROOT / argv[2]), *argv[3:], "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "SYNTHETIC DATA" in out  # the bundled sample says so


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_config_runs(path, tmp_path, capsys):
    raw = tomllib.loads(path.read_text())
    reads_real = raw.get("data", {}).get("source") == "file" and "shared/marketdata" in raw[
        "data"
    ].get("prices", "")
    if reads_real and not REAL.exists():
        pytest.skip(f"{path.name} reads real prices at {REAL}, absent here")
    command = "sweep" if raw.get("sweep") else "study" if "study" in path.stem else "backtest"
    args = [command, str(path), "--out", str(tmp_path), "--json"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err
    assert any(tmp_path.iterdir())


# Modules whose docstring examples are the notebook API's documentation: they must run.
DOCTEST_MODULES = [
    "evbt",
    "evbt.config",
    "evbt.strategies.config",
    "evbt.result",
    "evbt.strategies.presets",
    "evbt.fsutil",
    "evbt.hints",
]


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    import doctest
    import importlib
    import io

    monkeypatch.chdir(tmp_path)  # an example that writes, writes here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = io.StringIO()
    for test in finder.find(module, name):
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0, out.getvalue()[-4000:]


def test_every_contract_the_code_cites_is_defined():
    """ "contract C1" and friends, cited across the code, each have a section in
    docs/contracts.md."""
    text = (ROOT / "docs" / "contracts.md").read_text()
    defined = set(re.findall(r"^## (C\d+):", text, flags=re.M))
    cited: set[str] = set()
    for folder in ("evbt", "data", "signals", "strategies", "backtest", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            cited |= set(re.findall(r"\bC([1-9])\b", path.read_text()))
    cited_names = {f"C{n}" for n in cited}
    assert cited_names, "no contract cited: the pattern is wrong"
    assert cited_names <= defined, sorted(cited_names - defined)


def _gen_docs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_docs_are_up_to_date():
    """docs/cli.md (every --help), the Defaults table (the config dataclasses) and the
    metric table (the registry) are what scripts/gen_docs.py makes of the code now."""
    stale = [
        str(path.relative_to(ROOT))
        for path, text in _gen_docs().expected().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], f"out of date: {stale}: run python scripts/gen_docs.py"


def test_cli_reference_is_every_commands_help(capsys, monkeypatch):
    """docs/cli.md holds, for each command, exactly what `evbt ... --help` prints (in a
    terminal 80 or more columns wide)."""
    monkeypatch.setenv("COLUMNS", "120")
    text = (ROOT / "docs" / "cli.md").read_text()
    sections = re.findall(r"^## (evbt[^\n]*)\n\n```text\n(.*?)\n```", text, flags=re.S | re.M)
    assert len(sections) > 20
    _gen_docs().render_cli()  # resets click's cached help options (see _commands)
    for name, body in sections:
        code = main([*name.split()[1:], "--help"])
        out = capsys.readouterr().out
        assert code == 0
        assert out.rstrip() == body, name


def test_docs_links_resolve():
    """Every relative link of the README and docs/*.md points at a file that exists."""
    bad = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            if not (page.parent / target).exists():
                bad.append(f"{page.relative_to(ROOT)}: {target}")
    assert bad == []
