"""Run-level commands: backtest, signals, study, sweep. Each decodes, calls the API, prints."""

from __future__ import annotations

import click

from evbt.cli._common import (
    common_options,
    emit_json,
    escape,
    frame_records,
    loading,
    no_report_option,
    text,
    working,
    write_report_for,
)


def _fmt(v: float, pct: bool = True, sign: bool = True) -> str:
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if not pct:
        return f"{v:.2f}"
    return f"{v:+.2%}" if sign else f"{v:.2%}"


_HEADLINE = {"bmp": "BMP", "bmp_kp": "BMP-KP"}


def _record_warnings(manifest: dict) -> None:
    """Warnings printed while loading (split-like jumps, short histories) go into the
    manifest too, so the result folder says what was suspicious about its input."""
    from evbt.cli import warnings_seen

    seen = warnings_seen()
    if seen:
        manifest["warnings"] = seen


def print_backtest(result, out_dir) -> None:
    """The summary a user reads after `evbt backtest`: strategy beside its benchmark."""
    from rich.console import Console
    from rich.table import Table

    con = Console(width=110, emoji=False)
    man = result.manifest
    d, s = man["data"], man["signals"]
    if d["synthetic"]:
        con.print(
            "[bold red]SYNTHETIC DATA[/]: bundled sample prices are invented; results say nothing about markets."
        )
    if s["allow_lookahead"]:
        con.print(
            f"[bold yellow]LOOKAHEAD ALLOWED[/]: {s['n_lookahead_signals']} signal(s) enter before their event was knowable."
        )
    if man.get("ruined"):
        con.print(
            "[bold red]RUINED[/]: an account's equity reached <= 0; it was closed there and "
            "its later signals skipped (total return is the actual loss, CAGR -100%)."
        )
    con.print(
        text(
            f"strategy {result.config.strategy.name} | data {d['source']} {d['first_session']} to {d['last_session']} "
            f"| config {man['config_id']} | data hash {d['data_hash']}"
        )
    )
    m = result.summary()
    bench = result.config.data.benchmark or "benchmark"
    t = Table(title="Backtest summary")
    t.add_column("metric")
    t.add_column("strategy", justify="right")
    t.add_column(f"{bench} buy & hold", justify="right")
    b = result.benchmark_metrics()  # the benchmark's buy and hold (BacktestResult.stats)
    rows = [
        ("total return", "total_return", True),
        ("CAGR", "cagr", True),
        ("Sharpe", "sharpe", False),
        ("Sortino", "sortino", False),
        ("max drawdown", "max_drawdown", True),
        ("Calmar", "calmar", False),
    ]
    for label, key, pct in rows:
        t.add_row(label, _fmt(m[key], pct), _fmt(b[key], pct) if b is not None else "")
    vol_b = _fmt(b["ann_vol"], sign=False) if b is not None else ""
    t.add_row("ann. volatility", _fmt(m["ann_vol"], sign=False), vol_b)
    t.add_row("exposure", _fmt(m["exposure"], sign=False), "100.00%")
    t.add_row("trades", f"{int(m['n_trades'])}", "")
    t.add_row("hit rate", _fmt(m["hit_rate"], sign=False), "")
    t.add_row("profit factor", _fmt(m["profit_factor"], False), "")
    con.print(t)
    con.print(
        f"signals {s['n_signals']}, trades {s['n_trades']}, skipped {s['n_skipped']}"
        + (
            f" ({', '.join(f'{k}: {v}' for k, v in s['skipped_by_reason'].items())})"
            if s["skipped_by_reason"]
            else ""
        )
    )
    if result.study is not None:
        summ = result.study.summary
        main = summ[(summ["group_type"] == "all") & (summ["n"] > 0)]
        for _, r in main.iterrows():
            con.print(
                f"event study {r['car_window']}: n={int(r['n'])} CAAR {_fmt(r['caar'])} "
                f"p(t)={r['p_cs']:.3f} p({_HEADLINE[r['headline']]})={r['p_headline']:.3f} "
                f"p(placebo)={r['placebo_p']:.3f}"
            )
        for note in result.study.notes:
            con.print(f"[bold yellow]event study[/]: {escape(note)}", highlight=False)
        _print_study_skips(con, result.study)
    con.print(text(f"results: {out_dir}"))


@click.command("backtest")
@click.argument("config", type=click.Path(dir_okay=False))
@common_options("prices", "events", "out", "json")
@click.option("--no-study", is_flag=True, help="Skip the event study of the traded windows.")
@click.option("--force", is_flag=True, help="Redo the run even if the results root has it.")
@no_report_option
def backtest_cmd(
    config: str,
    prices: str | None,
    events: str | None,
    out: str | None,
    no_study: bool,
    as_json: bool,
    force: bool,
    no_report: bool,
) -> None:
    """Backtest CONFIG (TOML): signals -> Numba core -> Parquet results and a summary."""
    with loading():
        from evbt.api import run
        from evbt.errors import InputError
        from evbt.store import write_result
        from evbt.strategies.config import load_config

    cfg = load_config(config)
    if cfg.sweep:
        raise InputError(
            f"{config}: has a [sweep] table ({', '.join(cfg.sweep)}): run it with "
            f"`evbt sweep {config}`, or remove [sweep] to backtest one combination"
        )
    with working():
        result = run(cfg, prices_path=prices, events_path=events, study=False if no_study else None)
        _record_warnings(result.manifest)
        path = write_result(result, out, force=force)
        if as_json:
            report = None if no_report else write_report_for(path, quiet=True)
            emit_json(
                {
                    "results": str(path),
                    "report": None if report is None else str(report),
                    "manifest": result.manifest,
                    "metrics": frame_records(result.metrics),
                }
            )
        else:
            print_backtest(result, path)
            if not no_report:
                write_report_for(path)


def _print_study_skips(con, st) -> None:
    """Event rows the study left out (window outside the data, missing returns, ...)."""
    if st.skipped:
        eid, ticker, why = st.skipped[0]
        more = f" and {len(st.skipped) - 1} more" if len(st.skipped) > 1 else ""
        con.print(
            f"[bold yellow]event study[/]: skipped {escape(f'{eid} {ticker}: {why}{more}')} "
            "(counted in the summary's n_skipped)",
            highlight=False,
        )


def print_study_tables(con, st) -> None:
    """CAAR with its tests per group, then each event's CAR per ticker (main window)."""
    from rich.table import Table

    summ = st.summary
    t = Table(title="CAAR and tests (two-sided p-values; bootstrap 95% CI)")
    t.add_column("group")
    t.add_column("window")
    for c in (
        "n",
        "CAAR",
        "t",
        "Patell",
        "BMP",
        "BMP-KP",
        "rank",
        "sign",
        "95% CI",
        "placebo",
        "overlap/thin",
    ):
        t.add_column(c, justify="right")
    for _, r in summ.iterrows():
        grp = "all" if r["group_type"] == "all" else f"{r['group_type']}:{r['group']}"
        t.add_row(
            text(grp),
            text(r["car_window"]),
            str(int(r["n"])),
            f"{r['caar']:+.2%}",
            f"{r['p_cs']:.3f}",
            f"{r['p_patell']:.3f}",
            f"{r['p_bmp']:.3f}",
            f"{r['p_bmp_kp']:.3f}" + ("*" if r["headline"] == "bmp_kp" else ""),
            f"{r['p_corrado']:.3f}",
            f"{r['p_gsign']:.3f}",
            f"{r['boot_lo']:+.1%}..{r['boot_hi']:+.1%}" if r["boot_lo"] == r["boot_lo"] else "n/a",
            f"{r['placebo_p']:.3f}",
            f"{int(r['n_overlap'])}/{int(r['n_thin'])}",
        )
    con.print(t)
    con.print(
        "n counts event x ticker rows. Rows that share a day 0 are correlated: BMP-KP (Kolari-Pynnonen "
        "2010) adjusts BMP for it and is the headline test (*) there; the t, Patell, rank and sign tests "
        "treat rows as independent; the bootstrap and placebo move whole events."
    )
    for note in st.notes:
        con.print(f"[bold yellow]note[/]: {escape(note)}", highlight=False)
    _print_study_skips(con, st)
    ev = st.events
    car_cols = [c for c in ev.columns if c.startswith("car[")]
    if car_cols:
        main = car_cols[-1]
        wide = ev.pivot_table(
            index=["event_id", "reaction_session"], columns="ticker", values=main, sort=False
        )
        e = Table(title=f"CAR {main[3:]} per event and ticker")
        e.add_column("event")
        e.add_column("day 0")
        for c in wide.columns:
            e.add_column(str(c), justify="right")
        for (eid, day), row in wide.iterrows():
            e.add_row(text(eid), f"{day:%Y-%m-%d}", *(f"{v:+.1%}" if v == v else "" for v in row))
        con.print(e)


@click.command("study")
@click.argument("config", type=click.Path(dir_okay=False))
@common_options("prices", "events", "out", "json")
@click.option("--force", is_flag=True, help="Redo the run even if the results root has it.")
@no_report_option
def study_cmd(
    config: str,
    prices: str | None,
    events: str | None,
    out: str | None,
    as_json: bool,
    force: bool,
    no_report: bool,
) -> None:
    """Event study of the events CONFIG selects: abnormal returns, CAAR and its tests."""
    with loading():
        from evbt.api import study
        from evbt.store import write_study
        from evbt.strategies.config import load_config

    cfg = load_config(config)
    with working():
        res = study(cfg, prices_path=prices, events_path=events)
        _record_warnings(res.manifest)
        path = write_study(res, out, force=force)
        _show_study(cfg, res, path, as_json=as_json, no_report=no_report)


def _show_study(cfg, res, path, *, as_json: bool, no_report: bool) -> None:
    """What `evbt study` prints (tables or JSON) and its report."""
    summ = res.study.summary
    if as_json:
        report = None if no_report else write_report_for(path, quiet=True)
        emit_json(
            {
                "results": str(path),
                "report": None if report is None else str(report),
                "manifest": res.manifest,
                "summary": frame_records(summ),
            }
        )
        return
    from rich.console import Console

    con = Console(width=120, emoji=False)
    d = res.manifest["data"]
    if d["synthetic"]:
        con.print(
            "[bold red]SYNTHETIC DATA[/]: bundled sample prices are invented; no real effect can show."
        )
    ev = res.manifest["events"]
    con.print(
        text(
            f"event study {cfg.strategy.name}: {ev['n_event_tickers']} event x ticker pairs, benchmark {d['benchmark']}, "
            f"model {cfg.study.model}, data {d['source']} {d['first_session']} to {d['last_session']}"
            + (
                f"; {ev['n_outside_data']} outside the data, skipped"
                if ev["n_outside_data"]
                else ""
            )
        )
    )
    print_study_tables(con, res.study)
    con.print(text(f"results: {path}"))
    if not no_report:
        write_report_for(path)


COMMANDS = (backtest_cmd, study_cmd)
