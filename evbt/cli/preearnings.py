"""``evbt preearnings``: a ticker into and out of its reports, and what launched before.

Decodes options, loads prices and the catalog, calls :mod:`evbt.backtest.preearnings`,
prints the tables and writes a ``pre-...`` result folder through :mod:`evbt.store`.
"""

from __future__ import annotations

from typing import Any

import click

START = "2019-01-02"  # reports from 2020 on; leaves room for the estimation window


def _prices(
    config: str | None, prices: str | None, asof: str, ticker: str, bench: str | None
) -> tuple[Any, dict, str, Any]:
    """(long price table, data manifest entry, benchmark, config or None)."""
    from evbt.data.sources import load_prices
    from evbt.errors import InputError

    if config and prices:
        raise InputError("give either --config or --prices, not both")
    if config:
        from evbt.strategies.config import load_config

        cfg = load_config(config)
        d = cfg.data
        b = bench or d.benchmark or "SMH"
        df = load_prices(
            [ticker.upper(), b], d.start or START, asof, source=d.source, path=d.prices
        )
        return df, {"source": d.source, "prices": d.prices}, b, cfg
    if prices:
        b = bench or "SMH"
        df = load_prices([ticker.upper(), b], START, asof, source="file", path=prices)
        return df, {"source": "file", "prices": prices}, b, None
    b = bench or "SMH"
    df = load_prices([ticker.upper(), b], START, asof, source="sample")
    return df, {"source": "sample"}, b, None


@click.command("preearnings")
@click.argument("ticker", required=False, default="NVDA")
@click.option("--asof", default=None, help="As-of date (YYYY-MM-DD; default today in New York).")
@click.option("--lookback", default=10, show_default=True, type=int, help="Run-up sessions N.")
@click.option("--config", default=None, type=click.Path(dir_okay=False), help="Config: its [data].")
@click.option("--prices", default=None, help="Price file (contract format).")
@click.option("--benchmark", default=None, help="Benchmark ticker (default [data] or SMH).")
@click.option("--events", default=None, help="Event catalog CSV (default: bundled + user).")
@click.option("--out", default=None, help="Results root (default EVBT_RESULTS, else ./results).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--no-report", is_flag=True, help="Do not write the HTML tearsheet (report.html).")
def preearnings_cmd(
    ticker: str,
    asof: str | None,
    lookback: int,
    config: str | None,
    prices: str | None,
    benchmark: str | None,
    events: str | None,
    out: str | None,
    as_json: bool,
    no_report: bool,
) -> None:
    """TICKER (default NVDA) into and out of its reports, split by whether a Chinese
    efficiency launch or a policy event came in the LOOKBACK sessions before; and the next
    report with what is expected before it, all as known on ASOF."""
    import datetime as dt
    import hashlib
    import json
    import zoneinfo

    from evbt.cli._common import emit_json, frame_records, loading, working

    with loading():
        import pandas as pd

        from evbt.api import pre_earnings
        from evbt.data.catalog import horizon_sessions, load_catalog
        from evbt.manifest import catalog_digest, code_version
        from evbt.store import results_root, write_run

    if asof is None:
        asof = dt.datetime.now(zoneinfo.ZoneInfo("America/New_York")).strftime("%Y-%m-%d")
    horizon_sessions(asof, 1, what="--asof")  # the as-of date, checked like every other command
    # as backtest, study and sweep do: the collector paused, Numba loaded without SciPy's BLAS
    with working():
        px, data, bench, cfg = _prices(config, prices, asof, ticker, benchmark)
        catalog_path = events or (cfg.data.events if cfg is not None else None)
        cat = load_catalog(catalog_path)
        res = pre_earnings(px, cat, ticker=ticker, asof=asof, lookback=lookback, benchmark=bench)
        synthetic = bool(px.attrs.get("synthetic", False)) or data["source"] == "sample"
        used = px[pd.to_datetime(px["date"]) <= pd.Timestamp(asof)]
        used = used[used["ticker"].isin([res.params["ticker"], bench])]
        data_hash = hashlib.sha256(
            pd.util.hash_pandas_object(used.reset_index(drop=True), index=False)
            .to_numpy()
            .tobytes()
        ).hexdigest()
        cat_sha = catalog_digest(cat)
        key = json.dumps(
            {"params": res.params, "data": data_hash, "catalog": cat_sha, "code": code_version()},
            sort_keys=True,
        )
        config_id = hashlib.sha256(json.dumps(res.params, sort_keys=True).encode()).hexdigest()[:12]
        run_id = f"pre-{res.params['ticker'].lower().replace('^', '')}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
        manifest = {
            "run_id": run_id,
            "kind": "pre",
            "config": res.params,
            "config_id": config_id,
            "data": {**data, "synthetic": synthetic, "data_hash": data_hash, "benchmark": bench},
            "catalog": {"path": catalog_path or "bundled", "sha256": cat_sha},
            "code_version": code_version(),
            "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lookahead": False,
            "ruined": False,
            "notes": list(res.notes),
            "counts": {
                "reports": len(res.reports),
                "launch_before": int(res.reports["launch_before"].fillna(False).astype(bool).sum()),
                "policy_before": int(res.reports["policy_before"].fillna(False).astype(bool).sum()),
            },
        }
        frames = {
            "preearnings_reports": res.reports,
            "preearnings_tests": res.tests,
            "preearnings_next": res.next,
        }
        folder = write_run(results_root(out, cfg), run_id, frames, manifest, force=True)
        from evbt.cli._common import write_report_for

        report = None if no_report else write_report_for(folder, quiet=True)
    if as_json:
        emit_json(
            {
                "run_dir": str(folder),
                "report": None if report is None else str(report),
                "params": res.params,
                "synthetic": synthetic,
                "next": frame_records(res.next),
                "reports": frame_records(res.reports),
                "tests": frame_records(res.tests),
                "notes": list(res.notes),
            }
        )
        return
    _print(res, folder, synthetic)
    if report is not None:
        click.echo(f"report: {report}")


def _print(res: Any, folder: Any, synthetic: bool) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    con = Console(width=140)
    p = res.params
    if synthetic:
        con.print("[bold red]SYNTHETIC DATA[/]: bundled sample prices are invented.")

    def d(v: Any) -> str:
        return "" if v is None or pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d}"

    def pct(v: Any) -> str:
        return "" if v is None or pd.isna(v) else f"{100 * v:+.1f}%"

    t = Table(title=f"{p['ticker']} as of {p['asof']}: next report and what is expected before it")
    for c in ("role", "event", "date / window", "time", "reaction", "sessions before report"):
        t.add_column(c)
    for _, r in res.next.iterrows():
        when = d(r["date"]) or f"{d(r['window_start'])}..{d(r['window_end'])}"
        sb = "" if pd.isna(r["sessions_before_report"]) else str(r["sessions_before_report"])
        t.add_row(r["role"], r["event_id"], when, r["time"], d(r["reaction_session"]), sb)
    con.print(t if len(res.next) else f"no {p['ticker']} report known ahead of {p['asof']}")
    n = p["lookback"]
    t = Table(
        title=f"past reports: run-up [-{n},-1], reaction day 0 and [0,+5] (AR vs {p['benchmark']})"
    )
    for c in (
        "report",
        "reaction",
        "run-up",
        "run-up AR",
        "day 0",
        "day 0 AR",
        "0..+5",
        "CAR 0..+5",
        "launch before",
        "policy before",
    ):
        t.add_column(c)
    for _, r in res.reports.iterrows():
        t.add_row(
            r["event_id"],
            d(r["reaction_session"]),
            pct(r["runup_ret"]),
            pct(r["runup_ar"]),
            pct(r["react0_ret"]),
            pct(r["react0_ar"]),
            pct(r["react5_ret"]),
            pct(r["react5_car"]),
            r["launch_ids"].replace(";", " ") or "-",
            r["policy_ids"].replace(";", " ") or "-",
        )
    con.print(t)
    t = Table(title="with vs without a launch (policy event) before the report")
    for c in (
        "window",
        "split",
        "n with",
        "n without",
        "mean with",
        "mean without",
        "diff",
        "test",
        "p",
    ):
        t.add_column(c)
    for _, r in res.tests.iterrows():
        t.add_row(
            r["window"], r["split"], str(r["n_a"]), str(r["n_b"]), pct(r["mean_a"]),
            pct(r["mean_b"]), pct(r["diff"]), r["test"],
            "" if pd.isna(r["pvalue"]) else f"{r['pvalue']:.3f}",
        )  # fmt: skip
    con.print(t)
    for note in res.notes:
        con.print(f"note: {note}")
    con.print(f"written: {folder}")


COMMANDS = (preearnings_cmd,)
