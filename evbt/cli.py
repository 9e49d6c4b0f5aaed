"""The ``evbt`` command line: decodes arguments and TOML configs, calls the Python API.

No logic of its own. Exit codes: 0 success, 2 bad input (one line, no traceback unless
``--debug``), 1 internal error.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from evbt.errors import InputError

EXIT_INPUT, EXIT_INTERNAL = 2, 1


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def frame_records(df) -> list[dict[str, Any]]:
    """DataFrame -> JSON-ready records with ISO dates and no NaN."""
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records", date_format="iso"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="evbt")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """evbt: event-driven backtests of AI launches and earnings on NVDA and the semis."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# ---------------------------------------------------------------- data
@cli.group("data")
def data_group() -> None:
    """Prices: fetch, show and validate."""


@data_group.command("fetch")
@click.argument("tickers", nargs=-1, required=True)
@click.option("--start", default="2018-01-01", show_default=True)
@click.option("--end", default=None, help="Last date (default: today).")
@click.option(
    "--cache-dir", default=None, help="Cache folder (default: $EVBT_CACHE or the user cache dir)."
)
@click.option("--json", "as_json", is_flag=True)
def data_fetch(
    tickers: tuple[str, ...], start: str, end: str | None, cache_dir: str | None, as_json: bool
) -> None:
    """Download daily prices from Yahoo (yfinance) into the cache; only missing sessions."""
    from data.sources import load_prices

    df = load_prices(list(tickers), start, end, source="yfinance", cache_dir=cache_dir)
    summary = _summary(df)
    if as_json:
        emit_json(summary)
    else:
        for s in summary:
            click.echo(f"{s['ticker']}: {s['first']} to {s['last']}, {s['rows']} sessions (cached)")


def _summary(df) -> list[dict[str, Any]]:
    g = df.groupby("ticker")
    return [
        {
            "ticker": t,
            "first": f"{x['date'].min():%Y-%m-%d}",
            "last": f"{x['date'].max():%Y-%m-%d}",
            "rows": len(x),
            "last_close": float(x["close"].iloc[-1]),
            "source": df.attrs.get("source", ""),
            "synthetic": bool(df.attrs.get("synthetic", False)),
        }
        for t, x in g
    ]


@data_group.command("show")
@click.argument("ticker")
@click.option(
    "--source",
    type=click.Choice(["sample", "yfinance", "file"]),
    default="sample",
    show_default=True,
)
@click.option("--prices", "path", default=None, help="Price file for --source file.")
@click.option("--start", default=None)
@click.option("--end", default=None)
@click.option("--tail", default=5, show_default=True, help="Rows to print.")
@click.option("--json", "as_json", is_flag=True)
def data_show(
    ticker: str,
    source: str,
    path: str | None,
    start: str | None,
    end: str | None,
    tail: int,
    as_json: bool,
) -> None:
    """Print a ticker's date range and last rows, and whether the data is SYNTHETIC."""
    from data.sources import load_prices

    df = load_prices([ticker], start, end, source=source, path=path, offline=True)
    s = _summary(df)[0]
    if as_json:
        s["tail"] = frame_records(df.tail(tail))
        emit_json(s)
        return
    flag = "  SYNTHETIC: invented prices, not market data" if s["synthetic"] else ""
    click.echo(
        f"{ticker}: {s['first']} to {s['last']}, {s['rows']} sessions, source {s['source']}{flag}"
    )
    click.echo(df.tail(tail).to_string(index=False))


@data_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def data_validate(file: str) -> None:
    """Check a price file (Parquet or CSV) against the price contract."""
    from data.files import read_prices

    df = read_prices(file)
    halts = df.attrs.get("dropped_halts", 0)
    click.echo(
        f"ok: {file}: {df['ticker'].nunique()} tickers, {len(df)} rows, "
        f"{df['date'].min():%Y-%m-%d} to {df['date'].max():%Y-%m-%d}, {halts} halted rows dropped"
    )


def _register_optional() -> None:
    """Attach command groups that live in their own modules."""
    from evbt import commands

    commands.register(cli)
    try:
        from evbt.cli_events import events
    except ImportError:  # pragma: no cover - during development only
        return
    cli.add_command(events)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI and map errors to exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    _register_optional()
    try:
        cli.main(args=args, prog_name="evbt", standalone_mode=False)
    except InputError as e:
        if debug:
            raise
        click.echo(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", err=True)
        return EXIT_INPUT
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_INPUT
    except click.ClickException as e:
        e.show()
        return EXIT_INPUT
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except Exception as e:  # internal error: one line, traceback with --debug
        if debug:
            raise
        click.echo(
            f"internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)",
            err=True,
        )
        return EXIT_INTERNAL
    return 0


if __name__ == "__main__":
    sys.exit(main())
