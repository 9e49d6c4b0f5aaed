"""``evbt events watch`` and ``evbt events crosscheck``: the labs' Hugging Face
organisations as a source of launch rows (see :mod:`evbt.data.hub`).

Registered on the ``events`` group by :mod:`evbt.cli.events`; decodes options and calls
:mod:`evbt.data.hub`. Made for cron: ``watch`` prints nothing when nothing is new.
"""

from __future__ import annotations

import json
from typing import Any

import click

_ORGS_HELP = (
    "Hugging Face organisation (repeatable; default: every one in the watched list, "
    "data/watch_orgs.toml or your watch_orgs.toml in the user data folder)."
)


def _orgs(names: tuple[str, ...], orgs_file: str | None) -> tuple[list[Any], dict[str, Any]]:
    from evbt.data import hub

    known = hub.load_orgs(orgs_file)
    picked = hub.pick_orgs(known, names)
    return picked, {w.name: w for w in picked}


@click.command("watch")
@click.option("--org", "names", multiple=True, help=_ORGS_HELP)
@click.option("--orgs-file", default=None, help="TOML list of organisations to watch.")
@click.option(
    "--state",
    default=None,
    type=click.Path(dir_okay=False),
    help="JSON file of what was seen (default: watch_state.json in the user data folder).",
)
@click.option(
    "--catalog",
    default=None,
    help="Catalog CSV to add rows to (default: your user catalog, created on first use).",
)
@click.option("--dry-run", is_flag=True, help="Propose the rows; write neither catalog nor state.")
@click.option("--json", "as_json", is_flag=True, help="Print the releases as JSON.")
def watch_cmd(
    names: tuple[str, ...],
    orgs_file: str | None,
    state: str | None,
    catalog: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Add a model_launch row for each new release on the watched Hugging Face
    organisations; its knowledge time is the first sighting (this run), never the
    repository's createdAt. The first run for an organisation records what it holds and
    adds nothing."""
    from evbt.data import hub

    picked, _ = _orgs(names, orgs_file)
    res = hub.watch(picked, state_path=state, catalog=catalog, dry_run=dry_run)
    p = res.plan
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "catalog": str(res.catalog),
                    "state": str(res.state),
                    "listed": res.listed,
                    "rows": p.rows,
                    "releases": [r.review() for r in p.releases],
                    "baseline": p.baseline,
                    "adopted": p.adopted,
                },
                indent=2,
            )
        )
        return
    verb = "would add" if dry_run else "added"
    for name, n in p.baseline.items():
        click.echo(
            f"{name}: first listing, {n} repositories recorded as already public (no rows; "
            "`evbt events crosscheck` compares them with the catalog)"
        )
    for eid in p.adopted:
        click.echo(f"{eid}: already in the catalog from an interrupted run, recorded in the state")
    for name in p.empty:
        click.echo(f"{name}: no public model repositories (check the name)")
    for r in p.releases:
        repos = ", ".join(x.id for x in r.repos)
        if r.new:
            row = r.row()
            click.echo(
                f"{verb} {r.event_id} ({row['org']}, {row['tags'].replace(';', ' ')}; first seen "
                f"{row['date']} {row['time']} UTC; {len(r.repos)} repositories: {repos})"
            )
        else:
            click.echo(f"variants of {r.event_id} (no new row): {repos}")
    if p.rows and not dry_run:
        click.echo(f"{len(p.rows)} rows added to {res.catalog}")


@click.command("crosscheck")
@click.option("--org", "names", multiple=True, help=_ORGS_HELP)
@click.option("--orgs-file", default=None, help="TOML list of organisations to watch.")
@click.option("--catalog", "path", default=None, help="Catalog CSV (default: bundled + user).")
@click.option(
    "--state",
    default=None,
    type=click.Path(dir_okay=False),
    help="The watcher's state, for its first sightings (default: the usual one, if any).",
)
@click.option("--all", "show_all", is_flag=True, help="Also list rows that agree.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def crosscheck_cmd(
    names: tuple[str, ...],
    orgs_file: str | None,
    path: str | None,
    state: str | None,
    show_all: bool,
    as_json: bool,
) -> None:
    """Compare the catalog's launch dates with the Hub's repositories of the same release
    (e.g. weights public before the announcement). Never edits anything."""
    from evbt.data import hub
    from evbt.data.catalog import load_catalog

    picked, by_name = _orgs(names, orgs_file)
    cat = load_catalog(path)
    st = hub.read_state(state if state is not None else hub.default_state_path())
    listings = {w.name: hub.list_repos(w.name) for w in picked}
    recs = hub.crosscheck(cat, listings, by_name, st)
    if as_json:
        click.echo(json.dumps(recs, indent=2))
        return
    shown = [r for r in recs if show_all or (r["days"] not in (0, None))]
    missing = [r for r in recs if r["days"] is None]
    click.echo(
        f"{len(recs)} catalog launches of {len(picked)} organisations: "
        f"{sum(r['days'] not in (0, None) for r in recs)} differ from the Hub, "
        f"{len(missing)} without a repository"
    )
    for r in shown:
        if r["days"] is None:
            continue
        seen = f", first seen {r['first_seen']}" if r["first_seen"] else ""
        click.echo(
            f"{r['event_id']} ({r['org']}) catalog {r['date']}, known_since {r['known_since']}: "
            f"{r['first_repo']} created {r['created_at']}{seen}: {r['note']}"
        )
    if show_all:
        for r in missing:
            click.echo(f"{r['event_id']} ({r['org']}) catalog {r['date']}: {r['note']}")
