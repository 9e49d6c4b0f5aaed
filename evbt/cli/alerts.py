"""``evbt alerts``: what to watch, enter, hold or exit soon; made for cron.

Decodes options and calls :mod:`evbt.signals.alerts`; no logic of its own.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _default_configs() -> list[Path]:
    """The example configs of a checkout (none in an installed package: presets then)."""
    return sorted(_EXAMPLES.glob("*.toml")) if _EXAMPLES.is_dir() else []


def _strategies(configs: tuple[str, ...], catalog: str | None) -> list[tuple[str | None, list]]:
    """[(catalog path, [strategy params labelled by config stem])] grouped by catalog."""
    from evbt.strategies.config import load_config
    from evbt.strategies.presets import PRESETS, get_preset

    groups: dict[str | None, list] = {}
    paths = [Path(c) for c in configs] or _default_configs()
    if not paths:
        for name in PRESETS:
            if name != "event_window":
                groups.setdefault(catalog, []).append(get_preset(name))
        return list(groups.items())
    seen: set[str] = set()
    for p in paths:
        cfg = load_config(p)
        label = p.stem if p.stem not in seen else f"{p.parent.name}/{p.stem}"
        seen.add(label)
        path = catalog or cfg.data.events
        groups.setdefault(path, []).append(cfg.strategy.replace(name=label))
    return list(groups.items())


def _line(it: dict[str, Any]) -> str:
    if it["action"] == "watch":
        return (
            f"{it['strategy']}: WATCH {it['event_id']} window {it['window_start']}..{it['window_end']}"
            f" ({it['direction']} {it['ticker']}; if it comes on day one: enter {it['entry_session']},"
            f" exit {it['exit_session']})"
        )
    return (
        f"{it['strategy']}: {it['action'].upper()} {it['direction']} {it['ticker']} "
        f"({it['event_id']}, {it['status']}) entry {it['entry_session']} exit {it['exit_session']}"
    )


@click.command("alerts")
@click.option("--asof", default=None, help="As-of date (YYYY-MM-DD; default today in New York).")
@click.option("--horizon", default=10, show_default=True, type=int, help="Sessions ahead.")
@click.option(
    "--config",
    "configs",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Strategy config (repeatable; default the example configs, else every preset).",
)
@click.option("--catalog", default=None, help="Event catalog CSV (default: each config's).")
@click.option(
    "--state",
    default=None,
    type=click.Path(dir_okay=False),
    help="JSON file of the last run: print only what changed, nothing when nothing did "
    "(--format ics: the whole calendar every time). Updated only after the output was written.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "ics"]),
    default="text",
    show_default=True,
)
def alerts_cmd(
    asof: str | None,
    horizon: int,
    configs: tuple[str, ...],
    catalog: str | None,
    state: str | None,
    fmt: str,
) -> None:
    """Per strategy, what to watch, enter, hold or exit in the next HORIZON sessions, as the
    catalog was known on ASOF. With --state, only the changes since the last run."""
    import datetime as dt
    import zoneinfo

    import pandas as pd

    from evbt.data.catalog import horizon_sessions, load_catalog
    from evbt.signals import alerts as al

    if asof is None:
        asof = dt.datetime.now(zoneinfo.ZoneInfo("America/New_York")).strftime("%Y-%m-%d")
    ahead = horizon_sessions(asof, horizon, what="--asof")  # checks both, one-line errors
    day = pd.Timestamp(asof)
    old = al.read_state(state) if state else None  # a corrupt state fails before any work
    items: dict[str, dict[str, Any]] = {}
    for path, strategies in _strategies(configs, catalog):
        cat = load_catalog(path)
        df = al.alerts(cat, strategies, day, horizon=horizon)
        items.update(al.alert_keys(df, cat))
    horizon_txt = (
        f"{ahead[0]:%Y-%m-%d}..{ahead[-1]:%Y-%m-%d}" if len(ahead) else "beyond the calendar"
    )
    sessions = f"nothing in the next {horizon} sessions"
    if state and old is not None:
        changes = al.diff_alerts(old, items)
        if fmt == "ics":  # a calendar is a state, not a diff: the whole of it every time
            text = al.to_ics(items)
        elif not changes:
            text = ""  # quiet: cron mails only news
        elif fmt == "json":
            text = json_text(
                {"asof": f"{day:%Y-%m-%d}", "sessions": horizon_txt, "changes": changes}
            )
        else:
            lines = [f"evbt alerts as of {day:%Y-%m-%d} ({horizon_txt}): {len(changes)} changes"]
            for c in changes:
                what = _line(c)
                if c["change"] == "changed":
                    was = ", ".join(f"{k} was {v}" for k, v in sorted(c["before"].items()))
                    lines.append(f"CHANGED {what} [{was}]")
                else:
                    lines.append(f"{c['change'].upper()} {what}")
            text = "\n".join(lines) + "\n"
        deliver(text)  # written and flushed before the state records it
        al.write_state(state, items, day)
        return
    ordered = sorted(
        items.values(), key=lambda i: (i["entry_session"] or "", i["strategy"], i["ticker"])
    )
    if fmt == "json":
        text = json_text({"asof": f"{day:%Y-%m-%d}", "sessions": horizon_txt, "alerts": ordered})
    elif fmt == "ics":
        text = al.to_ics(items)
    elif not items:
        text = f"evbt alerts as of {day:%Y-%m-%d} ({horizon_txt}): {sessions}\n"
    else:
        lines = [f"evbt alerts as of {day:%Y-%m-%d} ({horizon_txt}): {len(items)} alerts"]
        lines += [_line(it) for it in ordered]
        text = "\n".join(lines) + "\n"
    deliver(text)


def json_text(obj: Any) -> str:
    """What :func:`emit_json` prints, as a string."""
    import json

    from evbt.cli._common import json_safe

    return json.dumps(json_safe(obj), indent=2, default=str, allow_nan=False) + "\n"


def deliver(text: str) -> None:
    """Write ``text`` to stdout and flush it; a failed write (a full disk, a closed pipe) is
    an InputError, raised before any state is committed."""
    import os
    import sys

    from evbt.errors import InputError

    if not text:
        return
    out = sys.stdout
    try:
        out.write(text)
        out.flush()
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # nothing more can reach the reader: stop trying
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
        why = "the output was closed early" if isinstance(e, BrokenPipeError) else e.strerror
        raise InputError(
            f"stdout: cannot write the alerts ({why}): the state file was not updated, so the "
            "next run reports them again"
        ) from None


COMMANDS = (alerts_cmd,)
