"""``evbt signals --asof``: what each strategy would watch, enter, hold or exit."""

from __future__ import annotations

import click

from evbt.cli._common import emit_json, frame_records


@click.command("signals")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--asof", required=True, help="Date the alert view is computed for (YYYY-MM-DD).")
@click.option(
    "--strategy", "names", multiple=True, help="Preset name (repeatable); default all presets."
)
@click.option("--events", default=None, help="Event catalog CSV (default: bundled).")
@click.option("--horizon", default=20, show_default=True, help="Sessions ahead to look.")
@click.option("--json", "as_json", is_flag=True)
def signals_cmd(
    config: str | None,
    asof: str,
    names: tuple[str, ...],
    events: str | None,
    horizon: int,
    as_json: bool,
) -> None:
    """What each strategy would hold, enter or exit in the coming sessions, as of ASOF."""
    import pandas as pd

    from evbt.data.catalog import horizon_sessions, load_catalog
    from evbt.errors import InputError
    from evbt.signals.alerts import alerts
    from evbt.strategies.config import load_config
    from evbt.strategies.presets import PRESETS, get_preset

    horizon_sessions(asof, horizon, what="--asof")  # one as-of rule with upcoming, alerts
    day = pd.Timestamp(asof)
    if config and names:
        raise InputError("give either CONFIG or --strategy, not both")
    if config:
        cfg = load_config(config)
        strategies, path = [cfg.strategy], events or cfg.data.events
    else:
        chosen = names or tuple(n for n in PRESETS if n != "event_window")
        strategies, path = [get_preset(n) for n in chosen], events
    df = alerts(load_catalog(path), strategies, day, horizon=horizon)
    if as_json:
        emit_json(frame_records(df))
        return
    from rich.table import Table

    from evbt.cli._common import console, text

    t = Table(
        title=f"Signals as of {day:%Y-%m-%d} (next {horizon} sessions; catalog as known then)"
    )
    cols = (
        "strategy",
        "action",
        "event_id",
        "ticker",
        "direction",
        "entry_session",
        "exit_session",
        "window",
    )
    for c in cols:
        t.add_column(c)
    for _, r in df.iterrows():
        win = (
            f"{r['window_start']:%Y-%m-%d}..{r['window_end']:%Y-%m-%d}"
            if pd.notna(r["window_start"])
            else ""
        )
        vals = {
            **{c: str(r[c]) for c in cols[:5]},
            "entry_session": f"{r['entry_session']:%Y-%m-%d}",
            "exit_session": f"{r['exit_session']:%Y-%m-%d}",
            "window": win,
        }
        t.add_row(*(text(vals[c]) for c in cols))
    console(width=130).print(
        t
        if len(df)
        else f"no positions to hold, enter or exit within {horizon} sessions of {day:%Y-%m-%d}"
    )


COMMANDS = (signals_cmd,)
