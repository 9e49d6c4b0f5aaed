"""The ground helpers: evbt.fsutil (atomic writes) and evbt.hints (did you mean)."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evbt import fsutil
from evbt.fsutil import atomic_write, atomic_writer, temp_debris
from evbt.hints import did_you_mean, nearest


# --------------------------------------------------------------------------- atomic_write
@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back."""
    old = os.umask(0o022)
    try:
        yield lambda m: os.umask(m)
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=4096))
def test_bytes_round_trip_and_leave_no_temp(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("rt")
    path = atomic_write(folder / "f.bin", data)
    assert path.read_bytes() == data
    assert [p.name for p in folder.iterdir()] == ["f.bin"]


def test_text_is_utf8_and_newlines_kept(tmp_path):
    atomic_write(tmp_path / "a.txt", "é\r\nx\n")
    assert (tmp_path / "a.txt").read_bytes() == "é\r\nx\n".encode()
    with atomic_writer(tmp_path / "b.csv", "w", newline="") as f:
        f.write("a,b\r\n")
    assert (tmp_path / "b.csv").read_bytes() == b"a,b\r\n"


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_follows_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    atomic_write(tmp_path / "new", b"x")
    assert _mode(tmp_path / "new") == expected  # 0o666 less the umask, as open() makes it


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    p = tmp_path / "kept"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    atomic_write(p, b"new")
    assert p.read_bytes() == b"new" and _mode(p) == 0o640


def test_an_error_leaves_the_old_file_and_no_temp(tmp_path):
    p = tmp_path / "state.json"
    p.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_writer(p, "w") as f:
        f.write("half of the new")
        raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["state.json"]


def test_fsync_file_before_the_rename_then_the_folder(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "fsync", fsync)
    monkeypatch.setattr(fsutil.os, "replace", replace)
    atomic_write(tmp_path / "d", b"x")
    assert events == ["fsync file", "replace", "fsync dir"]


def test_debris_of_a_killed_writer_is_found(tmp_path):
    fd, tmp = fsutil._temp_sibling(tmp_path / "part.parquet")  # as a kill -9 would leave it
    os.close(fd)
    (tmp_path / "part.parquet").write_bytes(b"x")
    assert temp_debris(tmp_path) == [tmp]
    assert tmp.name.startswith(".part.parquet.") and tmp.name.endswith(".tmp")


def test_text_or_bytes_only(tmp_path):
    with pytest.raises(ValueError, match="mode must be"), atomic_writer(tmp_path / "x", "a"):
        pass
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- did_you_mean
def test_did_you_mean():
    assert did_you_mean("sharp", ["sharpe", "sortino"]) == "did you mean 'sharpe'?"
    assert did_you_mean("zzz", ["sharpe"]) == ""
    assert did_you_mean("zzz", ["sharpe"], fallback="known: sharpe") == "known: sharpe"


def test_nearest_keeps_the_choice_spelling_when_ignoring_case():
    assert nearest("CLOSE", ["Open", "Close"], ignore_case=True) == "Close"
    assert nearest("CLOSE", ["Open", "Close"]) is None  # case counts unless told otherwise
    assert nearest("clse", ["close"], cutoff=0.99) is None
