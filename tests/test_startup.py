"""Start-up and exit of the evbt process (issue 17): the collector tuning stays inside the
command's own interpreter."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from evbt.cli import main
from evbt.cli._common import loading


def test_main_called_from_python_leaves_the_collector_alone(capsys):
    frozen = gc.get_freeze_count()
    with loading():
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
