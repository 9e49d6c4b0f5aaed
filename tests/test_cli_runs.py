"""``evbt runs``: list, show, compare, query (DuckDB) across runs, rm, gc; RUN arguments that
are paths are refused; output faults of run commands exit 2 with one line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from evbt import store
from evbt.cli import main

CONFIG = """
[data]
source = "sample"
benchmark = "SMH"
[strategy]
name = "launch_shock"
tickers = ["NVDA"]
hold = {hold}
[study]
placebo = 20
bootstrap = 20
[output]
dir = "{out}"
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def _fake_bt(root: Path, rid: str, *, hold: int, sharpe: float, n_trades: int, lineage="l1"):
    """A backtest-shaped run written through the store (tables as the engine names them)."""
    trades = pd.DataFrame(
        {"event_id": [f"e{i}" for i in range(n_trades)], "ticker": "NVDA", "ret": 0.01}
    )
    metrics = pd.DataFrame(
        {
            "scope": ["total", "NVDA"],
            "total_return": [0.1 * hold, 0.1 * hold],
            "sharpe": [sharpe, sharpe],
            "n_trades": [float(n_trades)] * 2,
        }
    )
    manifest = {
        "kind": "bt",
        "created_utc": f"2026-11-23T10:00:0{hold}.000000Z",
        "config": {"strategy": {"name": "launch_shock", "hold": hold}, "costs": {"fees": 0.0005}},
        "config_id": f"cfg{hold}",
        "data": {"source": "sample (SYNTHETIC)", "synthetic": True, "data_hash": "abc"},
        "catalog": {"path": "<bundled>", "sha256": f"sha{hold}"},
        "code_version": "0.1.0",
        "lineage": lineage,
        "lookahead": False,
        "ruined": False,
    }
    return store.write_run(root, rid, {"trades": trades, "metrics": metrics}, manifest)


A = "bt-launch_shock-00000000000a"
B = "bt-launch_shock-00000000000b"


@pytest.fixture
def two_runs(tmp_path):
    root = tmp_path / "results"
    _fake_bt(root, A, hold=5, sharpe=1.5, n_trades=3)
    _fake_bt(root, B, hold=3, sharpe=-0.5, n_trades=4)
    return root


@pytest.mark.parametrize("sub", ["list", "show", "compare", "query", "rm", "gc", "verify"])
def test_help(capsys, sub):
    code, out, _ = run(capsys, "runs", sub, "--help")
    assert code == 0 and "Usage: evbt runs" in out


def test_list_and_show(capsys, two_runs):
    code, out, err = run(capsys, "runs", "list", "--root", str(two_runs), "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["run_id"] for r in rows] == [A, B]  # newest first
    assert rows[0]["sharpe"] == 1.5 and rows[1]["n_trades"] == 4.0
    code, out, _ = run(capsys, "runs", "list", "--root", str(two_runs))
    assert code == 0 and A in out and B in out
    code, out, _ = run(capsys, "runs", "show", A, "--root", str(two_runs))
    assert code == 0 and "trades (3 rows)" in out and "SYNTHETIC" in out
    code, out, _ = run(capsys, "runs", "show", B, "--root", str(two_runs), "--json")
    d = json.loads(out)
    assert d["tables"] == {"metrics": 2, "trades": 4} and d["manifest"]["config_id"] == "cfg3"


def test_root_from_environment(capsys, two_runs, monkeypatch):
    monkeypatch.setenv("EVBT_RESULTS", str(two_runs))
    code, out, _ = run(capsys, "runs", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 2


def test_query_across_two_runs_through_duckdb(capsys, two_runs):
    sql = "select run_id, count(*) as n from trades group by run_id order by run_id"
    code, out, err = run(capsys, "runs", "query", sql, "--root", str(two_runs), "--json")
    assert code == 0, err
    assert json.loads(out) == [{"run_id": A, "n": 3}, {"run_id": B, "n": 4}]
    sql = (
        "select m.run_id, m.sharpe, r.kind from metrics m join runs r using (run_id) "
        "where m.scope = 'total' order by m.sharpe desc"
    )
    code, out, _ = run(capsys, "runs", "query", sql, "--root", str(two_runs), "--json")
    assert json.loads(out) == [
        {"run_id": A, "sharpe": 1.5, "kind": "bt"},
        {"run_id": B, "sharpe": -0.5, "kind": "bt"},
    ]
    code, out, _ = run(capsys, "runs", "query", sql, "--root", str(two_runs))
    assert code == 0 and A in out


def test_query_ignores_debris_and_partial_runs(capsys, two_runs):
    """Tables of writes in progress (.tmp-*, .partial/) are not results yet."""
    for hidden in (f".tmp-{A}-dead", f".partial/{B}"):
        d = two_runs / hidden
        d.mkdir(parents=True)
        pd.DataFrame({"event_id": ["x"], "ticker": "NVDA", "ret": 1.0}).to_parquet(
            d / "trades.parquet"
        )
    code, out, err = run(
        capsys,
        "runs",
        "query",
        "select count(*) as n from trades",
        "--root",
        str(two_runs),
        "--json",
    )
    assert code == 0, err
    assert json.loads(out) == [{"n": 7}]


def test_sweep_view_is_the_union_of_every_sweeps_parts(capsys, tmp_path):
    root = tmp_path / "results"
    for k, rid in enumerate(("sweep-launch_shock-000000000001", "sweep-launch_shock-000000000002")):
        part = store.begin_run(root, rid, {"kind": "sweep"})
        (part / "sweep" / "parts").mkdir(parents=True)
        for i in range(2):
            pd.DataFrame(
                {"combo_id": [i * 10, i * 10 + 1], "scope": "total", "sharpe": [k, k + 0.5]}
            ).to_parquet(part / "sweep" / "parts" / f"part-{i:05d}.parquet")
        store.finish_run(root, rid)
    sql = "select run_id, count(*) as n, max(sharpe) as best from sweep group by 1 order by 1"
    code, out, err = run(capsys, "runs", "query", sql, "--root", str(root), "--json")
    assert code == 0, err
    assert json.loads(out) == [
        {"run_id": "sweep-launch_shock-000000000001", "n": 4, "best": 0.5},
        {"run_id": "sweep-launch_shock-000000000002", "n": 4, "best": 1.5},
    ]


def test_bad_sql_is_one_line_exit_2(capsys, two_runs):
    code, _, err = run(capsys, "runs", "query", "select * from nosuch", "--root", str(two_runs))
    line = _one_line_error(code, err)
    assert "nosuch" in line and "views:" in line and "trades" in line


def test_compare_shows_metrics_side_by_side_and_config_differences(capsys, two_runs):
    code, out, err = run(capsys, "runs", "compare", A, B, "--root", str(two_runs), "--json")
    assert code == 0, err
    d = json.loads(out)
    sharpe = [m for m in d["metrics"] if m["scope"] == "total" and m["metric"] == "sharpe"]
    assert sharpe == [
        {"scope": "total", "metric": "sharpe", "a": 1.5, "b": -0.5, "b_minus_a": -2.0}
    ]
    assert d["config"] == [{"key": "strategy.hold", "a": 5, "b": 3}]
    assert {"key": "catalog.sha256", "a": "sha5", "b": "sha3"} in d["inputs"]
    code, out, _ = run(capsys, "runs", "compare", A, B, "--root", str(two_runs))
    assert code == 0
    assert "strategy.hold" in out and "sharpe" in out and "-2" in out


@pytest.mark.parametrize("bad", ["../x", "/etc", "a/b", "..", f"../results/{A}", "-x"])
@pytest.mark.parametrize("cmd", ["show", "rm", "compare"])
def test_run_arguments_that_are_paths_are_refused(capsys, two_runs, bad, cmd):
    args = ["runs", cmd, "--root", str(two_runs), "--", bad] + ([A] if cmd == "compare" else [])
    line = _one_line_error(*run(capsys, *args)[::2])
    assert "not a run id" in line
    assert store.run_exists(two_runs, A) and store.run_exists(two_runs, B)


def test_unknown_run_is_exit_2(capsys, two_runs):
    line = _one_line_error(*run(capsys, "runs", "show", "bt-nosuch", "--root", str(two_runs))[::2])
    assert "no run 'bt-nosuch'" in line and "runs list" in line


def test_rm_removes_one_run(capsys, two_runs):
    code, out, _ = run(capsys, "runs", "rm", A, "--root", str(two_runs))
    assert code == 0 and f"removed {A}" in out
    assert sorted(p.name for p in two_runs.iterdir()) == [B]


def test_gc_removes_debris_and_superseded_runs(capsys, tmp_path):
    root = tmp_path / "results"
    _fake_bt(root, A, hold=5, sharpe=1.0, n_trades=1, lineage="same")
    _fake_bt(root, B, hold=6, sharpe=1.0, n_trades=1, lineage="same")  # newer, same lineage
    other = "bt-launch_shock-00000000000c"
    _fake_bt(root, other, hold=1, sharpe=1.0, n_trades=1, lineage="other")
    dead = root / f".tmp-{A}-dead"
    dead.mkdir()
    old = time.time() - 2 * store.STALE_AFTER
    os.utime(dead, (old, old))
    code, out, _ = run(capsys, "runs", "gc", "--root", str(root), "--dry-run", "--json")
    assert json.loads(out) == {
        "debris": [dead.name],
        "superseded": [A],
        "partial": [],
        "damaged": [],
    }
    assert dead.exists() and store.run_exists(root, A)
    code, out, _ = run(capsys, "runs", "gc", "--root", str(root))
    assert code == 0 and f"superseded: {A}" in out and dead.name in out
    assert sorted(p.name for p in root.iterdir()) == sorted([B, other])
    code, out, _ = run(capsys, "runs", "gc", "--root", str(root))
    assert "nothing to remove" in out


# ------------------------------------------------------- real runs through the commands


def _cfg(tmp_path: Path, hold: int = 5) -> Path:
    p = tmp_path / f"cfg{hold}.toml"
    p.write_text(CONFIG.format(hold=hold, out=(tmp_path / "out").as_posix()))
    return p


def test_study_runs_are_reused_forced_and_listed(capsys, tmp_path):
    cfg = _cfg(tmp_path)
    code, out, err = run(capsys, "study", str(cfg), "--json")
    assert code == 0, err
    first = json.loads(out)
    folder = Path(first["results"])
    assert folder.parent == tmp_path / "out" and store.RUN_ID_RE.match(folder.name)
    man = json.loads((folder / "manifest.json").read_text())
    assert man["run_id"] == folder.name and man["kind"] == "study"
    assert man["catalog"]["path"] == "<bundled>" and len(man["catalog"]["sha256"]) == 64
    # the same work again: recognised, the stored run is kept as it was
    code, out, _ = run(capsys, "study", str(cfg), "--json")
    assert json.loads(out)["results"] == first["results"]
    assert json.loads((folder / "manifest.json").read_text())["created_utc"] == man["created_utc"]
    # --force redoes it under the same name
    code, out, _ = run(capsys, "study", str(cfg), "--json", "--force")
    assert code == 0 and json.loads(out)["results"] == first["results"]
    assert json.loads((folder / "manifest.json").read_text())["created_utc"] != man["created_utc"]
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name != ".assets"] == [folder.name]
    code, out, _ = run(capsys, "runs", "list", "--root", str(tmp_path / "out"), "--json")
    assert [r["run_id"] for r in json.loads(out)] == [folder.name]


def test_study_into_a_file_is_exit_2_and_names_the_path(capsys, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("keep me")
    for out_dir in (blocker, blocker / "under"):
        code, _, err = run(capsys, "study", str(_cfg(tmp_path)), "--out", str(out_dir))
        line = _one_line_error(code, err)
        assert str(blocker) in line and "is a file" in line
    assert blocker.read_text() == "keep me"


def test_study_disk_full_is_exit_2_and_keeps_the_earlier_result(capsys, tmp_path, monkeypatch):
    import errno

    cfg = _cfg(tmp_path)
    code, out, _ = run(capsys, "study", str(cfg), "--json")
    folder = Path(json.loads(out)["results"])
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    code, _, err = run(capsys, "study", str(cfg), "--force")
    line = _one_line_error(code, err)
    assert "disk full" in line and str(folder.parent) in line
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in folder.parent.iterdir() if p.name != ".assets"] == [folder.name]


def test_four_study_commands_at_once_into_one_root(tmp_path):
    """Four `evbt study` processes started together, two of them the same work: every run
    ends complete with valid tables and nothing else is left in the root."""
    import subprocess
    import sys

    cfgs = [_cfg(tmp_path, 5), _cfg(tmp_path, 5), _cfg(tmp_path, 3), _cfg(tmp_path, 7)]
    root = tmp_path / "shared"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "evbt.cli", "study", str(c), "--out", str(root), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in cfgs
    ]
    paths = []
    for p in procs:
        out, err = p.communicate()
        assert p.returncode == 0, err
        paths.append(json.loads(out)["results"])
    assert paths[0] == paths[1] and len(set(paths)) == 3
    assert sorted(p.name for p in root.iterdir() if p.name != ".assets") == sorted(
        {Path(p).name for p in paths}
    )
    for p in map(Path, set(paths)):
        man = json.loads((p / "manifest.json").read_text())
        assert man["run_id"] == p.name
        assert len(pd.read_parquet(p / "event_study.parquet")) > 0
        assert len(pd.read_parquet(p / "study_summary.parquet")) > 0


def test_backtests_on_an_edited_catalog_keep_both_results(capsys, tmp_path):
    """The bug: the same config on an edited catalog silently replaced the earlier result.
    Now each gets its own run id; compare and query see both."""
    cat = tmp_path / "catalog.csv"
    cat.write_text(
        (Path(store.__file__).parents[1] / "data" / "events" / "catalog.csv").read_text()
    )
    cfg = _cfg(tmp_path)
    cfg.write_text(
        cfg.read_text().replace('benchmark = "SMH"', 'benchmark = "SMH"\nevents = "catalog.csv"')
    )
    code, out, err = run(capsys, "backtest", str(cfg), "--json")
    assert code == 0, err
    first = Path(json.loads(out)["results"])
    man = json.loads((first / "manifest.json").read_text())
    assert first.name.startswith("bt-launch_shock-") and man["catalog"]["path"] == "catalog.csv"
    lines = cat.read_text().splitlines()
    lines[1] = lines[1].replace(",", ",renamed ", 1)
    cat.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "backtest", str(cfg), "--json")
    assert code == 0, err
    second = Path(json.loads(out)["results"])
    assert second != first and first.is_dir() and second.is_dir()
    root = str(tmp_path / "out")
    code, out, _ = run(capsys, "runs", "compare", first.name, second.name, "--root", root, "--json")
    d = json.loads(out)
    assert d["config"] == [] and [i["key"] for i in d["inputs"]] == ["catalog.sha256"]
    assert all(m["b_minus_a"] in (0, None) for m in d["metrics"])  # same trades either way
    sql = "select run_id, n_trades from metrics where scope = 'total' order by run_id"
    code, out, _ = run(capsys, "runs", "query", sql, "--root", root, "--json")
    rows = json.loads(out)
    assert sorted(r["run_id"] for r in rows) == sorted([first.name, second.name])
    n = len(pd.read_parquet(first / "trades.parquet"))
    assert [r["n_trades"] for r in rows] == [n, n]


# ------------------------------------------------------- nothing outside the root (issue 19)


def _tree(p: Path) -> dict[str, str]:
    import hashlib

    return {
        str(f.relative_to(p)): "dir" if f.is_dir() else hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(p.rglob("*"))
    }


@pytest.fixture
def user_files(tmp_path):
    """A folder of the user's own files outside the results root."""
    home = tmp_path / "projects"
    for name in ("thesis", "photos"):
        (home / name).mkdir(parents=True)
        (home / name / "notes.txt").write_text(f"{name}: keep me\n")
    (home / f"{A}").mkdir()  # even a run-shaped name out there is not ours
    (home / f"{A}" / "manifest.json").write_text("{}")
    return home


def test_gc_partial_never_follows_a_linked_partial_folder(capsys, two_runs, user_files):
    before = _tree(user_files)
    (two_runs / ".partial").symlink_to(user_files, target_is_directory=True)
    code, out, err = run(capsys, "runs", "gc", "--partial", "--root", str(two_runs))
    line = _one_line_error(code, err)
    assert ".partial is a symbolic link" in line and "removed" not in out
    assert _tree(user_files) == before
    assert (two_runs / ".partial").is_symlink()


def test_gc_partial_removes_a_linked_entry_itself_not_its_target(capsys, two_runs, user_files):
    before = _tree(user_files)
    (two_runs / ".partial").mkdir()
    (two_runs / ".partial" / "thesis").symlink_to(user_files / "thesis")
    code, out, err = run(capsys, "runs", "gc", "--partial", "--root", str(two_runs))
    assert code == 0, err
    assert "removed partial: thesis (a link; its target is untouched)" in out
    assert not os.path.lexists(two_runs / ".partial")
    assert _tree(user_files) == before


def test_rm_of_a_linked_run_removes_the_link_and_leaves_no_debris(capsys, two_runs, user_files):
    before = _tree(user_files)
    c = "bt-launch_shock-00000000000c"
    (two_runs / c).symlink_to(user_files / "thesis", target_is_directory=True)
    code, out, err = run(capsys, "runs", "list", "--root", str(two_runs), "--json")
    rows = {r["run_id"]: r for r in json.loads(out)}
    assert rows[c]["status"] == "link" and "symbolic link" in rows[c]["reason"]
    code, out, err = run(capsys, "runs", "rm", c, "--root", str(two_runs))
    assert code == 0, err
    assert f"removed link {c} (its target is untouched)" in out
    assert sorted(p.name for p in two_runs.iterdir()) == sorted([A, B])  # no .tmp-*-rm-*
    assert _tree(user_files) == before


def test_gc_removes_old_rm_debris_links_themselves(capsys, two_runs, user_files):
    before = _tree(user_files)
    (two_runs / f".tmp-{A}-rm-0123abcd").symlink_to(user_files / "photos")
    code, out, err = run(capsys, "runs", "gc", "--keep-superseded", "--root", str(two_runs))
    assert code == 0 and f"removed debris: .tmp-{A}-rm-0123abcd" in out, err
    assert sorted(p.name for p in two_runs.iterdir()) == sorted([A, B])
    assert _tree(user_files) == before


def test_a_run_replaced_over_a_link_drops_the_link_only(tmp_path, user_files):
    root = tmp_path / "results"
    root.mkdir()
    before = _tree(user_files)
    (root / A).symlink_to(user_files / A, target_is_directory=True)
    _fake_bt(root, A, hold=2, sharpe=1.0, n_trades=1)
    store.write_run(root, A, {}, {"kind": "bt"}, force=True)
    assert not (root / A).is_symlink() and store.run_exists(root, A)
    assert sorted(p.name for p in root.iterdir()) == [A]
    assert _tree(user_files) == before


def test_a_streamed_run_refuses_a_linked_partial_folder(tmp_path, user_files):
    root = tmp_path / "results"
    root.mkdir()
    before = _tree(user_files)
    (root / ".partial").symlink_to(user_files, target_is_directory=True)
    with pytest.raises(store.InputError, match="symbolic link"):
        store.begin_run(root, A, {"kind": "sweep"})
    assert _tree(user_files) == before


# ----------------------------------------------------------- runs query is read-only (19)


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("COPY (select 42) TO 'leak.csv'", "COPY"),
        ("ATTACH 'new.duckdb'", "ATTACH"),
        ("ATTACH 'new.duckdb' AS n; CREATE TABLE n.t AS SELECT 1", "ATTACH"),
        ("select 1; COPY (select 42) TO 'leak.csv'", "COPY"),
        ("CREATE TABLE t AS SELECT 1", "CREATE"),
        ("INSTALL httpfs", "INSTALL"),
        ("SET enable_external_access = true", "SET"),
        ("EXPORT DATABASE 'dump'", "EXPORT"),
        ("COPY metrics TO '{root}/A/metrics.parquet'", "COPY"),
        ("select * from read_csv('/etc/passwd')", "Permission"),
        ("select * from read_text('{root}/../leak.txt')", "Permission"),
    ],
)
def test_query_cannot_write_attach_or_read_outside_the_runs(
    capsys, two_runs, monkeypatch, sql, what
):
    monkeypatch.chdir(two_runs.parent)
    before = _tree(two_runs.parent)
    sql = sql.replace("{root}", str(two_runs)).replace("/A/", f"/{A}/")
    line = _one_line_error(*run(capsys, "runs", "query", sql, "--root", str(two_runs))[::2])
    assert what in line
    assert _tree(two_runs.parent) == before  # nothing written, in the root or out of it


@pytest.mark.parametrize("sql", ["", "   ", ";", "/* nothing */"])
def test_an_empty_query_is_a_usage_error(capsys, two_runs, sql):
    line = _one_line_error(*run(capsys, "runs", "query", sql, "--root", str(two_runs))[::2])
    assert "empty" in line


def test_ctrl_c_interrupts_a_runaway_query(two_runs):
    """SIGINT reaches a query that would run for hours: exit 2, one line."""
    import signal
    import subprocess
    import sys

    sql = "select count(*) from range(1000000000000) a where a.range % 7 = 3"  # hours, flat memory
    proc = subprocess.Popen(
        [sys.executable, "-m", "evbt.cli", "runs", "query", sql, "--root", str(two_runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job ignores SIGINT and its children inherit that (a benchmark
        # run with `&` hung here): give the child the default disposition a terminal has
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        time.sleep(8)  # let it start the query (startup takes about a second when idle)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)  # a guard against a hang, not a speed check
    finally:
        if proc.poll() is None:  # a failed check must not leave a query spinning for hours
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, err
    # under load the signal may come before the query starts: click's "aborted", also exit 2
    assert err.strip().splitlines() in (
        ["error: query interrupted (Ctrl-C): nothing was written"],
        ["aborted"],
    ), err


# ------------------------------------------------ a damaged run never breaks the others (19)


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:100])


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: _truncate(d / "metrics.parquet"), "metrics.parquet unreadable"),
        (lambda d: _truncate(d / "trades.parquet"), "trades.parquet unreadable"),
        (lambda d: (d / "manifest.json").unlink(), "no manifest.json"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json unreadable"),
        (lambda d: (d / "manifest.json").write_text("[1, 2]"), "not a JSON object"),
    ],
)
def test_a_damaged_run_is_named_and_the_others_work(capsys, two_runs, damage, reason):
    damage(two_runs / A)
    r = str(two_runs)
    code, out, err = run(capsys, "runs", "list", "--root", r, "--json")
    assert code == 0, err
    rows = {x["run_id"]: x for x in json.loads(out)}
    assert rows[A]["status"] == "damaged" and reason in rows[A]["reason"]
    assert rows[B]["status"] == "ok" and rows[B]["sharpe"] == -0.5
    code, out, err = run(capsys, "runs", "list", "--root", r)
    assert code == 0 and "DAMAGED" in out and B in out, err
    code, out, err = run(capsys, "runs", "show", B, "--root", r)
    assert code == 0, err
    line = _one_line_error(*run(capsys, "runs", "show", A, "--root", r)[::2])
    assert "damaged" in line and reason in line and "runs rm" in line
    line = _one_line_error(*run(capsys, "runs", "compare", A, B, "--root", r)[::2])
    assert "damaged" in line
    code, out, err = run(capsys, "runs", "query", "select run_id from metrics", "--root", r)
    assert code == 0 and B in out and A not in out, err
    code, out, err = run(capsys, "runs", "gc", "--keep-superseded", "--root", r)
    assert code == 0 and A in err and "--damaged" in err  # named, kept without --damaged
    code, out, err = run(capsys, "runs", "rm", A, "--root", r)
    assert code == 0 and f"removed {A}" in out, err
    assert sorted(p.name for p in two_runs.iterdir()) == [B]


def test_gc_damaged_removes_damaged_runs(capsys, two_runs):
    (two_runs / A / "manifest.json").unlink()
    code, out, err = run(
        capsys, "runs", "gc", "--damaged", "--keep-superseded", "--root", str(two_runs)
    )
    assert code == 0 and f"removed damaged: {A} (no manifest.json)" in out, err
    assert sorted(p.name for p in two_runs.iterdir()) == [B]


def test_verify_checks_the_recorded_hashes(capsys, two_runs):
    r = str(two_runs)
    man = json.loads((two_runs / A / "manifest.json").read_text())
    assert set(man["files"]) == {"metrics.parquet", "trades.parquet"}
    code, out, err = run(capsys, "runs", "verify", "--root", r)
    assert code == 0 and f"{A}: ok" in out and f"{B}: ok" in out, err
    t = two_runs / A / "trades.parquet"
    pd.DataFrame({"event_id": ["x"], "ticker": "NVDA", "ret": 0.5}).to_parquet(t, index=False)
    (two_runs / B / "report.html").write_text("<html></html>")
    code, out, err = run(capsys, "runs", "verify", "--root", r)
    line = _one_line_error(code, err)
    assert A in line and B not in line
    assert "trades.parquet: changed since it was written" in out
    assert "report.html: not recorded (added later)" in out


def test_verify_says_when_no_hashes_were_recorded(capsys, two_runs):
    man = json.loads((two_runs / A / "manifest.json").read_text())
    del man["files"]
    (two_runs / A / "manifest.json").write_text(json.dumps(man))
    code, out, err = run(capsys, "runs", "verify", "--root", str(two_runs))
    assert code == 0, err
    assert f"{A}: no hashes" in out and "no hashes recorded" in out


def test_report_takes_a_unique_prefix_and_names_a_damaged_run(capsys, two_runs, monkeypatch):
    monkeypatch.setenv("EVBT_RESULTS", str(two_runs))
    from evbt.cli.report import resolve_run

    other = "bt-other-0123456789ab"
    _fake_bt(two_runs, other, hold=2, sharpe=0.1, n_trades=2)
    assert resolve_run("bt-oth", None) == two_runs / other  # what `evbt report bt-oth` draws
    line = _one_line_error(*run(capsys, "report", "bt-launch_shock-0000")[::2])
    assert "matches 2 runs" in line
    _truncate(two_runs / A / "trades.parquet")
    line = _one_line_error(*run(capsys, "report", A)[::2])
    assert "damaged" in line and "trades.parquet" in line
    line = _one_line_error(*run(capsys, "report", str(two_runs / A))[::2])
    assert "damaged" in line and "trades.parquet" in line
