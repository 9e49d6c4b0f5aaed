"""Compile once: every array enters a kernel through ``evbt.backtest.jit.gate``, so each Numba
kernel has one signature however its inputs were made (pandas 3's read-only ``.to_numpy()``,
Dask's unpickled buffers), and a first run on a cold cache says once that it compiles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evbt.backtest.jit import COMPILE_SECONDS, gate

ROOT = Path(__file__).resolve().parents[1]

# A backtest (with its study), a study, a sweep of two chunks and a pre-earnings table on the
# bundled sample, in one fresh process (so no other test's calls count); then every Numba
# dispatcher of every evbt.backtest module, with the signatures it holds.
_ALL_COMMANDS = """
import importlib, json, pkgutil, sys
import evbt, evbt.backtest
from evbt import api
from evbt.data.catalog import load_catalog
from evbt.data.sample import load_sample
from numba.core.registry import CPUDispatcher

out = sys.argv[1]
from evbt.backtest.study import compile_kernels
compile_kernels()  # the empty inputs a first run compiles the study's kernels on
evbt.run("examples/launch_shock.toml")
evbt.study("examples/launch_shock.toml")
evbt.run("examples/semis_shared_cash.toml")
cfg = evbt.load_config("examples/sweep_launch.toml")
api.sweep(cfg, out=out, progress=False, chunk_size=200)
api.pre_earnings(load_sample(), load_catalog(), asof="2025-12-31", lookback=15)
sigs = {}
for info in pkgutil.iter_modules(evbt.backtest.__path__):
    mod = importlib.import_module(f"evbt.backtest.{info.name}")
    for name, obj in vars(mod).items():
        if isinstance(obj, CPUDispatcher) and obj.__module__ == mod.__name__:
            sigs[f"{info.name}.{name}"] = [str(s) for s in obj.signatures]
print(json.dumps(sigs))
"""


def _run(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_every_kernel_compiles_one_signature(tmp_path):
    p = _run(_ALL_COMMANDS, str(tmp_path / "results"))
    assert p.returncode == 0, p.stderr
    sigs = json.loads(p.stdout.strip().splitlines()[-1])
    # the commands reach the kernels of every family (a walk that found none proves nothing)
    kernels = ("nb.simulate_per_ticker_nb", "nb.simulate_shared_nb", "study_nb.event_ar_nb")
    for kernel in (*kernels, "sweep_nb.sweep_nb"):
        assert sigs[kernel], f"{kernel} was never called"
    many = {k: v for k, v in sigs.items() if len(v) > 1}
    assert many == {}, json.dumps(many, indent=1)


@pytest.mark.parametrize("make", ["read_only", "fortran", "int32", "list"])
def test_gate_gives_c_contiguous_writeable_arrays_of_the_dtype(make):
    base = np.arange(12, dtype=np.int64).reshape(3, 4)
    if make == "read_only":
        a = base.copy()
        a.flags.writeable = False
    elif make == "fortran":
        a = np.asfortranarray(base)
    elif make == "int32":
        a = base.astype(np.int32)
    else:
        a = base.tolist()
    g = gate(a, np.int64)
    assert g.dtype == np.int64 and g.flags.c_contiguous and g.flags.writeable
    np.testing.assert_array_equal(g, base)


def test_gate_does_not_copy_an_array_that_qualifies():
    a = np.zeros((3, 2))
    assert gate(a, np.float64) is a  # an output array passed through keeps its identity


# ------------------------------------------------------------------ the first run talks
_LINE = "compiling the"


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(cache)  # an empty folder: Numba's cache is cold
    env.pop("NUMBA_DISABLE_JIT", None)
    env.pop("EVBT_COMPILE_NOTICE", None)  # the suite silences the line (conftest): the default
    return env


def _no_study(tmp_path: Path) -> Path:
    demo = (ROOT / "examples" / "launch_shock.toml").read_text()
    cfg = tmp_path / "no_study.toml"
    cfg.write_text(demo.replace("[study]\n", "[study]\nenabled = false\n", 1))
    return cfg


def test_a_backtest_without_its_study_names_only_the_backtest_kernels(monkeypatch, capfd, tmp_path):
    # the wording for a run without a study, and once per process however many runs: two
    # runs in this process with every kernel taken as cold (the cold cache itself is the
    # quick start test's, below: one cold process is enough for the suite)
    import evbt
    from evbt.backtest import jit

    monkeypatch.setattr(jit, "is_cold", lambda kernel: True)
    monkeypatch.setattr(jit, "_told", False)
    monkeypatch.delenv("EVBT_COMPILE_NOTICE")  # the suite silences the line (conftest)
    cfg = _no_study(tmp_path)
    for _ in range(2):
        evbt.run(cfg)
    said = [line for line in capfd.readouterr().err.splitlines() if _LINE in line]
    expect = COMPILE_SECONDS["backtest"]  # the line quotes the family's usual compile time
    assert said == [
        f"compiling the backtest kernels once (first run after install), about {expect:.0f} s"
    ]


def test_is_cold_reads_numbas_cache_index(tmp_path):
    # the real cold/warm test behind the line, on one small kernel (a whole cold run is the
    # slow quick start test's): nothing in an empty cache; the index entry once compiled
    code = (
        "import sys\nfrom evbt.backtest import jit, nb\nimport numpy as np\n"
        "print(jit.is_cold(nb.last_real_nb))\n"
        "nb.last_real_nb(np.ones(3, dtype=np.bool_))\n"
        "print(jit.is_cold(nb.last_real_nb))\n"
    )
    runs = [_run(code, env=_env(tmp_path / "numba")) for _ in range(2)]
    assert [p.stdout.split() for p in runs] == [["True", "False"], ["False", "False"]], runs


@pytest.mark.slow
def test_the_quick_start_command_says_once_that_it_compiles(tmp_path):
    """The README's first command on a cold cache: one line for the backtest and the study
    it runs; the same command again (warm) prints no such line."""
    argv = ["-m", "evbt.cli", "backtest", "examples/launch_shock.toml", "--out"]
    for i, expect in enumerate([1, 0]):
        p = subprocess.run(
            [sys.executable, *argv, str(tmp_path / f"r{i}")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env=_env(tmp_path / "numba"),
        )
        assert p.returncode == 0, p.stderr
        said = [line for line in p.stderr.splitlines() if _LINE in line]
        assert len(said) == expect, p.stderr
        if expect:
            # the study's kernels compile in a forked process beside the backtest's
            secs = max(COMPILE_SECONDS["backtest"], COMPILE_SECONDS["event-study"])
            assert said[0] == (
                "compiling the backtest and event-study kernels once (first run after "
                f"install), about {secs:.0f} s"
            )


@pytest.mark.parametrize("setting", ["0", None])
def test_evbt_compile_notice_0_silences_the_line(monkeypatch, capsys, setting):
    from evbt.backtest import jit

    monkeypatch.setattr(jit, "is_cold", lambda kernel: True)  # as on a cold cache
    monkeypatch.setattr(jit, "_told", False)
    if setting is None:
        monkeypatch.delenv("EVBT_COMPILE_NOTICE", raising=False)
    else:
        monkeypatch.setenv("EVBT_COMPILE_NOTICE", setting)
    jit.say_if_compiling(["sweep"], [object()])
    jit.say_if_compiling(["sweep"], [object()])  # once per process
    err = capsys.readouterr().err.splitlines()
    assert len(err) == (0 if setting == "0" else 1), err


def test_a_run_compiles_only_the_kernel_of_its_portfolio_mode():
    # a kernel holding both modes compiled both on a first run (4 s of the shared-cash
    # batch code for a per-ticker backtest); simulate_nb now picks one kernel per mode
    code = (
        "import evbt\nfrom evbt.backtest import nb\n"
        "evbt.run('examples/launch_shock.toml', study=False)\n"
        "print(len(nb.simulate_per_ticker_nb.signatures), "
        "len(nb.simulate_shared_nb.signatures))\n"
    )
    p = _run(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[-2:] == ["1", "0"]


# ------------------------------------------------- the study compiles beside the backtest
def test_compile_aside_runs_the_work_in_a_silent_child(monkeypatch, tmp_path, capfd):
    from evbt import api
    from evbt.backtest import jit

    monkeypatch.setattr(jit, "is_cold", lambda kernel: True)  # as on a cold cache
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # idle threads of earlier tests
    mark = tmp_path / "child_pid"

    def work():
        print("from the child")  # a child's output would repeat the parent's
        mark.write_text(str(os.getpid()))

    pid = api._compile_aside(work)
    assert pid is not None
    api._join_aside(pid)
    assert int(mark.read_text()) == pid != os.getpid()
    assert "from the child" not in capfd.readouterr().out
    with pytest.raises(ChildProcessError):  # waited for: reaped, nothing left
        os.waitpid(pid, 0)


def test_compile_aside_does_nothing_on_a_warm_cache(monkeypatch):
    from evbt import api
    from evbt.backtest import jit

    monkeypatch.setattr(jit, "is_cold", lambda kernel: False)
    assert api._compile_aside(lambda: None) is None


def test_compile_aside_does_not_fork_beside_other_threads(monkeypatch):
    # a lock another thread holds at the fork would stay held in the child, and the parent
    # would wait for it forever
    from evbt import api
    from evbt.backtest import jit

    monkeypatch.setattr(jit, "is_cold", lambda kernel: True)
    go = threading.Event()
    other = threading.Thread(target=go.wait)
    other.start()
    try:
        assert api._compile_aside(lambda: None) is None
    finally:
        go.set()
        other.join()


def test_join_aside_with_stop_ends_a_child_still_working(monkeypatch):
    import signal
    import time

    from evbt import api
    from evbt.backtest import jit

    monkeypatch.setattr(jit, "is_cold", lambda kernel: True)
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # idle threads of earlier tests
    pid = api._compile_aside(lambda: time.sleep(600))
    assert pid is not None
    monkeypatch.setattr(os, "waitpid", lambda p, o, real=os.waitpid: seen.append(real(p, o)))
    seen: list[tuple[int, int]] = []
    api._join_aside(pid, stop=True)
    assert os.WIFSIGNALED(seen[0][1]) and os.WTERMSIG(seen[0][1]) == signal.SIGKILL


def test_a_run_with_the_study_compiled_aside_gives_the_same_tables(monkeypatch):
    # force the child (as on a cold cache) on a warm one: the parent's tables must not change
    import evbt
    from evbt.backtest import jit

    cfg = ROOT / "examples" / "launch_shock.toml"
    plain = evbt.run(cfg)
    monkeypatch.setattr(jit, "is_cold", lambda kernel: True)
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # idle threads of earlier tests
    monkeypatch.setattr(jit, "_told", True)  # no compile line
    aside = evbt.run(cfg)
    for name in ("trades", "equity", "metrics"):
        pd.testing.assert_frame_equal(getattr(aside, name), getattr(plain, name))
    for name in ("panel", "summary", "events"):
        pd.testing.assert_frame_equal(getattr(aside.study, name), getattr(plain.study, name))
    assert (aside.study.skipped, aside.study.notes) == (plain.study.skipped, plain.study.notes)


def test_the_suites_numba_cache_folder_follows_every_kernel_source(tmp_path):
    """Numba checks a cached kernel against its own file only, so the suite's cache folder
    (tests/conftest.py) is named by every module of backtest/: an edit of a helper in nb.py,
    which sweep_nb and the study kernels compile in, names a new folder; the same sources,
    wherever they are, name the same one."""
    from conftest import kernel_cache_dir  # the suite's own conftest, already imported

    copy = tmp_path / "backtest"
    copy.mkdir()
    for path in (ROOT / "backtest").glob("*.py"):
        (copy / path.name).write_bytes(path.read_bytes())
    first = kernel_cache_dir(tmp_path)
    assert first.name == kernel_cache_dir(ROOT).name
    assert first.parent == tmp_path / "__pycache__"  # gitignored, beside the sources
    nb = copy / "nb.py"
    nb.write_bytes(nb.read_bytes() + b"\n# an edit\n")
    assert kernel_cache_dir(tmp_path).name != first.name
    (copy / "new_kernels.py").write_text("")
    nb.write_bytes((ROOT / "backtest" / "nb.py").read_bytes())
    assert kernel_cache_dir(tmp_path).name != first.name  # a new module counts too
