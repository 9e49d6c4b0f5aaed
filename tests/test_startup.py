"""Start-up and exit of the evbt process (issue 17): the collector tuning stays inside the
command's own interpreter, and the shared plotly.js is a byte copy written only in the root."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

import pytest

from evbt.cli import main
from evbt.cli._common import loading
from evbt.errors import InputError
from evbt.report.assets import ASSETS, ensure_plotly, plotly_name, plotly_text


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
