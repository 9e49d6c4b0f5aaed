"""Shared fixtures. Real market data lives outside the repo, in ../shared/marketdata.

Also the suite's speed settings (issue 17):

- Hypothesis profiles: ``quick`` (the default run) and ``thorough`` (any run that selects
  the slow tests: ``-m slow``, CI's ``-m "slow or not slow"``, or
  ``EVBT_HYPOTHESIS=thorough``). Each property test states its full example count in its
  ``@settings(max_examples=n)``; ``thorough`` runs ``n``, ``quick`` a tenth of it (at
  least 10). CI selects the slow tests, so it checks each property with its full count.
- pytest-xdist groups (``--dist loadgroup`` in pyproject's addopts): every test is put in
  one group per kernel family (the tests that compile the same Numba kernels or vectorbt's
  ``simulate_from_signals_nb``) or else per file, so both workers compile different kernels
  and a module-scoped fixture is built once. Every test that calls vectorbt (its name says
  ``vectorbt``) is in the vectorbt group, wherever it lives, so one worker compiles
  vectorbt's kernels, once per call shape.
- The order the groups are handed out (``--no-loadscope-reorder``; the tests are sorted
  here): the three families that compile first, one per worker as they come free (the
  backtest kernel with vectorbt's, then the study kernels, then the sweep and overfitting
  kernels), then the long groups that compile nothing of their own (LONG_GROUPS, by their
  measured time), then the other groups, largest first. By the time those run, the kernels
  they need are in the Numba cache (shared by the workers), so a cold run compiles each
  kernel once instead of on both workers at once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
REAL_PRICES = ROOT.parent / "shared" / "marketdata" / "prices.parquet"
EVENTS_MD = ROOT.parent / "shared" / "reference" / "events.md"


def kernel_cache_dir(root: Path) -> Path:
    """The suite's Numba cache folder: named by a digest of every module in ``backtest/``.

    Numba keys a kernel's on-disk cache on its own file's timestamp and size, not on the
    helpers it compiles in from other files: after an edit of backtest/nb.py a warm in-tree
    cache went on serving sweep_nb compiled with the old helpers (2026-12-06), so a test
    could pass on code that is no longer there. An edit anywhere in backtest/ gives a new
    folder here, and so a compile of the code as it is.
    """
    digest = hashlib.sha256()
    for path in sorted((root / "backtest").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return root / "__pycache__" / f"numba-{digest.hexdigest()[:16]}"


# A caller's NUMBA_CACHE_DIR wins (CI and run_all.py set a cold one); else the suite and its
# subprocesses cache in kernel_cache_dir, set before anything imports Numba. The folders of
# earlier sources are left for the developer to delete (they are under __pycache__).
os.environ.setdefault("NUMBA_CACHE_DIR", str(kernel_cache_dir(ROOT)))

# The first-run line "compiling the ... kernels once" (evbt.backtest.jit) stays off in the
# suite, subprocesses included: on CI's cold cache it would be a second line on stderr where
# a test expects one error line. tests/test_jit.py turns it on where it checks it.
os.environ.setdefault("EVBT_COMPILE_NOTICE", "0")

# Settings every property test shares (each test may add its own on top).
_COMMON = {"derandomize": True, "deadline": None, "database": None}
settings.register_profile("quick", **_COMMON)
settings.register_profile("thorough", **_COMMON)
QUICK_SHARE, QUICK_MIN = 10, 10  # quick: max_examples // 10, at least 10


def _quick(test: object) -> None:
    """Run a property test with a tenth of its stated examples (once per function)."""
    fn = getattr(test, "__func__", test)  # a method's function
    if getattr(fn, "_evbt_quick", False):
        return
    # Where @settings/@given keep a test's settings, read by hypothesis when the test runs.
    stated = getattr(fn, "_hypothesis_internal_use_settings", None)
    if stated is None:
        raise RuntimeError(
            "hypothesis no longer keeps a test's settings in _hypothesis_internal_use_settings: "
            "update tests/conftest.py's quick profile"
        )
    n = min(stated.max_examples, max(QUICK_MIN, stated.max_examples // QUICK_SHARE))
    fn._hypothesis_internal_use_settings = settings(stated, max_examples=n)
    fn._evbt_quick = True


# Test file -> xdist group. Files that compile the same kernels share a group, so one worker
# compiles them while the other compiles a different family. Files not listed are a group of
# their own (their module fixtures are built once, on one worker).
KERNEL_FAMILY = {
    # the backtest kernel (simulate_nb) and vectorbt's simulate_from_signals_nb
    "test_parity_vectorbt.py": "vectorbt",
    "test_trust.py": "vectorbt",
    "test_engine.py": "vectorbt",
    "test_metrics.py": "vectorbt",
    # the event-study kernels (event_ar_nb, placebo_car_nb, ...)
    "test_study.py": "study",
    "test_study_clustering.py": "study",
    "test_study_calibration.py": "study",
    # the sweep and the overfitting statistics
    "test_sweep.py": "sweep",
    "test_overfit.py": "sweep",
}


# Tests with a group of their own, by file and name: they mostly wait (the Ctrl-C test sleeps
# 8 s while its query spins), so they are handed out early, not left for the end.
OWN_GROUP = {("test_cli_runs.py", "test_ctrl_c_interrupts_a_runaway_query"): "ctrl-c"}

# Groups handed out first, in this order (see the module docstring).
FIRST_GROUPS = ("vectorbt", "study", "sweep")
# Then the long groups that compile no kernel of their own, longest first (worker seconds
# in a cold run on 2026-12-04 at load 5, about 2.5 times the idle figures, in this order:
# 44, 8, 40, 35, 32, 32, 19, 19, 18, 15, 14), so none starts late and leaves the other worker
# idle at the end. The first two come before the longer ones: they mostly wait (on Chromium,
# on the Ctrl-C test's query), so they start on the worker that does not run vectorbt (its
# group is the longest) while the other one still compiles. By the time they start, the
# kernels their subprocesses run are in the Numba cache.
LONG_GROUPS = (
    "test_report_browser.py",
    "ctrl-c",
    "test_bad_inputs.py",
    "test_alerts.py",
    "test_jit.py",
    "test_resume.py",
    "test_store.py",
    "test_report.py",
    "test_cli.py",
    "test_cli_runs.py",
    "test_docs.py",
)


def _group(item: pytest.Item) -> str:
    if "vectorbt" in item.name:
        return "vectorbt"
    name = item.path.name
    own = OWN_GROUP.get((name, getattr(item, "originalname", item.name)))
    return own or KERNEL_FAMILY.get(name, name)


def _in_schedule_order(items: list[pytest.Item], group: dict[pytest.Item, str]) -> None:
    """Sort ``items`` (in place, stable) so that xdist hands out FIRST_GROUPS first, then
    LONG_GROUPS, then the other groups, largest first (as xdist's own reorder would), ties
    by name."""
    size: dict[str, int] = {}
    for item in items:
        size[group[item]] = size.get(group[item], 0) + 1

    first = (*FIRST_GROUPS, *LONG_GROUPS)

    def rank(item: pytest.Item) -> tuple[int, int, str]:
        g = group[item]
        if g in first:
            return (first.index(g), 0, "")
        return (len(first), -size[g], g)

    items.sort(key=rank)


def _selects_slow(config: pytest.Config) -> bool:
    """Whether ``-m`` selects the slow tests (``-m slow``, ``-m "slow or realdata"``)."""
    expr = (config.getoption("markexpr", "") or "").replace("not slow", "")
    return "slow" in expr


def pytest_configure(config: pytest.Config) -> None:
    wanted = os.environ.get("EVBT_HYPOTHESIS")
    if wanted not in (None, "", "quick", "thorough"):
        raise pytest.UsageError(f"EVBT_HYPOTHESIS={wanted!r}: use quick or thorough")
    thorough = wanted == "thorough" or (not wanted and _selects_slow(config))
    settings.load_profile("thorough" if thorough else "quick")


@pytest.hookimpl(tryfirst=True)  # before the mark plugin deselects by -m
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    thorough = settings.get_current_profile_name() == "thorough"
    group = {item: _group(item) for item in items}
    _in_schedule_order(items, group)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group[item]))
        test = getattr(item, "obj", None)
        if not getattr(test, "is_hypothesis_test", False):
            continue
        if thorough:  # the slow run checks every property with its full example count
            item.add_marker(pytest.mark.slow)
        else:
            _quick(test)


# After xdist's own pytest_collection_modifyitems, which should have done this.
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_group_suffix(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Give each test its ``@group`` suffix where xdist's hook could not (on a worker).

    xdist's loadgroup scheduler reads a test's group from its nodeid (``...::test@group``),
    which xdist 3.8 writes to ``item._nodeid``; pytest 9.2 keeps the nodeid in ``item._id``
    (a ``NodeId``), so the suffix never lands and the groups are silently ignored (every
    test is scheduled on its own: pytest-xdist issue 1386). Here the suffix is written to
    ``_id`` when it is missing; once xdist writes it itself, this does nothing.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers only
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix):
            from _pytest.nodeid import NodeId  # pytest >= 9.2

            item._id = NodeId.parse(item.nodeid + suffix)
            if not item.nodeid.endswith(suffix):
                raise RuntimeError(
                    "pytest no longer keeps a test's nodeid in item._id: update the xdist "
                    "group suffix in tests/conftest.py"
                )


@pytest.fixture(scope="session")
def real_prices() -> pd.DataFrame:
    """The real daily prices (never copied into the repo); skip where absent."""
    if not REAL_PRICES.exists():
        pytest.skip(
            f"real prices not found at {REAL_PRICES} (present on developer machines and CI)"
        )
    return pd.read_parquet(REAL_PRICES)
