"""``evbt runs``: the result store. List, show, compare, query (DuckDB SQL), rm and gc.

RUN is a run id in the results root (or a unique beginning of one); paths are refused.
The root is ``--root`` (or ``--out``), else ``$EVBT_RESULTS``, else ``./results``.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import click

from evbt.cli._common import emit_json

_root_option = click.option(
    "--root",
    "--out",
    "root",
    default=None,
    help="Results root (default: $EVBT_RESULTS, else ./results).",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")

HEADLINE = ("total_return", "cagr", "sharpe", "max_drawdown", "n_trades")


def _root(root: str | None):
    from evbt.store import results_root

    return results_root(root)


def _plain(v: Any) -> Any:
    """A JSON-ready scalar: numpy scalars to Python, NaN to None, +-inf kept as a string."""
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        with contextlib.suppress(ValueError, AttributeError):
            v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _records(df) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _fmt(v: Any) -> str:
    v = _plain(v)
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


#: Formats (evbt.report.html.FORMATS) of the study rows `runs compare` shows.
_STUDY_FORMATS = {"n": "int", "caar": "spct", "p_cs": "p", "p_bmp": "p", "p_bmp_kp": "p",
                  "placebo_p": "p"}  # fmt: skip
#: The signed format of a difference B - A, by the values' format.
_DIFF_FORMATS = {"pct": "spct", "pct1": "spct", "spct": "spct", "money": "smoney",
                 "smoney": "smoney", "num": "num2s", "num3": "num2s", "int": "sint", "p": "num3s"}  # fmt: skip


def metric_cells(name: str, a: Any, b: Any, diff: Any) -> tuple[str, str, str]:
    """A, B and B - A of one metric as a reader wants them: percent with a sign, money, ratios
    to two places, counts as integers (the metric registry's formats); ``-`` is the sign."""
    from evbt.backtest.metrics import REGISTRY
    from evbt.report.html import FORMATS, num

    known = {k: m.fmt for k, m in REGISTRY.items()}
    fmt = known.get(name) or _STUDY_FORMATS.get(name)
    if fmt is None or fmt not in FORMATS:
        return _fmt(a), _fmt(b), _fmt(diff)
    dfmt = _DIFF_FORMATS.get(fmt, fmt)
    signed = {
        "sint": lambda v: "–" if v is None else f"{int(v):+,}",
        "num3s": lambda v: "–" if v is None else num(v, 3, sign=True),
    }

    def show(v: Any, f: str) -> str:
        v = _plain(v)
        if isinstance(v, str):  # "inf" / "-inf"
            return v
        out = signed[f](v) if f in signed else FORMATS[f](np_nan if v is None else v)
        return out.replace("\u2212", "-")

    return show(a, fmt), show(b, fmt), show(diff, dfmt)


np_nan = float("nan")


def _headline(run) -> dict[str, Any]:
    """The total row of a run's metrics (backtests), else nothing."""
    import pandas as pd

    p = run.path / "metrics.parquet"
    if not p.is_file():
        return {}
    m = pd.read_parquet(p)
    if "scope" in m.columns:
        m = m[m["scope"] == "total"]
    if m.empty:
        return {}
    row = m.iloc[0]
    return {k: _plain(row[k]) for k in HEADLINE if k in row.index}


def _summary(run) -> dict[str, Any]:
    man = run.manifest
    data = man.get("data") or {}
    return {
        "run_id": run.run_id,
        "kind": man.get("kind", run.run_id.split("-", 1)[0]),
        "strategy": ((man.get("config") or {}).get("strategy") or {}).get("name"),
        "created_utc": man.get("created_utc"),
        "source": data.get("source"),
        "synthetic": bool(data.get("synthetic", False)),
        "lookahead": bool(man.get("lookahead", False)),
        "ruined": bool(man.get("ruined", False)),
        **_headline(run),
    }


@click.group("runs")
def runs_group() -> None:
    """The result store: every run's tables and manifest, listed, compared and queried."""


def _safe_summary(run) -> dict[str, Any]:
    """A run's summary; a run that cannot be read is a row with its status and reason."""
    if run.status == "ok":
        try:
            return {"status": "ok", "reason": "", **_summary(run)}
        except Exception as e:  # noqa: BLE001 - one unreadable table must not break the list
            reason = f"unreadable ({' '.join(str(e).split())[:80] or type(e).__name__})"
            return _bad_row(run.run_id, "damaged", reason)
    return _bad_row(run.run_id, run.status, run.reason)


def _bad_row(run_id: str, status: str, reason: str) -> dict[str, Any]:
    return {
        "status": status,
        "reason": reason,
        "run_id": run_id,
        "kind": run_id.split("-", 1)[0],
        "strategy": None,
        "created_utc": None,
        "source": None,
        "synthetic": False,
        "lookahead": False,
        "ruined": False,
    }


@runs_group.command("list")
@_root_option
@_json_option
def runs_list(root: str | None, as_json: bool) -> None:
    """List the runs in the results root, newest first; damaged runs and links last, with
    the reason (`evbt runs rm RUN` or `evbt runs gc --damaged` removes them)."""
    from evbt.store import scan_runs

    r = _root(root)
    rows = [_safe_summary(run) for run in scan_runs(r)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"no runs in {r}")
        return
    from rich.table import Table

    from evbt.cli._common import console, text

    t = Table(title=text(f"runs in {r}"))
    for c in ("run id", "created (UTC)", "data", "total return", "Sharpe", "trades", "flags"):
        t.add_column(c, justify="right" if c in ("total return", "Sharpe", "trades") else "left")
    for row in rows:
        if row["status"] != "ok":
            flag = "link" if row["status"] == "link" else "DAMAGED"
            t.add_row(text(row["run_id"]), "", "", "", "", "", text(f"{flag}: {row['reason']}"))
            continue
        flags = [f for f in ("lookahead", "ruined") if row[f]]
        tr, sh, nt = row.get("total_return"), row.get("sharpe"), row.get("n_trades")
        t.add_row(
            text(row["run_id"]),
            text(str(row["created_utc"] or "")[:19].replace("T", " ")),
            text(
                f"{row['source']}"
                + (" SYNTHETIC" if row["synthetic"] and "SYNTH" not in str(row["source"]) else "")
            ),
            f"{tr:+.2%}" if isinstance(tr, float) else "",
            f"{sh:.2f}" if isinstance(sh, float) else "",
            f"{int(nt)}" if isinstance(nt, int | float) else "",
            " ".join(flags),
        )
    console(width=140).print(t)
    bad = sum(row["status"] != "ok" for row in rows)
    if bad:
        click.echo(
            f"{bad} of {len(rows)} entries are damaged runs or links: `evbt runs rm RUN` or "
            "`evbt runs gc --damaged` removes them (a link, never its target)",
            err=True,
        )


def _tables(run) -> dict[str, int]:
    import pyarrow.parquet as pq

    out = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in sorted(run.path.glob("*.parquet"))}
    parts = sorted((run.path / "sweep" / "parts").glob("*.parquet"))
    if parts:
        out["sweep"] = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
    return out


@runs_group.command("show")
@click.argument("run")
@_root_option
@_json_option
def runs_show(run: str, root: str | None, as_json: bool) -> None:
    """Show RUN: where its data and catalog came from, its tables and headline metrics."""
    from evbt.store import open_run

    r = open_run(_root(root), run)
    man = r.manifest
    tables = _tables(r)
    head = _headline(r)
    if as_json:
        emit_json(
            {
                "run_id": r.run_id,
                "path": str(r.path),
                "tables": tables,
                "metrics": head,
                "manifest": man,
            }
        )
        return
    data, cat = man.get("data") or {}, man.get("catalog") or {}
    lines = [
        f"run {r.run_id} ({man.get('kind')}), created {man.get('created_utc')}",
        f"folder: {r.path}",
        f"config: {man.get('config_origin')} (id {man.get('config_id')})",
        f"data: {data.get('source')}"
        + (" SYNTHETIC" if data.get("synthetic") and "SYNTH" not in str(data.get("source")) else "")
        + f", {data.get('first_session')} to {data.get('last_session')}, hash {data.get('data_hash')}",
        f"catalog: {cat.get('path')} ({cat.get('rows')} rows, sha256 {str(cat.get('sha256'))[:16]})",
        f"code: {man.get('code_version', man.get('evbt_version'))}",
    ]
    if man.get("lookahead"):
        lines.append("LOOKAHEAD ALLOWED")
    if man.get("ruined"):
        lines.append("RUINED: an account's equity reached zero")
    sig = man.get("signals")
    if sig:
        lines.append(
            f"signals {sig.get('n_signals')}, trades {sig.get('n_trades')}, skipped {sig.get('n_skipped')}"
        )
    lines.append("tables: " + ", ".join(f"{k} ({v} rows)" for k, v in tables.items()))
    if head:
        lines.append("total: " + ", ".join(f"{k} {_fmt(v)}" for k, v in head.items()))
    click.echo("\n".join(lines))


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out |= _flatten(v, key)
        else:
            out[key] = v
    return out


def compare_runs(a, b) -> dict[str, Any]:
    """Metrics side by side (every scope both have) and the config and inputs that differ."""
    import pandas as pd

    metrics: list[dict[str, Any]] = []
    ma, mb = a.path / "metrics.parquet", b.path / "metrics.parquet"
    if ma.is_file() and mb.is_file():
        x, y = pd.read_parquet(ma).set_index("scope"), pd.read_parquet(mb).set_index("scope")
        for scope in [s for s in x.index if s in y.index]:
            for col in [c for c in x.columns if c in y.columns]:
                va, vb = x.at[scope, col], y.at[scope, col]
                try:
                    diff = float(vb) - float(va)
                except (TypeError, ValueError):
                    diff = float("nan")
                metrics.append(
                    {
                        "scope": scope,
                        "metric": col,
                        "a": _plain(va),
                        "b": _plain(vb),
                        "b_minus_a": _plain(diff),
                    }
                )
    sa, sb = a.path / "study_summary.parquet", b.path / "study_summary.parquet"
    if not metrics and sa.is_file() and sb.is_file():
        x, y = pd.read_parquet(sa), pd.read_parquet(sb)
        x, y = x[x["group_type"] == "all"], y[y["group_type"] == "all"]
        for _, ra in x.iterrows():
            rb = y[y["car_window"] == ra["car_window"]]
            if rb.empty:
                continue
            for col in ("n", "caar", "p_cs", "p_bmp", "p_bmp_kp", "placebo_p"):
                if col in ra.index and col in rb.columns:
                    va, vb = ra[col], rb.iloc[0][col]
                    metrics.append(
                        {
                            "scope": f"study {ra['car_window']}",
                            "metric": col,
                            "a": _plain(va),
                            "b": _plain(vb),
                            "b_minus_a": _plain(float(vb) - float(va)),
                        }
                    )
    ca = _flatten(a.manifest.get("config") or {})
    cb = _flatten(b.manifest.get("config") or {})
    config = [
        {"key": k, "a": ca.get(k), "b": cb.get(k)}
        for k in sorted(set(ca) | set(cb))
        if ca.get(k) != cb.get(k)
    ]
    probes = {
        "kind": ("kind",),
        "data.source": ("data", "source"),
        "data.data_hash": ("data", "data_hash"),
        "catalog.path": ("catalog", "path"),
        "catalog.sha256": ("catalog", "sha256"),
        "code_version": ("code_version",),
    }
    inputs = []
    for name, path in probes.items():
        xa: Any = a.manifest
        xb: Any = b.manifest
        for p in path:
            xa = xa.get(p) if isinstance(xa, dict) else None
            xb = xb.get(p) if isinstance(xb, dict) else None
        if xa != xb:
            inputs.append({"key": name, "a": xa, "b": xb})
    return {"a": a.run_id, "b": b.run_id, "metrics": metrics, "config": config, "inputs": inputs}


@runs_group.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@click.argument("more", nargs=-1)
@_root_option
@_json_option
@click.option(
    "--html", "html", is_flag=True, help="Write a visual comparison (HTML) and print its path."
)
def runs_compare(
    run_a: str, run_b: str, more: tuple[str, ...], root: str | None, as_json: bool, html: bool
) -> None:
    """Compare two runs: metrics side by side and the config keys (and inputs) that differ.
    With --html, RUN_A RUN_B [MORE...]: equity overlaid, metrics, per-event results."""
    from evbt.store import open_run

    r = _root(root)
    if html:
        from evbt.report.compare import write_compare

        click.echo(str(write_compare(r, [run_a, run_b, *more])))
        return
    res = compare_runs(open_run(r, run_a), open_run(r, run_b))
    if as_json:
        emit_json(res)
        return
    from rich.table import Table

    from evbt.cli._common import console, text

    con = console(width=140)
    if res["metrics"]:
        t = Table(title=text(f"metrics: A = {res['a']}, B = {res['b']}"))
        for c in ("scope", "metric", "A", "B", "B - A"):
            t.add_column(c, justify="left" if c in ("scope", "metric") else "right")
        for m in res["metrics"]:
            cells = metric_cells(m["metric"], m["a"], m["b"], m["b_minus_a"])
            t.add_row(*(text(v) for v in (m["scope"], m["metric"], *cells)))
        con.print(t)
    else:
        con.print(f"no metrics both runs have (A = {res['a']}, B = {res['b']})")
    for title, rows in (
        ("config keys that differ", res["config"]),
        ("inputs that differ", res["inputs"]),
    ):
        if not rows:
            con.print(f"{title}: none")
            continue
        t = Table(title=title)
        for c in ("key", "A", "B"):
            t.add_column(c)
        for row in rows:
            t.add_row(text(row["key"]), text(_fmt(row["a"])), text(_fmt(row["b"])))
        con.print(t)


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def connect(root, *, read_only: bool = True):
    """A DuckDB connection with one view per table name found in ``root``'s readable runs,
    each with a ``run_id`` column (read_parquet over the runs' files, union_by_name), plus
    ``sweep`` (every sweep's parts), ``sweep_blocks`` and ``runs`` (one row per run's
    manifest). Damaged runs and links are left out (``runs list`` names them).

    ``read_only``: after the views are made the connection may read only those files
    (``allowed_paths``, ``enable_external_access = false``) and its configuration is locked,
    so no statement can write, attach or install anything."""
    import duckdb
    import pandas as pd

    from evbt.store import list_runs

    con = duckdb.connect(":memory:")
    runs_ok = list_runs(root)
    files: dict[str, list[str]] = {}
    for run in runs_ok:
        base = run.path.resolve()
        for p in sorted(base.glob("*.parquet")):
            files.setdefault(p.stem, []).append(p.as_posix())
        for view, sub in (("sweep", "parts"), ("sweep_blocks", "blocks")):
            for p in sorted((base / "sweep" / sub).glob("*.parquet")):
                files.setdefault(view, []).append(p.as_posix())
    rx = {
        view: (
            r"([^/]+)/sweep/(?:parts|blocks)/[^/]+$"
            if view in ("sweep", "sweep_blocks")
            else rf"([^/]+)/{view}\.parquet$"
        )
        for view in files
    }
    for view in sorted(files):
        listed = ", ".join(_sql_str(f) for f in files[view])
        con.execute(
            f'CREATE VIEW "{view}" AS '
            f"SELECT regexp_extract(filename, {_sql_str(rx[view])}, 1) AS run_id, "
            f"* EXCLUDE (filename) "
            f"FROM read_parquet([{listed}], filename = true, union_by_name = true)"
        )
    runs = pd.DataFrame([_summary(r) | {"path": str(r.path)} for r in runs_ok])
    if runs.empty:
        runs = pd.DataFrame(columns=["run_id", "kind", "strategy", "created_utc", "path"])
    con.register("runs_frame", runs)
    con.execute("CREATE TABLE runs AS SELECT * FROM runs_frame")  # seen by every cursor
    con.unregister("runs_frame")
    if read_only:
        allowed = [f for fs in files.values() for f in fs]
        con.execute(f"SET allowed_paths = [{', '.join(_sql_str(f) for f in allowed)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con, ["runs", *sorted(files)]


READ_STATEMENTS = ("SELECT", "EXPLAIN")


def _check_read_only(sql: str) -> None:
    """Only reading statements (SELECT, and EXPLAIN of one); else an InputError naming it."""
    import duckdb

    from evbt.errors import InputError

    if not sql.strip():
        raise click.UsageError("the query is empty: give a SELECT statement")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        msg = " ".join(str(e).split())
        raise InputError(f"query failed: {msg[:300]}") from None
    if not statements:
        raise click.UsageError("the query is empty (only comments or semicolons): give a SELECT")
    for st in statements:
        kind = st.type.name
        if kind not in READ_STATEMENTS:
            raise InputError(
                f"runs query is read-only: {kind} statements are refused "
                f"({' '.join(st.query.split())[:60]!r}); use SELECT, and export with --json"
            )


def _execute(con, sql: str):
    """Run ``sql`` in a worker thread so that Ctrl-C interrupts it (``con.interrupt()``)."""
    import threading

    from evbt.errors import InputError

    box: dict[str, Any] = {}
    cur = con.cursor()
    done = threading.Event()  # not Thread.join: an interrupted join can return too early

    def work() -> None:
        try:
            box["df"] = cur.execute(sql).df()
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=work, daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        # interrupt() before DuckDB starts the query is lost (a new query clears the flag),
        # so keep asking; after 5 s stop waiting: the worker is a daemon thread and the
        # query reads only, so ending the process loses nothing
        for _ in range(50):
            cur.interrupt()
            if done.wait(0.1):
                break
        raise InputError("query interrupted (Ctrl-C): nothing was written") from None
    if "error" in box:
        raise box["error"]
    return box["df"]


@runs_group.command("query")
@click.argument("sql")
@_root_option
@_json_option
def runs_query(sql: str, root: str | None, as_json: bool) -> None:
    """Run SQL (DuckDB) over every run's tables: views metrics, trades, equity, skipped,
    signals, pnl_by_event, event_study, study_summary, sweep, runs ..., each with run_id.
    Read-only: SELECT statements only, no file access beyond the runs; Ctrl-C stops a query.

    Example: evbt runs query "select run_id, sharpe from metrics where scope = 'total'"
    """
    import duckdb

    from evbt.errors import InputError

    _check_read_only(sql)
    r = _root(root)
    if not r.is_dir():
        raise InputError(f"{r}: no results root here: run a backtest first or pass --root")
    con, views = connect(r)
    try:
        df = _execute(con, sql)
    except duckdb.Error as e:
        msg = " ".join(str(e).split())
        raise InputError(f"query failed: {msg[:300]} (views: {', '.join(views)})") from None
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()
    if as_json:
        emit_json(_records(df))
        return
    if df.empty:
        click.echo("(no rows)")
        return
    from rich.table import Table

    from evbt.cli._common import console, text

    t = Table()
    for c in df.columns:
        t.add_column(text(c))
    for row in df.itertuples(index=False):
        t.add_row(*(text(_fmt(v)) for v in row))
    console(width=160).print(t)


@runs_group.command("rm")
@click.argument("run")
@_root_option
def runs_rm(run: str, root: str | None) -> None:
    """Delete RUN from the results root (a damaged run too; a link loses the link itself,
    never its target)."""
    from evbt.store import remove_run, resolve_run, run_dir

    r = _root(root)
    link = run_dir(r, resolve_run(r, run)).is_symlink()
    name = remove_run(r, run).name
    click.echo(f"removed link {name} (its target is untouched)" if link else f"removed {name}")


@runs_group.command("gc")
@_root_option
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--keep-superseded", is_flag=True, help="Remove debris only, keep superseded runs.")
@click.option("--partial", is_flag=True, help="Also remove unfinished streamed runs (.partial/).")
@click.option(
    "--damaged", is_flag=True, help="Also remove damaged runs and run-named links (not targets)."
)
@_json_option
def runs_gc(
    root: str | None,
    dry_run: bool,
    keep_superseded: bool,
    partial: bool,
    damaged: bool,
    as_json: bool,
) -> None:
    """Remove debris of killed writes and runs superseded by a newer run of the same config
    (same files, newer data, catalog or code). Symbolic links are never followed."""
    from evbt.store import gc, scan_runs

    r = _root(root)
    res = (
        gc(
            r,
            superseded_runs=not keep_superseded,
            partial=partial,
            dry_run=dry_run,
            damaged=damaged,
        )
        if r.is_dir()
        else {"debris": [], "superseded": [], "partial": [], "damaged": []}
    )
    if as_json:
        emit_json(res)
        return
    verb = "would remove" if dry_run else "removed"
    n = 0
    for what, names in res.items():
        for name in names:
            click.echo(f"{verb} {what}: {name}")
            n += 1
    if not n:
        click.echo(f"nothing to remove in {r}")
    kept = [x for x in scan_runs(r) if x.status != "ok"] if not damaged and r.is_dir() else []
    if kept:
        click.echo(
            f"kept {len(kept)} damaged runs or links ({', '.join(x.run_id for x in kept)}): "
            "`evbt runs gc --damaged` removes them",
            err=True,
        )


@runs_group.command("verify")
@_root_option
@_json_option
def runs_verify(root: str | None, as_json: bool) -> None:
    """Check every run's files against the sha256 hashes recorded in its manifest. Exit 2
    when a run is damaged or a file changed."""
    from evbt.errors import InputError
    from evbt.store import scan_runs, verify_run

    r = _root(root)
    rows: list[dict[str, Any]] = []
    for run in scan_runs(r):
        status, notes = verify_run(run)
        rows.append({"run_id": run.run_id, "status": status, "notes": list(notes)})
    if as_json:
        emit_json(rows)
    else:
        if not rows:
            click.echo(f"no runs in {r}")
        for row in rows:
            click.echo(f"{row['run_id']}: {row['status']}")
            for note in list(row["notes"]):
                click.echo(f"  {note}")
    bad = [str(row["run_id"]) for row in rows if row["status"] in ("changed", "damaged")]
    if bad:
        raise InputError(
            f"{len(bad)} of {len(rows)} runs in {r} failed verification ({', '.join(bad)}): "
            "rerun them, or remove them with `evbt runs rm RUN`"
        )


COMMANDS = (runs_group,)


@runs_group.command("index")
@_root_option
def runs_index(root: str | None) -> None:
    """Write index.html in the results root: every run, sortable, with links to its report."""
    from evbt.report.index import write_index

    click.echo(str(write_index(_root(root))))
