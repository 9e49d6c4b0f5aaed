"""``evbt events``: list, validate, add and refresh the event catalog.

Decodes arguments and calls :mod:`data.catalog`; no logic of its own. :class:`InputError`
leaves these commands untouched (``evbt.cli.main`` prints it on one line, exit 2).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # pandas and the catalog load inside the commands: `evbt --help` stays fast
    import pandas as pd

_CATALOG_HELP = (
    "Catalog CSV (default: the bundled catalog overlaid by your user catalog, "
    "$EVBT_CATALOG or the user data folder; new rows go to the user catalog)."
)


def json_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: dates as YYYY-MM-DD (null when missing), bools as bools,
    NumPy scalars as Python values. Plain rows (str, bool, date, None) need no pandas."""
    from evbt.data.catalog_schema import missing

    def value(v: Any) -> Any:
        if v is None or isinstance(v, str | bool):
            return v
        if isinstance(v, dt.date):  # a pandas Timestamp (or NaT) is a date too
            return None if missing(v) else v.strftime("%Y-%m-%d")
        import pandas as pd

        if pd.isna(v):
            return None
        return v.item() if hasattr(v, "item") else v  # NumPy scalar

    return [{k: value(v) for k, v in r.items()} for r in rows]


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON-ready dicts (:func:`json_rows`)."""
    return json_rows(df.to_dict("records"))


def _emit_json(rows: list[dict[str, Any]]) -> None:
    click.echo(json.dumps(rows, indent=2, ensure_ascii=False))


def _day(v: Any) -> str:
    """A date cell as YYYY-MM-DD, "" when missing (None or NaT)."""
    from evbt.data.catalog_schema import missing

    return "" if missing(v) else f"{v:%Y-%m-%d}"


def _when(row: Mapping[str, Any]) -> str:
    if _day(row["date"]):
        return _day(row["date"])
    return f"{row['window_start']:%Y-%m-%d}..{row['window_end']:%Y-%m-%d}"


def _table(rows: Iterable[Mapping[str, Any]], title: str, *, extra: tuple[str, ...] = ()) -> None:
    """The catalog table: one line per row (plain rows or a table's records)."""
    from rich.table import Table

    from evbt.cli._common import console as make_console
    from evbt.cli._common import text

    table = Table(title=text(title), title_justify="left")
    for col in (
        "id",
        "when",
        "time",
        "org",
        "kind",
        "status",
        "confidence",
        "reaction",
        *extra,
        "tags",
    ):
        table.add_column(col, no_wrap=col in ("id", "when", "reaction"))
    for r in rows:
        reaction = _day(r["reaction_session"])
        table.add_row(
            *(
                text(v)
                for v in (
                    r["id"],
                    _when(r),
                    r["time"],
                    r["org"],
                    r["kind"],
                    r["status"],
                    r["confidence"],
                    reaction,
                    *(str(r[c]) for c in extra),
                    r["tags"].replace(";", " "),  # lets a long tag list wrap
                )
            )
        )
    console = make_console()
    if not console.is_terminal:
        console = make_console(width=160)
    console.print(table)


@click.group("events")
def events() -> None:
    """The event catalog: AI launches and earnings reports, point in time."""


@events.command("list")
@click.option(
    "--kind", multiple=True, help="model_launch, earnings, product, policy, other (repeatable)."
)
@click.option("--org", multiple=True, help="Organisation, case-insensitive (repeatable).")
@click.option("--tag", multiple=True, help="Tag such as china or open_weights (repeatable).")
@click.option("--status", multiple=True, help="confirmed or expected (repeatable).")
@click.option("--confidence", multiple=True, help="confirmed, single or unconfirmed (repeatable).")
@click.option("--since", default=None, help="First date (YYYY-MM-DD).")
@click.option("--until", default=None, help="Last date (YYYY-MM-DD).")
@click.option("--asof", default=None, help="Show the catalog as known on this date (YYYY-MM-DD).")
@click.option("--catalog", "path", default=None, help=_CATALOG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def list_events(
    kind: tuple[str, ...],
    org: tuple[str, ...],
    tag: tuple[str, ...],
    status: tuple[str, ...],
    confidence: tuple[str, ...],
    since: str | None,
    until: str | None,
    asof: str | None,
    path: str | None,
    as_json: bool,
) -> None:
    """List events, filtered; with --asof, only what the market knew that day."""
    # plain rows, no pandas (issue 17): the rules of load_catalog, as_of and select
    from evbt.data import catalog_rows
    from evbt.data.catalog_io import load_rows

    rows = load_rows(path)
    if asof is not None:
        rows = catalog_rows.as_of(rows, asof)
    rows = catalog_rows.select(
        rows,
        kind=kind or None,
        org=org or None,
        tag=tag or None,
        status=status or None,
        confidence=confidence or None,
        since=since,
        until=until,
    )
    if as_json:
        _emit_json(json_rows(rows))
    else:
        known = f" known on {asof}" if asof else ""
        _table(rows, f"{len(rows)} events{known}")


@events.command("validate")
@click.argument("file", required=False)
def validate(file: str | None) -> None:
    """Check a catalog file (default: the bundled one and your user catalog over it)."""
    from evbt.data import catalog as cat

    df = cat.validate_catalog(file)
    n_conf = int((df["status"] == "confirmed").sum())
    n_exp = int((df["status"] == "expected").sum())
    if file:
        click.echo(f"ok: {len(df)} events ({n_conf} confirmed, {n_exp} expected) in {file}")
    else:
        click.echo(f"ok: {len(df)} events ({n_conf} confirmed, {n_exp} expected)")
        srcs = cat.catalog_sources()
        for label, path, n in srcs:
            click.echo(f"  {label}: {n} rows in {path}")
        if len(srcs) == 1:
            click.echo(
                f"  user: none yet ({cat.user_catalog_path()}; `evbt events add` creates it)"
            )
        over = _user_overrides()
        if over:
            click.echo(f"  the user catalog overrides {len(over)} bundled rows: {', '.join(over)}")
        from evbt.data.attributes import DEFAULT_ATTRIBUTES, load_attributes

        attrs = load_attributes(event_ids=df["id"])  # every event_id must be in the catalog
        click.echo(
            f"  attributes: {len(attrs)} rows for {attrs['event_id'].nunique()} events in "
            f"{DEFAULT_ATTRIBUTES}"
        )
    kinds = df["kind"].value_counts()
    click.echo("  by kind: " + ", ".join(f"{k} {int(kinds[k])}" for k in cat.KINDS if k in kinds))
    earn = df[df["kind"] == "earnings"]
    reporters = earn["tickers"].map(lambda s: ";".join(cat.split_list(s))).value_counts()
    click.echo(
        "  earnings by reporter: "
        + ", ".join(f"{t} {int(n)}" for t, n in sorted(reporters.items()))
    )


@events.command("add")
@click.option("--id", "id_", required=True, help="Unique slug, e.g. deepseek-r1.")
@click.option("--name", required=True)
@click.option("--org", required=True)
@click.option("--kind", required=True, help="model_launch, earnings, product, policy or other.")
@click.option("--date", default="", help="YYYY-MM-DD in --tz (empty for an expected event).")
@click.option(
    "--time",
    "time_",
    default="unknown",
    show_default=True,
    help="HH:MM, pre_market, intraday, after_close or unknown.",
)
@click.option("--tz", required=True, help="IANA timezone, e.g. Asia/Shanghai.")
@click.option("--tickers", default="", help="';'-separated, e.g. NVDA.")
@click.option("--tags", default="", help="';'-separated, e.g. china;open_weights.")
@click.option("--scheduled/--unscheduled", default=None, help="Was the date public in advance?")
@click.option("--status", default="confirmed", show_default=True, help="confirmed or expected.")
@click.option("--window-start", default="", help="YYYY-MM-DD (expected events).")
@click.option("--window-end", default="", help="YYYY-MM-DD (expected events).")
@click.option("--known-since", default="", help="YYYY-MM-DD: when the market could know of it.")
@click.option("--fiscal-period", default="", help="e.g. 'Q4 FY2026' (earnings).")
@click.option("--supersedes", default="", help="Id of the expected row this one resolves.")
@click.option("--source", required=True, help="Where the date was read.")
@click.option("--confidence", required=True, help="confirmed, single or unconfirmed.")
@click.option("--catalog", "path", default=None, help=_CATALOG_HELP)
@click.option(
    "--replace", is_flag=True, help="Override the bundled event of the same id (user catalog)."
)
def add(
    path: str | None,
    id_: str,
    time_: str,
    scheduled: bool | None,
    replace: bool,
    **fields: str,
) -> None:
    """Add one event (validated with the whole file; the file is untouched on error)."""
    from evbt.data import catalog as cat
    from evbt.errors import InputError

    overrides = path is None and id_ in _bundled_ids()
    if overrides and not replace:
        raise InputError(
            f"--id {id_}: a bundled event has this id: adding it would replace the bundled row "
            "in every later run: pass --replace to override it, or choose another id"
        )

    if scheduled is None:
        raise InputError(
            "--scheduled/--unscheduled: missing: say whether the date was public in advance "
            "(--scheduled for earnings, --unscheduled for surprise launches)"
        )
    row: dict[str, Any] = dict(fields)
    row.update(id=id_, time=time_, scheduled=scheduled)
    row["tags"] = row["tags"].lower()
    row["tickers"] = row["tickers"].upper()
    cat.add_event(path, row)
    where = path or cat.user_catalog_path()
    note = " (it overrides the bundled event of this id)" if overrides else ""
    click.echo(f"added {id_} to {where}{note}")


def _bundled_ids() -> set[str]:
    """The ids of the bundled catalog."""
    import csv

    from evbt.data.catalog import DEFAULT_CATALOG

    with DEFAULT_CATALOG.open(encoding="utf-8", newline="") as f:
        return {row.get("id", "") for row in csv.DictReader(f)}


def _user_overrides() -> list[str]:
    """Ids of the user catalog that replace a bundled row (sorted)."""
    import csv

    from evbt.data.catalog import user_catalog_path

    user = user_catalog_path()
    if not user.is_file():
        return []
    with user.open(encoding="utf-8", newline="") as f:
        ids = {row.get("id", "") for row in csv.DictReader(f)}
    return sorted(ids & _bundled_ids())


@events.command("upcoming")
@click.option("--asof", required=True, help="As-of date (YYYY-MM-DD).")
@click.option("--horizon", default=20, show_default=True, type=int, help="Sessions ahead.")
@click.option("--catalog", "path", default=None, help=_CATALOG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def upcoming(asof: str, horizon: int, path: str | None, as_json: bool) -> None:
    """Events known on --asof whose reaction session (or window) is in the next sessions."""
    from evbt.data import catalog as cat

    cat.horizon_sessions(asof, horizon, what="--asof")  # one rule with `signals`, `alerts`
    df = cat.upcoming(cat.load_catalog(path), asof, horizon_sessions=horizon)
    if as_json:
        _emit_json(records(df))
    else:
        _table(
            df.to_dict("records"),
            f"{len(df)} events in the {horizon} sessions from {asof}",
            extra=("sessions_ahead",),
        )


@events.command("refresh-earnings")
@click.argument("ticker")
@click.option(
    "--limit", default=12, show_default=True, type=int, help="Report dates to ask Yahoo for."
)
@click.option("--catalog", "path", default=None, help=_CATALOG_HELP)
def refresh_earnings(ticker: str, limit: int, path: str | None) -> None:
    """Add TICKER's report dates from yfinance that the catalog does not have yet."""
    from evbt.data import catalog as cat

    res = cat.refresh_earnings(path, ticker, limit=limit)
    where = path or cat.user_catalog_path()
    if res.added:
        click.echo(f"added {len(res.added)} report dates to {where}: {', '.join(res.added)}")
    else:
        click.echo(f"no new report dates for {ticker.upper()} in {where}")
    if res.skipped:
        # never overwritten: a row already in the catalog (with its source) is kept as it is
        known = cat.validate_catalog(path).set_index("id")
        click.echo(f"kept {len(res.skipped)} rows already in the catalog (not overwritten):")
        for fetched, rid in res.skipped:
            have = known.loc[rid]
            day = f"{have['date']:%Y-%m-%d}" if have["date"] == have["date"] else "?"
            flag = "" if day == fetched else f"  [yfinance says {fetched}: check the source]"
            click.echo(f"  {rid} {day} ({have['source']}; {have['confidence']}){flag}")


def _register_watch() -> None:
    """`events watch` and `events crosscheck` live in evbt.cli.watch (issue 20)."""
    from evbt.cli.watch import crosscheck_cmd, watch_cmd

    events.add_command(watch_cmd)
    events.add_command(crosscheck_cmd)


_register_watch()

COMMANDS = (events,)
