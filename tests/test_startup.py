"""Start-up and exit of the evbt process (issue 17): the collector tuning stays inside the
command's own interpreter (paused through a run, on while Numba compiles), OpenBLAS is asked
for one thread there, the bundled sample is validated once a process, and the shared
plotly.js is a byte copy written only in the root."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from evbt.cli import main
from evbt.cli._common import loading, working
from evbt.errors import InputError
from evbt.report.assets import ASSETS, ensure_plotly, plotly_name, plotly_text


def test_main_called_from_python_leaves_the_collector_alone(capsys):
    frozen = gc.get_freeze_count()
    with loading():
        assert gc.isenabled()
    with working():
        assert gc.isenabled()
    assert main(["events", "list", "--kind", "earnings", "--json"]) == 0
    capsys.readouterr()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_the_evbt_process_freezes_its_imports_and_its_exit():
    """``main()`` with no argv (the console script): imports frozen, collector back on."""
    code = textwrap.dedent(
        """
        import gc, io, contextlib, sys
        sys.argv = ["evbt", "report", "--help"]
        from evbt.cli import main
        from evbt.cli._common import loading
        with contextlib.redirect_stdout(io.StringIO()):
            assert main() == 0
        assert gc.isenabled() and gc.get_freeze_count() > 0
        gc.unfreeze()
        with loading():
            import json  # noqa: F401
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() > 0
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def _run_python(code: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_run_pauses_the_collector_except_while_numba_compiles():
    """In the evbt process ``working()`` keeps the collector off through the run and on
    while a kernel compiles (Numba's compiler makes cycles by the million); after it,
    what the run made is frozen and the collector is back on."""
    code = """
        import gc
        from numba import njit
        from numba.core import event
        from evbt.cli._common import own_process, working

        class Passes(event.Listener):  # Numba's compiler passes: inside a compilation
            seen = []
            def on_start(self, ev):
                self.seen.append(gc.isenabled())
            def on_end(self, ev):
                pass

        own_process()
        with working():
            assert not gc.isenabled()
            with event.install_listener("numba:run_pass", Passes()):
                assert njit(lambda x: x + 1)(1) == 2  # no cache: compiles here
            assert Passes.seen and all(Passes.seen), Passes.seen
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() > 0
        print("ok")
        """
    assert _run_python(code) == "ok"


def test_numba_loads_without_scipy_linalg_and_still_has_blas():
    """Numba probes for BLAS by importing scipy.linalg; a run loads Numba without it, and a
    kernel that does use BLAS still compiles with it (the probe's answer is kept)."""
    code = """
        import sys
        import numpy as np
        from numba import njit
        from evbt.cli._common import own_process, working

        own_process()
        with working():
            from numba.np import arraymath
            assert "numba.np.arraymath" in sys.modules and arraymath._HAVE_BLAS is True
            assert "scipy.linalg" not in sys.modules
            assert sys.modules.get("scipy.linalg.cython_blas", 0) is not None
            a = np.arange(1.0, 40.0)
            assert njit(lambda x, y: np.dot(x, y))(a, a) == np.dot(a, a)
            assert "scipy.linalg.cython_blas" in sys.modules  # loaded for the kernel
        print("ok")
        """
    assert _run_python(code) == "ok"


@pytest.mark.parametrize(
    ("given", "expected"),
    [({}, "1"), ({"OMP_NUM_THREADS": "3"}, None), ({"OPENBLAS_NUM_THREADS": "2"}, "2")],
)
def test_the_evbt_process_asks_openblas_for_one_thread_unless_told(given, expected):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
    }
    code = """
        import os
        from evbt.cli._common import own_process
        own_process()
        print(os.environ.get("OPENBLAS_NUM_THREADS"))
        """
    assert _run_python(code, env={**env, **given}) == str(expected)


def test_the_bundled_sample_is_validated_once_a_process(monkeypatch):
    from evbt.data import sample, sources
    from evbt.data.contract import validate_prices

    calls: list[str] = []

    def counted(df, *, origin="price table"):
        calls.append(origin)
        return validate_prices(df, origin=origin)

    monkeypatch.setattr(sample, "validate_prices", counted)
    monkeypatch.setattr(sources, "validate_prices", counted)
    sample._load.cache_clear()
    try:
        a = sources.load_prices(["NVDA", "SMH"], "2024-01-02", "2024-12-31")
        b = sources.load_prices(["NVDA"], "2025-01-02", "2025-03-31")
    finally:
        sample._load.cache_clear()
    assert calls == [sample.SAMPLE_PATH]  # the file once, not each table handed out
    assert a.attrs["synthetic"] is True and len(a) and len(b)
    # what skipping the second check relies on: the table is what the validator returns
    table = sample.load_sample()
    pd.testing.assert_frame_equal(validate_prices(table, origin=sample.SAMPLE_PATH), table)


def test_the_shared_plotly_is_the_bytes_plotly_ships(tmp_path):
    target = ensure_plotly(tmp_path)
    assert target == tmp_path / ASSETS / plotly_name()
    assert target.read_bytes() == plotly_text().encode("utf-8")
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    os.truncate(target, 100)  # a short copy (a killed writer, a full disk) is written again
    assert ensure_plotly(tmp_path).read_bytes() == plotly_text().encode("utf-8")
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_a_linked_assets_folder_is_never_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / ASSETS).symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="symbolic link"):
        ensure_plotly(root)
    assert list(outside.iterdir()) == []


def test_a_link_in_the_assets_place_is_replaced_by_the_file(tmp_path):
    elsewhere = tmp_path / "elsewhere.js"
    elsewhere.write_bytes(b"x" * len(plotly_text().encode("utf-8")))
    (tmp_path / "root" / ASSETS).mkdir(parents=True)
    link = tmp_path / "root" / ASSETS / plotly_name()
    link.symlink_to(elsewhere)
    target = ensure_plotly(tmp_path / "root")
    assert not target.is_symlink() and target.read_bytes() == plotly_text().encode("utf-8")
    assert elsewhere.read_bytes() == b"x" * elsewhere.stat().st_size
