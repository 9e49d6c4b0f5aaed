"""``evbt report RUN``: the offline HTML tearsheet of a run folder."""

from __future__ import annotations

import os
from pathlib import Path

import click


def resolve_run(run: str, root: str | None) -> Path:
    """A run folder path, or a run id (a plain name) under the results root.

    Root: ``--root``, else ``EVBT_RESULTS``, else ``./results``.
    """
    from evbt.errors import InputError
    from evbt.store import check_run, open_run

    p = Path(run)
    if (p / "manifest.json").is_file():
        checked = check_run(p)
        if checked.status == "damaged":
            raise InputError(f"{p}: a damaged run: {checked.reason}: rerun it or remove it")
        return p
    base = Path(root or os.environ.get("EVBT_RESULTS") or "results")
    if p.name == run and run not in (".", "..") and base.is_dir():
        try:  # a run id or the unique beginning of one, as `evbt runs` takes it
            return open_run(base, run).path
        except InputError as e:
            if "damaged" in str(e) or "matches" in str(e) or "a link" in str(e):
                raise
    raise InputError(
        f"run {run!r}: neither a run folder (with manifest.json) nor a run id under {base}: "
        "pass a folder or an id from `evbt runs list`"
    )


@click.command("report")
@click.argument("run")
@click.option("--out", "out", default=None, help="HTML file to write (default <run>/report.html).")
@click.option(
    "--root", default=None, help="Results root for a run id (default $EVBT_RESULTS or ./results)."
)
@click.option(
    "--metric",
    default="sharpe",
    show_default=True,
    help="Sweep heatmaps: the metric drawn over the parameters.",
)
@click.option(
    "--standalone",
    is_flag=True,
    help="One self-contained file (plotly.js inside, ~5 MB) to mail or archive; by default "
    "the report loads the results root's shared copy.",
)
def report(run: str, out: str | None, root: str | None, metric: str, standalone: bool) -> None:
    """Write the offline HTML tearsheet of RUN (a run folder or a run id) and print its path."""
    from evbt.cli._common import loading

    with loading():
        from evbt.report import write_report

    path = write_report(resolve_run(run, root), out, metric=metric, standalone=standalone)
    click.echo(str(path))


COMMANDS = (report,)
