"""The result store: run ids of what decides a result, atomic writes without debris or gaps,
concurrent writers, streamed runs, umask, and output faults as one-line input errors."""

from __future__ import annotations

import dataclasses
import errno
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evbt import store
from evbt.errors import InputError
from evbt.strategies.config import load_config

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_CATALOG = ROOT / "data" / "events" / "catalog.csv"

CONFIG = """
[data]
source = "sample"
benchmark = "SMH"
{events}
[strategy]
name = "launch_shock"
tickers = ["NVDA"]
hold = {hold}
[study]
placebo = 20
bootstrap = 20
"""


def _config(tmp_path: Path, *, hold: int = 5, events: str | None = None, name="cfg.toml"):
    p = tmp_path / name
    line = f'events = "{events}"' if events else ""
    p.write_text(CONFIG.format(hold=hold, events=line))
    return load_config(p)


def _frames(seed: int, n: int = 50) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return {
        "trades": pd.DataFrame({"ticker": ["NVDA"] * n, "ret": rng.normal(size=n)}),
        "metrics": pd.DataFrame({"scope": ["total"], "sharpe": [float(seed)]}),
    }


def _rid(i: int) -> str:
    return f"bt-test-{i:012x}"


def _debris(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith((".tmp-", ".old-")))


# ------------------------------------------------------------------------------ run ids


def test_run_id_changes_when_the_catalog_changes(tmp_path):
    """The bug: the same config on an edited catalog replaced the earlier result."""
    from evbt.api import study

    cat = tmp_path / "catalog.csv"
    cat.write_text(BUNDLED_CATALOG.read_text())
    cfg = _config(tmp_path, events="catalog.csv")
    first = study(cfg)
    again = study(cfg)
    assert first.manifest["run_id"] == again.manifest["run_id"]  # same work, same id
    assert first.manifest["catalog"]["path"] == "catalog.csv"  # relative to the config
    assert first.manifest["catalog"]["sha256"] == again.manifest["catalog"]["sha256"]

    lines = cat.read_text().splitlines()
    lines[1] = lines[1].replace(",", ",edited ", 1)  # the first event's name, nothing else
    cat.write_text("\n".join(lines) + "\n")
    edited = study(cfg)
    assert edited.manifest["run_id"] != first.manifest["run_id"]
    assert edited.manifest["catalog"]["sha256"] != first.manifest["catalog"]["sha256"]

    root = tmp_path / "results"
    a = store.write_study(first, root)
    b = store.write_study(edited, root)
    assert a != b and store.run_exists(root, a.name) and store.run_exists(root, b.name)


def test_paths_do_not_enter_the_run_id_but_contents_do(tmp_path):
    """Moving a catalog keeps the id; the kind, config, data hash and code version change it."""
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "catalog.csv").write_text(BUNDLED_CATALOG.read_text())
    ca = _config(tmp_path, events=str(tmp_path / "a" / "catalog.csv"))
    cb = _config(tmp_path, events=str(tmp_path / "b" / "catalog.csv"), name="other.toml")
    assert ca.canonical()["data"]["events"] != cb.canonical()["data"]["events"]
    kw = {"data_hash": "d", "catalog_sha256": "c", "code_version": "v"}
    base = store.make_run_id("bt", ca, **kw)
    assert store.make_run_id("bt", cb, **kw) == base
    assert store.RUN_ID_RE.match(base) and base.startswith("bt-launch_shock-")
    changed = [
        store.make_run_id("study", ca, **kw),
        store.make_run_id("bt", _config(tmp_path, hold=3), **kw),
        store.make_run_id("bt", ca, **(kw | {"data_hash": "e"})),
        store.make_run_id("bt", ca, **(kw | {"catalog_sha256": "e"})),
        store.make_run_id("bt", ca, **(kw | {"code_version": "w"})),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_catalog_digest_sees_every_cell_and_not_the_column_order():
    from evbt.data.catalog import load_catalog

    cat = load_catalog()
    d = store.catalog_digest(cat)
    assert d == store.catalog_digest(cat[list(reversed(cat.columns))])
    edited = cat.copy()
    edited.loc[edited.index[-1], "org"] = edited["org"].iloc[-1] + "x"
    assert store.catalog_digest(edited) != d
    assert store.catalog_digest(cat.iloc[:-1]) != d


def test_run_ids_that_are_paths_are_refused(tmp_path):
    for bad in ("../x", "/etc", "a/b", "bt-x-0123456789ab/..", "", ".tmp-bt-x-0123456789ab"):
        with pytest.raises(InputError, match="not a run id"):
            store.run_dir(tmp_path, bad)
        with pytest.raises(InputError):
            store.write_run(tmp_path / "r", bad, _frames(0), {})
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ reuse and replacing


def test_same_work_is_reused_and_force_redoes_it(tmp_path):
    root = tmp_path / "results"
    p = store.write_run(root, _rid(1), _frames(1), {"n": 1})
    man = json.loads((p / "manifest.json").read_text())
    assert man == {"n": 1, "run_id": _rid(1), "files": store.file_hashes(p)}
    # the same run id is the same work: kept as it is
    assert store.write_run(root, _rid(1), _frames(2), {"n": 2}) == p
    assert json.loads((p / "manifest.json").read_text())["n"] == 1
    # --force replaces it, in place
    assert store.write_run(root, _rid(1), _frames(2), {"n": 2}, force=True) == p
    assert json.loads((p / "manifest.json").read_text())["n"] == 2
    assert pd.read_parquet(p / "metrics.parquet")["sharpe"].iloc[0] == 2.0
    assert sorted(x.name for x in root.iterdir()) == [_rid(1)]  # nothing else left behind


def test_replacing_without_renameat2_also_works(tmp_path, monkeypatch):
    """The portable fallback (rename away, then into place) for systems without renameat2."""
    monkeypatch.setattr(store, "_renameat2", None)
    root = tmp_path / "results"
    store.write_run(root, _rid(1), _frames(1), {"n": 1})
    p = store.write_run(root, _rid(1), _frames(2), {"n": 2}, force=True)
    assert json.loads((p / "manifest.json").read_text())["n"] == 2
    assert sorted(x.name for x in root.iterdir()) == [_rid(1)]


def test_extra_dirs_are_copied_into_the_run(tmp_path):
    src = tmp_path / "src"
    (src / "parts").mkdir(parents=True)
    _frames(3)["trades"].to_parquet(src / "parts" / "part-00000.parquet")
    p = store.write_run(tmp_path / "r", _rid(3), {}, {"n": 3}, extra_dirs={"sweep": src})
    assert (p / "sweep" / "parts" / "part-00000.parquet").is_file()


# ------------------------------------------------------------------------------ umask


@pytest.mark.parametrize(
    ("mask", "dir_mode", "file_mode"), [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)]
)
def test_result_folders_follow_the_umask(tmp_path, mask, dir_mode, file_mode):
    """The bug: folders were 0700 whatever the umask (tempfile.mkdtemp)."""
    old = os.umask(mask)
    try:
        p = store.write_run(tmp_path / "results", _rid(1), _frames(1), {"n": 1})
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == dir_mode
    for f in p.iterdir():
        assert f.stat().st_mode & 0o777 == file_mode, f


# ---------------------------------------------------------------------- output faults


def _earlier(tmp_path: Path) -> Path:
    return store.write_run(tmp_path / "results", _rid(1), _frames(1), {"n": 1})


def _intact(p: Path) -> None:
    assert json.loads((p / "manifest.json").read_text())["n"] == 1
    assert pd.read_parquet(p / "metrics.parquet")["sharpe"].iloc[0] == 1.0
    assert _debris(p.parent) == []


def test_root_that_is_a_file_is_an_input_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    for root in (f, f / "below" / "deeper"):
        with pytest.raises(InputError) as e:
            store.write_run(root, _rid(1), _frames(1), {})
        msg = str(e.value)
        assert "\n" not in msg and str(f) in msg and "is a file" in msg and "--out" in msg
    assert f.read_text() == "x"


def test_root_without_permission_is_an_input_error(tmp_path, monkeypatch):
    earlier = _earlier(tmp_path)
    real_mkdir = os.mkdir

    def refuse(path, *a, **k):
        if Path(path).name.startswith(".tmp-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *a, **k)

    monkeypatch.setattr(os, "mkdir", refuse)
    with pytest.raises(InputError, match="no permission to write") as e:
        store.write_run(earlier.parent, _rid(1), _frames(2), {"n": 2}, force=True)
    assert str(earlier.parent) in str(e.value) and "\n" not in str(e.value)
    _intact(earlier)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere; the mocked test covers it")
def test_read_only_root_is_an_input_error(tmp_path):  # pragma: no cover - not as root
    earlier = _earlier(tmp_path)
    earlier.parent.chmod(0o555)
    try:
        with pytest.raises(InputError, match="permission"):
            store.write_run(earlier.parent, _rid(2), _frames(2), {"n": 2})
    finally:
        earlier.parent.chmod(0o755)
    _intact(earlier)


@pytest.mark.parametrize("where", ["table", "manifest"])
def test_disk_full_is_an_input_error_and_keeps_the_earlier_result(tmp_path, monkeypatch, where):
    earlier = _earlier(tmp_path)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "table":
        monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    else:
        monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(InputError, match="disk full") as e:
        store.write_run(earlier.parent, _rid(1), _frames(2), {"n": 2}, force=True)
    assert str(earlier.parent) in str(e.value) and "\n" not in str(e.value)
    monkeypatch.undo()
    _intact(earlier)


def test_arrow_disk_full_without_errno_is_recognised(tmp_path, monkeypatch):
    """pyarrow reports ENOSPC as an OSError whose text says so, with no errno set."""
    earlier = _earlier(tmp_path)

    def full(*a, **k):
        raise OSError("IOError: No space left on device. Detail: [errno 28]")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.raises(InputError, match="disk full"):
        store.write_run(earlier.parent, _rid(1), _frames(2), {"n": 2}, force=True)
    monkeypatch.undo()
    _intact(earlier)


# -------------------------------------------------------------------- debris and crashes


def test_stale_debris_is_cleaned_and_live_writers_are_not(tmp_path):
    root = tmp_path / "results"
    root.mkdir()
    stale = root / f".tmp-{_rid(9)}-dead"
    stale.mkdir()
    (stale / "trades.parquet").write_text("half")
    live = root / f".tmp-{_rid(8)}-live"
    live.mkdir()
    fd = store._lock_dir(live)  # a writer that is still running holds its lock
    try:
        old = time.time() - 2 * store.STALE_AFTER
        for p in (stale, live):
            os.utime(p, (old, old))
        # a fresh write cleans what killed writers left (lock free, old enough)
        store.write_run(root, _rid(1), _frames(1), {"n": 1})
        assert _debris(root) == [live.name]
        assert store.gc(root, min_age=0)["debris"] == []
        assert live.exists()
    finally:
        os.close(fd)
    assert store.gc(root, min_age=0)["debris"] == [live.name]
    assert _debris(root) == []


WRITER = """
import sys
import numpy as np, pandas as pd
from evbt import store
root, rid = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
frames = {"trades": pd.DataFrame(rng.normal(size=(200_000, 4)), columns=list("abcd")),
          "metrics": pd.DataFrame({"scope": ["total"], "sharpe": [1.0]})}
print("ready", flush=True)
i = 0
while True:
    i += 1
    store.write_run(root, rid, frames, {"n": 1, "i": i}, force=True)
"""


def test_killed_writers_leave_no_gap_and_no_debris_that_stays(tmp_path):
    """kill -9 at random moments of a writer replacing a run over and over: the run's name
    always holds a complete run (checked continuously), and gc leaves no debris."""
    root = tmp_path / "results"
    rid = _rid(7)
    final = store.write_run(root, rid, _frames(1), {"n": 1, "i": 0})
    rng = np.random.default_rng(11)
    checks, inodes = 0, set()
    for _ in range(4):
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), rid], stdout=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            start = (final / "manifest.json").stat().st_ino
            deadline = time.monotonic() + float(rng.uniform(0.3, 1.5))
            swapped = False
            # watch until a random moment after the writer replaced the run at least once
            while time.monotonic() < deadline or not swapped:
                # never a moment without a complete run under its name
                ino = (final / "manifest.json").stat().st_ino  # raises if missing
                swapped |= ino != start
                inodes.add(ino)
                checks += 1
                assert proc.poll() is None, "the writer stopped by itself"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        man = json.loads((final / "manifest.json").read_text())
        assert man["run_id"] == rid and man["n"] == 1
        assert len(pd.read_parquet(final / "trades.parquet")) in (50, 200_000)
    assert checks > 0 and len(inodes) > 4  # the run was replaced while we watched
    # the writer is always inside a write, so a kill leaves its temporary folder: debris
    # that the next write leaves alone while it is young, and gc removes
    assert len(_debris(root)) >= 1
    store.gc(root, min_age=0)
    assert _debris(root) == []
    assert sorted(p.name for p in root.iterdir()) == [rid]


def _write_worker(args):
    root, rid, seed = args
    p = store.write_run(root, rid, _frames(seed, n=20_000), {"seed": seed}, force=True)
    return str(p)


def test_four_runs_at_once_into_one_root(tmp_path):
    """Four processes write at the same moment: two new runs and two replacing one run."""
    root = tmp_path / "results"
    jobs = [
        (str(root), _rid(1), 1),
        (str(root), _rid(2), 2),
        (str(root), _rid(3), 3),
        (str(root), _rid(3), 4),
    ]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        paths = pool.map(_write_worker, jobs)
    assert sorted(set(paths)) == [str(root / _rid(i)) for i in (1, 2, 3)]
    for rid in (_rid(1), _rid(2), _rid(3)):
        seed = json.loads((root / rid / "manifest.json").read_text())["seed"]
        assert pd.read_parquet(root / rid / "trades.parquet").equals(
            _frames(seed, n=20_000)["trades"]
        )
        assert pd.read_parquet(root / rid / "metrics.parquet")["sharpe"].iloc[0] == seed
    assert _debris(root) == []


# ---------------------------------------------------------------------- streamed runs


def test_streamed_run_survives_for_resume_then_moves_into_place(tmp_path):
    root = tmp_path / "results"
    rid = "sweep-launch_shock-0123456789ab"
    part = store.begin_run(root, rid, {"grid_size": 4})
    assert part == root / ".partial" / rid
    (part / "sweep" / "parts").mkdir(parents=True)
    _frames(0)["trades"].to_parquet(part / "sweep" / "parts" / "part-00000.parquet")
    assert not store.run_exists(root, rid)  # a partial run is not a run
    # the writer dies: its lock goes with it; a resume finds the part it wrote
    os.close(store._PARTIAL_LOCKS.pop(part.resolve()))
    again = store.begin_run(root, rid, {"grid_size": 4})
    assert (again / "sweep" / "parts" / "part-00000.parquet").is_file()
    final = store.finish_run(root, rid, frames={"sweep_summary": _frames(1)["metrics"]})
    assert final == root / rid and store.run_exists(root, rid)
    man = json.loads((final / "manifest.json").read_text())
    assert man == {"grid_size": 4, "run_id": rid, "files": store.file_hashes(final)}
    assert set(man["files"]) == {"sweep/parts/part-00000.parquet", "sweep_summary.parquet"}
    assert (final / "sweep" / "parts" / "part-00000.parquet").is_file()
    assert (final / "sweep_summary.parquet").is_file()
    assert not (final / "manifest.partial.json").exists()
    assert sorted(p.name for p in root.iterdir()) == [rid]  # .partial gone when empty


def test_a_second_writer_of_a_streamed_run_is_refused(tmp_path):
    root = tmp_path / "results"
    rid = "sweep-launch_shock-0123456789ab"
    part = store.partial_dir(root, rid)
    part.mkdir(parents=True)
    fd = store._lock_dir(part)  # another process is writing it
    try:
        with pytest.raises(InputError, match="another process"):
            store.begin_run(root, rid, {})
    finally:
        os.close(fd)


def test_open_run_reads_tables_and_manifest(tmp_path):
    root = tmp_path / "results"
    store.write_run(root, _rid(5), _frames(5), {"n": 5})
    run = store.open_run(root, _rid(5)[:10])  # a unique beginning of the id is enough
    assert run.run_id == _rid(5) and run.tables() == ["metrics", "trades"]
    assert run.read("metrics")["sharpe"].iloc[0] == 5.0
    with pytest.raises(InputError, match="no table"):
        run.read("../manifest")


def test_results_root_precedence(tmp_path, monkeypatch):
    cfg = dataclasses.replace(
        _config(tmp_path), output=dataclasses.replace(_config(tmp_path).output, dir="cfgdir")
    )
    monkeypatch.delenv("EVBT_RESULTS", raising=False)
    assert store.results_root(None, None) == Path("results")
    assert store.results_root(None, cfg) == Path("cfgdir")
    monkeypatch.setenv("EVBT_RESULTS", str(tmp_path / "env"))
    assert store.results_root(None, cfg) == tmp_path / "env"
    assert store.results_root(tmp_path / "out", cfg) == tmp_path / "out"
