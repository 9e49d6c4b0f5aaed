"""``evbt sweep CONFIG``: every combination of a config's ``[sweep]``, streamed to Parquet."""

from __future__ import annotations

import math

import click

from evbt.cli._common import (
    common_options,
    emit_json,
    frame_records,
    loading,
    no_report_option,
    working,
    write_report_for,
)


def _f(v, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format(v, fmt)


def _count(v) -> str:
    return "n/a" if v is None or v != v else str(int(v))


def print_sweep(res) -> None:
    """Top 10 by Sharpe beside the deflated Sharpe and the test over events (events
    traded, non-zero days, ``event_p``, BH over ``event_p``), then PBO and the
    walk-forward."""
    from rich.console import Console
    from rich.table import Table

    con = Console(width=160)
    man = res.manifest
    if man["data"].get("synthetic"):
        con.print(
            "[bold red]SYNTHETIC DATA[/]: bundled sample prices are invented; results say nothing about markets."
        )
    if man.get("lookahead"):
        con.print(
            "[bold yellow]LOOKAHEAD ALLOWED[/]: some entries precede their event's knowability."
        )
    con.print(
        f"sweep {man['run_id']} | {man['n_combos']:,} combinations of {man['grid_size']:,} "
        f"({man['method']}) | {man['portfolio_mode']} | data {man['data']['source']} "
        f"{man['data']['first_session']} to {man['data']['last_session']}"
        + (" | reused" if res.reused else "")
    )
    params = list(man["params"])
    s = res.summary.sort_values("sharpe", ascending=False, na_position="last").head(10)
    t = Table(title="Top 10 combinations by Sharpe (total scope)")
    t.add_column("combo", justify="right")
    for p in params:
        t.add_column(p, justify="right")
    for c in (
        "Sharpe",
        "deflated SR",
        "p (PSR)",
        "BH",
        "events",
        "nz days",
        "p (ev)",
        "BH (ev)",
        "total return",
        "max DD",
        "trades",
    ):
        t.add_column(c, justify="right")
    for _, r in s.iterrows():
        t.add_row(
            str(int(r["combo_id"])),
            *(_f(r[p], "") if not isinstance(r[p], float) else _f(r[p], ".4g") for p in params),
            _f(r["sharpe"], ".2f"),
            _f(r.get("dsr"), ".3f"),
            _f(r.get("psr_pvalue"), ".3f"),
            "yes" if bool(r.get("bh_reject", False)) else "no",
            _count(r.get("n_events")),
            _count(r.get("n_active_days")),
            _f(r.get("event_p"), ".3f"),
            "yes" if bool(r.get("event_bh_reject", False)) else "no",
            _f(r["total_return"], "+.2%"),
            _f(r["max_drawdown"], ".2%"),
            str(int(r["n_trades"])),
        )
    con.print(t)
    of = man.get("overfit") or {}
    if not of.get("available", False):
        con.print(f"overfitting statistics: not computed ({of.get('reason', 'unavailable')})")
    else:
        con.print(
            f"trials {of.get('n_trials')}, variance of Sharpe across trials (daily) "
            f"{_f(of.get('sr_var'), '.3g')}; deflated SR = probability the best Sharpe beats "
            "the best of that many pure-noise trials."
        )
        if "n_bh_events" in of:
            con.print(
                f"discoveries at q = {of.get('fdr_q')}: BH over the events' t-tests "
                f"{of['n_bh_events']} (BY {of['n_by_events']}); BH over the PSR "
                f"{of['n_bh_psr']} (BY {of['n_by_psr']}). The events are the sample: "
                "the PSR counts every session, zeros included."
            )
        for w in of.get("warnings") or []:
            con.print(f"[bold yellow]warning[/]: {w}", highlight=False)
        con.print(
            f"probability of backtest overfitting (CSCV, {man.get('blocks')} time blocks): "
            f"[bold]{_f(of.get('pbo'), '.1%')}[/] (chance the in-sample best is below the "
            "out-of-sample median)"
        )
        wf = of.get("walk_forward") or []
        if wf:
            w = Table(title="Walk-forward over event blocks (mean trade return)")
            for c in ("fold", "chosen combo", "in-sample", "out-of-sample", "OOS rank pct"):
                w.add_column(c, justify="right")
            for r in wf:
                w.add_row(
                    str(r.get("fold")),
                    str(r.get("is_combo")),
                    _f(r.get("is_score"), "+.3%"),
                    _f(r.get("oos_score"), "+.3%"),
                    _f(r.get("oos_rank_pct"), ".0%"),
                )
            con.print(w)
    con.print(f"results: {res.run_dir}")


@click.command("sweep")
@click.argument("config", type=click.Path(dir_okay=False))
@common_options("prices", "events", "out")
@click.option(
    "--resume", is_flag=True, help="Finish an interrupted sweep: compute missing parts only."
)
@click.option("--force", is_flag=True, help="Recompute even if the results root has this sweep.")
@click.option(
    "--workers", type=int, default=None, help="Threads (local) or threads per Dask worker."
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Run chunks here or as tasks on a Dask cluster.",
)
@click.option("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")
@click.option(
    "--connect-timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Dask: seconds to wait for the scheduler, and for a worker when none is left (default 10).",
)
@click.option(
    "--chunk-size", type=int, default=None, help="Combinations per part file (default 10000)."
)
@click.option(
    "--max-combos",
    type=int,
    default=None,
    metavar="N",
    help="Refuse a sweep of more than N combinations (default 5000000).",
)
@click.option("--yes", is_flag=True, help="Run a sweep of any size (no --max-combos limit).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON (no progress bar)."
)
@no_report_option
def sweep_cmd(
    config: str,
    prices: str | None,
    events: str | None,
    out: str | None,
    resume: bool,
    force: bool,
    workers: int | None,
    executor: str,
    scheduler: str | None,
    connect_timeout: float | None,
    chunk_size: int | None,
    max_combos: int | None,
    yes: bool,
    as_json: bool,
    no_report: bool,
) -> None:
    """Run every combination of CONFIG's [sweep] table; write parts, summary and manifest."""
    with loading():
        from evbt.api import sweep as run_sweep
        from evbt.errors import InputError
        from evbt.strategies.config import load_config
        from evbt.strategies.grid import MAX_GRID

    if scheduler and executor != "dask":
        raise InputError("--scheduler needs --executor dask")
    if yes and max_combos is not None:
        raise InputError("--yes and --max-combos: give one (--yes lifts the limit)")
    if max_combos is not None and max_combos < 1:
        raise InputError(f"--max-combos {max_combos}: use a whole number >= 1")
    cfg = load_config(config)
    if not cfg.sweep:
        raise InputError(
            f"{config}: has no [sweep] table: add one (e.g. hold = [3, 5, 10]) or run "
            f"`evbt backtest {config}`"
        )
    with working():
        res = run_sweep(
            cfg,
            out=out,
            resume=resume,
            force=force,
            workers=workers,
            executor=executor,
            scheduler=scheduler,
            connect_timeout=connect_timeout,
            progress=not as_json,
            chunk_size=chunk_size,
            prices_path=prices,
            events_path=events,
            max_combos=MAX_GRID if yes else max_combos,
            announce=not as_json,  # with --json the estimate is a field of the output
        )
        if as_json:
            top = res.summary.sort_values("sharpe", ascending=False, na_position="last").head(10)
            report = None if no_report else write_report_for(res.run_dir, quiet=True)
            emit_json(
                {
                    "results": str(res.run_dir),
                    "report": None if report is None else str(report),
                    "estimate": res.manifest.get("estimate"),
                    "manifest": res.manifest,
                    "top": frame_records(top),
                }
            )
        else:
            print_sweep(res)
            if not no_report:
                write_report_for(res.run_dir)


COMMANDS = (sweep_cmd,)
